/*
 * Models shared by test programs: a self-referencing tree and two tables
 * pointing at each other through a nullable link.
 */
#ifndef DBS_TEST_MODELS_H
#define DBS_TEST_MODELS_H

#include <stdint.h>

#include "dbsession.h"

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
