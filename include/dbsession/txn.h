/**
 * @file dbsession/txn.h
 * @brief Run a function in a transaction: commit on success, roll back on
 *        failure, rerun it after a deadlock with exponential backoff.
 *
 * @code
 * static int archive(dbs_session *s, void *payload)
 * {
 *     ... statements on s; return DBS_OK to commit, a negative kind to roll back ...
 * }
 *
 * int attempts;
 * rc = dbs_txn_run_opts(&attempts, s, NULL, archive, &project_id);
 * @endcode
 *
 * Nested calls share the outer transaction: inside a transaction the
 * function runs in a savepoint and never commits the outer work. Only the
 * outermost call retries.
 */
#ifndef DBSESSION_TXN_H
#define DBSESSION_TXN_H

#include "common.h"
#include "status.h"
#include "error.h"
#include "session.h"

DBS_BEGIN_DECLS

/**
 * The work to run in the transaction.
 *
 * It may run more than once (after a deadlock), each time from the start on
 * a database and unit of work rolled back to where they were, so it must not
 * keep side effects outside the database between runs (or must undo them).
 * It must not commit or roll back the level it was given: those calls
 * return DBS_EMISUSE at once; it may open and close its own nested levels
 * (dbs_session_begin(), or a nested dbs_txn_run()).
 *
 * @param s        the session dbs_txn_run() was given, its transaction open
 * @param payload  as given to dbs_txn_run()
 * @return DBS_OK (or any non-negative value) to commit; a negative kind to
 *         roll back. Return what failed unchanged: the kind decides retries.
 */
typedef int (*dbs_txn_fn)(dbs_session *s, void *payload);

/** What a retry hook is told, before the sleep that precedes the next attempt. */
typedef struct dbs_txn_retry {
    int attempt;            /**< the attempt that failed, 1-based */
    int status;             /**< the kind it failed with */
    const dbs_error *error; /**< dbs_error_last() of the session; borrowed for the call */
    uint64_t delay_us;      /**< the sleep before attempt + 1, in microseconds */
} dbs_txn_retry;

/** dbs_txn_options.version for the fields below. */
#define DBS_TXN_OPTIONS_VERSION 1

/**
 * Retry policy and hooks. Fill with dbs_txn_options_init(), then change
 * fields; fields are appended, never removed or reordered (version first).
 *
 * The delay before attempt n + 1 is d = min(max_delay_us, base_delay_us * 2^(n-1)),
 * shortened by a random fraction up to @c jitter: it lies in
 * [(1 - jitter) * d, d], so never above max_delay_us.
 */
typedef struct dbs_txn_options {
    int version;              /**< DBS_TXN_OPTIONS_VERSION */
    int max_attempts;         /**< runs of the function at most; 1 = no retry. Default 3 */
    uint64_t base_delay_us;   /**< delay before the 2nd attempt. Default 10000 (10 ms) */
    uint64_t max_delay_us;    /**< cap on any delay. Default 1000000 (1 s) */
    double jitter;            /**< 0 (exact delays) to 1 (anywhere in [0, d]). Default 0.5 */
    uint64_t max_elapsed_us;  /**< no retry that would start after this long since
                                   the first attempt; 0 = no limit (default) */
    /** Kinds that retry; a family value (DBS_ETRANSIENT) covers its members.
     *  NULL (default) = the failures whose dbs_error has @c retryable set.
     *  DBS_ECOMMITUNKNOWN never retries, even when listed. */
    const int *retry_on;
    int n_retry_on;           /**< entries in retry_on */
    /** Called before each retry's sleep (for logging); NULL = none. */
    void (*on_retry)(const dbs_txn_retry *info, void *payload);
    /** Sleep @p usec microseconds; NULL = nanosleep(). Tests inject a fake. */
    void (*sleep)(uint64_t usec, void *payload);
    /** Monotonic clock in microseconds; NULL = CLOCK_MONOTONIC. It bounds
     *  max_elapsed_us and seeds the jitter, so a fake clock makes delays
     *  reproducible. */
    uint64_t (*clock)(void *payload);
    void *payload;            /**< for on_retry, sleep and clock */
} dbs_txn_options;

/**
 * Fill @p o with the defaults (3 attempts, 10 ms base delay, 1 s cap, jitter
 * 0.5, retry what is retryable, real clock and sleep). NULL is a no-op.
 */
DBS_EXTERN(void) dbs_txn_options_init(dbs_txn_options *o);

/**
 * Run @p fn in a transaction with the default options: see dbs_txn_run_opts().
 */
DBS_EXTERN(int) dbs_txn_run(dbs_session *s, dbs_txn_fn fn, void *payload);

/**
 * Run @p fn in a transaction: begin, call it, commit if it returns a
 * non-negative value, roll back (the unit of work's memory included) if it
 * returns a negative kind.
 *
 * Outside a transaction, a failure whose kind retries (see
 * dbs_txn_options.retry_on) is retried: roll back, call on_retry, sleep with
 * exponential backoff plus jitter, begin again and rerun @p fn from the
 * start, up to max_attempts runs. A failing BEGIN or COMMIT counts as the
 * attempt's failure (a COMMIT whose outcome is unknown never retries).
 *
 * While @p fn runs, dbs_session_commit() or dbs_session_rollback() of the
 * level it was given returns DBS_EMISUSE at once and changes nothing (the
 * double-commit mistake): @p fn should return that kind, which rolls back.
 *
 * Inside a transaction (depth > 0), @p fn runs in a savepoint: its work joins
 * the outer transaction, which it cannot commit. Nothing retries there: a
 * deadlock has already rolled the whole transaction back on the server, so
 * the kind goes up to the outermost caller, which may retry everything.
 *
 * @param[out] attempts_out  attempts made, each one BEGIN (a BEGIN that failed
 *                           counts); 1 inside a transaction; may be NULL
 * @param s        the session
 * @param opts     NULL for the defaults; read during the call only
 * @param fn       the work; see dbs_txn_fn
 * @param payload  passed to @p fn
 * @return what @p fn returned when it returned DBS_OK or a non-negative value
 *         and the commit succeeded; else the kind of the last failure,
 *         unchanged: the one @p fn returned, or the BEGIN/COMMIT failure.
 *         DBS_EMISUSE for a NULL argument, bad options, or @p fn returning
 *         with levels of its own still open (they are rolled back, then the
 *         transaction). dbs_error_last(s) describes the failure (the
 *         rollback keeps it), unless the rollback itself failed.
 * @remark MariaDB: a deadlock (1213) rolls the transaction back on the
 *         server; the retry runs everything again from BEGIN.
 * @remark SQLite: BEGIN IMMEDIATE waits for another writer up to the
 *         session's lock timeout, then fails with DBS_ELOCKTIMEOUT
 *         (retryable): the retry begins again after the backoff.
 */
DBS_EXTERN(int) dbs_txn_run_opts(int *attempts_out, dbs_session *s, const dbs_txn_options *opts,
                                 dbs_txn_fn fn, void *payload);

DBS_END_DECLS

#endif
