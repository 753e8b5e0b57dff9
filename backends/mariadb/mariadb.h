/*
 * Private to backends/mariadb/: what conn.c, stmt.c and errors.c share.
 *
 * Functions used across these files are dbs__mdb_* (hidden by
 * -fvisibility=hidden); the only symbol other parts of the library see is
 * dbs__backend_mariadb in conn.c.
 */
#ifndef DBS_BACKENDS_MARIADB_H
#define DBS_BACKENDS_MARIADB_H

#include <stddef.h>
#include <mysql.h>

#include "../backend.h"

/* One row of information_schema.STATISTICS of the current database. */
struct mdb_keycol {
    const char *table;
    const char *index;
    const char *column;
};

/*
 * Index names and columns of the current database, read on the 1062 error
 * path only and kept until DDL runs on this connection or a look-up misses.
 */
struct mdb_keycache {
    int loaded;
    struct mdb_keycol *rows;    /* ordered by table, index, position */
    size_t n;
    char *strings;              /* what rows point into */
};

struct mdb_conn {
    struct dbs_conn base;       /* first: the core holds a struct dbs_conn * */
    MYSQL *my;
    int last_stmt_only;         /* the last error undid only its statement */
    struct mdb_keycache keys;
};

/* conn.c: the one symbol the rest of the library sees. */
extern const struct dbs_backend dbs__backend_mariadb;

/* ---- errors.c ---- */

/*
 * Fill err from an engine error (code, SQLSTATE and message unchanged) and
 * return its kind. c may be NULL (connecting); sql is the failing statement
 * or NULL, used to find the table a 1062 is about.
 */
int dbs__mdb_error(struct mdb_conn *c, const char *sql, unsigned int code,
                   const char *sqlstate, const char *message, struct dbs_err *err);
/* The table a statement writes, worked out from its SQL on its first 1062
 * and kept with the statement: a loop of duplicates parses it once. */
struct mdb_target {
    const char *sql;
    int parsed;
    int found;
    char table[256];
};
/* The same as dbs__mdb_error, for a statement that keeps its target. */
int dbs__mdb_error_at(struct mdb_conn *c, struct mdb_target *t, unsigned int code,
                      const char *sqlstate, const char *message, struct dbs_err *err);
/* The same, from the connection's last error. */
int dbs__mdb_conn_error(struct mdb_conn *c, const char *sql, struct dbs_err *err);
/* 1 if sql may change the set of tables or indexes (CREATE, ALTER, ...). */
int dbs__mdb_sql_is_ddl(const char *sql);
void dbs__mdb_keycache_clear(struct mdb_keycache *k);

/* ---- stmt.c ---- */

int dbs__mdb_prepare(struct dbs_bstmt **out, struct dbs_conn *c, const char *sql,
                     struct dbs_err *err);
void dbs__mdb_finalize(struct dbs_bstmt *st);
int dbs__mdb_param_count(struct dbs_bstmt *st);
int dbs__mdb_bind(struct dbs_bstmt *st, int idx, const struct dbs_value *v,
                  struct dbs_err *err);
int dbs__mdb_step(struct dbs_bstmt *st, struct dbs_err *err);
int dbs__mdb_reset(struct dbs_bstmt *st, struct dbs_err *err);
int dbs__mdb_column_count(struct dbs_bstmt *st);
const char *dbs__mdb_column_name(struct dbs_bstmt *st, int col);
void dbs__mdb_column_value(struct dbs_bstmt *st, int col, struct dbs_value *out);
int64_t dbs__mdb_rows_affected(struct dbs_bstmt *st);
int64_t dbs__mdb_last_insert_id(struct dbs_bstmt *st);

#endif
