/* Flush, part 1: planning the INSERTs and writing them (generated keys back). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flush.h"

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

/* The pending row of m's own table that o's field f points at, if any. */
static struct obj *pending_parent(dbs_uow *u, const struct obj *o, const dbs_field *f)
{
    struct obj *p = f->ref == o->m ? parent_of(u, o, f) : NULL;

    return p != NULL && p != o && p->state == OBJ_PENDING && p->m == o->m ? p : NULL;
}

static int cmp_place(const void *a, const void *b)
{
    uint32_t x = (*(struct obj *const *)a)->nref, y = (*(struct obj *const *)b)->nref;

    return x < y ? -1 : x > y;
}

/* Pending rows of model m, add order, parents (same table) before children.
 * Rows of a self-referencing table go level by level: a level is the rows
 * whose parents are all in earlier levels, in add order. Kahn's algorithm
 * over the child lists, O(rows log rows) whatever the depth. A cycle through
 * a nullable link is broken at its first row in add order (written NULL,
 * fixed up after); a cycle of NOT NULL links is DBS_ECYCLE. */
static int plan_inserts(struct flush *fl, const dbs_model *m)
{
    dbs_uow *u = fl->u;
    size_t n, i, j, placed = 0, first = 0, cur, ncur, nnext;
    struct obj **out = NULL, **child = NULL, *o;
    size_t *start = NULL, *pos = NULL;
    uint32_t *waiting = NULL;
    unsigned char *done = NULL;
    int k, lv, breakable = 0, rc = DBS_OK;

    if (dbs__flush_rows_of(fl, 0, m) < 0)
        return NOMEM(u);
    n = fl->nrows;
    if (n == 0)
        return DBS_OK;
    if (dbs__flush_grow((void **)&fl->level, &fl->caplevel, n + 1, sizeof(*fl->level)) < 0)
        return NOMEM(u);
    if (!dbs__uow_model(u, m)->self_ref) {
        for (i = 0; i < n; i++)
            fl->level[i] = 1;
        return DBS_OK;        /* no row can wait for another: one level, add order */
    }
    for (k = 0; k < m->n_fields; k++)
        breakable |= m->fields[k].ref == m && nullable(&m->fields[k]);
    out = malloc(n * sizeof(*out));
    child = malloc(n * (size_t)m->n_fields * sizeof(*child));
    start = calloc(n + 1, sizeof(*start));
    pos = malloc(n * sizeof(*pos));
    waiting = calloc(n, sizeof(*waiting));
    done = calloc(n, 1);
    if (out == NULL || child == NULL || start == NULL || pos == NULL || waiting == NULL
        || done == NULL) {
        rc = NOMEM(u);
        goto end;
    }
    for (i = 0; i < n; i++)
        fl->rows[i]->nref = (uint32_t)i;            /* its place in add order */
    /* each parent's children side by side: child[start[p] .. start[p + 1]) */
    for (i = 0; i < n; i++)
        for (k = 0; k < m->n_fields; k++)
            if ((o = pending_parent(u, fl->rows[i], &m->fields[k])) != NULL)
                start[o->nref + 1]++;
    for (i = 0; i < n; i++)
        start[i + 1] += start[i];
    memcpy(pos, start, n * sizeof(*pos));
    for (i = 0; i < n; i++)
        for (k = 0; k < m->n_fields; k++)
            if ((o = pending_parent(u, fl->rows[i], &m->fields[k])) != NULL) {
                child[pos[o->nref]++] = fl->rows[i];
                waiting[i]++;
            }
    /* level 1: the rows that wait for nobody, in add order */
    for (ncur = 0, i = 0; i < n; i++)
        if (waiting[i] == 0)
            out[ncur++] = fl->rows[i];
    for (lv = 1, cur = 0; placed < n; lv++) {
        if (ncur == 0) {
            /* a cycle of rows: the first unplaced one in add order breaks it */
            while (done[first])
                first++;
            if (!breakable) {
                rc = dbs__err_set(UERR(u), DBS_ECYCLE, "rows of %s reference each other "
                                  "through a NOT NULL foreign key: no insert order exists",
                                  m->table);
                goto end;
            }
            out[cur] = fl->rows[first];
            ncur = 1;
        }
        /* place this level; its rows' children that now wait for nobody
         * form the next one, put back in add order */
        nnext = 0;
        for (i = cur; i < cur + ncur; i++) {
            uint32_t at = out[i]->nref;
            done[at] = 1;
            fl->level[i] = lv;
            for (j = start[at]; j < start[at + 1]; j++) {
                uint32_t c = child[j]->nref;
                if (!done[c] && waiting[c] > 0 && --waiting[c] == 0)
                    out[cur + ncur + nnext++] = child[j];
            }
        }
        placed += ncur;
        cur += ncur;
        if (nnext > 1)
            qsort(&out[cur], nnext, sizeof(*out), cmp_place);
        ncur = nnext;
    }
    memcpy(fl->rows, out, n * sizeof(*out));
end:
    free(out);
    free(child);
    free(start);
    free(pos);
    free(waiting);
    free(done);
    return rc;
}

