/* Batches: partial success with a report, chunked savepoints, all or nothing, stops. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static const char *const cols[] = { "email", "age", "name" };

/* people: email unique, age >= 0 (a number), name not null. */
static void make_people(dbs_session *s)
{
    if (dbs_test_is_mariadb())
        dbs_test_exec(s, "CREATE TABLE people (id BIGINT PRIMARY KEY AUTO_INCREMENT, "
                      "email VARCHAR(100) NOT NULL UNIQUE, age INT CHECK (age >= 0), "
                      "name VARCHAR(50) NOT NULL)");
    else   /* STRICT: a text that is no number in an INTEGER column is refused, as on MariaDB */
        dbs_test_exec(s, "CREATE TABLE people (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                      "email TEXT NOT NULL UNIQUE, age INTEGER CHECK (age >= 0), "
                      "name TEXT NOT NULL) STRICT");
}

static int64_t count(dbs_session *s, const char *table)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
    return dbs_test_int(s, sql);
}

/* Row i (1-based) of a generated import: a good person. */
static int add_person(dbs_batch *b, int i)
{
    char email[64], age[16], name[32];
    const char *v[3] = { email, age, name };

    snprintf(email, sizeof(email), "p%d@example.org", i);
    snprintf(age, sizeof(age), "%d", 20 + i % 50);
    snprintf(name, sizeof(name), "person %d", i);
    return dbs_batch_add_text(b, v, NULL);
}

static int add3(dbs_batch *b, const char *email, const char *age, const char *name)
{
    const char *v[3] = { email, age, name };

    return dbs_batch_add_text(b, v, NULL);
}

static void assert_error(dbs_batch *b, size_t i, uint64_t row, int kind, const char *column)
{
    const dbs_batch_error *e = dbs_batch_error_at(b, i);

    assert_non_null(e);
    if (e->row != row || e->kind != kind)
        print_error("report entry %zu: row %llu kind %s (%s), expected row %llu kind %s\n", i,
                    (unsigned long long)e->row, dbs_status_name(e->kind), e->message,
                    (unsigned long long)row, dbs_status_name(kind));
    assert_int_equal(e->row, row);
    assert_int_equal(e->kind, kind);
    assert_non_null(e->message);
    assert_true(e->message[0] != '\0');
    if (column == NULL)
        assert_null(e->column);
    else
        assert_string_equal(e->column, column);
}

static void assert_counts(dbs_batch *b, uint64_t applied, uint64_t skipped)
{
    uint64_t a = 99, k = 99, p = 99;

    dbs_batch_counts(&a, &k, &p, b);
    assert_int_equal(a, applied);
    assert_int_equal(k, skipped);
    assert_int_equal(p, 0);
}

/* ---- statements sent, counted through the trace hook ---- */

struct tally {
    int inserts, savepoints, rollbacks_to;
};

static void tally_sql(const char *sql, void *payload)
{
    struct tally *t = payload;

    if (strncmp(sql, "INSERT", 6) == 0)
        t->inserts++;
    else if (strncmp(sql, "SAVEPOINT", 9) == 0)
        t->savepoints++;
    else if (strncmp(sql, "ROLLBACK TO", 11) == 0)
        t->rollbacks_to++;
}

static void batch__clean_insert_uses_one_savepoint_per_chunk(void **state)
{
    dbs_session *s = *state;
    struct tally t = { 0 };
    dbs_batch *b = NULL;
    int i;

    make_people(s);
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, NULL), s);
    assert_int_equal(dbs_session_depth(s), 1);
    dbs_session_set_trace(s, tally_sql, &t);
    for (i = 1; i <= 1200; i++)
        assert_dbs_ok(add_person(b, i), s);
    assert_dbs_ok(dbs_batch_finish(b), s);
    dbs_session_set_trace(s, NULL, NULL);
    assert_int_equal(dbs_batch_status(b), DBS_OK);
    assert_counts(b, 1200, 0);
    assert_int_equal(dbs_batch_error_count(b), 0);
    assert_int_equal(t.inserts, 1200);        /* each row once */
    assert_int_equal(t.savepoints, 3);        /* 500 + 500 + 200 */
    assert_int_equal(t.rollbacks_to, 0);
    dbs_batch_free(b);
    assert_int_equal(dbs_session_depth(s), 0);
    assert_int_equal(count(s, "people"), 1200);
    assert_int_equal(dbs_test_int(s, "SELECT age FROM people WHERE email = 'p7@example.org'"),
                     27);
}

