/* Private: the unit of work's data, shared by model.c, uow.c and flush.c. */
#ifndef DBS_SRC_UOW_H
#define DBS_SRC_UOW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* uthash's hash for the unit of work's tables (dbs__hash, below). */
#define HASH_FUNCTION(keyptr, keylen, hashv) ((hashv) = dbs__hash((keyptr), (unsigned)(keylen)))

/* uthash must not exit() when an allocation fails, as it does by default: an
 * insertion that cannot get memory is refused instead (the table stays as it
 * was) and raises a per-thread flag. Every HASH_ADD is followed by
 * DBS_HASH_REFUSED(), which reads and clears it. */
static inline int *dbs__hash_oom(void)
{
    static _Thread_local int refused;
    return &refused;
}
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) ((void)(obj), *dbs__hash_oom() = 1)
#define DBS_HASH_REFUSED() (*dbs__hash_oom() ? (*dbs__hash_oom() = 0, 1) : 0)
#include <uthash.h>

static inline uint64_t dbs__hash_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Identity-map keys (a model pointer and an integer: 16 bytes) and struct
 * addresses (8 bytes) keep neighbours together: the low bits of the bucket
 * come from the key itself, permuted inside a group of 64 buckets (512 for
 * addresses, one 4 KiB page) by a mix of the rest, which picks the group.
 * Generated keys, and structs of one array, arrive in order: insertions,
 * look-ups and the rehash when a table doubles then walk the bucket array
 * and the records in order instead of missing the cache at every step
 * (SQLite insert, 100k rows: 1.59x -> 1.48x raw; a look-up of a tracked
 * object 0.25 -> 0.07 us). Strided keys still
 * spread, since the group comes from a full mix of the upper bits. Other
 * keys (text) get uthash's own Jenkins hash. */
static inline unsigned dbs__hash(const void *key, unsigned len)
{
    uint64_t a, b;
    unsigned h;

    if (len == 16) {
        memcpy(&b, key, 8);
        memcpy(&a, (const char *)key + 8, 8);
        return (unsigned)(dbs__hash_mix(b ^ (a >> 6)) ^ (a & 63));
    }
    if (len == 8) {
        memcpy(&a, key, 8);
        return (unsigned)(dbs__hash_mix(a >> 12) ^ ((a >> 3) & 511));
    }
    HASH_JEN(key, len, h);
    return h;
}


#include "dbsession/uow.h"
#include "session.h"

/* Walks over every tracked object ask for the memory of the object this many
 * places ahead: records lie in order in their slabs, the structs and
 * snapshots they point at need not. */
#define DBS__PREFETCH_AHEAD 8
#if defined(__GNUC__) || defined(__clang__)
#define DBS__PREFETCH(p) __builtin_prefetch(p)
#else
#define DBS__PREFETCH(p) ((void)(p))
#endif

enum obj_state {
    OBJ_PENDING,      /* added, not yet inserted */
    OBJ_PERSISTENT,   /* has a row; in the identity map */
    OBJ_DELETED,      /* marked for deletion; `deleted` once the DELETE ran */
    OBJ_TRANSIENT     /* rolled back out of the session; kept only because we own it */
};

/* Memory the unit of work wrote into a struct (strings, blobs). */
struct owned_mem {
    struct owned_mem *next;
    char data[];
};

/* How an object was before the first write in a transaction level. */
struct undo {
    struct undo *next;        /* in its level's list, newest first */
    struct undo *older;       /* the same object's record at an outer level */
    struct obj *o;            /* NULL once the object left the unit of work */
    int depth;
    unsigned char state;      /* enum obj_state before the write */
    unsigned char deleted;
    unsigned char owns;       /* image is a snapshot the record took over (see undo.c):
                                 freed with the record */
    void *image;              /* the struct before the write: in the arena, or a
                                 snapshot (borrowed, or owned when `owns`) */
};

