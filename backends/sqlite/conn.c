/*
 * SQLite backend: connection, statements, transactions.
 *
 * Settings that make SQLite behave like the other engines are applied at
 * open and documented in the README: foreign keys ON, extended result codes,
 * a busy timeout, and BEGIN IMMEDIATE for transactions.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite.h"
#include "dbsession/model.h"

struct sqlite_stmt {
    struct dbs_bstmt base;
    sqlite3_stmt *st;
    sqlite3_int64 total_before;   /* sqlite3_total_changes64 before execution */
    int64_t affected;
    int64_t insert_id;
    int is_insert;
    int counts_rows;              /* writes and returns no columns: changes() is its count */
    int executing;
    int finished;                 /* the last step returned DONE or an error */
    struct sqlite_target target;   /* for error details */
};

static const char *const schemes[] = { "sqlite", NULL };
static const char *const options[] = { "lock_timeout", "busy_timeout", "mode", NULL };

#define DEFAULT_BUSY_TIMEOUT 5.0

static int open_flags(const struct dbs_url *u, int *flags, struct dbs_err *err)
{
    const char *mode = dbs__url_opt(u, "mode");

    if (mode == NULL || strcmp(mode, "rwc") == 0)
        *flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    else if (strcmp(mode, "rw") == 0)
        *flags = SQLITE_OPEN_READWRITE;
    else if (strcmp(mode, "ro") == 0)
        *flags = SQLITE_OPEN_READONLY;
    else
        return dbs__err_set(err, DBS_ECONFIG, "bad URL: option 'mode' must be ro, rw or rwc");
    /* One thread at a time per session: no SQLite mutexes needed. */
    *flags |= SQLITE_OPEN_NOMUTEX;
    return DBS_OK;
}

static int file_path(const struct dbs_url *u, const char **out, struct dbs_err *err)
{
    if (u->has_authority && u->host != NULL)
        return dbs__err_set(err, DBS_ECONFIG, "bad URL: sqlite URLs take no host "
                            "(use sqlite:relative/path.db or sqlite:///absolute/path.db)");
    if (u->user != NULL || u->port != 0)
        return dbs__err_set(err, DBS_ECONFIG, "bad URL: sqlite URLs take no user or port");
    if (u->path == NULL || u->path[0] == '\0' || strcmp(u->path, "/") == 0)
        return dbs__err_set(err, DBS_ECONFIG,
                            "bad URL: sqlite needs a file path or :memory: (sqlite::memory:)");
    *out = u->path;
    return DBS_OK;
}

static int sqlite_open(struct dbs_conn **out, const struct dbs_url *u, struct dbs_err *err)
{
    struct sqlite_conn *c;
    const char *path = NULL;
    double busy, lock;
    int flags = 0, rc;

    *out = NULL;
    if ((rc = file_path(u, &path, err)) < 0 || (rc = open_flags(u, &flags, err)) < 0
        || (rc = dbs__url_opt_seconds(u, "busy_timeout", DEFAULT_BUSY_TIMEOUT, &busy, err)) < 0
        || (rc = dbs__url_opt_seconds(u, "lock_timeout", busy, &lock, err)) < 0)
        return rc;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return dbs__err_set(err, DBS_ENOMEM, "out of memory opening sqlite");
    rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = c->db != NULL ? dbs__sqlite_error(c->db, rc, NULL, err)
                           : dbs__err_set(err, DBS_ENOMEM, "out of memory opening sqlite");
        if (rc == DBS_ERROR)
            err->pub.status = rc = DBS_ECONNECTION;
        sqlite3_close(c->db);
        free(c);
        return rc;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, (int)ceil(lock * 1000.0));
    /* foreign_keys is per connection and a no-op inside a transaction: set it now. */
    rc = sqlite3_exec(c->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = dbs__sqlite_error(c->db, rc, NULL, err);
        sqlite3_close(c->db);
        free(c);
        return rc;
    }
    *out = &c->base;
    return DBS_OK;
}

static void sqlite_close(struct dbs_conn *base)
{
    struct sqlite_conn *c = (struct sqlite_conn *)base;

    dbs__sqlite_settle(c);
    /* close_v2: never fails with BUSY; an open transaction is rolled back. */
    sqlite3_close_v2(c->db);
    free(c);
}

static int only_space(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == ';')
        s++;
    return *s == '\0';
}

/* Prepare exactly one statement: text after it is a syntax error, as on
 * MariaDB (which runs without CLIENT_MULTI_STATEMENTS). */
static int prepare_one(sqlite3 *db, const char *sql, sqlite3_stmt **out, struct dbs_err *err)
{
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, out, &tail);

    if (rc != SQLITE_OK)
        return dbs__sqlite_error(db, rc, sql, err);
    if (*out == NULL)
        return dbs__err_set(err, DBS_EMISUSE, "empty statement (only comments)");
    if (tail != NULL && !only_space(tail)) {
        sqlite3_finalize(*out);
        *out = NULL;
        return dbs__err_set(err, DBS_ESYNTAX,
                            "one statement at a time: text after the first statement");
    }
    return DBS_OK;
}

