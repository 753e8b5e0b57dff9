/* Models to SQL: column lists, dependency order, CREATE and DROP TABLE. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uow.h"

char *dbs__quote(dbs_session *s, const char *name)
{
    char *q = NULL;

    dbs_session_quote_ident(s, name, &q);
    return q;
}

/* A growing string; on allocation failure it stays failed (NULL data). */
struct sbuf {
    char *data;
    size_t len, cap;
    int failed;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->data != NULL ? b->data + b->len : NULL,
                      b->data != NULL ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->data != NULL && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 64) * 2;
        char *d = realloc(b->data, cap);
        if (d == NULL) {
            free(b->data);
            b->data = NULL;
            b->failed = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
}

/* The string made, or NULL (and nothing to free) if any step failed. */
static char *sb_take(struct sbuf *b)
{
    if (!b->failed)
        return b->data;
    free(b->data);
    return NULL;
}

static void sb_ident(struct sbuf *b, dbs_session *s, const char *name)
{
    char *q = dbs__quote(s, name);

    if (q == NULL) {
        b->failed = 1;
        return;
    }
    sb_add(b, "%s", q);
    free(q);
}

char *dbs__model_columns(dbs_session *s, const dbs_model *m)
{
    struct sbuf b = { 0 };
    int i;

    for (i = 0; i < m->n_fields; i++) {
        if (i > 0)
            sb_add(&b, ", ");
        sb_ident(&b, s, m->fields[i].column);
    }
    return sb_take(&b);
}

/*
 * Order models parents first (Kahn's algorithm, ties by position in `in`).
 * Edges come from foreign keys between models of the list; self references
 * are ignored. strict: a cycle is DBS_ECYCLE unless one of its foreign keys
 * is nullable (those edges are dropped to break it); not strict: cycles are
 * broken anywhere (for DDL, where checks are off).
 */
int dbs__model_sort(const dbs_model *const *in, int n, const dbs_model **out, int strict,
                    struct dbs_err *err)
{
    int *done = calloc((size_t)n + 1, sizeof(int));
    int placed = 0, pass, i, j, k, rc = DBS_OK;

    if (done == NULL) {
        rc = dbs__err_set(err, DBS_ENOMEM, "out of memory ordering models");
        goto finish;
    }
    /* pass 0: every edge; pass 1: hard (NOT NULL) edges only; pass 2: none */
    for (pass = 0; placed < n && pass < 3; pass++) {
        for (;;) {
            int progress = 0;
            for (i = 0; i < n; i++) {
                if (done[i])
                    continue;
                int blocked = 0;
                for (k = 0; k < in[i]->n_fields && !blocked; k++) {
                    const dbs_field *f = &in[i]->fields[k];
                    if (f->ref == NULL || f->ref == in[i])
                        continue;
                    if (pass == 1 && !(f->flags & DBS_NOT_NULL))
                        continue;
                    if (pass == 2)
                        continue;
                    for (j = 0; j < n; j++)
                        if (in[j] == f->ref && !done[j])
                            blocked = 1;
                }
                if (!blocked) {
                    done[i] = 1;
                    out[placed++] = in[i];
                    progress = 1;
                    break;    /* restart: keeps ties in input order */
                }
            }
            if (!progress)
                break;
        }
        if (placed < n && pass == 1 && strict) {
            for (i = 0; i < n && done[i]; i++)
                ;
            rc = dbs__err_set(err, DBS_ECYCLE, "foreign keys form a cycle with no nullable "
                              "link through table %s: no insert order exists", in[i]->table);
            dbs__err_set_table(err, in[i]->table, strlen(in[i]->table));
            goto finish;
        }
    }
finish:
    free(done);
    return rc;
}

static const char *ddl_type(dbs_session *s, const dbs_field *f, char *buf, size_t size)
{
    const char *t = NULL;

    if (f->sql_type != NULL)
        return f->sql_type;
    if (s->be->ddl_types != NULL)
        t = s->be->ddl_types[f->type];
    if (f->type == DBS_FT_CHARS || (f->type == DBS_FT_TEXT && (f->flags & DBS_PK))) {
        /* a text key needs a bounded type on MariaDB */
        size_t n = f->type == DBS_FT_CHARS ? f->size - 1 : 255;
        const char *fmt = s->be->ddl_types != NULL && s->be->ddl_types[DBS_FT_CHARS] != NULL
                              ? s->be->ddl_types[DBS_FT_CHARS] : "VARCHAR(%zu)";
        snprintf(buf, size, fmt, n);
        return buf;
    }
    return t != NULL ? t : "TEXT";
}

static void column_def(struct sbuf *b, dbs_session *s, const dbs_field *f)
{
    char tbuf[64];

    sb_ident(b, s, f->column);
    if ((f->flags & DBS_PK) && (f->flags & DBS_AUTOINC) && s->be->ddl_autoinc_pk != NULL) {
        sb_add(b, " %s", s->be->ddl_autoinc_pk);
        return;
    }
    sb_add(b, " %s", ddl_type(s, f, tbuf, sizeof(tbuf)));
    if (f->flags & (DBS_NOT_NULL | DBS_PK))
        sb_add(b, " NOT NULL");
    if (f->flags & DBS_PK)
        sb_add(b, " PRIMARY KEY");
    else if (f->flags & DBS_UNIQUE)
        sb_add(b, " UNIQUE");
    if (f->default_sql != NULL)
        sb_add(b, " DEFAULT %s", f->default_sql);
    else if (f->flags & DBS_VERSION)
        sb_add(b, " DEFAULT 0");
    if (f->check_sql != NULL)
        sb_add(b, " CHECK (%s)", f->check_sql);
}

