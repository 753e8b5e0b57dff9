/*
 * Connections: refused, denied, lost inside a transaction and during COMMIT,
 * explicit reconnect. Connection loss is made real by KILLing the session's
 * connection from a second session (MariaDB).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "testdb.h"

static int64_t connection_id(dbs_session *s)
{
    return dbs_test_int(s, "SELECT CONNECTION_ID()");
}

static void kill_from_other(dbs_session *victim)
{
    dbs_session *other = dbs_test_open();
    char sql[64];

    snprintf(sql, sizeof(sql), "KILL CONNECTION %lld", (long long)connection_id(victim));
    dbs_test_exec(other, sql);
    assert_dbs_ok(dbs_session_close(other), NULL);
}

static void make_table(dbs_session *s)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "CREATE TABLE t (%s, v INT)", dbs_test_id_column());
    dbs_test_exec(s, sql);
}

static void conn__lost_inside_transaction_breaks_the_session(void **state)
{
    dbs_session *s = *state;
    const dbs_error *e;

    if (!dbs_test_is_mariadb())
        skip();
    make_table(s);
    assert_dbs_ok(dbs_session_begin(s), s);
    dbs_test_exec(s, "INSERT INTO t (v) VALUES (1)");
    kill_from_other(s);
    assert_dbs_rc(DBS_ECONNECTION, dbs_session_exec(s, "INSERT INTO t (v) VALUES (2)"), s);
    e = dbs_error_last(s);
    assert_true(e->native_code == 2006 || e->native_code == 2013 || e->native_code == 1927);
    assert_int_equal(dbs_session_state(s), DBS_TXN_BROKEN);
    /* nothing is retried silently: every call says so until reconnect */
    assert_dbs_rc(DBS_ECONNECTION, dbs_session_exec(s, "SELECT 1"), s);
    assert_dbs_rc(DBS_EMISUSE, dbs_session_reconnect(NULL), NULL);
    assert_dbs_ok(dbs_session_rollback(s), s);
    assert_dbs_ok(dbs_session_reconnect(s), s);
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
    /* the killed transaction left nothing */
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM t"), 0);
}

static void conn__lost_during_commit_is_commit_unknown(void **state)
{
    dbs_session *s = *state;
    const dbs_error *e;

    if (!dbs_test_is_mariadb())
        skip();
    make_table(s);
    assert_dbs_ok(dbs_session_begin(s), s);
    dbs_test_exec(s, "INSERT INTO t (v) VALUES (1)");
    kill_from_other(s);
    assert_dbs_rc(DBS_ECOMMITUNKNOWN, dbs_session_commit(s), s);
    e = dbs_error_last(s);
    assert_int_equal(e->retryable, 0);      /* never retried blindly */
    assert_string_equal(dbs_status_name(e->status), "commit_unknown");
    assert_int_equal(dbs_session_state(s), DBS_TXN_BROKEN);
    assert_dbs_ok(dbs_session_rollback(s), s);
    assert_dbs_ok(dbs_session_reconnect(s), s);
    assert_dbs_ok(dbs_session_exec(s, "SELECT 1"), s);
}

static void conn__reconnect_is_refused_in_a_live_transaction(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = NULL;

    assert_dbs_ok(dbs_session_begin(s), s);
    assert_dbs_rc(DBS_EMISUSE, dbs_session_reconnect(s), s);
    assert_dbs_ok(dbs_session_rollback(s), s);
    assert_dbs_ok(dbs_stmt_prepare(&st, s, "SELECT 1"), s);
    assert_dbs_rc(DBS_EINUSE, dbs_session_reconnect(s), s);
    dbs_stmt_free(st);
    assert_dbs_ok(dbs_session_reconnect(s), s);
    assert_dbs_ok(dbs_session_exec(s, "SELECT 1"), s);
}

/* Replace "user:password@" of the test URL. */
static char *with_password(const char *pw)
{
    const char *scheme_end = strstr(dbs_test_url, "://"), *at = strrchr(dbs_test_url, '@');
    const char *colon;
    char *out;

    assert_non_null(scheme_end);
    assert_non_null(at);
    colon = memchr(scheme_end + 3, ':', (size_t)(at - scheme_end - 3));
    if (colon == NULL)
        colon = at;
    assert_true(asprintf(&out, "%.*s:%s%s", (int)(colon - dbs_test_url), dbs_test_url, pw,
                         at) > 0);
    return out;
}

