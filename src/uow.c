/* Unit of work: tracking objects, the identity map, loading and queries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uow.h"

/* A record back on the free list is poisoned under AddressSanitizer, so that
 * a use after expunge is still caught although the memory is not freed. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DBS_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(DBS_ASAN)
#include <sanitizer/asan_interface.h>
#define ITEM_POISON(it, size) ASAN_POISON_MEMORY_REGION((it), (size))
#define ITEM_UNPOISON(it, size) ASAN_UNPOISON_MEMORY_REGION((it), (size))
#else
#define ITEM_POISON(it, size) ((void)(it), (void)(size))
#define ITEM_UNPOISON(it, size) ((void)(it), (void)(size))
#endif

#define UERR(u) (&(u)->s->err)

struct dbs_query {
    dbs_uow *u;
    const dbs_model *m;
    dbs_stmt *st;
};

/* ---- models ---- */

static int cmp_run(const void *a, const void *b)
{
    uint32_t x = ((const struct byte_run *)a)->off, y = ((const struct byte_run *)b)->off;

    return x < y ? -1 : x > y;
}

/* Split mi's fields into deep ones (text, blobs) and runs of plain bytes.
 * Runs are merged across alignment gaps of under 8 bytes, never across a
 * deep field's bytes: equal runs then mean equal fields (a gap that differs
 * only sends the comparison the slow way). */
static int plan_bytes(struct model_info *mi)
{
    const dbs_model *m = mi->m;
    struct byte_run *r = mi->plain;
    unsigned char *deep = calloc(m->size + 1, 1);
    int i, n = 0, k;

    if (deep == NULL)
        return -1;
    for (i = 0; i < m->n_fields; i++) {
        const dbs_field *f = &m->fields[i];
        if (f->type == DBS_FT_TEXT || f->type == DBS_FT_BLOB) {
            mi->deep[mi->n_deep++] = f;
            memset(deep + f->offset, 1, f->size);
            continue;
        }
        r[n++] = (struct byte_run){ (uint32_t)f->offset, (uint32_t)f->size };
    }
    for (i = 0; i < m->n_fields; i++)
        if (m->fields[i].null_offset != 0)
            r[n++] = (struct byte_run){ (uint32_t)(m->fields[i].null_offset - 1), sizeof(int) };
    qsort(r, (size_t)n, sizeof(*r), cmp_run);
    for (i = 0, k = 0; i < n; i++) {
        struct byte_run *last = k > 0 ? &r[k - 1] : NULL;
        uint32_t end = last != NULL ? last->off + last->len : 0;
        if (last != NULL && r[i].off <= end + 7
            && memchr(deep + end, 1, r[i].off > end ? r[i].off - end : 0) == NULL) {
            if (r[i].off + r[i].len > end)
                last->len = r[i].off + r[i].len - last->off;
            continue;
        }
        r[k++] = r[i];
    }
    mi->n_plain = k;
    free(deep);
    return 0;
}

struct model_info *dbs__uow_model_find(dbs_uow *u, const dbs_model *m)
{
    struct model_info *mi;
    int i;

    HASH_FIND_PTR(u->models, &m, mi);
    if (mi != NULL)
        return u->last_mi = mi;
    /* one block: the record, then its deep fields, then its byte runs (at
     * most one per field and one per null flag) */
    if ((mi = calloc(1, sizeof(*mi) + (size_t)m->n_fields * (2 * sizeof(*mi->deep)
                                                            + 2 * sizeof(*mi->plain)))) == NULL)
        return NULL;
    mi->m = m;
    mi->pk = dbs__model_pk(m);
    mi->deep = (const dbs_field **)(mi + 1);
    mi->keys = mi->deep + m->n_fields;
    mi->plain = (struct byte_run *)(mi->keys + m->n_fields);
    for (i = 0; i < m->n_fields; i++) {
        const dbs_field *f = &m->fields[i];
        if (f->flags & DBS_VERSION)
            mi->version = f;
        mi->self_ref |= f->ref == m;
        mi->parent_ptrs |= f->ref_ptr_offset != 0;
        /* text keys are the program's: a flush never writes them */
        if (((f->flags & (DBS_PK | DBS_VERSION)) || f->ref != NULL) && f->type != DBS_FT_TEXT
            && f->type != DBS_FT_CHARS && f->type != DBS_FT_BLOB) {
            mi->keys[mi->n_keys++] = f;
            mi->keys_size += f->size + (f->null_offset != 0 ? sizeof(int) : 0);
        }
    }
    if (plan_bytes(mi) < 0) {
        free(mi);
        return NULL;
    }
    HASH_ADD_PTR(u->models, m, mi);
    if (DBS_HASH_REFUSED()) {
        free(mi);
        return NULL;
    }
    mi->order = u->n_models++;
    u->order_valid = 0;
    /* parents come along: the order needs them even before they are used */
    for (i = 0; i < m->n_fields; i++)
        if (m->fields[i].ref != NULL && m->fields[i].ref != m
            && dbs__uow_model(u, m->fields[i].ref) == NULL)
            return NULL;
    return mi;
}

