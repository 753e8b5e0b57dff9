/* The dbs command-line tool: shared pieces of its subcommands. */
#ifndef DBS_TOOL_H
#define DBS_TOOL_H

#include <jansson.h>
#include "dbsession.h"

/* Exit statuses shared by every subcommand. */
enum { EXIT_DB_ERROR = 1, EXIT_USAGE = 2 };
/* dbs import: the run completed, with rows skipped. */
enum { EXIT_PARTIAL = 3 };

#define DBS_IMPORT_USAGE \
    "usage: dbs import [--report FILE.json] [--all-or-nothing] [--batch N] URL TABLE FILE.csv\n"

int dbs_tool_exec(int argc, char **argv);
int dbs_tool_import(int argc, char **argv);

/* The error as the JSON object of the contract: kind, sqlstate, native,
 * message, constraint, table, columns, fk, retryable (null where unknown). */
json_t *dbs_tool_error_json(const dbs_error *e);
/* The same on stderr, readable. */
void dbs_tool_error_print(const char *what, const dbs_error *e);
/* Usage/config vs database error, for the exit status. */
int dbs_tool_exit_status(int rc);

/* tools/textio.c: a file read in pieces that each end at a line end ("\n",
 * "\r\n", a lone "\r") or at the end of the buffer. */
struct dbs_tool_reader {
    FILE *f;
    char buf[65536];
    size_t pos, len;
    long long off;          /* file offset of buf[pos] */
    int eof, error;
};
/* Read more into the buffer; 0 at the end of the file (or on an error: see error). */
int dbs_tool_reader_fill(struct dbs_tool_reader *r);
/* The next piece, borrowed until the next call; 0 at the end of the file. */
int dbs_tool_reader_next(struct dbs_tool_reader *r, const char **p, size_t *n, int *ends_line);
/* Go back (or on) to file offset off; -1 if the file cannot seek. */
int dbs_tool_reader_seek(struct dbs_tool_reader *r, long long off);
/* 1 if s[0..n) is UTF-8 (RFC 3629: no overlongs, surrogates, NUL). */
int dbs_tool_utf8_valid(const unsigned char *s, size_t n);
/* A JSON string of s; bytes that are not UTF-8 become U+FFFD. New reference. */
json_t *dbs_tool_json_text(const char *s);

#endif
