/**
 * @file dbsession/status.h
 * @brief Status codes and error kinds.
 *
 * Every call that can fail returns an `int`: DBS_OK (0), a positive step
 * result (DBS_ROW, DBS_DONE), or a negative kind. Kinds sit in families of
 * 100 (like SQLite's extended codes): test the exact kind, or the family with
 * dbs_status_family().
 *
 * The list is append only: values are never renumbered or reused, and every
 * kind keeps its lower-case name (dbs_status_name()) forever.
 */
#ifndef DBSESSION_STATUS_H
#define DBSESSION_STATUS_H

#include "common.h"

DBS_BEGIN_DECLS

/* X(NAME, value, "name", "description"); append only, never renumber. */
#define DBS_STATUS_MAP(X)                                                        \
    X(OK,               0, "ok",             "success")                          \
    X(ERROR,           -1, "other",          "unclassified database error")      \
    X(EMISUSE,         -2, "misuse",         "API misuse")                       \
    X(EINUSE,          -3, "in_use",         "statements still open")            \
    X(ECONFIG,         -4, "config",         "configuration error")              \
    X(ENOMEM,          -5, "nomem",          "out of memory")                    \
    X(ENOTSUP,         -6, "not_supported",  "not supported by this backend")    \
    X(ECONSTRAINT,   -100, "constraint",     "constraint violated")              \
    X(EUNIQUE,       -101, "unique",         "duplicate key")                    \
    X(EFOREIGNKEY,   -102, "foreign_key",    "foreign key violated")             \
    X(ENOTNULL,      -103, "not_null",       "NULL in a NOT NULL column")        \
    X(ECHECK,        -104, "check",          "check constraint failed")          \
    X(ETRANSIENT,    -200, "transient",      "conflict, retry the transaction")  \
    X(EDEADLOCK,     -201, "deadlock",       "deadlock or serialization failure")\
    X(ELOCKTIMEOUT,  -202, "lock_timeout",   "lock wait timed out")              \
    X(ECONNECTION,   -300, "connection",     "connection lost or refused")       \
    X(ECOMMITUNKNOWN,-301, "commit_unknown", "connection lost during COMMIT")    \
    X(ETXNABORTED,   -400, "txn_aborted",    "transaction aborted, roll back")   \
    X(EDATA,         -500, "data",           "value invalid for its column")     \
    X(ESTATEMENT,    -600, "statement",      "statement rejected")               \
    X(ESYNTAX,       -601, "syntax",         "syntax error")                     \
    X(EUNDEFINED,    -602, "undefined",      "no such table, column or object")  \
    X(EPERMISSION,   -603, "permission",     "permission denied")                \
    X(EREADONLY,     -604, "read_only",      "database is read-only")             \
    X(EUOW,          -700, "unit_of_work",   "unit of work refused")              \
    X(ESTALE,        -701, "stale",          "row changed or deleted by another") \
    X(EIDENTITY,     -702, "identity_conflict", "primary key already tracked")    \
    X(ECYCLE,        -703, "cycle",          "foreign keys form a cycle")

/** Status codes. Negative values are error kinds. */
typedef enum dbs_status {
#define DBS__STATUS_ENUM(name, value, str, desc) DBS_##name = (value),
    DBS_STATUS_MAP(DBS__STATUS_ENUM)
#undef DBS__STATUS_ENUM
    DBS_ROW = 100,   /**< dbs_stmt_step(): a row is ready to read */
    DBS_DONE = 101   /**< dbs_stmt_step(): the statement has finished */
} dbs_status;

/**
 * Stable lower-case name of a status ("unique", "deadlock", "ok", "row").
 * @return a static string; "unknown" for a value not in the list.
 */
DBS_EXTERN(const char *) dbs_status_name(int status);

/**
 * One-line English description of a status ("duplicate key").
 * @return a static string; never NULL.
 */
DBS_EXTERN(const char *) dbs_strerror(int status);

/**
 * The family of a kind: DBS_EUNIQUE -> DBS_ECONSTRAINT,
 * DBS_EDEADLOCK -> DBS_ETRANSIENT. Kinds above -100 (DBS_EMISUSE, ...) and
 * non-negative statuses are their own family.
 */
DBS_EXTERN(int) dbs_status_family(int status);

DBS_END_DECLS

#endif