/* One tracked object. The fields every whole-list walk reads come first (the
 * first 64 bytes), so that a walk touches as little as it can; records sit side by side in
 * slabs (below), in add order. */
struct obj {
    const dbs_model *m;
    void *ptr;                /* the struct */
    void *snap;               /* deep copy at last load/flush; NULL while pending */
    struct obj *prev, *next;  /* every tracked object, oldest first; next links the free list */
    unsigned char state;      /* enum obj_state */
    unsigned char owned;      /* ptr was allocated by us */
    unsigned char in_map;
    unsigned char deleted;    /* the DELETE was flushed */
    unsigned char mark;       /* flush scratch */
    unsigned char snap_stale; /* memory ran out putting it back after a rollback: the
                                 snapshot may not be the row, every column counts as
                                 changed until the next write */
    uint32_t jepoch;          /* == u->epoch: in this flush's journal */
    uint32_t undo_gen;        /* == u->undo_gen: `undo` points into the live arena */
    int add_depth;            /* transaction depth when added */
    uint32_t nref;            /* flush scratch: rows to delete that still point here,
                                 or its place in add order while inserts are planned */
    UT_hash_handle hh;        /* identity map: (model, key); hh.key is ikey, or for a
                                 text key a heap copy owned by the record */
    char ikey[sizeof(void *) + sizeof(int64_t)];
    struct ptr_node *pn;      /* its entry in the by-address index, or NULL */
    struct undo *undo;        /* newest undo record, or NULL */
    struct owned_mem *mem;    /* strings and blobs we wrote into ptr */
    void *flush_snap;         /* its snapshot when this flush began */
};

/*
 * A walk along the list of tracked objects chases next pointers: with a
 * million objects, one cache miss after another (the walks of a flush and a
 * commit after deleting 1M rows took 3 times as long per object as at 10k).
 * Records lie side by side in their slabs, in add order, so those a few
 * places further on in memory are nearly always the ones the walk reaches
 * next: ask for them by address. At the end of a slab that is memory of
 * something else, or none (a prefetch never faults): one wasted fetch.
 * (1M objects, per object: the flush's walk 43 -> 34 ns, the commit's after
 * deleting them 27 -> 16 ns, dbs_uow_delete in add order 24 -> 18 ns.)
 */
static inline void dbs__prefetch_records_after(const struct obj *o)
{
    uintptr_t p = (uintptr_t)o + 2 * DBS__PREFETCH_AHEAD * sizeof(*o);

    DBS__PREFETCH((const void *)p);
    DBS__PREFETCH((const void *)(p + 64));
    DBS__PREFETCH((const void *)(p + 128));
}

/* Fixed-size items (object records, index entries) carved from slabs of
 * growing size instead of one malloc each: no allocator call per add, and
 * items made together lie together. A freed item goes on a free list for the
 * next one; the slabs go back to the heap when no item is in use. */
struct pool_slab {
    struct pool_slab *next;
    size_t n, used;
    max_align_t items[];
};
struct pool {
    struct pool_slab *slabs;  /* newest first; only the newest has unused items */
    void *free;               /* freed items, linked through their first bytes */
    size_t size;              /* of an item */
    size_t live;              /* items in use */
};

/* An object in the by-address index. The index is built when the program
 * first searches by address, which batch work never does: an entry of its
 * own keeps a second hash handle (56 bytes) out of every record (walks over
 * all records read less, a batch insert touches less fresh memory). */
struct ptr_node {
    UT_hash_handle hh;
    const void *ptr;
    struct obj *o;
};

/* A run of bytes of a struct that compares and copies as plain bytes. */
struct byte_run {
    uint32_t off, len;
};

