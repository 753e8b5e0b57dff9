/*
 * Keeping memory in step with transactions. Before an object's first write
 * in a transaction level, its state is recorded in that level's undo list.
 * Commit of a savepoint hands the records to the level outside (unless the
 * object already has one there); commit of the transaction drops them;
 * rollback of a level restores every object it recorded.
 */
#include <stdlib.h>
#include <string.h>

#include "uow.h"

static int ensure_levels(dbs_uow *u, int depth)
{
    struct undo **lv;
    int n = depth + 1;

    if (n <= u->n_levels)
        return DBS_OK;
    if ((lv = realloc(u->levels, (size_t)n * sizeof(*lv))) == NULL)
        return DBS_ENOMEM;
    memset(lv + u->n_levels, 0, (size_t)(n - u->n_levels) * sizeof(*lv));
    u->levels = lv;
    u->n_levels = n;
    return DBS_OK;
}

void *dbs__arena_alloc(struct arena **head, size_t n)
{
    struct arena *a = *head;
    size_t align = sizeof(max_align_t), cap;
    void *p;

    n = (n + align - 1) / align * align;
    if (a == NULL || a->cap - a->used < n) {
        cap = n > 60000 ? n : 60000;
        if ((a = malloc(sizeof(*a) + cap)) == NULL)
            return NULL;
        a->used = 0;
        a->cap = cap;
        a->next = *head;
        *head = a;
    }
    p = (char *)a->data + a->used;
    a->used += n;
    return p;
}

void dbs__arena_release(struct arena **head)
{
    while (*head != NULL) {
        struct arena *next = (*head)->next;
        free(*head);
        *head = next;
    }
}

static void release_image(dbs_uow *u, struct undo *r)
{
    if (r->owns) {
        free(r->image);       /* a snapshot (dbs__image_new: one malloc) */
        u->owned_images--;
    }
    r->owns = 0;
}

/* The outermost transaction ended: every record is gone with it. */
void dbs__uow_arena_free(dbs_uow *u)
{
    struct undo *r;
    int d;

    /* snapshots records took over (only updates make them: a commit of
     * deletes does not walk its records) */
    for (d = 1; d < u->n_levels && u->owned_images > 0; d++)
        for (r = u->levels[d]; r != NULL; r = r->next)
            release_image(u, r);
    dbs__arena_release(&u->arena);
    for (d = 0; d < u->n_levels; d++)
        u->levels[d] = NULL;
    u->undo_gen++;     /* every object's undo pointer is now stale, untouched */
}

/* A row about to be deleted or updated has, at its first write in a level,
 * the level's starting state as its snapshot: its record points at the
 * snapshot instead of copying it. A deleted row's snapshot stays until the
 * level ends (a deleted row is never written again); an updated row's passes
 * to the record when the flush replaces it (dbs__uow_undo_take). */
static int borrows_snapshot(const struct obj *o)
{
    return ((o->state == OBJ_DELETED && !o->deleted) || o->state == OBJ_PERSISTENT)
           && o->snap != NULL && !o->snap_stale;
}

/*
 * An updated row: at its first write in a level its snapshot is the level's
 * starting state, and the record points at it (as for a delete). The flush
 * then gives the row a new snapshot; the old one, instead of being freed,
 * passes to the record (owns), which frees it when it goes: no copy of every
 * updated row (a million updates copied 120 MB). A failed flush hands the
 * snapshot back to the row (journal) and drops the record, which did not
 * own it yet.
 */
int dbs__uow_undo_take(dbs_uow *u, struct obj *o, void *old)
{
    struct undo *r = dbs__obj_undo(u, o);

    if (r == NULL || r->image != old || r->owns)
        return 0;
    r->owns = 1;
    u->owned_images++;
    return 1;
}

