/**
 * @file dbsession/batch.h
 * @brief Many rows in one transaction, keeping the good ones and reporting
 *        each bad one (or rejecting the whole batch at the first bad row).
 *
 * Every row is atomic: its statements all apply or none does. Rows run in
 * chunks, each inside one savepoint, so a clean batch costs little more
 * than the bare statements; when a row of a chunk fails, the chunk is
 * rolled back, the rows before the bad one run again, the bad one is
 * reported and skipped, and the chunk size shrinks while bad rows are
 * frequent (down to one savepoint per row).
 *
 * @code
 * dbs_batch *b = NULL;
 * const char *cols[] = { "title", "project_id" };
 * rc = dbs_batch_new_insert(&b, s, "tasks", cols, 2, NULL);
 * while (... a row ...)
 *     if ((rc = dbs_batch_add_text(b, values, NULL)) < 0)
 *         break;                        // stopped: nothing is kept
 * if (rc == DBS_OK)
 *     rc = dbs_batch_finish(b);         // commits the good rows
 * for (i = 0; i < dbs_batch_error_count(b); i++)
 *     report(dbs_batch_error_at(b, i));
 * dbs_batch_free(b);
 * @endcode
 *
 * What stops a batch instead of skipping a row: a kind that is not the row's
 * fault, or after which the transaction is gone: the transient family
 * (deadlock, lock timeout), the connection family, txn_aborted, the statement
 * family (syntax, undefined, permission, read_only), misuse, nomem and the
 * other library kinds. The constraint and data families and unclassified
 * engine errors (DBS_ERROR, such as a trigger's SIGNAL) skip the row.
 */
#ifndef DBSESSION_BATCH_H
#define DBSESSION_BATCH_H

#include "common.h"
#include "status.h"
#include "error.h"
#include "session.h"

DBS_BEGIN_DECLS

typedef struct dbs_batch dbs_batch;

/** What happens to a bad row. */
typedef enum dbs_batch_mode {
    DBS_BATCH_SKIP = 0,           /**< skip and report it; keep the good rows */
    DBS_BATCH_ALL_OR_NOTHING = 1  /**< roll the whole batch back and stop */
} dbs_batch_mode;

/**
 * A caller's function applied to each row (dbs_batch_new_fn()): run the
 * row's statements on @p s and return DBS_OK, or the kind that failed.
 * It may run more than once for the same row (after a later row of its chunk
 * failed, on a rolled-back database); it must not commit or roll back the
 * level it runs in (DBS_EMISUSE), but may open and close its own.
 *
 * @param s        the batch's session
 * @param row      the row as given to dbs_batch_add_row()
 * @param payload  as given to dbs_batch_new_fn()
 */
typedef int (*dbs_batch_fn)(dbs_session *s, const void *row, void *payload);

/** dbs_batch_options.version for the fields below. */
#define DBS_BATCH_OPTIONS_VERSION 1

/** Batch settings. Fill with dbs_batch_options_init(); fields are appended only. */
typedef struct dbs_batch_options {
    int version;        /**< DBS_BATCH_OPTIONS_VERSION */
    int mode;           /**< a dbs_batch_mode. Default DBS_BATCH_SKIP */
    int chunk_size;     /**< rows per savepoint, at least 1. Default 500 */
} dbs_batch_options;

/** One skipped (or, for a stopped batch, fatal) row. */
typedef struct dbs_batch_error {
    uint64_t row;         /**< 1-based, in the order rows were added (rejects included) */
    int kind;             /**< a negative dbs_status */
    const char *column;   /**< the column(s) the engine named, comma-separated; NULL if unknown */
    const char *message;  /**< the engine's (or the rejecter's) message; never NULL */
} dbs_batch_error;

/** Fill @p o with the defaults. NULL is a no-op. */
DBS_EXTERN(void) dbs_batch_options_init(dbs_batch_options *o);

