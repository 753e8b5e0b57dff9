/*
 * The dbsession side: the same rows and statements as the raw baselines,
 * through the public API only (statements, unit of work, batch import and
 * the `dbs import` tool).
 */
#include <malloc.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "bench.h"

static const dbs_field task_fields[] = {
    DBS_FIELD_INT64(struct task, id, "id", DBS_PK | DBS_AUTOINC),
    DBS_FIELD_INT64(struct task, project_id, "project_id", DBS_NOT_NULL),
    DBS_FIELD_TEXT(struct task, title, "title", DBS_NOT_NULL),
    DBS_FIELD_BOOL(struct task, done, "done", DBS_NOT_NULL),
    DBS_FIELD_DOUBLE(struct task, score, "score", 0),
};
const dbs_model bench_task_model = DBS_MODEL(struct task, "tasks", task_fields);

void bench_dbs_error(const char *what, dbs_session *s, int rc)
{
    const dbs_error *e = dbs_error_last(s);

    fprintf(stderr, "dbsession: %s: %s (%s)\n", what, e->message, dbs_status_name(rc));
}

static dbs_session *open_session(const char *url)
{
    dbs_session *s = NULL;

    if (dbs_session_open(&s, url) < 0) {
        bench_dbs_error("open", NULL, DBS_ERROR);
        return NULL;
    }
    return s;
}

/* ---- setup ---- */

static const char sqlite_ddl[] =
    "CREATE TABLE tasks (id INTEGER PRIMARY KEY AUTOINCREMENT, project_id BIGINT NOT NULL, "
    "title VARCHAR(200) NOT NULL, done BOOLEAN NOT NULL, score DOUBLE, "
    "CONSTRAINT score_positive CHECK (score >= 0))";
static const char mariadb_ddl[] =
    "CREATE TABLE tasks (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
    "project_id BIGINT NOT NULL, title VARCHAR(200) NOT NULL, done BOOLEAN NOT NULL, "
    "score DOUBLE, CONSTRAINT score_positive CHECK (score >= 0)) "
    "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

int bench_schema(const char *url, int mariadb)
{
    dbs_session *s;
    int rc;

    if (!mariadb) {
        /* a fresh file per run: sqlite:///abs/path */
        const char *path = url + strlen("sqlite://");
        char side[4200];
        unlink(path);
        snprintf(side, sizeof(side), "%s-journal", path);
        unlink(side);
    }
    if ((s = open_session(url)) == NULL)
        return -1;
    if ((mariadb && (rc = dbs_session_exec(s, "DROP TABLE IF EXISTS tasks")) < 0)
        || (rc = dbs_session_exec(s, mariadb ? mariadb_ddl : sqlite_ddl)) < 0)
        bench_dbs_error("create table", s, rc);
    dbs_session_close(s);
    return rc < 0 ? -1 : 0;
}

long long bench_count(const char *url)
{
    dbs_session *s = open_session(url);
    dbs_stmt *st = NULL;
    int64_t n = -1;

    if (s != NULL && dbs_stmt_prepare(&st, s, "SELECT COUNT(*) FROM tasks") == DBS_OK
        && dbs_stmt_step(st) == DBS_ROW)
        dbs_stmt_column_int64(st, 0, &n);
    dbs_stmt_free(st);
    dbs_session_close(s);
    return n;
}

int bench_seed_one(const char *url)
{
    dbs_session *s = open_session(url);
    int rc = s == NULL ? -1 : dbs_session_exec(s, "INSERT INTO tasks (id, project_id, title, "
                                               "done, score) VALUES (1, 1, 'first', 0, 0)");

    if (s != NULL && rc < 0)
        bench_dbs_error("seed", s, rc);
    dbs_session_close(s);
    return rc < 0 ? -1 : 0;
}

/* ---- statements ---- */

#define CHECK(s, what, expr)                     \
    do {                                         \
        int rc_ = (expr);                        \
        if (rc_ < 0) {                           \
            bench_dbs_error((what), (s), rc_);   \
            goto done;                           \
        }                                        \
    } while (0)

