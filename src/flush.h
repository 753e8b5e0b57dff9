/* Private: the state of one flush, shared by flush*.c. */
#ifndef DBS_SRC_FLUSH_H
#define DBS_SRC_FLUSH_H

#include "uow.h"

#define UERR(u) (&(u)->s->err)

/* How an object was before this flush touched it. */
struct jentry {
    struct obj *o;
    void *snap;              /* its snapshot before (ownership returns on failure) */
    void *image;             /* versioned updates: the struct before (fl->images), or NULL */
    unsigned char state, deleted, in_map;
};

struct fixup {
    struct obj *child;
    const dbs_field *f;
    struct obj *parent;
};

/* Objects with work of one kind, in add/load order. */
struct work {
    struct witem {
        struct obj *o;
        int order;            /* its model's place in the dependency order */
    } *items;
    size_t n, cap;
};

struct flush {
    dbs_uow *u;
    struct work work[3];      /* pending, changed, to delete */
    struct undo *mark;        /* the level's newest undo record when the flush began */
    struct jentry *j;
    size_t nj, capj;
    struct arena *images;     /* the journal's images: freed with the flush */
    struct fixup *fix;
    size_t nfix, capfix;
    struct obj **rows;        /* scratch: one table's rows */
    int *level;               /* rows[i] may go in one statement with rows of its level */
    size_t nrows, caprows, caplevel;
};


#define NOMEM(u) dbs__err_set(UERR(u), DBS_ENOMEM, "out of memory during flush")

int dbs__flush_grow(void **p, size_t *cap, size_t need, size_t size);
/* o's state before this flush (and before the level's first write) */
int dbs__flush_journal(struct flush *fl, struct obj *o, int with_image);
/* o's statement succeeded: its snapshot becomes the row */
int dbs__flush_written(struct flush *fl, struct obj *o);
int dbs__flush_cmp_i64(const void *a, const void *b);
/* fl->rows = the objects of work[kind] whose model is m */
int dbs__flush_rows_of(struct flush *fl, int kind, const dbs_model *m);

/* flush_insert.c */
int dbs__flush_insert_table(struct flush *fl, const dbs_model *m);
/* flush_update.c */
int dbs__flush_fixups(struct flush *fl);
int dbs__flush_update_table(struct flush *fl, const dbs_model *m);
int dbs__flush_delete_table(struct flush *fl, const dbs_model *m);

#endif
