/* Statements: binding every type, reading columns, reset, counts, ids. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static void make_table(dbs_session *s)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "CREATE TABLE t (%s, i BIGINT, d DOUBLE, s TEXT, b BLOB)",
             dbs_test_id_column());
    dbs_test_exec(s, sql);
}

/* One row of t: a NULL flag or value per column (text/blob: NULL pointer = NULL). */
struct dbs_value_spec {
    int i_null;
    int64_t i;
    int d_null;
    double d;
    const char *s;
    size_t slen;
    const void *b;
    size_t blen;
};

/* Bind one row's values to an INSERT INTO t (i, d, s, b) and run it. */
static void insert_with(dbs_session *s, dbs_stmt *st, int64_t *id_out,
                        const struct dbs_value_spec *v)
{
    assert_dbs_ok(v->i_null ? dbs_stmt_bind_null(st, 1) : dbs_stmt_bind_int64(st, 1, v->i), s);
    assert_dbs_ok(v->d_null ? dbs_stmt_bind_null(st, 2) : dbs_stmt_bind_double(st, 2, v->d), s);
    assert_dbs_ok(v->s == NULL ? dbs_stmt_bind_null(st, 3)
                               : dbs_stmt_bind_textn(st, 3, v->s, v->slen), s);
    assert_dbs_ok(v->b == NULL ? dbs_stmt_bind_null(st, 4)
                               : dbs_stmt_bind_blob(st, 4, v->b, v->blen), s);
    assert_dbs_rc(DBS_DONE, dbs_stmt_step(st), s);
    assert_dbs_ok(dbs_stmt_last_insert_id(st, id_out), s);
    assert_true(*id_out > 0);
}

static void insert_row(dbs_session *s, int64_t *id_out, const struct dbs_value_spec *v)
{
    dbs_stmt *st = NULL;

    assert_dbs_ok(dbs_stmt_prepare(&st, s, "INSERT INTO t (i, d, s, b) VALUES (?, ?, ?, ?)"), s);
    assert_int_equal(dbs_stmt_param_count(st), 4);
    insert_with(s, st, id_out, v);
    dbs_stmt_free(st);
}

/* Read the row back and compare every column with what was bound. */
static void check_row(dbs_session *s, int64_t id, const struct dbs_value_spec *v)
{
    dbs_stmt *st = NULL;
    const char *text;
    const void *blob;
    size_t len;
    int64_t i;
    double d;

    assert_dbs_ok(dbs_stmt_prepare(&st, s, "SELECT i, d, s, b FROM t WHERE id = ?"), s);
    assert_dbs_ok(dbs_stmt_bind_int64(st, 1, id), s);
    assert_dbs_rc(DBS_ROW, dbs_stmt_step(st), s);
    assert_int_equal(dbs_stmt_column_count(st), 4);
    assert_int_equal(dbs_stmt_column_is_null(st, 0), v->i_null);
    assert_int_equal(dbs_stmt_column_type(st, 0), v->i_null ? DBS_TYPE_NULL : DBS_TYPE_INT);
    assert_dbs_ok(dbs_stmt_column_int64(st, 0, &i), s);
    assert_true(i == (v->i_null ? 0 : v->i));
    assert_int_equal(dbs_stmt_column_type(st, 1), v->d_null ? DBS_TYPE_NULL : DBS_TYPE_DOUBLE);
    assert_dbs_ok(dbs_stmt_column_double(st, 1, &d), s);
    assert_true(v->d_null ? d == 0.0 : d == v->d);
    assert_int_equal(dbs_stmt_column_type(st, 2), v->s == NULL ? DBS_TYPE_NULL : DBS_TYPE_TEXT);
    assert_dbs_ok(dbs_stmt_column_text(st, 2, &text, &len), s);
    assert_int_equal(len, v->s == NULL ? 0 : v->slen);
    assert_memory_equal(text, v->s == NULL ? "" : v->s, len);
    assert_int_equal(text[len], '\0');
    assert_int_equal(dbs_stmt_column_type(st, 3), v->b == NULL ? DBS_TYPE_NULL : DBS_TYPE_BLOB);
    assert_dbs_ok(dbs_stmt_column_blob(st, 3, &blob, &len), s);
    assert_int_equal(len, v->b == NULL ? 0 : v->blen);
    if (len > 0)
        assert_memory_equal(blob, v->b, len);
    assert_dbs_rc(DBS_DONE, dbs_stmt_step(st), s);
    dbs_stmt_free(st);
}

