/* dbs: run SQL through dbsession from the shell. */
#include <stdio.h>
#include <string.h>

#include "dbs.h"

static void usage(FILE *f)
{
    fputs("usage: dbs exec [--json] URL STATEMENT...\n"
          "  Run each STATEMENT in one transaction: commit if all succeed,\n"
          "  roll back and stop at the first failure.\n"
          "  --json  one JSON object per statement on stdout\n"
          "exit status: 0 success, 1 database error, 2 usage or configuration error\n"
          "\n"
          DBS_IMPORT_USAGE
          "  Insert the rows of an RFC 4180 CSV file (header row = column names;\n"
          "  an empty field is NULL, \"\" an empty string) into TABLE, skipping and\n"
          "  reporting the rows that the CSV layer or the database reject.\n"
          "  Prints \"imported N, skipped M\"; a progress bar on a terminal.\n"
          "  --report FILE.json  {\"imported\":N,\"skipped\":M,\"errors\":[{\"line\",\n"
          "                      \"record\",\"kind\",\"column\",\"message\"}...]}\n"
          "  --all-or-nothing    import nothing if any row is bad\n"
          "  --batch N           rows per savepoint (default 500, at most 100000)\n"
          "exit status: 0 all rows imported, 3 done with rows skipped, 1 stopped\n"
          "(nothing imported), 2 usage error (unknown table or column, unreadable file)\n", f);
}

static json_t *str_or_null(const char *s)
{
    return s != NULL && *s != '\0' ? json_string(s) : json_null();
}

json_t *dbs_tool_error_json(const dbs_error *e)
{
    json_t *cols = json_array();
    const char *fk = e->fk_direction == DBS_FK_MISSING_PARENT ? "missing_parent"
                   : e->fk_direction == DBS_FK_REFERENCED ? "referenced" : NULL;
    int i;

    for (i = 0; i < e->n_columns; i++)
        json_array_append_new(cols, json_string(e->columns[i]));
    /* message: the engine's text may not be valid UTF-8; jansson then gives
     * NULL and the key is null rather than a broken string */
    return json_pack("{s:s, s:o, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:b}",
                     "kind", dbs_status_name(e->status),
                     "sqlstate", str_or_null(e->sqlstate),
                     "native", e->native_code,
                     "message", str_or_null(e->message),
                     "constraint", str_or_null(e->constraint),
                     "table", str_or_null(e->table),
                     "columns", e->n_columns > 0 ? cols : (json_decref(cols), json_null()),
                     "referenced_table", str_or_null(e->ref_table),
                     "fk", fk != NULL ? json_string(fk) : json_null(),
                     "retryable", e->retryable);
}

void dbs_tool_error_print(const char *what, const dbs_error *e)
{
    char desc[512];

    dbs_error_describe(e, desc, sizeof(desc));
    fprintf(stderr, "dbs: %s: %s\n", what, desc);
    fprintf(stderr, "  kind %s", dbs_status_name(e->status));
    if (e->sqlstate[0] != '\0')
        fprintf(stderr, ", SQLSTATE %s", e->sqlstate);
    if (e->native_code != 0)
        fprintf(stderr, ", %s code %d", e->backend, e->native_code);
    fprintf(stderr, "\n  %s\n", e->message);
}

int dbs_tool_exit_status(int rc)
{
    return rc == DBS_ECONFIG || rc == DBS_EMISUSE ? EXIT_USAGE : EXIT_DB_ERROR;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "exec") == 0)
        return dbs_tool_exec(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "import") == 0)
        return dbs_tool_import(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return EXIT_USAGE;
}
