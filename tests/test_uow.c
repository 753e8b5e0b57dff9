/* Unit of work: pending objects, flush order, id write-back, memory on rollback. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "models.h"

/* ---- models ---- */

/* project, task (a child), item (every field kind), node (a tree), ca and
 * cb (a cycle through a nullable link): tests/models.h */

struct audit {
    int64_t id;
    char entity[16];
    int64_t entity_id;
    char action[16];
};
static const dbs_field audit_fields[] = {
    DBS_FIELD_INT64(struct audit, id, "id", DBS_PK | DBS_AUTOINC),
    DBS_FIELD_CHARS(struct audit, entity, "entity_type", DBS_NOT_NULL),
    DBS_FIELD_INT64(struct audit, entity_id, "entity_id", DBS_NOT_NULL),
    DBS_FIELD_CHARS(struct audit, action, "action", DBS_NOT_NULL),
};
static const dbs_model audit_model = DBS_MODEL(struct audit, "audit_log", audit_fields);


/* the same cycle with both links NOT NULL: no order can exist */
struct xb;
struct xa {
    int64_t id;
    int64_t b_id;
    struct xb *b;
};
struct xb {
    int64_t id;
    int64_t a_id;
    struct xa *a;
};
extern const dbs_model xa_model, xb_model;
static const dbs_field xa_fields[] = {
    DBS_FIELD_INT64(struct xa, id, "id", DBS_PK | DBS_AUTOINC),
    DBS_FIELD_FK_REF(struct xa, b_id, "b_id", DBS_NOT_NULL, &xb_model, DBS_ON_DELETE_RESTRICT, b),
};
static const dbs_field xb_fields[] = {
    DBS_FIELD_INT64(struct xb, id, "id", DBS_PK | DBS_AUTOINC),
    DBS_FIELD_FK_REF(struct xb, a_id, "a_id", DBS_NOT_NULL, &xa_model, DBS_ON_DELETE_RESTRICT, a),
};
const dbs_model xa_model = DBS_MODEL(struct xa, "xa", xa_fields);
const dbs_model xb_model = DBS_MODEL(struct xb, "xb", xb_fields);

static const dbs_model *const all_models[] = {
    &task_model, &audit_model, &project_model, &item_model, &node_model, &cb_model, &ca_model,
};
#define N_MODELS ((int)(sizeof(all_models) / sizeof(all_models[0])))

/* ---- fixture: a session, its unit of work and the schema ---- */

struct fx {
    dbs_session *s;
    dbs_uow *u;
    int statements;           /* counted by the trace hook */
    int updates;              /* the UPDATE statements among them */
    char last_sql[512];
};

static void count_sql(const char *sql, void *payload)
{
    struct fx *f = payload;

    f->statements++;
    f->updates += strncmp(sql, "UPDATE", 6) == 0;
    if (strncmp(sql, "UPDATE", 6) == 0 || strncmp(sql, "INSERT", 6) == 0
        || strncmp(sql, "DELETE", 6) == 0)
        snprintf(f->last_sql, sizeof(f->last_sql), "%s", sql);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    void *s = NULL;

    dbs_test_setup(&s);
    f->s = s;
    assert_dbs_ok(dbs_model_create_all(f->s, all_models, N_MODELS), f->s);
    assert_dbs_ok(dbs_uow_new(&f->u, f->s), f->s);
    dbs_session_set_trace(f->s, count_sql, f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    void *s = f->s;

    dbs_uow_free(f->u);
    if (dbs_session_depth(f->s) > 0)
        dbs_session_rollback(f->s);
    free(f);
    return dbs_test_teardown(&s);
}

static int64_t count_rows(dbs_session *s, const char *table)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
    return dbs_test_int(s, sql);
}

/* ---- tests ---- */

static void uow__id_before_commit_gone_after_rollback(void **state)
{
    struct fx *f = *state;
    struct project p = { .name = "alpha" };
    struct task t = { .title = "write", .project = &p };

    assert_dbs_ok(dbs_uow_add(f->u, &task_model, &t), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &p), f->s);
    assert_int_equal(f->statements, 0);                 /* pending: no SQL yet */
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    assert_true(p.id > 0);
    assert_true(t.id > 0);
    assert_int_equal(t.project_id, p.id);                /* copied from the parent */
    assert_int_equal(count_rows(f->s, "tasks"), 1);
    assert_dbs_ok(dbs_uow_rollback(f->u), f->s);
    assert_int_equal(t.id, 0);                           /* transient again */
    assert_int_equal(p.id, 0);
    assert_int_equal(t.project_id, 0);
    assert_int_equal(dbs_uow_count(f->u), 0);
    assert_int_equal(count_rows(f->s, "tasks"), 0);
    assert_int_equal(count_rows(f->s, "projects"), 0);
}

/* The seed lesson: flush gives the id, the audit row uses it, one commit. */
static void uow__flush_then_audit_in_one_commit(void **state)
{
    struct fx *f = *state;
    struct project p = { .name = "seed" };
    struct task t = { .title = "audited", .project = &p };
    struct audit a = { .entity = "task", .action = "created" };
    dbs_session *other;

    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &p), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &task_model, &t), f->s);
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    a.entity_id = t.id;                                  /* available after flush */
    assert_true(a.entity_id > 0);
    assert_dbs_ok(dbs_uow_add(f->u, &audit_model, &a), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(dbs_session_state(f->s), DBS_TXN_IDLE);
    if (!dbs_test_shared())
        return;
    other = dbs_test_open();
    assert_int_equal(dbs_test_int(other, "SELECT COUNT(*) FROM tasks t JOIN audit_log a"
                                         " ON a.entity_id = t.id"), 1);
    assert_dbs_ok(dbs_session_close(other), other);
}

static void uow__failed_flush_is_recoverable(void **state)
{
    struct fx *f = *state;
    struct project old = { .name = "taken" }, p[5];
    const dbs_model *fm = NULL;
    int i;

    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &old), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    memset(p, 0, sizeof(p));
    for (i = 0; i < 5; i++) {
        snprintf(p[i].name, sizeof(p[i].name), i == 2 ? "taken" : "new %d", i);
        assert_dbs_ok(dbs_uow_add(f->u, &project_model, &p[i]), f->s);
    }
    assert_dbs_rc(DBS_EUNIQUE, dbs_uow_flush(f->u), f->s);
    /* the engine's own words, after the flush gave its statements back */
    assert_true(dbs_test_says_duplicate(dbs_error_last(f->s)->message));
    assert_ptr_equal(dbs_uow_failed(f->u, &fm), &p[2]);
    assert_ptr_equal(fm, &project_model);
    for (i = 0; i < 5; i++)
        assert_int_equal(p[i].id, 0);                    /* memory as before the flush */
    assert_int_equal(count_rows(f->s, "projects"), 1);
    assert_int_equal(dbs_session_state(f->s), DBS_TXN_ACTIVE);
    /* fix the object, flush again: all five are written */
    snprintf(p[2].name, sizeof(p[2].name), "fixed");
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    for (i = 0; i < 5; i++)
        assert_true(p[i].id > 0);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(count_rows(f->s, "projects"), 6);
}

