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

#include "flush.h"

int dbs__flush_grow(void **p, size_t *cap, size_t need, size_t size)
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


int dbs__flush_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* ---- what has to be written ---- */

int dbs__uow_dirty(const struct model_info *mi, const struct obj *o)
{
    int i;

    if (o->snap == NULL)
        return 0;
    if (o->snap_stale)
        return mi->m->n_fields > 0;
    /* equal bytes are equal fields; only when some differ (a change, or an
     * alignment gap, a NULL's stale value) does each field decide */
    for (i = 0; i < mi->n_plain; i++)
        if (memcmp((const char *)o->ptr + mi->plain[i].off, (const char *)o->snap
                   + mi->plain[i].off, mi->plain[i].len) != 0)
            goto fields;
    for (i = 0; i < mi->n_deep; i++)
        if (!dbs__field_equal(mi->deep[i], o->ptr, o->snap))
            return 1;
    return 0;
fields:
    for (i = 0; i < mi->m->n_fields; i++)
        if (!dbs__field_equal(&mi->m->fields[i], o->ptr, o->snap))
            return 1;
    return 0;
}

static void prefetch_strings(const struct obj *o)
{
    int i;

    if (o->state != OBJ_PERSISTENT || o->snap == NULL)
        return;
    for (i = 0; i < o->m->n_fields; i++)
        if (o->m->fields[i].type == DBS_FT_TEXT) {
            size_t off = o->m->fields[i].offset;

            DBS__PREFETCH(*(char *const *)((const char *)o->ptr + off));
            DBS__PREFETCH(*(char *const *)((const char *)o->snap + off));
        }
}

/* One walk over every tracked object sorts out the work: pending rows,
 * changed rows, rows to delete, each tagged with its model's order. */
static int classify(struct flush *fl)
{
    dbs_uow *u = fl->u;
    struct obj *o, *ahead = u->head, *near = u->head;
    int i;

    /* The dirty check reads the struct, its snapshot and the strings both
     * point at: with a million objects each of them misses the cache. Ask for
     * the structs a few objects ahead, and for the strings (whose addresses
     * are in the structs asked for earlier) half as far ahead. Only rows get
     * the check: a pending or deleted object's struct is not read here, and
     * asking for it anyway takes memory bandwidth from the walk. The records
     * themselves come by address, further ahead still. */
    for (i = 0; i < DBS__PREFETCH_AHEAD && ahead != NULL; i++) {
        ahead = ahead->next;
        if (i >= DBS__PREFETCH_AHEAD / 2)
            near = near->next;
    }
    for (o = u->head; o != NULL; o = o->next) {
        struct model_info *mi;
        struct work *w;
        int kind;

        dbs__prefetch_records_after(o);
        if (ahead != NULL) {
            if (ahead->state == OBJ_PERSISTENT) {
                DBS__PREFETCH(ahead->ptr);
                DBS__PREFETCH(ahead->snap);
            }
            ahead = ahead->next;
        }
        if (near != NULL) {
            prefetch_strings(near);
            near = near->next;
        }

        mi = dbs__uow_model(u, o->m);
        if (o->state == OBJ_PENDING)
            kind = 0;
        else if (o->state == OBJ_PERSISTENT && dbs__uow_dirty(mi, o))
            kind = 1;
        else if (o->state == OBJ_DELETED && !o->deleted)
            kind = 2;
        else
            continue;
        w = &fl->work[kind];
        if (dbs__flush_grow((void **)&w->items, &w->cap, w->n + 1, sizeof(*w->items)) < 0)
            return NOMEM(u);
        w->items[w->n].o = o;
        w->items[w->n].order = mi->order;
        w->n++;
    }
    for (i = 0; i < 3; i++)
        if (fl->work[i].n > 0)
            return 1;
    return 0;
}

int dbs__flush_rows_of(struct flush *fl, int kind, const dbs_model *m)
{
    const struct work *w = &fl->work[kind];
    int order = dbs__uow_model(fl->u, m)->order;
    size_t i, n = 0;

    for (i = 0; i < w->n; i++) {
        if (w->items[i].order != order)
            continue;
        if (dbs__flush_grow((void **)&fl->rows, &fl->caprows, n + 1, sizeof(*fl->rows)) < 0)
            return NOMEM(fl->u);
        fl->rows[n++] = w->items[i].o;
    }
    fl->nrows = n;
    return DBS_OK;
}

/* ---- the journal ---- */

int dbs__flush_journal(struct flush *fl, struct obj *o, int with_image)
{
    struct model_info *mi;
    struct jentry *e;

    if (o->jepoch == fl->u->epoch)
        return DBS_OK;
    if (dbs__flush_grow((void **)&fl->j, &fl->capj, fl->nj + 1, sizeof(*fl->j)) < 0)
        return NOMEM(fl->u);
    e = &fl->j[fl->nj];
    memset(e, 0, sizeof(*e));
    e->o = o;
    e->snap = o->snap;
    e->state = o->state;
    e->deleted = o->deleted;
    e->in_map = o->in_map;
    /* An UPDATE changes the struct itself only through its version column:
     * without one there is nothing to put back on failure, and no image */
    if (with_image && (mi = dbs__uow_model(fl->u, o->m))->version != NULL) {
        /* from the flush's arena: no malloc and free per row */
        if ((e->image = dbs__arena_alloc(&fl->images, dbs__image_size(mi, o->ptr))) == NULL)
            return NOMEM(fl->u);
        dbs__image_copy(mi, o->ptr, e->image);
    }
    fl->nj++;
    o->jepoch = fl->u->epoch;
    o->flush_snap = o->snap;
    /* and the transaction level learns how it was before its first write */
    return dbs__uow_undo_record(fl->u, o);
}

