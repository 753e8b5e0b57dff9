/*
 * dbs import: load an RFC 4180 CSV file into a table, keeping the good rows
 * and reporting the bad ones (dbs_batch), the CSV layer's rejections included.
 *
 * The file is fed to libcsv one physical line at a time, so each record
 * knows the line it starts on. A record the parser rejects (bad quoting, an
 * unterminated quote at the end of the file) is reported and parsing starts
 * again on the line after the one where that record began: one stray quote
 * costs one record, not the rest of the file.
 */
#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dbs.h"

#define CSV_OPTIONS (CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_EMPTY_IS_NULL)
#define BATCH_MAX 100000    /* rows held in memory per chunk */

struct import_opts {
    const char *report, *url, *table, *file;
    int all_or_nothing;
    int batch;
};

struct importer {
    struct import_opts o;
    dbs_session *s;
    dbs_batch *b;
    FILE *report;
    struct csv_parser p;
    struct dbs_tool_reader rd;
    unsigned long long line;        /* line of the piece being parsed, 1-based */
    int in_record;                  /* a record has begun and not ended */
    unsigned long long rec_line;    /* where it began */
    long long rec_next_off;         /* offset of the line after rec_line; -1 unknown */
    int skip_line;                  /* drop the rest of this line (after a parse error) */
    /* fields of the record being read: bytes in fbuf, NUL-terminated */
    char *fbuf;
    size_t fused, fcap;
    struct field { size_t off, len; } *f;   /* off (size_t)-1: an unquoted empty field */
    int nf, fcapn;
    /* the header and the data records so far */
    char **header;
    int ncols;
    int have_header;
    unsigned long long records;
    unsigned long long *lines;      /* line of data record i + 1 */
    size_t cap_lines;
    const char **vals;
    size_t *vlens;
    int status;                     /* exit status decided early (2: usage), 0 = none */
    int stopped;                    /* the batch's stop kind */
    int tty;
    double t0, t_shown;
};

