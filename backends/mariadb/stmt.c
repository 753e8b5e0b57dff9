/*
 * MariaDB backend: prepared statements over the binary protocol.
 *
 * Every result is stored client-side (mysql_stmt_store_result) when the
 * statement executes, so the connection is free for other statements (even
 * COMMIT) while rows are still being read.
 */
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mariadb.h"

/* Smallest text/blob buffer: dates, times and decimals fit without a refetch.
 * (Overridable so a test can force the refetch path.) */
#ifndef MDB_MIN_BUFFER
#define MDB_MIN_BUFFER 64
#endif

enum mdb_state { ST_IDLE, ST_ROWS, ST_DONE };

/* How a result column is fetched and handed out. */
enum mdb_mode { M_INT, M_UINT, M_FLOAT, M_DOUBLE, M_BIT, M_TEXT, M_BLOB };

struct mdb_param {
    enum enum_field_types type;   /* MYSQL_TYPE_NULL until bound */
    long long i;
    double d;
    char *buf;                    /* copy of text/blob; never NULL once bound: "" is not NULL */
    const char *ref;              /* or the caller's bytes, bound borrowed (not empty) */
    size_t cap;
    unsigned long len;
    my_bool is_null;
};

struct mdb_col {
    enum mdb_mode mode;
    long long i;
    float f;
    double d;
    char *buf;                    /* text/blob/bit bytes, NUL-terminated */
    size_t cap;                   /* one more than the MYSQL_BIND buffer_length */
    unsigned long len;
    my_bool is_null;
    my_bool error;
    char num[24];                 /* decimal text of an unsigned value above INT64_MAX */
};

/* Column names of one result shape; older shapes are kept until finalize,
 * as names are borrowed until the statement is freed. */
struct mdb_names {
    struct mdb_names *prev;
    unsigned int n;
    char **name;
};

struct mdb_stmt {
    struct dbs_bstmt base;        /* first: the core holds a struct dbs_bstmt * */
    MYSQL_STMT *h;
    char *sql;
    struct mdb_target target;     /* which table it writes: for the 1062 look-up */
    int ddl;                      /* executing it invalidates the connection's index cache */
    enum mdb_state state;
    int pending;                  /* more results (CALL) behind the stored one */
    unsigned int n_params;
    struct mdb_param *params;
    MYSQL_BIND *pbind;            /* what libmariadb was last given */
    int unbound;                  /* pbind not handed to libmariadb yet */
    unsigned int n_res;           /* columns of the current result */
    unsigned int n_alloc;         /* result buffers allocated */
    struct mdb_col *cols;
    MYSQL_BIND *rbind;
    struct mdb_names *names;      /* current shape; NULL if none */
    int64_t affected;
    int64_t insert_id;
};

static int nomem(struct dbs_err *err)
{
    return dbs__err_set(err, DBS_ENOMEM, "out of memory");
}

static int stmt_error(struct mdb_stmt *st, struct dbs_err *err)
{
    return dbs__mdb_error_at((struct mdb_conn *)st->base.conn, &st->target,
                             mysql_stmt_errno(st->h), mysql_stmt_sqlstate(st->h),
                             mysql_stmt_error(st->h), err);
}

/* Grow a byte buffer to hold at least need bytes. */
static int grow(char **buf, size_t *cap, size_t need)
{
    char *p;

    if (*cap >= need)
        return 0;
    if ((p = realloc(*buf, need)) == NULL)
        return -1;
    *buf = p;
    *cap = need;
    return 0;
}

/* ---- column names ---- */

static int names_differ(const struct mdb_names *nm, MYSQL_RES *meta)
{
    unsigned int i, n = mysql_num_fields(meta);

    if (nm == NULL || nm->n != n)
        return 1;
    for (i = 0; i < n; i++)
        if (strcmp(nm->name[i], mysql_fetch_field_direct(meta, i)->name) != 0)
            return 1;
    return 0;
}