int dbs__uow_order(dbs_uow *u)
{
    const dbs_model **in, **out;
    struct model_info *mi, *tmp;
    int i, rc;

    if (u->order_valid)
        return DBS_OK;
    in = calloc((size_t)u->n_models, sizeof(*in));
    out = calloc((size_t)u->n_models, sizeof(*out));
    if (in == NULL || out == NULL) {
        free(in);
        free(out);
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    }
    HASH_ITER(hh, u->models, mi, tmp)
        in[mi->order < u->n_models ? mi->order : 0] = mi->m;
    rc = dbs__model_sort(in, u->n_models, out, 1, UERR(u));
    free(in);
    if (rc < 0) {
        free(out);
        return rc;
    }
    free(u->order);
    u->order = out;
    for (i = 0; i < u->n_models; i++) {
        HASH_FIND_PTR(u->models, &out[i], mi);
        mi->order = i;
    }
    u->order_valid = 1;
    return DBS_OK;
}

/* ---- identity map ---- */

/* The key bytes: the model pointer, then the integer or the text. */
/* into buf (when the key fits, as integer keys do) or a new allocation */
static int make_key(const dbs_model *m, const dbs_field *pk, const void *obj, char **out,
                    unsigned *len_out, char *buf, size_t bufsize)
{
    const char *text = NULL;
    size_t n = sizeof(int64_t);
    int64_t id = 0;
    char *k;

    if (pk->type == DBS_FT_TEXT)
        text = *(char *const *)((const char *)obj + pk->offset);
    else if (pk->type == DBS_FT_CHARS)
        text = (const char *)obj + pk->offset;
    else
        id = dbs__field_int(pk, obj);
    if (text != NULL)
        n = strlen(text);
    if (sizeof(m) + n <= bufsize)
        k = buf;
    else if ((k = malloc(sizeof(m) + n)) == NULL)
        return DBS_ENOMEM;
    memcpy(k, &m, sizeof(m));
    memcpy(k + sizeof(m), text != NULL ? (const void *)text : (const void *)&id, n);
    *out = k;
    *len_out = (unsigned)(sizeof(m) + n);
    return DBS_OK;
}

static struct obj *map_find(dbs_uow *u, const char *key, unsigned len)
{
    struct obj *o;

    HASH_FIND(hh, u->map, key, len, o);
    return o;
}

/* make_key's layout for an integer key, without its checks */
static void put_int_key(char *key, const dbs_model *m, int64_t id)
{
    memcpy(key, &m, sizeof(m));
    memcpy(key + sizeof(m), &id, sizeof(id));
}

struct obj *dbs__uow_lookup_int(dbs_uow *u, const dbs_model *m, int64_t id)
{
    char key[sizeof(void *) + sizeof(int64_t)];

    put_int_key(key, m, id);
    return map_find(u, key, sizeof(key));
}

int dbs__uow_map_add(dbs_uow *u, struct obj *o)
{
    struct model_info *mi = dbs__uow_model(u, o->m);
    struct obj *other;
    char *key;
    unsigned hv, keylen;
    int64_t id = 0;
    int int_key, above;

    if (o->in_map)
        return DBS_OK;
    /* the key lives in the record's hash handle (uthash keeps it there
     * after a removal too): a text key made for an earlier add goes */
    if (o->hh.key != o->ikey)
        free((void *)o->hh.key);
    o->hh.key = NULL;
    if (mi == NULL)
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    int_key = mi->pk->type != DBS_FT_TEXT && mi->pk->type != DBS_FT_CHARS;
    if (int_key) {
        id = dbs__field_int(mi->pk, o->ptr);
        put_int_key(o->ikey, o->m, id);     /* in the record */
        key = o->ikey;
        keylen = sizeof(o->ikey);
    } else if (make_key(o->m, mi->pk, o->ptr, &key, &keylen, o->ikey, sizeof(o->ikey)) < 0) {
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    }
    o->hh.key = key;
    o->hh.keylen = keylen;
    HASH_VALUE(key, keylen, hv);
    /* An integer key above every key this model has had in the map cannot be
     * there: generated keys grow, so most inserts skip the look-up (and the
     * cache misses of its chain). */
    above = int_key && (!mi->any_key || id > mi->max_key);
    if (!above) {
        HASH_FIND_BYHASHVALUE(hh, u->map, key, keylen, hv, other);
        if (other != NULL)
            return dbs__err_set(UERR(u), DBS_EIDENTITY, "%s: an object with this primary key "
                                "is already tracked", o->m->table);
    }
    HASH_ADD_KEYPTR_BYHASHVALUE(hh, u->map, key, keylen, hv, o);
    if (DBS_HASH_REFUSED())
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    if (above) {
        mi->max_key = id;
        mi->any_key = 1;
    }
    o->in_map = 1;
    return DBS_OK;
}