static void conn__wrong_password_is_permission(void **state)
{
    dbs_session *other = NULL;
    char *url;
    int rc;

    (void)state;
    if (!dbs_test_is_mariadb())
        skip();
    url = with_password("Wr0ngPassw0rdXYZ");
    rc = dbs_session_open(&other, url);
    free(url);
    assert_int_equal(rc, DBS_EPERMISSION);
    assert_null(other);
    assert_int_equal(dbs_error_last(NULL)->native_code, 1045);
    assert_null(strstr(dbs_error_last(NULL)->message, "Wr0ngPassw0rdXYZ"));
    assert_string_equal(dbs_error_last(NULL)->backend, "mariadb");
}

/* The test URL with another database name. */
static void url_with_database(char *buf, size_t size, const char *db)
{
    assert_int_equal(dbs_test_url_database(dbs_test_url, db, buf, size), 0);
}

static void conn__unknown_database_is_undefined(void **state)
{
    dbs_session *other = NULL;
    char url[600];

    (void)state;
    if (!dbs_test_is_mariadb())
        skip();
    url_with_database(url, sizeof(url), "dbs_no_such_db");
    assert_int_equal(dbs_session_open(&other, url), DBS_EUNDEFINED);
    assert_int_equal(dbs_error_last(NULL)->native_code, 1049);
}

static void conn__refused_is_connection_and_retryable(void **state)
{
    dbs_session *other = NULL;
    const dbs_error *e;

    (void)state;
    if (dbs_test_is_mariadb()) {
        assert_int_equal(dbs_session_open(&other, "mariadb://u:s3cr3tPW@localhost/x"
                                          "?socket=/nonexistent/dir/mysqld.sock"),
                         DBS_ECONNECTION);
        e = dbs_error_last(NULL);
        assert_int_equal(e->native_code, 2002);
        assert_int_equal(e->retryable, 1);   /* nothing was sent */
        assert_null(strstr(e->message, "s3cr3tPW"));
    } else {
        assert_int_equal(dbs_session_open(&other, "sqlite:/nonexistent/dir/x.db"),
                         DBS_ECONNECTION);
        assert_int_equal(dbs_error_last(NULL)->native_code, 14);   /* SQLITE_CANTOPEN */
    }
    assert_null(other);
}

static void conn__database_not_granted_is_permission(void **state)
{
    dbs_session *other = NULL;
    char url[600];

    (void)state;
    if (!dbs_test_is_mariadb())
        skip();
    url_with_database(url, sizeof(url), "mysql");
    assert_int_equal(dbs_session_open(&other, url), DBS_EPERMISSION);
    assert_int_equal(dbs_error_last(NULL)->native_code, 1044);
}

static void conn__tcp_port_closed_is_connection(void **state)
{
    dbs_session *other = NULL;
    const dbs_error *e;

    (void)state;
    if (!dbs_test_is_mariadb())
        skip();
    /* port 1 on loopback: nothing listens there */
    assert_int_equal(dbs_session_open(&other, "mariadb://u:s3cr3tPW@127.0.0.1:1/x"),
                     DBS_ECONNECTION);
    e = dbs_error_last(NULL);
    assert_true(e->native_code == 2002 || e->native_code == 2003);
    assert_int_equal(e->retryable, 1);
}

static void conn__read_timeout_mid_query_is_connection(void **state)
{
    dbs_session *s = NULL;
    char url[600];

    (void)state;
    if (!dbs_test_is_mariadb())
        skip();
    snprintf(url, sizeof(url), "%s%cread_timeout=1", dbs_test_url,
             strchr(dbs_test_url, '?') ? '&' : '?');
    assert_int_equal(dbs_session_open(&s, url), DBS_OK);
    assert_dbs_rc(DBS_ECONNECTION, dbs_session_exec(s, "SELECT SLEEP(4)"), s);
    assert_int_equal(dbs_error_last(s)->native_code, 2013);   /* lost during the query */
    assert_int_equal(dbs_session_state(s), DBS_TXN_BROKEN);
    assert_dbs_ok(dbs_session_reconnect(s), s);
    assert_dbs_ok(dbs_session_exec(s, "SELECT 1"), s);
    assert_dbs_ok(dbs_session_close(s), s);
}

