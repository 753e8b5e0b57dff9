/*
 * Flush: write every pending change in one consistent order.
 *
 *   1. plan (before any SQL): tables parents first from the models' foreign
 *      keys; inside a table, inserts in add order with rows that point at a
 *      pending parent of the same table after it (level by level); a cycle
 *      with no nullable link is DBS_ECYCLE;
 *   2. SAVEPOINT, then INSERTs (parents first), fix-up UPDATEs for links
 *      that had to be written NULL, UPDATEs (parents first, key order),
 *      DELETEs (children first, key order);
 *   3. success: RELEASE; failure: ROLLBACK TO and every struct back to how
 *      it was before the flush (the journal), or, when the engine ended the
 *      transaction, back to how it was when the transaction began.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uow.h"

#define UERR(u) (&(u)->s->err)

/* How an object was before this flush touched it. */
struct jentry {
    struct obj *o;
    void *snap;              /* its snapshot before (ownership returns on failure) */
    void *image;             /* updates: the struct before, with unflushed values */
    unsigned char state, deleted, in_map;
};

struct fixup {
    struct obj *child;
    const dbs_field *f;
    struct obj *parent;
};

struct flush {
    dbs_uow *u;
    struct undo *mark;        /* the level's newest undo record when the flush began */
    struct jentry *j;
    size_t nj, capj;
    struct fixup *fix;
    size_t nfix, capfix;
    struct obj **rows;        /* scratch: one table's rows */
    int *level;               /* rows[i] may go in one statement with rows of its level */
    size_t nrows, caprows, caplevel;
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 16;
    void *q;

    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    if ((q = realloc(*p, n * size)) == NULL)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

#define NOMEM(u) dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory during flush")

/* ---- what has to be written ---- */

int dbs__uow_dirty(const struct obj *o)
{
    int i;

    if (o->snap == NULL)
        return 0;
    for (i = 0; i < o->m->n_fields; i++)
        if (!dbs__field_equal(&o->m->fields[i], o->ptr, o->snap))
            return 1;
    return 0;
}

static int has_work(dbs_uow *u)
{
    struct obj *o;

    for (o = u->head; o != NULL; o = o->next)
        if (o->state == OBJ_PENDING || (o->state == OBJ_DELETED && !o->deleted)
            || (o->state == OBJ_PERSISTENT && dbs__uow_dirty(o)))
            return 1;
    return 0;
}

/* ---- the journal ---- */

static int journal(struct flush *fl, struct obj *o, int with_image)
{
    struct jentry *e;

    if (o->journaled)
        return DBS_OK;
    if (grow((void **)&fl->j, &fl->capj, fl->nj + 1, sizeof(*fl->j)) < 0)
        return NOMEM(fl->u);
    e = &fl->j[fl->nj];
    memset(e, 0, sizeof(*e));
    e->o = o;
    e->snap = o->snap;
    e->state = o->state;
    e->deleted = o->deleted;
    e->in_map = o->in_map;
    if (with_image && (e->image = dbs__image_new(o->m, o->ptr)) == NULL)
        return NOMEM(fl->u);
    fl->nj++;
    o->journaled = 1;
    o->flush_snap = o->snap;
    /* and the transaction level learns how it was before its first write */
    return dbs__uow_undo_record(fl->u, o);
}

/* The statement for o succeeded: its snapshot becomes what is in the row. */
static int written(struct flush *fl, struct obj *o)
{
    void *snap = dbs__image_new(o->m, o->ptr);

    if (snap == NULL)
        return NOMEM(fl->u);
    if (o->snap != o->flush_snap)
        dbs__image_free(o->m, o->snap);   /* written twice (fix-up): drop the interim */
    o->snap = snap;
    return DBS_OK;
}

static void journal_commit(struct flush *fl)
{
    size_t i;

    for (i = 0; i < fl->nj; i++) {
        struct jentry *e = &fl->j[i];
        e->o->journaled = 0;
        if (e->snap != e->o->snap)
            dbs__image_free(e->o->m, e->snap);
        dbs__image_free(e->o->m, e->image);
    }
}

/* Every struct back to how it was before the flush (newest first). */
static void journal_revert(struct flush *fl)
{
    size_t i = fl->nj;

    while (i-- > 0) {
        struct jentry *e = &fl->j[i];
        struct obj *o = e->o;

        o->journaled = 0;
        if (o->snap != e->snap) {
            dbs__image_free(o->m, o->snap);
            o->snap = e->snap;
        }
        if (e->image != NULL)
            dbs__image_restore(o, e->image);
        else if (e->state == OBJ_PENDING && o->undo != NULL && o->undo->state == OBJ_PENDING)
            dbs__image_restore(o, o->undo->image);    /* no id, parents' keys undone */
        dbs__image_free(o->m, e->image);
        o->state = e->state;
        o->deleted = e->deleted;
        if (e->in_map)
            dbs__uow_map_add(fl->u, o);
        else
            dbs__uow_map_del(fl->u, o);
    }
}

/* ---- planning ---- */

static struct obj *parent_of(dbs_uow *u, const struct obj *o, const dbs_field *f)
{
    void *p;

