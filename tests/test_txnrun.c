/* dbs_txn_run: commit/rollback around a function, nesting in savepoints, misuse. */
#include <stdio.h>
#include <string.h>

#include "harness.h"

/* ---- commit and rollback ---- */

static void txnrun__commits_when_the_function_returns_ok(void **state)
{
    dbs_session *s = *state, *other;
    struct dbs_test_script sc = { .insert_base = 10, .ret = DBS_OK };
    int attempts = -1;

    dbs_test_make_t(s);
    assert_dbs_ok(dbs_txn_run_opts(&attempts, s, NULL, dbs_test_scripted, &sc), s);
    assert_int_equal(attempts, 1);
    assert_int_equal(sc.depth_seen, 1);
    assert_int_equal(dbs_session_depth(s), 0);
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
    if (!dbs_test_shared()) {
        assert_int_equal(dbs_test_count_t(s), 1);
        return;
    }
    other = dbs_test_open();
    assert_int_equal(dbs_test_int(other, "SELECT v FROM t"), 11);
    assert_dbs_ok(dbs_session_close(other), other);
}

static void txnrun__rolls_back_and_returns_the_error_unchanged(void **state)
{
    dbs_session *s = *state;
    struct dbs_test_script sc = { .insert_base = 10, .fail_until = 1, .fail_with = DBS_ECHECK };

    dbs_test_make_t(s);
    assert_int_equal(dbs_txn_run(s, dbs_test_scripted, &sc), DBS_ECHECK);
    assert_int_equal(sc.calls, 1);
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
    assert_int_equal(dbs_test_count_t(s), 0);
}

static void txnrun__positive_result_commits_and_is_returned(void **state)
{
    dbs_session *s = *state;
    struct dbs_test_script sc = { .insert_base = 20, .ret = 7 };

    dbs_test_make_t(s);
    assert_int_equal(dbs_txn_run(s, dbs_test_scripted, &sc), 7);
    assert_int_equal(dbs_test_count_t(s), 1);
}

/* ---- misuse: the function owns no commit ---- */

struct misuse {
    int verb_rc;
    int depth_after;
};

static int commits_itself(dbs_session *s, void *payload)
{
    struct misuse *m = payload;

    if (dbs_test_insert_t(s, 5) < 0)
        return DBS_ERROR;
    m->verb_rc = dbs_session_commit(s);
    m->depth_after = dbs_session_depth(s);
    return m->verb_rc;
}

static int rolls_back_itself(dbs_session *s, void *payload)
{
    struct misuse *m = payload;

    m->verb_rc = dbs_session_rollback(s);
    m->depth_after = dbs_session_depth(s);
    return m->verb_rc;
}

static void txnrun__commit_inside_the_function_is_misuse(void **state)
{
    dbs_session *s = *state;
    struct misuse m = { 0 };
    int attempts = 0;

    dbs_test_make_t(s);
    assert_int_equal(dbs_txn_run_opts(&attempts, s, NULL, commits_itself, &m), DBS_EMISUSE);
    assert_int_equal(m.verb_rc, DBS_EMISUSE);   /* at once, from the commit call */
    assert_int_equal(m.depth_after, 1);          /* nothing was committed */
    assert_int_equal(attempts, 1);
    assert_int_equal(dbs_session_depth(s), 0);
    assert_int_equal(dbs_test_count_t(s), 0);
    assert_int_equal(dbs_txn_run(s, rolls_back_itself, &m), DBS_EMISUSE);
    assert_int_equal(m.verb_rc, DBS_EMISUSE);
    assert_int_equal(m.depth_after, 1);
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
}

/* The seed's double commit, with the refusal ignored: still misuse. */
static int commits_and_ignores_the_refusal(dbs_session *s, void *payload)
{
    (void)payload;
    if (dbs_test_insert_t(s, 6) < 0)
        return DBS_ERROR;
    (void)dbs_session_commit(s);
    return DBS_OK;
}