/*
 * uthash doubles a table only when one chain reaches 10 keys: with keys that
 * spread evenly (ours do), every chain is then 5 to 10 long, and every
 * insertion, look-up and removal walks records that are far apart. Before a
 * flush puts n keys in, the table doubles until it has a bucket per key (the
 * same step uthash takes, earlier): about 16 bytes per tracked object.
 */
void dbs__uow_map_reserve(dbs_uow *u, size_t n)
{
    UT_hash_table *t = u->map != NULL ? u->map->hh.tbl : NULL;
    unsigned ineff, noexpand;
    int oomed = 0;

    if (t == NULL)
        return;
    /* uthash stops growing a table whose doublings did not shorten its
     * chains; these doublings are for room, not for chains: they must not
     * count towards that judgement */
    ineff = t->ineff_expands;
    noexpand = t->noexpand;
    while (!oomed && t->log2_num_buckets < 30 && t->num_buckets < t->num_items + n)
        HASH_EXPAND_BUCKETS(&u->map->hh, t, oomed);
    t->ineff_expands = ineff;
    t->noexpand = noexpand;
}

void dbs__uow_map_del(dbs_uow *u, struct obj *o)
{
    if (!o->in_map)
        return;
    HASH_DELETE(hh, u->map, o);
    o->in_map = 0;
}

/* Items side by side at pointer alignment (all the pools' types need). */
#define POOL_STRIDE(p) (((p)->size + sizeof(void *) - 1) / sizeof(void *) * sizeof(void *))

/* A zeroed item from pool p, or NULL. (An item freed is poisoned under
 * AddressSanitizer, so that a use after expunge is still caught although the
 * memory is not freed.) */
static void *pool_get(struct pool *p)
{
    struct pool_slab *sl = p->slabs;
    void *it;

    if ((it = p->free) != NULL) {
        ITEM_UNPOISON(it, p->size);
        memcpy(&p->free, it, sizeof(void *));
    } else {
        if (sl == NULL || sl->used == sl->n) {
            /* 16 items first, doubling up to 1024: small units of work stay small */
            size_t n = sl == NULL ? 16 : sl->n < 1024 ? sl->n * 2 : 1024;
            if ((sl = malloc(sizeof(*sl) + n * POOL_STRIDE(p))) == NULL)
                return NULL;
            sl->n = n;
            sl->used = 0;
            sl->next = p->slabs;
            p->slabs = sl;
        }
        it = (char *)sl->items + POOL_STRIDE(p) * sl->used++;
    }
    memset(it, 0, p->size);
    p->live++;
    return it;
}

static void pool_put(struct pool *p, void *it)
{
    memcpy(it, &p->free, sizeof(void *));
    p->free = it;
    ITEM_POISON(it, p->size);
    if (--p->live == 0) {
        /* nothing in use: every item is free, the slabs go back */
        while (p->slabs != NULL) {
            struct pool_slab *next = p->slabs->next;
            ITEM_UNPOISON(p->slabs, sizeof(*p->slabs) + p->slabs->n * POOL_STRIDE(p));
            free(p->slabs);
            p->slabs = next;
        }
        p->free = NULL;
    }
}

/*
 * Objects enter the by-address index when it is first searched, not at add:
 * a batch that adds, flushes and commits never searches by address (structs
 * added in address order skip the search, below) and never pays for the
 * index (SQLite insert of 100k rows: about 0.07 us a row).
 */
static void index_pending(dbs_uow *u)
{
    struct obj *o;
    struct ptr_node *n;

    for (o = u->unindexed; o != NULL; o = o->next) {
        if ((n = pool_get(&u->nodes)) == NULL)
            break;              /* out of memory: the rest stay in the list only */
        n->ptr = o->ptr;
        n->o = o;
        HASH_ADD(hh, u->by_ptr, ptr, sizeof(n->ptr), n);
        if (DBS_HASH_REFUSED()) {
            pool_put(&u->nodes, n);
            break;
        }
        o->pn = n;
    }
    u->unindexed = o;
}

struct obj *dbs__uow_find(dbs_uow *u, const void *ptr)
{
    struct obj *o;