/* ---- small helpers ---- */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage_error(struct importer *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Exit status 2, nothing written; the reason on stderr. */
static int usage_error(struct importer *im, const char *fmt, ...)
{
    va_list ap;

    fputs("dbs import: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    im->status = EXIT_USAGE;
    return -1;
}

/* ---- the fields of the record being read (libcsv callbacks) ---- */

/* Room for one more field of len bytes; -1 when out of memory. */
static int field_room(struct importer *im, size_t len)
{
    size_t cap = im->fcap ? im->fcap : 4096;
    struct field *f;
    char *buf;
    int n;

    if (im->nf == im->fcapn) {
        n = im->fcapn ? 2 * im->fcapn : 16;
        if ((f = realloc(im->f, (size_t)n * sizeof(*f))) == NULL)
            return -1;
        im->f = f;
        im->fcapn = n;
    }
    while (cap < im->fused + len + 1)
        cap *= 2;
    if (cap != im->fcap) {
        if ((buf = realloc(im->fbuf, cap)) == NULL)
            return -1;
        im->fbuf = buf;
        im->fcap = cap;
    }
    return 0;
}

/* libcsv: one field, NULL for an unquoted empty one; the bytes are copied. */
static void on_field(void *field, size_t len, void *data)
{
    struct importer *im = data;

    if (field_room(im, len) < 0) {
        fprintf(stderr, "dbs import: out of memory reading a record\n");
        im->status = EXIT_DB_ERROR;
        return;
    }
    im->f[im->nf].off = field == NULL ? (size_t)-1 : im->fused;
    im->f[im->nf++].len = len;
    if (field != NULL) {
        memcpy(im->fbuf + im->fused, field, len);
        im->fbuf[im->fused + len] = '\0';
        im->fused += len + 1;
    }
}

static const char *field_at(const struct importer *im, int i)
{
    return im->f[i].off == (size_t)-1 ? NULL : im->fbuf + im->f[i].off;
}

/* ---- the header: names the columns, checked against the table ---- */

/* Prepare SELECT <cols> FROM <table> WHERE 1=0: the table and columns exist. */
static int check_table(struct importer *im)
{
    char **q = calloc((size_t)im->ncols + 1, sizeof(*q)), *sql = NULL;
    size_t len = 64;
    dbs_stmt *st = NULL;
    int i, rc = q != NULL ? DBS_OK : DBS_ENOMEM;

    for (i = 0; i <= im->ncols && rc == DBS_OK; i++)
        if ((rc = dbs_session_quote_ident(im->s, i == 0 ? im->o.table : im->header[i - 1],
                                          &q[i])) == DBS_OK)
            len += strlen(q[i]) + 2;
    if (rc == DBS_OK && (sql = malloc(len)) == NULL)
        rc = DBS_ENOMEM;
    if (rc == DBS_OK) {
        strcpy(sql, im->ncols > 0 ? "SELECT " : "SELECT *");
        for (i = 1; i <= im->ncols; i++)
            strcat(strcat(sql, i > 1 ? ", " : ""), q[i]);
        strcat(strcat(strcat(sql, " FROM "), q[0]), " WHERE 1=0");
        rc = dbs_stmt_prepare(&st, im->s, sql);
    }
    for (i = 0; q != NULL && i <= im->ncols; i++)
        dbs_free(q[i]);
    free(q);
    free(sql);
    dbs_stmt_free(st);
    if (rc < 0) {
        dbs_tool_error_print(rc == DBS_EUNDEFINED ? "unknown table or column"
                                                  : "checking the table", dbs_error_last(im->s));
        im->status = rc == DBS_EUNDEFINED || rc == DBS_ESYNTAX ? EXIT_USAGE
                                                               : dbs_tool_exit_status(rc);
    }
    return rc;
}

static int take_header(struct importer *im)
{
    int i, j;

    if ((im->header = calloc((size_t)im->nf, sizeof(*im->header))) == NULL
        || (im->vals = calloc((size_t)im->nf, sizeof(*im->vals))) == NULL
        || (im->vlens = calloc((size_t)im->nf, sizeof(*im->vlens))) == NULL)
        return usage_error(im, "out of memory");
    for (i = 0; i < im->nf; i++) {
        const char *name = field_at(im, i);
        if (name == NULL || *name == '\0')
            return usage_error(im, "the header has an empty column name (field %d)", i + 1);
        if (!dbs_tool_utf8_valid((const unsigned char *)name, im->f[i].len))
            return usage_error(im, "the header is not valid UTF-8");
        for (j = 0; j < i; j++)
            if (strcasecmp(im->header[j], name) == 0)
                return usage_error(im, "duplicate column '%s' in the header", name);
        if ((im->header[i] = strdup(name)) == NULL)
            return usage_error(im, "out of memory");
        im->ncols = i + 1;
    }
    im->have_header = 1;
    return check_table(im);
}

/* ---- data records ---- */

/* The next record number, and the line it starts on. */
static int next_record(struct importer *im)
{
    if (im->records == im->cap_lines) {
        size_t cap = im->cap_lines ? 2 * im->cap_lines : 1024;
        unsigned long long *l = realloc(im->lines, cap * sizeof(*l));
        if (l == NULL) {
            fprintf(stderr, "dbs import: out of memory\n");
            im->status = EXIT_DB_ERROR;
            return -1;
        }
        im->lines = l;
        im->cap_lines = cap;
    }
    im->lines[im->records++] = im->rec_line;
    return 0;
}

static void add_record(struct importer *im)
{
    char msg[200];
    int i, rc;

    if (next_record(im) < 0)
        return;
    if (im->nf != im->ncols) {
        snprintf(msg, sizeof(msg), "expected %d fields, got %d", im->ncols, im->nf);
        rc = dbs_batch_reject(im->b, DBS_EDATA, NULL, msg);
    } else {
        for (i = 0; i < im->nf; i++) {
            im->vals[i] = field_at(im, i);
            im->vlens[i] = im->f[i].len;
            if (im->vals[i] != NULL
                && !dbs_tool_utf8_valid((const unsigned char *)im->vals[i], im->vlens[i]))
                break;
        }
        if (i == im->nf) {
            rc = dbs_batch_add_text(im->b, im->vals, im->vlens);
        } else {
            snprintf(msg, sizeof(msg), "invalid text in column %.100s: not UTF-8, "
                     "or a NUL byte", im->header[i]);
            rc = dbs_batch_reject(im->b, DBS_EDATA, im->header[i], msg);
        }
    }
    if (rc < 0)
        im->stopped = rc;
}

static int open_report(struct importer *im)
{
    if (im->o.report == NULL)
        return 0;
    if ((im->report = fopen(im->o.report, "w")) == NULL)
        return usage_error(im, "cannot write the report file %s: %s", im->o.report,
                           strerror(errno));
    return 0;
}

static int start_batch(struct importer *im)
{
    dbs_batch_options bo;
    int rc;

    dbs_batch_options_init(&bo);
    bo.mode = im->o.all_or_nothing ? DBS_BATCH_ALL_OR_NOTHING : DBS_BATCH_SKIP;
    bo.chunk_size = im->o.batch;
    rc = dbs_batch_new_insert(&im->b, im->s, im->o.table, (const char *const *)im->header,
                              im->ncols, &bo);
    if (rc < 0) {
        dbs_tool_error_print("cannot start the import", dbs_error_last(im->s));
        im->status = rc == DBS_EUNDEFINED ? EXIT_USAGE : dbs_tool_exit_status(rc);
        return rc;
    }
    return open_report(im);
}

static void on_record(int c, void *data)
{
    struct importer *im = data;

    (void)c;    /* the terminator character: lines are tracked by feed() */
    if (im->status == 0 && !im->stopped) {
        if (im->have_header)
            add_record(im);
        else if (take_header(im) == 0)
            start_batch(im);
    }
    im->nf = 0;
    im->fused = 0;
    im->in_record = 0;
}

static int no_space(unsigned char c)
{
    (void)c;
    return 0;   /* RFC 4180: spaces belong to the field */
}

static void parser_init(struct importer *im)
{
    csv_init(&im->p, CSV_OPTIONS);
    csv_set_space_func(&im->p, no_space);
}

/*
 * The record being read is malformed: report it, then parse again from the
 * line after the one it began on. Returns 1 after a seek, 0 to go on with
 * the next piece, -1 on a fatal error.
 */
static int parse_error(struct importer *im, const char *why, int ends_line)
{
    int rc;

    if (!im->have_header)
        return usage_error(im, "cannot read the header: %s", why);
    im->nf = 0;
    im->fused = 0;
    im->in_record = 0;
    csv_free(&im->p);
    parser_init(im);
    if (next_record(im) < 0)
        return -1;
    if ((rc = dbs_batch_reject(im->b, DBS_EDATA, NULL, why)) < 0)
        im->stopped = rc;
    if (im->line == im->rec_line) {
        im->skip_line = !ends_line;
        return 0;
    }
    if (im->rec_next_off < 0 || dbs_tool_reader_seek(&im->rd, im->rec_next_off) < 0) {
        fprintf(stderr, "dbs import: cannot seek back in %s to resume after line %llu\n",
                im->o.file, im->rec_line);
        im->status = EXIT_DB_ERROR;
        return -1;
    }
    im->line = im->rec_line + 1;
    return 1;
}

static void progress(struct importer *im, int last)
{
    uint64_t applied = 0, skipped = 0;
    double t;

    if (!im->tty)
        return;     /* no progress bar, and no clock read per line, off a terminal */
    if ((t = now_s()) - im->t_shown < 0.25 && !last)
        return;
    im->t_shown = t;
    dbs_batch_counts(&applied, &skipped, NULL, im->b);
    fprintf(stderr, "\rdbs import: %llu rows, %.0f rows/s, %llu bad%s",
            (unsigned long long)(applied + skipped),
            t > im->t0 ? (double)(applied + skipped) / (t - im->t0) : 0.0,
            (unsigned long long)skipped, last ? "\n" : "");
}

static int has_content(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i] != '\r' && p[i] != '\n')
            return 1;
    return 0;
}

