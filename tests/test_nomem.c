/*
 * Out of memory at every allocation the library makes, one at a time.
 *
 * The library's own calls to malloc, calloc, realloc, strdup, strndup,
 * asprintf and open_memstream are redirected here (ld --wrap, on the
 * convenience library the tests link). Run N of a unit-of-work scenario
 * makes the Nth of those allocations fail, for N = 1, 2, ... until a run
 * makes no failing allocation. Every run must:
 * - end without a crash, every call returning DBS_OK or an error;
 * - report the failure as DBS_ENOMEM, from the call that hit it;
 * - leave the session usable: after a rollback, a statement runs;
 * - when the library absorbed the failure (a rollback that could not copy a
 *   struct's text back writes the row whole later), lose no write: the
 *   scenario's last commit leaves no row behind;
 * - free every allocation it made by the end of its teardown (counted here;
 *   ASan and valgrind, when the suite runs under them, check the rest).
 * On every backend of the test matrix (SQLite in a file and in memory,
 * MariaDB over the socket and over TCP, in a database of its own; a MariaDB
 * backend named in DBS_TEST_REQUIRE must be there), MariaDB with its batch
 * statements: INSERT ... RETURNING, CASE, IN. The engines' own allocations
 * are not failed: SQLite's and the connector's out-of-memory handling is
 * theirs to test.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbsession.h"
#include "models.h"
#include "testdb.h"

/* ---- the allocator under test ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
FILE *__real_open_memstream(char **buf, size_t *len);

static long countdown = -1;   /* allocations to let through before one fails; -1: none */
static long calls;            /* allocations attempted since the run began */
static int hit;               /* the failing allocation happened */

/* Pointers handed out since the run began and not yet freed (open addressing,
 * deletion by backward shift). */
#define SLOTS (1u << 16)
static void *live[SLOTS];
static size_t n_live;

static size_t slot_of(const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 48) & (SLOTS - 1);
}

static void live_add(void *p)
{
    size_t i = slot_of(p);

    if (p == NULL || n_live + 1 >= SLOTS)
        return;
    while (live[i] != NULL)
        i = (i + 1) & (SLOTS - 1);
    live[i] = p;
    n_live++;
}

static void live_del(void *p)
{
    size_t i = slot_of(p), j, k;

    if (p == NULL)
        return;
    while (live[i] != NULL && live[i] != p)
        i = (i + 1) & (SLOTS - 1);
    if (live[i] == NULL)
        return;          /* made before the run, or by glibc itself */
    live[i] = NULL;
    n_live--;
    for (j = (i + 1) & (SLOTS - 1); live[j] != NULL; j = (j + 1) & (SLOTS - 1)) {
        k = slot_of(live[j]);
        /* move live[j] back into the hole if its home is not between i and j */
        if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
            live[i] = live[j];
            live[j] = NULL;
            i = j;
        }
    }
}

