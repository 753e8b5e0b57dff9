/* Models: reading, writing, comparing and copying struct fields; DDL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uow.h"

#define AT(obj, off) ((char *)(obj) + (off))
#define CAT(obj, off) ((const char *)(obj) + (off))

const dbs_field *dbs__model_pk(const dbs_model *m)
{
    int i;

    for (i = 0; i < m->n_fields; i++)
        if (m->fields[i].flags & DBS_PK)
            return &m->fields[i];
    return NULL;
}

void dbs__field_set_int(const dbs_field *f, void *obj, int64_t v, int is_null)
{
    void *p = AT(obj, f->offset);

    if (f->type == DBS_FT_INT32)
        *(int32_t *)p = (int32_t)v;
    else if (f->type == DBS_FT_BOOL)
        *(int *)p = v != 0;
    else
        *(int64_t *)p = v;
    if (f->null_offset != 0)
        *(int *)AT(obj, f->null_offset - 1) = is_null;
}

/* Memory owned by the object record, freed with it. */
static void *obj_alloc(struct obj *o, const void *src, size_t n, int nul)
{
    struct owned_mem *m = malloc(sizeof(*m) + n + (nul ? 1 : 0));

    if (m == NULL)
        return NULL;
    if (n > 0)
        memcpy(m->data, src, n);
    if (nul)
        m->data[n] = '\0';
    m->next = o->mem;
    o->mem = m;
    return m->data;
}

void dbs__obj_free_mem(struct obj *o)
{
    while (o->mem != NULL) {
        struct owned_mem *next = o->mem->next;
        free(o->mem);
        o->mem = next;
    }
}

static int load_bytes(struct obj *o, const dbs_field *f, void *p, dbs_stmt *st, int col)
{
    const void *data;
    size_t len;
    int rc = dbs_stmt_column_blob(st, col, &data, &len);

    if (rc < 0)
        return rc;
    if (f->type == DBS_FT_CHARS) {
        if (len >= f->size)
            len = f->size - 1;   /* the column is wider than the array: cut */
        memcpy(p, data, len);
        ((char *)p)[len] = '\0';
        return DBS_OK;
    }
    data = obj_alloc(o, data, len, 1);
    if (data == NULL)
        return DBS_ENOMEM;
    if (f->type == DBS_FT_TEXT) {
        *(char **)p = (char *)data;
    } else {
        ((dbs_blob *)p)->data = (void *)data;
        ((dbs_blob *)p)->len = len;
    }
    return DBS_OK;
}

int dbs__field_load(struct obj *o, const dbs_field *f, void *obj, dbs_stmt *st, int col)
{
    void *p = AT(obj, f->offset);
    int is_null = dbs_stmt_column_is_null(st, col);
    int64_t i = 0;
    double d = 0;
    int rc;

    if (is_null < 0)
        return is_null;
    if (f->type == DBS_FT_TEXT || f->type == DBS_FT_BLOB) {
        if (!is_null)
            return load_bytes(o, f, p, st, col);
        memset(p, 0, f->type == DBS_FT_TEXT ? sizeof(char *) : sizeof(dbs_blob));
        return DBS_OK;
    }
    if (f->type == DBS_FT_CHARS)
        return is_null ? (*(char *)p = '\0', DBS_OK) : load_bytes(o, f, p, st, col);
    if (f->type == DBS_FT_DOUBLE) {
        if ((rc = dbs_stmt_column_double(st, col, &d)) < 0)
            return rc;
        *(double *)p = d;
        if (f->null_offset != 0)
            *(int *)AT(obj, f->null_offset - 1) = is_null;
        return DBS_OK;
    }
    if ((rc = dbs_stmt_column_int64(st, col, &i)) < 0)
        return rc;
    dbs__field_set_int(f, obj, i, is_null);
    return DBS_OK;
}