    /* structs are often added in address order (an array, fresh mallocs):
     * one above every tracked address cannot be tracked */
    if ((uintptr_t)ptr > u->max_ptr)
        return NULL;
    /* ... and programs often walk their objects in the order they added
     * them (deleting every row of an array): try the one after the last
     * found (or the first) before indexing anything */
    o = u->found != NULL ? u->found : u->head;
    if (o != NULL && o->ptr != ptr)
        o = o->next;
    if (o == NULL || o->ptr != ptr) {
        struct ptr_node *n;

        index_pending(u);
        HASH_FIND(hh, u->by_ptr, &ptr, sizeof(ptr), n);
        o = n != NULL ? n->o : NULL;
        /* only after an insertion was refused for want of memory */
        if (o == NULL)
            for (o = u->unindexed; o != NULL && o->ptr != ptr; o = o->next)
                ;
    } else {
        dbs__prefetch_records_after(o);     /* a walk in add order goes on */
    }
    if (o != NULL)
        u->found = o;
    return o;
}

static struct obj *track(dbs_uow *u, const dbs_model *m, void *ptr, int owned)
{
    struct obj *o = pool_get(&u->objs);

    if (o == NULL)
        return NULL;
    o->m = m;
    o->ptr = ptr;
    o->owned = (unsigned char)owned;
    o->add_depth = dbs_session_depth(u->s);
    if (u->unindexed == NULL)
        u->unindexed = o;         /* indexed by address when first searched */
    o->prev = u->tail;
    if (u->tail != NULL)
        u->tail->next = o;
    else
        u->head = o;
    u->tail = o;
    if ((uintptr_t)ptr > u->max_ptr)
        u->max_ptr = (uintptr_t)ptr;
    u->count++;
    return o;
}

/* A borrowed object a rollback drops (added in the rolled-back levels). The
 * program did not ask for it to go, so what the unit of work wrote into its
 * struct (text put back by an inner rollback, as copies: the snapshot's
 * memory goes away) stays valid until the unit of work is freed, and if it
 * was the object to blame it is still named. */
void dbs__uow_drop_rolled_back(dbs_uow *u, struct obj *o)
{
    struct owned_mem *last = o->mem;

    if (o == u->failed) {
        u->failed_ptr = o->ptr;
        u->failed_m = o->m;
    }
    if (last != NULL) {
        while (last->next != NULL)
            last = last->next;
        last->next = u->orphans;
        u->orphans = o->mem;
        o->mem = NULL;
    }
    dbs__uow_untrack(u, o);
}

/* Forget an object: out of every map and undo list; an owned struct is freed. */
void dbs__uow_untrack(dbs_uow *u, struct obj *o)
{
    struct undo *r;

    if (o == u->failed)
        u->failed = NULL;
    /* its undo records stay in their lists, marked dead: no list walk */
    for (r = dbs__obj_undo(u, o); r != NULL; r = r->older)
        r->o = NULL;
    dbs__uow_map_del(u, o);
    if (o == u->found)
        u->found = NULL;
    if (o->pn != NULL) {
        HASH_DELETE(hh, u->by_ptr, o->pn);
        pool_put(&u->nodes, o->pn);
    } else if (o == u->unindexed) {
        u->unindexed = o->next;
    }
    if (o->prev != NULL)
        o->prev->next = o->next;
    else
        u->head = o->next;
    if (o->next != NULL)
        o->next->prev = o->prev;
    else
        u->tail = o->prev;
    dbs__image_free(o->m, o->snap);
    dbs__obj_free_mem(o);
    if (o->owned)
        free(o->ptr);
    if (o->hh.key != o->ikey)
        free((void *)o->hh.key);     /* a text key (see dbs__uow_map_add) */
    if (o->state != OBJ_TRANSIENT)
        u->count--;
    pool_put(&u->objs, o);
}

/* ---- public: lifetime ---- */

int dbs_uow_new(dbs_uow **out, dbs_session *s)
{
    dbs_uow *u;

    if (out != NULL)
        *out = NULL;
    if (s == NULL || out == NULL)
        return dbs__err_set(s != NULL ? &s->err : dbs__err_thread(), DBS_EMISUSE,
                            "dbs_uow_new: NULL argument");
    if (s->listener != NULL)
        return dbs__err_set(&s->err, DBS_EMISUSE, "the session already has a unit of work");
    if ((u = calloc(1, sizeof(*u))) == NULL)
        return dbs__err_set(&s->err, DBS_ENOMEM, "out of memory");
    u->s = s;
    u->autoflush = 1;
    u->objs.size = sizeof(struct obj);
    u->nodes.size = sizeof(struct ptr_node);
    dbs__uow_listen(u);
    s->n_children++;
    *out = u;
    return DBS_OK;
}

