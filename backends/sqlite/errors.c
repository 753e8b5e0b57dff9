/*
 * SQLite error classification: one table from the extended result code to a
 * kind, then names parsed from the message only where the parse is certain.
 *
 * What SQLite can report (see README, "Error details per backend"):
 * - unique:      table and columns ("UNIQUE constraint failed: t.a, t.b"), never the
 *                constraint name; an expression index gives only "index 'name'".
 * - not_null:    table and column.
 * - check:       the constraint name when it was named (an unnamed CHECK reports its
 *                expression text, which is not a name: left empty).
 * - foreign_key: nothing is named; the direction comes from the statement verb
 *                (INSERT: missing parent; DELETE or RESTRICT: referenced) and
 *                the names from the schema where certain (fk.c).
 * SQLite has no SQLSTATE: the standard class for the kind is given instead.
 */
#include <string.h>

#include "sqlite.h"

struct code_kind {
    int code;            /* extended code, or a primary code (low byte) as fallback */
    int kind;
    const char *sqlstate;
};

static const struct code_kind table[] = {
    { SQLITE_CONSTRAINT_UNIQUE,     DBS_EUNIQUE,      "23000" },
    { SQLITE_CONSTRAINT_PRIMARYKEY, DBS_EUNIQUE,      "23000" },
    { SQLITE_CONSTRAINT_ROWID,      DBS_EUNIQUE,      "23000" },
    { SQLITE_CONSTRAINT_FOREIGNKEY, DBS_EFOREIGNKEY,  "23000" },
    { SQLITE_CONSTRAINT_TRIGGER,    DBS_EFOREIGNKEY,  "23000" }, /* FK RESTRICT; see below */
    { SQLITE_CONSTRAINT_NOTNULL,    DBS_ENOTNULL,     "23000" },
    { SQLITE_CONSTRAINT_CHECK,      DBS_ECHECK,       "23000" },
    { SQLITE_CONSTRAINT_DATATYPE,   DBS_EDATA,        "22000" },
    { SQLITE_CONSTRAINT,            DBS_ECONSTRAINT,  "23000" },
    { SQLITE_MISMATCH,              DBS_EDATA,        "22000" },
    { SQLITE_TOOBIG,                DBS_EDATA,        "22001" },
    { SQLITE_RANGE,                 DBS_EMISUSE,      "HY000" },
    { SQLITE_BUSY,                  DBS_ELOCKTIMEOUT, "HYT00" },
    { SQLITE_LOCKED,                DBS_ELOCKTIMEOUT, "HYT00" },
    { SQLITE_READONLY,              DBS_EREADONLY,    "25006" },
    { SQLITE_AUTH,                  DBS_EPERMISSION,  "42000" },
    { SQLITE_PERM,                  DBS_EPERMISSION,  "42000" },
    { SQLITE_NOMEM,                 DBS_ENOMEM,       "HY001" },
    { SQLITE_CANTOPEN,              DBS_ECONNECTION,  "08001" },
    { SQLITE_NOTADB,                DBS_ECONNECTION,  "08001" },
    { SQLITE_MISUSE,                DBS_EMISUSE,      "HY000" },
    { SQLITE_INTERRUPT,             DBS_ERROR,        "HY008" },
};

/* SQLITE_ERROR (1) covers many things; only its message tells them apart. */
static const struct {
    const char *prefix;
    int kind;
    const char *sqlstate;
} generic[] = {
    { "no such table:",       DBS_EUNDEFINED, "42S02" },
    { "no such column:",      DBS_EUNDEFINED, "42S22" },
    { "no such function:",    DBS_EUNDEFINED, "42000" },
    { "no such index:",       DBS_EUNDEFINED, "42S12" },
    { "no such savepoint:",   DBS_EMISUSE,    "3B001" },
    { "unknown database",     DBS_EUNDEFINED, "42000" },
    { "near \"",              DBS_ESYNTAX,    "42000" },
    { "incomplete input",     DBS_ESYNTAX,    "42000" },
    { "unrecognized token:",  DBS_ESYNTAX,    "42000" },
    { "ambiguous column name:", DBS_ESYNTAX,  "42000" },
    { "integer overflow",     DBS_EDATA,      "22003" },
    { "cannot commit - no transaction is active", DBS_EMISUSE, "25000" },
    { "cannot rollback - no transaction is active", DBS_EMISUSE, "25000" },
};