static void roundtrip(dbs_session *s, const struct dbs_value_spec *v)
{
    int64_t id = 0;

    insert_row(s, &id, v);
    check_row(s, id, v);
}

static void stmt__bind_every_type_roundtrips(void **state)
{
    dbs_session *s = *state;
    static const char blob[] = { 'a', '\0', 'b', '\0', (char)0xff };
    const struct dbs_value_spec cases[] = {
        { 0, 42, 0, 3.25, "hello", 5, blob, sizeof(blob) },
        { 1, 0, 1, 0, NULL, 0, NULL, 0 },                    /* NULL everywhere */
        { 0, INT64_MAX, 0, 1e300, "", 0, "", 0 },            /* empty text and blob */
        { 0, INT64_MIN, 0, -2.5e-300, "\xF0\x9F\x98\x80 party \xE2\x82\xAC", 14, "\0", 1 },
        { 0, -1, 0, 0.1, "quote ' and \" and \\", 19, blob, 1 },
    };
    size_t k;

    make_table(s);
    for (k = 0; k < sizeof(cases) / sizeof(*cases); k++)
        roundtrip(s, &cases[k]);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM t"), 5);
}

/*
 * One prepared statement, executed again and again while every parameter
 * changes type (value, NULL, empty, longer text): backends that keep their
 * bindings between executes (MariaDB hands them over only when a type or a
 * buffer changed) must still send what was bound last.
 */
static void stmt__one_statement_rebound_with_changing_types(void **state)
{
    dbs_session *s = *state;
    static const char blob[] = { 'x', '\0', 'y' };
    static char longer[300];
    const struct dbs_value_spec cases[] = {
        { 0, 7, 0, 1.5, "ab", 2, blob, 3 },
        { 0, 8, 0, 2.5, "cd", 2, blob, 2 },                  /* same types, new values */
        { 1, 0, 1, 0, NULL, 0, NULL, 0 },                    /* every one NULL */
        { 0, 9, 0, -1, "", 0, "", 0 },                       /* back, empty */
        { 0, 10, 0, 3, longer, sizeof(longer) - 1, blob, 1 }, /* text buffer grows */
        { 1, 0, 0, 4, "ef", 2, NULL, 0 },
        { 0, 11, 1, 0, "gh", 2, blob, 3 },
    };
    int64_t ids[sizeof(cases) / sizeof(*cases)];
    dbs_stmt *st = NULL;
    size_t k;

    memset(longer, 'L', sizeof(longer) - 1);
    make_table(s);
    assert_dbs_ok(dbs_stmt_prepare(&st, s, "INSERT INTO t (i, d, s, b) VALUES (?, ?, ?, ?)"), s);
    for (k = 0; k < sizeof(cases) / sizeof(*cases); k++)
        insert_with(s, st, &ids[k], &cases[k]);
    dbs_stmt_free(st);
    for (k = 0; k < sizeof(cases) / sizeof(*cases); k++)
        check_row(s, ids[k], &cases[k]);
}

static void stmt__empty_text_and_blob_are_not_null(void **state)
{
    dbs_session *s = *state;
    const struct dbs_value_spec v = { 0, 1, 0, 1.0, "", 0, "", 0 };

    make_table(s);
    roundtrip(s, &v);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM t WHERE s IS NULL OR b IS NULL"), 0);
}

static void stmt__bind_copies_the_value(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = NULL;
    char buf[16];

    make_table(s);
    assert_dbs_ok(dbs_stmt_prepare(&st, s, "INSERT INTO t (s) VALUES (?)"), s);
    strcpy(buf, "before");
    assert_dbs_ok(dbs_stmt_bind_text(st, 1, buf), s);
    strcpy(buf, "after!");
    assert_dbs_rc(DBS_DONE, dbs_stmt_step(st), s);
    dbs_stmt_free(st);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM t WHERE s = 'before'"), 1);
}

