#!/bin/sh
# Last "test" of make check: stop the server that mariadb-start.sh started.
set -u
f="$top_builddir/tests/mariadb.dir"
if [ ! -f "$f" ]; then
    echo "no private server to stop"
    exit 0
fi
dir=$(cat "$f")
"$top_srcdir/scripts/mariadb-server" stop "$dir" --clean || exit 1
rm -f "$f"
echo "private MariaDB server stopped"