/* The statement for o succeeded: its snapshot becomes what is in the row. */
int dbs__flush_written(struct flush *fl, struct obj *o)
{
    void *snap = dbs__image_new(dbs__uow_model(fl->u, o->m), o->ptr);

    if (snap == NULL)
        return NOMEM(fl->u);
    if (o->snap != o->flush_snap)
        dbs__image_free(o->m, o->snap);   /* written twice (fix-up): drop the interim */
    o->snap = snap;
    o->snap_stale = 0;
    return DBS_OK;
}

static void journal_commit(struct flush *fl)
{
    size_t i;

    for (i = 0; i < fl->nj; i++) {
        struct jentry *e = &fl->j[i];
        /* a new row had no snapshot: nothing to free, no need to touch it;
         * an updated row's old snapshot is its undo record's, if it has one */
        if (e->snap != NULL && e->snap != e->o->snap && !dbs__uow_undo_take(fl->u, e->o, e->snap))
            dbs__image_free(e->o->m, e->snap);
    }
}

/* Every struct back to how it was before the flush (newest first). */
static void journal_revert(struct flush *fl)
{
    size_t i = fl->nj;

    while (i-- > 0) {
        struct jentry *e = &fl->j[i];
        struct obj *o = e->o;

        if (o->snap != e->snap) {
            dbs__image_free(o->m, o->snap);
            o->snap = e->snap;
        }
        if (e->image != NULL && dbs__image_restore(o, e->image) < 0)
            o->snap_stale = 1;    /* out of memory: the next flush writes the row whole */
        else if (e->state == OBJ_PENDING && dbs__obj_undo(fl->u, o) != NULL
                 && o->undo->state == OBJ_PENDING)
            /* no id, parents' keys undone */
            dbs__image_restore_keys(dbs__uow_model(fl->u, o->m), o, o->undo->image);
        o->state = e->state;
        o->deleted = e->deleted;
        if (e->in_map)
            dbs__uow_map_add(fl->u, o);
        else
            dbs__uow_map_del(fl->u, o);
    }
}

static int write_all(struct flush *fl)
{
    dbs_uow *u = fl->u;
    int i, rc;

    for (i = 0; i < u->n_models; i++)
        if ((rc = dbs__flush_insert_table(fl, u->order[i])) < 0)
            return rc;
    if ((rc = dbs__flush_fixups(fl)) < 0)
        return rc;
    for (i = 0; i < u->n_models; i++)
        if ((rc = dbs__flush_update_table(fl, u->order[i])) < 0)
            return rc;
    for (i = u->n_models - 1; i >= 0; i--)
        if ((rc = dbs__flush_delete_table(fl, u->order[i])) < 0)
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

static void failed(struct flush *fl)
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
}

static void flush_free(struct flush *fl)
{
    int i;

    free(fl->j);
    dbs__arena_release(&fl->images);
    free(fl->fix);
    free(fl->rows);
    free(fl->level);
    for (i = 0; i < 3; i++)
        free(fl->work[i].items);
}

int dbs__uow_flush(dbs_uow *u, const char *why)
{
    struct flush fl = { .u = u };
    int rc;

    if (u->flushing)
        return DBS_OK;
    /* everything that can be refused without SQL is refused here */
    if ((rc = dbs__uow_order(u)) < 0 || (rc = classify(&fl)) <= 0) {
        flush_free(&fl);
        return rc;
    }
    u->failed = NULL;
    u->failed_ptr = NULL;
    u->failed_m = NULL;
    u->failed_why = why;
    u->epoch++;
    if (dbs_session_depth(u->s) == 0 && (rc = dbs_session_begin(u->s)) < 0) {
        flush_free(&fl);
        return rc;
    }
    if ((rc = dbs__session_ready(u->s)) < 0
        || (rc = dbs__session_send(u->s, "SAVEPOINT dbs_flush")) < 0) {
        if (rc != DBS_ETXNABORTED)
            rc = dbs__session_failed(u->s, rc);
        if (dbs_session_state(u->s) != DBS_TXN_ACTIVE) {
            /* the transaction is gone: memory goes back to its start */
            dbs__uow_restore_to(u, 1);
            dbs__uow_settle(u, 1);
        }
        flush_free(&fl);
        return rc;
    }
    u->flushing = 1;
    fl.mark = dbs_session_depth(u->s) < u->n_levels ? u->levels[dbs_session_depth(u->s)] : NULL;
    rc = write_all(&fl);
    if (rc == DBS_OK && (rc = dbs__session_send(u->s, "RELEASE SAVEPOINT dbs_flush")) < 0)
        rc = dbs__session_failed(u->s, rc);
    if (rc == DBS_OK)
        journal_commit(&fl);
    else
        failed(&fl);
    u->flushing = 0;
    flush_free(&fl);
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
    /* inside a transaction the session's commit flushes first (listener);
     * outside one, the flush opens it and the commit need not flush again */
    if (dbs_session_depth(u->s) == 0) {
        if ((rc = dbs__uow_flush(u, "flush before commit")) < 0)
            return rc;
        if (dbs_session_depth(u->s) == 0)
            return DBS_OK;     /* nothing was written and nothing is open */
        u->just_flushed = 1;
    }
    rc = dbs_session_commit(u->s);
    u->just_flushed = 0;
    return rc;
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