static void stmt__reset_and_reexecute(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = NULL;
    int64_t id1 = 0, id2 = 0, n = 0;
    int k;

    make_table(s);
    assert_dbs_ok(dbs_stmt_prepare(&st, s, "INSERT INTO t (i) VALUES (?)"), s);
    for (k = 1; k <= 3; k++) {
        assert_dbs_ok(dbs_stmt_bind_int64(st, 1, k * 10), s);
        assert_dbs_rc(DBS_DONE, dbs_stmt_step(st), s);
        assert_dbs_ok(dbs_stmt_last_insert_id(st, k == 1 ? &id1 : &id2), s);
        assert_dbs_ok(dbs_stmt_reset(st), s);
    }
    assert_true(id2 > id1);
    /* bindings survive reset: stepping again inserts 30 once more */
    assert_dbs_rc(DBS_DONE, dbs_stmt_step(st), s);
    /* and a step after DONE executes again */
    assert_dbs_rc(DBS_DONE, dbs_stmt_step(st), s);
    dbs_stmt_free(st);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM t"), 5);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM t WHERE i = 30"), 3);
    /* a query re-run after DONE gives its rows again */
    assert_dbs_ok(dbs_stmt_prepare(&st, s, "SELECT i FROM t ORDER BY id"), s);
    for (k = 0; k < 2; k++) {
        n = 0;
        while (dbs_stmt_step(st) == DBS_ROW)
            n++;
        assert_int_equal(n, 5);
    }
    dbs_stmt_free(st);
}

static void stmt__column_names_and_conversions(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = NULL;
    const char *text;
    int64_t i;
    double d;

    assert_dbs_ok(dbs_stmt_prepare(&st, s, "SELECT 7 AS seven, '42' AS answer, 'x1' AS word,"
                                   " 2.5 AS half"), s);
    assert_int_equal(dbs_stmt_column_count(st), 4);
    assert_dbs_rc(DBS_ROW, dbs_stmt_step(st), s);
    assert_string_equal(dbs_stmt_column_name(st, 0), "seven");
    assert_string_equal(dbs_stmt_column_name(st, 3), "half");
    assert_null(dbs_stmt_column_name(st, 4));
    assert_dbs_ok(dbs_stmt_column_text(st, 0, &text, NULL), s);
    assert_string_equal(text, "7");
    assert_dbs_ok(dbs_stmt_column_int64(st, 1, &i), s);
    assert_int_equal(i, 42);
    assert_dbs_rc(DBS_EDATA, dbs_stmt_column_int64(st, 2, &i), s);
    assert_dbs_ok(dbs_stmt_column_double(st, 3, &d), s);
    assert_true(fabs(d - 2.5) < 1e-12);
    assert_dbs_rc(DBS_DONE, dbs_stmt_step(st), s);
    dbs_stmt_free(st);
}

static void stmt__rows_affected_counts_matched_rows(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = NULL;
    int64_t n = -1;

    make_table(s);
    dbs_test_exec(s, "INSERT INTO t (i) VALUES (1)");
    dbs_test_exec(s, "INSERT INTO t (i) VALUES (1)");
    dbs_test_exec(s, "INSERT INTO t (i) VALUES (2)");
    /* setting a value to what it already is still counts the row (matched) */
    assert_dbs_ok(dbs_stmt_prepare(&st, s, "UPDATE t SET i = ? WHERE i = ?"), s);
    assert_dbs_ok(dbs_stmt_bind_int64(st, 1, 1), s);
    assert_dbs_ok(dbs_stmt_bind_int64(st, 2, 1), s);
    assert_dbs_rc(DBS_DONE, dbs_stmt_step(st), s);
    assert_dbs_ok(dbs_stmt_rows_affected(st, &n), s);
    assert_int_equal(n, 2);
    assert_dbs_ok(dbs_stmt_bind_int64(st, 2, 99), s);
    assert_dbs_rc(DBS_DONE, dbs_stmt_step(st), s);
    assert_dbs_ok(dbs_stmt_rows_affected(st, &n), s);
    assert_int_equal(n, 0);
    dbs_stmt_free(st);
    assert_dbs_ok(dbs_stmt_prepare(&st, s, "DELETE FROM t"), s);
    assert_dbs_rc(DBS_DONE, dbs_stmt_step(st), s);
    assert_dbs_ok(dbs_stmt_rows_affected(st, &n), s);
    assert_int_equal(n, 3);
    assert_dbs_ok(dbs_stmt_last_insert_id(st, &n), s);
    assert_int_equal(n, 0);
    dbs_stmt_free(st);
    /* DDL changes no rows */
    assert_dbs_ok(dbs_stmt_prepare(&st, s, "CREATE TABLE t2 (a INT)"), s);
    assert_dbs_rc(DBS_DONE, dbs_stmt_step(st), s);
    assert_dbs_ok(dbs_stmt_rows_affected(st, &n), s);
    assert_int_equal(n, 0);
    dbs_stmt_free(st);
}

