/*
 * Private contract between the driver-neutral core (src/) and a backend.
 *
 * One const struct dbs_backend per backend, initialised with designated
 * initialisers, version first. Slots marked optional may be NULL; the core
 * then falls back to portable SQL. Every other slot is required.
 *
 * Errors: a failing slot fills the dbs_err it is given (kind from the
 * backend's native-code table, SQLSTATE, native code, message unchanged and
 * whatever names the engine tells) and returns the kind (a negative dbs_status).
 * The core decides the session's state from the kind and from in_transaction.
 */
#ifndef DBS_BACKEND_H
#define DBS_BACKEND_H

#include <stdint.h>
#include "dbsession/status.h"
#include "dbsession/stmt.h"
#include "../src/error.h"
#include "../src/url.h"

#define DBS_BACKEND_VERSION 2

/* A backend's connection struct begins with this; the core holds the pointer. */
struct dbs_conn {
    const struct dbs_backend *backend;
};

/* A backend's statement struct begins with this. */
struct dbs_bstmt {
    struct dbs_conn *conn;
};

/* One value crossing the vtable, in either direction. */
struct dbs_value {
    int type;             /* dbs_type */
    int64_t i;            /* DBS_TYPE_INT */
    double d;             /* DBS_TYPE_DOUBLE */
    const void *p;        /* TEXT (NUL-terminated when read from a row) or BLOB */
    size_t n;             /* bytes at p, without the terminating NUL */
    int borrowed;         /* bind: p stays valid and unchanged until this parameter is
                             bound again or the statement freed: no copy is needed */
};

struct dbs_backend {
    int version;                      /* DBS_BACKEND_VERSION it was written for */
    const char *name;                 /* "sqlite" */
    const char *const *schemes;       /* URL schemes, NULL-terminated */
    const char *const *options;       /* URL query keys accepted, NULL-terminated */

    /* Connect and apply the session settings the README promises. */
    int  (*open)(struct dbs_conn **out, const struct dbs_url *url, struct dbs_err *err);
    void (*close)(struct dbs_conn *c);

    /* One statement without parameters; rows, if any, are discarded. */
    int  (*exec)(struct dbs_conn *c, const char *sql, struct dbs_err *err);

    int  (*prepare)(struct dbs_bstmt **out, struct dbs_conn *c, const char *sql,
                    struct dbs_err *err);
    void (*finalize)(struct dbs_bstmt *st);
    int  (*param_count)(struct dbs_bstmt *st);
    /* idx is 1-based and already range-checked; the backend copies the value. */
    int  (*bind)(struct dbs_bstmt *st, int idx, const struct dbs_value *v, struct dbs_err *err);
    /* First call after prepare/reset executes. Returns DBS_ROW, DBS_DONE or a kind.
     * The core never steps again after DBS_DONE or an error without reset.
     * err is always the session's slot, and clear: a backend may leave it
     * owing the engine's message (dbs_err.fetch) until its next call into
     * the engine. */
    int  (*step)(struct dbs_bstmt *st, struct dbs_err *err);
    /* Back to "not executed"; bindings kept. */
    int  (*reset)(struct dbs_bstmt *st, struct dbs_err *err);
    int  (*column_count)(struct dbs_bstmt *st);
    const char *(*column_name)(struct dbs_bstmt *st, int col);
    /* Only called with a current row and col in range. Pointers stay valid
     * until the next step/reset/finalize; text is NUL-terminated. */
    void (*column_value)(struct dbs_bstmt *st, int col, struct dbs_value *out);
    /* After DBS_DONE: rows changed (matched) by this execution; 0 if none. */
    int64_t (*rows_affected)(struct dbs_bstmt *st);
    int64_t (*last_insert_id)(struct dbs_bstmt *st);

    /* The engine's truth, asked after an error inside a transaction: 1 if the
     * transaction is still open, 0 if the engine rolled it back. */
    int  (*in_transaction)(struct dbs_conn *c);

    /* optional: NULL = core sends "BEGIN" */
    int  (*begin)(struct dbs_conn *c, struct dbs_err *err);
    /* optional: the character that quotes identifiers (doubled inside);
     * 0 = the SQL standard's '"' */
    char ident_quote;

    /* DDL dialect for create_all, indexed by dbs_field_type (DBS_FT_*); a
     * "%zu" in the CHARS entry takes the length. NULL entries: "TEXT". */
    const char *const *ddl_types;
    /* the whole column definition after the name of an autoincrement key */
    const char *ddl_autoinc_pk;
    /* appended to CREATE TABLE (...), or NULL */
    const char *ddl_table_suffix;
    /* rows one INSERT ... VALUES (..),(..) RETURNING may carry with the
     * generated keys coming back in VALUES order; 0 = one row per statement */
    int insert_returning_rows;
    /* most placeholders one statement may carry */
    int max_params;
    /* rows worth sending in one multi-row UPDATE or DELETE (a round trip
     * costs more than the longer statement); 0 or 1 = one row per statement */
    int batch_rows;
    /* optional: sent around create_all/drop_all so tables may name tables
     * created later (foreign key cycles), or NULL */
    const char *ddl_begin_sql;
    const char *ddl_end_sql;
    /* slots above are version 1 */
    /* 1: step on a statement whose last step returned DBS_DONE or an error
     * runs it again from the start, bindings kept; the core then skips the
     * reset call before a re-run (a loop of failing statements makes one
     * call into the backend, not two). 0: the core resets first. */
    int step_reruns;
    /* slots above are version 2; add below and bump the version */
};

/* backends/registry.c: the only file that knows what was compiled in. */
const struct dbs_backend *dbs__backend_find(const char *scheme);
/* Schemes known to dbsession but not compiled into this build ("mariadb"
 * under --without-mariadb): 1 if so, for a clear error. */
int dbs__backend_known_missing(const char *scheme);

#endif
