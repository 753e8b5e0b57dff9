/* Private: session and statement internals shared by the core's files. */
#ifndef DBS_SRC_SESSION_H
#define DBS_SRC_SESSION_H

#include "dbsession/session.h"
#include "dbsession/stmt.h"
#include "../backends/backend.h"

/*
 * Who else needs to know about transaction boundaries (the unit of work, to
 * keep memory in step with the database). Every slot may be NULL.
 */
struct dbs__txn_listener {
    /* before BEGIN/SAVEPOINT opens level depth; a failure fails the begin */
    int  (*before_begin)(void *payload, int depth);
    /* before COMMIT/RELEASE of level depth; a failure fails the commit */
    int  (*before_commit)(void *payload, int depth);
    void (*after_begin)(void *payload, int depth);
    void (*after_commit)(void *payload, int depth);
    /* level depth was rolled back (or lost with an aborted transaction) */
    void (*after_rollback)(void *payload, int depth);
    /* the connection is being replaced: free statements prepared on it */
    void (*drop_statements)(void *payload);
};

struct dbs_session {
    const struct dbs_backend *be;
    struct dbs_conn *conn;
    struct dbs_err err;
    int depth;              /* 0 idle, 1 transaction, 2+ savepoints */
    dbs_txn_state state;
    unsigned sp_seq;        /* savepoint names: dbs_sp_<depth> suffices, see begin */
    int n_stmts;            /* open statements: close refuses while > 0 */
    char *url;              /* for dbs_session_reconnect; holds the password: wiped on free */
    int n_children;         /* other objects borrowing the session (units of work, batches) */
    const struct dbs__txn_listener *listener;
    void *listener_payload;
    int *guards;            /* depths owned by dbs_txn_run, innermost last */
    int n_guards, cap_guards;
    unsigned guard_refusals;  /* commits/rollbacks refused by a guard, ever */
    dbs_trace_fn trace;
    void *trace_payload;
};

/* Report sql to the trace hook, if any. */
#define DBS__TRACE(s, sql)                                   \
    do {                                                     \
        if ((s)->trace != NULL)                              \
            (s)->trace((sql), (s)->trace_payload);           \
    } while (0)

enum dbs__stmt_phase { PH_READY, PH_ROW, PH_DONE };

struct dbs_stmt {
    dbs_session *s;
    struct dbs_bstmt *b;
    int nparams;
    enum dbs__stmt_phase phase;
    int ncols_conv;
    char (*conv)[32];      /* per column: numbers read as text */
    char *sql;             /* for the trace hook */
};

/* Bind text without a copy: p must stay valid and unchanged until idx is
 * bound again or st is freed (the batch runner keeps its rows that long). */
int dbs__stmt_bind_textn_ref(dbs_stmt *st, int idx, const char *p, size_t n);

/* Reset st for its next run if it ran, keeping the session's error (the
 * inline bind below; a statement given back after a failure the caller
 * returns: dbs_stmt_reset would clear it). */
int dbs__stmt_rewind(dbs_stmt *st);
/* (for the inline bind below: report an index out of range) */
int dbs__stmt_bind_range(dbs_stmt *st, int idx);

/* Bind a value the caller built (flush: borrowed text, known types) without
 * clearing the error first; st must not be NULL. Inline: a flush binds every
 * field of every row through here. */
static inline int dbs__stmt_bind_value(dbs_stmt *st, int idx, const struct dbs_value *v)
{
    int rc;

    if (idx < 1 || idx > st->nparams)
        return dbs__stmt_bind_range(st, idx);
    if (st->phase != PH_READY && (rc = dbs__stmt_rewind(st)) < 0)
        return rc;
    return st->s->be->bind(st->b, idx, v, &st->s->err);
}

/* The exec slot, traced: every statement the core sends goes through here. */
int dbs__session_send(dbs_session *s, const char *sql);

/* Protect the current depth: commit/rollback of it by anyone but the owner
 * (who pops the guard first) is misuse. */
int dbs__session_guard_push(dbs_session *s);
void dbs__session_guard_pop(dbs_session *s);
/* Remove the guard of level depth wherever it is in the stack (its owner
 * goes away while an inner owner's guard is above it). */
void dbs__session_guard_remove(dbs_session *s, int depth);

/* Call at the top of every public entry point that talks to the server:
 * clears the error, refuses when the session cannot run statements. Inline:
 * every statement executed passes here. */
int dbs__session_refuse(dbs_session *s);
/* The engine ended the transaction, or the link is gone: nothing may be sent. */
static inline int dbs__session_blocked(const dbs_session *s)
{
    return s->state == DBS_TXN_ABORTED || s->state == DBS_TXN_BROKEN;
}
static inline int dbs__session_ready(dbs_session *s)
{
    dbs__err_clear(&s->err);
    return dbs__session_blocked(s) ? dbs__session_refuse(s) : DBS_OK;
}

/* BEGIN, COMMIT, ROLLBACK, SAVEPOINT ... given as SQL: DBS_EMISUSE naming fn. */
int dbs__session_txn_sql(dbs_session *s, const char *fn);

/* Every backend failure passes through here: updates the session state from
 * the kind and the engine's truth, and returns rc unchanged (or the kind
 * that better describes it). */
static inline int dbs__session_failed(dbs_session *s, int rc)
{
    /* inline: every failing statement of a loop passes here */
    if (dbs__in_family(rc, DBS_ECONNECTION)) {
        s->state = DBS_TXN_BROKEN;
    } else if (s->depth > 0 && s->state == DBS_TXN_ACTIVE && rc != DBS_EMISUSE
               && rc != DBS_ENOMEM && !s->be->in_transaction(s->conn)) {
        /* The engine rolled the whole transaction back (MariaDB deadlock,
         * SQLite ON CONFLICT ROLLBACK): a statement sent now would run in
         * autocommit, so nothing more may reach the server until rollback. */
        s->state = DBS_TXN_ABORTED;
    }
    return rc;
}

#endif
