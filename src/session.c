/* Sessions: open by URL, exec, transactions and savepoints, state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "sqltext.h"

static int options_allowed(const struct dbs_backend *be, const struct dbs_url *u,
                           struct dbs_err *err)
{
    int i, j;

    for (i = 0; i < u->n_opts; i++) {
        for (j = 0; be->options[j] != NULL; j++)
            if (strcmp(be->options[j], u->opts[i].key) == 0)
                break;
        if (be->options[j] == NULL)
            return dbs__err_set(err, DBS_ECONFIG, "bad URL: unknown option '%s' for %s",
                                u->opts[i].key, be->name);
    }
    return DBS_OK;
}

static int find_backend(const struct dbs_backend **out, const char *scheme, struct dbs_err *err)
{
    *out = dbs__backend_find(scheme);
    if (*out != NULL)
        return DBS_OK;
    if (dbs__backend_known_missing(scheme))
        return dbs__err_set(err, DBS_ECONFIG,
                            "backend for '%s' URLs not compiled in "
                            "(this build was configured without it)", scheme);
    return dbs__err_set(err, DBS_ECONFIG, "bad URL: unknown scheme '%s'", scheme);
}

static void free_url_copy(char *url)
{
    volatile char *p = url;

    while (p != NULL && *p != '\0')
        *p++ = '\0';
    free(url);
}

/* Parse url, find its backend and connect: shared by open and reconnect. */
static int connect_url(const struct dbs_backend **be_out, struct dbs_conn **conn_out,
                       const char *url, struct dbs_err *err)
{
    struct dbs_url *u = NULL;
    int rc;

    if ((rc = dbs__url_parse(&u, url, err)) < 0)
        return rc;
    if ((rc = find_backend(be_out, u->scheme, err)) < 0)
        goto done;
    dbs__err_set_backend(err, (*be_out)->name);
    if ((rc = options_allowed(*be_out, u, err)) < 0)
        goto done;
    rc = (*be_out)->open(conn_out, u, err);
done:
    dbs__url_free(u);
    return rc;
}

int dbs_session_open(dbs_session **out, const char *url)
{
    struct dbs_err *err = dbs__err_thread();
    dbs_session *s;
    int rc;

    dbs__err_set_backend(err, "");
    dbs__err_clear(err);
    if (out == NULL)
        return dbs__err_set(err, DBS_EMISUSE, "dbs_session_open: out is NULL");
    *out = NULL;
    if (url == NULL)
        return dbs__err_set(err, DBS_EMISUSE, "dbs_session_open: url is NULL");
    if ((s = calloc(1, sizeof(*s))) == NULL || (s->url = strdup(url)) == NULL) {
        free(s);
        return dbs__err_set(err, DBS_ENOMEM, "out of memory opening a session");
    }
    if ((rc = connect_url(&s->be, &s->conn, url, err)) < 0) {
        free_url_copy(s->url);
        free(s);
        return rc;
    }
    dbs__err_set_backend(&s->err, s->be->name);
    dbs__err_clear(&s->err);
    *out = s;
    return DBS_OK;
}

int dbs_session_reconnect(dbs_session *s)
{
    struct dbs_conn *conn = NULL;
    const struct dbs_backend *be = NULL;
    int rc;

    if (s == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE,
                            "dbs_session_reconnect: session is NULL");
    dbs__err_clear(&s->err);
    if (s->depth > 0 && s->state != DBS_TXN_BROKEN)
        return dbs__err_set(&s->err, DBS_EMISUSE,
                            "reconnect inside a transaction: commit or roll back first");
    if (s->listener != NULL && s->listener->drop_statements != NULL)
        s->listener->drop_statements(s->listener_payload);
    if (s->n_stmts > 0)
        return dbs__err_set(&s->err, DBS_EINUSE, "reconnect: %d statement(s) still open; "
                            "free them first", s->n_stmts);
    if ((rc = connect_url(&be, &conn, s->url, &s->err)) < 0)
        return rc;
    /* Only now drop the old link: a failed reconnect leaves the session as it was. */
    s->be->close(s->conn);
    s->be = be;
    s->conn = conn;
    /* a transaction lost with the old link was never rolled back here: the
     * unit of work learns it now (memory back to the transaction's start,
     * its undo records freed), as from dbs_session_rollback() */
    if (s->depth > 0 && s->listener != NULL && s->listener->after_rollback != NULL)
        s->listener->after_rollback(s->listener_payload, 1);
    s->depth = 0;
    s->state = DBS_TXN_IDLE;
    return DBS_OK;
}

int dbs_session_close(dbs_session *s)
{
    if (s == NULL)
        return DBS_OK;
    if (s->n_stmts > 0 || s->n_children > 0)
        return dbs__err_set(&s->err, DBS_EINUSE,
                            "dbs_session_close: %d statement(s) and %d unit(s) of work or "
                            "batch(es) still open; free them first", s->n_stmts, s->n_children);
    /* Closing the connection rolls back whatever is open, on both engines. */
    s->be->close(s->conn);
    free_url_copy(s->url);
    free(s->guards);
    free(s);
    return DBS_OK;
}

