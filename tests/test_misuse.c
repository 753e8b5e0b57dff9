/* Misuse is an error, never a crash: NULLs, order, ranges, lifetimes. */
#include <stdio.h>
#include <string.h>

#include "harness.h"

static void misuse__null_arguments(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = (dbs_stmt *)1;
    const char *text;
    int64_t i;

    assert_int_equal(dbs_session_open(NULL, dbs_test_url), DBS_EMISUSE);
    assert_int_equal(dbs_error_last(NULL)->status, DBS_EMISUSE);
    assert_int_equal(dbs_session_exec(NULL, "SELECT 1"), DBS_EMISUSE);
    assert_int_equal(dbs_session_exec(s, NULL), DBS_EMISUSE);
    assert_int_equal(dbs_session_begin(NULL), DBS_EMISUSE);
    assert_int_equal(dbs_session_commit(NULL), DBS_EMISUSE);
    assert_int_equal(dbs_session_rollback(NULL), DBS_EMISUSE);
    assert_int_equal(dbs_stmt_prepare(&st, NULL, "SELECT 1"), DBS_EMISUSE);
    assert_null(st);
    assert_int_equal(dbs_stmt_prepare(NULL, s, "SELECT 1"), DBS_EMISUSE);
    assert_int_equal(dbs_stmt_prepare(&st, s, NULL), DBS_EMISUSE);
    assert_int_equal(dbs_error_last(s)->status, DBS_EMISUSE);
    assert_int_equal(dbs_stmt_step(NULL), DBS_EMISUSE);
    assert_int_equal(dbs_stmt_reset(NULL), DBS_EMISUSE);
    assert_int_equal(dbs_stmt_bind_int64(NULL, 1, 1), DBS_EMISUSE);
    assert_int_equal(dbs_stmt_bind_text(NULL, 1, "x"), DBS_EMISUSE);
    assert_int_equal(dbs_stmt_column_int64(NULL, 0, &i), DBS_EMISUSE);
    assert_int_equal(dbs_stmt_column_text(NULL, 0, &text, NULL), DBS_EMISUSE);
    assert_int_equal(dbs_stmt_column_count(NULL), DBS_EMISUSE);
    assert_null(dbs_stmt_column_name(NULL, 0));
    assert_int_equal(dbs_stmt_rows_affected(NULL, &i), DBS_EMISUSE);
    dbs_stmt_free(NULL);                              /* no-op */
    assert_int_equal(dbs_session_close(NULL), DBS_OK); /* no-op */
    assert_int_equal(dbs_session_state(NULL), DBS_TXN_IDLE);
    assert_string_equal(dbs_session_backend(NULL), "");
    assert_non_null(dbs_error_last(NULL));
    assert_non_null(dbs_error_last(NULL)->message);
}

static void misuse__commit_or_rollback_without_begin(void **state)
{
    dbs_session *s = *state;

    assert_dbs_rc(DBS_EMISUSE, dbs_session_commit(s), s);
    assert_non_null(strstr(dbs_error_last(s)->message, "without a transaction"));
    assert_dbs_rc(DBS_EMISUSE, dbs_session_rollback(s), s);
    assert_dbs_ok(dbs_session_begin(s), s);
    assert_dbs_ok(dbs_session_commit(s), s);
    assert_dbs_rc(DBS_EMISUSE, dbs_session_commit(s), s);   /* the seed's double commit */
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
}

static void misuse__bind_out_of_range(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = NULL;

    assert_dbs_ok(dbs_stmt_prepare(&st, s, "SELECT ?, ?"), s);
    assert_int_equal(dbs_stmt_param_count(st), 2);
    assert_dbs_rc(DBS_EMISUSE, dbs_stmt_bind_int64(st, 0, 1), s);
    assert_non_null(strstr(dbs_error_last(s)->message, "out of range"));
    assert_dbs_rc(DBS_EMISUSE, dbs_stmt_bind_int64(st, 3, 1), s);
    assert_dbs_rc(DBS_EMISUSE, dbs_stmt_bind_textn(st, 1, NULL, 4), s);
    assert_dbs_rc(DBS_EMISUSE, dbs_stmt_bind_blob(st, 1, NULL, 4), s);
    /* NULL text is SQL NULL, a NULL blob of length 0 is an empty blob */
    assert_dbs_ok(dbs_stmt_bind_text(st, 1, NULL), s);
    assert_dbs_ok(dbs_stmt_bind_blob(st, 2, NULL, 0), s);
    assert_dbs_rc(DBS_ROW, dbs_stmt_step(st), s);
    assert_int_equal(dbs_stmt_column_is_null(st, 0), 1);
    assert_int_equal(dbs_stmt_column_is_null(st, 1), 0);
    dbs_stmt_free(st);
}

static void misuse__column_without_row_or_out_of_range(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = NULL;
    int64_t i;

    assert_dbs_ok(dbs_stmt_prepare(&st, s, "SELECT 1"), s);
    assert_dbs_rc(DBS_EMISUSE, dbs_stmt_column_int64(st, 0, &i), s);   /* before step */
    assert_dbs_rc(DBS_ROW, dbs_stmt_step(st), s);
    assert_dbs_rc(DBS_EMISUSE, dbs_stmt_column_int64(st, 1, &i), s);
    assert_dbs_rc(DBS_EMISUSE, dbs_stmt_column_int64(st, -1, &i), s);
    assert_dbs_rc(DBS_EMISUSE, dbs_stmt_column_int64(st, 0, NULL), s);
    assert_int_equal(dbs_stmt_column_type(st, 5), DBS_EMISUSE);
    assert_dbs_ok(dbs_stmt_column_int64(st, 0, &i), s);
    assert_int_equal(i, 1);
    assert_dbs_rc(DBS_DONE, dbs_stmt_step(st), s);
    assert_dbs_rc(DBS_EMISUSE, dbs_stmt_column_int64(st, 0, &i), s);   /* after DONE */
    dbs_stmt_free(st);
}

