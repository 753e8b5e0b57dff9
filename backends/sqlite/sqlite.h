/* Private to the SQLite backend. */
#ifndef DBS_BACKEND_SQLITE_H
#define DBS_BACKEND_SQLITE_H

#include <sqlite3.h>
#include "../backend.h"
#include "../../src/sqltext.h"

struct sqlite_conn {
    struct dbs_conn base;
    sqlite3 *db;
    /* The slot whose message is still only in db (dbs_err.fetch). Every
     * function here that calls into db settles first, so the message is
     * never lost; a failure in a loop that nobody reads is never copied. */
    struct dbs_err *owed;
    struct sqlite_target *owed_target;  /* the failed statement's, for the names */
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
/* The same for a step of c that returned rc, code being the connection's
 * extended code (read by the caller, which keeps what it needs across the
 * call anyway): where the kind does not need the message, err is left
 * owing it (err must be the session's slot). */
int dbs__sqlite_step_error(struct sqlite_conn *c, int rc, int code, struct sqlite_target *t,
                           struct dbs_err *err);

void dbs__sqlite_pay(struct sqlite_conn *c);
/* Before any call into c->db that may change its error: copy the message
 * owed, unless its slot has been cleared since. */
static inline void dbs__sqlite_settle(struct sqlite_conn *c)
{
    if (c->owed != NULL && c->owed->fetch != NULL)
        dbs__sqlite_pay(c);
}

#endif