/* SQLite: a refresh whose SELECT cannot read (another connection holds the
 * file's exclusive lock) reports the engine's failure, not a cleared one. */
static void uow__refresh_that_cannot_read_says_why(void **state)
{
    struct fx *f = *state;
    struct project p = { .name = "read me" };
    dbs_session *a = NULL, *b;
    dbs_uow *u = NULL;
    char url[1024];

    if (dbs_test_is_mariadb() || !dbs_test_shared())
        skip();   /* MariaDB reads without locks; a :memory: database has no second connection */
    (void)f;
    dbs_test_url_with(url, sizeof(url), "lock_timeout=0");
    assert_int_equal(dbs_session_open(&a, url), DBS_OK);
    assert_dbs_ok(dbs_uow_new(&u, a), a);
    assert_dbs_ok(dbs_uow_add(u, &project_model, &p), a);
    assert_dbs_ok(dbs_uow_commit(u), a);
    b = dbs_test_open();
    dbs_test_exec(b, "PRAGMA locking_mode = EXCLUSIVE");
    dbs_test_exec(b, "INSERT INTO projects (name) VALUES ('lock holder')");
    assert_int_equal(dbs_uow_refresh(u, &project_model, &p), DBS_ELOCKTIMEOUT);
    assert_int_equal(dbs_error_last(a)->status, DBS_ELOCKTIMEOUT);
    assert_non_null(strstr(dbs_error_last(a)->message, "locked"));
    assert_dbs_ok(dbs_session_close(b), NULL);
    /* the lock gone, the same refresh reads */
    assert_dbs_ok(dbs_uow_refresh(u, &project_model, &p), a);
    assert_string_equal(p.name, "read me");
    dbs_uow_free(u);
    assert_dbs_ok(dbs_session_close(a), NULL);
}

static void uow__bad_row_mid_batch_is_named(void **state)
{
    struct fx *f = *state;
    struct project *p = calloc(2500, sizeof(*p)), old = { .name = "dup" };
    int i;

    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &old), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    for (i = 0; i < 2500; i++) {
        snprintf(p[i].name, sizeof(p[i].name), i == 1717 ? "dup" : "p%d", i);
        assert_dbs_ok(dbs_uow_add(f->u, &project_model, &p[i]), f->s);
    }
    f->statements = 0;
    assert_dbs_rc(DBS_EUNIQUE, dbs_uow_flush(f->u), f->s);
    assert_ptr_equal(dbs_uow_failed(f->u, NULL), &p[1717]);
    assert_int_equal(p[0].id, 0);
    assert_int_equal(p[2499].id, 0);
    assert_int_equal(count_rows(f->s, "projects"), 1);
    snprintf(p[1717].name, sizeof(p[1717].name), "unique now");
    f->statements = 0;
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    if (dbs_test_is_mariadb())
        assert_true(f->statements < 20);                /* batched RETURNING */
    for (i = 1; i < 2500; i++)
        assert_true(p[i].id > p[i - 1].id);              /* ids in add order */
    assert_int_equal(count_rows(f->s, "projects"), 2501);
    assert_int_equal(dbs_test_int(f->s, "SELECT id FROM projects WHERE name = 'p2000'"),
                     p[2000].id);
    dbs_uow_expunge_all(f->u);
    free(p);
}

static void uow__identity_map_same_pointer_without_queries(void **state)
{
    struct fx *f = *state;
    struct project *a = NULL, *b = NULL, *c = NULL;
    dbs_query *q = NULL;
    int64_t id;

    dbs_test_exec(f->s, "INSERT INTO projects (name) VALUES ('loaded')");
    id = dbs_test_int(f->s, "SELECT id FROM projects");
    assert_dbs_ok(dbs_uow_get(f->u, &project_model, id, (void **)&a), f->s);
    assert_non_null(a);
    assert_string_equal(a->name, "loaded");
    f->statements = 0;
    assert_dbs_ok(dbs_uow_get(f->u, &project_model, id, (void **)&b), f->s);
    assert_ptr_equal(a, b);
    assert_int_equal(f->statements, 0);                  /* from the identity map */
    /* a query returns the same pointer and keeps the unflushed change */
    snprintf(a->name, sizeof(a->name), "changed");
    dbs_uow_set_autoflush(f->u, 0);
    assert_dbs_ok(dbs_uow_query(&q, f->u, &project_model, "name = ?"), f->s);
    assert_dbs_ok(dbs_stmt_bind_text(dbs_query_stmt(q), 1, "loaded"), f->s);
    assert_dbs_rc(DBS_ROW, dbs_query_next(q, (void **)&c), f->s);
    assert_ptr_equal(c, a);
    assert_string_equal(c->name, "changed");
    assert_dbs_rc(DBS_DONE, dbs_query_next(q, (void **)&c), f->s);
    dbs_query_free(q);
    /* refresh does overwrite */
    assert_dbs_ok(dbs_uow_refresh(f->u, &project_model, a), f->s);
    assert_string_equal(a->name, "loaded");
    /* a missing key is not an error */
    assert_dbs_ok(dbs_uow_get(f->u, &project_model, id + 1000, (void **)&b), f->s);
    assert_null(b);
}

static void uow__identity_conflict_at_add(void **state)
{
    struct fx *f = *state;
    struct item a = { .id = 7, .qty = 1 }, b = { .id = 7, .qty = 2 };

    assert_dbs_ok(dbs_uow_add(f->u, &item_model, &a), f->s);
    assert_dbs_rc(DBS_EIDENTITY, dbs_uow_add(f->u, &item_model, &b), f->s);
    assert_dbs_rc(DBS_EMISUSE, dbs_uow_add(f->u, &item_model, &a), f->s);   /* twice */
    assert_int_equal(f->statements, 0);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(count_rows(f->s, "items"), 1);
    assert_int_equal(a.version, 1);
}

/* The UPDATE a flush sends for one change, or "" for none. */
static const char *update_for(struct fx *f)
{
    f->last_sql[0] = '\0';
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    return f->last_sql;
}

static void uow__update_sets_only_changed_columns(void **state)
{
    struct fx *f = *state;
    static char bytes[] = { 1, 0, 2 };
    struct item it = { .id = 1, .text = "a", .price_null = 1, .qty = 3 };
    char *sql;

    assert_dbs_ok(dbs_uow_add(f->u, &item_model, &it), f->s);
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    assert_string_equal(update_for(f), "");              /* nothing changed */
    it.text = "b";
    sql = strdup(update_for(f));
    assert_non_null(strstr(sql, "text"));
    assert_null(strstr(sql, "qty"));
    assert_null(strstr(sql, "price"));
    free(sql);
    it.blob.data = bytes;
    it.blob.len = sizeof(bytes);
    assert_non_null(strstr(update_for(f), "blob"));
    it.price_null = 0;                                   /* NULL -> value */
    it.price = 2.5;
    assert_non_null(strstr(update_for(f), "price"));
    it.price = 2.75;                                     /* double change */
    assert_non_null(strstr(update_for(f), "price"));
    it.price_null = 1;                                   /* value -> NULL */
    assert_non_null(strstr(update_for(f), "price"));
    it.text = strdup("c");
    free(it.text);
    it.text = "b";                                       /* set back: no UPDATE */
    assert_string_equal(update_for(f), "");
    assert_int_equal(it.version, 6);                     /* 1 + five updates */
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM items WHERE price IS NULL"
                                        " AND text = 'b' AND version = 6"), 1);
}

