/* Transactions and savepoints: commit, rollback, nesting, state, engine aborts. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static void insert(dbs_session *s, int v)
{
    assert_dbs_ok(dbs_test_insert_t(s, v), s);
}

static void txn__commit_is_visible_to_another_session(void **state)
{
    dbs_session *s = *state, *other;

    dbs_test_make_t(s);
    if (!dbs_test_shared())
        skip();
    other = dbs_test_open();
    assert_dbs_ok(dbs_session_begin(s), s);
    insert(s, 1);
    assert_int_equal(dbs_test_count_t(other), 0);   /* not committed yet */
    assert_dbs_ok(dbs_session_commit(s), s);
    assert_int_equal(dbs_test_count_t(other), 1);
    assert_dbs_ok(dbs_session_close(other), other);
}

static void txn__rollback_leaves_no_rows(void **state)
{
    dbs_session *s = *state;

    dbs_test_make_t(s);
    insert(s, 1);
    assert_dbs_ok(dbs_session_begin(s), s);
    insert(s, 2);
    insert(s, 3);
    assert_int_equal(dbs_test_count_t(s), 3);
    assert_dbs_ok(dbs_session_rollback(s), s);
    assert_int_equal(dbs_test_count_t(s), 1);
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
}

static void txn__state_and_depth_follow_nesting(void **state)
{
    dbs_session *s = *state;

    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
    assert_int_equal(dbs_session_depth(s), 0);
    assert_dbs_ok(dbs_session_begin(s), s);
    assert_int_equal(dbs_session_state(s), DBS_TXN_ACTIVE);
    assert_dbs_ok(dbs_session_begin(s), s);
    assert_dbs_ok(dbs_session_begin(s), s);
    assert_int_equal(dbs_session_depth(s), 3);
    assert_dbs_ok(dbs_session_commit(s), s);
    assert_dbs_ok(dbs_session_rollback(s), s);
    assert_int_equal(dbs_session_depth(s), 1);
    assert_int_equal(dbs_session_state(s), DBS_TXN_ACTIVE);
    assert_dbs_ok(dbs_session_commit(s), s);
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
    assert_int_equal(dbs_session_depth(s), 0);
}

static void txn__savepoint_rollback_three_deep(void **state)
{
    dbs_session *s = *state;

    dbs_test_make_t(s);
    assert_dbs_ok(dbs_session_begin(s), s);      /* depth 1 */
    insert(s, 1);
    assert_dbs_ok(dbs_session_begin(s), s);      /* depth 2 */
    insert(s, 2);
    assert_dbs_ok(dbs_session_begin(s), s);      /* depth 3 */
    insert(s, 3);
    assert_dbs_ok(dbs_session_commit(s), s);     /* 3 folds into 2 */
    assert_dbs_ok(dbs_session_rollback(s), s);   /* the middle level: 2 and 3 go */
    assert_int_equal(dbs_test_count_t(s), 1);
    insert(s, 4);
    assert_dbs_ok(dbs_session_begin(s), s);      /* a new depth 2 reuses the name */
    insert(s, 5);
    assert_dbs_ok(dbs_session_rollback(s), s);
    assert_dbs_ok(dbs_session_commit(s), s);
    assert_int_equal(dbs_test_count_t(s), 2);
    assert_int_equal(dbs_test_int(s, "SELECT SUM(v) FROM t"), 5);   /* rows 1 and 4 */
}

static void txn__failed_statement_keeps_the_transaction(void **state)
{
    dbs_session *s = *state;

    dbs_test_make_t(s);
    assert_dbs_ok(dbs_session_begin(s), s);
    insert(s, 1);
    assert_dbs_rc(DBS_EUNIQUE, dbs_session_exec(s, "INSERT INTO t (v) VALUES (1)"), s);
    assert_int_equal(dbs_session_state(s), DBS_TXN_ACTIVE);
    insert(s, 2);
    assert_dbs_ok(dbs_session_commit(s), s);
    assert_int_equal(dbs_test_count_t(s), 2);
}

