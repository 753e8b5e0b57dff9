/* Prepared statements: the core checks arguments and state, backends do I/O. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "sqltext.h"

#define MISUSE(s, ...) dbs__err_set(&(s)->err, DBS_EMISUSE, __VA_ARGS__)

int dbs_stmt_prepare(dbs_stmt **out, dbs_session *s, const char *sql)
{
    dbs_stmt *st;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (s == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "dbs_stmt_prepare: session is NULL");
    if ((rc = dbs__session_ready(s)) < 0)
        return rc;
    if (out == NULL || sql == NULL)
        return MISUSE(s, "dbs_stmt_prepare: %s is NULL", out == NULL ? "out" : "sql");
    if (dbs__sql_blank(sql))
        return MISUSE(s, "dbs_stmt_prepare: empty statement");
    if (dbs__sql_txn_control(sql))
        return dbs__session_txn_sql(s, "dbs_stmt_prepare");
    if ((st = calloc(1, sizeof(*st))) == NULL || (st->sql = strdup(sql)) == NULL) {
        free(st);
        return dbs__err_set(&s->err, DBS_ENOMEM, "out of memory preparing a statement");
    }
    if ((rc = s->be->prepare(&st->b, s->conn, sql, &s->err)) < 0) {
        free(st->sql);
        free(st);
        return dbs__session_failed(s, rc);
    }
    st->s = s;
    st->nparams = s->be->param_count(st->b);
    s->n_stmts++;
    *out = st;
    return DBS_OK;
}

void dbs_stmt_free(dbs_stmt *st)
{
    if (st == NULL)
        return;
    st->s->be->finalize(st->b);
    st->s->n_stmts--;
    free(st->sql);
    free(st->conv);
    free(st);
}

int dbs_stmt_param_count(dbs_stmt *st)
{
    if (st == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "statement is NULL");
    return st->nparams;
}

/* inline: the reset before each re-execution of a failing loop */
static inline int do_reset(dbs_stmt *st)
{
    int rc;

    if (st->phase == PH_READY)
        return DBS_OK;
    st->phase = PH_READY;
    if ((rc = st->s->be->reset(st->b, &st->s->err)) < 0)
        return dbs__session_failed(st->s, rc);
    return DBS_OK;
}

int dbs__stmt_rewind(dbs_stmt *st)
{
    return do_reset(st);
}

static int bind(dbs_stmt *st, int idx, const struct dbs_value *v)
{
    if (st == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "bind: statement is NULL");
    dbs__err_clear(&st->s->err);
    return dbs__stmt_bind_value(st, idx, v);
}

int dbs_stmt_bind_null(dbs_stmt *st, int idx)
{
    struct dbs_value v = { .type = DBS_TYPE_NULL };
    return bind(st, idx, &v);
}

int dbs_stmt_bind_int64(dbs_stmt *st, int idx, int64_t i)
{
    struct dbs_value v = { .type = DBS_TYPE_INT, .i = i };
    return bind(st, idx, &v);
}

int dbs_stmt_bind_double(dbs_stmt *st, int idx, double d)
{
    struct dbs_value v = { .type = DBS_TYPE_DOUBLE, .d = d };
    return bind(st, idx, &v);
}

int dbs_stmt_bind_textn(dbs_stmt *st, int idx, const char *p, size_t n)
{
    struct dbs_value v = { .type = DBS_TYPE_TEXT, .p = p != NULL ? p : "", .n = n };

    if (p == NULL && n > 0) {
        if (st == NULL)
            return bind(st, idx, &v);
        dbs__err_clear(&st->s->err);
        return MISUSE(st->s, "bind text: NULL pointer with length %zu", n);
    }
    return bind(st, idx, &v);
}

int dbs__stmt_bind_range(dbs_stmt *st, int idx)
{
    return MISUSE(st->s, "bind index %d out of range (the statement has %d placeholder%s; "
                  "the first is 1)", idx, st->nparams, st->nparams == 1 ? "" : "s");
}

int dbs__stmt_bind_textn_ref(dbs_stmt *st, int idx, const char *p, size_t n)
{
    struct dbs_value v = { .type = DBS_TYPE_TEXT, .p = p != NULL ? p : "", .n = n,
                           .borrowed = 1 };

    return bind(st, idx, &v);
}

