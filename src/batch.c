/*
 * Batches with per-row atomicity: chunks of rows in one savepoint each; a
 * failing chunk is rolled back, its good prefix runs again (those rows
 * succeeded from this very state), the bad row is reported and skipped, and
 * the rest goes on in a new chunk.
 *
 * Cost per row, for a bad-row rate p and chunk c: 2/c savepoint statements
 * plus p * (c/2 + 3) for re-run prefixes. It is least at c = sqrt(4/p), so
 * the chunk follows the rate seen lately: chunk_size (2 statements per 500
 * rows) while rows are clean, about 20 rows at 1% bad (~1.2x the inserts).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dbsession/batch.h"
#include "session.h"

#define NO_VALUE ((size_t)-1)   /* offs[] entry of an SQL NULL */

struct dbs_batch {
    dbs_session *s;
    dbs_batch_options o;
    int level;                  /* depth of the batch's own level */
    int status;                 /* DBS_OK, or the kind that stopped the batch */
    int finished;
    int chunk;                  /* current segment size, 1..o.chunk_size */
    uint64_t seen_rows, seen_bad;   /* recent rows run and bad ones, for the chunk size */
    dbs_stmt *ins;              /* insert batches: the prepared INSERT */
    int ncols;
    dbs_batch_fn fn;            /* function batches */
    void *payload;
    /* rows added and not yet run */
    size_t n_pending;
    uint64_t *rownos;           /* [chunk_size] row numbers */
    const void **rows;          /* fn: [chunk_size] borrowed rows */
    size_t *offs, *lens;        /* insert: [chunk_size * ncols] into arena */
    char *arena;
    size_t arena_used, arena_cap;
    uint64_t next_row, applied, skipped;
    dbs_batch_error *errs;      /* sorted by row */
    size_t n_errs, cap_errs;
};

void dbs_batch_options_init(dbs_batch_options *o)
{
    if (o == NULL)
        return;
    memset(o, 0, sizeof(*o));
    o->version = DBS_BATCH_OPTIONS_VERSION;
    o->mode = DBS_BATCH_SKIP;
    o->chunk_size = 500;
}

/* ---- the report ---- */

static void error_clear(dbs_batch_error *e)
{
    free((char *)e->column);
    free((char *)e->message);
    memset(e, 0, sizeof(*e));
}

/* The error of the row that just failed with rc, copied out of the session. */
static int error_capture(dbs_batch_error *out, dbs_session *s, int rc, uint64_t row)
{
    const dbs_error *e = dbs_error_last(s);
    size_t n = 0;
    char *col = NULL;
    int i;

    memset(out, 0, sizeof(*out));
    out->row = row;
    out->kind = rc;
    if (e->status == rc && e->n_columns > 0) {
        for (i = 0; i < e->n_columns; i++)
            n += strlen(e->columns[i]) + 1;
        if ((col = malloc(n)) == NULL)
            return DBS_ENOMEM;
        col[0] = '\0';
        for (i = 0; i < e->n_columns; i++)
            strcat(strcat(col, i > 0 ? "," : ""), e->columns[i]);
    }
    out->column = col;
    out->message = strdup(e->status == rc && e->message[0] != '\0' ? e->message
                                                                     : dbs_strerror(rc));
    return out->message != NULL ? DBS_OK : (error_clear(out), DBS_ENOMEM);
}

/* Insert keeping row order: rejects may already be there for later rows. */
static int error_add(dbs_batch *b, dbs_batch_error *e)
{
    size_t at = b->n_errs;

    if (b->n_errs == b->cap_errs) {
        size_t cap = b->cap_errs ? 2 * b->cap_errs : 16;
        dbs_batch_error *p = realloc(b->errs, cap * sizeof(*p));
        if (p == NULL) {
            error_clear(e);
            return dbs__err_set(&b->s->err, DBS_ENOMEM, "out of memory in the batch report");
        }
        b->errs = p;
        b->cap_errs = cap;
    }
    while (at > 0 && b->errs[at - 1].row > e->row)
        at--;
    memmove(b->errs + at + 1, b->errs + at, (b->n_errs - at) * sizeof(*e));
    b->errs[at] = *e;
    b->n_errs++;
    memset(e, 0, sizeof(*e));
    return DBS_OK;
}

/* ---- stopping ---- */