/* The kind of any code but a plain SQLITE_ERROR: the table alone. Inline,
 * for the failing step. */
static inline int code_kind(int code, const char **sqlstate)
{
    size_t i;

    for (i = 0; i < sizeof(table) / sizeof(*table); i++)
        if (table[i].code == code) {
            *sqlstate = table[i].sqlstate;
            return table[i].kind;
        }
    for (i = 0; i < sizeof(table) / sizeof(*table); i++)
        if (table[i].code == (code & 0xff)) {
            *sqlstate = table[i].sqlstate;
            return table[i].kind;
        }
    *sqlstate = "HY000";
    return DBS_ERROR;
}

/* msg is read only for a plain SQLITE_ERROR. */
static int classify(int code, const char *msg, const char **sqlstate)
{
    size_t i;

    if (code == SQLITE_ERROR) {
        for (i = 0; i < sizeof(generic) / sizeof(*generic); i++)
            if (strncmp(msg, generic[i].prefix, strlen(generic[i].prefix)) == 0) {
                *sqlstate = generic[i].sqlstate;
                return generic[i].kind;
            }
        /* "table t has no column named x", "table t1 has 2 columns but 1 values..." */
        if (strncmp(msg, "table ", 6) == 0 && strstr(msg, " has no column named ") != NULL) {
            *sqlstate = "42S22";
            return DBS_EUNDEFINED;
        }
        if (strncmp(msg, "table ", 6) == 0 && strstr(msg, " values were supplied") != NULL) {
            *sqlstate = "21S01";
            return DBS_ESYNTAX;
        }
        *sqlstate = "HY000";
        return DBS_ERROR;
    }
    return code_kind(code, sqlstate);
}

/*
 * "t.a, t.b" -> table t, columns a, b. SQLite never quotes names, so a name
 * holding ", " or "." makes the text ambiguous; it is read only when the
 * statement's own table is known and every item starts with "<table>.".
 */
static void table_columns(struct dbs_err *err, const char *list, const char *target)
{
    size_t tlen = strlen(target);
    const char *p = list;

    if (tlen == 0)
        return;
    for (;;) {
        const char *next;

        if (strncmp(p, target, tlen) != 0 || p[tlen] != '.')
            goto ambiguous;
        p += tlen + 1;
        next = strstr(p, ", ");
        /* a column name containing ", <table>." would still fool us: refuse */
        while (next != NULL && (strncmp(next + 2, target, tlen) != 0 || next[2 + tlen] != '.'))
            next = strstr(next + 2, ", ");
        if (dbs__err_add_column(err, p, next != NULL ? (size_t)(next - p) : strlen(p)) < 0)
            goto ambiguous;
        if (next == NULL)
            break;
        p = next + 2;
    }
    dbs__err_set_table(err, target, tlen);
    return;
ambiguous:
    dbs__err_clear_columns(err);
}

static int is_plain_name(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
              || *s == '_' || *s == '$' || (unsigned char)*s >= 0x80))
            return 0;
    return 1;
}

/* The names in a constraint message, against the statement's own table. */
static void names(struct dbs_err *err, int code, const char *msg, const char *target)
{
    const char *colon = strstr(msg, "failed: ");
    const char *body = colon != NULL ? colon + 8 : "";

    switch (code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        if (strncmp(body, "index '", 7) == 0 && body[strlen(body) - 1] == '\'')
            dbs__err_set_constraint(err, body + 7, strlen(body) - 8);
        else
            table_columns(err, body, target);
        break;
    case SQLITE_CONSTRAINT_NOTNULL:
        table_columns(err, body, target);
        break;
    case SQLITE_CONSTRAINT_DATATYPE:
        /* "cannot store TEXT value in INTEGER column t.c" */
        if ((colon = strstr(msg, " column ")) != NULL)
            table_columns(err, colon + 8, target);
        break;
    case SQLITE_CONSTRAINT_CHECK:
        if (is_plain_name(body))
            dbs__err_set_constraint(err, body, strlen(body));
        dbs__err_set_table(err, target, strlen(target));
        break;
    default:
        break;
    }
}

/* dbs_err.finish: the slot holds the whole message and, as hint, the table. */
static void finish_names(struct dbs_err *err)
{
    names(err, err->pub.native_code, err->message, err->hint);
}

