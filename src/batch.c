/* Batches: building, adding rows, finishing, the report. Running them: batch_run.c. */
#include <stdlib.h>
#include <string.h>

#include "batch.h"

void dbs_batch_options_init(dbs_batch_options *o)
{
    if (o == NULL)
        return;
    memset(o, 0, sizeof(*o));
    o->version = DBS_BATCH_OPTIONS_VERSION;
    o->mode = DBS_BATCH_SKIP;
    o->chunk_size = 500;
}

/* ---- building ---- */

static int check_options(dbs_session *s, const dbs_batch_options *o)
{
    const char *why = o->version != DBS_BATCH_OPTIONS_VERSION
                          ? "version is not DBS_BATCH_OPTIONS_VERSION (use dbs_batch_options_init)"
                      : o->mode != DBS_BATCH_SKIP && o->mode != DBS_BATCH_ALL_OR_NOTHING
                          ? "unknown mode"
                      : o->chunk_size < 1 ? "chunk_size must be at least 1" : NULL;

    return why != NULL ? dbs__err_set(&s->err, DBS_EMISUSE, "batch options: %s", why) : DBS_OK;
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
    s->n_children++;          /* the session cannot close under the batch */
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
        return rc;
    }
    b->guarded = 1;
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

/* Checks shared by the constructors; ok = the other arguments are fine. */
static int new_args(dbs_batch **out, dbs_session *s, int ok, const char *who)
{
    if (out != NULL)
        *out = NULL;
    if (s == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "%s: session is NULL", who);
    dbs__err_clear(&s->err);
    if (out == NULL || !ok)
        return dbs__err_set(&s->err, DBS_EMISUSE, "%s: NULL argument or no columns", who);
    return DBS_OK;
}

/* A batch on s: its arrays, the INSERT prepared (sql != NULL), its own level open. */
static int batch_start(dbs_batch **out, dbs_session *s, const dbs_batch_options *opts,
                       int ncols, const char *sql)
{
    dbs_batch *b = NULL;
    int rc;

    if ((rc = batch_alloc(&b, s, opts, ncols)) < 0
        || (sql != NULL && (rc = dbs_stmt_prepare(&b->ins, s, sql)) < 0)
        || (rc = batch_open_level(b)) < 0) {
        dbs_batch_free(b);
        return rc;
    }
    *out = b;
    return DBS_OK;
}

int dbs_batch_new_insert(dbs_batch **out, dbs_session *s, const char *table,
                         const char *const *columns, int n_columns,
                         const dbs_batch_options *opts)
{
    char *sql = NULL;
    int rc;

    if ((rc = new_args(out, s, table != NULL && columns != NULL && n_columns > 0,
                       "dbs_batch_new_insert")) < 0
        || (rc = insert_sql(&sql, s, table, columns, n_columns)) < 0)
        return rc;
    rc = batch_start(out, s, opts, n_columns, sql);
    free(sql);
    return rc;
}

int dbs_batch_new_fn(dbs_batch **out, dbs_session *s, dbs_batch_fn fn,
                     const dbs_batch_options *opts, void *payload)
{
    int rc;

    if ((rc = new_args(out, s, fn != NULL, "dbs_batch_new_fn")) < 0
        || (rc = batch_start(out, s, opts, 0, NULL)) < 0)
        return rc;
    (*out)->fn = fn;
    (*out)->payload = payload;
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
            b->offs[base + c] = DBS__NO_VALUE;
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
        dbs__batch_error_clear(&e);
        return dbs__err_set(&b->s->err, DBS_ENOMEM, "out of memory in the batch report");
    }
    b->skipped++;
    if ((rc = dbs__batch_error_add(b, &e)) < 0)
        return rc;
    if (b->o.mode == DBS_BATCH_ALL_OR_NOTHING)
        return dbs__batch_stop(b, dbs__err_set(&b->s->err, kind, "row %llu rejected: %s",
                                               (unsigned long long)b->next_row - 1,
                                               message != NULL ? message
                                                               : dbs_strerror(kind)));
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
        return dbs__batch_stop(b, dbs__err_set(&s->err, DBS_EMISUSE, "dbs_batch_finish: the "
                                               "session is at depth %d, the batch's level "
                                               "is %d", s->depth, b->level));
    dbs__batch_guard_drop(b);
    if ((rc = dbs_session_commit(s)) < 0)
        return dbs__batch_stop(b, rc);
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
        return dbs__batch_stop(b, rc);
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
        dbs__batch_stop(b, DBS_EMISUSE);
    /* a batch stopped while another owner's level was open inside its own
     * could not roll back; its guard goes in any case, so that the program
     * can roll back once that owner is done */
    dbs__batch_guard_drop(b);
    b->s->n_children--;
    dbs_stmt_free(b->ins);
    for (i = 0; i < b->n_errs; i++)
        dbs__batch_error_clear(&b->errs[i]);
    free(b->errs);
    free(b->rownos);
    free(b->rows);
    free(b->offs);
    free(b->lens);
    free(b->arena);
    free(b);
}