/* Kinds that are the row's fault: skip it. Anything else stops the batch. */
static int row_kind(int rc)
{
    int f = dbs_status_family(rc);

    return f == DBS_ECONSTRAINT || f == DBS_EDATA || rc == DBS_ERROR;
}

static void guard_drop(dbs_batch *b)
{
    dbs_session *s = b->s;

    if (s->n_guards > 0 && s->guards[s->n_guards - 1] == b->level)
        dbs__session_guard_pop(s);
}

/* Roll back everything of the batch (the failure's error is kept). */
static int stop(dbs_batch *b, int rc)
{
    dbs_session *s = b->s;

    b->status = rc;
    b->n_pending = 0;
    b->arena_used = 0;
    guard_drop(b);
    while (s->depth >= b->level && s->depth > 0)
        if (dbs_session_rollback(s) < 0 && s->depth >= b->level
            && s->state == DBS_TXN_ACTIVE)
            break;
    return rc;
}

/* Record row failure e (taking it) and stop with its kind. */
static int stop_at(dbs_batch *b, dbs_batch_error *e)
{
    int rc = e->kind;

    error_add(b, e);
    return stop(b, rc);
}

/* ---- running rows ---- */

static int apply_insert(dbs_batch *b, size_t i)
{
    const size_t *off = b->offs + i * (size_t)b->ncols, *len = b->lens + i * (size_t)b->ncols;
    int c, rc;

    for (c = 0; c < b->ncols; c++) {
        rc = off[c] == NO_VALUE ? dbs_stmt_bind_null(b->ins, c + 1)
                                : dbs_stmt_bind_textn(b->ins, c + 1, b->arena + off[c], len[c]);
        if (rc < 0)
            return rc;
    }
    rc = dbs_stmt_step(b->ins);
    if (rc == DBS_ROW)
        rc = dbs_stmt_reset(b->ins);
    return rc < 0 ? rc : DBS_OK;
}

/* Pending row i through the target; levels the function left open are misuse. */
static int apply(dbs_batch *b, size_t i)
{
    dbs_session *s = b->s;
    int depth = s->depth, rc;

    if (b->ins != NULL)
        return apply_insert(b, i);
    rc = b->fn(s, b->rows[i], b->payload);
    if (s->depth > depth) {
        while (s->depth > depth && dbs_session_rollback(s) == DBS_OK)
            ;
        return dbs__err_set(&s->err, DBS_EMISUSE, "batch row function returned with a "
                            "level of its own still open; rolled back");
    }
    if (s->depth < depth)
        return dbs__err_set(&s->err, DBS_EMISUSE, "batch row function closed the level it "
                            "ran in");
    return rc < 0 ? rc : DBS_OK;
}

/* Row *bad failed with rc: keep its error, roll the savepoint back if open. */
static int segment_failed(dbs_batch *b, int rc, int sp, size_t bad, dbs_batch_error *e)
{
    dbs_session *s = b->s;

    if (error_capture(e, s, rc, b->rownos[bad]) < 0)
        rc = dbs__err_set(&s->err, DBS_ENOMEM, "out of memory in the batch report");
    if (sp && s->depth > b->level)
        dbs_session_rollback(s);
    return rc;
}

/*
 * Run pending rows [from, to): in a savepoint when sp, released on success.
 * On failure *bad is the failing row, *e its error, and the savepoint is
 * rolled back.
 */
static int run_segment(dbs_batch *b, size_t from, size_t to, int sp, size_t *bad,
                       dbs_batch_error *e)
{
    dbs_session *s = b->s;
    size_t i;
    int rc;

    *bad = from;
    if (sp && (rc = dbs_session_begin(s)) < 0)
        return segment_failed(b, rc, 0, from, e);
    if (sp && (rc = dbs__session_guard_push(s)) < 0)
        return segment_failed(b, rc, sp, from, e);
    for (i = from, rc = DBS_OK; i < to; i++)
        if ((rc = apply(b, i)) < 0)
            break;
    if (sp)
        dbs__session_guard_pop(s);
    if (rc == DBS_OK && sp && (rc = dbs_session_commit(s)) < 0)
        i = to - 1;
    if (rc == DBS_OK)
        return DBS_OK;
    *bad = i;
    return segment_failed(b, rc, sp, i, e);
}