void dbs_uow_expunge_all(dbs_uow *u)
{
    if (u == NULL)
        return;
    while (u->head != NULL)
        dbs__uow_untrack(u, u->head);
}

/* Free every cached statement (they belong to the session's connection). */
dbs_stmt *dbs__uow_shape_find(dbs_uow *u, const struct shape_key *k)
{
    struct shape_cache *c = u->last_shape;

    /* rows of a flush mostly repeat the shape before them */
    if (c != NULL && memcmp(&c->key, k, sizeof(*k)) == 0)
        return c->st;
    HASH_FIND(hh, u->shapes, k, sizeof(*k), c);
    if (c != NULL)
        u->last_shape = c;
    return c != NULL ? c->st : NULL;
}

int dbs__uow_shape_add(dbs_uow *u, const struct shape_key *k, dbs_stmt *st)
{
    struct shape_cache *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return DBS_ENOMEM;
    c->key = *k;
    c->st = st;
    HASH_ADD(hh, u->shapes, key, sizeof(c->key), c);
    if (DBS_HASH_REFUSED()) {
        free(c);
        return DBS_ENOMEM;
    }
    return DBS_OK;
}

void dbs__uow_drop_statements(dbs_uow *u)
{
    struct model_info *mi, *mtmp;
    struct stmt_cache *c, *ctmp;
    struct shape_cache *sc, *stmp;

    u->last_shape = NULL;
    HASH_ITER(hh, u->shapes, sc, stmp) {
        HASH_DEL(u->shapes, sc);
        free(sc);
    }
    HASH_ITER(hh, u->cache, c, ctmp) {
        HASH_DEL(u->cache, c);
        dbs_stmt_free(c->st);
        free(c);
    }
    HASH_ITER(hh, u->models, mi, mtmp)
        mi->insert[0] = mi->insert[1] = mi->insert_many[0] = mi->insert_many[1] = NULL;
}

void dbs_uow_free(dbs_uow *u)
{
    struct model_info *mi, *mtmp;

    if (u == NULL)
        return;
    dbs_uow_expunge_all(u);
    while (u->orphans != NULL) {
        struct owned_mem *next = u->orphans->next;
        free(u->orphans);
        u->orphans = next;
    }
    dbs__uow_drop_statements(u);
    dbs__uow_arena_free(u);
    HASH_ITER(hh, u->models, mi, mtmp) {
        HASH_DEL(u->models, mi);
        free(mi);
    }
    free(u->order);
    free(u->levels);
    u->s->listener = NULL;
    u->s->listener_payload = NULL;
    u->s->n_children--;
    free(u);
}

size_t dbs_uow_count(const dbs_uow *u)
{
    return u != NULL ? u->count : 0;
}

int dbs_uow_set_autoflush(dbs_uow *u, int on)
{
    int old;

    if (u == NULL)
        return 0;
    old = u->autoflush;
    u->autoflush = on != 0;
    return old;
}

int dbs__uow_stmt(dbs_uow *u, dbs_stmt **out, const char *sql)
{
    struct stmt_cache *c;
    size_t n = strlen(sql);
    int rc;

    HASH_FIND(hh, u->cache, sql, n, c);
    if (c != NULL) {
        *out = c->st;
        return dbs_stmt_reset(c->st);
    }
    if ((c = malloc(sizeof(*c) + n + 1)) == NULL)
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    memcpy(c->sql, sql, n + 1);
    if ((rc = dbs_stmt_prepare(&c->st, u->s, sql)) < 0) {
        free(c);
        return rc;
    }
    HASH_ADD(hh, u->cache, sql[0], n, c);
    if (DBS_HASH_REFUSED()) {
        dbs_stmt_free(c->st);
        free(c);
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    }
    *out = c->st;
    return DBS_OK;
}

/* ---- public: add, delete, expunge ---- */

static int check_args(dbs_uow *u, const dbs_model *m, const void *obj, const char *fn)
{
    if (u == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "%s: unit of work is NULL", fn);
    dbs__err_clear(UERR(u));
    if (m == NULL || obj == NULL)
        return dbs__err_set(UERR(u), DBS_EMISUSE, "%s: NULL %s", fn, m == NULL ? "model" : "object");
    /* (the model asked for last knows its key: most calls repeat it) */
    if ((u->last_mi != NULL && u->last_mi->m == m ? u->last_mi->pk : dbs__model_pk(m)) == NULL)
        return dbs__err_set(UERR(u), DBS_EMISUSE, "%s: model %s has no DBS_PK field", fn, m->table);
    return DBS_OK;
}