/* Feed one piece of a line to the parser. */
static void feed(struct importer *im, const char *piece, size_t n, int ends)
{
    if (im->skip_line) {
        im->skip_line = !ends;
        im->line += (unsigned long long)ends;
        return;
    }
    if (!im->in_record && has_content(piece, n)) {
        im->in_record = 1;
        im->rec_line = im->line;
        im->rec_next_off = -1;
    }
    if (csv_parse(&im->p, piece, n, on_field, on_record, im) != n) {
        if (csv_error(&im->p) != CSV_EPARSE) {
            fprintf(stderr, "dbs import: %s\n", csv_strerror(csv_error(&im->p)));
            im->status = EXIT_DB_ERROR;
            return;
        }
        if (parse_error(im, "malformed quoting: a quote inside an unquoted field, "
                        "or text after a closing quote", ends) != 0)
            return;
    }
    if (ends) {
        if (im->in_record && im->rec_line == im->line)
            im->rec_next_off = im->rd.off;
        im->line++;
    }
}

static void parse_file(struct importer *im)
{
    const char *piece;
    size_t n;
    int ends;

    for (;;) {
        while (im->status == 0 && !im->stopped
               && dbs_tool_reader_next(&im->rd, &piece, &n, &ends)) {
            feed(im, piece, n, ends);
            progress(im, 0);
        }
        if (im->status != 0 || im->stopped)
            return;
        if (im->rd.error) {
            fprintf(stderr, "dbs import: error reading %s\n", im->o.file);
            im->status = im->have_header ? EXIT_DB_ERROR : EXIT_USAGE;
            return;
        }
        if (csv_fini(&im->p, on_field, on_record, im) == 0
            || parse_error(im, "unterminated quoted field", 1) != 1)
            return;
    }
}