static void misuse__close_with_open_statement_is_refused(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = NULL;

    assert_dbs_ok(dbs_stmt_prepare(&st, s, "SELECT 1"), s);
    assert_dbs_rc(DBS_EINUSE, dbs_session_close(s), s);
    /* nothing was closed: the statement and the session still work */
    assert_dbs_rc(DBS_ROW, dbs_stmt_step(st), s);
    dbs_stmt_free(st);
    assert_dbs_ok(dbs_session_exec(s, "SELECT 1"), s);
}

/* Transaction control as SQL would end the transaction behind the session's
 * back (later statements in autocommit, dbs_txn_run and the unit of work out
 * of step): refused, before anything is sent; the transaction goes on. */
static void misuse__transaction_control_as_sql_is_refused(void **state)
{
    dbs_session *s = *state;
    static const char *const sql[] = {
        "COMMIT", "  commit work", "/* c */ ROLLBACK", "rollback to savepoint x", "END",
        "BEGIN", "begin immediate transaction", "START TRANSACTION", "SAVEPOINT x",
        "RELEASE SAVEPOINT x", "release x", "; COMMIT", " ;; -- c\n commit", "# c\nCOMMIT",
        "/*!COMMIT*/", "/*!100000 ROLLBACK */",
    };
    dbs_stmt *st = NULL;
    size_t i;

    dbs_test_exec(s, "CREATE TABLE t (x INT)");
    assert_dbs_ok(dbs_session_begin(s), s);
    dbs_test_exec(s, "INSERT INTO t VALUES (1)");
    for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
        assert_int_equal(dbs_session_exec(s, sql[i]), DBS_EMISUSE);
        if (strncmp(sql[i], "/*!", 3) != 0)   /* (those read as empty statements first) */
            assert_non_null(strstr(dbs_error_last(s)->message, "dbs_session_commit()"));
        assert_int_equal(dbs_stmt_prepare(&st, s, sql[i]), DBS_EMISUSE);
        assert_null(st);
    }
    assert_int_equal(dbs_session_depth(s), 1);
    assert_int_equal(dbs_session_state(s), DBS_TXN_ACTIVE);
    assert_dbs_ok(dbs_session_rollback(s), s);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM t"), 0);
    /* words that only look like it */
    dbs_test_exec(s, "INSERT INTO t VALUES (2)");
    dbs_test_exec(s, "-- COMMIT\nSELECT 1 AS committed");
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM t"), 1);
}

static void misuse__empty_and_multiple_statements(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = NULL;

    assert_dbs_rc(DBS_EMISUSE, dbs_stmt_prepare(&st, s, "   "), s);
    assert_null(st);
    assert_dbs_rc(DBS_EMISUSE, dbs_session_exec(s, ";"), s);
    assert_dbs_rc(DBS_ESYNTAX, dbs_stmt_prepare(&st, s, "SELECT 1; SELECT 2"), s);
    assert_dbs_rc(DBS_ESYNTAX, dbs_session_exec(s, "SELECT 1; SELECT 2"), s);
    assert_dbs_rc(DBS_ESYNTAX, dbs_session_exec(s, "SELEC 1"), s);
    assert_dbs_rc(DBS_EUNDEFINED, dbs_session_exec(s, "SELECT * FROM no_such_table"), s);
    /* a trailing semicolon is fine */
    assert_dbs_ok(dbs_session_exec(s, "SELECT 1;"), s);
}

static void misuse__errors_leave_the_session_usable(void **state)
{
    dbs_session *s = *state;

    assert_dbs_rc(DBS_ESYNTAX, dbs_session_exec(s, "CREATE TABL x (a INT)"), s);
    assert_string_equal(dbs_error_last(s)->backend, dbs_session_backend(s));
    assert_true(dbs_error_last(s)->native_code != 0);
    assert_int_equal(strlen(dbs_error_last(s)->sqlstate), 5);
    assert_dbs_ok(dbs_session_exec(s, "CREATE TABLE x (a INT)"), s);
    assert_dbs_ok(dbs_session_exec(s, "INSERT INTO x VALUES (1)"), s);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM x"), 1);
}

static void misuse__error_copy_outlives_the_next_call(void **state)
{
    dbs_session *s = *state;
    dbs_error *copy = NULL;

    assert_dbs_rc(DBS_EUNDEFINED, dbs_session_exec(s, "SELECT * FROM missing_t"), s);
    assert_int_equal(dbs_error_copy(&copy, dbs_error_last(s)), DBS_OK);
    assert_dbs_ok(dbs_session_exec(s, "SELECT 1"), s);
    assert_int_equal(copy->status, DBS_EUNDEFINED);
    assert_non_null(strstr(copy->message, "missing_t"));
    dbs_error_free(copy);
    assert_int_equal(dbs_error_copy(NULL, dbs_error_last(s)), DBS_EMISUSE);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, dbs_test_setup, dbs_test_teardown)
    const struct CMUnitTest tests[] = {
        T(misuse__null_arguments),
        T(misuse__commit_or_rollback_without_begin),
        T(misuse__bind_out_of_range),
        T(misuse__column_without_row_or_out_of_range),
        T(misuse__close_with_open_statement_is_refused),
        T(misuse__transaction_control_as_sql_is_refused),
        T(misuse__empty_and_multiple_statements),
        T(misuse__errors_leave_the_session_usable),
        T(misuse__error_copy_outlives_the_next_call),
    };

    return dbs_test_main("misuse", tests, sizeof(tests) / sizeof(tests[0]));
}