int dbs__session_guard_push(dbs_session *s)
{
    if (s->n_guards == s->cap_guards) {
        int cap = s->cap_guards ? 2 * s->cap_guards : 8;
        int *g = realloc(s->guards, (size_t)cap * sizeof(*g));
        if (g == NULL)
            return dbs__err_set(&s->err, DBS_ENOMEM, "out of memory");
        s->guards = g;
        s->cap_guards = cap;
    }
    s->guards[s->n_guards++] = s->depth;
    return DBS_OK;
}

void dbs__session_guard_pop(dbs_session *s)
{
    if (s->n_guards > 0)
        s->n_guards--;
}

void dbs__session_guard_remove(dbs_session *s, int depth)
{
    int i;

    for (i = s->n_guards - 1; i >= 0; i--)
        if (s->guards[i] == depth) {
            memmove(&s->guards[i], &s->guards[i + 1],
                    (size_t)(s->n_guards - i - 1) * sizeof(*s->guards));
            s->n_guards--;
            return;
        }
}

/* Commit or rollback of a level that dbs_txn_run owns is the caller's mistake. */
static int guarded(dbs_session *s, const char *verb)
{
    if (s->n_guards > 0 && s->guards[s->n_guards - 1] == s->depth) {
        s->guard_refusals++;
        return dbs__err_set(&s->err, DBS_EMISUSE, "%s inside dbs_txn_run: the transaction "
                            "belongs to it (return DBS_OK to commit, an error to roll back)",
                            verb);
    }
    return DBS_OK;
}

#define NOTIFY(s, slot, depth)                                              \
    do {                                                                    \
        if ((s)->listener != NULL && (s)->listener->slot != NULL)           \
            (s)->listener->slot((s)->listener_payload, (depth));            \
    } while (0)

int dbs_session_quote_ident(dbs_session *s, const char *name, char **out)
{
    char q, *w;
    size_t n = 0;
    const char *p;

    if (out != NULL)
        *out = NULL;
    if (s == NULL || name == NULL || out == NULL || *name == '\0')
        return dbs__err_set(s != NULL ? &s->err : dbs__err_thread(), DBS_EMISUSE,
                            "dbs_session_quote_ident: NULL argument or empty name");
    q = s->be->ident_quote != 0 ? s->be->ident_quote : '"';
    for (p = name; *p; p++)
        n += *p == q ? 2 : 1;
    if ((w = *out = malloc(n + 3)) == NULL)
        return dbs__err_set(&s->err, DBS_ENOMEM, "out of memory quoting a name");
    *w++ = q;
    for (p = name; *p; p++) {
        if (*p == q)
            *w++ = q;
        *w++ = *p;
    }
    *w++ = q;
    *w = '\0';
    return DBS_OK;
}

void dbs_free(void *p)
{
    free(p);
}

const char *dbs_session_backend(const dbs_session *s)
{
    return s != NULL ? s->be->name : "";
}

const dbs_error *dbs_error_last(const dbs_session *s)
{
    /* The session is const to the caller; its error slot is the library's,
     * and completing it on first read changes nothing the caller can see. */
    struct dbs_err *e = s != NULL ? (struct dbs_err *)&s->err : dbs__err_thread();

    dbs__err_finish(e);
    return &e->pub;
}

dbs_txn_state dbs_session_state(const dbs_session *s)
{
    return s != NULL ? s->state : DBS_TXN_IDLE;
}

int dbs_session_depth(const dbs_session *s)
{
    return s != NULL ? s->depth : 0;
}

int dbs__session_send(dbs_session *s, const char *sql)
{
    DBS__TRACE(s, sql);
    return s->be->exec(s->conn, sql, &s->err);
}

void dbs_session_set_trace(dbs_session *s, dbs_trace_fn fn, void *payload)
{
    if (s == NULL)
        return;
    s->trace = fn;
    s->trace_payload = payload;
}

int dbs__session_refuse(dbs_session *s)
{
    switch (s->state) {
    case DBS_TXN_ABORTED:
        return dbs__err_set(&s->err, DBS_ETXNABORTED,
                            "the transaction was rolled back by the server; "
                            "roll back before running more statements");
    case DBS_TXN_BROKEN:
        return dbs__err_set(&s->err, DBS_ECONNECTION,
                            "the connection was lost; the session must be reopened");
    default:
        return DBS_OK;
    }
}

int dbs__session_txn_sql(dbs_session *s, const char *fn)
{
    /* sent as SQL, a COMMIT or ROLLBACK would end the transaction behind the
     * session's back: later statements would run in autocommit, and the
     * unit of work would keep memory for a transaction that is gone */
    return dbs__err_set(&s->err, DBS_EMISUSE, "%s: transaction control goes through "
                        "dbs_session_begin(), dbs_session_commit() and dbs_session_rollback() "
                        "(they keep the levels, the unit of work and dbs_txn_run in step)", fn);
}

