/* Private to the SQLite backend. */
#ifndef DBS_BACKEND_SQLITE_H
#define DBS_BACKEND_SQLITE_H

#include <sqlite3.h>
#include "../backend.h"

struct sqlite_conn {
    struct dbs_conn base;
    sqlite3 *db;
};

/* Classify the connection's last error into err; returns the kind. `sql`
 * (may be NULL) is the statement that failed: its verb gives the direction
 * of a foreign key failure, which SQLite does not report. */
int dbs__sqlite_error(sqlite3 *db, int rc, const char *sql, struct dbs_err *err);

#endif