/* Copy the names of meta into one block, made current. */
static int load_names(struct mdb_stmt *st, MYSQL_RES *meta)
{
    unsigned int i, n = mysql_num_fields(meta);
    size_t size = sizeof(struct mdb_names) + n * sizeof(char *), len;
    struct mdb_names *nm;
    char *p;

    for (i = 0; i < n; i++)
        size += strlen(mysql_fetch_field_direct(meta, i)->name) + 1;
    if ((nm = malloc(size)) == NULL)
        return -1;
    nm->n = n;
    nm->name = (char **)(nm + 1);
    p = (char *)(nm->name + n);
    for (i = 0; i < n; i++) {
        len = strlen(mysql_fetch_field_direct(meta, i)->name) + 1;
        nm->name[i] = memcpy(p, mysql_fetch_field_direct(meta, i)->name, len);
        p += len;
    }
    nm->prev = st->names;
    st->names = nm;
    return 0;
}

static int update_names(struct mdb_stmt *st, MYSQL_RES *meta, struct dbs_err *err)
{
    if (names_differ(st->names, meta) && load_names(st, meta) < 0)
        return nomem(err);
    return DBS_OK;
}

/* ---- parameters ---- */

static int alloc_params(struct mdb_stmt *st, struct dbs_err *err)
{
    unsigned int i;

    st->n_params = (unsigned int)mysql_stmt_param_count(st->h);
    if (st->n_params == 0)
        return DBS_OK;
    st->params = calloc(st->n_params, sizeof(*st->params));
    st->pbind = calloc(st->n_params, sizeof(*st->pbind));
    if (st->params == NULL || st->pbind == NULL)
        return nomem(err);
    for (i = 0; i < st->n_params; i++)
        st->params[i].type = MYSQL_TYPE_NULL;
    st->unbound = 1;
    return DBS_OK;
}

int dbs__mdb_bind(struct dbs_bstmt *base, int idx, const struct dbs_value *v,
                  struct dbs_err *err)
{
    struct mdb_stmt *st = (struct mdb_stmt *)base;
    struct mdb_param *p = &st->params[idx - 1];

    switch (v->type) {
    case DBS_TYPE_INT:
        p->type = MYSQL_TYPE_LONGLONG;
        p->i = v->i;
        break;
    case DBS_TYPE_DOUBLE:
        p->type = MYSQL_TYPE_DOUBLE;
        p->d = v->d;
        break;
    case DBS_TYPE_TEXT:
    case DBS_TYPE_BLOB:
        p->ref = v->borrowed && v->n > 0 ? v->p : NULL;
        /* one byte at least: libmariadb sends a NULL buffer as SQL NULL */
        if (p->ref == NULL && grow(&p->buf, &p->cap, v->n > 0 ? v->n : 1) < 0)
            return nomem(err);
        if (p->ref == NULL && v->n > 0)
            memcpy(p->buf, v->p, v->n);
        p->len = (unsigned long)v->n;
        p->type = v->type == DBS_TYPE_TEXT ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
        break;
    default:
        p->type = MYSQL_TYPE_NULL;
        break;
    }
    return DBS_OK;
}

/*
 * Hand the parameters to libmariadb. Values are read from params[] at execute
 * time, so the MYSQL_BIND array only needs handing over again when a type or
 * a buffer address changed: a statement executed in a loop with new values
 * skips mysql_stmt_bind_param, and with it the types sent on every execute.
 */