int dbs__field_equal(const dbs_field *f, const void *a, const void *b)
{
    const void *pa = CAT(a, f->offset), *pb = CAT(b, f->offset);
    int na = dbs__field_is_null(f, a), nb = dbs__field_is_null(f, b);

    if (na || nb)
        return na == nb;
    switch (f->type) {
    case DBS_FT_TEXT:
        return strcmp(*(char *const *)pa, *(char *const *)pb) == 0;
    case DBS_FT_CHARS:
        return strncmp(pa, pb, f->size) == 0;
    case DBS_FT_BLOB: {
        const dbs_blob *x = pa, *y = pb;
        return x->len == y->len && (x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
    }
    case DBS_FT_DOUBLE:
        /* bitwise, so that a NaN is not forever dirty */
        return memcmp(pa, pb, sizeof(double)) == 0;
    default:
        return dbs__field_int(f, a) == dbs__field_int(f, b);
    }
}

/* A deep copy of a struct in one block: the struct, then its text and blobs,
 * the copy's pointers aimed at those copies. */
size_t dbs__image_size(const struct model_info *mi, const void *obj)
{
    size_t total = mi->m->size;
    int i;

    for (i = 0; i < mi->n_deep; i++) {
        const dbs_field *f = mi->deep[i];
        const void *p = CAT(obj, f->offset);
        if (f->type == DBS_FT_TEXT) {
            if (*(char *const *)p != NULL)
                total += strlen(*(char *const *)p) + 1;
        } else if (((const dbs_blob *)p)->data != NULL) {
            total += ((const dbs_blob *)p)->len + 1;
        }
    }
    return total;
}

void dbs__image_copy(const struct model_info *mi, const void *obj, void *dst)
{
    char *img = dst;
    size_t at = mi->m->size;
    int i;

    memcpy(img, obj, mi->m->size);
    for (i = 0; i < mi->n_deep; i++) {
        void *p = img + mi->deep[i]->offset;
        if (mi->deep[i]->type == DBS_FT_TEXT) {
            if (*(char **)p != NULL) {
                size_t n = strlen(*(char **)p) + 1;
                memcpy(img + at, *(char **)p, n);
                *(char **)p = img + at;
                at += n;
            }
        } else if (((dbs_blob *)p)->data != NULL) {
            dbs_blob *b = p;
            memcpy(img + at, b->data, b->len);
            b->data = img + at;
            at += b->len + 1;
        }
    }
}

/* The same in its own allocation, freed with dbs__image_free(). */
void *dbs__image_new(const struct model_info *mi, const void *obj)
{
    void *img = malloc(dbs__image_size(mi, obj));

    if (img != NULL)
        dbs__image_copy(mi, obj, img);
    return img;
}

void dbs__image_free(const dbs_model *m, void *image)
{
    (void)m;
    free(image);
}

/* The packed layout of mi->keys: each field's bytes, then its null flag if
 * it has one. to_keys: from the struct into keys; else back. */
static void move_keys(const struct model_info *mi, char *obj, char *keys, int to_keys)
{
    int i;

    for (i = 0; i < mi->n_keys; i++) {
        const dbs_field *f = mi->keys[i];
        char *in_obj = obj + f->offset;

        memcpy(to_keys ? keys : in_obj, to_keys ? in_obj : keys, f->size);
        keys += f->size;
        if (f->null_offset != 0) {
            in_obj = obj + f->null_offset - 1;
            memcpy(to_keys ? keys : in_obj, to_keys ? in_obj : keys, sizeof(int));
            keys += sizeof(int);
        }
    }
}

void dbs__image_copy_keys(const struct model_info *mi, const void *obj, void *dst)
{
    move_keys(mi, (char *)obj, dst, 1);     /* (obj is only read) */
}

/* Put back the fields a flush writes into a new object: its generated key,
 * the keys copied from parents, its version. */
void dbs__image_restore_keys(const struct model_info *mi, struct obj *o, const void *keys)
{
    move_keys(mi, o->ptr, (char *)keys, 0);   /* (keys are only read) */
}

/* Put the image's field values back into the user's struct. Text and blobs
 * that differ are copied into memory the object record owns. */
int dbs__image_restore(struct obj *o, const void *image)
{
    const dbs_model *m = o->m;
    int i, rc = DBS_OK;

    /* out of memory for one field, the others are still put back */
    for (i = 0; i < m->n_fields; i++) {
        const dbs_field *f = &m->fields[i];
        void *p = AT(o->ptr, f->offset);
        const void *q = CAT(image, f->offset);

        if (dbs__field_equal(f, o->ptr, image) && f->type != DBS_FT_BLOB
            && f->type != DBS_FT_TEXT) {
            continue;
        }
        if (f->type == DBS_FT_TEXT) {
            const char *t = *(char *const *)q;
            if (dbs__field_equal(f, o->ptr, image))
                continue;
            if (t != NULL && (t = obj_alloc(o, t, strlen(t), 1)) == NULL) {
                rc = DBS_ENOMEM;
                continue;
            }
            *(const char **)p = t;
        } else if (f->type == DBS_FT_BLOB) {
            dbs_blob b = *(const dbs_blob *)q;
            if (dbs__field_equal(f, o->ptr, image))
                continue;
            if (b.data != NULL && (b.data = obj_alloc(o, b.data, b.len, 0)) == NULL) {
                rc = DBS_ENOMEM;
                continue;
            }
            *(dbs_blob *)p = b;
        } else {
            memcpy(p, q, f->size);
        }
        if (f->null_offset != 0)
            memcpy(AT(o->ptr, f->null_offset - 1), CAT(image, f->null_offset - 1), sizeof(int));
    }
    return rc;
}