/* The dirty check compares plain fields as runs of bytes first: bytes that
 * carry no value (a NULL's number, what follows a char[N]'s NUL) may differ
 * without an UPDATE, and a real change among them is still found. */
static void uow__bytes_without_a_value_give_no_update(void **state)
{
    struct fx *f = *state;
    struct item it = { .id = 1, .text = "a", .price_null = 1, .qty = 3 };
    struct project p = { .name = "abc" };

    assert_dbs_ok(dbs_uow_add(f->u, &item_model, &it), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &p), f->s);
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    it.price = 9.5;                                      /* still NULL */
    p.name[10] = 'x';                                    /* after the NUL */
    assert_string_equal(update_for(f), "");
    it.qty = 4;                                          /* next to the flag */
    assert_non_null(strstr(update_for(f), "qty"));
    p.name[2] = 'd';
    assert_non_null(strstr(update_for(f), "name"));
    it.price_null = 0;                                   /* the 9.5 shows now */
    assert_non_null(strstr(update_for(f), "price"));
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM items WHERE price = 9.5"
                                        " AND qty = 4"), 1);
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM projects WHERE name = 'abd'"), 1);
}

static void uow__stale_row_from_a_second_session(void **state)
{
    struct fx *f = *state;
    struct item *it = NULL;
    dbs_session *other;

    if (!dbs_test_shared())
        skip();
    dbs_test_exec(f->s, "INSERT INTO items (id, qty, version) VALUES (1, 1, 1), (2, 1, 1)");
    assert_dbs_ok(dbs_uow_get(f->u, &item_model, 1, (void **)&it), f->s);
    other = dbs_test_open();
    dbs_test_exec(other, "UPDATE items SET version = 2 WHERE id = 1");  /* someone else */
    it->qty = 5;
    assert_dbs_rc(DBS_ESTALE, dbs_uow_commit(f->u), f->s);
    assert_ptr_equal(dbs_uow_failed(f->u, NULL), it);
    assert_int_equal(it->qty, 5);                        /* still dirty, as before */
    assert_dbs_ok(dbs_uow_rollback(f->u), f->s);
    assert_int_equal(it->qty, 1);                        /* back to the database's */
    assert_dbs_ok(dbs_uow_get(f->u, &item_model, 2, (void **)&it), f->s);
    dbs_test_exec(other, "DELETE FROM items WHERE id = 2");
    assert_dbs_ok(dbs_uow_delete(f->u, &item_model, it), f->s);
    assert_dbs_rc(DBS_ESTALE, dbs_uow_flush(f->u), f->s);
    assert_dbs_ok(dbs_session_close(other), other);
}

/* Many rows per statement on MariaDB: a stale row among them is still named. */
static void uow__stale_row_among_many(void **state)
{
    struct fx *f = *state;
    struct project p[50];
    dbs_session *other;
    char sql[96];
    int i;

    if (!dbs_test_shared())
        skip();
    memset(p, 0, sizeof(p));
    for (i = 0; i < 50; i++) {
        snprintf(p[i].name, sizeof(p[i].name), "p%d", i);
        assert_dbs_ok(dbs_uow_add(f->u, &project_model, &p[i]), f->s);
    }
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    other = dbs_test_open();
    snprintf(sql, sizeof(sql), "DELETE FROM projects WHERE id = %lld", (long long)p[31].id);
    dbs_test_exec(other, sql);
    for (i = 0; i < 50; i++)
        snprintf(p[i].name, sizeof(p[i].name), "renamed %d", i);
    f->statements = 0;
    assert_dbs_rc(DBS_ESTALE, dbs_uow_flush(f->u), f->s);
    assert_ptr_equal(dbs_uow_failed(f->u, NULL), &p[31]);
    assert_string_equal(p[0].name, "renamed 0");           /* as before the flush */
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM projects WHERE name LIKE 'ren%'"),
                     0);
    /* the same for deletes */
    for (i = 0; i < 50; i++)
        snprintf(p[i].name, sizeof(p[i].name), "p%d", i);
    for (i = 0; i < 50; i++)
        assert_dbs_ok(dbs_uow_delete(f->u, &project_model, &p[i]), f->s);
    assert_dbs_rc(DBS_ESTALE, dbs_uow_flush(f->u), f->s);
    assert_ptr_equal(dbs_uow_failed(f->u, NULL), &p[31]);
    assert_int_equal(count_rows(f->s, "projects"), 49);
    assert_dbs_ok(dbs_uow_expunge(f->u, &project_model, &p[31]), f->s);
    f->statements = 0;
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    if (dbs_test_is_mariadb())
        assert_true(f->statements < 10);                  /* one DELETE for 49 rows */
    assert_int_equal(count_rows(f->s, "projects"), 0);
    assert_dbs_ok(dbs_session_close(other), other);
}

/* Rows that set the same values go in one UPDATE ... IN (...), the others by
 * CASE; either way each row gets its own value, and a stale row in a run of
 * equal values is still the one named. */
static void uow__updates_grouped_by_equal_values(void **state)
{
    struct fx *f = *state;
    enum { N = 300 };
    struct audit *p = calloc(N, sizeof(*p));
    char sql[128];
    int i;

    assert_non_null(p);
    for (i = 0; i < N; i++) {
        snprintf(p[i].entity, sizeof(p[i].entity), "task");
        p[i].entity_id = i;
        snprintf(p[i].action, sizeof(p[i].action), "a%d", i);
        assert_dbs_ok(dbs_uow_add(f->u, &audit_model, &p[i]), f->s);
    }
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    /* a run of 120 equal, 60 distinct, 2 equal, 1 distinct, the rest equal */
    for (i = 0; i < N; i++) {
        if (i < 120)
            snprintf(p[i].action, sizeof(p[i].action), "first");
        else if (i < 180 || i == 182)
            snprintf(p[i].action, sizeof(p[i].action), "own %d", i);
        else if (i < 182)
            snprintf(p[i].action, sizeof(p[i].action), "pair");
        else
            snprintf(p[i].action, sizeof(p[i].action), "last");
    }
    f->updates = 0;
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    /* MariaDB: the 120 equal rows in one IN, the 60 of their own in one CASE,
     * the pair in one IN, the single row alone, the last 117 in one IN.
     * SQLite: one cached statement per row. */
    assert_int_equal(f->updates, dbs_test_is_mariadb() ? 5 : N);
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM audit_log WHERE action = 'first'"), 120);
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM audit_log WHERE action = 'pair'"), 2);
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM audit_log WHERE action = 'last'"),
                     N - 183);
    for (i = 120; i < 183; i++) {
        if (i == 180 || i == 181)
            continue;
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM audit_log WHERE id = %lld AND action = "
                 "'own %d'", (long long)p[i].id, i);
        assert_int_equal(dbs_test_int(f->s, sql), 1);
    }
    /* a stale row inside a run of equal values */
    if (dbs_test_shared()) {
        dbs_session *other = dbs_test_open();
        snprintf(sql, sizeof(sql), "DELETE FROM audit_log WHERE id = %lld", (long long)p[250].id);
        dbs_test_exec(other, sql);
        assert_dbs_ok(dbs_session_close(other), other);
        for (i = 0; i < N; i++)
            snprintf(p[i].action, sizeof(p[i].action), "all");
        assert_dbs_rc(DBS_ESTALE, dbs_uow_flush(f->u), f->s);
        assert_ptr_equal(dbs_uow_failed(f->u, NULL), &p[250]);
        assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM audit_log WHERE action = 'all'"),
                         0);
        assert_dbs_ok(dbs_uow_expunge(f->u, &audit_model, &p[250]), f->s);
        assert_dbs_ok(dbs_uow_commit(f->u), f->s);
        assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM audit_log WHERE action = 'all'"),
                         N - 1);
    }
    dbs_uow_expunge_all(f->u);
    free(p);
}