/**
 * Start a batch of INSERTs into @p table: each row binds its values, as
 * text, to `INSERT INTO table (columns...) VALUES (?, ...)`, prepared once
 * (so an unknown table or column fails here, before any row).
 *
 * The batch opens its own level at once: a transaction, or a savepoint when
 * @p s is already in one (then the batch's rows join that transaction). Until
 * dbs_batch_finish() or dbs_batch_free(), commit or rollback of that level by
 * anyone else is DBS_EMISUSE.
 *
 * @param[out] out   the batch, owned: free with dbs_batch_free() (before
 *                   closing the session). NULL on failure.
 * @param s          the session; idle or in an active transaction
 * @param table      table name, quoted here for the engine
 * @param columns    @p n_columns column names, quoted here; copied
 * @param n_columns  at least 1
 * @param opts       NULL for the defaults; copied
 * @return DBS_OK; DBS_EMISUSE (NULL or empty argument, bad options);
 *         DBS_EUNDEFINED (no such table or column), DBS_ESYNTAX and other
 *         kinds from BEGIN or prepare; DBS_ENOMEM.
 * @remark Values bound as text are converted by the engine: SQLite applies
 *         the column's type affinity ("42" into an INTEGER column is 42,
 *         "x" stays text unless the table is STRICT); MariaDB, in strict
 *         mode, rejects a text that is not a number for a number column
 *         (DBS_EDATA, the column named).
 */
DBS_EXTERN(int) dbs_batch_new_insert(dbs_batch **out, dbs_session *s, const char *table,
                                     const char *const *columns, int n_columns,
                                     const dbs_batch_options *opts);

/**
 * Start a batch that applies @p fn to each row (any statements, the unit of
 * work...). The level is opened as by dbs_batch_new_insert().
 *
 * @param[out] out  the batch, owned: free with dbs_batch_free(). NULL on failure.
 * @param s         the session
 * @param fn        the row function; see dbs_batch_fn
 * @param opts      NULL for the defaults; copied
 * @param payload   passed to @p fn
 * @return DBS_OK; DBS_EMISUSE; a kind from BEGIN; DBS_ENOMEM.
 */
DBS_EXTERN(int) dbs_batch_new_fn(dbs_batch **out, dbs_session *s, dbs_batch_fn fn,
                                 const dbs_batch_options *opts, void *payload);

/**
 * Add a row to an insert batch; it runs when its chunk is full (or at
 * dbs_batch_flush()/dbs_batch_finish()). A bad row is no failure here: it is
 * reported in dbs_batch_error_at() (in DBS_BATCH_SKIP mode).
 *
 * @param b       an insert batch
 * @param values  one UTF-8 text per column, copied; NULL = SQL NULL
 * @param lens    byte lengths of @p values, or NULL to use strlen()
 * @return DBS_OK; the kind that stopped the batch (this row's or an earlier
 *         one's, see dbs_batch_status()): the batch is then rolled back and
 *         every later call returns the same kind; DBS_EMISUSE (not an insert
 *         batch, finished); DBS_ENOMEM.
 */
DBS_EXTERN(int) dbs_batch_add_text(dbs_batch *b, const char *const *values, const size_t *lens);

/**
 * Add a row to a function batch.
 *
 * @param b    a batch from dbs_batch_new_fn()
 * @param row  passed to the row function; borrowed until the next
 *             dbs_batch_flush(), dbs_batch_finish() or dbs_batch_free()
 *             returns (NULL is allowed)
 * @return as dbs_batch_add_text()
 */
DBS_EXTERN(int) dbs_batch_add_row(dbs_batch *b, const void *row);

/**
 * Count a row that was found bad before reaching the database (a CSV record
 * with the wrong number of fields, say): it takes the next row number and is
 * reported like a row the database refused. In DBS_BATCH_ALL_OR_NOTHING
 * mode it stops the batch.
 *
 * @param b        the batch
 * @param kind     a negative kind (DBS_EDATA, ...)
 * @param column   the column concerned, or NULL; copied
 * @param message  what is wrong; copied
 * @return DBS_OK (skip mode); @p kind when it stopped the batch; as
 *         dbs_batch_add_text() otherwise.
 */