static int stmt_insert(dbs_session *s, const struct bench_data *d, int64_t *ids)
{
    dbs_stmt *st = NULL;
    size_t i;
    int rc = -1;

    CHECK(s, "begin", dbs_session_begin(s));
    CHECK(s, "prepare", dbs_stmt_prepare(&st, s, "INSERT INTO tasks (project_id, title, done, "
                                         "score) VALUES (?, ?, ?, ?)"));
    for (i = 0; i < d->n; i++) {
        const struct task *r = &d->rows[i];
        CHECK(s, "bind", dbs_stmt_bind_int64(st, 1, r->project_id));
        CHECK(s, "bind", dbs_stmt_bind_text(st, 2, r->title));
        CHECK(s, "bind", dbs_stmt_bind_int64(st, 3, r->done));
        CHECK(s, "bind", dbs_stmt_bind_double(st, 4, r->score));
        if ((rc = dbs_stmt_step(st)) != DBS_DONE) {
            bench_dbs_error("insert", s, rc);
            rc = -1;
            goto done;
        }
        CHECK(s, "last id", dbs_stmt_last_insert_id(st, &ids[i]));
    }
    dbs_stmt_free(st);
    st = NULL;
    CHECK(s, "commit", dbs_session_commit(s));
    rc = 0;
done:
    dbs_stmt_free(st);
    return rc;
}

static int stmt_per_row(dbs_session *s, const char *sql, const int64_t *ids, size_t n,
                        int update)
{
    dbs_stmt *st = NULL;
    int64_t affected = 0;
    size_t i;
    int rc = -1;

    CHECK(s, "begin", dbs_session_begin(s));
    CHECK(s, "prepare", dbs_stmt_prepare(&st, s, sql));
    for (i = 0; i < n; i++) {
        if (update)
            CHECK(s, "bind", dbs_stmt_bind_int64(st, 1, 1));
        CHECK(s, "bind", dbs_stmt_bind_int64(st, update ? 2 : 1, ids[i]));
        if ((rc = dbs_stmt_step(st)) != DBS_DONE) {
            bench_dbs_error(sql, s, rc);
            rc = -1;
            goto done;
        }
        CHECK(s, "rows affected", dbs_stmt_rows_affected(st, &affected));
        if (affected != 1) {
            fprintf(stderr, "dbsession: %s matched %lld rows\n", sql, (long long)affected);
            goto done;
        }
    }
    dbs_stmt_free(st);
    st = NULL;
    CHECK(s, "commit", dbs_session_commit(s));
    rc = 0;
done:
    dbs_stmt_free(st);
    return rc;
}

int dbs_stmt_cycle(const char *url, const struct bench_data *d, struct cycle_times *t)
{
    int64_t *ids = malloc(d->n * sizeof(*ids));
    dbs_session *s = open_session(url);
    double t0;
    int rc = -1;

    if (ids == NULL || s == NULL)
        goto done;
    t0 = bench_now();
    if (stmt_insert(s, d, ids) < 0)
        goto done;
    t->insert = bench_now() - t0;
    t0 = bench_now();
    if (stmt_per_row(s, "UPDATE tasks SET done = ? WHERE id = ?", ids, d->n, 1) < 0)
        goto done;
    t->update = bench_now() - t0;
    t0 = bench_now();
    if (stmt_per_row(s, "DELETE FROM tasks WHERE id = ?", ids, d->n, 0) < 0)
        goto done;
    t->del = bench_now() - t0;
    rc = 0;
done:
    if (s != NULL && dbs_session_depth(s) > 0)
        dbs_session_rollback(s);
    dbs_session_close(s);
    free(ids);
    return rc;
}

/* ---- unit of work ---- */