static void txnrun__ignored_refusal_is_still_misuse(void **state)
{
    dbs_session *s = *state;

    dbs_test_make_t(s);
    assert_int_equal(dbs_txn_run(s, commits_and_ignores_the_refusal, NULL), DBS_EMISUSE);
    assert_int_equal(dbs_error_last(s)->status, DBS_EMISUSE);
    assert_int_equal(dbs_session_depth(s), 0);
    assert_int_equal(dbs_test_count_t(s), 0);                  /* rolled back, not committed */
}

static int leaves_a_savepoint_open(dbs_session *s, void *payload)
{
    int rc;

    (void)payload;
    if ((rc = dbs_session_begin(s)) < 0)
        return rc;
    return dbs_test_insert_t(s, 9);
}

static void txnrun__function_leaving_its_own_level_open_is_misuse(void **state)
{
    dbs_session *s = *state;

    dbs_test_make_t(s);
    assert_int_equal(dbs_txn_run(s, leaves_a_savepoint_open, NULL), DBS_EMISUSE);
    assert_int_equal(dbs_session_depth(s), 0);
    assert_int_equal(dbs_test_count_t(s), 0);
}

static void txnrun__null_arguments_and_bad_options_are_misuse(void **state)
{
    dbs_session *s = *state;
    struct dbs_test_script sc = { 0 };
    dbs_txn_options o;
    int attempts = 5;

    assert_int_equal(dbs_txn_run(NULL, dbs_test_scripted, &sc), DBS_EMISUSE);
    assert_int_equal(dbs_txn_run(s, NULL, &sc), DBS_EMISUSE);
    dbs_txn_options_init(&o);
    o.max_attempts = 0;
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, dbs_test_scripted, &sc), DBS_EMISUSE);
    assert_int_equal(attempts, 0);
    dbs_txn_options_init(&o);
    o.jitter = 1.5;
    assert_int_equal(dbs_txn_run_opts(NULL, s, &o, dbs_test_scripted, &sc), DBS_EMISUSE);
    dbs_txn_options_init(&o);
    o.max_delay_us = o.base_delay_us - 1;
    assert_int_equal(dbs_txn_run_opts(NULL, s, &o, dbs_test_scripted, &sc), DBS_EMISUSE);
    dbs_txn_options_init(&o);
    o.version = 99;
    assert_int_equal(dbs_txn_run_opts(NULL, s, &o, dbs_test_scripted, &sc), DBS_EMISUSE);
    assert_int_equal(sc.calls, 0);
    assert_int_equal(dbs_session_depth(s), 0);
}

/* ---- nesting: a savepoint in the caller's transaction ---- */

static void txnrun__inside_a_transaction_runs_in_a_savepoint(void **state)
{
    dbs_session *s = *state;
    struct dbs_test_script ok = { .insert_base = 100, .ret = DBS_OK };
    struct dbs_test_script bad = { .insert_base = 200, .fail_until = 9, .fail_with = DBS_ECHECK };

    dbs_test_make_t(s);
    assert_dbs_ok(dbs_session_begin(s), s);
    assert_dbs_ok(dbs_test_insert_t(s, 1), s);
    assert_dbs_ok(dbs_txn_run(s, dbs_test_scripted, &ok), s);
    assert_int_equal(ok.depth_seen, 2);
    assert_int_equal(dbs_session_depth(s), 1);          /* the outer one is not committed */
    assert_int_equal(dbs_txn_run(s, dbs_test_scripted, &bad), DBS_ECHECK);
    assert_int_equal(dbs_session_depth(s), 1);
    assert_int_equal(dbs_test_count_t(s), 2);                       /* 1 and 101; 201 rolled back */
    assert_dbs_ok(dbs_session_rollback(s), s);           /* the outer decides */
    assert_int_equal(dbs_test_count_t(s), 0);
}

static void txnrun__nested_service_functions_share_one_commit(void **state)
{
    dbs_session *s = *state;
    struct dbs_test_script inner = { .insert_base = 10, .ret = DBS_OK };

    dbs_test_make_t(s);
    assert_dbs_ok(dbs_txn_run(s, dbs_test_outer_calls_inner, &inner), s);
    assert_int_equal(inner.depth_seen, 2);
    assert_int_equal(dbs_session_depth(s), 0);
    assert_int_equal(dbs_test_count_t(s), 3);                       /* 1, 11, 2: one commit for all */
    assert_int_equal(dbs_test_int(s, "SELECT SUM(v) FROM t"), 1 + 11 + 2);
}

