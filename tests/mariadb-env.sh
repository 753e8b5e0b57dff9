# Sourced by make check before each test (AM_TESTS_ENVIRONMENT): points the
# tests at the private server that tests/mariadb-start.sh started, unless the
# caller gave DBS_TEST_MARIADB_URL.
if [ -z "${DBS_TEST_MARIADB_URL:-}" ] && [ -f "$top_builddir/tests/mariadb.dir" ]; then
    dbs_mdb_dir=$(cat "$top_builddir/tests/mariadb.dir")
    if [ -f "$dbs_mdb_dir/env" ]; then
        . "$dbs_mdb_dir/env"
    fi
fi
export DBS_TEST_MARIADB_URL DBS_TEST_MARIADB_TCP_URL DBS_TEST_MARIADB_RO_URL \
    DBS_TEST_MARIADB_ROOT_SOCKET