static void txn__constraint_in_savepoint_leaves_outer_usable(void **state)
{
    dbs_session *s = *state;

    dbs_test_make_t(s);
    assert_dbs_ok(dbs_session_begin(s), s);
    insert(s, 1);
    assert_dbs_ok(dbs_session_begin(s), s);
    insert(s, 2);
    assert_dbs_rc(DBS_EUNIQUE, dbs_session_exec(s, "INSERT INTO t (v) VALUES (2)"), s);
    assert_dbs_ok(dbs_session_rollback(s), s);
    assert_int_equal(dbs_session_state(s), DBS_TXN_ACTIVE);
    insert(s, 3);
    assert_dbs_ok(dbs_session_commit(s), s);
    assert_int_equal(dbs_test_int(s, "SELECT SUM(v) FROM t"), 4);   /* 1 + 3 */
}

static void txn__close_rolls_back_an_open_transaction(void **state)
{
    dbs_session *s = *state, *other;

    dbs_test_make_t(s);
    if (!dbs_test_shared())
        skip();
    other = dbs_test_open();
    assert_dbs_ok(dbs_session_begin(other), other);
    insert(other, 7);
    assert_dbs_ok(dbs_session_close(other), NULL);
    assert_int_equal(dbs_test_count_t(s), 0);
}

static void txn__lock_timeout_fails_only_the_statement(void **state)
{
    dbs_session *s = *state, *other = NULL;
    char url[600];

    dbs_test_make_t(s);
    if (!dbs_test_shared())
        skip();
    insert(s, 1);
    dbs_test_url_with(url, sizeof(url), "lock_timeout=1");
    assert_dbs_ok(dbs_session_open(&other, url), NULL);
    assert_dbs_ok(dbs_session_begin(s), s);
    dbs_test_exec(s, "UPDATE t SET v = 10 WHERE v = 1");
    if (!dbs_test_is_mariadb()) {
        /* SQLite: BEGIN IMMEDIATE waits for the writer, then gives up */
        assert_dbs_rc(DBS_ELOCKTIMEOUT, dbs_session_begin(other), other);
        assert_int_equal(dbs_session_state(other), DBS_TXN_IDLE);
        assert_true(dbs_error_last(other)->retryable);
    } else {
        assert_dbs_ok(dbs_session_begin(other), other);
        assert_dbs_rc(DBS_ELOCKTIMEOUT,
                      dbs_session_exec(other, "UPDATE t SET v = 20 WHERE v = 1"), other);
        /* only the statement failed: the transaction goes on */
        assert_int_equal(dbs_session_state(other), DBS_TXN_ACTIVE);
        assert_dbs_ok(dbs_session_rollback(other), other);
    }
    assert_true(dbs_error_last(other) != NULL);
    assert_dbs_ok(dbs_session_commit(s), s);
    /* now the other session gets through */
    assert_dbs_ok(dbs_session_begin(other), other);
    dbs_test_exec(other, "UPDATE t SET v = 20 WHERE v = 10");
    assert_dbs_ok(dbs_session_commit(other), other);
    assert_int_equal(dbs_test_int(s, "SELECT v FROM t"), 20);
    assert_dbs_ok(dbs_session_close(other), NULL);
}