    if (f->ref_ptr_offset == 0)
        return NULL;
    memcpy(&p, (const char *)o->ptr + f->ref_ptr_offset - 1, sizeof(p));
    return p != NULL ? dbs__uow_find(u, p) : NULL;
}

static int nullable(const dbs_field *f)
{
    return !(f->flags & (DBS_NOT_NULL | DBS_PK)) && f->null_offset != 0;
}

/* Pending rows of model m, add order, parents (same table) before children. */
static int plan_inserts(struct flush *fl, const dbs_model *m)
{
    dbs_uow *u = fl->u;
    size_t placed = 0, n = 0, i;
    struct obj *o;
    int k, lv;

    for (o = u->head; o != NULL; o = o->next)
        if (o->m == m && o->state == OBJ_PENDING) {
            if (grow((void **)&fl->rows, &fl->caprows, n + 1, sizeof(*fl->rows)) < 0)
                return NOMEM(u);
            fl->rows[n++] = o;
            o->mark = 0;
        }
    fl->nrows = n;
    if (grow((void **)&fl->level, &fl->caplevel, n + 1, sizeof(*fl->level)) < 0)
        return NOMEM(u);
    /* levels: a row goes once its same-table parent is placed (mark = 1) */
    for (lv = 1; placed < n; lv++) {
        size_t before = placed;
        for (i = placed; i < n; i++) {
            int ready = 1;
            o = fl->rows[i];
            for (k = 0; k < m->n_fields && ready; k++) {
                struct obj *p = m->fields[k].ref == m ? parent_of(u, o, &m->fields[k]) : NULL;
                if (p != NULL && p != o && p->state == OBJ_PENDING && !p->mark)
                    ready = 0;
            }
            if (ready) {
                memmove(&fl->rows[placed + 1], &fl->rows[placed], (i - placed) * sizeof(o));
                fl->rows[placed++] = o;
            }
        }
        for (i = before; i < placed; i++) {
            fl->rows[i]->mark = 1;
            fl->level[i] = lv;
        }
        if (placed == before) {
            /* a cycle of rows: the first nullable self link breaks it */
            o = fl->rows[placed];
            for (k = 0; k < m->n_fields; k++)
                if (m->fields[k].ref == m && nullable(&m->fields[k]))
                    break;
            if (k == m->n_fields)
                return dbs__err_set(UERR(u), DBS_ECYCLE, "rows of %s reference each other "
                                    "through a NOT NULL foreign key: no insert order exists",
                                    m->table);
            o->mark = 1;
            fl->level[placed++] = lv;
        }
    }
    return DBS_OK;
}

/* Copy generated keys of written parents into o's foreign keys; links to a
 * parent not yet written are written NULL now and fixed up afterwards. */
static int link_parents(struct flush *fl, struct obj *o)
{
    const dbs_model *m = o->m;
    int k;

    for (k = 0; k < m->n_fields; k++) {
        const dbs_field *f = &m->fields[k];
        struct obj *p = parent_of(fl->u, o, f);
        const dbs_field *ppk;

        if (p == NULL)
            continue;
        ppk = dbs__model_pk(p->m);
        if (p->state != OBJ_PENDING) {
            dbs__field_set_int(f, o->ptr, dbs__field_int(ppk, p->ptr), 0);
            continue;
        }
        if (!nullable(f))
            return dbs__err_set(UERR(fl->u), DBS_ECYCLE, "%s.%s must point at a %s row that "
                                "cannot be written first (a cycle of NOT NULL foreign keys)",
                                m->table, f->column, p->m->table);
        if (grow((void **)&fl->fix, &fl->capfix, fl->nfix + 1, sizeof(*fl->fix)) < 0)
            return NOMEM(fl->u);
        fl->fix[fl->nfix++] = (struct fixup){ o, f, p };
        dbs__field_set_int(f, o->ptr, 0, 1);
    }
    return DBS_OK;
}

/* ---- statements ---- */

static int key_column_omitted(const dbs_field *f, const void *obj)
{
    return (f->flags & DBS_PK) && (f->flags & DBS_AUTOINC) && dbs__field_int(f, obj) == 0;
}

/* INSERT INTO t (cols) VALUES (?, ...) x rows [RETURNING pk] */
static char *insert_sql(dbs_uow *u, const dbs_model *m, int with_pk, size_t rows, int returning)
{
    char *table = dbs__quote(u->s, m->table), *sql = NULL, *p;
    size_t cap = 64 + strlen(table != NULL ? table : "") + rows * (size_t)m->n_fields * 4;
    int i, ncols = 0;
    size_t r;

    for (i = 0; i < m->n_fields; i++)
        cap += strlen(m->fields[i].column) * 2 + 4;
    if (table == NULL || (sql = p = malloc(cap)) == NULL) {
        free(table);
        return NULL;
    }
    p += sprintf(p, "INSERT INTO %s (", table);
    for (i = 0; i < m->n_fields; i++) {
        char *c;
        if (!with_pk && (m->fields[i].flags & DBS_PK))
            continue;
        if ((c = dbs__quote(u->s, m->fields[i].column)) == NULL)
            goto nomem;
        p += sprintf(p, "%s%s", ncols++ ? ", " : "", c);
        free(c);
    }
    p += sprintf(p, ") VALUES ");
    for (r = 0; r < rows; r++) {
        p += sprintf(p, "%s(", r ? ", " : "");
        for (i = 0; i < ncols; i++)
            p += sprintf(p, i ? ", ?" : "?");
        *p++ = ')';
    }
    *p = '\0';
    if (returning) {
        char *c = dbs__quote(u->s, dbs__model_pk(m)->column), *full = NULL;
        if (c == NULL || asprintf(&full, "%s RETURNING %s", sql, c) < 0)
            full = NULL;
        free(c);
        free(sql);
        sql = full;
    }
    free(table);
    return sql;
nomem:
    free(table);
    free(sql);
    return NULL;
}

static int bind_insert(dbs_stmt *st, int base, const dbs_model *m, const void *obj, int with_pk)
{
    int i, idx = base, rc;

    for (i = 0; i < m->n_fields; i++) {
        if (!with_pk && (m->fields[i].flags & DBS_PK))
            continue;
        if ((rc = dbs__field_bind(st, ++idx, &m->fields[i], obj)) < 0)
            return rc;
    }
    return idx - base;
}

static int insert_one(struct flush *fl, struct obj *o)
{
    dbs_uow *u = fl->u;
    const dbs_model *m = o->m;
    const dbs_field *pk = dbs__model_pk(m);
    struct model_info *mi = dbs__uow_model(u, m);
    int with_pk = !key_column_omitted(pk, o->ptr), rc;
    dbs_stmt *st = NULL;
    char *sql;
    int64_t id = 0;

    if ((rc = journal(fl, o, 0)) < 0 || (rc = link_parents(fl, o)) < 0)
        return rc;
    if (mi->version != NULL && dbs__field_int(mi->version, o->ptr) == 0)
        dbs__field_set_int(mi->version, o->ptr, 1, 0);
    if ((st = mi->insert[with_pk]) == NULL) {
        if ((sql = insert_sql(u, m, with_pk, 1, 0)) == NULL)
            return NOMEM(u);
        rc = dbs__uow_stmt(u, &st, sql);
        free(sql);
        if (rc < 0)
            return rc;
        mi->insert[with_pk] = st;
    }
    if ((rc = bind_insert(st, 0, m, o->ptr, with_pk)) < 0)
        return rc;
    if ((rc = dbs_stmt_step(st)) != DBS_DONE)
        return rc < 0 ? rc : dbs__err_set(UERR(u), DBS_ERROR, "INSERT returned rows");
    if (!with_pk) {
        dbs_stmt_last_insert_id(st, &id);
        dbs__field_set_int(pk, o->ptr, id, 0);
    }
    o->state = OBJ_PERSISTENT;
    if ((rc = dbs__uow_map_add(u, o)) < 0)
        return rc;
    return written(fl, o);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* Rows [from, to) of fl->rows in one INSERT ... RETURNING: the generated keys
 * come back in VALUES order; they are sorted and assigned in row order, and
 * their count is checked. Keys are never computed as "first id + i". */
static int insert_batch(struct flush *fl, size_t from, size_t to, int cache)
{
    dbs_uow *u = fl->u;
    const dbs_model *m = fl->rows[from]->m;
    const dbs_field *pk = dbs__model_pk(m);
    int generated = key_column_omitted(pk, fl->rows[from]->ptr);
    size_t k = to - from, got = 0, i;
    int64_t *ids = malloc(k * sizeof(*ids)), affected = 0;
    dbs_stmt *st = NULL;
    char *sql = insert_sql(u, m, !generated, k, generated);
    int rc = DBS_OK, base = 0;

    if (ids == NULL || sql == NULL) {
        rc = NOMEM(u);
        goto done;
    }
    for (i = from; i < to && (rc = journal(fl, fl->rows[i], 0)) == DBS_OK; i++)
        rc = link_parents(fl, fl->rows[i]);
    /* full batches reuse one cached statement; a tail is prepared once */
    if (rc < 0 || (rc = cache ? dbs__uow_stmt(u, &st, sql) : dbs_stmt_prepare(&st, u->s, sql)) < 0)
        goto done;
    for (i = from; i < to; i++) {
        struct model_info *mi = dbs__uow_model(u, m);
        if (mi->version != NULL && dbs__field_int(mi->version, fl->rows[i]->ptr) == 0)
            dbs__field_set_int(mi->version, fl->rows[i]->ptr, 1, 0);
        if ((rc = bind_insert(st, base, m, fl->rows[i]->ptr, !generated)) < 0)
            goto done;
        base += rc;
    }
    if (!generated) {
        /* keys the program assigned: nothing to read back but the count */
        if ((rc = dbs_stmt_step(st)) == DBS_DONE && (rc = dbs_stmt_rows_affected(st, &affected))
            == DBS_OK && affected != (int64_t)k)
            rc = dbs__err_set(UERR(u), DBS_ERROR, "INSERT into %s wrote %lld rows, not %zu",
                              m->table, (long long)affected, k);
        for (i = from; i < to && rc >= 0; i++) {
            fl->rows[i]->state = OBJ_PERSISTENT;
            if ((rc = dbs__uow_map_add(u, fl->rows[i])) == DBS_OK)
                rc = written(fl, fl->rows[i]);
        }
        goto done;
    }
    while ((rc = dbs_stmt_step(st)) == DBS_ROW && got < k)
        rc = dbs_stmt_column_int64(st, 0, &ids[got++]) < 0 ? DBS_ERROR : DBS_ROW;
    if (rc == DBS_ROW || (rc == DBS_DONE && got != k))
        rc = dbs__err_set(UERR(u), DBS_ERROR, "INSERT ... RETURNING into %s gave %zu keys "
                          "for %zu rows", m->table, got, k);
    if (rc < 0)
        goto done;
    if (k > 1)
        qsort(ids, k, sizeof(*ids), cmp_i64);
    for (i = 0; i < k && rc >= 0; i++) {
        struct obj *o = fl->rows[from + i];
        dbs__field_set_int(pk, o->ptr, ids[i], 0);
        o->state = OBJ_PERSISTENT;
        if ((rc = dbs__uow_map_add(u, o)) == DBS_OK)
            rc = written(fl, o);
    }
done:
    if (st != NULL && cache)
        dbs_stmt_reset(st);
    else
        dbs_stmt_free(st);
    free(ids);
    free(sql);
    return rc < 0 ? rc : DBS_OK;
}

/* A failed batch: the engine undid the whole statement. Replaying its rows
 * one by one finds the row to blame (error path only). */
static int replay(struct flush *fl, size_t from, size_t to, int rc)
{
    size_t i;
    int r;

    if (dbs_session_state(fl->u->s) != DBS_TXN_ACTIVE || rc == DBS_ENOMEM || rc == DBS_ECYCLE)
        return rc;
    for (i = from; i < to; i++)
        if ((r = insert_one(fl, fl->rows[i])) < 0) {
            fl->u->failed = fl->rows[i];
            return r;
        }
    return rc;
}

static int insert_table(struct flush *fl, const dbs_model *m)
{
    dbs_uow *u = fl->u;
    const dbs_field *pk = dbs__model_pk(m);
    size_t i = 0, j, per;
    int rc;

    if ((rc = plan_inserts(fl, m)) < 0)
        return rc;
    per = (size_t)u->s->be->insert_returning_rows;
    if (per > 0 && u->s->be->max_params > 0 && (size_t)u->s->be->max_params / (size_t)m->n_fields < per)
        per = (size_t)u->s->be->max_params / (size_t)m->n_fields;
    while (i < fl->nrows) {
        /* a run of rows of one level whose keys the database generates */
        int omitted = key_column_omitted(pk, fl->rows[i]->ptr);
        for (j = i; per > 1 && j < fl->nrows && j - i < per && fl->level[j] == fl->level[i]
                    && key_column_omitted(pk, fl->rows[j]->ptr) == omitted; j++)
            ;
        if (j - i > 1) {
            if ((rc = insert_batch(fl, i, j, j - i == per)) < 0)
                return replay(fl, i, j, rc);
            i = j;
            continue;
        }
        if ((rc = insert_one(fl, fl->rows[i])) < 0) {
            u->failed = fl->rows[i];
            return rc;
        }
        i++;
    }
    return DBS_OK;
}

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
    return written(fl, o);
}

static int fixups(struct flush *fl)
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
    return cmp_i64(&(int64_t){ dbs__field_int(pk, x->ptr) },
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
        if (grow((void **)&fl->rows, &fl->caprows, n + 1, sizeof(*fl->rows)) < 0)
            return NOMEM(fl->u);
        fl->rows[n++] = o;
    }
    fl->nrows = n;
    /* one lock order for every process: fewer deadlocks */
    if (n > 1)
        qsort(fl->rows, n, sizeof(*fl->rows), cmp_key);
    return DBS_OK;
}