static int fail_now(void)
{
    calls++;
    if (countdown < 0)
        return 0;
    if (countdown-- == 0) {
        hit = 1;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    void *p = fail_now() ? NULL : __real_malloc(n);

    live_add(p);
    return p;
}

void *__wrap_calloc(size_t k, size_t n)
{
    void *p = fail_now() ? NULL : __real_calloc(k, n);

    live_add(p);
    return p;
}

void *__wrap_realloc(void *old, size_t n)
{
    void *p;

    if (fail_now())
        return NULL;
    if ((p = __real_realloc(old, n)) != NULL) {
        live_del(old);
        live_add(p);
    }
    return p;
}

void __wrap_free(void *p)
{
    live_del(p);
    __real_free(p);
}

char *__wrap_strdup(const char *s)
{
    char *p = fail_now() ? NULL : __real_strdup(s);

    live_add(p);
    return p;
}

char *__wrap_strndup(const char *s, size_t n)
{
    char *p = fail_now() ? NULL : __real_strndup(s, n);

    live_add(p);
    return p;
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
    va_list ap;
    int rc;

    if (fail_now()) {
        *out = NULL;
        return -1;
    }
    va_start(ap, fmt);
    rc = vasprintf(out, fmt, ap);
    va_end(ap);
    if (rc >= 0)
        live_add(*out);
    return rc;
}

/* The buffer is glibc's until fclose; it is counted when the library frees it
 * only if it was counted here, so it is not. */
FILE *__wrap_open_memstream(char **buf, size_t *len)
{
    return fail_now() ? NULL : __real_open_memstream(buf, len);
}

/* ---- the scenario ---- */

/* project, task, item, node, ca and cb: tests/models.h */

/* a text primary key the program assigns */
struct tag {
    char *name;
    int64_t uses;
};
static const dbs_field tag_fields[] = {
    DBS_FIELD_TEXT(struct tag, name, "name", DBS_PK),
    DBS_FIELD_INT64(struct tag, uses, "uses", DBS_NOT_NULL),
};
static const dbs_model tag_model = DBS_MODEL(struct tag, "tags", tag_fields);

enum { N_TASKS = 6 };

struct run {
    int rc;                   /* the first error */
    const char *step;         /* where it came */
};

#define STEP(name, call)                 \
    do {                                 \
        int rc_ = (call);                \
        if (rc_ < 0) {                   \
            r->rc = rc_;                 \
            r->step = (name);            \
            goto out;                    \
        }                                \
    } while (0)

static int64_t count_rows(dbs_session *s, const char *table)
{
    char sql[64];
    dbs_stmt *st = NULL;
    int64_t n = -1;

    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
    if (dbs_stmt_prepare(&st, s, sql) == DBS_OK && dbs_stmt_step(st) == DBS_ROW)
        dbs_stmt_column_int64(st, 0, &n);
    dbs_stmt_free(st);
    return n;
}

/* rows in table, counted without failing an allocation: -1 on error */
static int64_t count_quiet(dbs_session *s, const char *table)
{
    long saved = countdown;
    int64_t n;

    countdown = -1;
    n = count_rows(s, table);
    countdown = saved;
    return n;
}

/* After a failure: rolled back, the session runs a statement. */
static void check_usable(dbs_session *s, struct run *r)
{
    long saved = countdown;

    if (r->rc >= 0)
        return;
    countdown = -1;
    if (dbs_session_depth(s) > 0 && dbs_session_rollback(s) < 0)
        r->step = "rollback after the failure";
    else if (dbs_session_exec(s, "SELECT 1") < 0)
        r->step = "statement after the failure";
    countdown = saved;
}

static void scenario(dbs_session *s, struct run *r)
{
    static const dbs_model *const models[] = { &project_model, &task_model };
    struct project p = { 0 };
    struct task t[N_TASKS];
    dbs_uow *u = NULL;
    dbs_query *q = NULL;
    void *obj;
    int i, rc;

    memset(t, 0, sizeof(t));
    snprintf(p.name, sizeof(p.name), "nomem");
    STEP("create_all", dbs_model_create_all(s, models, 2));
    STEP("uow_new", dbs_uow_new(&u, s));
    /* children first: the flush orders them */
    for (i = 0; i < N_TASKS; i++) {
        t[i].project = &p;
        t[i].title = "a task";
        STEP("add task", dbs_uow_add(u, &task_model, &t[i]));
    }
    STEP("add project", dbs_uow_add(u, &project_model, &p));
    STEP("flush inserts", dbs_uow_flush(u));
    STEP("commit inserts", dbs_uow_commit(u));
    /* updates: two texts of their own (CASE on MariaDB), three equal flags
     * (one UPDATE ... IN) */
    t[1].title = "renamed";
    t[2].title = "renamed too";
    t[3].done = t[4].done = t[5].done = 1;
    STEP("commit updates", dbs_uow_commit(u));
    /* a query through the identity map, and a row loaded anew */
    STEP("expunge", dbs_uow_expunge(u, &task_model, &t[5]));
    STEP("query", dbs_uow_query(&q, u, &task_model, "project_id = ?"));
    STEP("query bind", dbs_stmt_bind_int64(dbs_query_stmt(q), 1, p.id));
    while ((rc = dbs_query_next(q, &obj)) == DBS_ROW)
        ;
    STEP("query next", rc);
    dbs_query_free(q);
    q = NULL;
    STEP("get", dbs_uow_get(u, &task_model, t[0].id, &obj));
    /* deletes rolled back: memory restored */
    STEP("begin", dbs_session_begin(s));
    STEP("delete 0", dbs_uow_delete(u, &task_model, &t[0]));
    STEP("delete 1", dbs_uow_delete(u, &task_model, &t[1]));
    STEP("flush deletes", dbs_uow_flush(u));
    STEP("rollback", dbs_uow_rollback(u));
    /* everything goes */
    STEP("query all", dbs_uow_query(&q, u, &task_model, NULL));
    while ((rc = dbs_query_next(q, &obj)) == DBS_ROW)
        STEP("delete row", dbs_uow_delete(u, &task_model, obj));
    STEP("query all next", rc);
    dbs_query_free(q);
    q = NULL;
    STEP("delete project", dbs_uow_delete(u, &project_model, &p));
    STEP("commit deletes", dbs_uow_commit(u));
    /* a failure the library absorbed must not have lost a write */
    if (count_quiet(s, "tasks") != 0 || count_quiet(s, "projects") != 0) {
        r->rc = DBS_ERROR;
        r->step = "rows left after the last commit";
    }
out:
    dbs_query_free(q);
    check_usable(s, r);
    dbs_uow_free(u);
}

/* Items: created by the unit of work, versioned updates, blobs, a refresh,
 * a savepoint rolled back inside a transaction that commits. */
static void scenario_items(dbs_session *s, struct run *r)
{
    static const dbs_model *const models[] = { &item_model };
    static unsigned char bytes[] = { 0, 1, 2, 3, 255 };
    struct item a = { 0 }, *b = NULL;
    dbs_uow *u = NULL;

    STEP("create_all", dbs_model_create_all(s, models, 1));
    STEP("uow_new", dbs_uow_new(&u, s));
    a.id = 1;
    a.text = "first";
    a.blob.data = bytes;
    a.blob.len = sizeof(bytes);
    a.price_null = 1;
    a.qty = 3;
    STEP("add", dbs_uow_add(u, &item_model, &a));
    STEP("create", dbs_uow_create(u, &item_model, (void **)&b));
    b->id = 2;
    b->qty = 1;
    STEP("commit", dbs_uow_commit(u));
    STEP("begin", dbs_session_begin(s));
    a.text = "changed";
    a.price = 9.5;
    a.price_null = 0;
    STEP("flush", dbs_uow_flush(u));
    STEP("savepoint", dbs_session_begin(s));
    b->qty = 7;
    a.blob.len = 2;
    STEP("flush inner", dbs_uow_flush(u));
    STEP("rollback inner", dbs_session_rollback(s));
    STEP("commit outer", dbs_uow_commit(u));
    a.qty = 4;
    STEP("refresh", dbs_uow_refresh(u, &item_model, &a));
    STEP("delete", dbs_uow_delete(u, &item_model, b));
    STEP("commit delete", dbs_uow_commit(u));
    if (count_quiet(s, "items") != 1 || a.qty != 3 || a.version < 2) {
        r->rc = DBS_ERROR;
        r->step = "items after the last commit";
    }
out:
    check_usable(s, r);
    dbs_uow_free(u);
}

/* A three-level tree (levels, key copies), a cycle through a nullable link
 * (fix-up UPDATE), text keys (long ones need their own memory), get by text
 * key, and the tree deleted leaves first in one flush. */
static void scenario_graph(dbs_session *s, struct run *r)
{
    static const dbs_model *const models[] = { &node_model, &ca_model, &cb_model, &tag_model };
    struct node n[7];
    struct ca a = { 0 };
    struct cb b = { 0 };
    struct tag t1 = { "short", 1 }, t2 = { "a tag whose name is longer than any key buffer", 2 };
    void *got = NULL;
    dbs_uow *u = NULL;
    int i;

    memset(n, 0, sizeof(n));
    STEP("create_all", dbs_model_create_all(s, models, 4));
    STEP("uow_new", dbs_uow_new(&u, s));
    for (i = 6; i >= 0; i--) {           /* leaves first */
        snprintf(n[i].name, sizeof(n[i].name), "n%d", i);
        n[i].parent_null = i == 0;
        n[i].parent = i == 0 ? NULL : &n[(i - 1) / 2];
        STEP("add node", dbs_uow_add(u, &node_model, &n[i]));
    }
    a.b = &b;
    b.a = &a;
    STEP("add cb", dbs_uow_add(u, &cb_model, &b));
    STEP("add ca", dbs_uow_add(u, &ca_model, &a));
    STEP("add tag", dbs_uow_add(u, &tag_model, &t1));
    STEP("add long tag", dbs_uow_add(u, &tag_model, &t2));
    STEP("commit", dbs_uow_commit(u));
    STEP("expunge_all", (dbs_uow_expunge_all(u), DBS_OK));
    STEP("get text", dbs_uow_get_text(u, &tag_model, t2.name, &got));
    if (got == NULL || ((struct tag *)got)->uses != 2) {
        r->rc = DBS_ERROR;
        r->step = "the long tag loaded";
        goto out;
    }
    ((struct tag *)got)->uses = 3;
    STEP("get node", dbs_uow_get(u, &node_model, n[0].id, &got));
    STEP("commit update", dbs_uow_commit(u));
    dbs_uow_expunge_all(u);
    {
        dbs_query *q = NULL;
        void *row;
        int rc;
        STEP("query nodes", dbs_uow_query(&q, u, &node_model, NULL));
        while ((rc = dbs_query_next(q, &row)) == DBS_ROW)
            if ((rc = dbs_uow_delete(u, &node_model, row)) < 0)
                break;
        dbs_query_free(q);
        STEP("delete nodes", rc == DBS_DONE ? DBS_OK : rc);
    }
    STEP("commit deletes", dbs_uow_commit(u));
    if (count_quiet(s, "nodes") != 0 || count_quiet(s, "cyc_a") != 1
        || count_quiet(s, "tags") != 2 || count_quiet(s, "tags WHERE uses = 3") != 1) {
        r->rc = DBS_ERROR;
        r->step = "rows after the graph";
    }
out:
    check_usable(s, r);
    dbs_uow_free(u);
}

/* The batch runner keeps the good rows and reports the bad one; a function
 * run in a transaction of its own. */
static int txn_work(dbs_session *s, void *payload)
{
    (void)payload;
    return dbs_session_exec(s, "INSERT INTO projects (name) VALUES ('from txn_run')");
}

static void scenario_batch(dbs_session *s, struct run *r)
{
    static const dbs_model *const models[] = { &project_model, &task_model };
    static const char *const cols[] = { "name" };
    dbs_batch_options o;
    dbs_batch *b = NULL;
    char name[16];
    int i;

    STEP("create_all", dbs_model_create_all(s, models, 2));
    dbs_batch_options_init(&o);
    o.chunk_size = 4;
    STEP("batch new", dbs_batch_new_insert(&b, s, "projects", cols, 1, &o));
    for (i = 0; i < 10; i++) {
        const char *v[1] = { name };
        /* row 6 repeats row 3's name: skipped and reported */
        snprintf(name, sizeof(name), "p%d", i == 5 ? 2 : i);
        STEP("batch add", dbs_batch_add_text(b, v, NULL));
    }
    STEP("batch finish", dbs_batch_finish(b));
    if (dbs_batch_error_count(b) != 1) {
        r->rc = DBS_ERROR;
        r->step = "batch report";
        goto out;
    }
    dbs_batch_free(b);
    b = NULL;
    STEP("txn_run", dbs_txn_run(s, txn_work, NULL));
    if (count_quiet(s, "projects") != 10) {
        r->rc = DBS_ERROR;
        r->step = "rows after the batch and txn_run";
    }
out:
    dbs_batch_free(b);
    check_usable(s, r);
}

/* MariaDB: the database of this program's own (tests/testdb.h), or 0 when
 * env has no URL. */
static int mariadb_url(const char *env, char *out, size_t size)
{
    const char *url = getenv(env);

    if (url == NULL || *url == '\0')
        return 0;
    return dbs_test_own_database(url, "nomem", out, size) < 0 ? -1 : 1;
}

static int fresh_schema(const char *url)
{
    static const dbs_model *const models[] = { &project_model, &task_model, &item_model,
                                               &node_model, &ca_model, &cb_model, &tag_model };
    dbs_session *s = NULL;
    int rc = dbs_session_open(&s, url);

    if (rc == DBS_OK && (rc = dbs_model_drop_all(s, models, 7)) < 0)
        printf("%s: drop_all: %s\n", url, dbs_error_last(s)->message);
    dbs_session_close(s);
    return rc;
}

/* Every run of a scenario on url, the Nth allocation failing in run N. */
static int run_all(const char *url, const char *backend,
                   void (*play)(dbs_session *, struct run *), const char *what)
{
    long n;
    int failures = 0, runs = 0, enomem = 0;

    for (n = 0;; n++) {
        struct run r = { 0, NULL };
        dbs_session *s = NULL;
        int rc;

        if (fresh_schema(url) < 0) {
            printf("%s: cannot drop the tables of the last run (after run %ld): %s\n", url,
                   n - 1, dbs_error_last(NULL)->message);
            return failures + 1;
        }
        memset(live, 0, sizeof(live));
        n_live = 0;
        calls = 0;
        hit = 0;
        countdown = n;
        rc = dbs_session_open(&s, url);
        if (rc < 0) {
            r.rc = rc;
            r.step = "open";
        } else {
            play(s, &r);
        }
        countdown = -1;
        if (s != NULL && dbs_session_close(s) < 0 && r.rc == 0) {
            r.rc = DBS_ERROR;
            r.step = "close";
        }
        runs++;
        if (!hit) {
            if (r.rc < 0) {
                printf("run %ld: no allocation failed, yet %s returned %d\n", n, r.step, r.rc);
                failures++;
            }
            break;           /* every allocation of the scenario has failed once */
        }
        if (r.rc == DBS_ENOMEM)
            enomem++;
        if (r.rc == 0) {
            /* a failure the library absorbed (the rows are checked above) */
        } else if (r.rc != DBS_ENOMEM) {
            printf("run %ld (allocation %ld failed): %s returned %d, not DBS_ENOMEM\n", n,
                   n + 1, r.step, r.rc);
            failures++;
        } else if (strstr(r.step, "after the failure") != NULL) {
            printf("run %ld: session not usable: %s failed\n", n, r.step);
            failures++;
        }
        if (n_live != 0) {
            printf("run %ld (allocation %ld failed, at %s): %zu allocation(s) never freed\n", n,
                   n + 1, r.step != NULL ? r.step : "no step", n_live);
            failures++;
        }
    }
    printf("test_nomem %s, %s: %d runs (the last without a failing allocation), %d reported "
           "DBS_ENOMEM, %d problem(s)\n", what, backend, runs, enomem, failures);
    return failures;
}

/* name appears in the comma-separated list */
static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p;

    for (p = list; p != NULL && *p != '\0'; p = strchr(p, ','), p = p != NULL ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

/* The backends of the test matrix (tests/harness.c), each with every scenario. */
int main(void)
{
    static const struct {
        const char *name, *env;
    } matrix[] = {
        { "sqlite", NULL },
        { "sqlite-memory", NULL },
        { "mariadb", "DBS_TEST_MARIADB_URL" },
        { "mariadb-tcp", "DBS_TEST_MARIADB_TCP_URL" },
    };
    const char *require = getenv("DBS_TEST_REQUIRE"), *only = getenv("DBS_TEST_BACKENDS");
    char url[512], dir[] = "/tmp/dbs-nomem.XXXXXX", file[64];
    int failures = 0;
    size_t i;

    if (mkdtemp(dir) == NULL)
        return 99;
    snprintf(file, sizeof(file), "%s/nomem.db", dir);
    for (i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
        const char *name = matrix[i].name;
        if (only != NULL && *only != '\0' && !listed(only, name))
            continue;
        if (matrix[i].env == NULL) {
            snprintf(url, sizeof(url), "sqlite:%s",
                     strcmp(name, "sqlite") == 0 ? file : ":memory:");
        } else {
            int m = mariadb_url(matrix[i].env, url, sizeof(url));
            if (m < 0) {
                printf("test_nomem: %s: cannot make the database dbs_test_nomem\n", name);
                return 99;
            }
            if (m == 0) {
                if (require != NULL && listed(require, name)) {
                    printf("test_nomem: %s is required (DBS_TEST_REQUIRE) but %s is not set: "
                           "failing\n", name, matrix[i].env);
                    return 99;
                }
                printf("test_nomem: %s skipped, no URL in the environment\n", name);
                continue;
            }
        }
        failures += run_all(url, name, scenario, "unit of work")
                    + run_all(url, name, scenario_items, "items")
                    + run_all(url, name, scenario_graph, "graph")
                    + run_all(url, name, scenario_batch, "batch and txn_run");
    }
    unlink(file);
    rmdir(dir);
    return failures > 0;
}