static void batch__bad_rows_are_skipped_and_reported_with_kind_and_column(void **state)
{
    dbs_session *s = *state;
    dbs_batch *b = NULL;

    make_people(s);
    dbs_test_exec(s, "INSERT INTO people (email, age, name) VALUES ('old@x', 1, 'old')");
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, NULL), s);
    assert_dbs_ok(add3(b, "a@x", "30", "Ann"), s);            /* 1 */
    assert_dbs_ok(add3(b, "old@x", "31", "Dup"), s);          /* 2 unique */
    assert_dbs_ok(add3(b, "b@x", "32", NULL), s);             /* 3 not null */
    assert_dbs_ok(add3(b, "c@x", "-1", "Neg"), s);            /* 4 check */
    assert_dbs_ok(add3(b, "d@x", "old", "Txt"), s);           /* 5 data: not a number */
    assert_dbs_ok(add3(b, "e@x", NULL, "Eve"), s);            /* 6 NULL age is fine */
    assert_dbs_ok(add3(b, "a@x", "33", "Dup2"), s);           /* 7 unique, within the batch */
    assert_dbs_ok(dbs_batch_finish(b), s);
    assert_counts(b, 2, 5);
    assert_int_equal(dbs_batch_error_count(b), 5);
    assert_error(b, 0, 2, DBS_EUNIQUE, "email");
    assert_error(b, 1, 3, DBS_ENOTNULL, "name");
    assert_error(b, 2, 4, DBS_ECHECK, NULL);
    assert_error(b, 3, 5, DBS_EDATA, "age");
    assert_error(b, 4, 7, DBS_EUNIQUE, "email");
    assert_null(dbs_batch_error_at(b, 5));
    dbs_batch_free(b);
    assert_int_equal(count(s, "people"), 3);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM people WHERE email IN "
                                     "('old@x', 'a@x', 'e@x')"), 3);
    assert_int_equal(dbs_test_int(s, "SELECT age FROM people WHERE email = 'a@x'"), 30);
}

static void batch__failing_chunks_replay_and_keep_every_good_row(void **state)
{
    dbs_session *s = *state;
    const int bad[] = { 3, 4, 10, 11, 17, 29, 30, 35 };
    dbs_batch_options o;
    dbs_batch *b = NULL;
    size_t k = 0;
    int i;

    make_people(s);
    dbs_batch_options_init(&o);
    o.chunk_size = 10;
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, &o), s);
    for (i = 1; i <= 35; i++) {
        if (k < sizeof(bad) / sizeof(*bad) && bad[k] == i) {
            assert_dbs_ok(add3(b, "p1@example.org", "1", "dup"), s);   /* row 1's email */
            k++;
        } else {
            assert_dbs_ok(add_person(b, i), s);
        }
    }
    assert_dbs_ok(dbs_batch_finish(b), s);
    assert_counts(b, 35 - 8, 8);
    for (k = 0; k < 8; k++)
        assert_error(b, k, (uint64_t)bad[k], DBS_EUNIQUE, "email");
    dbs_batch_free(b);
    /* exactly the good rows, each once */
    assert_int_equal(count(s, "people"), 27);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM people WHERE name = 'dup'"), 0);
    assert_int_equal(dbs_test_int(s, "SELECT SUM(age) - 20 * COUNT(*) FROM people"),
                     (1 + 35) * 35 / 2 - (3 + 4 + 10 + 11 + 17 + 29 + 30 + 35));
}

static void batch__dirty_import_reruns_few_rows(void **state)
{
    dbs_session *s = *state;
    struct tally t = { 0 };
    dbs_batch *b = NULL;
    int i;

    make_people(s);
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, NULL), s);
    dbs_session_set_trace(s, tally_sql, &t);
    for (i = 1; i <= 2000; i++)
        assert_dbs_ok(i % 100 == 50 ? add3(b, "p1@example.org", "5", "dup") : add_person(b, i),
                      s);
    assert_dbs_ok(dbs_batch_finish(b), s);
    dbs_session_set_trace(s, NULL, NULL);
    assert_counts(b, 1980, 20);
    dbs_batch_free(b);
    assert_int_equal(count(s, "people"), 1980);
    /* 1% bad rows: far from replaying every failing chunk row by row (4000+) */
    print_message("2000 rows, 20 bad: %d INSERT executions, %d savepoints\n", t.inserts,
                  t.savepoints);
    assert_true(t.inserts + 2 * t.savepoints < 2000 * 3 / 2);
}

