/*
 * Models shared by test programs: projects and their tasks, an item with
 * every kind of field, a self-referencing tree, and two tables pointing at
 * each other through a nullable link.
 */
#ifndef DBS_TEST_MODELS_H
#define DBS_TEST_MODELS_H

#include <stdint.h>

#include "dbsession.h"

struct project {
    int64_t id;
    char name[64];                /* UNIQUE */
};
extern const dbs_model project_model;

/* a child of project; done defaults to 0 */
struct task {
    int64_t id;
    int64_t project_id;
    char *title;
    int done;
    struct project *project;
};
extern const dbs_model task_model;

/* every kind of field, a key the program assigns, a version column */
struct item {
    int64_t id;
    char *text;
    dbs_blob blob;
    double price;
    int price_null;
    int32_t qty;                  /* CHECK qty >= 0 */
    int64_t version;
};
extern const dbs_model item_model;

/* a tree of one table: parent nullable, pointing at a pending parent */
struct node {
    int64_t id;
    int64_t parent_id;
    int parent_null;
    char name[32];
    struct node *parent;
};
extern const dbs_model node_model;

/* two tables pointing at each other: a nullable link breaks the cycle */
struct ca;
struct cb {
    int64_t id;
    int64_t a_id;
    struct ca *a;
};
struct ca {
    int64_t id;
    int64_t b_id;
    int b_null;
    struct cb *b;
};
extern const dbs_model ca_model, cb_model;

#endif