/* Learn from a segment of n rows, bad of them bad: the next segment's size. */
static void adapt(dbs_batch *b, size_t n, int bad)
{
    double c;

    b->seen_rows += n;
    b->seen_bad += (uint64_t)bad;
    if (b->seen_rows > 8 * (uint64_t)b->o.chunk_size) {   /* forget old history */
        b->seen_rows /= 2;
        b->seen_bad /= 2;
    }
    c = b->seen_bad == 0 ? b->o.chunk_size : sqrt(4.0 * (double)b->seen_rows / b->seen_bad);
    b->chunk = c >= b->o.chunk_size ? b->o.chunk_size : c < 1.0 ? 1 : (int)c;
}

static int flush_skip(dbs_batch *b)
{
    dbs_batch_error e, e2;
    size_t pos = 0, len, bad, bad2;
    int rc;

    while (pos < b->n_pending) {
        len = b->n_pending - pos < (size_t)b->chunk ? b->n_pending - pos : (size_t)b->chunk;
        if ((rc = run_segment(b, pos, pos + len, 1, &bad, &e)) == DBS_OK) {
            b->applied += len;
            pos += len;
            adapt(b, len, 0);
            continue;
        }
        if (!row_kind(rc) || b->s->state != DBS_TXN_ACTIVE)
            return stop_at(b, &e);
        adapt(b, bad - pos + 1, 1);
        /* The rows before the bad one succeeded from this same state: again, alone. */
        if (bad > pos && (rc = run_segment(b, pos, bad, 1, &bad2, &e2)) < 0) {
            error_clear(&e);
            if (!row_kind(rc) || b->s->state != DBS_TXN_ACTIVE)
                return stop_at(b, &e2);
            error_clear(&e2);
            b->chunk = 1;    /* the database changed under us: row by row from pos */
            continue;
        }
        b->applied += bad - pos;
        b->skipped++;
        if ((rc = error_add(b, &e)) < 0)
            return stop(b, rc);
        pos = bad + 1;
    }
    return DBS_OK;
}

static int flush_all_or_nothing(dbs_batch *b)
{
    dbs_batch_error e;
    size_t bad;
    int rc;

    if ((rc = run_segment(b, 0, b->n_pending, 0, &bad, &e)) < 0) {
        if (row_kind(rc))
            b->skipped++;
        return stop_at(b, &e);
    }
    b->applied += b->n_pending;
    return DBS_OK;
}

int dbs_batch_flush(dbs_batch *b)
{
    int rc;

    if (b == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "dbs_batch_flush: batch is NULL");
    if (b->status < 0)
        return b->status;
    if (b->finished)
        return dbs__err_set(&b->s->err, DBS_EMISUSE, "batch already finished");
    if (b->n_pending == 0)
        return DBS_OK;
    if (b->s->depth != b->level)
        return stop(b, dbs__err_set(&b->s->err, DBS_EMISUSE, "batch: the session is at depth "
                                    "%d, the batch's level is %d", b->s->depth, b->level));
    rc = b->o.mode == DBS_BATCH_ALL_OR_NOTHING ? flush_all_or_nothing(b) : flush_skip(b);
    b->n_pending = 0;
    b->arena_used = 0;
    if (rc == DBS_OK)
        dbs__err_clear(&b->s->err);   /* skipped rows are in the report, not failures */
    return rc;
}

/* ---- building ---- */

static int check_options(dbs_session *s, const dbs_batch_options *o)
{
    if (o->version != DBS_BATCH_OPTIONS_VERSION)
        return dbs__err_set(&s->err, DBS_EMISUSE, "batch options: version is not "
                            "DBS_BATCH_OPTIONS_VERSION (use dbs_batch_options_init)");
    if (o->mode != DBS_BATCH_SKIP && o->mode != DBS_BATCH_ALL_OR_NOTHING)
        return dbs__err_set(&s->err, DBS_EMISUSE, "batch options: unknown mode %d", o->mode);
    if (o->chunk_size < 1)
        return dbs__err_set(&s->err, DBS_EMISUSE, "batch options: chunk_size must be at "
                            "least 1");
    return DBS_OK;
}