int dbs__uow_undo_record(dbs_uow *u, struct obj *o)
{
    int depth = dbs_session_depth(u->s);
    const void *from = o->snap != NULL ? o->snap : o->ptr;
    struct undo *r, *cur = dbs__obj_undo(u, o);
    struct model_info *mi;
    size_t n;

    if (cur != NULL && cur->depth == depth)
        return DBS_OK;        /* the level already knows how it was */
    /* a row's state at level start is its snapshot; of a pending object
     * only the fields a flush writes (its keys) are ever put back */
    mi = dbs__uow_model(u, o->m);
    n = o->state == OBJ_PENDING ? mi->keys_size
        : borrows_snapshot(o) ? 0
        : o->snap != NULL ? dbs__image_size(mi, from) : o->m->size;
    if (depth < 1 || (depth >= u->n_levels && ensure_levels(u, depth) < 0)
        || (r = dbs__arena_alloc(&u->arena, sizeof(*r) + n)) == NULL)
        return dbs__err_set(&u->s->err, DBS_ENOMEM, "out of memory");
    r->image = r + 1;
    if (borrows_snapshot(o))
        r->image = o->snap;
    else if (o->state == OBJ_PENDING)
        dbs__image_copy_keys(mi, from, r->image);
    else if (o->snap != NULL)
        dbs__image_copy(mi, from, r->image);
    else
        memcpy(r->image, from, n);
    r->owns = 0;
    r->o = o;
    r->depth = depth;
    r->state = o->state;
    r->deleted = o->deleted;
    r->older = cur;
    o->undo = r;
    o->undo_gen = u->undo_gen;
    r->next = u->levels[depth];
    u->levels[depth] = r;
    return DBS_OK;
}

/* A record leaves its object: a snapshot it took over is freed now, the
 * rest of its memory goes with the arena. */
static void drop_record(dbs_uow *u, struct undo *r)
{
    release_image(u, r);
    if (r->o != NULL && dbs__obj_undo(u, r->o) == r)
        r->o->undo = r->older;
    r->o = NULL;
}

void dbs__uow_undo_forget(dbs_uow *u, struct undo *mark)
{
    int depth = dbs_session_depth(u->s);

    while (depth < u->n_levels && u->levels[depth] != NULL && u->levels[depth] != mark) {
        struct undo *r = u->levels[depth];
        u->levels[depth] = r->next;
        drop_record(u, r);
    }
}

/* Put one object back as its record says. */
static void restore_one(dbs_uow *u, struct undo *r)
{
    struct obj *o = r->o;
    struct model_info *mi;
    void *snap;

    if (r->state == OBJ_PENDING) {
        dbs__image_restore_keys(dbs__uow_model(u, o->m), o, r->image);
        /* inserted in this level: pending again, no row, no id */
        dbs__image_free(o->m, o->snap);
        o->snap = NULL;
        o->state = OBJ_PENDING;
        o->deleted = 0;
        dbs__uow_map_del(u, o);
        return;
    }
    /* updated or deleted in this level: the row is back as it was. Out of
     * memory, the struct may keep some of its values and the old snapshot
     * stays: the row is then written whole at the next flush (nothing here
     * can report an error; memory and database agree again after it). */
    mi = dbs__uow_model(u, o->m);    /* known: o is tracked */
    if (r->owns || r->image == o->snap) {
        /* the record points at a snapshot (borrows_snapshot): the row's own,
         * or the one the row had, taken over (dbs__uow_undo_take), which is
         * the row's again */
        if (dbs__image_restore(o, r->image) < 0)
            o->snap_stale = 1;
        if (r->owns) {
            dbs__image_free(o->m, o->snap);
            o->snap = r->image;
            r->owns = 0;
            u->owned_images--;
        }
        goto state;
    }
    snap = dbs__image_new(mi, r->image);
    if (dbs__image_restore(o, r->image) < 0 || snap == NULL)
        o->snap_stale = 1;
    if (snap != NULL) {
        dbs__image_free(o->m, o->snap);
        o->snap = snap;
    } else if (o->snap != NULL && mi->version != NULL) {
        /* the full write checks the version the row has again */
        dbs__field_set_int(mi->version, o->snap, dbs__field_int(mi->version, r->image), 0);
    }
state:
    o->state = r->state;
    o->deleted = r->deleted;
    if (!o->deleted)
        dbs__uow_map_add(u, o);
}

/* Objects added at this level or inside it are no longer in the session;
 * unflushed changes of rows go back to the database's values. */
/* The level an object was added at: one added outside a transaction
 * belongs to the one its flush opened. */
static int added_at(const struct obj *o)
{
    return o->add_depth > 0 ? o->add_depth : 1;
}

void dbs__uow_settle(dbs_uow *u, int depth)
{
    struct obj *o = u->head, *next;

    for (; o != NULL; o = next) {
        next = o->next;
        if (o->state == OBJ_PENDING && added_at(o) >= depth) {
            if (o->owned)
                dbs__uow_make_transient(u, o);    /* the program may still hold it */
            else
                dbs__uow_drop_rolled_back(u, o);
        } else if ((o->state == OBJ_PERSISTENT || o->state == OBJ_DELETED) && !o->deleted
                   && o->snap != NULL) {
            if (dbs__uow_dirty(dbs__uow_model(u, o->m), o)
                && dbs__image_restore(o, o->snap) < 0)
                o->snap_stale = 1;    /* out of memory: written whole at the next flush */
            o->state = OBJ_PERSISTENT;
        }
    }
}

