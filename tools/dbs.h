/* The dbs command-line tool: shared pieces of its subcommands. */
#ifndef DBS_TOOL_H
#define DBS_TOOL_H

#include <jansson.h>
#include "dbsession.h"

/* Exit statuses shared by every subcommand. */
enum { EXIT_DB_ERROR = 1, EXIT_USAGE = 2 };

int dbs_tool_exec(int argc, char **argv);

/* The error as the JSON object of the contract: kind, sqlstate, native,
 * message, constraint, table, columns, fk, retryable (null where unknown). */
json_t *dbs_tool_error_json(const dbs_error *e);
/* The same on stderr, readable. */
void dbs_tool_error_print(const char *what, const dbs_error *e);
/* Usage/config vs database error, for the exit status. */
int dbs_tool_exit_status(int rc);

#endif
