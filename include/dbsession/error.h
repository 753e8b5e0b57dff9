/**
 * @file dbsession/error.h
 * @brief The error object: what failed, classified, with the engine's own words.
 */
#ifndef DBSESSION_ERROR_H
#define DBSESSION_ERROR_H

#include "common.h"
#include "status.h"

DBS_BEGIN_DECLS

typedef struct dbs_session dbs_session;

/** Direction of a foreign key failure (DBS_EFOREIGNKEY only). */
typedef enum dbs_fk_direction {
    DBS_FK_UNKNOWN = 0,        /**< not a foreign key error, or the engine did not say */
    DBS_FK_MISSING_PARENT = 1, /**< an insert/update of a child points at no parent */
    DBS_FK_REFERENCED = 2      /**< a delete/update of a parent is blocked by children */
} dbs_fk_direction;

/** The most columns an error names; longer lists are cut. */
#define DBS_ERROR_MAX_COLUMNS 16

/**
 * A failure, described. Read-only for callers; fields are appended, never
 * removed or reordered. Strings are never NULL: an unknown field is "".
 */
typedef struct dbs_error {
    int status;               /**< the kind: a negative dbs_status, DBS_OK if none */
    char sqlstate[6];         /**< five-character SQLSTATE, "" if the engine has none */
    int native_code;          /**< the engine's own code (MariaDB errno, SQLite extended code) */
    const char *backend;      /**< "sqlite", "mariadb", or "" before a backend was chosen */
    const char *message;      /**< the engine's message unchanged, or ours for library errors */
    const char *constraint;   /**< violated constraint or key name, "" if unknown */
    const char *table;        /**< bare table name of the violated constraint, "" if unknown */
    const char *columns[DBS_ERROR_MAX_COLUMNS]; /**< its columns in constraint order */
    int n_columns;            /**< how many of columns[] are set */
    int fk_direction;         /**< a dbs_fk_direction */
    const char *ref_table;    /**< foreign keys: the referenced (parent) table, "" if unknown */
    int retryable;            /**< 1 if rerunning the whole transaction is safe and may succeed */
} dbs_error;

/**
 * The last error of a session.
 *
 * @param s  a session, or NULL for this thread's last error from calls that
 *           have no session yet (dbs_session_open, URL parsing)
 * @return never NULL. Borrowed: valid until the next call on @p s (or, for
 *         NULL, the next session-less call on this thread). Meaningful only
 *         after a call failed; a call that succeeds may leave it unchanged.
 */
DBS_EXTERN(const dbs_error *) dbs_error_last(const dbs_session *s);

/**
 * Keep a copy of an error that outlives the next call.
 *
 * @param[out] out  receives the copy; free it with dbs_error_free()
 * @param err       the error to copy
 * @return DBS_OK, DBS_EMISUSE (NULL argument), DBS_ENOMEM
 */
DBS_EXTERN(int) dbs_error_copy(dbs_error **out, const dbs_error *err);

/** Free a copy made by dbs_error_copy(). NULL is a no-op. */
DBS_EXTERN(void) dbs_error_free(dbs_error *err);

/**
 * Write a one-line description of @p err into @p buf, such as
 * "duplicate value for users(email)" or "syntax error: near "SELEC"".
 * Always NUL-terminates when @p size > 0.
 *
 * @return the length the full description needs (like snprintf).
 */
DBS_EXTERN(size_t) dbs_error_describe(const dbs_error *err, char *buf, size_t size);

DBS_END_DECLS

#endif
