/* Flush, part 2: fix-ups, UPDATEs and DELETEs, one row matched each. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flush.h"

/* UPDATE t SET <changed> [, version = version + 1] WHERE pk = ? [AND version = ?] */
static uint64_t changed_mask(const struct obj *o);

/* Is field i of o in the SET list of its UPDATE? (mask: changed_mask(o),
 * worked out once per row; models of more than 63 fields compare again.) */
static int sets(const struct obj *o, int i, uint64_t mask, const dbs_field *only)
{
    const dbs_field *fd = &o->m->fields[i];

    if (only != NULL)
        return fd == only;
    return o->m->n_fields <= 63 ? (int)((mask >> i) & 1) : dbs__obj_changed(o, fd);
}

/* "UPDATE t SET <set> WHERE pk = ? [AND version = ?]", or with set NULL the
 * DELETE with the same WHERE; NULL when out of memory. */
static char *by_key_sql(dbs_uow *u, const dbs_model *m, const char *set)
{
    struct model_info *mi = dbs__uow_model(u, m);
    char *sql = NULL, *t = dbs__quote(u->s, m->table), *k = dbs__quote(u->s, mi->pk->column);
    char *v = mi->version != NULL ? dbs__quote(u->s, mi->version->column) : NULL;

    if (t == NULL || k == NULL || (mi->version != NULL && v == NULL)
        || asprintf(&sql, "%s %s%s%s WHERE %s = ?%s%s%s", set != NULL ? "UPDATE" : "DELETE FROM",
                    t, set != NULL ? " SET " : "", set != NULL ? set : "", k,
                    v != NULL ? " AND " : "", v != NULL ? v : "", v != NULL ? " = ?" : "") < 0)
        sql = NULL;
    free(t);
    free(k);
    free(v);
    return sql;
}

/* Prepare sql (taken; NULL: out of memory) through the statement cache and,
 * when keep, remember it under its shape. */
static int shape_stmt(dbs_uow *u, const struct shape_key *key, int keep, char *sql,
                      dbs_stmt **out)
{
    int rc;

    if (sql == NULL)
        return NOMEM(u);
    rc = dbs__uow_stmt(u, out, sql);
    free(sql);
    if (rc == DBS_OK && keep && dbs__uow_shape_add(u, key, *out) < 0)
        return NOMEM(u);
    return rc;
}

/* UPDATE t SET <changed> ..., built once per shape of change */
static int update_stmt(dbs_uow *u, struct obj *o, const dbs_field *only, uint64_t mask,
                       dbs_stmt **out)
{
    const dbs_model *m = o->m;
    struct model_info *mi = dbs__uow_model(u, m);
    const dbs_field *pk = mi->pk;
    struct shape_key key = { m, only == NULL ? mask : 0, only, 'U' };
    char *sql = NULL, *set = NULL, *c;
    size_t len = 0;
    int i, n = 0, bad = 0;
    FILE *f;

    if (m->n_fields <= 63 && (*out = dbs__uow_shape_find(u, &key)) != NULL)
        return DBS_OK;
    if ((f = open_memstream(&set, &len)) == NULL)
        return NOMEM(u);
    /* a name that cannot be quoted (no memory) spoils the statement: no SQL
     * with a column left out is ever sent */
    for (i = 0; i < m->n_fields && !bad; i++) {
        const dbs_field *fd = &m->fields[i];
        if (fd == pk || fd == mi->version || !sets(o, i, mask, only))
            continue;
        if ((c = dbs__quote(u->s, fd->column)) == NULL)
            bad = 1;
        else
            fprintf(f, "%s%s = ?", n++ ? ", " : "", c);
        free(c);
    }
    if (mi->version != NULL && !bad) {
        if ((c = dbs__quote(u->s, mi->version->column)) == NULL)
            bad = 1;
        else
            fprintf(f, "%s%s = %s + 1", n++ ? ", " : "", c, c);
        free(c);
    }
    if (fclose(f) != 0 || set == NULL)
        bad = 1;
    if (!bad)
        sql = by_key_sql(u, m, set);
    free(set);
    return shape_stmt(u, &key, m->n_fields <= 63, sql, out);
}