static void uow__parent_inserted_before_child(void **state)
{
    struct fx *f = *state;
    struct project p = { .name = "late parent" };
    struct task t[3] = { { .title = "a", .project = &p }, { .title = "b", .project = &p },
                         { .title = "c", .project = &p } };
    int i;

    /* children first, the child's model registered first, FK enforcement on */
    for (i = 0; i < 3; i++)
        assert_dbs_ok(dbs_uow_add(f->u, &task_model, &t[i]), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &p), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_true(t[0].id < t[1].id && t[1].id < t[2].id);  /* add order kept */
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM tasks t JOIN projects p"
                                        " ON p.id = t.project_id"), 3);
}

static void uow__restrict_child_blocks_delete_session_usable(void **state)
{
    struct fx *f = *state;
    struct project p = { .name = "parent" };
    struct task t = { .title = "child", .project = &p };

    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &p), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &task_model, &t), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_dbs_ok(dbs_uow_expunge(f->u, &task_model, &t), f->s);  /* the child stays */
    assert_dbs_ok(dbs_uow_delete(f->u, &project_model, &p), f->s);
    assert_dbs_rc(DBS_EFOREIGNKEY, dbs_uow_flush(f->u), f->s);
    assert_int_equal(dbs_error_last(f->s)->fk_direction, DBS_FK_REFERENCED);
    assert_ptr_equal(dbs_uow_failed(f->u, NULL), &p);
    assert_dbs_ok(dbs_uow_rollback(f->u), f->s);
    /* p is persistent again and the session goes on */
    snprintf(p.name, sizeof(p.name), "renamed");
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM projects WHERE name = 'renamed'"),
                     1);
}

static void uow__tree_inserted_and_deleted_in_one_flush(void **state)
{
    struct fx *f = *state;
    struct node root = { .name = "root", .parent_null = 1 };
    struct node kid = { .name = "kid", .parent = &root };
    struct node grand = { .name = "grand", .parent = &kid };

    /* deepest first: the planner must write level by level */
    assert_dbs_ok(dbs_uow_add(f->u, &node_model, &grand), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &node_model, &kid), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &node_model, &root), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(kid.parent_id, root.id);
    assert_int_equal(grand.parent_id, kid.id);
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM nodes WHERE parent_id IS NULL"), 1);
    /* delete all three in one flush: children first */
    assert_dbs_ok(dbs_uow_delete(f->u, &node_model, &root), f->s);
    assert_dbs_ok(dbs_uow_delete(f->u, &node_model, &kid), f->s);
    assert_dbs_ok(dbs_uow_delete(f->u, &node_model, &grand), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(count_rows(f->s, "nodes"), 0);
    assert_int_equal(dbs_uow_count(f->u), 0);
}

/* A wide tree of four levels, added leaves first and interleaved: one flush
 * writes every level in order (keys copied down), one flush deletes it
 * leaves first. Foreign key columns get an index from create_all. */
static void uow__big_tree_levels_and_fk_index(void **state)
{
    struct fx *f = *state;
    enum { N = 2000, ROOTS = 10 };
    struct node *t = calloc(N, sizeof(*t));
    size_t i;

    assert_non_null(t);
    for (i = 0; i < N; i++) {
        t[i].parent_null = 1;
        snprintf(t[i].name, sizeof(t[i].name), "n%zu", i);
        if (i >= ROOTS) {
            /* node i's parent is an earlier node of the level above */
            t[i].parent = &t[i < 100 ? i % ROOTS : i < 500 ? ROOTS + i % 90 : 100 + i % 400];
            t[i].parent_null = 0;
        }
    }
    for (i = N; i-- > 0;)
        assert_dbs_ok(dbs_uow_add(f->u, &node_model, &t[i]), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    for (i = ROOTS; i < N; i++)
        assert_int_equal(t[i].parent_id, t[i].parent->id);
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM nodes c JOIN nodes p"
                                        " ON c.parent_id = p.id"), N - ROOTS);
    for (i = 0; i < N; i++)
        assert_dbs_ok(dbs_uow_delete(f->u, &node_model, &t[i]), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(count_rows(f->s, "nodes"), 0);
    assert_int_equal(dbs_uow_count(f->u), 0);
    assert_int_equal(dbs_test_int(f->s, dbs_test_is_mariadb()
                                  ? "SELECT COUNT(*) FROM information_schema.statistics WHERE"
                                    " table_schema = DATABASE() AND table_name = 'nodes'"
                                    " AND index_name = 'ix_nodes_parent_id'"
                                  : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"
                                    " AND name = 'ix_nodes_parent_id'"), 1);
    free(t);
}

/* drop_all takes tables with their rows, even rows of one table that point at
 * each other through ON DELETE RESTRICT. */
static void uow__drop_all_with_rows(void **state)
{
    struct fx *f = *state;
    const dbs_model *models[] = { &node_model };
    struct node root = { .parent_null = 1 }, kid = { 0 };

    snprintf(root.name, sizeof(root.name), "root");
    snprintf(kid.name, sizeof(kid.name), "kid");
    kid.parent = &root;
    assert_dbs_ok(dbs_uow_add(f->u, &node_model, &kid), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &node_model, &root), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    dbs_uow_expunge_all(f->u);
    assert_dbs_ok(dbs_model_drop_all(f->s, models, 1), f->s);
    assert_dbs_ok(dbs_model_create_all(f->s, models, 1), f->s);
    assert_int_equal(count_rows(f->s, "nodes"), 0);
    /* foreign keys are on again */
    dbs_test_exec(f->s, "INSERT INTO nodes (name) VALUES ('orphan')");
    assert_int_equal(dbs_session_exec(f->s, "INSERT INTO nodes (name, parent_id) VALUES "
                                           "('lost', 999999)"), DBS_EFOREIGNKEY);
}

/* Index names longer than 64 bytes (MariaDB's limit) are cut and end in a
 * hash of the whole name: two columns whose names differ only past the cut
 * still get an index each. */
struct longref {
    int64_t id;
    int64_t one;
    int one_null;
    int64_t two;
    int two_null;
};
static const dbs_field longref_fields[] = {
    DBS_FIELD_INT64(struct longref, id, "id", DBS_PK | DBS_AUTOINC),
    DBS_FIELD_FK_NULLABLE(struct longref, one, one_null, "parent_reference_column_number_one",
                          0, &node_model, DBS_ON_DELETE_RESTRICT),
    DBS_FIELD_FK_NULLABLE(struct longref, two, two_null, "parent_reference_column_number_two",
                          0, &node_model, DBS_ON_DELETE_RESTRICT),
};
static const dbs_model longref_model =
    DBS_MODEL(struct longref, "a_table_name_that_is_quite_long_indeed_xx", longref_fields);

