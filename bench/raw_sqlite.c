/*
 * Raw SQLite baselines: the same work as the dbsession workloads, written
 * directly against libsqlite3 the way a careful program would: statements
 * prepared once, values bound with SQLITE_STATIC, the generated id read
 * after each INSERT, rows changed checked after each UPDATE and DELETE.
 *
 * The connection is opened with the settings dbsession applies (see
 * backends/sqlite/conn.c and the README): read-write-create, no mutex,
 * extended result codes, a 5 s busy timeout, foreign_keys=ON, and
 * transactions begun with BEGIN IMMEDIATE. Nothing else is changed
 * (journal mode and synchronous stay SQLite's defaults, as dbsession
 * leaves them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "bench.h"

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                             | SQLITE_OPEN_NOMUTEX, NULL);

    if (rc != SQLITE_OK) {
        fprintf(stderr, "raw sqlite: open %s: %s\n", path, db ? sqlite3_errmsg(db) : "nomem");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "raw sqlite: foreign_keys: %s\n", sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static int exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    fprintf(stderr, "raw sqlite: %s: %s\n", sql, sqlite3_errmsg(db));
    return -1;
}

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK)
        return 0;
    fprintf(stderr, "raw sqlite: prepare %s: %s\n", sql, sqlite3_errmsg(db));
    return -1;
}

static int fail(sqlite3 *db, const char *what, size_t row)
{
    fprintf(stderr, "raw sqlite: %s, row %zu: %s\n", what, row, sqlite3_errmsg(db));
    return -1;
}

static const char insert_sql[] =
    "INSERT INTO tasks (project_id, title, done, score) VALUES (?, ?, ?, ?)";

static void bind_row(sqlite3_stmt *st, const struct task *r, double score)
{
    sqlite3_bind_int64(st, 1, r->project_id);
    sqlite3_bind_text(st, 2, r->title, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, r->done);
    sqlite3_bind_double(st, 4, score);
}

/* One prepared INSERT per row, reading each generated id. */
static int insert_rows(sqlite3 *db, const struct bench_data *d, int64_t *ids)
{
    sqlite3_stmt *st = NULL;
    size_t i;
    int rc = -1;

    if (exec(db, "BEGIN IMMEDIATE") < 0 || prep(db, insert_sql, &st) < 0)
        goto done;
    for (i = 0; i < d->n; i++) {
        bind_row(st, &d->rows[i], d->rows[i].score);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fail(db, "insert", i);
            goto done;
        }
        ids[i] = sqlite3_last_insert_rowid(db);
        sqlite3_reset(st);
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc < 0 ? -1 : exec(db, "COMMIT");
}

/* One prepared statement per row over ids[], checking one row changed. */
static int per_row(sqlite3 *db, const char *sql, const int64_t *ids, size_t n, int update)
{
    sqlite3_stmt *st = NULL;
    size_t i;
    int rc = -1;

    if (exec(db, "BEGIN IMMEDIATE") < 0 || prep(db, sql, &st) < 0)
        goto done;
    for (i = 0; i < n; i++) {
        int k = 1;
        if (update)
            sqlite3_bind_int(st, k++, 1);
        sqlite3_bind_int64(st, k, ids[i]);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fail(db, sql, i);
            goto done;
        }
        if (sqlite3_changes(db) != 1) {
            fprintf(stderr, "raw sqlite: %s changed %d rows\n", sql, sqlite3_changes(db));
            goto done;
        }
        sqlite3_reset(st);
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc < 0 ? -1 : exec(db, "COMMIT");
}

int raw_sqlite_cycle(const char *path, const struct bench_data *d, struct cycle_times *t)
{
    int64_t *ids = malloc(d->n * sizeof(*ids));
    sqlite3 *db = open_db(path);
    double t0;
    int rc = -1;

    if (ids == NULL || db == NULL)
        goto done;
    t0 = bench_now();
    if (insert_rows(db, d, ids) < 0)
        goto done;
    t->insert = bench_now() - t0;
    t0 = bench_now();
    if (per_row(db, "UPDATE tasks SET done = ? WHERE id = ?", ids, d->n, 1) < 0)
        goto done;
    t->update = bench_now() - t0;
    t0 = bench_now();
    if (per_row(db, "DELETE FROM tasks WHERE id = ?", ids, d->n, 0) < 0)
        goto done;
    t->del = bench_now() - t0;
    rc = 0;
done:
    sqlite3_close(db);
    free(ids);
    return rc;
}

int raw_sqlite_insert(const char *path, const struct bench_data *d, int with_bad, double *t)
{
    sqlite3 *db = open_db(path);
    sqlite3_stmt *st = NULL;
    size_t i, skipped = 0;
    double t0 = bench_now();
    int rc = -1, r;

    if (db == NULL || exec(db, "BEGIN IMMEDIATE") < 0 || prep(db, insert_sql, &st) < 0)
        goto done;
    for (i = 0; i < d->n; i++) {
        bind_row(st, &d->rows[i], bench_import_score(d, i, with_bad));
        r = sqlite3_step(st);
        sqlite3_reset(st);
        if (r == SQLITE_DONE)
            continue;
        /* a bad row: the statement is undone, the transaction goes on */
        if (sqlite3_extended_errcode(db) != SQLITE_CONSTRAINT_CHECK) {
            fail(db, "insert", i);
            goto done;
        }
        skipped++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (exec(db, "COMMIT") < 0)
        goto done;
    *t = bench_now() - t0;
    rc = 0;
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

int raw_sqlite_classify(const char *path, size_t n, int in_txn, double *t)
{
    sqlite3 *db = open_db(path);
    sqlite3_stmt *st = NULL;
    size_t i, unique = 0;
    double t0;
    int rc = -1;

    if (db == NULL || prep(db, "INSERT INTO tasks (id, project_id, title, done, score) "
                           "VALUES (?, 1, 'duplicate', 0, 0)", &st) < 0)
        goto done;
    sqlite3_bind_int64(st, 1, 1);
    t0 = bench_now();
    if (in_txn && exec(db, "BEGIN IMMEDIATE") < 0)
        goto done;
    for (i = 0; i < n; i++) {
        sqlite3_step(st);
        /* the native code is all a raw program has to go on */
        unique += sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY;
        sqlite3_reset(st);
    }
    if (in_txn && exec(db, "ROLLBACK") < 0)
        goto done;
    *t = bench_now() - t0;
    if (unique != n) {
        fprintf(stderr, "raw sqlite: %zu of %zu inserts failed as duplicates\n", unique, n);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}