static void details(sqlite3 *db, struct dbs_err *err, int code, const char *msg,
                    struct sqlite_target *t)
{
    const char *target;
    enum dbs_sql_verb verb;
    size_t tlen;

    if ((code & 0xff) != SQLITE_CONSTRAINT)
        return;          /* only constraint messages name anything */
    if (!t->parsed) {
        t->verb = dbs__sql_target(t->sql, t->table, sizeof(t->table));
        t->table_len = strlen(t->table);
        t->parsed = 1;
    }
    verb = t->verb;
    target = t->table;

    switch (code) {
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        /* read the schema now: it may have changed by the time the error is read */
        if (verb == DBS_SQL_INSERT) {
            err->pub.fk_direction = DBS_FK_MISSING_PARENT;
            dbs__err_set_table(err, target, t->table_len);
        } else if (verb == DBS_SQL_DELETE) {
            err->pub.fk_direction = DBS_FK_REFERENCED;
        }
        dbs__sqlite_fk_details(db, err, 0, verb, target);
        break;
    case SQLITE_CONSTRAINT_TRIGGER:
        /* ON DELETE/UPDATE RESTRICT: only a change to a parent can hit it */
        err->pub.fk_direction = DBS_FK_REFERENCED;
        dbs__sqlite_fk_details(db, err, 1, verb, target);
        break;
    default:
        /* Parsed from the message alone: left for the first read, unless the
         * copy in the slot was cut (then only the full message will do). */
        tlen = t->table_len;
        if (tlen < sizeof(err->hint) && !err->cut) {
            memcpy(err->hint, target, tlen + 1);
            err->finish = finish_names;
        } else {
            names(err, code, msg, target);
        }
        break;
    }
}

int dbs__sqlite_error(sqlite3 *db, int rc, const char *sql, struct dbs_err *err)
{
    struct sqlite_target t = { .sql = sql };

    return dbs__sqlite_error_at(db, rc, &t, err);
}

/* The code of a failure that returned rc, code being the connection's
 * extended code: that of the last failing API call. Prefer rc when the
 * connection's code has moved on. */
static int failed_code(int code, int rc)
{
    return (code & 0xff) != (rc & 0xff) ? rc : code;
}

static int classify_now(sqlite3 *db, int code, struct sqlite_target *t, struct dbs_err *err)
{
    const char *msg = sqlite3_errmsg(db);
    const char *sqlstate;
    int kind = classify(code, msg, &sqlstate);

    if (code == SQLITE_CONSTRAINT_TRIGGER && strstr(msg, "FOREIGN KEY") == NULL)
        kind = DBS_ECONSTRAINT;  /* a user trigger's RAISE(ABORT, ...) */
    dbs__err_native(err, kind, sqlstate, code, msg);
    details(db, err, code, msg, t);
    return kind;
}

int dbs__sqlite_error_at(sqlite3 *db, int rc, struct sqlite_target *t, struct dbs_err *err)
{
    return classify_now(db, failed_code(sqlite3_extended_errcode(db), rc), t, err);
}

/* dbs_err.fetch: the message, and the names in it, while the connection and
 * the statement still hold them (both settle before they change). */
static void fetch_message(struct dbs_err *e)
{
    struct sqlite_conn *c = e->fetch_from;
    const char *msg = sqlite3_errmsg(c->db);

    c->owed = NULL;
    dbs__err_take_message(e, msg);
    details(c->db, e, e->pub.native_code, msg, c->owed_target);
}

void dbs__sqlite_pay(struct sqlite_conn *c)
{
    struct dbs_err *e = c->owed;

    c->owed = NULL;
    if (e->fetch == fetch_message && e->fetch_from == c)
        dbs__err_fetch(e);
}

int dbs__sqlite_step_error(struct sqlite_conn *c, int rc, int code, struct sqlite_target *t,
                           struct dbs_err *err)
{
    const char *sqlstate;
    int kind;

    code = failed_code(code, rc);
    /* a plain SQLITE_ERROR is told apart by its message, and foreign key
     * details read the schema (a call into db): those are read now */
    if (code == SQLITE_ERROR || code == SQLITE_CONSTRAINT_TRIGGER
        || code == SQLITE_CONSTRAINT_FOREIGNKEY)
        return classify_now(c->db, code, t, err);
    kind = code_kind(code, &sqlstate);
    c->owed = err;
    c->owed_target = t;
    return dbs__err_native_later(err, kind, sqlstate, code, fetch_message, c);
}