/* Per-model facts computed once. */
struct model_info {
    UT_hash_handle hh;        /* keyed by model pointer */
    const dbs_model *m;
    const dbs_field *pk;
    const dbs_field *version; /* or NULL */
    int self_ref;             /* a foreign key of m points at m */
    int order;                /* place in the dependency order */
    dbs_stmt *insert[2];      /* one-row INSERT without / with the key (owned by the cache) */
    dbs_stmt *insert_many[2]; /* the same for a full batch of rows (owned by the cache) */
    int64_t max_key;          /* the greatest integer key put in the map so far */
    int any_key;              /* max_key is set */
    int parent_ptrs;          /* a foreign key has a pointer to its parent's struct */
    /* The dirty check and the snapshot copy run for every tracked object:
     * they take the fields in two groups instead of switching on each. */
    int n_deep, n_plain, n_keys;
    const dbs_field **deep;   /* text and blobs: their bytes are elsewhere */
    const dbs_field **keys;   /* the numbers a flush writes into a new object: its
                                 key, its foreign keys, its version */
    size_t keys_size;         /* their values and null flags, packed (see undo.c) */
    struct byte_run *plain;   /* the bytes of every other field and null flag, in runs
                                 (bridging alignment gaps of under 8 bytes) */
};

/* The UPDATE or DELETE a flush sends for one shape of change, so that its
 * SQL is built once: (model, changed columns, verb). */
struct shape_key {
    const dbs_model *m;
    uint64_t mask;
    const dbs_field *only;
    int64_t verb;             /* 8 bytes like the rest: no padding in the hashed key */
};
struct shape_cache {
    UT_hash_handle hh;
    struct shape_key key;
    dbs_stmt *st;             /* owned by the statement cache */
};

/* Prepared statements the unit of work reuses, by SQL text. */
struct stmt_cache {
    UT_hash_handle hh;
    dbs_stmt *st;
    char sql[];
};

/* Undo records and their images live in an arena freed when the outermost
 * transaction ends: no malloc/free pair per object written. */
struct arena {
    struct arena *next;
    size_t used, cap;
    max_align_t data[];
};

struct dbs_uow {
    dbs_session *s;
    struct arena *arena;
    struct model_info *last_mi;   /* the model asked for last: most calls repeat it */
    struct obj *map;          /* identity map */
    struct ptr_node *by_ptr;  /* by struct address; filled when first searched: */
    struct obj *unindexed;    /* the first of the objects at the end of the list
                                 that are not in by_ptr yet (all after it are not) */
    uintptr_t max_ptr;        /* the highest struct address ever tracked */
    struct obj *found;        /* the object dbs__uow_find found last, or NULL */
    struct obj *head, *tail;  /* all tracked objects */
    size_t count;
    struct pool objs;         /* struct obj records */
    struct pool nodes;        /* struct ptr_node entries */
    struct model_info *models;
    const dbs_model **order;  /* models parents first */
    int n_models, order_valid;
    struct undo **levels;     /* [d]: level d's records; [0] unused */
    size_t owned_images;      /* records that own their image (undo.c) */
    int n_levels;
    int autoflush;
    int flushing;
    uint32_t epoch;           /* bumped by every flush: marks need no clearing */
    uint32_t undo_gen;        /* bumped when the arena is freed: every undo pointer dies */
    int just_flushed;         /* dbs_uow_commit flushed: the commit hook need not */
    size_t deleted_rows;      /* DELETEs flushed in the transaction: commit untracks them */
    struct obj *failed;
    void *failed_ptr;         /* the blamed struct, borrowed, dropped by a rollback */
    const dbs_model *failed_m;
    const char *failed_why;
    struct dbs__txn_listener listener;
    struct stmt_cache *cache;
    struct shape_cache *shapes;
    struct shape_cache *last_shape;   /* the shape found last */
    struct owned_mem *orphans;    /* text written into borrowed structs a rollback
                                     dropped (still pointed at): freed with it */
};

/* o's newest undo record, if it still lives */
static inline struct undo *dbs__obj_undo(const dbs_uow *u, const struct obj *o)
{
    return o->undo_gen == u->undo_gen ? o->undo : NULL;
}