static void uow__fk_index_names_cut_to_64(void **state)
{
    struct fx *f = *state;
    const dbs_model *models[] = { &longref_model };

    assert_dbs_ok(dbs_model_create_all(f->s, models, 1), f->s);
    if (dbs_test_is_mariadb()) {
        assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(DISTINCT index_name) FROM "
                                            "information_schema.statistics WHERE table_schema ="
                                            " DATABASE() AND table_name = "
                                            "'a_table_name_that_is_quite_long_indeed_xx' AND "
                                            "LENGTH(index_name) = 64 AND index_name LIKE 'ix%'"),
                         2);
    } else {
        assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM sqlite_master WHERE type = "
                                            "'index' AND tbl_name = "
                                            "'a_table_name_that_is_quite_long_indeed_xx' AND "
                                            "LENGTH(name) = 64 AND name LIKE 'ix%'"), 2);
    }
    assert_dbs_ok(dbs_model_drop_all(f->s, models, 1), f->s);
}

/* A chain of nodes, each pointing at the one added after it: as many levels
 * as rows, written and deleted in one flush each (the planners are linear in
 * rows whatever the depth). Then two nodes pointing at each other: the cycle
 * is broken at the first one added and fixed up. */
static void uow__deep_chain_and_self_cycle(void **state)
{
    struct fx *f = *state;
    enum { N = 3000 };
    struct node *t = calloc(N, sizeof(*t)), a = { 0 }, b = { 0 };
    size_t i;

    assert_non_null(t);
    for (i = 0; i < N; i++) {
        snprintf(t[i].name, sizeof(t[i].name), "c%zu", i);
        t[i].parent_null = i + 1 == N;
        t[i].parent = i + 1 < N ? &t[i + 1] : NULL;
        assert_dbs_ok(dbs_uow_add(f->u, &node_model, &t[i]), f->s);
    }
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    for (i = 0; i + 1 < N; i++)
        assert_int_equal(t[i].parent_id, t[i + 1].id);
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM nodes c JOIN nodes p"
                                        " ON c.parent_id = p.id"), N - 1);
    for (i = N; i-- > 0;)
        assert_dbs_ok(dbs_uow_delete(f->u, &node_model, &t[i]), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(count_rows(f->s, "nodes"), 0);

    snprintf(a.name, sizeof(a.name), "a");
    snprintf(b.name, sizeof(b.name), "b");
    a.parent = &b;
    b.parent = &a;
    assert_dbs_ok(dbs_uow_add(f->u, &node_model, &a), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &node_model, &b), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(a.parent_id, b.id);
    assert_int_equal(b.parent_id, a.id);
    assert_int_equal(a.parent_null, 0);
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM nodes x JOIN nodes y"
                                        " ON x.parent_id = y.id AND y.parent_id = x.id"), 2);
    /* rows pointing at each other cannot be deleted in an order */
    assert_dbs_ok(dbs_uow_delete(f->u, &node_model, &a), f->s);
    assert_dbs_ok(dbs_uow_delete(f->u, &node_model, &b), f->s);
    assert_dbs_rc(DBS_ECYCLE, dbs_uow_flush(f->u), f->s);
    dbs_uow_expunge_all(f->u);
    free(t);
}

static void uow__nullable_cycle_written_with_fixup(void **state)
{
    struct fx *f = *state;
    struct ca a = { 0 };
    struct cb b = { 0 };

    a.b = &b;
    b.a = &a;
    assert_dbs_ok(dbs_uow_add(f->u, &cb_model, &b), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &ca_model, &a), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_true(a.id > 0 && b.id > 0);
    assert_int_equal(b.a_id, a.id);
    assert_int_equal(a.b_id, b.id);
    assert_int_equal(a.b_null, 0);
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM cyc_a a JOIN cyc_b b"
                                        " ON a.b_id = b.id AND b.a_id = a.id"), 1);
}

static void uow__not_null_cycle_refused_before_sql(void **state)
{
    struct fx *f = *state;
    struct xa a = { 0 };
    struct xb b = { 0 };

    a.b = &b;
    b.a = &a;
    assert_dbs_ok(dbs_uow_add(f->u, &xa_model, &a), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &xb_model, &b), f->s);
    f->statements = 0;
    assert_dbs_rc(DBS_ECYCLE, dbs_uow_flush(f->u), f->s);
    assert_int_equal(f->statements, 0);
    assert_int_equal(dbs_session_depth(f->s), 0);
    assert_int_equal(a.id, 0);
    dbs_uow_expunge_all(f->u);
}

static void uow__savepoint_rollback_restores_inner_work_only(void **state)
{
    struct fx *f = *state;
    struct project p1 = { .name = "outer" }, p2 = { .name = "inner" };

    assert_dbs_ok(dbs_session_begin(f->s), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &p1), f->s);
    assert_dbs_ok(dbs_session_begin(f->s), f->s);       /* flushes p1 first */
    assert_true(p1.id > 0);
    snprintf(p1.name, sizeof(p1.name), "changed inside");
    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &p2), f->s);
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    assert_true(p2.id > 0);
    assert_dbs_ok(dbs_session_rollback(f->s), f->s);     /* the savepoint */
    assert_string_equal(p1.name, "outer");               /* restored */
    assert_true(p1.id > 0);                              /* still persistent */
    assert_int_equal(p2.id, 0);                          /* added inside: transient */
    assert_int_equal(dbs_uow_count(f->u), 1);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(count_rows(f->s, "projects"), 1);
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM projects WHERE name = 'outer'"),
                     1);
}

/* A flushed DELETE rolled back: the row is tracked again with the values it
 * had when the level began, whether the delete was rolled back in its own
 * savepoint or handed to the level outside first; then it can be written. */
static void uow__rolled_back_delete_puts_the_row_back(void **state)
{
    struct fx *f = *state;
    struct item a = { .id = 1, .text = "a", .qty = 1 }, b = { .id = 2, .text = "b", .qty = 2 };
    struct item *got = NULL;

    assert_dbs_ok(dbs_uow_add(f->u, &item_model, &a), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &item_model, &b), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_dbs_ok(dbs_session_begin(f->s), f->s);
    assert_dbs_ok(dbs_session_begin(f->s), f->s);        /* savepoint */
    a.qty = 7;                                           /* changed, then deleted */
    assert_dbs_ok(dbs_uow_delete(f->u, &item_model, &a), f->s);
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    assert_dbs_ok(dbs_session_rollback(f->s), f->s);     /* the savepoint */
    assert_int_equal(a.qty, 1);
    assert_int_equal(count_rows(f->s, "items"), 2);
    assert_dbs_ok(dbs_uow_get(f->u, &item_model, 1, (void **)&got), f->s);
    assert_ptr_equal(got, &a);                           /* tracked again */
    assert_dbs_ok(dbs_session_begin(f->s), f->s);        /* savepoint, released */
    assert_dbs_ok(dbs_uow_delete(f->u, &item_model, &b), f->s);
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    assert_dbs_ok(dbs_session_commit(f->s), f->s);
    b.qty = 9;
    assert_dbs_ok(dbs_uow_rollback(f->u), f->s);         /* the transaction */
    assert_int_equal(b.qty, 2);
    assert_string_equal(b.text, "b");
    assert_dbs_ok(dbs_uow_get(f->u, &item_model, 2, (void **)&got), f->s);
    assert_ptr_equal(got, &b);
    b.qty = 3;                                           /* a live row again */
    a.qty = 4;
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(dbs_test_int(f->s, "SELECT SUM(qty) FROM items"), 7);
}