static int sqlite_exec(struct dbs_conn *base, const char *sql, struct dbs_err *err)
{
    struct sqlite_conn *c = (struct sqlite_conn *)base;
    sqlite3_stmt *st = NULL;
    int rc;

    dbs__sqlite_settle(c);
    if ((rc = prepare_one(c->db, sql, &st, err)) < 0)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    rc = rc == SQLITE_DONE ? DBS_OK : dbs__sqlite_error(c->db, rc, sql, err);
    sqlite3_finalize(st);
    return rc;
}

static int sqlite_begin(struct dbs_conn *base, struct dbs_err *err)
{
    /* IMMEDIATE takes the write lock now, waiting in the busy handler; a
     * deferred BEGIN would upgrade later and fail at once with BUSY. */
    return sqlite_exec(base, "BEGIN IMMEDIATE", err);
}

static int sqlite_in_transaction(struct dbs_conn *base)
{
    return !sqlite3_get_autocommit(((struct sqlite_conn *)base)->db);
}

/* First keyword of the statement, for INSERT detection. */
static int starts_with_insert(const char *sql)
{
    while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r' || *sql == '(')
        sql++;
    return sqlite3_strnicmp(sql, "INSERT", 6) == 0 || sqlite3_strnicmp(sql, "REPLACE", 7) == 0;
}

static int sqlite_prepare(struct dbs_bstmt **out, struct dbs_conn *base, const char *sql,
                          struct dbs_err *err)
{
    struct sqlite_conn *c = (struct sqlite_conn *)base;
    struct sqlite_stmt *st;
    int rc;

    *out = NULL;
    dbs__sqlite_settle(c);
    if ((st = calloc(1, sizeof(*st))) == NULL)
        return dbs__err_set(err, DBS_ENOMEM, "out of memory preparing a statement");
    if ((rc = prepare_one(c->db, sql, &st->st, err)) < 0) {
        free(st);
        return rc;
    }
    st->base.conn = base;
    st->is_insert = starts_with_insert(sql);
    st->counts_rows = !sqlite3_stmt_readonly(st->st) && sqlite3_column_count(st->st) == 0;
    st->target.sql = sqlite3_sql(st->st);
    *out = &st->base;
    return DBS_OK;
}

static void sqlite_finalize(struct dbs_bstmt *base)
{
    struct sqlite_stmt *st = (struct sqlite_stmt *)base;

    dbs__sqlite_settle((struct sqlite_conn *)base->conn);
    sqlite3_finalize(st->st);
    free(st);
}

static int sqlite_param_count(struct dbs_bstmt *base)
{
    return sqlite3_bind_parameter_count(((struct sqlite_stmt *)base)->st);
}

static int sqlite_bind(struct dbs_bstmt *base, int idx, const struct dbs_value *v,
                       struct dbs_err *err)
{
    struct sqlite_stmt *st = (struct sqlite_stmt *)base;
    int rc;

    dbs__sqlite_settle((struct sqlite_conn *)base->conn);
    switch (v->type) {
    case DBS_TYPE_INT:
        rc = sqlite3_bind_int64(st->st, idx, v->i);
        break;
    case DBS_TYPE_DOUBLE:
        rc = sqlite3_bind_double(st->st, idx, v->d);
        break;
    case DBS_TYPE_TEXT:
        rc = sqlite3_bind_text64(st->st, idx, v->p, v->n,
                                 v->borrowed ? SQLITE_STATIC : SQLITE_TRANSIENT, SQLITE_UTF8);
        break;
    case DBS_TYPE_BLOB:
        /* zeroblob keeps an empty blob a blob, never NULL */
        rc = v->n == 0 ? sqlite3_bind_zeroblob(st->st, idx, 0)
                       : sqlite3_bind_blob64(st->st, idx, v->p, v->n,
                                                v->borrowed ? SQLITE_STATIC : SQLITE_TRANSIENT);
        break;
    default:
        rc = sqlite3_bind_null(st->st, idx);
        break;
    }
    if (rc == SQLITE_OK)
        return DBS_OK;
    return dbs__sqlite_error(sqlite3_db_handle(st->st), rc, NULL, err);
}

static int sqlite_step(struct dbs_bstmt *base, struct dbs_err *err)
{
    struct sqlite_stmt *st = (struct sqlite_stmt *)base;
    struct sqlite_conn *c = (struct sqlite_conn *)base->conn;
    sqlite3 *db = c->db;
    int rc;

    dbs__sqlite_settle(c);
    if (st->finished) {
        /* (not left to SQLite's automatic reset: a build may omit it) */
        sqlite3_reset(st->st);
        st->finished = st->executing = 0;
    }
    if (!st->executing) {
        st->executing = 1;
        st->total_before = sqlite3_total_changes64(db);
        st->affected = st->insert_id = 0;
    }
    rc = sqlite3_step(st->st);
    if (rc == SQLITE_ROW)
        return DBS_ROW;
    st->finished = 1;      /* the next step is a new execution: step_reruns */
    if (rc == SQLITE_DONE) {
        /* changes() is that of the last DML statement, even for DDL: trust it
         * only when this execution changed something. Cascades are not counted. */
        if ((st->counts_rows || st->is_insert) && sqlite3_total_changes64(db) != st->total_before) {
            if (st->counts_rows)
                st->affected = sqlite3_changes64(db);
            if (st->is_insert)
                st->insert_id = sqlite3_last_insert_rowid(db);
        }
        return DBS_DONE;
    }
    return dbs__sqlite_step_error(c, rc, sqlite3_extended_errcode(db), &st->target, err);
}

static int sqlite_reset(struct dbs_bstmt *base, struct dbs_err *err)
{
    struct sqlite_stmt *st = (struct sqlite_stmt *)base;

    (void)err;
    dbs__sqlite_settle((struct sqlite_conn *)base->conn);
    /* reset returns the last step's error again; that was already reported */
    sqlite3_reset(st->st);
    st->finished = st->executing = 0;
    return DBS_OK;
}

static int sqlite_column_count(struct dbs_bstmt *base)
{
    return sqlite3_column_count(((struct sqlite_stmt *)base)->st);
}

static const char *sqlite_column_name(struct dbs_bstmt *base, int col)
{
    return sqlite3_column_name(((struct sqlite_stmt *)base)->st, col);
}

static void sqlite_column_value(struct dbs_bstmt *base, int col, struct dbs_value *out)
{
    sqlite3_stmt *st = ((struct sqlite_stmt *)base)->st;

    memset(out, 0, sizeof(*out));
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER:
        out->type = DBS_TYPE_INT;
        out->i = sqlite3_column_int64(st, col);
        break;
    case SQLITE_FLOAT:
        out->type = DBS_TYPE_DOUBLE;
        out->d = sqlite3_column_double(st, col);
        break;
    case SQLITE_TEXT:
        out->type = DBS_TYPE_TEXT;
        out->p = sqlite3_column_text(st, col);
        out->n = (size_t)sqlite3_column_bytes(st, col);
        break;
    case SQLITE_BLOB:
        out->type = DBS_TYPE_BLOB;
        out->p = sqlite3_column_blob(st, col);
        out->n = (size_t)sqlite3_column_bytes(st, col);
        if (out->p == NULL)
            out->p = "";
        break;
    default:
        out->type = DBS_TYPE_NULL;
        break;
    }
}