/* ---- model.c: fields ---- */
const dbs_field *dbs__model_pk(const dbs_model *m);
/* Inline: every bind, comparison and copy of a field asks these. */
static inline int dbs__field_is_null(const dbs_field *f, const void *obj)
{
    const char *p = (const char *)obj + f->offset;

    switch (f->type) {
    case DBS_FT_TEXT:
        return *(char *const *)p == NULL;
    case DBS_FT_BLOB:
        return ((const dbs_blob *)p)->data == NULL && ((const dbs_blob *)p)->len == 0;
    case DBS_FT_CHARS:
        return 0;
    default:
        return f->null_offset != 0 && *(const int *)((const char *)obj + f->null_offset - 1) != 0;
    }
}

int dbs__field_load(struct obj *o, const dbs_field *f, void *obj, dbs_stmt *st, int col);
int dbs__field_equal(const dbs_field *f, const void *a, const void *b);

/* Field f of o differs from o's snapshot (every field does while it is stale). */
static inline int dbs__obj_changed(const struct obj *o, const dbs_field *f)
{
    return o->snap_stale || !dbs__field_equal(f, o->ptr, o->snap);
}

static inline int64_t dbs__field_int(const dbs_field *f, const void *obj)
{
    const char *p = (const char *)obj + f->offset;

    switch (f->type) {
    case DBS_FT_INT32:
        return *(const int32_t *)p;
    case DBS_FT_BOOL:
        return *(const int *)p != 0;
    case DBS_FT_INT64:
    case DBS_FT_TIMESTAMP:
        return *(const int64_t *)p;
    default:
        return 0;
    }
}

/* Bind field f of obj, without a copy. Inline: a flush binds every field of
 * every row. */
static inline int dbs__field_bind(dbs_stmt *st, int idx, const dbs_field *f, const void *obj)
{
    const void *p = (const char *)obj + f->offset;
    struct dbs_value v = { .type = DBS_TYPE_NULL };

    /* straight to the backend, without copies: the statement runs before
     * the struct can change */
    if (!dbs__field_is_null(f, obj)) {
        switch (f->type) {
        case DBS_FT_DOUBLE:
            v.type = DBS_TYPE_DOUBLE;
            v.d = *(const double *)p;
            break;
        case DBS_FT_TEXT:
            v.type = DBS_TYPE_TEXT;
            v.p = *(char *const *)p;
            v.n = strlen(v.p);
            v.borrowed = 1;
            break;
        case DBS_FT_CHARS:
            v.type = DBS_TYPE_TEXT;
            v.p = p;
            v.n = strnlen(p, f->size);
            v.borrowed = 1;
            break;
        case DBS_FT_BLOB:
            if (((const dbs_blob *)p)->data == NULL)    /* NULL with a length: misuse */
                return dbs_stmt_bind_blob(st, idx, NULL, ((const dbs_blob *)p)->len);
            v.type = DBS_TYPE_BLOB;
            v.p = ((const dbs_blob *)p)->data;
            v.n = ((const dbs_blob *)p)->len;
            v.borrowed = 1;
            break;
        default:
            v.type = DBS_TYPE_INT;
            v.i = dbs__field_int(f, obj);
            break;
        }
    }
    return dbs__stmt_bind_value(st, idx, &v);
}

void dbs__field_set_int(const dbs_field *f, void *obj, int64_t v, int is_null);
/* deep copies of a whole struct image */
void *dbs__image_new(const struct model_info *mi, const void *obj);
/* the same into memory the caller provides (dbs__image_size bytes) */
size_t dbs__image_size(const struct model_info *mi, const void *obj);
void dbs__image_copy(const struct model_info *mi, const void *obj, void *dst);
void dbs__image_free(const dbs_model *m, void *image);
/* The fields a flush writes into a new object (mi->keys), packed: all an
 * undo record of a pending object needs (mi->keys_size bytes). */