int dbs_session_exec(dbs_session *s, const char *sql)
{
    int rc;

    if (s == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "dbs_session_exec: session is NULL");
    if ((rc = dbs__session_ready(s)) < 0)
        return rc;
    if (sql == NULL || dbs__sql_blank(sql))
        return dbs__err_set(&s->err, DBS_EMISUSE, "dbs_session_exec: %s",
                            sql == NULL ? "sql is NULL" : "empty statement");
    if (dbs__sql_txn_control(sql))
        return dbs__session_txn_sql(s, "dbs_session_exec");
    if ((rc = dbs__session_send(s, sql)) < 0)
        return dbs__session_failed(s, rc);
    return DBS_OK;
}

/* Savepoint names depend only on depth: one name per level is unique in the
 * open stack, and user code never builds this SQL. */
static void sp_sql(char *buf, size_t size, const char *verb, int depth)
{
    snprintf(buf, size, "%s dbs_sp_%d", verb, depth);
}

int dbs_session_begin(dbs_session *s)
{
    char sql[64];
    int rc;

    if (s == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "dbs_session_begin: session is NULL");
    if ((rc = dbs__session_ready(s)) < 0)
        return rc;
    if (s->listener != NULL && s->listener->before_begin != NULL
        && (rc = s->listener->before_begin(s->listener_payload, s->depth + 1)) < 0)
        return rc;
    if (s->depth == 0) {
        DBS__TRACE(s, "BEGIN");
        rc = s->be->begin != NULL ? s->be->begin(s->conn, &s->err)
                                  : s->be->exec(s->conn, "BEGIN", &s->err);
        if (rc < 0)
            return dbs__session_failed(s, rc);
        s->state = DBS_TXN_ACTIVE;
    } else {
        sp_sql(sql, sizeof(sql), "SAVEPOINT", s->depth + 1);
        if ((rc = dbs__session_send(s, sql)) < 0)
            return dbs__session_failed(s, rc);
    }
    s->depth++;
    NOTIFY(s, after_begin, s->depth);
    return DBS_OK;
}

int dbs_session_commit(dbs_session *s)
{
    char sql[64];
    int rc;

    if (s == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "dbs_session_commit: session is NULL");
    if ((rc = dbs__session_ready(s)) < 0)
        return rc;
    if (s->depth == 0)
        return dbs__err_set(&s->err, DBS_EMISUSE, "commit without a transaction (no begin)");
    if ((rc = guarded(s, "commit")) < 0)
        return rc;
    if (s->listener != NULL && s->listener->before_commit != NULL
        && (rc = s->listener->before_commit(s->listener_payload, s->depth)) < 0)
        return rc;
    if (s->depth > 1) {
        sp_sql(sql, sizeof(sql), "RELEASE SAVEPOINT", s->depth);
        if ((rc = dbs__session_send(s, sql)) < 0)
            return dbs__session_failed(s, rc);
        NOTIFY(s, after_commit, s->depth);
        s->depth--;
        return DBS_OK;
    }
    if ((rc = dbs__session_send(s, "COMMIT")) < 0) {
        rc = dbs__session_failed(s, rc);
        if (s->state == DBS_TXN_BROKEN) {
            /* The COMMIT may or may not have reached the server. */
            s->err.pub.status = rc = DBS_ECOMMITUNKNOWN;
            s->err.pub.retryable = 0;
        } else if (!s->be->in_transaction(s->conn)) {
            s->state = DBS_TXN_ABORTED;
        }
        return rc;
    }
    NOTIFY(s, after_commit, 1);
    s->depth = 0;
    s->state = DBS_TXN_IDLE;
    return DBS_OK;
}

/* Close level s->depth after its rollback (sent or not). */
static void level_rolled_back(dbs_session *s)
{
    NOTIFY(s, after_rollback, s->depth);
    if (--s->depth == 0 && s->state != DBS_TXN_BROKEN)
        s->state = DBS_TXN_IDLE;
}

int dbs_session_rollback(dbs_session *s)
{
    char sql[64];
    int rc = DBS_OK;

    if (s == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE,
                            "dbs_session_rollback: session is NULL");
    /* The last error is kept: it explains why the caller is rolling back. */
    if (s->depth == 0)
        return dbs__err_set(&s->err, DBS_EMISUSE, "rollback without a transaction (no begin)");
    if ((rc = guarded(s, "rollback")) < 0)
        return rc;
    if (s->state == DBS_TXN_ABORTED || s->state == DBS_TXN_BROKEN) {
        /* Nothing to send: the server already rolled back (or is gone). */
        level_rolled_back(s);
        return DBS_OK;
    }
    if (s->depth > 1) {
        sp_sql(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT", s->depth);
        rc = dbs__session_send(s, sql);
        if (rc == DBS_OK) {
            sp_sql(sql, sizeof(sql), "RELEASE SAVEPOINT", s->depth);
            rc = dbs__session_send(s, sql);
        }
        if (rc < 0)
            return dbs__session_failed(s, rc);
        level_rolled_back(s);
        return DBS_OK;
    }
    rc = dbs__session_send(s, "ROLLBACK");
    if (rc < 0 && dbs_status_family(rc) == DBS_ECONNECTION)
        s->state = DBS_TXN_BROKEN;  /* the server drops the transaction with the link */
    /* Whatever ROLLBACK said, the transaction is over on the server. */
    level_rolled_back(s);
    return rc;
}