/* A row deleted and a new object given its key, both inside a savepoint
 * that is released, then the transaction rolled back: the old object is the
 * one tracked for the key again (records handed to the outer level are
 * undone newest first). */
static void uow__released_savepoint_undone_in_order(void **state)
{
    struct fx *f = *state;
    struct item a = { .id = 1, .text = "old", .qty = 1 }, b = { .id = 1, .text = "new", .qty = 2 };
    struct item *got = NULL;

    assert_dbs_ok(dbs_uow_add(f->u, &item_model, &a), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_dbs_ok(dbs_session_begin(f->s), f->s);
    assert_dbs_ok(dbs_session_begin(f->s), f->s);        /* savepoint */
    assert_dbs_ok(dbs_uow_delete(f->u, &item_model, &a), f->s);
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &item_model, &b), f->s);
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    assert_dbs_ok(dbs_session_commit(f->s), f->s);      /* released */
    assert_dbs_ok(dbs_session_rollback(f->s), f->s);    /* the transaction */
    assert_int_equal(dbs_uow_count(f->u), 1);
    f->statements = 0;
    assert_dbs_ok(dbs_uow_get(f->u, &item_model, 1, (void **)&got), f->s);
    assert_ptr_equal(got, &a);
    assert_int_equal(f->statements, 0);                  /* from the identity map */
    assert_string_equal(a.text, "old");
}

/* A row deleted in the transaction and a pending object given its key, then
 * a rollback: the row's object holds the key again (the pending one leaves
 * the identity map before the row's object comes back). */
static void uow__rollback_gives_a_deleted_row_its_key_back(void **state)
{
    struct fx *f = *state;
    struct item *x = NULL, *got = NULL, y = { .id = 5, .qty = 2 };

    dbs_test_exec(f->s, "INSERT INTO items (id, qty, version) VALUES (5, 1, 1)");
    assert_dbs_ok(dbs_uow_get(f->u, &item_model, 5, (void **)&x), f->s);
    assert_dbs_ok(dbs_session_begin(f->s), f->s);
    assert_dbs_ok(dbs_uow_delete(f->u, &item_model, x), f->s);
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &item_model, &y), f->s);
    assert_dbs_ok(dbs_uow_rollback(f->u), f->s);
    assert_int_equal(dbs_uow_count(f->u), 1);
    f->statements = 0;
    assert_dbs_ok(dbs_uow_get(f->u, &item_model, 5, (void **)&got), f->s);
    assert_ptr_equal(got, x);
    assert_int_equal(f->statements, 0);
}

/* Text a rollback put back into a borrowed struct as the unit of work's copy
 * stays valid when the struct then leaves (ASan checks the reads). */
static void uow__text_put_back_outlives_the_object(void **state)
{
    struct fx *f = *state;
    struct item y = { .id = 7, .text = "original", .qty = 1 };

    assert_dbs_ok(dbs_session_begin(f->s), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &item_model, &y), f->s);
    assert_dbs_ok(dbs_session_begin(f->s), f->s);        /* flushes y */
    y.text = "changed";
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    assert_dbs_ok(dbs_session_rollback(f->s), f->s);     /* text back: a copy */
    assert_string_equal(y.text, "original");
    assert_dbs_ok(dbs_session_rollback(f->s), f->s);     /* y leaves */
    assert_int_equal(dbs_uow_count(f->u), 0);
    assert_string_equal(y.text, "original");
    assert_dbs_ok(dbs_uow_add(f->u, &item_model, &y), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM items WHERE text = 'original'"), 1);
}

/* dbs_uow_count() counts pending, persistent and deleted objects: an owned
 * object that fell back to transient is not among them until added again. */
static void uow__count_leaves_out_transient_objects(void **state)
{
    struct fx *f = *state;
    struct project *p = NULL;

    assert_dbs_ok(dbs_uow_create(f->u, &project_model, (void **)&p), f->s);
    snprintf(p->name, sizeof(p->name), "owned");
    assert_int_equal(dbs_uow_count(f->u), 1);
    assert_dbs_ok(dbs_uow_delete(f->u, &project_model, p), f->s);   /* never written */
    assert_int_equal(dbs_uow_count(f->u), 0);
    assert_dbs_ok(dbs_uow_add(f->u, &project_model, p), f->s);
    assert_int_equal(dbs_uow_count(f->u), 1);
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    assert_dbs_ok(dbs_uow_rollback(f->u), f->s);
    assert_int_equal(dbs_uow_count(f->u), 0);
    assert_dbs_ok(dbs_uow_add(f->u, &project_model, p), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(dbs_uow_count(f->u), 1);
    assert_int_equal(count_rows(f->s, "projects"), 1);
}

/* A failure that ends the transaction drops the objects added in it; the
 * borrowed one to blame is still named. */
static void uow__object_to_blame_named_after_an_abort(void **state)
{
    struct fx *f = *state;
    struct project b = { .name = "boom" };
    const dbs_model *m = NULL;

    if (dbs_test_is_mariadb())
        skip();                  /* RAISE(ROLLBACK) is SQLite's */
    dbs_test_exec(f->s, "CREATE TRIGGER boom BEFORE INSERT ON projects WHEN NEW.name = 'boom' "
                        "BEGIN SELECT RAISE(ROLLBACK, 'nope'); END");
    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &b), f->s);
    assert_true(dbs_uow_flush(f->u) < 0);
    assert_int_not_equal(dbs_session_state(f->s), DBS_TXN_ACTIVE);
    assert_ptr_equal(dbs_uow_failed(f->u, &m), &b);
    assert_ptr_equal(m, &project_model);
    assert_dbs_ok(dbs_uow_rollback(f->u), f->s);
    dbs_test_exec(f->s, "DROP TRIGGER boom");
}

/* An updated row's undo record takes over the snapshot the flush replaces:
 * rolled back level by level, refreshed in between, each level gets its
 * values back and nothing is written twice. */