int dbs_stmt_bind_text(dbs_stmt *st, int idx, const char *p)
{
    if (p == NULL)
        return dbs_stmt_bind_null(st, idx);
    return dbs_stmt_bind_textn(st, idx, p, strlen(p));
}

int dbs_stmt_bind_blob(dbs_stmt *st, int idx, const void *p, size_t n)
{
    struct dbs_value v = { .type = DBS_TYPE_BLOB, .p = p != NULL ? p : "", .n = n };

    if (p == NULL && n > 0) {
        if (st == NULL)
            return bind(st, idx, &v);
        dbs__err_clear(&st->s->err);
        return MISUSE(st->s, "bind blob: NULL pointer with length %zu", n);
    }
    return bind(st, idx, &v);
}

int dbs_stmt_clear_bindings(dbs_stmt *st)
{
    int i, rc;

    for (i = 1; st != NULL && i <= st->nparams; i++)
        if ((rc = dbs_stmt_bind_null(st, i)) < 0)
            return rc;
    return st != NULL ? DBS_OK
                      : dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "statement is NULL");
}

int dbs_stmt_step(dbs_stmt *st)
{
    int rc;

    if (st == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "dbs_stmt_step: statement is NULL");
    /* first: the last failure's message, if never read, is not copied */
    dbs__err_clear(&st->s->err);
    /* Reading further rows of a statement that already ran is allowed in
     * any state: MariaDB holds them client-side, SQLite reads its own file. */
    if (st->phase != PH_ROW) {
        /* dbs__session_ready, less the clear done above. A refused
         * statement is still reset: its last run's counts are gone, and a
         * SQLite read left running lets go of its lock. */
        if (dbs__session_blocked(st->s)) {
            if (st->phase == PH_DONE)
                (void)do_reset(st);
            return dbs__session_refuse(st->s);
        }
        /* a backend that re-runs a finished statement itself is not asked
         * to reset it first */
        if (st->phase == PH_DONE && !st->s->be->step_reruns && (rc = do_reset(st)) < 0)
            return rc;
        DBS__TRACE(st->s, st->sql);
    }
    rc = st->s->be->step(st->b, &st->s->err);
    if (rc == DBS_ROW) {
        st->phase = PH_ROW;
        return rc;
    }
    st->phase = PH_DONE;
    return rc < 0 ? dbs__session_failed(st->s, rc) : rc;
}

int dbs_stmt_reset(dbs_stmt *st)
{
    if (st == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "dbs_stmt_reset: statement is NULL");
    dbs__err_clear(&st->s->err);
    return do_reset(st);
}

int dbs_stmt_column_count(dbs_stmt *st)
{
    if (st == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "statement is NULL");
    return st->s->be->column_count(st->b);
}

const char *dbs_stmt_column_name(dbs_stmt *st, int col)
{
    if (st == NULL || col < 0 || col >= st->s->be->column_count(st->b))
        return NULL;
    return st->s->be->column_name(st->b, col);
}

/* Checks shared by every column reader; fills v with the raw value. */
static int value(dbs_stmt *st, int col, const void *out, struct dbs_value *v)
{
    int n;

    if (st == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "column: statement is NULL");
    dbs__err_clear(&st->s->err);
    if (st->phase != PH_ROW)
        return MISUSE(st->s, "column read without a current row (step must return DBS_ROW)");
    n = st->s->be->column_count(st->b);
    if (col < 0 || col >= n)
        return MISUSE(st->s, "column %d out of range (the result has %d; the first is 0)", col, n);
    if (out == NULL)
        return MISUSE(st->s, "column: out is NULL");
    st->s->be->column_value(st->b, col, v);
    return DBS_OK;
}

int dbs_stmt_column_type(dbs_stmt *st, int col)
{
    struct dbs_value v;
    int rc = value(st, col, "", &v);
    return rc < 0 ? rc : v.type;
}

int dbs_stmt_column_is_null(dbs_stmt *st, int col)
{
    struct dbs_value v;
    int rc = value(st, col, "", &v);
    return rc < 0 ? rc : v.type == DBS_TYPE_NULL;
}

/* Column col as a number: v->i and v->d both set, converting text; a blob
 * or text that is not a number (an integer when `integer`) is DBS_EDATA. */