/* The batch shell: options, pending arrays. Owns nothing of the session yet. */
static int batch_alloc(dbs_batch **out, dbs_session *s, const dbs_batch_options *opts,
                       int ncols)
{
    dbs_batch *b;
    size_t n;
    int rc;

    if ((b = calloc(1, sizeof(*b))) == NULL)
        return dbs__err_set(&s->err, DBS_ENOMEM, "out of memory starting a batch");
    b->s = s;
    if (opts != NULL && (rc = check_options(s, opts)) < 0) {
        free(b);
        return rc;
    }
    if (opts != NULL)
        b->o = *opts;
    else
        dbs_batch_options_init(&b->o);
    b->chunk = b->o.chunk_size;
    b->ncols = ncols;
    b->next_row = 1;
    n = (size_t)b->o.chunk_size;
    b->rownos = malloc(n * sizeof(*b->rownos));
    if (ncols > 0) {
        b->offs = malloc(n * (size_t)ncols * sizeof(*b->offs));
        b->lens = malloc(n * (size_t)ncols * sizeof(*b->lens));
    } else {
        b->rows = malloc(n * sizeof(*b->rows));
    }
    *out = b;
    if (b->rownos == NULL || (ncols > 0 ? b->lens == NULL || b->offs == NULL : b->rows == NULL))
        return dbs__err_set(&s->err, DBS_ENOMEM, "out of memory starting a batch");
    return DBS_OK;
}

/* Open the batch's own level and protect it. */
static int batch_open_level(dbs_batch *b)
{
    int rc;

    if ((rc = dbs_session_begin(b->s)) < 0)
        return rc;
    b->level = b->s->depth;
    if ((rc = dbs__session_guard_push(b->s)) < 0) {
        dbs_session_rollback(b->s);
        b->level = 0;
    }
    return rc;
}

/* INSERT INTO "table" ("a", "b") VALUES (?, ?), names quoted for the engine. */
static int insert_sql(char **out, dbs_session *s, const char *table, const char *const *cols,
                      int n)
{
    char **q = calloc((size_t)n + 1, sizeof(*q)), *sql = NULL;
    size_t len = 32 + 3 * (size_t)n;
    int i, rc = DBS_OK;

    if (q == NULL)
        return dbs__err_set(&s->err, DBS_ENOMEM, "out of memory building an INSERT");
    for (i = 0; i <= n && rc == DBS_OK; i++)
        if ((rc = dbs_session_quote_ident(s, i == 0 ? table : cols[i - 1], &q[i])) == DBS_OK)
            len += strlen(q[i]) + 2;
    if (rc == DBS_OK && (sql = malloc(len)) == NULL)
        rc = dbs__err_set(&s->err, DBS_ENOMEM, "out of memory building an INSERT");
    if (sql != NULL) {
        strcat(strcat(strcat(strcpy(sql, "INSERT INTO "), q[0]), " ("), q[1]);
        for (i = 2; i <= n; i++)
            strcat(strcat(sql, ", "), q[i]);
        strcat(sql, ") VALUES (?");
        for (i = 1; i < n; i++)
            strcat(sql, ", ?");
        strcat(sql, ")");
    }
    for (i = 0; i <= n; i++)
        dbs_free(q[i]);
    free(q);
    *out = sql;
    return rc;
}

int dbs_batch_new_insert(dbs_batch **out, dbs_session *s, const char *table,
                         const char *const *columns, int n_columns,
                         const dbs_batch_options *opts)
{
    dbs_batch *b = NULL;
    char *sql = NULL;
    int i, rc;

    if (out != NULL)
        *out = NULL;
    if (s == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "dbs_batch_new_insert: no session");
    dbs__err_clear(&s->err);
    if (out == NULL || table == NULL || columns == NULL || n_columns < 1)
        return dbs__err_set(&s->err, DBS_EMISUSE, "dbs_batch_new_insert: NULL argument or "
                            "no columns");
    for (i = 0; i < n_columns; i++)
        if (columns[i] == NULL)
            return dbs__err_set(&s->err, DBS_EMISUSE, "dbs_batch_new_insert: column %d is "
                                "NULL", i + 1);
    if ((rc = batch_alloc(&b, s, opts, n_columns)) < 0
        || (rc = insert_sql(&sql, s, table, columns, n_columns)) < 0
        || (rc = dbs_stmt_prepare(&b->ins, s, sql)) < 0
        || (rc = batch_open_level(b)) < 0) {
        free(sql);
        dbs_batch_free(b);
        return rc;
    }
    free(sql);
    *out = b;
    return DBS_OK;
}