static int bind_params(struct mdb_stmt *st, struct dbs_err *err)
{
    unsigned int i;
    int changed = st->unbound;

    for (i = 0; i < st->n_params; i++) {
        struct mdb_param *p = &st->params[i];
        MYSQL_BIND *b = &st->pbind[i];
        void *buf = NULL;

        if (p->type == MYSQL_TYPE_LONGLONG)
            buf = &p->i;
        else if (p->type == MYSQL_TYPE_DOUBLE)
            buf = &p->d;
        else if (p->type != MYSQL_TYPE_NULL)
            buf = p->ref != NULL ? (void *)p->ref : p->buf;
        if (b->buffer_type == p->type && b->buffer == buf && b->is_null != NULL) {
            b->buffer_length = p->len;      /* libmariadb reads *length, not this */
            continue;
        }
        memset(b, 0, sizeof(*b));
        b->buffer_type = p->type;
        p->is_null = p->type == MYSQL_TYPE_NULL;
        b->is_null = &p->is_null;
        b->buffer = buf;
        if (p->type == MYSQL_TYPE_STRING || p->type == MYSQL_TYPE_BLOB) {
            b->buffer_length = p->len;
            b->length = &p->len;
        }
        changed = 1;
    }
    if (!changed)
        return DBS_OK;
    if (st->n_params > 0 && mysql_stmt_bind_param(st->h, st->pbind) != 0) {
        st->unbound = 1;
        return stmt_error(st, err);
    }
    st->unbound = 0;
    return DBS_OK;
}

/* ---- result columns ---- */

static enum mdb_mode col_mode(const MYSQL_FIELD *f)
{
    switch (f->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
        return (f->flags & UNSIGNED_FLAG) ? M_UINT : M_INT;
    case MYSQL_TYPE_FLOAT:
        return M_FLOAT;
    case MYSQL_TYPE_DOUBLE:
        return M_DOUBLE;
    case MYSQL_TYPE_BIT:
        return M_BIT;
    case MYSQL_TYPE_GEOMETRY:
        return M_BLOB;
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
        return f->charsetnr == 63 ? M_BLOB : M_TEXT;   /* 63: binary */
    default:
        return M_TEXT;                                  /* decimals, dates, times, ... */
    }
}

static int alloc_cols(struct mdb_stmt *st, unsigned int n, struct dbs_err *err)
{
    struct mdb_col *cols;
    MYSQL_BIND *rbind;

    if (n <= st->n_alloc)
        return DBS_OK;
    if ((cols = realloc(st->cols, n * sizeof(*cols))) == NULL)
        return nomem(err);
    st->cols = cols;
    memset(cols + st->n_alloc, 0, (n - st->n_alloc) * sizeof(*cols));
    if ((rbind = realloc(st->rbind, n * sizeof(*rbind))) == NULL)
        return nomem(err);
    st->rbind = rbind;
    st->n_alloc = n;
    return DBS_OK;
}

static int setup_col(struct mdb_stmt *st, unsigned int i, const MYSQL_FIELD *f,
                     struct dbs_err *err)
{
    struct mdb_col *col = &st->cols[i];
    MYSQL_BIND *b = &st->rbind[i];
    size_t need = (size_t)f->max_length + 1;

    memset(b, 0, sizeof(*b));
    col->mode = col_mode(f);
    b->is_null = &col->is_null;
    b->length = &col->len;
    b->error = &col->error;
    if (col->mode == M_INT || col->mode == M_UINT) {
        b->buffer_type = MYSQL_TYPE_LONGLONG;
        b->buffer = &col->i;
        b->is_unsigned = col->mode == M_UINT;
    } else if (col->mode == M_FLOAT) {
        b->buffer_type = MYSQL_TYPE_FLOAT;
        b->buffer = &col->f;
    } else if (col->mode == M_DOUBLE) {
        b->buffer_type = MYSQL_TYPE_DOUBLE;
        b->buffer = &col->d;
    } else {
        if (grow(&col->buf, &col->cap, need > MDB_MIN_BUFFER ? need : MDB_MIN_BUFFER) < 0)
            return nomem(err);
        b->buffer_type = col->mode == M_TEXT ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
        b->buffer = col->buf;
        b->buffer_length = (unsigned long)(col->cap - 1);
    }
    return DBS_OK;
}

