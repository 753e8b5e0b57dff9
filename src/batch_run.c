/*
 * Running a batch's rows: chunks of rows in one savepoint each; a failing
 * chunk is rolled back, its good prefix runs again (those rows succeeded
 * from this very state), the bad row is reported and skipped, and the rest
 * goes on in a new chunk.
 *
 * Cost per row, for a bad-row rate p and chunk c: 2/c savepoint statements
 * plus p * (c/2 + 3) for re-run prefixes. It is least at c = sqrt(4/p), so
 * the chunk follows the rate seen lately: chunk_size (2 statements per 500
 * rows) while rows are clean, about 20 rows at 1% bad (~1.2x the inserts).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

/* ---- the report ---- */

void dbs__batch_error_clear(dbs_batch_error *e)
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
        if ((col = malloc(n)) == NULL) {
            dbs__batch_error_clear(out);
            return DBS_ENOMEM;
        }
        col[0] = '\0';
        for (i = 0; i < e->n_columns; i++)
            strcat(strcat(col, i > 0 ? "," : ""), e->columns[i]);
    }
    out->column = col;
    out->message = strdup(e->status == rc && e->message[0] != '\0' ? e->message
                                                                     : dbs_strerror(rc));
    return out->message != NULL ? DBS_OK : (dbs__batch_error_clear(out), DBS_ENOMEM);
}

/* Insert keeping row order: rejects may already be there for later rows. */
int dbs__batch_error_add(dbs_batch *b, dbs_batch_error *e)
{
    size_t at = b->n_errs;

    if (b->n_errs == b->cap_errs) {
        size_t cap = b->cap_errs ? 2 * b->cap_errs : 16;
        dbs_batch_error *p = realloc(b->errs, cap * sizeof(*p));
        if (p == NULL) {
            dbs__batch_error_clear(e);
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

void dbs__batch_guard_drop(dbs_batch *b)
{
    if (b->guarded)
        dbs__session_guard_remove(b->s, b->level);
    b->guarded = 0;
}

/* Roll back everything of the batch (the failure's error is kept). A level
 * inside the batch's that another owner guards (dbs_txn_run) stops the
 * rollback there: what is left open is the program's to roll back. */
int dbs__batch_stop(dbs_batch *b, int rc)
{
    dbs_session *s = b->s;
    struct dbs_err kept;

    b->status = rc;
    b->n_pending = 0;
    b->arena_used = 0;
    dbs__batch_guard_drop(b);
    dbs__err_copy(&kept, &s->err);
    while (s->depth >= b->level && s->depth > 0) {
        int before = s->depth;
        if (dbs_session_rollback(s) < 0 && s->depth >= before)
            break;            /* refused (another owner's level): no progress */
    }
    dbs__err_copy(&s->err, &kept);
    return rc;
}

/* Record row failure e (taking it) and stop with its kind. A failure whose
 * report could not be made (no memory: e was left empty) stops the batch
 * with DBS_ENOMEM, not with the row's kind, and never with 0. */
static int stop_at(dbs_batch *b, dbs_batch_error *e)
{
    int rc = e->kind;

    if (e->message == NULL) {
        dbs__batch_error_clear(e);
        return dbs__batch_stop(b, DBS_ENOMEM);
    }
    dbs__batch_error_add(b, e);
    return dbs__batch_stop(b, rc);
}

/* ---- running rows ---- */

static int apply_insert(dbs_batch *b, size_t i)
{
    const size_t *off = b->offs + i * (size_t)b->ncols, *len = b->lens + i * (size_t)b->ncols;
    int c, rc;

    for (c = 0; c < b->ncols; c++) {
        rc = off[c] == DBS__NO_VALUE ? dbs_stmt_bind_null(b->ins, c + 1)
                                : dbs__stmt_bind_textn_ref(b->ins, c + 1, b->arena + off[c],
                                                           len[c]);
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
            dbs__batch_error_clear(&e);
            if (!row_kind(rc) || b->s->state != DBS_TXN_ACTIVE)
                return stop_at(b, &e2);
            dbs__batch_error_clear(&e2);
            b->chunk = 1;    /* the database changed under us: row by row from pos */
            continue;
        }
        b->applied += bad - pos;
        b->skipped++;
        if ((rc = dbs__batch_error_add(b, &e)) < 0)
            return dbs__batch_stop(b, rc);
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
        return dbs__batch_stop(b, dbs__err_set(&b->s->err, DBS_EMISUSE, "batch: the session "
                                               "is at depth %d, the batch's level is %d",
                                               b->s->depth, b->level));
    rc = b->o.mode == DBS_BATCH_ALL_OR_NOTHING ? flush_all_or_nothing(b) : flush_skip(b);
    b->n_pending = 0;
    b->arena_used = 0;
    if (rc == DBS_OK)
        dbs__err_clear(&b->s->err);   /* skipped rows are in the report, not failures */
    return rc;
}