DBS_EXTERN(int) dbs_batch_reject(dbs_batch *b, int kind, const char *column,
                                 const char *message);

/**
 * Run the rows added so far now, without waiting for a full chunk.
 * @return DBS_OK, or the kind that stopped the batch.
 */
DBS_EXTERN(int) dbs_batch_flush(dbs_batch *b);

/**
 * Run the remaining rows and commit the batch's level (release its
 * savepoint when nested). The batch stays readable until dbs_batch_free().
 *
 * @return DBS_OK: the good rows are committed (even if some were skipped);
 *         the kind that stopped the batch (nothing of it is kept; in
 *         DBS_BATCH_ALL_OR_NOTHING mode, the first bad row's kind); a COMMIT
 *         failure (then rolled back; DBS_ECOMMITUNKNOWN when the connection
 *         was lost during it); DBS_EMISUSE if called twice.
 */
DBS_EXTERN(int) dbs_batch_finish(dbs_batch *b);

/**
 * Feed a batch from a row source, then finish it.
 *
 * @param b        the batch
 * @param next     called until it returns DBS_DONE; each call adds the next
 *                 row(s) with dbs_batch_add_text(), dbs_batch_add_row() or
 *                 dbs_batch_reject() and returns DBS_OK; a negative kind it
 *                 returns stops the batch (rolled back) and is returned
 * @param payload  passed to @p next
 * @return as dbs_batch_finish(), or the source's kind.
 */
DBS_EXTERN(int) dbs_batch_run_source(dbs_batch *b, int (*next)(dbs_batch *b, void *payload),
                                     void *payload);

/**
 * Run a list of rows through @p fn in one call: dbs_batch_new_fn(), one
 * dbs_batch_add_row() per element, dbs_batch_finish().
 *
 * @param[out] out   the finished batch, for its report: free with
 *                   dbs_batch_free(). NULL only when the batch could not start.
 * @param s          the session
 * @param rows       @p n_rows elements of @p row_size bytes; element i is passed
 *                   to @p fn as `(const char *)rows + i * row_size`
 * @param n_rows     how many
 * @param row_size   bytes per element
 * @param fn         the row function
 * @param opts       NULL for the defaults
 * @param payload    passed to @p fn
 * @return as dbs_batch_finish(), or what dbs_batch_new_fn() failed with.
 */
DBS_EXTERN(int) dbs_batch_run_list(dbs_batch **out, dbs_session *s, const void *rows,
                                   size_t n_rows, size_t row_size, dbs_batch_fn fn,
                                   const dbs_batch_options *opts, void *payload);

/**
 * Counts so far. Any pointer may be NULL.
 *
 * @param[out] applied_out  rows that succeeded: committed once dbs_batch_finish()
 *                          returned DBS_OK, rolled back if the batch stopped
 * @param[out] skipped_out  rows reported bad (in dbs_batch_error_at())
 * @param[out] pending_out  rows added but not run yet
 * @param b                 the batch
 */
DBS_EXTERN(void) dbs_batch_counts(uint64_t *applied_out, uint64_t *skipped_out,
                                  uint64_t *pending_out, const dbs_batch *b);

/**
 * DBS_OK while the batch runs or after it committed; the kind that stopped
 * it otherwise (then nothing of the batch is in the database).
 */
DBS_EXTERN(int) dbs_batch_status(const dbs_batch *b);

/** Number of rows in the error report. */
DBS_EXTERN(size_t) dbs_batch_error_count(const dbs_batch *b);

/**
 * Report entry @p i (0-based), in row order once the rows are run: every
 * skipped row, and the row whose kind stopped the batch (if it stopped).
 * @return borrowed until dbs_batch_free(); NULL if @p i is out of range.
 */
DBS_EXTERN(const dbs_batch_error *) dbs_batch_error_at(const dbs_batch *b, size_t i);

/**
 * Free a batch; one neither finished nor stopped is rolled back first.
 * NULL is a no-op.
 */
DBS_EXTERN(void) dbs_batch_free(dbs_batch *b);

DBS_END_DECLS

#endif