static void stmt__result_read_after_commit(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = NULL;
    int64_t i, sum = 0;
    int rows = 0;

    make_table(s);
    assert_dbs_ok(dbs_session_begin(s), s);
    dbs_test_exec(s, "INSERT INTO t (i) VALUES (1)");
    dbs_test_exec(s, "INSERT INTO t (i) VALUES (2)");
    dbs_test_exec(s, "INSERT INTO t (i) VALUES (3)");
    assert_dbs_ok(dbs_stmt_prepare(&st, s, "SELECT i FROM t ORDER BY i"), s);
    assert_dbs_rc(DBS_ROW, dbs_stmt_step(st), s);
    assert_dbs_ok(dbs_stmt_column_int64(st, 0, &i), s);
    sum += i;
    rows++;
    assert_dbs_ok(dbs_session_commit(s), s);
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
    while (dbs_stmt_step(st) == DBS_ROW) {
        assert_dbs_ok(dbs_stmt_column_int64(st, 0, &i), s);
        sum += i;
        rows++;
    }
    assert_int_equal(rows, 3);
    assert_int_equal(sum, 6);
    dbs_stmt_free(st);
}

static void stmt__many_rows_and_long_values(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = NULL;
    static char big[60000];
    const char *text;
    size_t len;
    int k, rows = 0;

    make_table(s);
    memset(big, 'x', sizeof(big) - 1);
    assert_dbs_ok(dbs_session_begin(s), s);
    assert_dbs_ok(dbs_stmt_prepare(&st, s, "INSERT INTO t (i, s) VALUES (?, ?)"), s);
    for (k = 0; k < 500; k++) {
        assert_dbs_ok(dbs_stmt_bind_int64(st, 1, k), s);
        assert_dbs_ok(dbs_stmt_bind_text(st, 2, k == 250 ? big : "short"), s);
        assert_dbs_rc(DBS_DONE, dbs_stmt_step(st), s);
    }
    dbs_stmt_free(st);
    assert_dbs_ok(dbs_session_commit(s), s);
    assert_dbs_ok(dbs_stmt_prepare(&st, s, "SELECT i, s FROM t ORDER BY i"), s);
    while (dbs_stmt_step(st) == DBS_ROW) {
        assert_dbs_ok(dbs_stmt_column_text(st, 1, &text, &len), s);
        assert_int_equal(len, rows == 250 ? sizeof(big) - 1 : 5);
        rows++;
    }
    assert_int_equal(rows, 500);
    dbs_stmt_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(stmt__bind_every_type_roundtrips,
                                        dbs_test_setup, dbs_test_teardown),
        cmocka_unit_test_setup_teardown(stmt__one_statement_rebound_with_changing_types,
                                        dbs_test_setup, dbs_test_teardown),
        cmocka_unit_test_setup_teardown(stmt__empty_text_and_blob_are_not_null,
                                        dbs_test_setup, dbs_test_teardown),
        cmocka_unit_test_setup_teardown(stmt__bind_copies_the_value,
                                        dbs_test_setup, dbs_test_teardown),
        cmocka_unit_test_setup_teardown(stmt__reset_and_reexecute,
                                        dbs_test_setup, dbs_test_teardown),
        cmocka_unit_test_setup_teardown(stmt__column_names_and_conversions,
                                        dbs_test_setup, dbs_test_teardown),
        cmocka_unit_test_setup_teardown(stmt__rows_affected_counts_matched_rows,
                                        dbs_test_setup, dbs_test_teardown),
        cmocka_unit_test_setup_teardown(stmt__result_read_after_commit,
                                        dbs_test_setup, dbs_test_teardown),
        cmocka_unit_test_setup_teardown(stmt__many_rows_and_long_values,
                                        dbs_test_setup, dbs_test_teardown),
    };

    return dbs_test_main("stmt", tests, sizeof(tests) / sizeof(tests[0]));
}