static int64_t sqlite_rows_affected(struct dbs_bstmt *base)
{
    return ((struct sqlite_stmt *)base)->affected;
}

static int64_t sqlite_last_insert_id(struct dbs_bstmt *base)
{
    return ((struct sqlite_stmt *)base)->insert_id;
}

static const char *const ddl_types[] = {
    [DBS_FT_INT64] = "INTEGER", [DBS_FT_INT32] = "INTEGER", [DBS_FT_DOUBLE] = "REAL",
    [DBS_FT_BOOL] = "INTEGER", [DBS_FT_TEXT] = "TEXT", [DBS_FT_CHARS] = "VARCHAR(%zu)",
    [DBS_FT_BLOB] = "BLOB", [DBS_FT_TIMESTAMP] = "INTEGER",
};

const struct dbs_backend dbs__backend_sqlite = {
    .version = DBS_BACKEND_VERSION,
    .name = "sqlite",
    .schemes = schemes,
    .options = options,
    .open = sqlite_open,
    .close = sqlite_close,
    .exec = sqlite_exec,
    .prepare = sqlite_prepare,
    .finalize = sqlite_finalize,
    .param_count = sqlite_param_count,
    .bind = sqlite_bind,
    .step = sqlite_step,
    .reset = sqlite_reset,
    .column_count = sqlite_column_count,
    .column_name = sqlite_column_name,
    .column_value = sqlite_column_value,
    .rows_affected = sqlite_rows_affected,
    .last_insert_id = sqlite_last_insert_id,
    .in_transaction = sqlite_in_transaction,
    .begin = sqlite_begin,
    .step_reruns = 1,
    .ddl_types = ddl_types,
    .ddl_autoinc_pk = "INTEGER PRIMARY KEY AUTOINCREMENT",
    /* RETURNING rows come back "in an arbitrary order" (lang_returning.html),
     * and in-process a cached one-row INSERT is as fast: one row per statement. */
    .insert_returning_rows = 0,
    .max_params = 32766,
    /* DROP TABLE deletes the rows first, and an ON DELETE RESTRICT between rows
     * of one table fires at once, whatever the order: drop_all of a tree with
     * rows failed. Off for the DDL (a no-op inside a transaction: there the
     * engine's checks stay, and so does the error). */
    .ddl_begin_sql = "PRAGMA foreign_keys = OFF",
    .ddl_end_sql = "PRAGMA foreign_keys = ON",
};