void dbs__image_copy_keys(const struct model_info *mi, const void *obj, void *dst);
void dbs__image_restore_keys(const struct model_info *mi, struct obj *o, const void *keys);
/* copy image values into the user's struct (strings copied into o->mem) */
int dbs__image_restore(struct obj *o, const void *image);
void dbs__obj_free_mem(struct obj *o);
/* "t"."c1", "t"."c2" ... column list (quoted) into a new string */
char *dbs__model_columns(dbs_session *s, const dbs_model *m);
char *dbs__quote(dbs_session *s, const char *name);
int dbs__model_sort(const dbs_model *const *in, int n, const dbs_model **out, int strict,
                    struct dbs_err *err);

/* ---- uow.c ---- */
struct obj *dbs__uow_find(dbs_uow *u, const void *ptr);
int dbs__uow_map_add(dbs_uow *u, struct obj *o);
/* the tracked object of model m with integer key id, or NULL */
struct obj *dbs__uow_lookup_int(dbs_uow *u, const dbs_model *m, int64_t id);
void dbs__uow_map_del(dbs_uow *u, struct obj *o);
/* make room for n more keys in the identity map (nothing when it is empty) */
void dbs__uow_map_reserve(dbs_uow *u, size_t n);
struct model_info *dbs__uow_model_find(dbs_uow *u, const dbs_model *m);
/* m's facts (registered on first use; NULL only when that runs out of
 * memory). Inline: asked per object, and nearly always for the model asked
 * for last. */
static inline struct model_info *dbs__uow_model(dbs_uow *u, const dbs_model *m)
{
    return u->last_mi != NULL && u->last_mi->m == m ? u->last_mi : dbs__uow_model_find(u, m);
}
int dbs__uow_order(dbs_uow *u);
/* record o's state before its first write in the current level */
int dbs__uow_undo_record(dbs_uow *u, struct obj *o);
/* A flush wrote o and replaced its snapshot `old`: if o's undo record for
 * this level points at `old`, the record keeps it (returns 1) instead of the
 * caller freeing it. */
int dbs__uow_undo_take(dbs_uow *u, struct obj *o, void *old);
/* drop records newer than `mark` in the current level (a failed flush) */
void dbs__uow_undo_forget(dbs_uow *u, struct undo *mark);
int dbs__uow_stmt(dbs_uow *u, dbs_stmt **out, const char *sql);
/* the statement cached for a shape, or NULL; remember one */
dbs_stmt *dbs__uow_shape_find(dbs_uow *u, const struct shape_key *k);
int dbs__uow_shape_add(dbs_uow *u, const struct shape_key *k, dbs_stmt *st);
/* restore memory to the start of level depth (and every level inside it) */
void dbs__uow_restore_to(dbs_uow *u, int depth);
void dbs__uow_untrack(dbs_uow *u, struct obj *o);
/* the same for a borrowed object a rollback drops: its struct's text stays
 * valid until dbs_uow_free, and it stays named if it was to blame */
void dbs__uow_drop_rolled_back(dbs_uow *u, struct obj *o);
/* an owned object leaves the session's work but stays allocated (the
 * program may hold it): not counted, not in the identity map */
void dbs__uow_make_transient(dbs_uow *u, struct obj *o);
void dbs__uow_listen(dbs_uow *u);
void dbs__uow_drop_statements(dbs_uow *u);
void dbs__uow_arena_free(dbs_uow *u);
/* n bytes (aligned) from a chain of arenas; all freed at once by release */
void *dbs__arena_alloc(struct arena **head, size_t n);
void dbs__arena_release(struct arena **head);
/* after a rollback of level depth: objects added there leave, dirty rows revert */
void dbs__uow_settle(dbs_uow *u, int depth);

/* ---- flush.c ---- */
int dbs__uow_flush(dbs_uow *u, const char *why);
/* o (of model mi) differs from its snapshot */
int dbs__uow_dirty(const struct model_info *mi, const struct obj *o);

#endif