static void batch__all_or_nothing_rejects_the_whole_batch(void **state)
{
    dbs_session *s = *state;
    dbs_batch_options o;
    dbs_batch *b = NULL;
    int i, rc = DBS_OK;

    make_people(s);
    dbs_test_exec(s, "INSERT INTO people (email, age, name) VALUES ('old@x', 1, 'old')");
    dbs_batch_options_init(&o);
    o.mode = DBS_BATCH_ALL_OR_NOTHING;
    o.chunk_size = 4;
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, &o), s);
    for (i = 1; i <= 12 && rc == DBS_OK; i++)
        rc = i == 7 ? add3(b, "old@x", "1", "x") : add_person(b, i);
    assert_int_equal(rc, DBS_EUNIQUE);          /* the chunk of rows 5..8 ran at row 8 */
    assert_int_equal(i - 1, 8);
    assert_int_equal(add_person(b, 99), DBS_EUNIQUE);   /* stopped: the same kind again */
    assert_int_equal(dbs_batch_finish(b), DBS_EUNIQUE);
    assert_int_equal(dbs_batch_status(b), DBS_EUNIQUE);
    assert_int_equal(dbs_batch_error_count(b), 1);
    assert_error(b, 0, 7, DBS_EUNIQUE, "email");
    dbs_batch_free(b);
    assert_int_equal(dbs_session_depth(s), 0);
    assert_int_equal(count(s, "people"), 1);     /* only the row from before */
    /* a clean batch in that mode commits everything */
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, &o), s);
    for (i = 1; i <= 10; i++)
        assert_dbs_ok(add_person(b, i), s);
    assert_dbs_ok(dbs_batch_finish(b), s);
    assert_counts(b, 10, 0);
    dbs_batch_free(b);
    assert_int_equal(count(s, "people"), 11);
}

static void batch__rejected_rows_take_a_row_number_and_are_reported(void **state)
{
    dbs_session *s = *state;
    dbs_batch_options o;
    dbs_batch *b = NULL;

    make_people(s);
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, NULL), s);
    assert_dbs_ok(add_person(b, 1), s);
    assert_dbs_ok(add3(b, "p1@example.org", "1", "dup"), s);                 /* 2 */
    assert_dbs_ok(dbs_batch_reject(b, DBS_EDATA, NULL, "expected 3 fields, got 2"), s);
    assert_dbs_ok(dbs_batch_reject(b, DBS_EDATA, "name", "invalid UTF-8"), s);  /* 4 */
    assert_dbs_ok(add_person(b, 5), s);
    assert_int_equal(dbs_batch_reject(b, DBS_OK, NULL, "x"), DBS_EMISUSE);
    assert_dbs_ok(dbs_batch_finish(b), s);
    assert_counts(b, 2, 3);
    assert_error(b, 0, 2, DBS_EUNIQUE, "email");   /* found after the rejects: sorted */
    assert_error(b, 1, 3, DBS_EDATA, NULL);
    assert_error(b, 2, 4, DBS_EDATA, "name");
    assert_string_equal(dbs_batch_error_at(b, 1)->message, "expected 3 fields, got 2");
    dbs_batch_free(b);
    assert_int_equal(count(s, "people"), 2);
    /* all or nothing: a reject stops the batch */
    dbs_batch_options_init(&o);
    o.mode = DBS_BATCH_ALL_OR_NOTHING;
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, &o), s);
    assert_dbs_ok(add_person(b, 10), s);
    assert_int_equal(dbs_batch_reject(b, DBS_EDATA, NULL, "bad quote"), DBS_EDATA);
    assert_int_equal(dbs_batch_finish(b), DBS_EDATA);
    assert_error(b, 0, 2, DBS_EDATA, NULL);
    dbs_batch_free(b);
    assert_int_equal(count(s, "people"), 2);
}