static int update_row(struct flush *fl, struct obj *o, const dbs_field *only)
{
    dbs_uow *u = fl->u;
    const dbs_model *m = o->m;
    struct model_info *mi = dbs__uow_model(u, m);
    const dbs_field *pk = mi->pk;
    uint64_t mask = only == NULL ? changed_mask(o) : 0;
    int i, idx = 0, rc;
    dbs_stmt *st = NULL;
    int64_t affected = 0;

    rc = update_stmt(u, o, only, mask, &st);
    for (i = 0; rc == DBS_OK && i < m->n_fields; i++) {
        const dbs_field *fd = &m->fields[i];
        if (fd == pk || fd == mi->version || !sets(o, i, mask, only))
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
    int rc = dbs__flush_rows_of(fl, deletes ? 2 : 1, m);
    size_t i;

    /* one lock order for every process: fewer deadlocks. Rows are mostly
     * tracked in key order already (inserted, or loaded by a query): one
     * pass finds out, and the sort is skipped. */
    if (rc != DBS_OK || fl->nrows < 2)
        return rc;
    for (i = 1; i < fl->nrows && cmp_key(&fl->rows[i - 1], &fl->rows[i]) <= 0; i++)
        ;
    if (i < fl->nrows)
        qsort(fl->rows, fl->nrows, sizeof(*fl->rows), cmp_key);
    return rc;
}

/* ---- many rows per statement (backends where a round trip costs) ---- */

#ifndef CASE_ROWS
#define CASE_ROWS 100
#endif

static size_t batch_limit(dbs_uow *u, size_t params_per_row)
{
    size_t n = u->s->be->batch_rows > 1 ? (size_t)u->s->be->batch_rows : 1;

    if (u->s->be->max_params > 0 && n * params_per_row > (size_t)u->s->be->max_params)
        n = (size_t)u->s->be->max_params / params_per_row;
    return n > 0 ? n : 1;
}

/* Bit i: field i differs from the snapshot. Models of more than 63 fields
 * are written row by row (mask 0). */
static uint64_t changed_mask(const struct obj *o)
{
    uint64_t mask = 0;
    int i;

    if (o->m->n_fields > 63)
        return 0;
    for (i = 0; i < o->m->n_fields; i++)
        if (!(o->m->fields[i].flags & DBS_PK) && dbs__obj_changed(o, &o->m->fields[i]))
            mask |= (uint64_t)1 << i;
    return mask;
}

/* A savepoint around one multi-row statement: on a count mismatch the
 * statement is undone and its rows replayed one by one to name the culprit. */
static int batch_savepoint(dbs_uow *u, const char *verb)
{
    char sql[48];

    int rc;

    snprintf(sql, sizeof(sql), "%s dbs_batch", verb);
    rc = dbs__session_send(u->s, sql);
    return rc < 0 ? dbs__session_failed(u->s, rc) : DBS_OK;
}

static int in_list(FILE *f, dbs_uow *u, const dbs_field *pk, size_t k)
{
    char *c = dbs__quote(u->s, pk->column);
    size_t i;

    if (c == NULL)
        return -1;
    fprintf(f, " WHERE %s IN (", c);
    for (i = 0; i < k; i++)
        fputs(i ? ", ?" : "?", f);
    fputc(')', f);
    free(c);
    return 0;
}

/* Do rows a and b write the same values into the columns of mask? */
static int same_values(const dbs_model *m, uint64_t mask, const struct obj *a,
                       const struct obj *b)
{
    int i;

    for (i = 0; i < m->n_fields; i++)
        if ((mask & ((uint64_t)1 << i)) && !dbs__field_equal(&m->fields[i], a->ptr, b->ptr))
            return 0;
    return 1;
}

/* k rows whose changed columns (mask) get the same values:
 *     UPDATE t SET c = ?, ... WHERE pk IN (...)
 * k rows with values of their own:
 *     UPDATE t SET c = CASE pk WHEN ? THEN ? ... END, ... WHERE pk IN (...) */
static char *update_many_sql(dbs_uow *u, const dbs_model *m, uint64_t mask, size_t k, int same)
{
    const dbs_field *pk = dbs__model_pk(m);
    char *sql = NULL, *t = dbs__quote(u->s, m->table), *kc = dbs__quote(u->s, pk->column);
    size_t len = 0, r;
    int i, n = 0, bad = 0;
    FILE *f = open_memstream(&sql, &len);

    if (f == NULL || t == NULL || kc == NULL) {
        if (f != NULL)
            fclose(f);
        free(sql);
        sql = NULL;
        goto done;
    }
    fprintf(f, "UPDATE %s SET ", t);
    for (i = 0; i < m->n_fields && !bad; i++) {
        char *c;
        if (!(mask & ((uint64_t)1 << i)))
            continue;
        if ((c = dbs__quote(u->s, m->fields[i].column)) == NULL) {
            bad = 1;          /* never a statement with a column left out */
            continue;
        }
        if (same) {
            fprintf(f, "%s%s = ?", n++ ? ", " : "", c);
        } else {
            fprintf(f, "%s%s = CASE %s", n++ ? ", " : "", c, kc);
            for (r = 0; r < k; r++)
                fputs(" WHEN ? THEN ?", f);
            fputs(" END", f);
        }
        free(c);
    }
    if (!bad && in_list(f, u, pk, k) < 0)
        bad = 1;              /* never an UPDATE without its WHERE */
    if (fclose(f) != 0 || bad) {
        free(sql);
        sql = NULL;
    }
done:
    free(t);
    free(kc);
    return sql;
}

/* DELETE FROM t WHERE pk IN (...) for k rows. */
static char *delete_many_sql(dbs_uow *u, const dbs_model *m, size_t k)
{
    char *sql = NULL, *t = dbs__quote(u->s, m->table);
    size_t len = 0;
    FILE *f = t != NULL ? open_memstream(&sql, &len) : NULL;
    int bad;

    if (f == NULL) {
        free(t);
        return NULL;
    }
    /* never a DELETE without its WHERE */
    bad = fprintf(f, "DELETE FROM %s", t) < 0 || in_list(f, u, dbs__model_pk(m), k) < 0;
    if (fclose(f) != 0 || bad) {
        free(sql);
        sql = NULL;
    }
    free(t);
    return sql;
}

/* The statement for k rows of one shape. A batch of the full size is
 * prepared once and kept (the shape cache); a shorter one is prepared for
 * this use only (*owned). */
static int many_stmt(dbs_uow *u, const dbs_model *m, uint64_t mask, int verb, size_t k,
                     size_t full, dbs_stmt **out, int *owned)
{
    struct shape_key key = { m, mask, NULL, ((int64_t)verb << 32) | (int64_t)k };
    char *sql;
    int rc;

    *owned = k != full;
    if (!*owned && (*out = dbs__uow_shape_find(u, &key)) != NULL)
        return DBS_OK;
    sql = verb == 'D' ? delete_many_sql(u, m, k) : update_many_sql(u, m, mask, k, verb == 'I');
    if (!*owned)
        return shape_stmt(u, &key, 1, sql, out);
    if (sql == NULL)
        return NOMEM(u);
    rc = dbs_stmt_prepare(out, u->s, sql);
    free(sql);
    return rc;
}

/* Give back a statement from many_stmt. */
static void many_done(dbs_stmt *st, int owned)
{
    if (owned)
        dbs_stmt_free(st);
    else if (st != NULL)
        dbs__stmt_rewind(st);
}

static int update_many(struct flush *fl, struct obj **rows, size_t k, uint64_t mask, int same,
                       size_t full)
{
    dbs_uow *u = fl->u;
    const dbs_model *m = rows[0]->m;
    const dbs_field *pk = dbs__model_pk(m);
    dbs_stmt *st = NULL;
    int64_t affected = 0;
    int i, idx = 0, owned, rc;
    size_t r;

    rc = many_stmt(u, m, mask, same ? 'I' : 'C', k, full, &st, &owned);
    for (i = 0; rc == DBS_OK && i < m->n_fields; i++) {
        if (!(mask & ((uint64_t)1 << i)))
            continue;
        if (same) {
            rc = dbs__field_bind(st, ++idx, &m->fields[i], rows[0]->ptr);
            continue;
        }
        for (r = 0; r < k && rc == DBS_OK; r++)
            if ((rc = dbs__field_bind(st, ++idx, pk, rows[r]->ptr)) == DBS_OK)
                rc = dbs__field_bind(st, ++idx, &m->fields[i], rows[r]->ptr);
    }
    for (r = 0; r < k && rc == DBS_OK; r++)
        rc = dbs__field_bind(st, ++idx, pk, rows[r]->ptr);
    if (rc == DBS_OK && (rc = dbs_stmt_step(st)) == DBS_DONE)
        rc = dbs_stmt_rows_affected(st, &affected);
    many_done(st, owned);
    if (rc < 0)
        return rc;
    return affected == (int64_t)k ? DBS_OK : DBS_ESTALE;
}

/* One multi-row UPDATE inside a savepoint; on a count mismatch it is undone
 * and its rows replayed one by one, which names the stale row. */
static int update_group(struct flush *fl, struct obj **rows, size_t k, uint64_t mask, int same,
                        size_t full)
{
    size_t j;
    int rc = DBS_OK;

    for (j = 0; j < k && rc == DBS_OK; j++)
        rc = dbs__flush_journal(fl, rows[j], 1);
    if (rc == DBS_OK && k == 1 && (rc = update_row(fl, rows[0], NULL)) < 0)
        fl->u->failed = rows[0];
    if (rc < 0 || k == 1 || (rc = batch_savepoint(fl->u, "SAVEPOINT")) < 0)
        return rc;
    rc = update_many(fl, rows, k, mask, same, full);
    if (rc == DBS_ESTALE && dbs_session_state(fl->u->s) == DBS_TXN_ACTIVE) {
        rc = batch_savepoint(fl->u, "ROLLBACK TO SAVEPOINT");
        for (j = 0; j < k && rc == DBS_OK; j++)
            if ((rc = update_row(fl, rows[j], NULL)) < 0)
                fl->u->failed = rows[j];
    } else {
        for (j = 0; j < k && rc == DBS_OK; j++)
            rc = dbs__flush_written(fl, rows[j]);
    }
    if (rc == DBS_OK)
        rc = batch_savepoint(fl->u, "RELEASE SAVEPOINT");
    return rc;
}

struct shaped {
    uint64_t mask;
    size_t i;                 /* place in key order */
};

static int cmp_shaped(const void *a, const void *b)
{
    const struct shaped *x = a, *y = b;

    if (x->mask != y->mask)
        return x->mask < y->mask ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Rows with the same changed columns go together, in key order. A run of
 * rows that set the same values is one UPDATE ... WHERE pk IN (...) of up to
 * the batch limit; other rows go by CASE statements of at most CASE_ROWS. */
static int update_batches(struct flush *fl)
{
    size_t n = fl->nrows, i, j, k, g, gn;
    struct obj **group = malloc(n * sizeof(*group));
    struct shaped *sh = malloc(n * sizeof(*sh));
    int rc = DBS_OK;

    if (group == NULL || sh == NULL) {
        free(group);
        free(sh);
        return NOMEM(fl->u);
    }
    for (i = 0; i < n; i++)
        sh[i] = (struct shaped){ changed_mask(fl->rows[i]), i };
    qsort(sh, n, sizeof(*sh), cmp_shaped);
    for (g = 0; g < n && rc == DBS_OK; g += gn) {
        uint64_t mask = sh[g].mask;
        const dbs_model *m = fl->rows[sh[g].i]->m;
        size_t lim_in = batch_limit(fl->u, 1), lim_case;
        for (gn = 0; g + gn < n && sh[g + gn].mask == mask; gn++)
            group[gn] = fl->rows[sh[g + gn].i];
        /* the server walks the CASE list for every row it updates: a batch of
         * n rows costs n*n comparisons, so CASE batches stay small */
        lim_case = batch_limit(fl->u, 2 * (size_t)__builtin_popcountll(mask) + 1);
        if (lim_case > CASE_ROWS)
            lim_case = CASE_ROWS;
        for (i = 0; i < gn && rc == DBS_OK; i += k) {
            if (mask == 0) {
                k = 1;        /* too many columns for a mask: row by row */
                rc = update_group(fl, &group[i], 1, mask, 0, 0);
                continue;
            }
            for (k = 1; i + k < gn && k < lim_in && same_values(m, mask, group[i], group[i + k]);
                 k++)
                ;
            if (k > 1) {
                rc = update_group(fl, &group[i], k, mask, 1, lim_in);
                continue;
            }
            /* rows of their own values, up to where a run of equal ones starts */
            for (j = i + 1; j < gn && j - i < lim_case
                 && !(j + 1 < gn && same_values(m, mask, group[j], group[j + 1])); j++)
                ;
            k = j - i;
            rc = update_group(fl, &group[i], k, mask, 0, lim_case);
        }
    }
    free(group);
    free(sh);
    return rc;
}

int dbs__flush_update_table(struct flush *fl, const dbs_model *m)
{
    size_t i;
    int rc;

    if ((rc = collect(fl, m, 0)) < 0)
        return rc;
    /* versioned rows check their own version: one statement each */
    if (fl->u->s->be->batch_rows > 1 && fl->nrows > 1 && dbs__uow_model(fl->u, m)->version == NULL)
        return update_batches(fl);
    for (i = 0; i < fl->nrows; i++) {
        struct obj *o = fl->rows[i];
        if ((rc = dbs__flush_journal(fl, o, 1)) < 0 || (rc = update_row(fl, o, NULL)) < 0) {
            fl->u->failed = o;
            return rc;
        }
    }
    return DBS_OK;
}

/* The row to delete that o's self foreign key f points at, if any. */
static struct obj *doomed_parent(struct flush *fl, const struct obj *o, const dbs_field *f)
{
    struct obj *p;

    if (dbs__field_is_null(f, o->ptr))
        return NULL;
    p = dbs__uow_lookup_int(fl->u, o->m, dbs__field_int(f, o->ptr));
    return p != NULL && p != o && p->mark == 1 ? p : NULL;
}

/* Rows to delete count the rows still to delete that point at them (mark 1:
 * in this delete, not yet gone), through the identity map: O(rows).
 * With next == NULL each parent of rows gains a child; otherwise rows are
 * going, their parents lose one each, and those left with none go into next
 * (*nnext of them): the next round. */
static void doomed_children(struct flush *fl, struct obj *const *rows, size_t n,
                            struct obj **next, size_t *nnext)
{
    const dbs_model *m = rows[0]->m;
    size_t i, found = 0;
    int k;

    for (k = 0; k < m->n_fields; k++) {
        if (m->fields[k].ref != m)
            continue;
        for (i = 0; i < n; i++) {
            struct obj *p = doomed_parent(fl, rows[i], &m->fields[k]);
            if (p == NULL)
                continue;
            if (next == NULL)
                p->nref++;
            else if (--p->nref == 0)
                next[found++] = p;
        }
    }
    if (nnext != NULL)
        *nnext = found;
}

static int delete_stmt(dbs_uow *u, const dbs_model *m, dbs_stmt **out)
{
    struct shape_key key = { m, 0, NULL, 'D' };

    if ((*out = dbs__uow_shape_find(u, &key)) != NULL)
        return DBS_OK;
    return shape_stmt(u, &key, 1, by_key_sql(u, m, NULL), out);
}

static int delete_row(struct flush *fl, struct obj *o, dbs_stmt *st)
{
    dbs_uow *u = fl->u;
    struct model_info *mi = dbs__uow_model(u, o->m);
    int64_t affected = 0;
    int rc = dbs__field_bind(st, 1, mi->pk, o->ptr);

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
    u->deleted_rows++;
    return DBS_OK;
}

/* DELETE FROM t WHERE pk IN (...): exactly k rows must go. */
static int delete_many(struct flush *fl, struct obj **rows, size_t k, size_t full)
{
    dbs_uow *u = fl->u;
    const dbs_model *m = rows[0]->m;
    const dbs_field *pk = dbs__model_pk(m);
    dbs_stmt *st = NULL;
    int64_t affected = 0;
    int rc, owned;
    size_t r;

    rc = many_stmt(u, m, 0, 'D', k, full, &st, &owned);
    for (r = 0; r < k && rc == DBS_OK; r++)
        rc = dbs__field_bind(st, (int)r + 1, pk, rows[r]->ptr);
    if (rc == DBS_OK && (rc = dbs_stmt_step(st)) == DBS_DONE)
        rc = dbs_stmt_rows_affected(st, &affected);
    many_done(st, owned);
    if (rc < 0)
        return rc;
    if (affected != (int64_t)k)
        return DBS_ESTALE;
    for (r = 0; r < k; r++)
        rows[r]->deleted = 1;
    u->deleted_rows += k;
    return DBS_OK;
}

/* One round of deletes (rows no other remaining row points at). */
static int delete_round(struct flush *fl, struct obj **group, size_t k)
{
    struct model_info *mi = dbs__uow_model(fl->u, group[0]->m);
    int many = k > 1 && fl->u->s->be->batch_rows > 1 && mi->version == NULL;
    size_t j, limit = batch_limit(fl->u, 1), from;
    dbs_stmt *one = NULL;     /* the one-row DELETE, looked up once */
    int rc = delete_stmt(fl->u, group[0]->m, &one);

    for (j = 0; j < k && rc == DBS_OK; j++)
        rc = dbs__flush_journal(fl, group[j], 0);
    for (from = 0; from < k && rc == DBS_OK; from += limit) {
        size_t n = k - from < limit ? k - from : limit;
        if (many && (rc = batch_savepoint(fl->u, "SAVEPOINT")) == DBS_OK) {
            rc = delete_many(fl, group + from, n, limit);
            if (rc == DBS_ESTALE && dbs_session_state(fl->u->s) == DBS_TXN_ACTIVE)
                rc = batch_savepoint(fl->u, "ROLLBACK TO SAVEPOINT");
            else if (rc == DBS_OK)
                n = 0;     /* done */
            if (rc == DBS_OK)
                rc = batch_savepoint(fl->u, "RELEASE SAVEPOINT");
        }
        for (j = from; j < from + n && rc == DBS_OK; j++)
            if ((rc = delete_row(fl, group[j], one)) < 0)
                fl->u->failed = group[j];
        if (rc < 0 && fl->u->failed == NULL)
            fl->u->failed = group[from];
    }
    return rc;
}

static int delete_table(struct flush *fl, const dbs_model *m);

int dbs__flush_delete_table(struct flush *fl, const dbs_model *m)
{
    int rc = delete_table(fl, m);
    size_t i;

    /* the identity map forgets the deleted rows in one loop after the
     * table's statements (see the inserts); a failed flush reverts in_map */
    for (i = 0; rc == DBS_OK && i < fl->nrows; i++)
        if (fl->rows[i]->deleted)
            dbs__uow_map_del(fl->u, fl->rows[i]);
    return rc;
}

static int delete_table(struct flush *fl, const dbs_model *m)
{
    size_t i, done = 0, k, nk = 0;
    struct obj **group, **next;
    int rc;

    if ((rc = collect(fl, m, 1)) < 0)
        return rc;
    if (fl->nrows == 0)
        return DBS_OK;
    if (!dbs__uow_model(fl->u, m)->self_ref)
        return delete_round(fl, fl->rows, fl->nrows);
    /* children before parents inside a self-referencing table: in rounds,
     * each the rows no remaining row points at, in key order. A round's
     * parents left without children make the next one: O(rows log rows). */
    group = malloc(fl->nrows * sizeof(*group));
    next = malloc(fl->nrows * sizeof(*next));
    if (group == NULL || next == NULL) {
        free(group);
        free(next);
        return NOMEM(fl->u);
    }
    for (i = 0; i < fl->nrows; i++) {
        fl->rows[i]->mark = 1;
        fl->rows[i]->nref = 0;
    }
    doomed_children(fl, fl->rows, fl->nrows, NULL, NULL);
    for (k = 0, i = 0; i < fl->nrows; i++)
        if (fl->rows[i]->nref == 0)
            group[k++] = fl->rows[i];
    while (done < fl->nrows && rc == DBS_OK) {
        struct obj **t;
        if (k == 0) {
            rc = dbs__err_set(UERR(fl->u), DBS_ECYCLE, "rows of %s to delete reference each "
                              "other: delete the cycle's links first", m->table);
            break;
        }
        doomed_children(fl, group, k, next, &nk);
        for (i = 0; i < k; i++)
            group[i]->mark = 2;
        done += k;
        rc = delete_round(fl, group, k);
        if (nk > 1)
            qsort(next, nk, sizeof(*next), cmp_key);
        t = group;
        group = next;
        next = t;
        k = nk;
    }
    free(group);
    free(next);
    return rc;
}
