/* Private: the little SQL reading the library needs (no parser, no guessing). */
#ifndef DBS_SRC_SQLTEXT_H
#define DBS_SRC_SQLTEXT_H

#include <stddef.h>

enum dbs_sql_verb { DBS_SQL_OTHER, DBS_SQL_INSERT, DBS_SQL_UPDATE, DBS_SQL_DELETE };

/*
 * The verb of a DML statement and its target table: INSERT [OR x] [IGNORE]
 * INTO t, REPLACE INTO t, UPDATE [OR x] t, DELETE FROM t. The table name is
 * unquoted ("", ``, [] with doubled quotes undone) into buf, schema prefix
 * dropped; buf is "" when the name cannot be read with certainty.
 */
enum dbs_sql_verb dbs__sql_target(const char *sql, char *buf, size_t size);



/* 1 if sql is transaction control: BEGIN (not MariaDB's BEGIN NOT ATOMIC
 * block), START TRANSACTION, COMMIT, END, ROLLBACK, SAVEPOINT, RELEASE. */
int dbs__sql_txn_control(const char *sql);

/* 1 if sql holds nothing but white space, semicolons and comments. */
int dbs__sql_blank(const char *sql);
#endif