/* SQLite: ON CONFLICT ROLLBACK makes the engine end the transaction itself. */
static void txn__engine_rollback_marks_the_transaction_aborted_sqlite(void **state)
{
    dbs_session *s = *state;

    if (dbs_test_is_mariadb())
        skip();
    dbs_test_exec(s, "CREATE TABLE r (v INT UNIQUE ON CONFLICT ROLLBACK)");
    assert_dbs_ok(dbs_session_begin(s), s);
    dbs_test_exec(s, "INSERT INTO r VALUES (1)");
    assert_dbs_ok(dbs_session_begin(s), s);
    assert_dbs_rc(DBS_EUNIQUE, dbs_session_exec(s, "INSERT INTO r VALUES (1)"), s);
    assert_int_equal(dbs_session_state(s), DBS_TXN_ABORTED);
    /* nothing more reaches the engine: it would run outside any transaction */
    assert_dbs_rc(DBS_ETXNABORTED, dbs_session_exec(s, "INSERT INTO r VALUES (2)"), s);
    assert_dbs_rc(DBS_ETXNABORTED, dbs_session_commit(s), s);
    assert_dbs_ok(dbs_session_rollback(s), s);
    assert_int_equal(dbs_session_state(s), DBS_TXN_ABORTED);
    assert_dbs_ok(dbs_session_rollback(s), s);
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM r"), 0);
    dbs_test_exec(s, "INSERT INTO r VALUES (3)");
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM r"), 1);
}

/* The same through a prepared statement: refused while the transaction is
 * aborted, then bound and run again once it is rolled back. */
static void txn__prepared_statement_after_an_engine_rollback_sqlite(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = NULL;

    if (dbs_test_is_mariadb())
        skip();
    dbs_stmt *ok = NULL;
    int64_t n = -1;

    dbs_test_exec(s, "CREATE TABLE r (v INT UNIQUE ON CONFLICT ROLLBACK)");
    dbs_test_exec(s, "CREATE TABLE w (x INT)");
    dbs_test_exec(s, "INSERT INTO r VALUES (1)");
    assert_dbs_ok(dbs_stmt_prepare(&st, s, "INSERT INTO r VALUES (?)"), s);
    assert_dbs_ok(dbs_stmt_prepare(&ok, s, "INSERT INTO w VALUES (7)"), s);
    assert_dbs_ok(dbs_session_begin(s), s);
    assert_int_equal(dbs_stmt_step(ok), DBS_DONE);
    assert_dbs_ok(dbs_stmt_rows_affected(ok, &n), s);
    assert_int_equal(n, 1);
    assert_dbs_ok(dbs_stmt_bind_int64(st, 1, 1), s);
    assert_dbs_rc(DBS_EUNIQUE, dbs_stmt_step(st), s);
    assert_int_equal(dbs_session_state(s), DBS_TXN_ABORTED);
    assert_dbs_rc(DBS_ETXNABORTED, dbs_stmt_step(st), s);
    /* refused, and no longer reporting the run the engine rolled back */
    assert_dbs_rc(DBS_ETXNABORTED, dbs_stmt_step(ok), s);
    assert_dbs_ok(dbs_stmt_rows_affected(ok, &n), s);
    assert_int_equal(n, 0);
    dbs_stmt_free(ok);
    assert_dbs_ok(dbs_session_rollback(s), s);
    /* the statement that failed, and was refused, takes new values */
    assert_dbs_ok(dbs_stmt_bind_int64(st, 1, 2), s);
    assert_int_equal(dbs_stmt_step(st), DBS_DONE);
    assert_dbs_rc(DBS_EUNIQUE, dbs_stmt_step(st), s);   /* run again: 2 is taken */
    assert_dbs_ok(dbs_stmt_bind_int64(st, 1, 3), s);
    assert_int_equal(dbs_stmt_step(st), DBS_DONE);
    dbs_stmt_free(st);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM r"), 3);
}

/* ---- a real deadlock: two sessions, two threads ---- */

struct side {
    dbs_session *s;
    int first, second;        /* ids locked in this order */
    pthread_barrier_t *barrier;
    int rc;                   /* of the second UPDATE */
    dbs_txn_state state_after;
    int refused_rc;           /* the victim's first statement stepped again */
    int64_t refused_rows;     /* and its rows affected then */
};