void dbs__uow_restore_to(dbs_uow *u, int depth)
{
    struct obj *o;
    int d;

    /* Pending objects added at these levels leave at the settle that
     * follows: out of the identity map first, so that a row deleted in the
     * transaction gets its key back even when one of them took it. */
    for (o = u->head; o != NULL; o = o->next)
        if (o->state == OBJ_PENDING && o->in_map && added_at(o) >= depth)
            dbs__uow_map_del(u, o);
    for (d = u->n_levels - 1; d >= depth && d >= 1; d--) {
        while (u->levels[d] != NULL) {
            struct undo *r = u->levels[d];
            u->levels[d] = r->next;
            if (r->o != NULL)
                restore_one(u, r);
            drop_record(u, r);
        }
    }
}

/* ---- listener: what the session tells us ---- */

static int before_begin(void *payload, int depth)
{
    dbs_uow *u = payload;

    /* A savepoint starts from flushed memory, so that rolling it back
     * undoes exactly the work done inside it. */
    return depth >= 2 ? dbs__uow_flush(u, "flush before a savepoint") : DBS_OK;
}

static void after_begin(void *payload, int depth)
{
    dbs_uow *u = payload;

    if (ensure_levels(u, depth) == DBS_OK)
        u->levels[depth] = NULL;
}

static int before_commit(void *payload, int depth)
{
    dbs_uow *u = payload;

    (void)depth;
    return u->just_flushed ? DBS_OK : dbs__uow_flush(u, "flush before commit");
}

static void after_commit(void *payload, int depth)
{
    dbs_uow *u = payload;
    struct obj *o, *next, *ahead;
    struct undo *moved = NULL, **tail = &moved;
    int i;

    if (depth >= u->n_levels)
        return;
    if (depth == 1)
        dbs__uow_arena_free(u);     /* every record goes, no object touched */
    while (u->levels[depth] != NULL) {
        struct undo *r = u->levels[depth];
        u->levels[depth] = r->next;
        /* (at depth 1 the arena went above, and the list with it) */
        if (r->o == NULL || (r->older != NULL && r->older->depth == depth - 1)) {
            drop_record(u, r);         /* the outer level already knows */
        } else {
            r->depth = depth - 1;
            r->next = NULL;
            *tail = r;
            tail = &r->next;
        }
    }
    /* The records handed out keep their order, newest first, ahead of the
     * outer level's own: a rollback there undoes them in reverse order of
     * writing (a row deleted, then a new object given its key: the new one
     * must leave the identity map before the old one comes back). */
    *tail = u->levels[depth - 1];
    u->levels[depth - 1] = moved;
    if (depth != 1 || u->deleted_rows == 0)
        return;
    u->deleted_rows = 0;
    for (ahead = u->head, i = 0; ahead != NULL && i < DBS__PREFETCH_AHEAD; i++)
        ahead = ahead->next;
    for (o = u->head; o != NULL; o = next) {
        next = o->next;
        dbs__prefetch_records_after(o);
        if (ahead != NULL) {
            DBS__PREFETCH(ahead->snap);     /* freed with the record */
            ahead = ahead->next;
        }
        if (o->deleted)
            dbs__uow_untrack(u, o);      /* the row is gone for good */
        else if (o->state == OBJ_PENDING)
            o->add_depth = 0;
    }
}

static void after_rollback(void *payload, int depth)
{
    dbs_uow *u = payload;

    dbs__uow_restore_to(u, depth);
    dbs__uow_settle(u, depth);
    if (depth == 1)
        dbs__uow_arena_free(u);
}

static void drop_statements(void *payload)
{
    dbs__uow_drop_statements(payload);
}

void dbs__uow_listen(dbs_uow *u)
{
    u->listener.drop_statements = drop_statements;
    u->listener.before_begin = before_begin;
    u->listener.after_begin = after_begin;
    u->listener.before_commit = before_commit;
    u->listener.after_commit = after_commit;
    u->listener.after_rollback = after_rollback;
    u->s->listener = &u->listener;
    u->s->listener_payload = u;
    ensure_levels(u, dbs_session_depth(u->s));
}