/* ---- a caller's function: several statements per row, atomic together ---- */

struct task {
    const char *title;
    int audit_action_ok;   /* 0: the audit insert fails (NOT NULL) */
};

static int task_with_audit(dbs_session *s, const void *row, void *payload)
{
    const struct task *t = row;
    dbs_stmt *st = NULL;
    int64_t id = 0;
    int rc;

    (*(int *)payload)++;
    if ((rc = dbs_stmt_prepare(&st, s, "INSERT INTO tasks (title) VALUES (?)")) < 0
        || (rc = dbs_stmt_bind_text(st, 1, t->title)) < 0 || (rc = dbs_stmt_step(st)) < 0
        || (rc = dbs_stmt_last_insert_id(st, &id)) < 0)
        goto done;
    dbs_stmt_free(st);
    st = NULL;
    if ((rc = dbs_stmt_prepare(&st, s, "INSERT INTO audit (task_id, action) VALUES (?, ?)")) < 0
        || (rc = dbs_stmt_bind_int64(st, 1, id)) < 0
        || (rc = dbs_stmt_bind_text(st, 2, t->audit_action_ok ? "created" : NULL)) < 0)
        goto done;
    rc = dbs_stmt_step(st);
done:
    dbs_stmt_free(st);
    return rc < 0 ? rc : DBS_OK;
}

static void make_tasks(dbs_session *s)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "CREATE TABLE tasks (%s, title VARCHAR(50) NOT NULL UNIQUE)",
             dbs_test_id_column());
    dbs_test_exec(s, sql);
    snprintf(sql, sizeof(sql), "CREATE TABLE audit (%s, task_id BIGINT NOT NULL, "
             "action VARCHAR(20) NOT NULL)", dbs_test_id_column());
    dbs_test_exec(s, sql);
}

static void batch__function_rows_are_atomic_and_reported(void **state)
{
    dbs_session *s = *state;
    const struct task tasks[] = {
        { "setup", 1 }, { "plan", 0 }, { "build", 1 }, { "setup", 1 }, { "ship", 1 },
    };
    dbs_batch_options o;
    dbs_batch *b = NULL;
    int calls = 0;

    make_tasks(s);
    dbs_batch_options_init(&o);
    o.chunk_size = 2;
    assert_dbs_ok(dbs_batch_run_list(&b, s, tasks, 5, sizeof(tasks[0]), task_with_audit, &o,
                                     &calls), s);
    assert_counts(b, 3, 2);
    assert_error(b, 0, 2, DBS_ENOTNULL, "action");    /* its task row went with it */
    assert_error(b, 1, 4, DBS_EUNIQUE, "title");
    dbs_batch_free(b);
    assert_int_equal(count(s, "tasks"), 3);
    assert_int_equal(count(s, "audit"), 3);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM tasks WHERE title = 'plan'"), 0);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM tasks t JOIN audit a "
                                     "ON a.task_id = t.id"), 3);
    assert_true(calls >= 5);
}

static int commits_itself(dbs_session *s, const void *row, void *payload)
{
    int rc = dbs_session_commit(s);

    (void)row;
    *(int *)payload = rc;
    return rc;
}

static void batch__commit_of_a_batch_level_is_misuse_and_stops_it(void **state)
{
    dbs_session *s = *state;
    dbs_batch *b = NULL;
    int seen = 0, row = 1;

    make_people(s);
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, NULL), s);
    assert_dbs_ok(add_person(b, 1), s);
    assert_int_equal(dbs_session_commit(s), DBS_EMISUSE);     /* the batch's own level */
    assert_int_equal(dbs_session_rollback(s), DBS_EMISUSE);
    assert_dbs_ok(dbs_batch_finish(b), s);
    dbs_batch_free(b);
    assert_int_equal(count(s, "people"), 1);
    /* the row function committing: misuse is no bad row, it stops the batch */
    assert_int_equal(dbs_batch_new_fn(&b, s, commits_itself, NULL, &seen), DBS_OK);
    assert_dbs_ok(dbs_batch_add_row(b, &row), s);
    assert_int_equal(dbs_batch_finish(b), DBS_EMISUSE);
    assert_int_equal(seen, DBS_EMISUSE);
    assert_int_equal(dbs_batch_status(b), DBS_EMISUSE);
    assert_error(b, 0, 1, DBS_EMISUSE, NULL);
    dbs_batch_free(b);
    assert_int_equal(dbs_session_depth(s), 0);
}