/* ---- the report and the end ---- */

static void write_report(struct importer *im, uint64_t imported, uint64_t skipped, int rc)
{
    json_t *root, *errs = json_array();
    const dbs_batch_error *e;
    size_t i;

    for (i = 0; (e = dbs_batch_error_at(im->b, i)) != NULL; i++)
        json_array_append_new(errs, json_pack("{s:I, s:I, s:s, s:o, s:o}",
            "line", (json_int_t)(e->row <= im->records ? im->lines[e->row - 1] : 0),
            "record", (json_int_t)e->row, "kind", dbs_status_name(e->kind),
            "column", e->column != NULL ? dbs_tool_json_text(e->column) : json_null(),
            "message", dbs_tool_json_text(e->message)));
    root = json_pack("{s:I, s:I, s:o}", "imported", (json_int_t)imported,
                     "skipped", (json_int_t)skipped, "errors", errs);
    if (rc < 0)
        json_object_set_new(root, "stopped", json_pack("{s:s, s:o}", "kind",
                            dbs_status_name(rc), "message",
                            dbs_tool_json_text(dbs_error_last(im->s)->message)));
    if (json_dumpf(root, im->report, JSON_COMPACT) < 0 || fputc('\n', im->report) == EOF)
        fprintf(stderr, "dbs import: cannot write the report file %s\n", im->o.report);
    json_decref(root);
}

/* Finish the batch, report, and decide the exit status. */
static int conclude(struct importer *im)
{
    uint64_t applied = 0, skipped = 0;
    const dbs_batch_error *last;
    int rc;

    rc = im->stopped != 0 ? im->stopped : im->b != NULL ? dbs_batch_finish(im->b) : DBS_OK;
    dbs_batch_counts(&applied, &skipped, NULL, im->b);
    progress(im, 1);
    if (rc < 0) {
        last = dbs_batch_error_at(im->b, dbs_batch_error_count(im->b) - 1);
        if (last != NULL && last->kind == rc)
            fprintf(stderr, "dbs import: stopped at line %llu (record %llu), nothing "
                    "imported: %s: %s\n", im->lines[last->row - 1],
                    (unsigned long long)last->row, dbs_status_name(rc), last->message);
        else
            dbs_tool_error_print("stopped, nothing imported", dbs_error_last(im->s));
        applied = 0;
    }
    if (im->report != NULL)
        write_report(im, applied, skipped, rc);
    printf("imported %llu, skipped %llu\n", (unsigned long long)applied,
           (unsigned long long)skipped);
    return rc < 0 ? EXIT_DB_ERROR : skipped > 0 ? EXIT_PARTIAL : 0;
}

