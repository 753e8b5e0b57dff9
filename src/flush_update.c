/* Flush, part 2: fix-ups, UPDATEs and DELETEs, one row matched each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flush.h"

/* UPDATE t SET <changed> [, version = version + 1] WHERE pk = ? [AND version = ?] */
static int update_row(struct flush *fl, struct obj *o, const dbs_field *only)
{
    dbs_uow *u = fl->u;
    const dbs_model *m = o->m;
    struct model_info *mi = dbs__uow_model(u, m);
    const dbs_field *pk = mi->pk;
    char *sql = NULL, *set = NULL, *c;
    size_t len = 0;
    int i, idx = 0, rc, n = 0;
    dbs_stmt *st = NULL;
    int64_t affected = 0;
    FILE *f = open_memstream(&set, &len);

    if (f == NULL)
        return NOMEM(u);
    for (i = 0; i < m->n_fields; i++) {
        const dbs_field *fd = &m->fields[i];
        if (fd == pk || fd == mi->version || (only != NULL && fd != only)
            || (only == NULL && dbs__field_equal(fd, o->ptr, o->snap)))
            continue;
        c = dbs__quote(u->s, fd->column);
        fprintf(f, "%s%s = ?", n++ ? ", " : "", c != NULL ? c : "?");
        free(c);
    }
    if (mi->version != NULL) {
        c = dbs__quote(u->s, mi->version->column);
        fprintf(f, "%s%s = %s + 1", n++ ? ", " : "", c, c);
        free(c);
    }
    fclose(f);
    {
        char *t = dbs__quote(u->s, m->table), *k = dbs__quote(u->s, pk->column);
        char *v = mi->version != NULL ? dbs__quote(u->s, mi->version->column) : NULL;
        if (t == NULL || k == NULL || asprintf(&sql, "UPDATE %s SET %s WHERE %s = ?%s%s%s", t,
                                               set, k, v != NULL ? " AND " : "",
                                               v != NULL ? v : "", v != NULL ? " = ?" : "") < 0)
            sql = NULL;
        free(t);
        free(k);
        free(v);
    }
    free(set);
    if (sql == NULL)
        return NOMEM(u);
    rc = dbs__uow_stmt(u, &st, sql);
    free(sql);
    for (i = 0; rc == DBS_OK && i < m->n_fields; i++) {
        const dbs_field *fd = &m->fields[i];
        if (fd == pk || fd == mi->version || (only != NULL && fd != only)
            || (only == NULL && dbs__field_equal(fd, o->ptr, o->snap)))
            continue;
        rc = dbs__field_bind(st, ++idx, fd, o->ptr);
    }
    if (rc == DBS_OK)
        rc = dbs__field_bind(st, ++idx, pk, o->ptr);
    if (rc == DBS_OK && mi->version != NULL)
        rc = dbs__field_bind(st, ++idx, mi->version, o->snap != NULL ? o->snap : o->ptr);
    if (rc == DBS_OK && (rc = dbs_stmt_step(st)) == DBS_DONE)
        rc = dbs_stmt_rows_affected(st, &affected);
    if (rc < 0)
        return rc;
    if (affected != 1)
        return dbs__err_set(UERR(u), DBS_ESTALE, "UPDATE of a %s row matched %lld rows, not 1:"
                            " changed or deleted by someone else", m->table, (long long)affected);
    if (mi->version != NULL)
        dbs__field_set_int(mi->version, o->ptr, dbs__field_int(mi->version, o->ptr) + 1, 0);
    return dbs__flush_written(fl, o);
}

int dbs__flush_fixups(struct flush *fl)
{
    size_t i;
    int rc;

    for (i = 0; i < fl->nfix; i++) {
        struct fixup *x = &fl->fix[i];
        dbs__field_set_int(x->f, x->child->ptr,
                           dbs__field_int(dbs__model_pk(x->parent->m), x->parent->ptr), 0);
        if ((rc = update_row(fl, x->child, x->f)) < 0) {
            fl->u->failed = x->child;
            return rc;
        }
    }
    return DBS_OK;
}

static int cmp_key(const void *a, const void *b)
{
    const struct obj *x = *(struct obj *const *)a, *y = *(struct obj *const *)b;
    const dbs_field *pk = dbs__model_pk(x->m);

    if (pk->type == DBS_FT_TEXT)
        return strcmp(*(char *const *)((const char *)x->ptr + pk->offset),
                      *(char *const *)((const char *)y->ptr + pk->offset));
    if (pk->type == DBS_FT_CHARS)
        return strcmp((const char *)x->ptr + pk->offset, (const char *)y->ptr + pk->offset);
    return dbs__flush_cmp_i64(&(int64_t){ dbs__field_int(pk, x->ptr) },
                   &(int64_t){ dbs__field_int(pk, y->ptr) });
}