/* Buffers sized from max_length (STMT_ATTR_UPDATE_MAX_LENGTH), bound for fetch. */
static int setup_result(struct mdb_stmt *st, struct dbs_err *err)
{
    MYSQL_RES *meta;
    unsigned int i, n;
    int rc;

    if ((meta = mysql_stmt_result_metadata(st->h)) == NULL)
        return mysql_stmt_errno(st->h) != 0 ? stmt_error(st, err) : nomem(err);
    n = mysql_num_fields(meta);
    rc = alloc_cols(st, n, err);
    if (rc == DBS_OK)
        rc = update_names(st, meta, err);
    for (i = 0; i < n && rc == DBS_OK; i++)
        rc = setup_col(st, i, mysql_fetch_field_direct(meta, i), err);
    mysql_free_result(meta);
    if (rc < 0)
        return rc;
    st->n_res = n;
    if (mysql_stmt_bind_result(st->h, st->rbind) != 0)
        return stmt_error(st, err);
    return DBS_OK;
}

static int is_bytes(enum mdb_mode m)
{
    return m == M_TEXT || m == M_BLOB || m == M_BIT;
}

/*
 * A value longer than its buffer (MYSQL_DATA_TRUNCATED, or a longer value
 * than max_length promised): grow the buffer, read the column again and
 * rebind so later rows use the bigger buffer. Then NUL-terminate.
 */
static int complete_row(struct mdb_stmt *st, struct dbs_err *err)
{
    unsigned int i;
    int grown = 0;

    for (i = 0; i < st->n_res; i++) {
        struct mdb_col *col = &st->cols[i];
        MYSQL_BIND *b = &st->rbind[i];

        if (!is_bytes(col->mode) || col->is_null || col->len < col->cap)
            continue;
        if (grow(&col->buf, &col->cap, (size_t)col->len + 1) < 0)
            return nomem(err);
        b->buffer = col->buf;
        b->buffer_length = (unsigned long)(col->cap - 1);
        if (mysql_stmt_fetch_column(st->h, b, i, 0) != 0)
            return stmt_error(st, err);
        grown = 1;
    }
    if (grown && mysql_stmt_bind_result(st->h, st->rbind) != 0)
        return stmt_error(st, err);
    for (i = 0; i < st->n_res; i++)
        if (is_bytes(st->cols[i].mode) && !st->cols[i].is_null)
            st->cols[i].buf[st->cols[i].len] = '\0';
    return DBS_OK;
}

/* ---- execution ---- */

/* Read results a CALL left behind the stored one, so the connection is free. */
static int drain(struct mdb_stmt *st, struct dbs_err *err)
{
    int rc;

    while (st->pending && mysql_stmt_more_results(st->h)) {
        if ((rc = mysql_stmt_next_result(st->h)) != 0) {
            st->pending = 0;
            return rc > 0 && err != NULL ? stmt_error(st, err) : DBS_OK;
        }
        if (mysql_stmt_field_count(st->h) > 0) {
            mysql_stmt_store_result(st->h);
            mysql_stmt_free_result(st->h);
        }
    }
    st->pending = 0;
    return DBS_OK;
}

/* Done with the stored result: free it, and whatever a CALL sent after it. */
static int finish_result(struct mdb_stmt *st, struct dbs_err *err)
{
    int rc = DBS_OK;

    if (st->state == ST_ROWS) {
        mysql_stmt_free_result(st->h);
        rc = drain(st, err);
    }
    st->state = ST_DONE;
    return rc;
}

static int fetch(struct mdb_stmt *st, struct dbs_err *err)
{
    int rc = mysql_stmt_fetch(st->h);

    if (rc == MYSQL_NO_DATA) {
        if ((rc = finish_result(st, err)) < 0)
            return rc;
        return DBS_DONE;
    }
    if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) {
        rc = stmt_error(st, err);
        finish_result(st, NULL);
        return rc;
    }
    if ((rc = complete_row(st, err)) < 0)
        return rc;
    return DBS_ROW;
}