int dbs_uow_cycle(const char *url, const struct bench_data *d, struct cycle_times *t)
{
    struct task *objs = malloc(d->n * sizeof(*objs));
    dbs_session *s = open_session(url);
    dbs_uow *u = NULL;
    double t0;
    size_t i;
    int rc = -1;

    if (objs == NULL || s == NULL)
        goto done;
    memcpy(objs, d->rows, d->n * sizeof(*objs));
    CHECK(s, "uow", dbs_uow_new(&u, s));
    /* add N objects, flush, commit: ids written back */
    t0 = bench_now();
    for (i = 0; i < d->n; i++)
        CHECK(s, "add", dbs_uow_add(u, &bench_task_model, &objs[i]));
    CHECK(s, "flush inserts", dbs_uow_flush(u));
    CHECK(s, "commit inserts", dbs_uow_commit(u));
    t->insert = bench_now() - t0;
    for (i = 0; i < d->n; i++)
        if (objs[i].id <= 0) {
            fprintf(stderr, "dbsession: object %zu has no id after flush\n", i);
            goto done;
        }
    /* change one field of each, flush */
    t0 = bench_now();
    for (i = 0; i < d->n; i++)
        objs[i].done = 1;
    CHECK(s, "flush updates", dbs_uow_flush(u));
    CHECK(s, "commit updates", dbs_uow_commit(u));
    t->update = bench_now() - t0;
    /* delete each, flush */
    t0 = bench_now();
    for (i = 0; i < d->n; i++)
        CHECK(s, "delete", dbs_uow_delete(u, &bench_task_model, &objs[i]));
    CHECK(s, "flush deletes", dbs_uow_flush(u));
    CHECK(s, "commit deletes", dbs_uow_commit(u));
    t->del = bench_now() - t0;
    if (dbs_uow_count(u) != 0) {
        fprintf(stderr, "dbsession: %zu objects still tracked\n", dbs_uow_count(u));
        goto done;
    }
    rc = 0;
done:
    dbs_uow_free(u);
    if (s != NULL && dbs_session_depth(s) > 0)
        dbs_session_rollback(s);
    dbs_session_close(s);
    free(objs);
    return rc;
}

/* VmRSS or VmHWM of this process in bytes, or 0. */
static size_t proc_status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0, n = strlen(key);

    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            kb = strtoul(line + n + 1, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kb * 1024;
}

/* Heap in use: arena chunks plus the big blocks malloc took with mmap (hash
 * tables over 128 KiB are such blocks; uordblks alone misses them). */
static double heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();

    return (double)mi.uordblks + (double)mi.hblkhd;
}

int dbs_uow_memory(const char *url, const struct bench_data *d, struct mem_result *m)
{
    struct task *objs = malloc(d->n * sizeof(*objs));
    dbs_session *s = open_session(url);
    dbs_uow *u = NULL;
    double h0, hpeak, h1, h2, n = (double)d->n;
    size_t i, rss0;
    int rc = -1, fd;

    if (objs == NULL || s == NULL)
        goto done;
    memcpy(objs, d->rows, d->n * sizeof(*objs));
    CHECK(s, "uow", dbs_uow_new(&u, s));
    /* the peak is measured from here: reset VmHWM to VmRSS (Linux >= 4.0) */
    if ((fd = open("/proc/self/clear_refs", O_WRONLY)) >= 0) {
        if (write(fd, "5", 1) != 1)
            fprintf(stderr, "bench: cannot reset VmHWM; the peak includes the setup\n");
        close(fd);
    }
    rss0 = proc_status_kb("VmRSS");
    h0 = heap_in_use();
    for (i = 0; i < d->n; i++)
        CHECK(s, "add", dbs_uow_add(u, &bench_task_model, &objs[i]));
    CHECK(s, "flush", dbs_uow_flush(u));
    hpeak = heap_in_use();
    CHECK(s, "commit", dbs_uow_commit(u));
    h1 = heap_in_use();
    m->rss_per_obj = ((double)proc_status_kb("VmHWM") - (double)rss0) / n;
    dbs_uow_expunge_all(u);
    malloc_trim(0);
    h2 = heap_in_use();
    /* what expunge_all gave back is the tracking; what stays is the driver's
     * (SQLite page cache, prepared statements) */
    m->heap_per_obj = (h1 - h2) / n;
    m->peak_heap_per_obj = (hpeak - h2) / n;
    m->residual_per_obj = (h2 - h0) / n;
    m->struct_size = sizeof(struct task);
    rc = 0;
done:
    dbs_uow_free(u);
    dbs_session_close(s);
    free(objs);
    return rc;
}

