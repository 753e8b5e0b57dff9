/*
 * The classifier corpus: real failures on each engine, each asserting the
 * kind, native code, foreign key direction, table, columns and constraint
 * wherever the engine tells them. DDL is portable; on MariaDB the fixture
 * turns on ANSI_QUOTES so "quoted names" mean the same on both engines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

struct expect {
    int kind;               /* 0: this engine cannot produce the case: skipped */
    int native;             /* 0: not checked */
    int fk;                 /* checked for foreign_key kinds */
    const char *table;      /* NULL: not checked; "": must be empty */
    const char *columns;    /* "a,b"; NULL: not checked; "": none */
    const char *constraint; /* NULL: not checked */
    const char *ref_table;  /* NULL: not checked */
};

struct ecase {
    const char *name;
    const char *const *setup;    /* run in order, NULL-terminated */
    const char *sql;             /* the statement that fails */
    const char *sql_mariadb;     /* when MariaDB needs another statement */
    struct expect sqlite, mariadb;
};

#define S(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE 0
#define MP DBS_FK_MISSING_PARENT
#define REF DBS_FK_REFERENCED

#define PARENT_CHILD                                                                     \
    "CREATE TABLE p (id INT PRIMARY KEY)",                                               \
    "CREATE TABLE c (id INT PRIMARY KEY, pid INT,"                                       \
    " CONSTRAINT fk_c_p FOREIGN KEY (pid) REFERENCES p (id))",                           \
    "INSERT INTO p VALUES (1)", "INSERT INTO c VALUES (10, 1)"