/* Rows of m in state (dirty persistent, or deleted), in key order. */
static int collect(struct flush *fl, const dbs_model *m, int deletes)
{
    struct obj *o;
    size_t n = 0;

    for (o = fl->u->head; o != NULL; o = o->next) {
        if (o->m != m)
            continue;
        if (deletes ? (o->state != OBJ_DELETED || o->deleted)
                    : (o->state != OBJ_PERSISTENT || !dbs__uow_dirty(o)))
            continue;
        if (dbs__flush_grow((void **)&fl->rows, &fl->caprows, n + 1, sizeof(*fl->rows)) < 0)
            return NOMEM(fl->u);
        fl->rows[n++] = o;
    }
    fl->nrows = n;
    /* one lock order for every process: fewer deadlocks */
    if (n > 1)
        qsort(fl->rows, n, sizeof(*fl->rows), cmp_key);
    return DBS_OK;
}

int dbs__flush_update_table(struct flush *fl, const dbs_model *m)
{
    size_t i;
    int rc;

    if ((rc = collect(fl, m, 0)) < 0)
        return rc;
    for (i = 0; i < fl->nrows; i++) {
        struct obj *o = fl->rows[i];
        if ((rc = dbs__flush_journal(fl, o, 1)) < 0 || (rc = update_row(fl, o, NULL)) < 0) {
            fl->u->failed = o;
            return rc;
        }
    }
    return DBS_OK;
}

/* Is row o referenced through a self foreign key by another row still to delete? */
static int referenced_by_pending_delete(struct flush *fl, size_t from, struct obj *o)
{
    const dbs_model *m = o->m;
    const dbs_field *pk = dbs__model_pk(m);
    size_t i;
    int k;

    for (k = 0; k < m->n_fields; k++) {
        const dbs_field *f = &m->fields[k];
        if (f->ref != m)
            continue;
        for (i = from; i < fl->nrows; i++) {
            struct obj *c = fl->rows[i];
            if (c != o && !c->mark && !dbs__field_is_null(f, c->ptr)
                && dbs__field_int(f, c->ptr) == dbs__field_int(pk, o->ptr))
                return 1;
        }
    }
    return 0;
}

static int delete_row(struct flush *fl, struct obj *o)
{
    dbs_uow *u = fl->u;
    struct model_info *mi = dbs__uow_model(u, o->m);
    char *t = dbs__quote(u->s, o->m->table), *k = dbs__quote(u->s, mi->pk->column);
    char *v = mi->version != NULL ? dbs__quote(u->s, mi->version->column) : NULL, *sql = NULL;
    dbs_stmt *st = NULL;
    int64_t affected = 0;
    int rc;

    if (t == NULL || k == NULL || asprintf(&sql, "DELETE FROM %s WHERE %s = ?%s%s%s", t, k,
                                           v ? " AND " : "", v ? v : "", v ? " = ?" : "") < 0)
        sql = NULL;
    free(t);
    free(k);
    free(v);
    if (sql == NULL)
        return NOMEM(u);
    rc = dbs__uow_stmt(u, &st, sql);
    free(sql);
    if (rc == DBS_OK)
        rc = dbs__field_bind(st, 1, mi->pk, o->ptr);
    if (rc == DBS_OK && mi->version != NULL)
        rc = dbs__field_bind(st, 2, mi->version, o->snap);
    if (rc == DBS_OK && (rc = dbs_stmt_step(st)) == DBS_DONE)
        rc = dbs_stmt_rows_affected(st, &affected);
    if (rc < 0)
        return rc;
    if (affected != 1)
        return dbs__err_set(UERR(u), DBS_ESTALE, "DELETE of a %s row matched %lld rows, not 1:"
                            " changed or deleted by someone else", o->m->table,
                            (long long)affected);
    o->deleted = 1;
    dbs__uow_map_del(u, o);
    return DBS_OK;
}

int dbs__flush_delete_table(struct flush *fl, const dbs_model *m)
{
    size_t i, done = 0;
    int rc;

    if ((rc = collect(fl, m, 1)) < 0)
        return rc;
    for (i = 0; i < fl->nrows; i++)
        fl->rows[i]->mark = 0;
    /* children before parents inside a self-referencing table */
    while (done < fl->nrows) {
        size_t before = done;
        for (i = 0; i < fl->nrows; i++) {
            struct obj *o = fl->rows[i];
            if (o->mark || referenced_by_pending_delete(fl, 0, o))
                continue;
            if ((rc = dbs__flush_journal(fl, o, 0)) < 0 || (rc = delete_row(fl, o)) < 0) {
                fl->u->failed = o;
                return rc;
            }
            o->mark = 1;
            done++;
        }
        if (done == before)
            return dbs__err_set(UERR(fl->u), DBS_ECYCLE, "rows of %s to delete reference each "
                                "other: delete the cycle's links first", m->table);
    }
    return DBS_OK;
}

