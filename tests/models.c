/* Models shared by test programs (tests/models.h). */
#include "models.h"

static const dbs_field project_fields[] = {
    DBS_FIELD_INT64(struct project, id, "id", DBS_PK | DBS_AUTOINC),
    DBS_FIELD_CHARS(struct project, name, "name", DBS_NOT_NULL | DBS_UNIQUE),
};
const dbs_model project_model = DBS_MODEL(struct project, "projects", project_fields);

static const dbs_field task_fields[] = {
    DBS_FIELD_INT64(struct task, id, "id", DBS_PK | DBS_AUTOINC),
    DBS_FIELD_FK_REF(struct task, project_id, "project_id", DBS_NOT_NULL, &project_model,
                     DBS_ON_DELETE_RESTRICT, project),
    DBS_FIELD_TEXT(struct task, title, "title", DBS_NOT_NULL),
    DBS_FIELD_BOOL(struct task, done, "done", DBS_NOT_NULL, .default_sql = "0"),
};
const dbs_model task_model = DBS_MODEL(struct task, "tasks", task_fields);

static const dbs_field item_fields[] = {
    DBS_FIELD_INT64(struct item, id, "id", DBS_PK),
    DBS_FIELD_TEXT(struct item, text, "text", 0),
    DBS_FIELD_BLOB(struct item, blob, "blob", 0),
    DBS_FIELD_DOUBLE_NULLABLE(struct item, price, price_null, "price", 0),
    DBS_FIELD_INT32(struct item, qty, "qty", DBS_NOT_NULL, .check_sql = "qty >= 0"),
    DBS_FIELD_INT64(struct item, version, "version", DBS_NOT_NULL | DBS_VERSION),
};
const dbs_model item_model = DBS_MODEL(struct item, "items", item_fields);

static const dbs_field node_fields[] = {
    DBS_FIELD_INT64(struct node, id, "id", DBS_PK | DBS_AUTOINC),
    DBS_FIELD_FK_REF_NULLABLE(struct node, parent_id, parent_null, "parent_id", 0, &node_model,
                              DBS_ON_DELETE_RESTRICT, parent),
    DBS_FIELD_CHARS(struct node, name, "name", DBS_NOT_NULL),
};
const dbs_model node_model = DBS_MODEL(struct node, "nodes", node_fields);

static const dbs_field ca_fields[] = {
    DBS_FIELD_INT64(struct ca, id, "id", DBS_PK | DBS_AUTOINC),
    DBS_FIELD_FK_REF_NULLABLE(struct ca, b_id, b_null, "b_id", 0, &cb_model,
                              DBS_ON_DELETE_SET_NULL, b),
};
static const dbs_field cb_fields[] = {
    DBS_FIELD_INT64(struct cb, id, "id", DBS_PK | DBS_AUTOINC),
    DBS_FIELD_FK_REF(struct cb, a_id, "a_id", DBS_NOT_NULL, &ca_model, DBS_ON_DELETE_CASCADE, a),
};
const dbs_model ca_model = DBS_MODEL(struct ca, "cyc_a", ca_fields);
const dbs_model cb_model = DBS_MODEL(struct cb, "cyc_b", cb_fields);
