/* Private: the batch object, shared by batch.c (the API) and batch_run.c (running rows). */
#ifndef DBS_SRC_BATCH_H
#define DBS_SRC_BATCH_H

#include "dbsession/batch.h"
#include "session.h"

#define DBS__NO_VALUE ((size_t)-1)   /* offs[] entry of an SQL NULL */

struct dbs_batch {
    dbs_session *s;
    dbs_batch_options o;
    int level;                  /* depth of the batch's own level */
    int guarded;                /* the session guards level for this batch */
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

/* batch_run.c: the report, stopping. */
void dbs__batch_error_clear(dbs_batch_error *e);
/* Insert e (taking its strings) keeping row order. */
int dbs__batch_error_add(dbs_batch *b, dbs_batch_error *e);
/* Pop the batch's guard if it is the innermost one. */
void dbs__batch_guard_drop(dbs_batch *b);
/* Roll back everything of the batch (the failure's error is kept); returns rc. */
int dbs__batch_stop(dbs_batch *b, int rc);

#endif
