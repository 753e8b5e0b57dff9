/* Private to the SQLite backend. */
#ifndef DBS_BACKEND_SQLITE_H
#define DBS_BACKEND_SQLITE_H

#include <sqlite3.h>
#include "../backend.h"
#include "../../src/sqltext.h"

struct sqlite_conn {
    struct dbs_conn base;
    sqlite3 *db;
};

/* The failing statement's verb and table, read from its SQL only when an
 * error needs them, and once per prepared statement. */
struct sqlite_target {
    const char *sql;
    int parsed;
    enum dbs_sql_verb verb;
    char table[256];
    size_t table_len;
};

/* Classify the connection's last error into err; returns the kind. `sql`
 * (may be NULL) is the statement that failed: its verb gives the direction
 * of a foreign key failure, which SQLite does not report. */
int dbs__sqlite_error(sqlite3 *db, int rc, const char *sql, struct dbs_err *err);
/* fk.c: table, columns and referenced table of a foreign key failure, where
 * the schema makes them certain; UPDATE gets its direction here too. */
void dbs__sqlite_fk_details(sqlite3 *db, struct dbs_err *err, int restrict_code,
                            enum dbs_sql_verb verb, const char *target);

/* The same with the statement's cached target. */
int dbs__sqlite_error_at(sqlite3 *db, int rc, struct sqlite_target *t, struct dbs_err *err);

#endif