/* Copy generated keys of written parents into o's foreign keys; links to a
 * parent not yet written are written NULL now and fixed up afterwards. */
static int link_parents(struct flush *fl, const struct model_info *mi, struct obj *o)
{
    const dbs_model *m = o->m;
    int k;

    if (!mi->parent_ptrs)
        return DBS_OK;          /* no field points at a parent's struct */
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
        if (dbs__flush_grow((void **)&fl->fix, &fl->capfix, fl->nfix + 1, sizeof(*fl->fix)) < 0)
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
    struct model_info *mi = dbs__uow_model(u, m);
    const dbs_field *pk = mi->pk;
    int with_pk = !key_column_omitted(pk, o->ptr), rc;
    dbs_stmt *st = NULL;
    char *sql;
    int64_t id = 0;

    if ((rc = dbs__flush_journal(fl, o, 0)) < 0 || (rc = link_parents(fl, mi, o)) < 0)
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
    return dbs__flush_written(fl, o);
}

/* Rows [from, to) of fl->rows in one INSERT ... RETURNING: the generated keys
 * come back in VALUES order; they are sorted and assigned in row order, and
 * their count is checked. Keys are never computed as "first id + i". */
static int insert_batch(struct flush *fl, size_t from, size_t to, int cache)
{
    dbs_uow *u = fl->u;
    const dbs_model *m = fl->rows[from]->m;
    struct model_info *mi = dbs__uow_model(u, m);
    const dbs_field *pk = mi->pk;
    int generated = key_column_omitted(pk, fl->rows[from]->ptr);
    size_t k = to - from, got = 0, i;
    int64_t *ids = malloc(k * sizeof(*ids)), affected = 0;
    /* full batches reuse one statement, kept per model (no SQL text built
     * again); a tail is prepared once */
    dbs_stmt *st = cache ? mi->insert_many[!generated] : NULL;
    char *sql = st != NULL ? NULL : insert_sql(u, m, !generated, k, generated);
    int rc = DBS_OK, base = 0;

    if (ids == NULL || (st == NULL && sql == NULL)) {
        rc = NOMEM(u);
        goto done;
    }
    for (i = from; i < to && (rc = dbs__flush_journal(fl, fl->rows[i], 0)) == DBS_OK; i++)
        rc = link_parents(fl, mi, fl->rows[i]);
    if (rc < 0)
        goto done;
    if (st == NULL && cache) {
        if ((rc = dbs__uow_stmt(u, &st, sql)) < 0)
            goto done;
        mi->insert_many[!generated] = st;
    } else if (st == NULL && (rc = dbs_stmt_prepare(&st, u->s, sql)) < 0) {
        goto done;
    }
    for (i = from; i < to; i++) {
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
            rc = dbs__flush_written(fl, fl->rows[i]);
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
        qsort(ids, k, sizeof(*ids), dbs__flush_cmp_i64);
    for (i = 0; i < k && rc >= 0; i++) {
        struct obj *o = fl->rows[from + i];
        dbs__field_set_int(pk, o->ptr, ids[i], 0);
        o->state = OBJ_PERSISTENT;
        rc = dbs__flush_written(fl, o);
    }
done:
    if (st != NULL && cache)
        dbs__stmt_rewind(st);
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
    struct dbs_err batch;
    size_t i;
    int r;

    if (dbs_session_state(fl->u->s) != DBS_TXN_ACTIVE || rc == DBS_ENOMEM || rc == DBS_ECYCLE)
        return rc;
    dbs__err_copy(&batch, UERR(fl->u));
    for (i = from; i < to; i++)
        if ((r = insert_one(fl, fl->rows[i])) < 0) {
            fl->u->failed = fl->rows[i];
            return r;
        }
    /* no row fails alone: the batch's own failure is the answer, and the
     * rows' statements cleared its description */
    dbs__err_copy(UERR(fl->u), &batch);
    return rc;
}

int dbs__flush_insert_table(struct flush *fl, const dbs_model *m)
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
    /* The identity map learns the new keys after the table's statements,
     * in one tight loop: done between statements, every insertion missed
     * the cache the engine had just used. A failed flush reverts in_map. */
    for (i = 0; i < fl->nrows; i++) {
        if (i == 1)
            dbs__uow_map_reserve(u, fl->nrows - 1);   /* (the first key made the table) */
        if ((rc = dbs__uow_map_add(u, fl->rows[i])) < 0) {
            u->failed = fl->rows[i];
            return rc;
        }
    }
    return DBS_OK;
}

