/* dbs exec: statements in one transaction, all or nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbs.h"

struct exec_opts {
    int json;
    const char *url;
    char **stmts;
    int n;
};

static json_t *value_json(dbs_stmt *st, int col)
{
    const char *text;
    size_t len, i;
    int64_t iv;
    double dv;
    char *hex;
    json_t *j;

    switch (dbs_stmt_column_type(st, col)) {
    case DBS_TYPE_INT:
        return dbs_stmt_column_int64(st, col, &iv) == DBS_OK ? json_integer(iv) : json_null();
    case DBS_TYPE_DOUBLE:
        return dbs_stmt_column_double(st, col, &dv) == DBS_OK ? json_real(dv) : json_null();
    case DBS_TYPE_TEXT:
    case DBS_TYPE_BLOB:
        if (dbs_stmt_column_text(st, col, &text, &len) != DBS_OK)
            return json_null();
        if (dbs_stmt_column_type(st, col) == DBS_TYPE_TEXT
            && (j = json_stringn(text, len)) != NULL)
            return j;
        /* blobs (and text that is not UTF-8) as "\x" hex, like PostgreSQL's bytea */
        if ((hex = malloc(2 * len + 3)) == NULL)
            return json_null();
        strcpy(hex, "\\x");
        for (i = 0; i < len; i++)
            sprintf(hex + 2 + 2 * i, "%02x", (unsigned char)text[i]);
        j = json_string(hex);
        free(hex);
        return j;
    default:
        return json_null();
    }
}

static void print_text_row(dbs_stmt *st, int ncols)
{
    int c;

    for (c = 0; c < ncols; c++) {
        json_t *v = value_json(st, c);
        if (c > 0)
            fputs(" | ", stdout);
        if (json_is_string(v))
            fputs(json_string_value(v), stdout);
        else if (json_is_null(v))
            fputs("NULL", stdout);
        else {
            char *s = json_dumps(v, JSON_ENCODE_ANY);
            fputs(s != NULL ? s : "?", stdout);
            free(s);
        }
        json_decref(v);
    }
    putchar('\n');
}

/* Run statement number idx (1-based); fills *out with its JSON result. */
static int run_one(dbs_session *s, const struct exec_opts *o, int idx, json_t **out)
{
    dbs_stmt *st = NULL;
    json_t *res = json_pack("{s:i}", "statement", idx), *cols = NULL, *rows = NULL;
    int64_t affected = 0, id = 0;
    int rc, ncols, c;

    if ((rc = dbs_stmt_prepare(&st, s, o->stmts[idx - 1])) < 0)
        goto done;
    ncols = dbs_stmt_column_count(st);
    while ((rc = dbs_stmt_step(st)) == DBS_ROW) {
        if (cols == NULL) {
            cols = json_array();
            rows = json_array();
            ncols = dbs_stmt_column_count(st);
            for (c = 0; c < ncols; c++)
                json_array_append_new(cols, json_string(dbs_stmt_column_name(st, c)));
            for (c = 0; c < ncols && !o->json; c++)
                printf("%s%s", c > 0 ? " | " : "", dbs_stmt_column_name(st, c));
            if (!o->json)
                putchar('\n');
        }
        json_t *row = json_array();
        for (c = 0; c < ncols; c++)
            json_array_append_new(row, value_json(st, c));
        json_array_append_new(rows, row);
        if (!o->json)
            print_text_row(st, ncols);
    }
    if (rc < 0)
        goto done;
    rc = DBS_OK;
    if (cols == NULL && (ncols = dbs_stmt_column_count(st)) > 0) {
        cols = json_array();
        rows = json_array();
        for (c = 0; c < ncols; c++) {
            json_array_append_new(cols, json_string(dbs_stmt_column_name(st, c)));
            if (!o->json)
                printf("%s%s", c > 0 ? " | " : "", dbs_stmt_column_name(st, c));
        }
        if (!o->json)
            putchar('\n');    /* a query without rows still shows its header */
    }
    if (cols != NULL) {
        json_object_set_new(res, "columns", cols);
        json_object_set_new(res, "rows", rows);
        cols = rows = NULL;
    } else {
        dbs_stmt_rows_affected(st, &affected);
        dbs_stmt_last_insert_id(st, &id);
        json_object_set_new(res, "rows_affected", json_integer(affected));
        json_object_set_new(res, "last_insert_id", id != 0 ? json_integer(id) : json_null());
        if (!o->json)
            printf("statement %d: %lld row(s) affected, last insert id %lld\n", idx,
                   (long long)affected, (long long)id);
    }
done:
    json_decref(cols);
    json_decref(rows);
    dbs_stmt_free(st);
    *out = res;
    return rc;
}

static int parse_args(struct exec_opts *o, int argc, char **argv)
{
    int i = 1;

    memset(o, 0, sizeof(*o));
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--json") == 0)
            o->json = 1;
        else {
            fprintf(stderr, "dbs exec: unknown option %s\n", argv[i]);
            return -1;
        }
    }
    if (argc - i < 2) {
        fputs("usage: dbs exec [--json] URL STATEMENT...\n", stderr);
        return -1;
    }
    o->url = argv[i];
    o->stmts = argv + i + 1;
    o->n = argc - i - 1;
    return 0;
}

static void emit(const struct exec_opts *o, json_t *j)
{
    if (o->json) {
        char *s = json_dumps(j, JSON_COMPACT);
        puts(s != NULL ? s : "{}");
        free(s);
    }
    json_decref(j);
}

/* On failure: report statement idx (0 = open/begin/commit) and say why. */
static int fail(const struct exec_opts *o, dbs_session *s, int idx, json_t *res, int rc)
{
    const dbs_error *e = dbs_error_last(s);
    char what[64];

    if (o->json) {
        if (res == NULL)
            res = idx > 0 ? json_pack("{s:i}", "statement", idx) : json_object();
        json_object_set_new(res, "error", dbs_tool_error_json(e));
        emit(o, res);
    } else {
        json_decref(res);
        if (idx > 0)
            snprintf(what, sizeof(what), "statement %d failed", idx);
        else
            snprintf(what, sizeof(what), "%s", s == NULL ? "cannot open session" : "failed");
        dbs_tool_error_print(what, e);
    }
    return dbs_tool_exit_status(rc);
}

int dbs_tool_exec(int argc, char **argv)
{
    struct exec_opts o;
    dbs_session *s = NULL;
    json_t *res = NULL;
    int rc, i, status = 0;

    if (parse_args(&o, argc, argv) < 0)
        return EXIT_USAGE;
    if ((rc = dbs_session_open(&s, o.url)) < 0)
        return fail(&o, NULL, 0, NULL, rc);
    if ((rc = dbs_session_begin(s)) < 0) {
        status = fail(&o, s, 0, NULL, rc);
        goto done;
    }
    for (i = 1; i <= o.n; i++) {
        if ((rc = run_one(s, &o, i, &res)) < 0) {
            status = fail(&o, s, i, res, rc);
            dbs_session_rollback(s);
            goto done;
        }
        emit(&o, res);
    }
    if ((rc = dbs_session_commit(s)) < 0) {
        status = fail(&o, s, 0, NULL, rc);
        if (dbs_session_depth(s) > 0)
            dbs_session_rollback(s);
    }
done:
    dbs_session_close(s);
    return status;
}