static int frees_the_batch(dbs_session *s, void *payload)
{
    (void)s;
    dbs_batch_free(payload);
    return DBS_OK;
}

static int noop_row(dbs_session *s, const void *row, void *payload)
{
    (void)s, (void)row, (void)payload;
    return DBS_OK;
}

/* A batch freed while dbs_txn_run holds a level inside the batch's: the
 * batch cannot roll back through that level, but its protection goes with
 * it, and the program can roll back afterwards. A session with a batch
 * still open (of either kind) cannot be closed. */
static void batch__freed_inside_txn_run_leaves_the_session_usable(void **state)
{
    dbs_session *s = *state;
    dbs_batch *b = NULL;

    make_people(s);
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, NULL), s);
    assert_dbs_ok(add_person(b, 1), s);
    assert_dbs_ok(dbs_batch_flush(b), s);
    assert_int_equal(dbs_txn_run(s, frees_the_batch, b), DBS_EMISUSE);
    assert_int_equal(dbs_session_depth(s), 1);
    assert_dbs_ok(dbs_session_rollback(s), s);          /* no guard left behind */
    assert_int_equal(dbs_session_depth(s), 0);
    assert_int_equal(count(s, "people"), 0);
    assert_int_equal(dbs_batch_new_fn(&b, s, noop_row, NULL, NULL), DBS_OK);
    assert_int_equal(dbs_session_close(s), DBS_EINUSE);   /* the batch borrows it */
    dbs_batch_free(b);
}

static int aborts_then_frees_the_batch(dbs_session *s, void *payload)
{
    int rc = dbs_session_exec(s, "INSERT OR ROLLBACK INTO people (email, age, name) "
                                 "VALUES ('dup@x', 1, 'd')");

    dbs_batch_free(payload);             /* the engine ended the transaction */
    return rc;
}

/* A batch freed after the engine rolled the transaction back (inside
 * dbs_txn_run, whose level refuses): the batch's rollback ends, it does not
 * spin; the program rolls back after. */
static void batch__freed_after_an_abort_returns(void **state)
{
    dbs_session *s = *state;
    dbs_batch *b = NULL;

    if (dbs_test_is_mariadb())
        skip();                          /* INSERT OR ROLLBACK is SQLite's */
    make_people(s);
    dbs_test_exec(s, "INSERT INTO people (email, age, name) VALUES ('dup@x', 1, 'd')");
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, NULL), s);
    assert_true(dbs_txn_run(s, aborts_then_frees_the_batch, b) < 0);
    while (dbs_session_depth(s) > 0)
        assert_dbs_ok(dbs_session_rollback(s), s);
    assert_int_equal(count(s, "people"), 1);
}

static dbs_batch *left_open;

static int leaves_a_batch_open(dbs_session *s, void *payload)
{
    (void)payload;
    return dbs_batch_new_insert(&left_open, s, "people", cols, 3, NULL);
}

/* dbs_txn_run whose function leaves a batch open (misuse): each removes its
 * own guard, so once the batch is freed the program can roll back. */
static void batch__left_open_by_a_txn_run_function(void **state)
{
    dbs_session *s = *state;

    make_people(s);
    assert_int_equal(dbs_txn_run(s, leaves_a_batch_open, NULL), DBS_EMISUSE);
    dbs_batch_free(left_open);
    left_open = NULL;
    while (dbs_session_depth(s) > 0)
        assert_dbs_ok(dbs_session_rollback(s), s);
    assert_dbs_ok(dbs_session_begin(s), s);
    assert_dbs_ok(dbs_session_commit(s), s);
}

static int fails_at_row_3(dbs_session *s, const void *row, void *payload)
{
    int n = *(const int *)row, rc;
    char sql[80];

    snprintf(sql, sizeof(sql), "INSERT INTO people (email, age, name) VALUES ('f%d@x', 1, 'f')",
             n);
    if ((rc = dbs_session_exec(s, sql)) < 0)
        return rc;
    return n == 3 ? *(int *)payload : DBS_OK;
}