/* ---- import ---- */

int dbs_batch_import(const char *url, const struct bench_data *d, int with_bad, double *t)
{
    static const char *const cols[] = { "project_id", "title", "done", "score" };
    dbs_session *s = open_session(url);
    dbs_batch *b = NULL;
    uint64_t applied = 0, skipped = 0, bad = 0;
    double t0 = bench_now();
    size_t i;
    int rc = -1;

    if (s == NULL)
        goto done;
    CHECK(s, "batch", dbs_batch_new_insert(&b, s, BENCH_TABLE, cols, 4, NULL));
    for (i = 0; i < d->n; i++) {
        int is_bad = with_bad && bench_row_bad(i);
        const char *v[4] = { d->text[i][0], d->rows[i].title, d->text[i][1],
                             is_bad ? "-1" : d->text[i][2] };
        bad += is_bad;
        CHECK(s, "batch add", dbs_batch_add_text(b, v, NULL));
    }
    CHECK(s, "batch finish", dbs_batch_finish(b));
    *t = bench_now() - t0;
    dbs_batch_counts(&applied, &skipped, NULL, b);
    if (applied != d->n - bad || skipped != bad) {
        fprintf(stderr, "dbsession: batch applied %llu, skipped %llu of %zu rows\n",
                (unsigned long long)applied, (unsigned long long)skipped, d->n);
        goto done;
    }
    rc = 0;
done:
    dbs_batch_free(b);
    dbs_session_close(s);
    return rc;
}

int dbs_write_csv(const char *path, const struct bench_data *d, int with_bad)
{
    FILE *f = fopen(path, "w");
    size_t i;

    if (f == NULL)
        return -1;
    fputs("project_id,title,done,score\n", f);
    for (i = 0; i < d->n; i++)
        fprintf(f, "%s,%s,%s,%s\n", d->text[i][0], d->rows[i].title, d->text[i][1],
                with_bad && bench_row_bad(i) ? "-1" : d->text[i][2]);
    return fclose(f) == 0 ? 0 : -1;
}

extern char **environ;

int dbs_cli_import(const char *tool, const char *url, const char *csv, double *t)
{
    char *argv[] = { (char *)"dbs", (char *)"import", (char *)url, (char *)BENCH_TABLE,
                     (char *)csv, NULL };
    char log[4200];
    posix_spawn_file_actions_t fa;
    double t0 = bench_now();
    pid_t pid;
    int status = 0, rc;

    /* the tool's report goes to CSV.log, for a look when a figure is odd */
    snprintf(log, sizeof(log), "%s.log", csv);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    rc = posix_spawn(&pid, tool, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "bench: cannot run %s: %s\n", tool, strerror(rc));
        return -1;
    }
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    *t = bench_now() - t0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- classification ---- */

int dbs_classify(const char *url, size_t n, int in_txn, double *t)
{
    dbs_session *s = open_session(url);
    dbs_stmt *st = NULL;
    size_t i, unique = 0;
    double t0;
    int rc = -1;

    if (s == NULL)
        goto done;
    CHECK(s, "prepare", dbs_stmt_prepare(&st, s, "INSERT INTO tasks (id, project_id, title, "
                                         "done, score) VALUES (?, 1, 'duplicate', 0, 0)"));
    CHECK(s, "bind", dbs_stmt_bind_int64(st, 1, 1));
    t0 = bench_now();
    if (in_txn)
        CHECK(s, "begin", dbs_session_begin(s));
    for (i = 0; i < n; i++)
        unique += dbs_stmt_step(st) == DBS_EUNIQUE;
    if (in_txn)
        CHECK(s, "rollback", dbs_session_rollback(s));
    *t = bench_now() - t0;
    if (unique != n) {
        fprintf(stderr, "dbsession: %zu of %zu inserts failed as unique: %s\n", unique, n,
                dbs_error_last(s)->message);
        goto done;
    }
    rc = 0;
done:
    dbs_stmt_free(st);
    dbs_session_close(s);
    return rc;
}