static int update_table(struct flush *fl, const dbs_model *m)
{
    size_t i;
    int rc;

    if ((rc = collect(fl, m, 0)) < 0)
        return rc;
    for (i = 0; i < fl->nrows; i++) {
        struct obj *o = fl->rows[i];
        if ((rc = journal(fl, o, 1)) < 0 || (rc = update_row(fl, o, NULL)) < 0) {
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

static int delete_table(struct flush *fl, const dbs_model *m)
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
            if ((rc = journal(fl, o, 0)) < 0 || (rc = delete_row(fl, o)) < 0) {
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

static int write_all(struct flush *fl)
{
    dbs_uow *u = fl->u;
    int i, rc;

    for (i = 0; i < u->n_models; i++)
        if ((rc = insert_table(fl, u->order[i])) < 0)
            return rc;
    if ((rc = fixups(fl)) < 0)
        return rc;
    for (i = 0; i < u->n_models; i++)
        if ((rc = update_table(fl, u->order[i])) < 0)
            return rc;
    for (i = u->n_models - 1; i >= 0; i--)
        if ((rc = delete_table(fl, u->order[i])) < 0)
            return rc;
    return DBS_OK;
}

/* Savepoint control that the session's depth does not see. */
static int send_keep_error(dbs_uow *u, const char *sql)
{
    struct dbs_err saved;
    int rc;

    dbs__err_copy(&saved, UERR(u));
    rc = dbs__session_send(u->s, sql);
    dbs__err_copy(UERR(u), &saved);
    return rc;
}

static void failed(struct flush *fl, int rc)
{
    dbs_uow *u = fl->u;
    struct obj *blamed = u->failed;

    journal_revert(fl);
    dbs__uow_undo_forget(u, fl->mark);
    u->failed = blamed;
    if (dbs_session_state(u->s) == DBS_TXN_ACTIVE) {
        send_keep_error(u, "ROLLBACK TO SAVEPOINT dbs_flush");
        send_keep_error(u, "RELEASE SAVEPOINT dbs_flush");
    } else {
        /* the engine ended the transaction: memory goes back to its start */
        dbs__uow_restore_to(u, 1);
        dbs__uow_settle(u, 1);
    }
    (void)rc;
}

int dbs__uow_flush(dbs_uow *u, const char *why)
{
    struct flush fl = { .u = u };
    int rc;

    if (u->flushing || !has_work(u))
        return DBS_OK;
    u->failed = NULL;
    u->failed_why = why;
    /* everything that can be refused without SQL is refused here */
    if ((rc = dbs__uow_order(u)) < 0)
        return rc;
    if (dbs_session_depth(u->s) == 0 && (rc = dbs_session_begin(u->s)) < 0)
        return rc;
    if ((rc = dbs__session_ready(u->s)) < 0
        || (rc = dbs__session_send(u->s, "SAVEPOINT dbs_flush")) < 0)
        return rc < 0 && rc != DBS_ETXNABORTED ? dbs__session_failed(u->s, rc) : rc;
    u->flushing = 1;
    fl.mark = dbs_session_depth(u->s) < u->n_levels ? u->levels[dbs_session_depth(u->s)] : NULL;
    rc = write_all(&fl);
    if (rc == DBS_OK && (rc = dbs__session_send(u->s, "RELEASE SAVEPOINT dbs_flush")) < 0)
        rc = dbs__session_failed(u->s, rc);
    if (rc == DBS_OK)
        journal_commit(&fl);
    else
        failed(&fl, rc);
    u->flushing = 0;
    free(fl.j);
    free(fl.fix);
    free(fl.rows);
    free(fl.level);
    return rc;
}

/* ---- public ---- */

int dbs_uow_flush(dbs_uow *u)
{
    if (u == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "dbs_uow_flush: NULL");
    dbs__err_clear(UERR(u));
    return dbs__uow_flush(u, "flush");
}

const char *dbs_uow_failed_during(dbs_uow *u)
{
    return u != NULL && u->failed_why != NULL ? u->failed_why : "";
}

int dbs_uow_commit(dbs_uow *u)
{
    int rc;

    if (u == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "dbs_uow_commit: NULL");
    dbs__err_clear(UERR(u));
    if ((rc = dbs__uow_flush(u, "flush before commit")) < 0)
        return rc;
    if (dbs_session_depth(u->s) == 0)
        return DBS_OK;     /* nothing was written and nothing is open */
    return dbs_session_commit(u->s);
}

int dbs_uow_rollback(dbs_uow *u)
{
    if (u == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "dbs_uow_rollback: NULL");
    if (dbs_session_depth(u->s) == 0) {
        /* nothing written: pending work is simply dropped */
        dbs__uow_settle(u, 1);
        return DBS_OK;
    }
    return dbs_session_rollback(u->s);
}