static int add(dbs_uow *u, const dbs_model *m, void *obj, int owned)
{
    struct model_info *mi = dbs__uow_model(u, m);
    struct obj *o = dbs__uow_find(u, obj);
    const dbs_field *pk;
    int rc, fresh = 0;

    if (o != NULL && o->state != OBJ_TRANSIENT)
        return dbs__err_set(UERR(u), DBS_EMISUSE, "add: this %s object is already tracked",
                            m->table);
    if (mi == NULL)
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    pk = mi->pk;
    if (o == NULL) {
        if ((o = track(u, m, obj, owned)) == NULL)
            return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
        fresh = 1;
    } else {
        u->count++;           /* a transient object of ours, back in */
    }
    o->state = OBJ_PENDING;
    o->add_depth = dbs_session_depth(u->s);     /* (again, for a transient one) */
    /* a key the program assigned goes into the map now: a duplicate is
     * caught here, not as a constraint error at flush */
    if (!((pk->flags & DBS_AUTOINC) && dbs__field_int(pk, obj) == 0)
        && (rc = dbs__uow_map_add(u, o)) < 0) {
        if (fresh) {
            o->owned = 0;     /* refused: the caller still has (and frees) obj */
            dbs__uow_untrack(u, o);
        } else {
            dbs__uow_make_transient(u, o);
        }
        return rc;
    }
    return DBS_OK;
}

void dbs__uow_make_transient(dbs_uow *u, struct obj *o)
{
    if (o->state != OBJ_TRANSIENT)
        u->count--;           /* dbs_uow_count: pending, persistent and deleted */
    o->state = OBJ_TRANSIENT;
    dbs__uow_map_del(u, o);
}

int dbs_uow_add(dbs_uow *u, const dbs_model *m, void *obj)
{
    int rc = check_args(u, m, obj, "dbs_uow_add");

    return rc < 0 ? rc : add(u, m, obj, 0);
}

int dbs_uow_create(dbs_uow *u, const dbs_model *m, void **out)
{
    void *obj;
    int rc;

    if (out != NULL)
        *out = NULL;
    if ((rc = check_args(u, m, "", "dbs_uow_create")) < 0)
        return rc;
    if (out == NULL)
        return dbs__err_set(UERR(u), DBS_EMISUSE, "dbs_uow_create: out is NULL");
    if ((obj = calloc(1, m->size)) == NULL)
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    if ((rc = add(u, m, obj, 1)) < 0) {
        free(obj);
        return rc;
    }
    *out = obj;
    return DBS_OK;
}

static struct obj *tracked(dbs_uow *u, const dbs_model *m, void *obj, const char *fn)
{
    struct obj *o = dbs__uow_find(u, obj);

    if (o == NULL || o->m != m || o->state == OBJ_TRANSIENT) {
        dbs__err_set(UERR(u), DBS_EMISUSE, "%s: this %s object is not tracked", fn, m->table);
        return NULL;
    }
    return o;
}

int dbs_uow_delete(dbs_uow *u, const dbs_model *m, void *obj)
{
    struct obj *o;
    int rc;

    if ((rc = check_args(u, m, obj, "dbs_uow_delete")) < 0)
        return rc;
    if ((o = tracked(u, m, obj, "dbs_uow_delete")) == NULL)
        return DBS_EMISUSE;
    if (o->state == OBJ_PENDING) {
        /* never written: just no longer pending */
        if (o->owned)
            dbs__uow_make_transient(u, o);
        else
            dbs__uow_untrack(u, o);
    } else {
        o->state = OBJ_DELETED;
    }
    return DBS_OK;
}

int dbs_uow_expunge(dbs_uow *u, const dbs_model *m, void *obj)
{
    struct obj *o;
    int rc;

    if ((rc = check_args(u, m, obj, "dbs_uow_expunge")) < 0)
        return rc;
    if ((o = dbs__uow_find(u, obj)) == NULL || o->m != m)
        return dbs__err_set(UERR(u), DBS_EMISUSE, "dbs_uow_expunge: not tracked");
    dbs__uow_untrack(u, o);
    return DBS_OK;
}

void *dbs_uow_failed(dbs_uow *u, const dbs_model **model_out)
{
    if (model_out != NULL)
        *model_out = u == NULL ? NULL : u->failed != NULL ? u->failed->m : u->failed_m;
    return u == NULL ? NULL : u->failed != NULL ? u->failed->ptr : u->failed_ptr;
}

/* ---- loading ---- */

