/* Private: the error slot every session (and every thread) owns. */
#ifndef DBS_SRC_ERROR_H
#define DBS_SRC_ERROR_H

#include <stdarg.h>
#include <string.h>
#include "dbsession/error.h"

/*
 * Fixed buffers, so that reporting an error never allocates (an out-of-memory
 * error must be reportable) and nothing needs freeing at thread exit.
 */
struct dbs_err {
    dbs_error pub;
    char message[1024];
    char constraint[256];
    char table[256];
    char ref_table[256];
    char colbuf[1024];      /* column names, each NUL-terminated, in order */
    size_t colbuf_used;
    /* Names a backend reads from the message are parsed when the error is
     * read (dbs_error_last), not when it happens: a loop that only checks the
     * returned kind pays for the classification, not for the parse. finish
     * works on this slot alone (message, native code, hint), so the slot can
     * be copied, and the statement freed, before it runs. */
    void (*finish)(struct dbs_err *e);
    char hint[256];         /* the backend's context for finish */
    int cut;                /* the engine's message was cut to fit `message` */
    /* The engine's message, when it has not been copied yet: a loop that
     * only checks the kind never pays for the copy. fetch copies it from the
     * connection fetch_from, which still holds it: that backend fetches
     * before it next calls its engine (or finds the slot cleared and skips).
     * So only a session's own slot may be left owing, and every copy of a
     * slot fetches first (dbs__err_copy). NULL when message is complete.
     * While it owes, the slot holds nothing but what dbs__err_native_later
     * set: what is read from the message comes with the fetch. */
    void (*fetch)(struct dbs_err *e);
    void *fetch_from;
};

/* dbs_status_family(status) == family, for a family (-200, -300, ...),
 * without a division: every failure takes this path. */
static inline int dbs__in_family(int status, int family)
{
    return status <= family && status > family - 100;
}

/* The kind and native code of an engine error; retryable for the transient
 * family (a backend may override after). */
static inline int dbs__err_set_kind(struct dbs_err *e, int status, int native)
{
    e->pub.status = status;
    e->pub.native_code = native;
    e->pub.retryable = dbs__in_family(status, DBS_ETRANSIENT);
    return status;
}

/* Reset to "no error"; keeps the backend name; drops a message not yet
 * fetched. Inline: every statement call clears, and a clear slot stays clear. */
void dbs__err_reset(struct dbs_err *e);
static inline void dbs__err_clear(struct dbs_err *e)
{
    if (e->fetch != NULL) {
        /* owing its message, the slot holds only what dbs__err_native_later
         * set (that is the rule for fetch): undo just that */
        e->pub.status = DBS_OK;
        e->pub.sqlstate[0] = '\0';
        e->pub.native_code = 0;
        e->pub.retryable = 0;
        e->fetch = NULL;
    } else if (e->pub.status != DBS_OK || e->pub.message != e->message
               || e->message[0] != '\0') {
        dbs__err_reset(e);
    }
}
void dbs__err_set_backend(struct dbs_err *e, const char *backend);

/* A library-made error (misuse, config, ...): no SQLSTATE, no native code.
 * Returns status so callers can `return dbs__err_set(...)`. */
int dbs__err_set(struct dbs_err *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An engine error: the message is copied unchanged (cut at 1023 bytes).
 * Sets retryable for the transient family; a backend may override after. */
int dbs__err_native(struct dbs_err *e, int status, const char *sqlstate, int native,
                    const char *message);

/* The same into a clear slot, with the message (and whatever else the
 * backend reads from it) left at the connection: fetch(e) will copy it,
 * with dbs__err_take_message. sqlstate has five characters. Inline: a loop
 * of failing statements that checks only the kind pays for nothing more. */
static inline int dbs__err_native_later(struct dbs_err *e, int status, const char sqlstate[6],
                                        int native, void (*fetch)(struct dbs_err *e),
                                        void *from)
{
    memcpy(e->pub.sqlstate, sqlstate, sizeof(e->pub.sqlstate));
    e->fetch = fetch;
    e->fetch_from = from;
    return dbs__err_set_kind(e, status, native);
}
/* For a fetch: the engine's message, copied unchanged (cut at 1023 bytes). */
void dbs__err_take_message(struct dbs_err *e, const char *message);

/* Copy the message owed to the slot, if any. */
static inline void dbs__err_fetch(struct dbs_err *e)
{
    void (*fetch)(struct dbs_err *) = e->fetch;

    if (fetch != NULL) {
        e->fetch = NULL;
        fetch(e);
    }
}

/* Names found by the backend; a NULL or empty name leaves the field "". */
void dbs__err_set_constraint(struct dbs_err *e, const char *name, size_t len);
void dbs__err_set_table(struct dbs_err *e, const char *name, size_t len);
void dbs__err_set_ref_table(struct dbs_err *e, const char *name, size_t len);
/* Append one column; returns -1 (and adds nothing) when full. */
int dbs__err_add_column(struct dbs_err *e, const char *name, size_t len);
void dbs__err_clear_columns(struct dbs_err *e);

/* Fetch the message and run the pending finish, if any: the public fields
 * are complete after it. */
void dbs__err_finish(struct dbs_err *e);

/* Copy one slot into another (the thread slot into a session's, say). */
void dbs__err_copy(struct dbs_err *dst, const struct dbs_err *src);

/* This thread's slot for calls without a session. */
struct dbs_err *dbs__err_thread(void);

#endif