static void conn__table_locked_by_own_reader_sqlite(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = NULL;

    if (dbs_test_is_mariadb())
        skip();
    dbs_test_exec(s, "CREATE TABLE t (v INT)");
    dbs_test_exec(s, "INSERT INTO t VALUES (1)");
    dbs_test_exec(s, "INSERT INTO t VALUES (2)");
    assert_dbs_ok(dbs_stmt_prepare(&st, s, "SELECT v FROM t"), s);
    assert_dbs_rc(DBS_ROW, dbs_stmt_step(st), s);
    /* the same connection drops the table its own SELECT is reading */
    assert_dbs_rc(DBS_ELOCKTIMEOUT, dbs_session_exec(s, "DROP TABLE t"), s);
    assert_int_equal(dbs_error_last(s)->native_code & 0xff, 6);  /* SQLITE_LOCKED */
    dbs_stmt_free(st);
    assert_dbs_ok(dbs_session_exec(s, "DROP TABLE t"), s);
}

static void conn__no_privilege_is_permission(void **state)
{
    dbs_session *s = *state, *ro = NULL;
    const char *url = getenv("DBS_TEST_MARIADB_RO_URL");

    if (!dbs_test_is_mariadb() || url == NULL || strcmp(dbs_test_backend, "mariadb") != 0)
        skip();
    /* the read-only user may only read the shared dbs_test database */
    dbs_test_exec(s, "DROP TABLE IF EXISTS dbs_test.ro_t");
    dbs_test_exec(s, "CREATE TABLE dbs_test.ro_t (v INT)");
    assert_int_equal(dbs_session_open(&ro, url), DBS_OK);
    assert_dbs_ok(dbs_session_exec(ro, "SELECT * FROM ro_t"), ro);
    assert_dbs_rc(DBS_EPERMISSION, dbs_session_exec(ro, "INSERT INTO ro_t VALUES (1)"), ro);
    assert_int_equal(dbs_error_last(ro)->native_code, 1142);
    assert_dbs_ok(dbs_session_close(ro), ro);
    dbs_test_exec(s, "DROP TABLE dbs_test.ro_t");
}

static void conn__read_only_file_is_read_only(void **state)
{
    dbs_session *s = *state, *ro = NULL;
    char url[600];

    if (dbs_test_is_mariadb() || !dbs_test_shared())
        skip();
    dbs_test_exec(s, "CREATE TABLE t (v INT)");
    snprintf(url, sizeof(url), "%s?mode=ro", dbs_test_url);
    assert_int_equal(dbs_session_open(&ro, url), DBS_OK);
    assert_dbs_ok(dbs_session_exec(ro, "SELECT * FROM t"), ro);
    assert_dbs_rc(DBS_EREADONLY, dbs_session_exec(ro, "INSERT INTO t VALUES (1)"), ro);
    assert_dbs_ok(dbs_session_close(ro), ro);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, dbs_test_setup, dbs_test_teardown)
    const struct CMUnitTest tests[] = {
        T(conn__lost_inside_transaction_breaks_the_session),
        T(conn__lost_during_commit_is_commit_unknown),
        T(conn__reconnect_is_refused_in_a_live_transaction),
        T(conn__wrong_password_is_permission),
        T(conn__unknown_database_is_undefined),
        T(conn__refused_is_connection_and_retryable),
        T(conn__no_privilege_is_permission),
        T(conn__database_not_granted_is_permission),
        T(conn__tcp_port_closed_is_connection),
        T(conn__read_timeout_mid_query_is_connection),
        T(conn__table_locked_by_own_reader_sqlite),
        T(conn__read_only_file_is_read_only),
    };

    return dbs_test_main("conn", tests, sizeof(tests) / sizeof(tests[0]));
}