int dbs_batch_new_fn(dbs_batch **out, dbs_session *s, dbs_batch_fn fn,
                     const dbs_batch_options *opts, void *payload)
{
    dbs_batch *b = NULL;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (s == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "dbs_batch_new_fn: no session");
    dbs__err_clear(&s->err);
    if (out == NULL || fn == NULL)
        return dbs__err_set(&s->err, DBS_EMISUSE, "dbs_batch_new_fn: NULL argument");
    if ((rc = batch_alloc(&b, s, opts, 0)) < 0 || (rc = batch_open_level(b)) < 0) {
        dbs_batch_free(b);
        return rc;
    }
    b->fn = fn;
    b->payload = payload;
    *out = b;
    return DBS_OK;
}

/* ---- adding rows ---- */

/* Common checks of the add calls; kind = what the batch must be. */
static int can_add(dbs_batch *b, int insert, const char *who)
{
    if (b == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "%s: batch is NULL", who);
    if (b->status < 0)
        return b->status;
    dbs__err_clear(&b->s->err);
    if (b->finished)
        return dbs__err_set(&b->s->err, DBS_EMISUSE, "%s: batch already finished", who);
    if (insert >= 0 && (b->ins != NULL) != insert)
        return dbs__err_set(&b->s->err, DBS_EMISUSE, "%s: this is %s batch", who,
                            b->ins != NULL ? "an insert" : "a function");
    return DBS_OK;
}

static int row_added(dbs_batch *b)
{
    b->rownos[b->n_pending++] = b->next_row++;
    return b->n_pending == (size_t)b->o.chunk_size ? dbs_batch_flush(b) : DBS_OK;
}

static int arena_reserve(dbs_batch *b, size_t more)
{
    size_t cap = b->arena_cap ? b->arena_cap : 4096;
    char *p;

    if (b->arena_used + more <= b->arena_cap)
        return DBS_OK;
    while (cap < b->arena_used + more)
        cap *= 2;
    if ((p = realloc(b->arena, cap)) == NULL)
        return dbs__err_set(&b->s->err, DBS_ENOMEM, "out of memory holding batch rows");
    b->arena = p;
    b->arena_cap = cap;
    return DBS_OK;
}

int dbs_batch_add_text(dbs_batch *b, const char *const *values, const size_t *lens)
{
    size_t base, total = 0, n;
    int c, rc;

    if ((rc = can_add(b, 1, "dbs_batch_add_text")) < 0)
        return rc;
    if (values == NULL)
        return dbs__err_set(&b->s->err, DBS_EMISUSE, "dbs_batch_add_text: values is NULL");
    for (c = 0; c < b->ncols; c++)
        if (values[c] != NULL)
            total += (lens != NULL ? lens[c] : strlen(values[c])) + 1;
    if ((rc = arena_reserve(b, total)) < 0)
        return rc;
    base = b->n_pending * (size_t)b->ncols;
    for (c = 0; c < b->ncols; c++) {
        if (values[c] == NULL) {
            b->offs[base + c] = NO_VALUE;
            b->lens[base + c] = 0;
            continue;
        }
        n = lens != NULL ? lens[c] : strlen(values[c]);
        memcpy(b->arena + b->arena_used, values[c], n);
        b->arena[b->arena_used + n] = '\0';
        b->offs[base + c] = b->arena_used;
        b->lens[base + c] = n;
        b->arena_used += n + 1;
    }
    return row_added(b);
}

int dbs_batch_add_row(dbs_batch *b, const void *row)
{
    int rc;

    if ((rc = can_add(b, 0, "dbs_batch_add_row")) < 0)
        return rc;
    b->rows[b->n_pending] = row;
    return row_added(b);
}