static int parse_args(struct import_opts *o, int argc, char **argv)
{
    const char *num = NULL;
    char *end;
    long v;
    int i;

    memset(o, 0, sizeof(*o));
    o->batch = 500;
    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "--all-or-nothing") == 0) {
            o->all_or_nothing = 1;
        } else if (strcmp(argv[i], "--report") == 0 && i + 1 < argc) {
            o->report = argv[++i];
        } else if (strncmp(argv[i], "--report=", 9) == 0) {
            o->report = argv[i] + 9;
        } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            num = argv[++i];
        } else if (strncmp(argv[i], "--batch=", 8) == 0) {
            num = argv[i] + 8;
        } else {
            fprintf(stderr, "dbs import: unknown option %s\n", argv[i]);
            return -1;
        }
    }
    if (num != NULL) {
        v = strtol(num, &end, 10);
        if (*num == '\0' || *end != '\0' || v < 1 || v > BATCH_MAX) {
            fprintf(stderr, "dbs import: --batch wants a number from 1 to %d\n", BATCH_MAX);
            return -1;
        }
        o->batch = (int)v;
    }
    if (argc - i != 3 || (o->report != NULL && *o->report == '\0')) {
        fputs(DBS_IMPORT_USAGE, stderr);
        return -1;
    }
    o->url = argv[i];
    o->table = argv[i + 1];
    o->file = argv[i + 2];
    return 0;
}

static int open_input(struct importer *im)
{
    struct stat st;

    if ((im->rd.f = fopen(im->o.file, "rb")) == NULL)
        return usage_error(im, "cannot read %s: %s", im->o.file, strerror(errno));
    if (fstat(fileno(im->rd.f), &st) == 0 && S_ISDIR(st.st_mode))
        return usage_error(im, "cannot read %s: a directory", im->o.file);
    dbs_tool_reader_fill(&im->rd);
    if (im->rd.error)
        return usage_error(im, "cannot read %s: %s", im->o.file, strerror(errno));
    if (im->rd.len >= 3 && memcmp(im->rd.buf, "\xEF\xBB\xBF", 3) == 0) {
        im->rd.pos = 3;   /* a UTF-8 byte order mark is no part of the header */
        im->rd.off = 3;
    }
    return 0;
}

static void importer_free(struct importer *im)
{
    int i;

    dbs_batch_free(im->b);
    dbs_session_close(im->s);
    csv_free(&im->p);
    if (im->rd.f != NULL)
        fclose(im->rd.f);
    if (im->report != NULL && fclose(im->report) != 0)
        fprintf(stderr, "dbs import: cannot write the report file %s\n", im->o.report);
    for (i = 0; i < im->ncols; i++)
        free(im->header[i]);
    free(im->header);
    free(im->vals);
    free(im->vlens);
    free(im->fbuf);
    free(im->f);
    free(im->lines);
}

int dbs_tool_import(int argc, char **argv)
{
    struct importer im;
    int rc, status;

    memset(&im, 0, sizeof(im));
    parser_init(&im);
    im.line = 1;
    if (parse_args(&im.o, argc, argv) < 0 || open_input(&im) < 0) {
        importer_free(&im);
        return EXIT_USAGE;
    }
    if ((rc = dbs_session_open(&im.s, im.o.url)) < 0) {
        dbs_tool_error_print("cannot open session", dbs_error_last(NULL));
        importer_free(&im);
        return dbs_tool_exit_status(rc);
    }
    im.tty = isatty(STDERR_FILENO);
    im.t0 = im.t_shown = now_s();
    parse_file(&im);
    /* an empty file, or a header alone: the table must still exist */
    if (im.status == 0 && !im.have_header && check_table(&im) == DBS_OK)
        open_report(&im);
    status = im.status != 0 ? im.status : conclude(&im);
    importer_free(&im);
    return status;
}