static void uow__updated_rows_rolled_back_level_by_level(void **state)
{
    struct fx *f = *state;
    struct item a = { .id = 1, .text = "v0", .qty = 0 };

    assert_dbs_ok(dbs_uow_add(f->u, &item_model, &a), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_dbs_ok(dbs_session_begin(f->s), f->s);
    a.qty = 1;
    a.text = "v1";
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    assert_dbs_ok(dbs_session_begin(f->s), f->s);        /* savepoint */
    a.qty = 2;
    a.text = "v2";
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    a.qty = 3;                                           /* second write in the level */
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    assert_dbs_ok(dbs_session_rollback(f->s), f->s);
    assert_int_equal(a.qty, 1);
    assert_string_equal(a.text, "v1");
    f->statements = 0;
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    assert_int_equal(f->statements, 0);                  /* the snapshot is the row */
    assert_dbs_ok(dbs_session_rollback(f->s), f->s);
    assert_int_equal(a.qty, 0);
    assert_string_equal(a.text, "v0");
    assert_dbs_ok(dbs_session_begin(f->s), f->s);
    a.qty = 6;
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    a.qty = 7;                                           /* unflushed, then refreshed */
    assert_dbs_ok(dbs_uow_refresh(f->u, &item_model, &a), f->s);
    assert_int_equal(a.qty, 6);
    assert_dbs_ok(dbs_session_rollback(f->s), f->s);
    assert_int_equal(a.qty, 0);
    a.qty = 5;
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(dbs_test_int(f->s, "SELECT qty FROM items WHERE id = 1"), 5);
}

static void uow__values_readable_after_commit_and_close(void **state)
{
    struct fx *f = *state;
    struct project *p = NULL;
    struct task t = { .title = "kept" };
    int64_t id;

    assert_dbs_ok(dbs_uow_create(f->u, &project_model, (void **)&p), f->s);
    snprintf(p->name, sizeof(p->name), "owned");
    t.project = p;
    assert_dbs_ok(dbs_uow_add(f->u, &task_model, &t), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_string_equal(p->name, "owned");                /* no expiry after commit */
    id = t.id;
    dbs_uow_free(f->u);                                  /* frees p, never t */
    f->u = NULL;
    assert_int_equal(t.id, id);
    assert_string_equal(t.title, "kept");
    assert_dbs_ok(dbs_uow_new(&f->u, f->s), f->s);
}

static void uow__autoflush_on_and_off(void **state)
{
    struct fx *f = *state;
    struct project p = { .name = "auto" }, q2 = { .name = "manual" }, *got = NULL;
    dbs_query *q = NULL;

    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &p), f->s);
    assert_dbs_ok(dbs_uow_query(&q, f->u, &project_model, NULL), f->s);   /* autoflush */
    assert_dbs_rc(DBS_ROW, dbs_query_next(q, (void **)&got), f->s);
    assert_ptr_equal(got, &p);
    dbs_query_free(q);
    assert_int_equal(dbs_uow_set_autoflush(f->u, 0), 1);
    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &q2), f->s);
    assert_dbs_ok(dbs_uow_query(&q, f->u, &project_model, "name = 'manual'"), f->s);
    assert_dbs_rc(DBS_DONE, dbs_query_next(q, (void **)&got), f->s);
    dbs_query_free(q);
    assert_int_equal(q2.id, 0);
    dbs_uow_set_autoflush(f->u, 1);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_true(q2.id > 0);
    /* an autoflush failure says so */
    snprintf(p.name, sizeof(p.name), "manual");
    assert_dbs_rc(DBS_EUNIQUE, dbs_uow_query(&q, f->u, &project_model, NULL), f->s);
    assert_null(q);
    assert_string_equal(dbs_uow_failed_during(f->u), "autoflush before a query");
    assert_dbs_ok(dbs_uow_rollback(f->u), f->s);
}

static void uow__many_objects_flushed_and_expunged(void **state)
{
    struct fx *f = *state;
    enum { N = 100000 };
    struct item *it = calloc(N, sizeof(*it));
    int i;

    for (i = 0; i < N; i++) {
        it[i].id = i + 1;
        it[i].qty = i % 7;
        it[i].text = "bulk";
        assert_int_equal(dbs_uow_add(f->u, &item_model, &it[i]), DBS_OK);
    }
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(dbs_uow_count(f->u), N);
    dbs_uow_expunge_all(f->u);
    assert_int_equal(dbs_uow_count(f->u), 0);
    assert_int_equal(count_rows(f->s, "items"), N);
    free(it);
}

/*
 * Look-ups by struct address in every order: structs added against address
 * order, deleted in a scattered order, in add order, after an expunge, and
 * added twice (the unit of work indexes addresses only when it first has to
 * search, and tries the object after the last one found before that).
 */
static void uow__found_by_address_in_any_order(void **state)
{
    struct fx *f = *state;
    enum { N = 300 };
    struct item *a = calloc(N, sizeof(*a)), *b = calloc(N, sizeof(*b));
    int i, k;

    for (i = N - 1; i >= 0; i--) {            /* downwards: each add searches */
        a[i].id = i + 1;
        a[i].text = "a";
        assert_int_equal(dbs_uow_add(f->u, &item_model, &a[i]), DBS_OK);
    }
    for (i = 0; i < N; i++) {                 /* upwards: left unindexed */
        b[i].id = N + i + 1;
        b[i].text = "b";
        assert_int_equal(dbs_uow_add(f->u, &item_model, &b[i]), DBS_OK);
    }
    /* twice: found by the index, by the object after the last found, and
     * at the end of the list */
    assert_int_equal(dbs_uow_add(f->u, &item_model, &a[N / 2]), DBS_EMISUSE);
    assert_int_equal(dbs_uow_add(f->u, &item_model, &b[0]), DBS_EMISUSE);
    assert_int_equal(dbs_uow_add(f->u, &item_model, &b[1]), DBS_EMISUSE);
    assert_int_equal(dbs_uow_add(f->u, &item_model, &b[N - 1]), DBS_EMISUSE);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(count_rows(f->s, "items"), 2 * N);

    assert_int_equal(dbs_uow_expunge(f->u, &item_model, &b[N / 2]), DBS_OK);
    assert_int_equal(dbs_uow_delete(f->u, &item_model, &b[N / 2]), DBS_EMISUSE);
    for (i = 0, k = 0; i < N; i++, k = (k + 7) % N)   /* 7 and N share no factor */
        assert_int_equal(dbs_uow_delete(f->u, &item_model, &a[k]), DBS_OK);
    for (i = 0; i < N; i++)
        if (i != N / 2)
            assert_int_equal(dbs_uow_delete(f->u, &item_model, &b[i]), DBS_OK);
    assert_int_equal(dbs_uow_delete(f->u, &item_model, &a[3]), DBS_OK);   /* again: no-op */
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(count_rows(f->s, "items"), 1);
    assert_int_equal(dbs_uow_count(f->u), 0);
    free(a);
    free(b);
}

/* ---- a deadlock inside flush (MariaDB): memory goes back to transaction start ---- */

struct heavy {
    pthread_barrier_t *barrier;
    int rc;
};

/* The other side: many writes first (so InnoDB picks the unit of work as the
 * cheaper victim), then row 2, then row 1. */
static void *heavy_side(void *arg)
{
    struct heavy *h = arg;
    dbs_session *s = dbs_test_open();
    int i;

    h->rc = dbs_session_begin(s);
    for (i = 0; i < 200 && h->rc == DBS_OK; i++)
        h->rc = dbs_session_exec(s, "INSERT INTO audit_log (entity_type, entity_id, action)"
                                    " VALUES ('x', 1, 'y')");
    if (h->rc == DBS_OK)
        h->rc = dbs_session_exec(s, "UPDATE items SET qty = qty + 1 WHERE id = 2");
    pthread_barrier_wait(h->barrier);          /* both hold their first lock */
    if (h->rc == DBS_OK)
        h->rc = dbs_session_exec(s, "UPDATE items SET qty = qty + 1 WHERE id = 1");
    if (h->rc == DBS_OK)
        h->rc = dbs_session_commit(s);
    else
        dbs_session_rollback(s);
    dbs_session_close(s);
    return NULL;
}

