/*
 * Foreign key details SQLite does not report. Its message is always
 * "FOREIGN KEY constraint failed": the direction comes from the statement,
 * and the constraint's table and columns are read from the schema, but only
 * where exactly one foreign key can be the one that failed. Run on the error
 * path only; the error already holds the engine's code and message.
 */
#include <stdio.h>
#include <string.h>

#include "sqlite.h"

/* The one foreign key of `table` (child side): columns, parent. 0 if not one. */
static int only_child_fk(sqlite3 *db, const char *table, struct dbs_err *err)
{
    sqlite3_stmt *st = NULL;
    int id = -1, ok = 1;
    char parent[256] = "";

    if (sqlite3_prepare_v2(db, "SELECT id, \"table\", \"from\" FROM pragma_foreign_key_list(?1)"
                           " ORDER BY id, seq", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (id >= 0 && sqlite3_column_int(st, 0) != id) {
            ok = 0;          /* a second foreign key: cannot tell which failed */
            break;
        }
        id = sqlite3_column_int(st, 0);
        snprintf(parent, sizeof(parent), "%s", (const char *)sqlite3_column_text(st, 1));
        dbs__err_add_column(err, (const char *)sqlite3_column_text(st, 2), (size_t)-1);
    }
    sqlite3_finalize(st);
    if (!ok || id < 0) {
        dbs__err_clear_columns(err);
        return 0;
    }
    dbs__err_set_table(err, table, strlen(table));
    dbs__err_set_ref_table(err, parent, strlen(parent));
    return 1;
}

/* The tables whose foreign keys point at `table`: how many keys; when
 * exactly one and it takes no action of its own on `verb` (so no cascade
 * can have carried the failure elsewhere), its child and columns. */
static int referencing_fks(sqlite3 *db, const char *table, enum dbs_sql_verb verb,
                           struct dbs_err *err, int fill)
{
    sqlite3_stmt *st = NULL;
    char child[256] = "", action[32] = "";
    int keys = 0, last_id = -1;

    if (sqlite3_prepare_v2(db, "SELECT m.name, f.id, f.\"from\", f.on_update, f.on_delete"
                           " FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f"
                           " WHERE m.type = 'table' AND f.\"table\" = ?1 COLLATE NOCASE"
                           " ORDER BY m.name, f.id, f.seq", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int id = sqlite3_column_int(st, 1);
        if (keys == 0 || strcmp(name, child) != 0 || id != last_id) {
            keys++;
            snprintf(child, sizeof(child), "%s", name);
            snprintf(action, sizeof(action), "%s", (const char *)sqlite3_column_text(
                         st, verb == DBS_SQL_UPDATE ? 3 : 4));
            last_id = id;
            dbs__err_clear_columns(err);
        }
        if (keys == 1 && fill)
            dbs__err_add_column(err, (const char *)sqlite3_column_text(st, 2), (size_t)-1);
    }
    sqlite3_finalize(st);
    if (fill && keys == 1 && (strcmp(action, "NO ACTION") == 0 || strcmp(action, "RESTRICT") == 0)) {
        dbs__err_set_table(err, child, strlen(child));
        dbs__err_set_ref_table(err, table, strlen(table));
    } else if (fill) {
        dbs__err_clear_columns(err);
    }
    return keys;
}

static int child_keys(sqlite3 *db, const char *table)
{
    sqlite3_stmt *st = NULL;
    int n = 0;

    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM pragma_foreign_key_list(?1)", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

void dbs__sqlite_fk_details(sqlite3 *db, struct dbs_err *err, int restrict_code,
                            enum dbs_sql_verb verb, const char *target)
{
    int as_child, as_parent;

    if (target == NULL || target[0] == '\0')
        return;
    if (verb == DBS_SQL_UPDATE && !restrict_code) {
        /* a child's key changed, or a parent's: the schema tells which it can be */
        as_child = child_keys(db, target) > 0;
        as_parent = referencing_fks(db, target, verb, err, 0) > 0;
        if (as_child == as_parent)
            return;          /* both (or neither): the engine does not say */
        verb = as_child ? DBS_SQL_INSERT : DBS_SQL_DELETE;
        err->pub.fk_direction = as_child ? DBS_FK_MISSING_PARENT : DBS_FK_REFERENCED;
        if (!as_child) {
            referencing_fks(db, target, DBS_SQL_UPDATE, err, 1);
            return;
        }
    }
    if (verb == DBS_SQL_INSERT && !restrict_code)
        only_child_fk(db, target, err);
    else if (verb == DBS_SQL_DELETE || verb == DBS_SQL_UPDATE)
        referencing_fks(db, target, verb, err, 1);
}