/* ---- atomic bulk change: the seed's archive exercise ---- */

struct archive {
    int project;
    const char *actor;        /* NULL: the audit insert fails (NOT NULL) */
    int64_t archived;
};

static int archive_project(dbs_session *s, void *payload)
{
    struct archive *a = payload;
    dbs_stmt *st = NULL;
    int rc;

    if ((rc = dbs_stmt_prepare(&st, s, "UPDATE tasks SET status = 'archived' "
                               "WHERE project_id = ? AND status <> 'archived'")) < 0
        || (rc = dbs_stmt_bind_int64(st, 1, a->project)) < 0 || (rc = dbs_stmt_step(st)) < 0
        || (rc = dbs_stmt_rows_affected(st, &a->archived)) < 0)
        goto done;
    dbs_stmt_free(st);
    st = NULL;
    if ((rc = dbs_stmt_prepare(&st, s, "INSERT INTO audit (project_id, action, n, actor) "
                               "VALUES (?, 'archive', ?, ?)")) < 0
        || (rc = dbs_stmt_bind_int64(st, 1, a->project)) < 0
        || (rc = dbs_stmt_bind_int64(st, 2, a->archived)) < 0
        || (rc = dbs_stmt_bind_text(st, 3, a->actor)) < 0)
        goto done;
    rc = dbs_stmt_step(st);
done:
    dbs_stmt_free(st);
    return rc < 0 ? rc : DBS_OK;
}

static void txnrun__archive_project_is_all_or_nothing(void **state)
{
    dbs_session *s = *state;
    struct archive ok = { 1, "agent", 0 }, broken = { 2, NULL, 0 };
    char sql[256];

    snprintf(sql, sizeof(sql), "CREATE TABLE tasks (%s, project_id INT NOT NULL, "
             "status VARCHAR(20) NOT NULL)", dbs_test_id_column());
    dbs_test_exec(s, sql);
    snprintf(sql, sizeof(sql), "CREATE TABLE audit (%s, project_id INT NOT NULL, "
             "action VARCHAR(20) NOT NULL, n INT NOT NULL, actor VARCHAR(20) NOT NULL)",
             dbs_test_id_column());
    dbs_test_exec(s, sql);
    dbs_test_exec(s, "INSERT INTO tasks (project_id, status) VALUES (1, 'open'), (1, 'open'), "
                  "(1, 'done'), (2, 'open'), (2, 'open'), (3, 'open')");
    assert_dbs_ok(dbs_txn_run(s, archive_project, &ok), s);
    assert_int_equal(ok.archived, 3);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM tasks WHERE status = 'archived' "
                                     "AND project_id = 1"), 3);
    assert_int_equal(dbs_test_int(s, "SELECT n FROM audit WHERE project_id = 1"), 3);
    /* the audit insert fails: the UPDATE (2 rows matched) is undone with it */
    assert_int_equal(dbs_txn_run(s, archive_project, &broken), DBS_ENOTNULL);
    assert_int_equal(broken.archived, 2);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM tasks WHERE status = 'archived' "
                                     "AND project_id = 2"), 0);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM audit"), 1);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM tasks WHERE status = 'archived'"),
                     3);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, dbs_test_setup, dbs_test_teardown)
    const struct CMUnitTest tests[] = {
        T(txnrun__commits_when_the_function_returns_ok),
        T(txnrun__rolls_back_and_returns_the_error_unchanged),
        T(txnrun__positive_result_commits_and_is_returned),
        T(txnrun__commit_inside_the_function_is_misuse),
        T(txnrun__ignored_refusal_is_still_misuse),
        T(txnrun__function_leaving_its_own_level_open_is_misuse),
        T(txnrun__null_arguments_and_bad_options_are_misuse),
        T(txnrun__inside_a_transaction_runs_in_a_savepoint),
        T(txnrun__nested_service_functions_share_one_commit),
        T(txnrun__archive_project_is_all_or_nothing),
    };

    return dbs_test_main("txnrun", tests, sizeof(tests) / sizeof(tests[0]));
}
