/* Models shared by test programs (tests/models.h). */
#include "models.h"

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