static void *deadlock_side(void *arg)
{
    struct side *d = arg;
    char sql[64];

    dbs_stmt *first = NULL;
    int64_t n = 0;

    d->rc = dbs_session_begin(d->s);
    snprintf(sql, sizeof(sql), "UPDATE t SET v = v + 100 WHERE id = %d", d->first);
    if (d->rc == DBS_OK)
        d->rc = dbs_stmt_prepare(&first, d->s, sql);
    if (d->rc == DBS_OK && (d->rc = dbs_stmt_step(first)) == DBS_DONE)
        d->rc = dbs_stmt_rows_affected(first, &n) == DBS_OK && n == 1 ? DBS_OK : DBS_ERROR;
    pthread_barrier_wait(d->barrier);
    snprintf(sql, sizeof(sql), "UPDATE t SET v = v + 100 WHERE id = %d", d->second);
    if (d->rc == DBS_OK)
        d->rc = dbs_session_exec(d->s, sql);
    d->state_after = dbs_session_state(d->s);
    /* refused while aborted, and no longer reporting the run rolled back */
    if (d->state_after == DBS_TXN_ABORTED) {
        d->refused_rc = dbs_stmt_step(first);
        d->refused_rows = -1;
        dbs_stmt_rows_affected(first, &d->refused_rows);
    }
    dbs_stmt_free(first);
    if (d->rc == DBS_OK)
        d->rc = dbs_session_commit(d->s);
    else
        dbs_session_rollback(d->s);
    return NULL;
}

static void txn__deadlock_aborts_the_victim_mariadb(void **state)
{
    dbs_session *s = *state;
    pthread_barrier_t barrier;
    struct side a = { 0 }, b = { 0 };
    pthread_t ta, tb;
    struct side *victim;

    if (!dbs_test_is_mariadb())
        skip();
    dbs_test_make_t(s);
    insert(s, 1);
    insert(s, 2);
    a.s = dbs_test_open();
    b.s = dbs_test_open();
    pthread_barrier_init(&barrier, NULL, 2);
    a.barrier = b.barrier = &barrier;
    a.first = b.second = 1;
    a.second = b.first = 2;
    pthread_create(&ta, NULL, deadlock_side, &a);
    pthread_create(&tb, NULL, deadlock_side, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&barrier);
    /* exactly one side is the victim; the other committed */
    assert_true((a.rc == DBS_EDEADLOCK) != (b.rc == DBS_EDEADLOCK));
    victim = a.rc == DBS_EDEADLOCK ? &a : &b;
    assert_int_equal(a.rc == DBS_EDEADLOCK ? b.rc : a.rc, DBS_OK);
    assert_int_equal(victim->state_after, DBS_TXN_ABORTED);
    assert_int_equal(victim->refused_rc, DBS_ETXNABORTED);
    assert_int_equal(victim->refused_rows, 0);
    assert_int_equal(dbs_session_state(victim->s), DBS_TXN_IDLE);
    /* the survivor's two updates only */
    assert_int_equal(dbs_test_int(s, "SELECT SUM(v) FROM t"), 3 + 200);
    assert_dbs_ok(dbs_session_close(a.s), NULL);
    assert_dbs_ok(dbs_session_close(b.s), NULL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, dbs_test_setup, dbs_test_teardown)
    const struct CMUnitTest tests[] = {
        T(txn__commit_is_visible_to_another_session),
        T(txn__rollback_leaves_no_rows),
        T(txn__state_and_depth_follow_nesting),
        T(txn__savepoint_rollback_three_deep),
        T(txn__failed_statement_keeps_the_transaction),
        T(txn__constraint_in_savepoint_leaves_outer_usable),
        T(txn__close_rolls_back_an_open_transaction),
        T(txn__lock_timeout_fails_only_the_statement),
        T(txn__engine_rollback_marks_the_transaction_aborted_sqlite),
        T(txn__prepared_statement_after_an_engine_rollback_sqlite),
        T(txn__deadlock_aborts_the_victim_mariadb),
    };

    return dbs_test_main("txn", tests, sizeof(tests) / sizeof(tests[0]));
}
