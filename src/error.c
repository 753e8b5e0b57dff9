/* Error slots, status names and descriptions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Copy the n bytes at src (n already measured) into a fixed buffer, never
 * splitting a UTF-8 sequence when it has to cut. */
static void copy_n(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Copy at most len bytes (or up to NUL) into a fixed buffer. */
static void copy_cut(char *dst, size_t cap, const char *src, size_t len)
{
    copy_n(dst, cap, src, src != NULL ? strnlen(src, len < cap ? len : cap) : 0);
}

static void point_fields(struct dbs_err *e)
{
    e->pub.message = e->message;
    e->pub.constraint = e->constraint;
    e->pub.table = e->table;
    e->pub.ref_table = e->ref_table;
    if (e->pub.backend == NULL)
        e->pub.backend = "";
}

void dbs__err_reset(struct dbs_err *e)
{
    int i;

    /* field by field: every failing statement of a loop passes here */
    e->pub.status = DBS_OK;
    e->pub.sqlstate[0] = '\0';
    e->pub.native_code = 0;
    for (i = 0; i < e->pub.n_columns; i++)
        e->pub.columns[i] = NULL;
    e->pub.n_columns = 0;
    e->pub.fk_direction = DBS_FK_UNKNOWN;
    e->pub.retryable = 0;
    e->message[0] = e->constraint[0] = e->table[0] = e->ref_table[0] = '\0';
    e->colbuf_used = 0;
    e->finish = NULL;
    e->hint[0] = '\0';
    e->cut = 0;
    e->fetch = NULL;
    point_fields(e);
}

void dbs__err_finish(struct dbs_err *e)
{
    void (*finish)(struct dbs_err *);

    dbs__err_fetch(e);        /* may run the names' parse itself */
    if ((finish = e->finish) != NULL) {
        e->finish = NULL;
        finish(e);
    }
}

void dbs__err_set_backend(struct dbs_err *e, const char *backend)
{
    e->pub.backend = backend != NULL ? backend : "";
}

int dbs__err_set(struct dbs_err *e, int status, const char *fmt, ...)
{
    va_list ap;

    dbs__err_clear(e);
    e->pub.status = status;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return status;
}

void dbs__err_take_message(struct dbs_err *e, const char *message)
{
    size_t n = message != NULL ? strnlen(message, sizeof(e->message)) : 0;

    copy_n(e->message, sizeof(e->message), message, n);
    e->cut = n == sizeof(e->message);
}

int dbs__err_native(struct dbs_err *e, int status, const char *sqlstate, int native,
                    const char *message)
{
    int i;

    dbs__err_clear(e);
    for (i = 0; sqlstate != NULL && i < 5 && sqlstate[i] != '\0'; i++)
        e->pub.sqlstate[i] = sqlstate[i];
    e->pub.sqlstate[i] = '\0';
    dbs__err_take_message(e, message);
    return dbs__err_set_kind(e, status, native);
}

void dbs__err_set_constraint(struct dbs_err *e, const char *name, size_t len)
{
    copy_cut(e->constraint, sizeof(e->constraint), name, len);
}

void dbs__err_set_table(struct dbs_err *e, const char *name, size_t len)
{
    copy_cut(e->table, sizeof(e->table), name, len);
}

void dbs__err_set_ref_table(struct dbs_err *e, const char *name, size_t len)
{
    copy_cut(e->ref_table, sizeof(e->ref_table), name, len);
}

int dbs__err_add_column(struct dbs_err *e, const char *name, size_t len)
{
    size_t n = 0;

    while (n < len && name[n] != '\0')
        n++;
    if (e->pub.n_columns >= DBS_ERROR_MAX_COLUMNS || e->colbuf_used + n + 1 > sizeof(e->colbuf))
        return -1;
    memcpy(e->colbuf + e->colbuf_used, name, n);
    e->colbuf[e->colbuf_used + n] = '\0';
    e->pub.columns[e->pub.n_columns++] = e->colbuf + e->colbuf_used;
    e->colbuf_used += n + 1;
    return 0;
}

void dbs__err_clear_columns(struct dbs_err *e)
{
    memset(e->pub.columns, 0, sizeof(e->pub.columns));
    e->pub.n_columns = 0;
    e->colbuf_used = 0;
}

void dbs__err_copy(struct dbs_err *dst, const struct dbs_err *src)
{
    int i;

    /* a copy is read after the connection has moved on: the message now
     * (fetching changes nothing the slot's reader can see) */
    dbs__err_fetch((struct dbs_err *)src);
    memcpy(dst, src, sizeof(*dst));
    point_fields(dst);
    /* column pointers point into src's buffer: move them to ours */
    for (i = 0; i < dst->pub.n_columns; i++)
        dst->pub.columns[i] = dst->colbuf + (src->pub.columns[i] - src->colbuf);
}

struct dbs_err *dbs__err_thread(void)
{
    static _Thread_local struct dbs_err slot;

    if (slot.pub.message == NULL)
        dbs__err_clear(&slot);
    return &slot;
}

/* ---- public ---- */

const char *dbs_status_name(int status)
{
    switch (status) {
#define NAME_CASE(name, value, str, desc) case (value): return str;
    DBS_STATUS_MAP(NAME_CASE)
#undef NAME_CASE
    case DBS_ROW: return "row";
    case DBS_DONE: return "done";
    default: return "unknown";
    }
}

const char *dbs_strerror(int status)
{
    switch (status) {
#define DESC_CASE(name, value, str, desc) case (value): return desc;
    DBS_STATUS_MAP(DESC_CASE)
#undef DESC_CASE
    case DBS_ROW: return "row ready";
    case DBS_DONE: return "statement finished";
    default: return "unknown status";
    }
}

int dbs_status_family(int status)
{
    if (status > -100)
        return status;
    return (status / 100) * 100;
}

int dbs_error_copy(dbs_error **out, const dbs_error *err)
{
    struct dbs_err *copy;

    if (out == NULL)
        return DBS_EMISUSE;
    *out = NULL;
    if (err == NULL)
        return DBS_EMISUSE;
    if ((copy = malloc(sizeof(*copy))) == NULL)
        return DBS_ENOMEM;
    /* Every dbs_error we hand out is the first member of a struct dbs_err. */
    dbs__err_copy(copy, (const struct dbs_err *)err);
    *out = &copy->pub;
    return DBS_OK;
}

void dbs_error_free(dbs_error *err)
{
    free(err);
}

/* "users(email, name)" into buf, or just the table, or "" */
static void where(const dbs_error *e, char *buf, size_t size)
{
    size_t n = 0;
    int i;

    buf[0] = '\0';
    if (e->table[0] == '\0' && e->n_columns == 0)
        return;
    /* no table named (MariaDB NOT NULL, data errors): "column c" */
    n += (size_t)snprintf(buf, size, "%s", e->table[0] != '\0' ? e->table
                          : e->n_columns == 1 ? "column " : "columns ");
    if (e->n_columns > 0 && n < size && e->table[0] != '\0')
        n += (size_t)snprintf(buf + n, size - n, "(");
    for (i = 0; i < e->n_columns && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i > 0 ? ", " : "", e->columns[i]);
    if (e->n_columns > 0 && n < size && e->table[0] != '\0')
        snprintf(buf + n, size - n, ")");
}

size_t dbs_error_describe(const dbs_error *err, char *buf, size_t size)
{
    char place[600];
    const char *what;
    int n;

    if (err == NULL)
        return (size_t)snprintf(buf, size, "no error");
    where(err, place, sizeof(place));
    switch (err->status) {
    case DBS_EUNIQUE: what = "duplicate value for"; break;
    case DBS_ENOTNULL: what = "missing value for"; break;
    case DBS_EFOREIGNKEY:
        what = err->fk_direction == DBS_FK_MISSING_PARENT ? "referenced row does not exist for"
             : err->fk_direction == DBS_FK_REFERENCED ? "row is still referenced by"
             : "foreign key violated on";
        break;
    case DBS_ECHECK: what = "check failed on"; break;
    case DBS_EDATA: what = "invalid value for"; break;
    default: what = NULL; break;
    }
    if (what != NULL && (place[0] != '\0' || err->constraint[0] != '\0')) {
        /* the constraint's name, unless it only repeats the one column */
        const char *c = err->constraint;
        if (err->n_columns == 1 && strcmp(c, err->columns[0]) == 0)
            c = "";
        n = snprintf(buf, size, "%s %s%s%s%s", what, place,
                     c[0] != '\0' ? (place[0] != '\0' ? " (constraint " : "constraint ") : "",
                     c, c[0] != '\0' && place[0] != '\0' ? ")" : "");
    } else {
        n = snprintf(buf, size, "%s: %s", dbs_strerror(err->status), err->message);
    }
    return n < 0 ? 0 : (size_t)n;
}