/* Read the current row of st (model columns in order) into o's struct. */
static int load_row(dbs_uow *u, const struct model_info *mi, struct obj *o, dbs_stmt *st)
{
    int i, rc;
    void *snap;

    dbs__obj_free_mem(o);
    for (i = 0; i < o->m->n_fields; i++)
        if ((rc = dbs__field_load(o, &o->m->fields[i], o->ptr, st, i)) < 0)
            return rc;
    if ((snap = dbs__image_new(mi, o->ptr)) == NULL)
        return DBS_ENOMEM;
    if (!dbs__uow_undo_take(u, o, o->snap))   /* (an undo record may point at it) */
        dbs__image_free(o->m, o->snap);
    o->snap = snap;
    return DBS_OK;
}

/* The tracked object for the current row, or a new owned one loaded from it. */
static int row_object(dbs_uow *u, const dbs_model *m, dbs_stmt *st, void **out)
{
    struct model_info *mi = dbs__uow_model(u, m);
    void *probe = NULL, *obj;
    struct obj *o;
    char *key = NULL;
    unsigned keylen;
    int rc;

    if (mi == NULL || (probe = calloc(1, m->size)) == NULL)
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    /* read only the key first: a tracked row keeps its unflushed changes */
    {
        struct obj tmp = { .m = m, .ptr = probe };
        int col = (int)(mi->pk - m->fields);
        rc = dbs__field_load(&tmp, mi->pk, probe, st, col);
        if (rc == DBS_OK)
            rc = make_key(m, mi->pk, probe, &key, &keylen, NULL, 0);
        dbs__obj_free_mem(&tmp);
    }
    free(probe);
    if (rc < 0)
        return dbs__err_set(UERR(u), rc, "loading %s: cannot read the key", m->table);
    o = map_find(u, key, keylen);
    free(key);
    if (o != NULL) {
        *out = o->ptr;
        return DBS_OK;
    }
    if ((obj = calloc(1, m->size)) == NULL || (o = track(u, m, obj, 1)) == NULL) {
        free(obj);
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    }
    o->state = OBJ_PERSISTENT;
    if ((rc = load_row(u, mi, o, st)) < 0 || (rc = dbs__uow_map_add(u, o)) < 0) {
        dbs__uow_untrack(u, o);
        return rc == DBS_ENOMEM ? dbs__err_set(UERR(u), rc, "out of memory") : rc;
    }
    *out = obj;
    return DBS_OK;
}

static char *select_sql(dbs_uow *u, const dbs_model *m, const char *where)
{
    char *cols = dbs__model_columns(u->s, m), *table = dbs__quote(u->s, m->table), *sql = NULL;

    if (cols != NULL && table != NULL
        && asprintf(&sql, "SELECT %s FROM %s%s%s", cols, table, where != NULL ? " WHERE " : "",
                    where != NULL ? where : "") < 0)
        sql = NULL;
    free(cols);
    free(table);
    return sql;
}

int dbs_uow_query(dbs_query **out, dbs_uow *u, const dbs_model *m, const char *where)
{
    dbs_query *q;
    char *sql;
    int rc;

    if (out != NULL)
        *out = NULL;
    if ((rc = check_args(u, m, "", "dbs_uow_query")) < 0)
        return rc;
    if (out == NULL)
        return dbs__err_set(UERR(u), DBS_EMISUSE, "dbs_uow_query: out is NULL");
    if (dbs__uow_model(u, m) == NULL)
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    if (u->autoflush && (rc = dbs__uow_flush(u, "autoflush before a query")) < 0)
        return rc;
    if ((q = calloc(1, sizeof(*q))) == NULL || (sql = select_sql(u, m, where)) == NULL) {
        free(q);
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    }
    rc = dbs_stmt_prepare(&q->st, u->s, sql);
    free(sql);
    if (rc < 0) {
        free(q);
        return rc;
    }
    q->u = u;
    q->m = m;
    *out = q;
    return DBS_OK;
}

dbs_stmt *dbs_query_stmt(dbs_query *q)
{
    return q != NULL ? q->st : NULL;
}

int dbs_query_next(dbs_query *q, void **obj_out)
{
    int rc;

    if (obj_out != NULL)
        *obj_out = NULL;
    if (q == NULL || obj_out == NULL)
        return dbs__err_set(q != NULL ? UERR(q->u) : dbs__err_thread(), DBS_EMISUSE,
                            "dbs_query_next: NULL argument");
    if ((rc = dbs_stmt_step(q->st)) != DBS_ROW)
        return rc;
    rc = row_object(q->u, q->m, q->st, obj_out);
    return rc < 0 ? rc : DBS_ROW;
}

void dbs_query_free(dbs_query *q)
{
    if (q == NULL)
        return;
    dbs_stmt_free(q->st);
    free(q);
}