static char *create_sql(dbs_session *s, const dbs_model *m)
{
    static const char *const ondel[] = { "RESTRICT", "CASCADE", "SET NULL" };
    struct sbuf b = { 0 };
    int i;

    sb_add(&b, "CREATE TABLE ");
    sb_ident(&b, s, m->table);
    sb_add(&b, " (");
    for (i = 0; i < m->n_fields; i++) {
        sb_add(&b, i > 0 ? ", " : "");
        column_def(&b, s, &m->fields[i]);
    }
    for (i = 0; i < m->n_fields; i++) {
        const dbs_field *f = &m->fields[i], *pk;
        if (f->ref == NULL || (pk = dbs__model_pk(f->ref)) == NULL)
            continue;
        sb_add(&b, ", FOREIGN KEY (");
        sb_ident(&b, s, f->column);
        sb_add(&b, ") REFERENCES ");
        sb_ident(&b, s, f->ref->table);
        sb_add(&b, " (");
        sb_ident(&b, s, pk->column);
        sb_add(&b, ") ON DELETE %s", ondel[f->on_delete <= 2 ? f->on_delete : 0]);
    }
    sb_add(&b, ")%s", s->be->ddl_table_suffix != NULL ? s->be->ddl_table_suffix : "");
    return sb_take(&b);
}

/* CREATE INDEX on a foreign key column, or NULL when none is needed: the
 * engine checks the children of every deleted or re-keyed parent, and
 * without an index SQLite scans the child table for each one (a delete of
 * N parents costs N scans). InnoDB would make one by itself; an explicit one
 * takes its place. Named ix_<table>_<column>, cut to 64 bytes with a hash of
 * the whole name so that different columns keep different names. */
static char *index_sql(dbs_session *s, const dbs_model *m, const dbs_field *f, int *failed)
{
    struct sbuf b = { 0 };
    char name[65];
    unsigned long h = 5381;
    const char *p;
    int n;

    *failed = 0;
    if (f->ref == NULL || (f->flags & (DBS_PK | DBS_UNIQUE)))
        return NULL;
    n = snprintf(name, sizeof(name), "ix_%s_%s", m->table, f->column);
    if (n < 0 || (size_t)n >= sizeof(name)) {
        for (p = m->table; *p != '\0'; p++)
            h = h * 33 + (unsigned char)*p;
        for (h = h * 33 + '.', p = f->column; *p != '\0'; p++)
            h = h * 33 + (unsigned char)*p;
        snprintf(name + 55, sizeof(name) - 55, "_%08lx", h & 0xffffffffUL);
    }
    sb_add(&b, "CREATE INDEX ");
    sb_ident(&b, s, name);
    sb_add(&b, " ON ");
    sb_ident(&b, s, m->table);
    sb_add(&b, " (");
    sb_ident(&b, s, f->column);
    sb_add(&b, ")");
    *failed = b.failed;
    return sb_take(&b);
}

static int run_ddl(dbs_session *s, const dbs_model *const *models, int n, int create)
{
    const dbs_model **order = NULL;
    int rc, i, j;

    if (s == NULL || (models == NULL && n > 0) || n < 0)
        return dbs__err_set(s != NULL ? &s->err : dbs__err_thread(), DBS_EMISUSE,
                            "create_all/drop_all: NULL argument");
    if ((order = calloc((size_t)n + 1, sizeof(*order))) == NULL)
        return dbs__err_set(&s->err, DBS_ENOMEM, "out of memory");
    if ((rc = dbs__model_sort(models, n, order, 0, &s->err)) < 0)
        goto done;
    if (s->be->ddl_begin_sql != NULL && (rc = dbs_session_exec(s, s->be->ddl_begin_sql)) < 0)
        goto done;
    for (i = 0; i < n && rc == DBS_OK; i++) {
        const dbs_model *m = order[create ? i : n - 1 - i];
        char *sql = NULL;
        if (create) {
            sql = create_sql(s, m);
        } else {
            struct sbuf b = { 0 };
            sb_add(&b, "DROP TABLE IF EXISTS ");
            sb_ident(&b, s, m->table);
            sql = sb_take(&b);
        }
        rc = sql != NULL ? dbs_session_exec(s, sql)
                         : dbs__err_set(&s->err, DBS_ENOMEM, "out of memory");
        free(sql);
        for (j = 0; create && j < m->n_fields && rc == DBS_OK; j++) {
            int failed;
            if ((sql = index_sql(s, m, &m->fields[j], &failed)) != NULL)
                rc = dbs_session_exec(s, sql);
            else if (failed)
                rc = dbs__err_set(&s->err, DBS_ENOMEM, "out of memory");
            free(sql);
        }
    }
    if (s->be->ddl_end_sql != NULL) {
        int rc2 = dbs__session_send(s, s->be->ddl_end_sql);
        if (rc == DBS_OK && rc2 < 0)
            rc = dbs__session_failed(s, rc2);
    }
done:
    free(order);
    return rc;
}

int dbs_model_create_all(dbs_session *s, const dbs_model *const *models, int n)
{
    return run_ddl(s, models, n, 1);
}

int dbs_model_drop_all(dbs_session *s, const dbs_model *const *models, int n)
{
    return run_ddl(s, models, n, 0);
}