static void batch__transaction_killing_kinds_stop_with_nothing_applied(void **state)
{
    dbs_session *s = *state;
    const int rows[] = { 1, 2, 3, 4 };
    const int stoppers[] = { DBS_EDEADLOCK, DBS_ECONNECTION, DBS_ELOCKTIMEOUT, DBS_ESYNTAX };
    dbs_batch_options o;
    dbs_batch *b = NULL;
    size_t i;
    int kind;

    make_people(s);
    dbs_batch_options_init(&o);
    o.chunk_size = 1;    /* rows 1 and 2 are released before row 3 fails */
    for (i = 0; i < sizeof(stoppers) / sizeof(*stoppers); i++) {
        kind = stoppers[i];
        assert_int_equal(dbs_batch_run_list(&b, s, rows, 4, sizeof(int), fails_at_row_3, &o,
                                            &kind), kind);
        assert_int_equal(dbs_batch_status(b), kind);
        assert_int_equal(dbs_batch_error_count(b), 1);
        assert_error(b, 0, 3, kind, NULL);
        dbs_batch_free(b);
        assert_int_equal(dbs_session_depth(s), 0);
        assert_int_equal(count(s, "people"), 0);   /* rows 1 and 2 rolled back too */
    }
}

static void batch__engine_aborted_transaction_stops_the_batch_sqlite(void **state)
{
    dbs_session *s = *state;
    const char *const c[] = { "v" };
    const char *v1[] = { "1" }, *v2[] = { "2" };
    dbs_batch *b = NULL;

    if (dbs_test_is_mariadb())
        skip();   /* ON CONFLICT ROLLBACK is SQLite's; MariaDB's case is the deadlock test */
    dbs_test_exec(s, "CREATE TABLE r (v INT UNIQUE ON CONFLICT ROLLBACK)");
    dbs_test_exec(s, "INSERT INTO r VALUES (1)");
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "r", c, 1, NULL), s);
    assert_dbs_ok(dbs_batch_add_text(b, v2, NULL), s);
    assert_dbs_ok(dbs_batch_add_text(b, v1, NULL), s);
    /* a unique violation, but the engine ended the transaction: not skippable */
    assert_int_equal(dbs_batch_finish(b), DBS_EUNIQUE);
    assert_int_equal(dbs_batch_status(b), DBS_EUNIQUE);
    assert_error(b, 0, 2, DBS_EUNIQUE, "v");
    dbs_batch_free(b);
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
    assert_int_equal(count(s, "r"), 1);
}

/* ---- a real deadlock (MariaDB): the batch is the victim, nothing is half-applied ---- */

struct heavy {
    dbs_session *s;
    pthread_barrier_t *barrier;
    int rc;
};

/* A transaction heavier than the batch's, so InnoDB picks the batch as victim. */
static void *heavy_side(void *arg)
{
    struct heavy *h = arg;
    int rc;

    if ((rc = dbs_session_begin(h->s)) == DBS_OK)
        rc = dbs_session_exec(h->s, "INSERT INTO ballast (v) SELECT v FROM ballast_src");
    if (rc == DBS_OK)
        rc = dbs_session_exec(h->s, "UPDATE locks SET v = v + 10 WHERE id = 2");
    pthread_barrier_wait(h->barrier);
    if (rc == DBS_OK)
        rc = dbs_session_exec(h->s, "UPDATE locks SET v = v + 10 WHERE id = 1");
    h->rc = rc == DBS_OK ? dbs_session_commit(h->s) : rc;
    if (rc != DBS_OK)
        dbs_session_rollback(h->s);
    return NULL;
}

static int lock_row(dbs_session *s, const void *row, void *payload)
{
    int id = *(const int *)row;

    if (id == 2)
        pthread_barrier_wait(payload);   /* we hold row 1; the other side holds row 2 */
    return dbs_session_exec(s, id == 1 ? "UPDATE locks SET v = v + 1 WHERE id = 1"
                                       : "UPDATE locks SET v = v + 1 WHERE id = 2");
}