static int number(dbs_stmt *st, int col, const void *out, int integer, struct dbs_value *v)
{
    const char *what = integer ? "an integer" : "a number";
    char *end = NULL;
    int rc;

    if ((rc = value(st, col, out, v)) < 0)
        return rc;
    switch (v->type) {
    case DBS_TYPE_INT:
        v->d = (double)v->i;
        return DBS_OK;
    case DBS_TYPE_DOUBLE:
        v->i = (int64_t)v->d;
        return DBS_OK;
    case DBS_TYPE_TEXT:
        errno = 0;
        if (integer)
            v->d = (double)(v->i = strtoll(v->p, &end, 10));
        else
            v->i = (int64_t)(v->d = strtod(v->p, &end));
        if (end != (const char *)v->p && *end == '\0' && errno == 0)
            return DBS_OK;
        return dbs__err_set(&st->s->err, DBS_EDATA, "column %d: text is not %s", col, what);
    case DBS_TYPE_BLOB:
        return dbs__err_set(&st->s->err, DBS_EDATA, "column %d: a blob is not %s", col, what);
    default:
        v->i = 0;
        v->d = 0;
        return DBS_OK;
    }
}

int dbs_stmt_column_int64(dbs_stmt *st, int col, int64_t *out)
{
    struct dbs_value v;
    int rc = number(st, col, out, 1, &v);

    if (out != NULL)
        *out = rc == DBS_OK ? v.i : 0;
    return rc;
}

int dbs_stmt_column_double(dbs_stmt *st, int col, double *out)
{
    struct dbs_value v;
    int rc = number(st, col, out, 0, &v);

    if (out != NULL)
        *out = rc == DBS_OK ? v.d : 0;
    return rc;
}

/* Numbers read as text are formatted into a per-column buffer, so that the
 * pointer stays valid until the next step like the backend's own pointers. */
static const char *number_text(dbs_stmt *st, int col, const struct dbs_value *v)
{
    int n = st->s->be->column_count(st->b);

    if (st->ncols_conv < n) {
        char (*conv)[32] = realloc(st->conv, (size_t)n * sizeof(*conv));
        if (conv == NULL)
            return NULL;
        st->conv = conv;
        st->ncols_conv = n;
    }
    if (v->type == DBS_TYPE_INT)
        snprintf(st->conv[col], sizeof(st->conv[col]), "%" PRId64, v->i);
    else
        snprintf(st->conv[col], sizeof(st->conv[col]), "%.17g", v->d);
    return st->conv[col];
}

int dbs_stmt_column_text(dbs_stmt *st, int col, const char **out, size_t *len_out)
{
    struct dbs_value v;
    int rc;

    if ((rc = value(st, col, out, &v)) < 0)
        return rc;
    if (v.type == DBS_TYPE_INT || v.type == DBS_TYPE_DOUBLE) {
        if ((*out = number_text(st, col, &v)) == NULL)
            return dbs__err_set(&st->s->err, DBS_ENOMEM, "out of memory reading column %d", col);
        v.n = strlen(*out);
    } else {
        /* A blob read as text is returned as is; it may hold NULs (len_out says). */
        *out = v.type == DBS_TYPE_NULL ? "" : v.p;
        if (v.type == DBS_TYPE_NULL)
            v.n = 0;
    }
    if (len_out != NULL)
        *len_out = v.n;
    return DBS_OK;
}

int dbs_stmt_column_blob(dbs_stmt *st, int col, const void **out, size_t *len_out)
{
    const char *text;
    int rc = dbs_stmt_column_text(st, col, &text, len_out);

    if (rc == DBS_OK)
        *out = text;
    else if (out != NULL)
        *out = NULL;
    return rc;
}

int dbs_stmt_rows_affected(dbs_stmt *st, int64_t *out)
{
    if (st == NULL || out == NULL)
        return dbs__err_set(st != NULL ? &st->s->err : dbs__err_thread(), DBS_EMISUSE,
                            "dbs_stmt_rows_affected: NULL argument");
    dbs__err_clear(&st->s->err);
    *out = st->phase == PH_DONE ? st->s->be->rows_affected(st->b) : 0;
    return DBS_OK;
}

int dbs_stmt_last_insert_id(dbs_stmt *st, int64_t *out)
{
    if (st == NULL || out == NULL)
        return dbs__err_set(st != NULL ? &st->s->err : dbs__err_thread(), DBS_EMISUSE,
                            "dbs_stmt_last_insert_id: NULL argument");
    dbs__err_clear(&st->s->err);
    *out = st->phase == PH_DONE ? st->s->be->last_insert_id(st->b) : 0;
    return DBS_OK;
}
