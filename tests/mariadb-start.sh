#!/bin/sh
# First "test" of make check: start a private mariadbd for the matrix, unless
# DBS_TEST_MARIADB_URL already names a server. Exit 77 (skip) when MariaDB is
# not installed and not required; FAIL when DBS_TEST_REQUIRE names mariadb.
set -u
required=no
case ",${DBS_TEST_REQUIRE:-}," in *,mariadb*) required=yes ;; esac

if [ -n "${DBS_TEST_MARIADB_URL:-}" ]; then
    echo "using the server in DBS_TEST_MARIADB_URL"
    exit 0
fi
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
    echo "mariadbd not installed (scripts/mariadb-server install)"
    [ "$required" = yes ] && exit 1
    exit 77
fi
# A short directory: unix socket paths are limited to 107 bytes.
dir=$(mktemp -d /tmp/dbs-mdb.XXXXXX) || exit 1
echo "$dir" > "$top_builddir/tests/mariadb.dir"
if ! "$top_srcdir/scripts/mariadb-server" start "$dir"; then
    echo "could not start the private MariaDB server"
    [ "$required" = yes ] && exit 1
    exit 77
fi
echo "private MariaDB server started in $dir"