static const struct ecase cases[] = {
    /* ---- unique ---- */
    { "unique_column", S("CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(100) UNIQUE)",
                         "INSERT INTO t VALUES (1, 'a@x')"),
      "INSERT INTO t VALUES (2, 'a@x')", NULL,
      { DBS_EUNIQUE, 2067, 0, "t", "email", NULL, NULL },
      { DBS_EUNIQUE, 1062, 0, "t", "email", "email", NULL } },
    { "unique_named_composite", S("CREATE TABLE t (a INT, b INT, CONSTRAINT uq_ab UNIQUE (a, b))",
                                  "INSERT INTO t VALUES (1, 2)"),
      "INSERT INTO t VALUES (1, 2)", NULL,
      { DBS_EUNIQUE, 2067, 0, "t", "a,b", NULL, NULL },
      { DBS_EUNIQUE, 1062, 0, "t", "a,b", "uq_ab", NULL } },
    { "unique_primary_key", S("CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)"),
      "INSERT INTO t VALUES (1)", NULL,
      { DBS_EUNIQUE, 1555, 0, "t", "id", NULL, NULL },
      { DBS_EUNIQUE, 1062, 0, "t", "id", "PRIMARY", NULL } },
    { "unique_on_update", S("CREATE TABLE t (id INT PRIMARY KEY, e VARCHAR(20) UNIQUE)",
                            "INSERT INTO t VALUES (1, 'a')", "INSERT INTO t VALUES (2, 'b')"),
      "UPDATE t SET e = 'a' WHERE id = 2", NULL,
      { DBS_EUNIQUE, 2067, 0, "t", "e", NULL, NULL },
      { DBS_EUNIQUE, 1062, 0, "t", "e", "e", NULL } },
    { "unique_hostile_names", S("CREATE TABLE \"we ird.t\" (id INT PRIMARY KEY,"
                                " \"e mail\" VARCHAR(50), CONSTRAINT \"u.k\" UNIQUE (\"e mail\"))",
                                "INSERT INTO \"we ird.t\" VALUES (1, 'v')"),
      "INSERT INTO \"we ird.t\" VALUES (2, 'v')", NULL,
      { DBS_EUNIQUE, 2067, 0, "we ird.t", "e mail", NULL, NULL },
      { DBS_EUNIQUE, 1062, 0, "we ird.t", "e mail", "u.k", NULL } },
    { "unique_value_says_for_key", S("CREATE TABLE t (id INT PRIMARY KEY, n VARCHAR(80),"
                                     " CONSTRAINT uq_n UNIQUE (n))",
                                     "INSERT INTO t VALUES (1, 'x'' for key ''PRIMARY')"),
      "INSERT INTO t VALUES (2, 'x'' for key ''PRIMARY')", NULL,
      { DBS_EUNIQUE, 2067, 0, "t", "n", NULL, NULL },
      { DBS_EUNIQUE, 1062, 0, "t", "n", "uq_n", NULL } },
    { "unique_key_named_for_key", S("CREATE TABLE t (id INT PRIMARY KEY, n INT,"
                                    " CONSTRAINT \"key for key 'x'\" UNIQUE (n))",
                                    "INSERT INTO t VALUES (1, 5)"),
      "INSERT INTO t VALUES (2, 5)", NULL,
      { DBS_EUNIQUE, 2067, 0, "t", "n", NULL, NULL },
      { DBS_EUNIQUE, 1062, 0, "t", "n", "key for key 'x'", NULL } },
    { "unique_long_utf8_value", S("CREATE TABLE t (id INT PRIMARY KEY, n VARCHAR(200) UNIQUE)",
                                  "INSERT INTO t VALUES (1, REPEAT('\xC3\x9F\xE2\x82\xAC"
                                  "\xF0\x9F\x98\x80', 30))"),
      "INSERT INTO t VALUES (2, REPEAT('\xC3\x9F\xE2\x82\xAC\xF0\x9F\x98\x80', 30))", NULL,
      { 0 }, /* SQLite has no REPEAT() */
      { DBS_EUNIQUE, 1062, 0, "t", "n", "n", NULL } },
    { "unique_multirow_insert", S("CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (3)"),
      "INSERT INTO t VALUES (1), (2), (3), (4)", NULL,
      { DBS_EUNIQUE, 1555, 0, "t", "id", NULL, NULL },
      { DBS_EUNIQUE, 1062, 0, "t", "id", "PRIMARY", NULL } },
    { "unique_same_key_name_two_tables",
      S("CREATE TABLE a1 (id INT PRIMARY KEY, code INT UNIQUE)",
        "CREATE TABLE a2 (id INT PRIMARY KEY, code INT UNIQUE)",
        "INSERT INTO a1 VALUES (1, 7)", "INSERT INTO a2 VALUES (1, 7)"),
      "INSERT INTO a2 VALUES (2, 7)", NULL,
      { DBS_EUNIQUE, 2067, 0, "a2", "code", NULL, NULL },
      { DBS_EUNIQUE, 1062, 0, "a2", "code", "code", NULL } },
    { "unique_expression_index", S("CREATE TABLE t (e TEXT)",
                                   "CREATE UNIQUE INDEX ix_lower ON t (lower(e))",
                                   "INSERT INTO t VALUES ('A')"),
      "INSERT INTO t VALUES ('a')", NULL,
      { DBS_EUNIQUE, 2067, 0, "", "", "ix_lower", NULL },
      { 0 } },
    { "unique_emoji_identifiers", S("CREATE TABLE \"t\xF0\x9F\x98\x80\" (\"c\xF0\x9F\x98\x80\" INT UNIQUE)",
                                    "INSERT INTO \"t\xF0\x9F\x98\x80\" VALUES (1)"),
      "INSERT INTO \"t\xF0\x9F\x98\x80\" VALUES (1)", NULL,
      { DBS_EUNIQUE, 2067, 0, "t\xF0\x9F\x98\x80", "c\xF0\x9F\x98\x80", NULL, NULL },
      { 0 } },  /* MariaDB identifiers cannot hold 4-byte characters */

    /* ---- foreign keys ---- */
    { "fk_insert_missing_parent", S(PARENT_CHILD), "INSERT INTO c VALUES (11, 99)", NULL,
      { DBS_EFOREIGNKEY, 787, MP, "c", "pid", NULL, "p" },
      { DBS_EFOREIGNKEY, 1452, MP, "c", "pid", "fk_c_p", "p" } },
    { "fk_update_child_missing_parent", S(PARENT_CHILD), "UPDATE c SET pid = 99", NULL,
      { DBS_EFOREIGNKEY, 787, MP, "c", "pid", NULL, "p" },
      { DBS_EFOREIGNKEY, 1452, MP, "c", "pid", "fk_c_p", "p" } },
    { "fk_delete_referenced_parent", S(PARENT_CHILD), "DELETE FROM p WHERE id = 1", NULL,
      { DBS_EFOREIGNKEY, 787, REF, "c", "pid", NULL, "p" },
      { DBS_EFOREIGNKEY, 1451, REF, "c", "pid", "fk_c_p", "p" } },
    { "fk_update_referenced_parent", S(PARENT_CHILD), "UPDATE p SET id = 2", NULL,
      { DBS_EFOREIGNKEY, 787, REF, "c", "pid", NULL, "p" },
      { DBS_EFOREIGNKEY, 1451, REF, "c", "pid", "fk_c_p", "p" } },
    { "fk_restrict", S("CREATE TABLE p (id INT PRIMARY KEY)",
                       "CREATE TABLE c (id INT PRIMARY KEY, pid INT, CONSTRAINT fk_r FOREIGN KEY"
                       " (pid) REFERENCES p (id) ON DELETE RESTRICT)",
                       "INSERT INTO p VALUES (1)", "INSERT INTO c VALUES (1, 1)"),
      "DELETE FROM p", NULL,
      { DBS_EFOREIGNKEY, 1811, REF, "c", "pid", NULL, "p" },
      { DBS_EFOREIGNKEY, 1451, REF, "c", "pid", "fk_r", "p" } },
    { "fk_composite_hostile_name",
      S("CREATE TABLE \"pa rent\" (x INT, y INT, PRIMARY KEY (x, y))",
        "CREATE TABLE \"ch.ild\" (id INT PRIMARY KEY, a INT, \"b `q\" INT,"
        " CONSTRAINT \"fk.dot `tick\" FOREIGN KEY (a, \"b `q\") REFERENCES \"pa rent\" (x, y))"),
      "INSERT INTO \"ch.ild\" VALUES (1, 1, 2)", NULL,
      { DBS_EFOREIGNKEY, 787, MP, "ch.ild", "a,b `q", NULL, "pa rent" },
      { DBS_EFOREIGNKEY, 1452, MP, "ch.ild", "a,b `q", "fk.dot `tick", "pa rent" } },
    { "fk_two_keys_not_guessed", S("CREATE TABLE p (id INT PRIMARY KEY)",
        "CREATE TABLE q (id INT PRIMARY KEY)",
        "CREATE TABLE c (id INT PRIMARY KEY, pid INT REFERENCES p (id), qid INT REFERENCES q (id))",
        "INSERT INTO p VALUES (1)", "INSERT INTO q VALUES (1)"),
      "INSERT INTO c VALUES (1, 1, 99)", NULL,
      { DBS_EFOREIGNKEY, 787, MP, "c", "", NULL, "" },   /* which of two: SQLite does not say */
      { DBS_EFOREIGNKEY, 1452, MP, "c", "qid", NULL, "q" } },
    { "fk_cascade_into_restrict", S("CREATE TABLE g (id INT PRIMARY KEY)",
        "CREATE TABLE p (id INT PRIMARY KEY, gid INT REFERENCES g (id) ON DELETE CASCADE)",
        "CREATE TABLE c (id INT PRIMARY KEY, pid INT, CONSTRAINT fk_cr FOREIGN KEY (pid)"
        " REFERENCES p (id) ON DELETE RESTRICT)",
        "INSERT INTO g VALUES (1)", "INSERT INTO p VALUES (1, 1)", "INSERT INTO c VALUES (1, 1)"),
      "DELETE FROM g", NULL,
      { DBS_EFOREIGNKEY, 1811, REF, "", "", NULL, "" },  /* a cascade away: not guessed */
      { DBS_EFOREIGNKEY, 1451, REF, "c", "pid", "fk_cr", "p" } },

    { "fk_alter_engine_1217", S(PARENT_CHILD), "ALTER TABLE c ENGINE=Aria", NULL,
      { 0 },  /* SQLite has no engines */
      { DBS_EFOREIGNKEY, 1217, REF, "", "", "", NULL } },

    /* ---- not null ---- */
    { "not_null_explicit", S("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)"),
      "INSERT INTO t VALUES (1, NULL)", NULL,
      { DBS_ENOTNULL, 1299, 0, "t", "name", NULL, NULL },
      { DBS_ENOTNULL, 1048, 0, NULL, "name", NULL, NULL } },
    { "not_null_omitted_no_default", S("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)"),
      "INSERT INTO t (id) VALUES (1)", NULL,
      { DBS_ENOTNULL, 1299, 0, "t", "name", NULL, NULL },
      { DBS_ENOTNULL, 1364, 0, NULL, "name", NULL, NULL } },
    { "not_null_update", S("CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL)",
                           "INSERT INTO t VALUES (1, 1)"),
      "UPDATE t SET n = NULL", NULL,
      { DBS_ENOTNULL, 1299, 0, "t", "n", NULL, NULL },
      { DBS_ENOTNULL, 1048, 0, NULL, "n", NULL, NULL } },
    { "not_null_primary_key_omitted", S("CREATE TABLE t (id INT NOT NULL PRIMARY KEY, n INT)"),
      "INSERT INTO t (n) VALUES (1)", NULL,
      { DBS_ENOTNULL, 1299, 0, "t", "id", NULL, NULL },
      { DBS_ENOTNULL, 1364, 0, NULL, "id", NULL, NULL } },
    { "not_null_hostile_column", S("CREATE TABLE t (id INT PRIMARY KEY, \"co'l, x\" INT NOT NULL)"),
      "INSERT INTO t (id) VALUES (1)", NULL,
      { DBS_ENOTNULL, 1299, 0, "t", "co'l, x", NULL, NULL },
      { DBS_ENOTNULL, 1364, 0, NULL, "co'l, x", NULL, NULL } },

    /* ---- check ---- */
    { "check_named", S("CREATE TABLE t (id INT PRIMARY KEY, qty INT,"
                       " CONSTRAINT ck_qty_pos CHECK (qty > 0))"),
      "INSERT INTO t VALUES (1, -5)", NULL,
      { DBS_ECHECK, 275, 0, "t", NULL, "ck_qty_pos", NULL },
      { DBS_ECHECK, 4025, 0, "t", NULL, "ck_qty_pos", NULL } },
    { "check_unnamed_column", S("CREATE TABLE t (id INT PRIMARY KEY, qty INT CHECK (qty > 0))"),
      "INSERT INTO t VALUES (1, 0)", NULL,
      { DBS_ECHECK, 275, 0, NULL, NULL, "", NULL },
      { DBS_ECHECK, 4025, 0, "t", NULL, NULL, NULL } },
    { "check_on_update", S("CREATE TABLE t (id INT PRIMARY KEY, lo INT, hi INT,"
                           " CONSTRAINT ck_range CHECK (lo <= hi))", "INSERT INTO t VALUES (1, 1, 2)"),
      "UPDATE t SET lo = 5", NULL,
      { DBS_ECHECK, 275, 0, "t", NULL, "ck_range", NULL },
      { DBS_ECHECK, 4025, 0, "t", NULL, "ck_range", NULL } },
    { "check_json_column", S("CREATE TABLE j (id INT PRIMARY KEY, doc JSON)"),
      "INSERT INTO j VALUES (1, '{bad json')", NULL,
      { 0 },
      { DBS_ECHECK, 4025, 0, "j", NULL, NULL, NULL } },

    /* ---- data ---- */
    { "data_too_long", S("CREATE TABLE t (s VARCHAR(3))"), "INSERT INTO t VALUES ('abcdef')", NULL,
      { 0 },  /* non-STRICT SQLite stores it */
      { DBS_EDATA, 1406, 0, NULL, "s", NULL, NULL } },
    { "data_out_of_range", S("CREATE TABLE t (n TINYINT)"), "INSERT INTO t VALUES (1000)", NULL,
      { 0 },
      { DBS_EDATA, 1264, 0, NULL, "n", NULL, NULL } },
    { "data_not_an_integer", S("CREATE TABLE t (n INT)"), "INSERT INTO t VALUES ('abc')", NULL,
      { 0 },
      { DBS_EDATA, 1366, 0, NULL, NULL, NULL, NULL } },
    { "data_truncated", S("CREATE TABLE t (n INT)"), "INSERT INTO t VALUES ('12abc')", NULL,
      { 0 },
      { DBS_EDATA, 1265, 0, NULL, "n", NULL, NULL } },
    { "data_bad_date", S("CREATE TABLE t (d DATE)"), "INSERT INTO t VALUES ('2024-02-30')", NULL,
      { 0 },
      { DBS_EDATA, 1292, 0, NULL, NULL, NULL, NULL } },
    { "data_division_by_zero", S("CREATE TABLE t (n INT)"), "INSERT INTO t VALUES (1 / 0)", NULL,
      { 0 },
      { DBS_EDATA, 1365, 0, NULL, NULL, NULL, NULL } },
    { "data_integer_overflow", S("CREATE TABLE t (n INT)"),
      "SELECT abs(-9223372036854775807 - 1)", "SELECT 9223372036854775807 + 1",
      { DBS_EDATA, 1, 0, NULL, NULL, NULL, NULL },
      { DBS_EDATA, 1690, 0, NULL, NULL, NULL, NULL } },
    { "data_strict_table", S("CREATE TABLE t (n INT) STRICT"), "INSERT INTO t VALUES ('abc')", NULL,
      { DBS_EDATA, 3091, 0, "t", "n", NULL, NULL },
      { 0 } },
    { "data_rowid_mismatch", S("CREATE TABLE t (id INTEGER PRIMARY KEY)"),
      "INSERT INTO t VALUES ('abc')", NULL,
      { DBS_EDATA, 20, 0, NULL, NULL, NULL, NULL },
      { 0 } },

    /* ---- syntax and undefined names ---- */
    { "syntax_error", S("CREATE TABLE t (n INT)"), "SELEC 1", NULL,
      { DBS_ESYNTAX, 1, 0, NULL, NULL, NULL, NULL },
      { DBS_ESYNTAX, 1064, 0, NULL, NULL, NULL, NULL } },
    { "syntax_ambiguous_column", S("CREATE TABLE t (id INT)", "CREATE TABLE u (id INT)"),
      "SELECT id FROM t, u", NULL,
      { DBS_ESYNTAX, 1, 0, NULL, NULL, NULL, NULL },
      { DBS_ESYNTAX, 1052, 0, NULL, NULL, NULL, NULL } },
    { "syntax_value_count", S("CREATE TABLE t (a INT, b INT)"), "INSERT INTO t VALUES (1)", NULL,
      { DBS_ESYNTAX, 1, 0, NULL, NULL, NULL, NULL },
      { DBS_ESYNTAX, 1136, 0, NULL, NULL, NULL, NULL } },
    { "undefined_table", S("CREATE TABLE t (n INT)"), "SELECT * FROM no_such_table", NULL,
      { DBS_EUNDEFINED, 1, 0, NULL, NULL, NULL, NULL },
      { DBS_EUNDEFINED, 1146, 0, NULL, NULL, NULL, NULL } },
    { "undefined_column", S("CREATE TABLE t (n INT)"), "SELECT nope FROM t", NULL,
      { DBS_EUNDEFINED, 1, 0, NULL, NULL, NULL, NULL },
      { DBS_EUNDEFINED, 1054, 0, NULL, NULL, NULL, NULL } },
    { "undefined_insert_column", S("CREATE TABLE t (n INT)"), "INSERT INTO t (nope) VALUES (1)", NULL,
      { DBS_EUNDEFINED, 1, 0, NULL, NULL, NULL, NULL },
      { DBS_EUNDEFINED, 1054, 0, NULL, NULL, NULL, NULL } },
    { "undefined_function", S("CREATE TABLE t (n INT)"), "SELECT no_such_fn(1)", NULL,
      { DBS_EUNDEFINED, 1, 0, NULL, NULL, NULL, NULL },
      { DBS_EUNDEFINED, 1305, 0, NULL, NULL, NULL, NULL } },
    { "undefined_drop_table", S("CREATE TABLE t (n INT)"), "DROP TABLE no_such_table", NULL,
      { DBS_EUNDEFINED, 1, 0, NULL, NULL, NULL, NULL },
      { DBS_EUNDEFINED, 1051, 0, NULL, NULL, NULL, NULL } },

    /* ---- read only ---- */
    { "read_only_session", S("CREATE TABLE t (n INT)", "PRAGMA query_only = 1"),
      "INSERT INTO t VALUES (1)", NULL,
      { DBS_EREADONLY, 8, 0, NULL, NULL, NULL, NULL },
      { 0 } },
    { "read_only_transaction", S("CREATE TABLE t (n INT)", "SET SESSION TRANSACTION READ ONLY"),
      "INSERT INTO t VALUES (1)", NULL,
      { 0 },
      { DBS_EREADONLY, 1792, 0, NULL, NULL, NULL, NULL } },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void check_columns(const dbs_error *e, const char *want, const char *name)
{
    char got[512] = "";
    size_t n = 0;
    int i;

    for (i = 0; i < e->n_columns; i++)
        n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s", i ? "," : "", e->columns[i]);
    if (strcmp(got, want) != 0) {
        print_error("%s: columns \"%s\", expected \"%s\"\n", name, got, want);
        fail();
    }
}

static void check_str(const char *what, const char *got, const char *want, const char *name)
{
    if (want != NULL && strcmp(got, want) != 0) {
        print_error("%s: %s \"%s\", expected \"%s\"\n", name, what, got, want);
        fail();
    }
}

static void run_case(void **state)
{
    const struct ecase *c = *state;
    const struct expect *x = dbs_test_is_mariadb() ? &c->mariadb : &c->sqlite;
    const char *sql = dbs_test_is_mariadb() && c->sql_mariadb ? c->sql_mariadb : c->sql;
    dbs_session *s;
    const dbs_error *e;
    dbs_stmt *st = NULL;
    void *fx = NULL;
    int i, rc;

    if (x->kind == 0)
        skip();
    dbs_test_setup(&fx);
    s = fx;
    if (dbs_test_is_mariadb())
        dbs_test_exec(s, "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')");
    for (i = 0; c->setup[i] != NULL; i++)
        dbs_test_exec(s, c->setup[i]);
    /* errors must classify the same from prepare, execute and fetch */
    rc = dbs_stmt_prepare(&st, s, sql);
    while (rc == DBS_OK && (rc = dbs_stmt_step(st)) == DBS_ROW)
        ;
    dbs_stmt_free(st);
    e = dbs_error_last(s);
    if (rc != x->kind) {
        print_error("%s: got %s (%d), expected %s: %s\n", c->name, dbs_status_name(rc),
                    e->native_code, dbs_status_name(x->kind), e->message);
        fail();
    }
    assert_int_equal(e->status, rc);
    if (x->native != 0 && e->native_code != x->native) {
        print_error("%s: native code %d, expected %d (%s)\n", c->name, e->native_code,
                    x->native, e->message);
        fail();
    }
    assert_int_equal(strlen(e->sqlstate), 5);
    assert_string_equal(e->backend, dbs_session_backend(s));
    assert_true(e->message[0] != '\0');
    if (x->kind == DBS_EFOREIGNKEY)
        assert_int_equal(e->fk_direction, x->fk);
    check_str("table", e->table, x->table, c->name);
    check_str("constraint", e->constraint, x->constraint, c->name);
    check_str("referenced table", e->ref_table, x->ref_table, c->name);
    if (x->columns != NULL)
        check_columns(e, x->columns, c->name);
    assert_int_equal(e->retryable, 0);
    /* names may be parsed on the first read: a second read and a copy agree */
    assert_ptr_equal(dbs_error_last(s), e);
    if (x->columns != NULL)
        check_columns(dbs_error_last(s), x->columns, c->name);
    {
        dbs_error *copy = NULL;

        assert_int_equal(dbs_error_copy(&copy, e), DBS_OK);
        assert_string_equal(copy->table, e->table);
        assert_int_equal(copy->n_columns, e->n_columns);
        for (i = 0; i < e->n_columns; i++)
            assert_string_equal(copy->columns[i], e->columns[i]);
        dbs_error_free(copy);
    }
    /* the session is still usable */
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
    assert_dbs_ok(dbs_session_exec(s, "SELECT 1"), s);
    assert_int_equal(dbs_test_teardown(&fx), 0);
}

/* A failing step: the message is the engine's, and so are the names. */
static void check_duplicate(dbs_session *s, const char *when)
{
    const dbs_error *e = dbs_error_last(s);

    if (e->status != DBS_EUNIQUE || !dbs_test_says_duplicate(e->message)) {
        print_error("%s: %s: \"%s\"\n", when, dbs_status_name(e->status), e->message);
        fail();
    }
    if (!dbs_test_is_mariadb()) {
        /* SQLite names them from the message alone */
        assert_string_equal(e->table, "t");
        assert_int_equal(e->n_columns, 1);
        assert_string_equal(e->columns[0], "v");
    }
}

static int fail_insert(dbs_session *s, void *payload)
{
    (void)s;
    return dbs_stmt_step(payload);
}

/*
 * The SQLite backend copies a failure's message only when somebody reads it
 * (a loop that checks kinds never pays for it): it must still be the
 * failure's own after the calls that may come between the failure and the
 * read, and a statement re-run or freed in between must not change it.
 */
static void errors__message_read_late_is_the_failures(void **state)
{
    dbs_session *s = *state;
    dbs_stmt *st = NULL, *other = NULL;
    dbs_error *copy = NULL;
    int i;

    dbs_test_make_t(s);
    assert_int_equal(dbs_test_insert_t(s, 1), DBS_OK);
    assert_dbs_ok(dbs_stmt_prepare(&other, s, "SELECT v FROM t"), s);
    assert_dbs_ok(dbs_stmt_prepare(&st, s, "INSERT INTO t (v) VALUES (?)"), s);
    assert_dbs_ok(dbs_stmt_bind_int64(st, 1, 1), s);
    /* a loop that never reads the message, then a read */
    for (i = 0; i < 3; i++)
        assert_int_equal(dbs_stmt_step(st), DBS_EUNIQUE);
    check_duplicate(s, "after a loop");
    /* a failure inside dbs_txn_run is still described after its rollback
     * (which keeps the error and sends ROLLBACK), and after a savepoint's */
    assert_int_equal(dbs_txn_run(s, fail_insert, st), DBS_EUNIQUE);
    check_duplicate(s, "after dbs_txn_run");
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
    assert_dbs_ok(dbs_session_begin(s), s);
    assert_dbs_ok(dbs_session_begin(s), s);
    assert_int_equal(dbs_stmt_step(st), DBS_EUNIQUE);
    assert_dbs_ok(dbs_session_rollback(s), s);
    check_duplicate(s, "after ROLLBACK TO SAVEPOINT");
    assert_dbs_ok(dbs_session_rollback(s), s);
    /* read after its statement is freed, and after another one is */
    assert_int_equal(dbs_stmt_step(st), DBS_EUNIQUE);
    dbs_stmt_free(st);
    dbs_stmt_free(other);
    check_duplicate(s, "after dbs_stmt_free");
    assert_int_equal(dbs_error_copy(&copy, dbs_error_last(s)), DBS_OK);
    assert_true(dbs_test_says_duplicate(copy->message));
    dbs_error_free(copy);
    /* a failure nobody reads, then the session goes away (ASan: no reads
     * of freed memory) */
    assert_int_equal(dbs_test_insert_t(s, 1), DBS_EUNIQUE);
    assert_int_equal(dbs_test_count_t(s), 1);
}

int main(void)
{
    const struct CMUnitTest more[] = {
        cmocka_unit_test_setup_teardown(errors__message_read_late_is_the_failures,
                                        dbs_test_setup, dbs_test_teardown),
    };
    enum { NMORE = sizeof(more) / sizeof(more[0]) };
    struct CMUnitTest tests[NCASES + NMORE];
    char *names[NCASES];
    size_t i;
    int rc;

    for (i = 0; i < NCASES; i++) {
        if (asprintf(&names[i], "errors__%s", cases[i].name) < 0)
            return 99;
        tests[i] = (struct CMUnitTest){ .name = names[i], .test_func = run_case,
                                        .initial_state = (void *)&cases[i] };
    }
    for (i = 0; i < NMORE; i++)
        tests[NCASES + i] = more[i];
    rc = dbs_test_main("errors", tests, NCASES + NMORE);
    for (i = 0; i < NCASES; i++)
        free(names[i]);
    return rc;
}