int dbs_batch_reject(dbs_batch *b, int kind, const char *column, const char *message)
{
    dbs_batch_error e = { 0 };
    int rc;

    if ((rc = can_add(b, -1, "dbs_batch_reject")) < 0)
        return rc;
    if (kind >= 0)
        return dbs__err_set(&b->s->err, DBS_EMISUSE, "dbs_batch_reject: kind %d is not an "
                            "error kind", kind);
    /* all or nothing: an earlier bad row must be the one reported */
    if (b->o.mode == DBS_BATCH_ALL_OR_NOTHING && (rc = dbs_batch_flush(b)) < 0)
        return rc;
    e.row = b->next_row++;
    e.kind = kind;
    e.column = column != NULL ? strdup(column) : NULL;
    e.message = strdup(message != NULL ? message : dbs_strerror(kind));
    if (e.message == NULL || (column != NULL && e.column == NULL)) {
        error_clear(&e);
        return dbs__err_set(&b->s->err, DBS_ENOMEM, "out of memory in the batch report");
    }
    b->skipped++;
    if ((rc = error_add(b, &e)) < 0)
        return rc;
    if (b->o.mode == DBS_BATCH_ALL_OR_NOTHING)
        return stop(b, dbs__err_set(&b->s->err, kind, "row %llu rejected: %s",
                                    (unsigned long long)b->next_row - 1,
                                    message != NULL ? message : dbs_strerror(kind)));
    return DBS_OK;
}

/* ---- finishing ---- */

int dbs_batch_finish(dbs_batch *b)
{
    dbs_session *s;
    int rc;

    if ((rc = can_add(b, -1, "dbs_batch_finish")) < 0 || (rc = dbs_batch_flush(b)) < 0)
        return rc;
    s = b->s;
    if (s->depth != b->level)
        return stop(b, dbs__err_set(&s->err, DBS_EMISUSE, "dbs_batch_finish: the session is "
                                    "at depth %d, the batch's level is %d", s->depth,
                                    b->level));
    guard_drop(b);
    if ((rc = dbs_session_commit(s)) < 0)
        return stop(b, rc);
    b->finished = 1;
    return DBS_OK;
}

int dbs_batch_run_source(dbs_batch *b, int (*next)(dbs_batch *b, void *payload),
                         void *payload)
{
    int rc;

    if ((rc = can_add(b, -1, "dbs_batch_run_source")) < 0)
        return rc;
    if (next == NULL)
        return dbs__err_set(&b->s->err, DBS_EMISUSE, "dbs_batch_run_source: next is NULL");
    while ((rc = next(b, payload)) == DBS_OK && b->status == DBS_OK)
        ;
    if (b->status < 0)
        return b->status;
    if (rc < 0)
        return stop(b, rc);
    return dbs_batch_finish(b);
}

int dbs_batch_run_list(dbs_batch **out, dbs_session *s, const void *rows, size_t n_rows,
                       size_t row_size, dbs_batch_fn fn, const dbs_batch_options *opts,
                       void *payload)
{
    dbs_batch *b = NULL;
    size_t i;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (s != NULL && out != NULL && rows == NULL && n_rows > 0)
        return dbs__err_set(&s->err, DBS_EMISUSE, "dbs_batch_run_list: rows is NULL");
    if ((rc = dbs_batch_new_fn(&b, s, fn, opts, payload)) < 0)
        return rc;
    *out = b;
    for (i = 0; i < n_rows; i++)
        if ((rc = dbs_batch_add_row(b, (const char *)rows + i * row_size)) < 0)
            return rc;
    return dbs_batch_finish(b);
}

/* ---- the report ---- */

void dbs_batch_counts(uint64_t *applied_out, uint64_t *skipped_out, uint64_t *pending_out,
                      const dbs_batch *b)
{
    if (applied_out != NULL)
        *applied_out = b != NULL ? b->applied : 0;
    if (skipped_out != NULL)
        *skipped_out = b != NULL ? b->skipped : 0;
    if (pending_out != NULL)
        *pending_out = b != NULL ? b->n_pending : 0;
}

int dbs_batch_status(const dbs_batch *b)
{
    return b != NULL ? b->status : DBS_EMISUSE;
}

size_t dbs_batch_error_count(const dbs_batch *b)
{
    return b != NULL ? b->n_errs : 0;
}

const dbs_batch_error *dbs_batch_error_at(const dbs_batch *b, size_t i)
{
    return b != NULL && i < b->n_errs ? &b->errs[i] : NULL;
}

void dbs_batch_free(dbs_batch *b)
{
    size_t i;

    if (b == NULL)
        return;
    if (b->status == DBS_OK && !b->finished && b->level > 0)
        stop(b, DBS_EMISUSE);
    dbs_stmt_free(b->ins);
    for (i = 0; i < b->n_errs; i++)
        error_clear(&b->errs[i]);
    free(b->errs);
    free(b->rownos);
    free(b->rows);
    free(b->offs);
    free(b->lens);
    free(b->arena);
    free(b);
}