/* SELECT by key into *out (tracked or loaded); *out NULL when no row. */
static int get_by_key(dbs_uow *u, const dbs_model *m, void *probe, void **out)
{
    const dbs_field *pk = dbs__model_pk(m);
    char *key = NULL, *where = NULL, *col, buf[sizeof(void *) + 64];
    unsigned keylen;
    dbs_query *q = NULL;
    struct obj *o;
    int rc;

    /* integer keys and short text keys fit in buf: no allocation */
    if (make_key(m, pk, probe, &key, &keylen, buf, sizeof(buf)) < 0)
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    o = map_find(u, key, keylen);
    if (key != buf)
        free(key);
    if (o != NULL && o->state != OBJ_DELETED) {
        *out = o->ptr;
        return DBS_OK;
    }
    if ((col = dbs__quote(u->s, pk->column)) == NULL || asprintf(&where, "%s = ?", col) < 0) {
        free(col);
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    }
    free(col);
    rc = dbs_uow_query(&q, u, m, where);
    free(where);
    if (rc == DBS_OK)
        rc = dbs__field_bind(q->st, 1, pk, probe);
    if (rc == DBS_OK && (rc = dbs_query_next(q, out)) == DBS_DONE)
        rc = DBS_OK;
    dbs_query_free(q);
    return rc == DBS_ROW ? DBS_OK : rc;
}

int dbs_uow_get(dbs_uow *u, const dbs_model *m, int64_t id, void **out)
{
    const dbs_field *pk;
    void *probe;
    int rc;

    if (out != NULL)
        *out = NULL;
    if ((rc = check_args(u, m, "", "dbs_uow_get")) < 0)
        return rc;
    pk = dbs__model_pk(m);
    if (out == NULL || pk->type == DBS_FT_TEXT || pk->type == DBS_FT_CHARS)
        return dbs__err_set(UERR(u), DBS_EMISUSE, "dbs_uow_get: %s", out == NULL
                            ? "out is NULL" : "text key: use dbs_uow_get_text");
    if ((probe = calloc(1, m->size)) == NULL)
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    dbs__field_set_int(pk, probe, id, 0);
    rc = get_by_key(u, m, probe, out);
    free(probe);
    return rc;
}

int dbs_uow_get_text(dbs_uow *u, const dbs_model *m, const char *id, void **out)
{
    const dbs_field *pk;
    char *probe;
    int rc;

    if (out != NULL)
        *out = NULL;
    if ((rc = check_args(u, m, "", "dbs_uow_get_text")) < 0)
        return rc;
    pk = dbs__model_pk(m);
    if (out == NULL || id == NULL || (pk->type != DBS_FT_TEXT && pk->type != DBS_FT_CHARS))
        return dbs__err_set(UERR(u), DBS_EMISUSE, "dbs_uow_get_text: NULL argument or "
                            "the key is not text");
    if ((probe = calloc(1, m->size)) == NULL)
        return dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    if (pk->type == DBS_FT_TEXT)
        *(const char **)(probe + pk->offset) = id;
    else
        snprintf(probe + pk->offset, pk->size, "%s", id);
    rc = get_by_key(u, m, probe, out);
    free(probe);
    return rc;
}

int dbs_uow_refresh(dbs_uow *u, const dbs_model *m, void *obj)
{
    const dbs_field *pk;
    dbs_stmt *st = NULL;
    char *sql = NULL, *col = NULL, *where = NULL;
    struct obj *o;
    int rc;

    if ((rc = check_args(u, m, obj, "dbs_uow_refresh")) < 0)
        return rc;
    if ((o = tracked(u, m, obj, "dbs_uow_refresh")) == NULL)
        return DBS_EMISUSE;
    if (o->state != OBJ_PERSISTENT)
        return dbs__err_set(UERR(u), DBS_EMISUSE, "refresh: the %s object has no row yet",
                            m->table);
    pk = dbs__model_pk(m);
    if ((col = dbs__quote(u->s, pk->column)) == NULL || asprintf(&where, "%s = ?", col) < 0
        || (sql = select_sql(u, m, where)) == NULL) {
        rc = dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = dbs__uow_stmt(u, &st, sql)) < 0 || (rc = dbs__field_bind(st, 1, pk, obj)) < 0)
        goto done;
    rc = dbs_stmt_step(st);
    if (rc == DBS_ROW) {
        if ((rc = load_row(u, dbs__uow_model(u, m), o, st)) < 0)
            rc = dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory");
    } else if (rc == DBS_DONE) {
        rc = dbs__err_set(UERR(u), DBS_ESTALE, "refresh: the %s row is gone", m->table);
    }
    dbs__stmt_rewind(st);
done:
    free(col);
    free(where);
    free(sql);
    return rc;
}