static int execute(struct mdb_stmt *st, struct dbs_err *err)
{
    int rc;

    if (st->ddl)
        dbs__mdb_keycache_clear(&((struct mdb_conn *)st->base.conn)->keys);
    st->affected = st->insert_id = 0;
    st->state = ST_IDLE;
    if ((rc = bind_params(st, err)) < 0)
        return rc;
    if (mysql_stmt_execute(st->h) != 0)
        return stmt_error(st, err);
    if (mysql_stmt_field_count(st->h) == 0) {
        st->affected = (int64_t)mysql_stmt_affected_rows(st->h);
        st->insert_id = (int64_t)mysql_stmt_insert_id(st->h);
        st->state = ST_DONE;
        return DBS_DONE;
    }
    /* errors such as 1690 (overflow) arrive while the rows are read */
    if (mysql_stmt_store_result(st->h) != 0)
        return stmt_error(st, err);
    st->pending = mysql_stmt_more_results(st->h);
    st->state = ST_ROWS;
    if ((rc = setup_result(st, err)) < 0) {
        finish_result(st, NULL);
        return rc;
    }
    return fetch(st, err);
}

int dbs__mdb_step(struct dbs_bstmt *base, struct dbs_err *err)
{
    struct mdb_stmt *st = (struct mdb_stmt *)base;
    int rc;

    if (st->state == ST_ROWS)
        rc = fetch(st, err);
    else
        rc = execute(st, err);
    if (rc < 0)
        st->state = ST_IDLE;
    return rc;
}

int dbs__mdb_reset(struct dbs_bstmt *base, struct dbs_err *err)
{
    struct mdb_stmt *st = (struct mdb_stmt *)base;
    int rc = finish_result(st, err);

    st->state = ST_IDLE;
    return rc;
}

/* ---- life cycle ---- */

static char *copy_sql(const char *sql)
{
    size_t n = strlen(sql) + 1;
    char *p = malloc(n);

    return p != NULL ? memcpy(p, sql, n) : NULL;
}

/* Column names are known from the prepare response already. */
static int prepare_names(struct mdb_stmt *st, struct dbs_err *err)
{
    MYSQL_RES *meta;
    int rc;

    if (mysql_stmt_field_count(st->h) == 0)
        return DBS_OK;
    if ((meta = mysql_stmt_result_metadata(st->h)) == NULL)
        return nomem(err);
    rc = update_names(st, meta, err);
    mysql_free_result(meta);
    return rc;
}

int dbs__mdb_prepare(struct dbs_bstmt **out, struct dbs_conn *base, const char *sql,
                     struct dbs_err *err)
{
    struct mdb_conn *c = (struct mdb_conn *)base;
    struct mdb_stmt *st;
    my_bool on = 1;
    int rc = DBS_OK;