static void batch__deadlock_stops_the_batch_rolled_back_mariadb(void **state)
{
    dbs_session *s = *state;
    const int rows[] = { 1, 2 };
    pthread_barrier_t barrier;
    struct heavy h = { 0 };
    dbs_batch *b = NULL;
    pthread_t th;
    int i;

    if (!dbs_test_is_mariadb())
        skip();   /* SQLite has one writer at a time: no deadlock to have */
    dbs_test_exec(s, "CREATE TABLE locks (id INT PRIMARY KEY, v INT NOT NULL)");
    dbs_test_exec(s, "INSERT INTO locks VALUES (1, 0), (2, 0)");
    dbs_test_exec(s, "CREATE TABLE ballast (v INT)");
    dbs_test_exec(s, "CREATE TABLE ballast_src (v INT)");
    for (i = 0; i < 8; i++)
        dbs_test_exec(s, "INSERT INTO ballast_src VALUES (1), (2), (3), (4), (5), (6), (7), (8)");
    h.s = dbs_test_open();
    h.barrier = &barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_create(&th, NULL, heavy_side, &h);
    assert_int_equal(dbs_batch_run_list(&b, s, rows, 2, sizeof(int), lock_row, NULL, &barrier),
                     DBS_EDEADLOCK);
    pthread_join(th, NULL);
    pthread_barrier_destroy(&barrier);
    assert_dbs_ok(h.rc, h.s);
    assert_int_equal(dbs_batch_status(b), DBS_EDEADLOCK);
    assert_error(b, 0, 2, DBS_EDEADLOCK, NULL);
    dbs_batch_free(b);
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
    /* row 1's update is gone with the batch; only the other side's remain */
    assert_int_equal(dbs_test_int(s, "SELECT v FROM locks WHERE id = 1"), 10);
    assert_int_equal(dbs_test_int(s, "SELECT v FROM locks WHERE id = 2"), 10);
    assert_dbs_ok(dbs_session_close(h.s), NULL);
}

/* ---- levels, sources, misuse ---- */

static void batch__inside_a_transaction_joins_it(void **state)
{
    dbs_session *s = *state;
    dbs_batch *b = NULL;

    make_people(s);
    assert_dbs_ok(dbs_session_begin(s), s);
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, NULL), s);
    assert_int_equal(dbs_session_depth(s), 2);
    assert_dbs_ok(add_person(b, 1), s);
    assert_dbs_ok(add3(b, "p1@example.org", "3", "dup"), s);
    assert_dbs_ok(dbs_batch_finish(b), s);
    dbs_batch_free(b);
    assert_int_equal(dbs_session_depth(s), 1);
    assert_int_equal(count(s, "people"), 1);
    assert_dbs_ok(dbs_session_rollback(s), s);     /* the caller's transaction decides */
    assert_int_equal(count(s, "people"), 0);
}

static void batch__free_without_finish_rolls_back(void **state)
{
    dbs_session *s = *state;
    dbs_batch *b = NULL;
    int i;

    make_people(s);
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, NULL), s);
    for (i = 1; i <= 600; i++)              /* one chunk already ran */
        assert_dbs_ok(add_person(b, i), s);
    dbs_batch_free(b);
    assert_int_equal(dbs_session_depth(s), 0);
    assert_int_equal(count(s, "people"), 0);
}

struct source {
    int next, n;
    int fail_at;    /* 0: never */
};

static int people_source(dbs_batch *b, void *payload)
{
    struct source *src = payload;

    if (src->next > src->n)
        return DBS_DONE;
    if (src->fail_at == src->next)
        return DBS_ENOMEM;
    src->next++;
    if (src->next - 1 == 4)
        return dbs_batch_reject(b, DBS_EDATA, NULL, "unterminated quote");
    return add_person(b, src->next - 1);
}

static void batch__row_source_feeds_the_batch(void **state)
{
    dbs_session *s = *state;
    struct source src = { .next = 1, .n = 9 };
    dbs_batch *b = NULL;

    make_people(s);
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, NULL), s);
    assert_dbs_ok(dbs_batch_run_source(b, people_source, &src), s);
    assert_counts(b, 8, 1);
    assert_error(b, 0, 4, DBS_EDATA, NULL);
    dbs_batch_free(b);
    assert_int_equal(count(s, "people"), 8);
    /* a failing source stops the batch */
    src.next = 10;
    src.n = 20;
    src.fail_at = 15;
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, NULL), s);
    assert_int_equal(dbs_batch_run_source(b, people_source, &src), DBS_ENOMEM);
    assert_int_equal(dbs_batch_status(b), DBS_ENOMEM);
    dbs_batch_free(b);
    assert_int_equal(count(s, "people"), 8);
}