static void uow__deadlock_in_flush_restores_transaction_start(void **state)
{
    struct fx *f = *state;
    struct item *one = NULL, *two = NULL;
    struct project p = { .name = "made in the transaction" };
    pthread_barrier_t barrier;
    struct heavy h = { &barrier, 0 };
    pthread_t t;
    int rc;

    if (!dbs_test_is_mariadb())
        skip();
    dbs_test_exec(f->s, "INSERT INTO items (id, qty, version) VALUES (1, 10, 1), (2, 20, 1)");
    assert_dbs_ok(dbs_uow_get(f->u, &item_model, 1, (void **)&one), f->s);
    assert_dbs_ok(dbs_uow_get(f->u, &item_model, 2, (void **)&two), f->s);
    assert_dbs_ok(dbs_session_begin(f->s), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &p), f->s);
    one->qty = 11;
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);          /* holds row 1 */
    assert_true(p.id > 0);
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_create(&t, NULL, heavy_side, &h);
    pthread_barrier_wait(&barrier);
    usleep(200 * 1000);                                 /* let the other side block on row 1 */
    two->qty = 21;
    rc = dbs_uow_flush(f->u);                           /* waits for row 2: a cycle */
    pthread_join(t, NULL);
    pthread_barrier_destroy(&barrier);
    if (rc == DBS_OK) {
        /* InnoDB chose the other side after all: nothing more to check */
        print_message("the other session was the deadlock victim\n");
        assert_int_equal(h.rc, DBS_EDEADLOCK);
        return;
    }
    assert_int_equal(rc, DBS_EDEADLOCK);
    assert_true(dbs_error_last(f->s)->retryable);
    assert_int_equal(dbs_session_state(f->s), DBS_TXN_ABORTED);
    assert_int_equal(h.rc, DBS_OK);
    /* every struct as it was when the transaction began */
    assert_int_equal(one->qty, 10);
    assert_int_equal(two->qty, 20);
    assert_int_equal(p.id, 0);
    assert_dbs_ok(dbs_uow_rollback(f->u), f->s);
    assert_int_equal(dbs_session_state(f->s), DBS_TXN_IDLE);
    assert_int_equal(dbs_uow_count(f->u), 2);           /* p left with the transaction */
    assert_int_equal(dbs_test_int(f->s, "SELECT qty FROM items WHERE id = 1"), 11);
}

static void uow__connection_lost_then_reconnect(void **state)
{
    struct fx *f = *state;
    struct project p = { .name = "survives" };
    dbs_session *other;
    char sql[64];

    if (!dbs_test_is_mariadb())
        skip();
    assert_dbs_ok(dbs_session_begin(f->s), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &p), f->s);
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    assert_true(p.id > 0);
    other = dbs_test_open();
    snprintf(sql, sizeof(sql), "KILL CONNECTION %lld",
             (long long)dbs_test_int(f->s, "SELECT CONNECTION_ID()"));
    dbs_test_exec(other, sql);
    assert_dbs_ok(dbs_session_close(other), other);
    snprintf(p.name, sizeof(p.name), "changed");
    assert_dbs_rc(DBS_ECONNECTION, dbs_uow_commit(f->u), f->s);
    assert_int_equal(p.id, 0);                    /* back to transaction start */
    assert_dbs_ok(dbs_uow_rollback(f->u), f->s);
    /* the unit of work gives up its statements; the session reconnects */
    assert_dbs_ok(dbs_session_reconnect(f->s), f->s);
    assert_dbs_ok(dbs_uow_add(f->u, &project_model, &p), f->s);
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_true(p.id > 0);
    assert_int_equal(count_rows(f->s, "projects"), 1);
    /* again, reconnecting without the rollback: the unit of work learns that
     * the transaction is gone (an updated row's values back, no record left) */
    assert_dbs_ok(dbs_session_begin(f->s), f->s);
    snprintf(p.name, sizeof(p.name), "renamed");
    assert_dbs_ok(dbs_uow_flush(f->u), f->s);
    other = dbs_test_open();
    snprintf(sql, sizeof(sql), "KILL CONNECTION %lld",
             (long long)dbs_test_int(f->s, "SELECT CONNECTION_ID()"));
    dbs_test_exec(other, sql);
    assert_dbs_ok(dbs_session_close(other), other);
    assert_dbs_rc(DBS_ECONNECTION, dbs_session_exec(f->s, "SELECT 1"), f->s);
    assert_dbs_ok(dbs_session_reconnect(f->s), f->s);
    assert_string_equal(p.name, "changed");              /* as committed above */
    f->statements = 0;
    assert_dbs_ok(dbs_uow_commit(f->u), f->s);
    assert_int_equal(f->statements, 0);                  /* nothing to write */
    assert_int_equal(dbs_test_int(f->s, "SELECT COUNT(*) FROM projects WHERE name = 'changed'"),
                     1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(uow__id_before_commit_gone_after_rollback),
        T(uow__flush_then_audit_in_one_commit),
        T(uow__failed_flush_is_recoverable),
        T(uow__refresh_that_cannot_read_says_why),
        T(uow__bad_row_mid_batch_is_named),
        T(uow__identity_map_same_pointer_without_queries),
        T(uow__identity_conflict_at_add),
        T(uow__update_sets_only_changed_columns),
        T(uow__bytes_without_a_value_give_no_update),
        T(uow__stale_row_from_a_second_session),
        T(uow__stale_row_among_many),
        T(uow__updates_grouped_by_equal_values),
        T(uow__parent_inserted_before_child),
        T(uow__restrict_child_blocks_delete_session_usable),
        T(uow__tree_inserted_and_deleted_in_one_flush),
        T(uow__big_tree_levels_and_fk_index),
        T(uow__deep_chain_and_self_cycle),
        T(uow__fk_index_names_cut_to_64),
        T(uow__drop_all_with_rows),
        T(uow__nullable_cycle_written_with_fixup),
        T(uow__not_null_cycle_refused_before_sql),
        T(uow__savepoint_rollback_restores_inner_work_only),
        T(uow__rolled_back_delete_puts_the_row_back),
        T(uow__released_savepoint_undone_in_order),
        T(uow__rollback_gives_a_deleted_row_its_key_back),
        T(uow__text_put_back_outlives_the_object),
        T(uow__count_leaves_out_transient_objects),
        T(uow__object_to_blame_named_after_an_abort),
        T(uow__updated_rows_rolled_back_level_by_level),
        T(uow__values_readable_after_commit_and_close),
        T(uow__autoflush_on_and_off),
        T(uow__found_by_address_in_any_order),
        T(uow__many_objects_flushed_and_expunged),
        T(uow__deadlock_in_flush_restores_transaction_start),
        T(uow__connection_lost_then_reconnect),
    };

    return dbs_test_main("uow", tests, sizeof(tests) / sizeof(tests[0]));
}
