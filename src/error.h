/* Private: the error slot every session (and every thread) owns. */
#ifndef DBS_SRC_ERROR_H
#define DBS_SRC_ERROR_H

#include <stdarg.h>
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
};

/* Reset to "no error"; keeps the backend name. Inline: every statement call
 * clears, and a clear slot stays clear. */
void dbs__err_reset(struct dbs_err *e);
static inline void dbs__err_clear(struct dbs_err *e)
{
    if (e->pub.status != DBS_OK || e->pub.message != e->message || e->message[0] != '\0')
        dbs__err_reset(e);
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

/* Names found by the backend; a NULL or empty name leaves the field "". */
void dbs__err_set_constraint(struct dbs_err *e, const char *name, size_t len);
void dbs__err_set_table(struct dbs_err *e, const char *name, size_t len);
void dbs__err_set_ref_table(struct dbs_err *e, const char *name, size_t len);
/* Append one column; returns -1 (and adds nothing) when full. */
int dbs__err_add_column(struct dbs_err *e, const char *name, size_t len);
void dbs__err_clear_columns(struct dbs_err *e);

/* Run the pending finish, if any: the public fields are complete after it. */
void dbs__err_finish(struct dbs_err *e);

/* Copy one slot into another (the thread slot into a session's, say). */
void dbs__err_copy(struct dbs_err *dst, const struct dbs_err *src);

/* This thread's slot for calls without a session. */
struct dbs_err *dbs__err_thread(void);

#endif