    *out = NULL;
    if ((st = calloc(1, sizeof(*st))) == NULL)
        return nomem(err);
    st->base.conn = base;
    st->ddl = dbs__mdb_sql_is_ddl(sql);
    st->target.sql = st->sql = copy_sql(sql);
    if (st->sql == NULL || (st->h = mysql_stmt_init(c->my)) == NULL) {
        rc = nomem(err);
        goto done;
    }
    if (st->ddl)
        dbs__mdb_keycache_clear(&c->keys);
    if (mysql_stmt_prepare(st->h, sql, (unsigned long)strlen(sql)) != 0) {
        rc = stmt_error(st, err);
        goto done;
    }
    mysql_stmt_attr_set(st->h, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
    if ((rc = alloc_params(st, err)) == DBS_OK)
        rc = prepare_names(st, err);
done:
    if (rc < 0)
        dbs__mdb_finalize(&st->base);
    else
        *out = &st->base;
    return rc;
}

void dbs__mdb_finalize(struct dbs_bstmt *base)
{
    struct mdb_stmt *st = (struct mdb_stmt *)base;
    struct mdb_names *nm;
    unsigned int i;

    if (st == NULL)
        return;
    if (st->h != NULL) {
        finish_result(st, NULL);
        mysql_stmt_close(st->h);
    }
    for (i = 0; i < st->n_params; i++)
        free(st->params != NULL ? st->params[i].buf : NULL);
    for (i = 0; i < st->n_alloc; i++)
        free(st->cols[i].buf);
    while ((nm = st->names) != NULL) {
        st->names = nm->prev;
        free(nm);
    }
    free(st->params);
    free(st->pbind);
    free(st->cols);
    free(st->rbind);
    free(st->sql);
    free(st);
}

/* ---- reading ---- */

int dbs__mdb_param_count(struct dbs_bstmt *base)
{
    return (int)((struct mdb_stmt *)base)->n_params;
}

int dbs__mdb_column_count(struct dbs_bstmt *base)
{
    struct mdb_stmt *st = (struct mdb_stmt *)base;

    return st->names != NULL ? (int)st->names->n : 0;
}

const char *dbs__mdb_column_name(struct dbs_bstmt *base, int col)
{
    struct mdb_stmt *st = (struct mdb_stmt *)base;

    if (st->names == NULL || col < 0 || (unsigned int)col >= st->names->n)
        return NULL;
    return st->names->name[col];
}

/* BIGINT UNSIGNED above INT64_MAX has no int64: hand it out as decimal text. */
static void unsigned_value(struct mdb_col *c, unsigned long long u, struct dbs_value *out)
{
    if (u <= (unsigned long long)INT64_MAX) {
        out->type = DBS_TYPE_INT;
        out->i = (int64_t)u;
        return;
    }
    snprintf(c->num, sizeof(c->num), "%llu", u);
    out->type = DBS_TYPE_TEXT;
    out->p = c->num;
    out->n = strlen(c->num);
}

/* BIT(n) arrives as big-endian bytes. */
static unsigned long long bit_value(const struct mdb_col *c)
{
    unsigned long long u = 0;
    unsigned long i;

    for (i = 0; i < c->len && i < 8; i++)
        u = (u << 8) | (unsigned char)c->buf[i];
    return u;
}

/* FLOAT as the server prints it (FLT_DIG digits), not 0.1f widened to 0.100000001. */
static double float_value(float f)
{
    char buf[48];

    snprintf(buf, sizeof(buf), "%.*g", FLT_DIG, (double)f);
    return strtod(buf, NULL);
}

void dbs__mdb_column_value(struct dbs_bstmt *base, int col, struct dbs_value *out)
{
    struct mdb_col *c = &((struct mdb_stmt *)base)->cols[col];

    memset(out, 0, sizeof(*out));
    out->type = DBS_TYPE_NULL;
    if (c->is_null)
        return;
    switch (c->mode) {
    case M_INT:
        out->type = DBS_TYPE_INT;
        out->i = (int64_t)c->i;
        break;
    case M_UINT:
        unsigned_value(c, (unsigned long long)c->i, out);
        break;
    case M_BIT:
        unsigned_value(c, bit_value(c), out);
        break;
    case M_FLOAT:
        out->type = DBS_TYPE_DOUBLE;
        out->d = float_value(c->f);
        break;
    case M_DOUBLE:
        out->type = DBS_TYPE_DOUBLE;
        out->d = c->d;
        break;
    case M_TEXT:
    case M_BLOB:
        out->type = c->mode == M_TEXT ? DBS_TYPE_TEXT : DBS_TYPE_BLOB;
        out->p = c->buf;
        out->n = c->len;
        break;
    }
}

int64_t dbs__mdb_rows_affected(struct dbs_bstmt *base)
{
    return ((struct mdb_stmt *)base)->affected;
}

int64_t dbs__mdb_last_insert_id(struct dbs_bstmt *base)
{
    return ((struct mdb_stmt *)base)->insert_id;
}