static void batch__unknown_table_or_column_fails_before_any_row(void **state)
{
    dbs_session *s = *state;
    const char *const bad_cols[] = { "email", "nope" };
    dbs_batch *b = (dbs_batch *)&b;

    make_people(s);
    assert_int_equal(dbs_batch_new_insert(&b, s, "people", bad_cols, 2, NULL), DBS_EUNDEFINED);
    assert_null(b);
    assert_int_equal(dbs_batch_new_insert(&b, s, "nosuch", cols, 3, NULL), DBS_EUNDEFINED);
    assert_null(b);
    assert_int_equal(dbs_session_depth(s), 0);
    assert_int_equal(dbs_session_close(s), DBS_OK);   /* no statement left behind */
    *state = dbs_test_open();
}

static void batch__misuse_is_refused(void **state)
{
    dbs_session *s = *state;
    dbs_batch_options o;
    dbs_batch *b = NULL;
    int row = 0;

    make_people(s);
    assert_int_equal(dbs_batch_new_insert(&b, NULL, "people", cols, 3, NULL), DBS_EMISUSE);
    assert_int_equal(dbs_batch_new_insert(&b, s, "people", cols, 0, NULL), DBS_EMISUSE);
    assert_int_equal(dbs_batch_new_insert(&b, s, NULL, cols, 3, NULL), DBS_EMISUSE);
    assert_int_equal(dbs_batch_new_fn(&b, s, NULL, NULL, NULL), DBS_EMISUSE);
    dbs_batch_options_init(&o);
    o.chunk_size = 0;
    assert_int_equal(dbs_batch_new_insert(&b, s, "people", cols, 3, &o), DBS_EMISUSE);
    dbs_batch_options_init(&o);
    o.mode = 7;
    assert_int_equal(dbs_batch_new_insert(&b, s, "people", cols, 3, &o), DBS_EMISUSE);
    assert_null(b);
    assert_int_equal(dbs_session_depth(s), 0);
    assert_dbs_ok(dbs_batch_new_insert(&b, s, "people", cols, 3, NULL), s);
    assert_int_equal(dbs_batch_add_row(b, &row), DBS_EMISUSE);    /* not a function batch */
    assert_int_equal(dbs_batch_add_text(b, NULL, NULL), DBS_EMISUSE);
    assert_dbs_ok(dbs_batch_finish(b), s);
    assert_int_equal(dbs_batch_finish(b), DBS_EMISUSE);
    assert_int_equal(add_person(b, 1), DBS_EMISUSE);
    dbs_batch_free(b);
    assert_int_equal(dbs_batch_flush(NULL), DBS_EMISUSE);
    dbs_batch_free(NULL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, dbs_test_setup, dbs_test_teardown)
    const struct CMUnitTest tests[] = {
        T(batch__clean_insert_uses_one_savepoint_per_chunk),
        T(batch__bad_rows_are_skipped_and_reported_with_kind_and_column),
        T(batch__failing_chunks_replay_and_keep_every_good_row),
        T(batch__dirty_import_reruns_few_rows),
        T(batch__all_or_nothing_rejects_the_whole_batch),
        T(batch__rejected_rows_take_a_row_number_and_are_reported),
        T(batch__function_rows_are_atomic_and_reported),
        T(batch__commit_of_a_batch_level_is_misuse_and_stops_it),
        T(batch__freed_inside_txn_run_leaves_the_session_usable),
        T(batch__left_open_by_a_txn_run_function),
        T(batch__freed_after_an_abort_returns),
        T(batch__transaction_killing_kinds_stop_with_nothing_applied),
        T(batch__engine_aborted_transaction_stops_the_batch_sqlite),
        T(batch__deadlock_stops_the_batch_rolled_back_mariadb),
        T(batch__inside_a_transaction_joins_it),
        T(batch__free_without_finish_rolls_back),
        T(batch__row_source_feeds_the_batch),
        T(batch__unknown_table_or_column_fails_before_any_row),
        T(batch__misuse_is_refused),
    };

    return dbs_test_main("batch", tests, sizeof(tests) / sizeof(tests[0]));
}
