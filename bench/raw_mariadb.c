/*
 * Raw MariaDB baselines over Connector/C's binary protocol.
 *
 * The connection gets what a dbsession session gets (backends/mariadb/
 * conn.c): utf8mb4, no reconnect, CLIENT_FOUND_ROWS, the unix socket when
 * the URL names one, and the same SET SESSION (strict sql_mode, InnoDB,
 * autocommit=1). Statements are prepared once; parameters are bound once to
 * buffers the loop refills, as a careful program does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "bench.h"

#define BATCH 1000

const int bench_have_mariadb = 1;

struct target {
    char *buf;                /* decoded parts live here */
    const char *user, *password, *host, *db, *socket;
    unsigned port;
};

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decode %XX in place over [p, end) and NUL-terminate; returns p. */
static char *decode(char *p, char *end)
{
    char *r = p, *w = p;

    while (r < end) {
        if (*r == '%' && r + 2 < end && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
            *w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return p;
}

/* mariadb://user:password@host:port/db?socket=/path (other options ignored) */
static int parse_url(const char *url, struct target *t)
{
    char *p, *at, *slash, *q, *colon, *end;

    memset(t, 0, sizeof(*t));
    if ((p = strstr(url, "://")) == NULL || (t->buf = strdup(p + 3)) == NULL)
        return -1;
    p = t->buf;
    end = p + strlen(p);
    if ((q = strchr(p, '?')) != NULL) {
        char *opt = q + 1;
        *q = '\0';
        end = q;
        while (opt != NULL && *opt != '\0') {
            char *amp = strchr(opt, '&');
            if (amp != NULL)
                *amp = '\0';
            if (strncmp(opt, "socket=", 7) == 0)
                t->socket = decode(opt + 7, opt + strlen(opt));
            opt = amp != NULL ? amp + 1 : NULL;
        }
    }
    if ((slash = strchr(p, '/')) != NULL) {
        t->db = decode(slash + 1, end);
        end = slash;
        *slash = '\0';
    }
    if ((at = strrchr(p, '@')) != NULL) {
        *at = '\0';
        if ((colon = strchr(p, ':')) != NULL)
            t->password = decode(colon + 1, at);
        t->user = decode(p, colon != NULL ? colon : at);
        p = at + 1;
    }
    if ((colon = strrchr(p, ':')) != NULL) {
        t->port = (unsigned)atoi(colon + 1);
        *colon = '\0';
    }
    t->host = *p != '\0' ? decode(p, p + strlen(p)) : "localhost";
    return 0;
}

static MYSQL *connect_db(const char *url)
{
    static const char session[] =
        "SET SESSION sql_mode='STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,"
        "NO_ENGINE_SUBSTITUTION,NO_AUTO_CREATE_USER', default_storage_engine=InnoDB, "
        "autocommit=1, lc_messages='en_US'";
    struct target t;
    my_bool off = 0;
    unsigned proto = MYSQL_PROTOCOL_SOCKET, timeout = 10;
    MYSQL *my = NULL;

    if (parse_url(url, &t) < 0 || (my = mysql_init(NULL)) == NULL)
        goto fail;
    mysql_optionsv(my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(my, MYSQL_OPT_RECONNECT, &off);
    mysql_optionsv(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (t.socket != NULL)
        mysql_optionsv(my, MYSQL_OPT_PROTOCOL, &proto);
    if (mysql_real_connect(my, t.host, t.user, t.password, t.db, t.port, t.socket,
                           CLIENT_FOUND_ROWS) == NULL
        || mysql_real_query(my, session, sizeof(session) - 1) != 0) {
        fprintf(stderr, "raw mariadb: connect: %s\n", mysql_error(my));
        goto fail;
    }
    free(t.buf);
    return my;
fail:
    if (my != NULL)
        mysql_close(my);
    free(t.buf);
    return NULL;
}

static int query(MYSQL *my, const char *sql)
{
    if (mysql_real_query(my, sql, strlen(sql)) == 0)
        return 0;
    fprintf(stderr, "raw mariadb: %s: %s\n", sql, mysql_error(my));
    return -1;
}

static MYSQL_STMT *prep(MYSQL *my, const char *sql)
{
    MYSQL_STMT *st = mysql_stmt_init(my);

    if (st != NULL && mysql_stmt_prepare(st, sql, strlen(sql)) == 0)
        return st;
    fprintf(stderr, "raw mariadb: prepare: %s\n", st ? mysql_stmt_error(st) : "nomem");
    if (st != NULL)
        mysql_stmt_close(st);
    return NULL;
}

static int stmt_fail(MYSQL_STMT *st, const char *what, size_t row)
{
    fprintf(stderr, "raw mariadb: %s, row %zu: %s\n", what, row, mysql_stmt_error(st));
    return -1;
}

static void bind_i64(MYSQL_BIND *b, void *p)
{
    memset(b, 0, sizeof(*b));
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = p;
}

/* The four values of one row, bound once; the loop refills them. */
struct row_buf {
    long long project_id, done;
    double score;
    char title[256];
    unsigned long title_len;
    MYSQL_BIND b[4];
};

static void row_bind(struct row_buf *r)
{
    memset(r->b, 0, sizeof(r->b));
    bind_i64(&r->b[0], &r->project_id);
    r->b[1].buffer_type = MYSQL_TYPE_STRING;
    r->b[1].buffer = r->title;
    r->b[1].buffer_length = sizeof(r->title);
    r->b[1].length = &r->title_len;
    bind_i64(&r->b[2], &r->done);
    r->b[3].buffer_type = MYSQL_TYPE_DOUBLE;
    r->b[3].buffer = &r->score;
}

static void row_fill(struct row_buf *r, const struct task *t, double score)
{
    size_t n = strlen(t->title);

    r->project_id = t->project_id;
    r->done = t->done;
    r->score = score;
    memcpy(r->title, t->title, n);
    r->title_len = (unsigned long)n;
}

static const char insert_sql[] =
    "INSERT INTO tasks (project_id, title, done, score) VALUES (?, ?, ?, ?)";

/* One prepared INSERT per row; ids from the OK packet. with_bad: the import's
 * scores, CHECK failures skipped (the statement is undone, the transaction
 * goes on). ids may be NULL. */
static int insert_rows(MYSQL *my, const struct bench_data *d, int with_bad, int64_t *ids)
{
    struct row_buf r;
    MYSQL_STMT *st = NULL;
    size_t i;
    int rc = -1;

    row_bind(&r);
    if (query(my, "START TRANSACTION") < 0 || (st = prep(my, insert_sql)) == NULL
        || mysql_stmt_bind_param(st, r.b) != 0)
        goto done;
    for (i = 0; i < d->n; i++) {
        row_fill(&r, &d->rows[i], bench_import_score(d, i, with_bad));
        if (mysql_stmt_execute(st) != 0) {
            if (with_bad && mysql_stmt_errno(st) == 4025)   /* CONSTRAINT_FAILED */
                continue;
            stmt_fail(st, "insert", i);
            goto done;
        }
        if (ids != NULL)
            ids[i] = (int64_t)mysql_stmt_insert_id(st);
    }
    rc = query(my, "COMMIT");
done:
    if (st != NULL)
        mysql_stmt_close(st);
    return rc;
}

/* UPDATE/DELETE per row over ids[], checking one row matched. */
static int per_row(MYSQL *my, const char *sql, const int64_t *ids, size_t n, int update)
{
    MYSQL_STMT *st = NULL;
    MYSQL_BIND b[2];
    long long done = 1, id = 0;
    size_t i;
    int rc = -1;

    bind_i64(&b[0], &done);
    bind_i64(&b[1], &id);
    if (query(my, "START TRANSACTION") < 0 || (st = prep(my, sql)) == NULL
        || mysql_stmt_bind_param(st, update ? b : b + 1) != 0)
        goto done;
    for (i = 0; i < n; i++) {
        id = ids[i];
        if (mysql_stmt_execute(st) != 0) {
            stmt_fail(st, sql, i);
            goto done;
        }
        if (mysql_stmt_affected_rows(st) != 1) {
            fprintf(stderr, "raw mariadb: %s matched %llu rows\n", sql,
                    (unsigned long long)mysql_stmt_affected_rows(st));
            goto done;
        }
    }
    rc = query(my, "COMMIT");
done:
    if (st != NULL)
        mysql_stmt_close(st);
    return rc;
}

int raw_mdb_cycle(const char *url, const struct bench_data *d, struct cycle_times *t)
{
    int64_t *ids = malloc(d->n * sizeof(*ids));
    MYSQL *my = connect_db(url);
    double t0;
    int rc = -1;

    if (ids == NULL || my == NULL)
        goto done;
    t0 = bench_now();
    if (insert_rows(my, d, 0, ids) < 0)
        goto done;
    t->insert = bench_now() - t0;
    t0 = bench_now();
    if (per_row(my, "UPDATE tasks SET done = ? WHERE id = ?", ids, d->n, 1) < 0)
        goto done;
    t->update = bench_now() - t0;
    t0 = bench_now();
    if (per_row(my, "DELETE FROM tasks WHERE id = ?", ids, d->n, 0) < 0)
        goto done;
    t->del = bench_now() - t0;
    rc = 0;
done:
    if (my != NULL)
        mysql_close(my);
    free(ids);
    return rc;
}

/* INSERT ... VALUES (?, ?, ?, ?) x k RETURNING id */
static MYSQL_STMT *prep_returning(MYSQL *my, size_t k)
{
    static const char row[] = "(?, ?, ?, ?)";
    size_t cap = sizeof(insert_sql) + k * (sizeof(row) + 2) + 32, i;
    char *sql = malloc(cap), *p = sql;
    MYSQL_STMT *st;

    if (sql == NULL)
        return NULL;
    p += sprintf(p, "INSERT INTO tasks (project_id, title, done, score) VALUES ");
    for (i = 0; i < k; i++)
        p += sprintf(p, "%s%s", i ? ", " : "", row);
    strcpy(p, " RETURNING id");
    st = prep(my, sql);
    free(sql);
    return st;
}

/* Rows [from, from + k) in one execution; their ids read back. */
static int returning_batch(MYSQL_STMT *st, MYSQL_BIND *b, unsigned long *lens,
                           const struct bench_data *d, size_t from, size_t k, int64_t *ids)
{
    MYSQL_BIND out;
    long long id = 0;
    size_t i, got = 0;

    memset(b, 0, 4 * k * sizeof(*b));
    for (i = 0; i < k; i++) {
        const struct task *t = &d->rows[from + i];
        MYSQL_BIND *r = &b[4 * i];
        r[0].buffer_type = MYSQL_TYPE_LONGLONG;
        r[0].buffer = (void *)&t->project_id;
        lens[i] = (unsigned long)strlen(t->title);
        r[1].buffer_type = MYSQL_TYPE_STRING;
        r[1].buffer = t->title;
        r[1].buffer_length = lens[i];
        r[1].length = &lens[i];
        r[2].buffer_type = MYSQL_TYPE_LONG;
        r[2].buffer = (void *)&t->done;
        r[3].buffer_type = MYSQL_TYPE_DOUBLE;
        r[3].buffer = (void *)&t->score;
    }
    bind_i64(&out, &id);
    if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0
        || mysql_stmt_store_result(st) != 0 || mysql_stmt_bind_result(st, &out) != 0)
        return stmt_fail(st, "insert returning", from);
    while (mysql_stmt_fetch(st) == 0 && got < k)
        ids[from + got++] = id;
    mysql_stmt_free_result(st);
    if (got != k) {
        fprintf(stderr, "raw mariadb: RETURNING gave %zu ids for %zu rows\n", got, k);
        return -1;
    }
    return 0;
}

static int insert_returning(MYSQL *my, const struct bench_data *d, int64_t *ids)
{
    MYSQL_BIND *b = malloc(4 * BATCH * sizeof(*b));
    unsigned long *lens = malloc(BATCH * sizeof(*lens));
    MYSQL_STMT *full = NULL, *tail = NULL;
    size_t i, k;
    int rc = -1;

    if (b == NULL || lens == NULL || query(my, "START TRANSACTION") < 0)
        goto done;
    for (i = 0; i < d->n; i += k) {
        MYSQL_STMT **st = &full;
        k = d->n - i < BATCH ? d->n - i : BATCH;
        if (k < BATCH)
            st = &tail;
        if (*st == NULL && (*st = prep_returning(my, k)) == NULL)
            goto done;
        if (returning_batch(*st, b, lens, d, i, k, ids) < 0)
            goto done;
    }
    rc = query(my, "COMMIT");
done:
    if (full != NULL)
        mysql_stmt_close(full);
    if (tail != NULL)
        mysql_stmt_close(tail);
    free(b);
    free(lens);
    return rc;
}

/* UPDATE or DELETE with array binding: up to BATCH rows per execution. The
 * keys are distinct, so a total of k rows matched means each matched one. */
static int array_rows(MYSQL *my, const char *sql, const int64_t *ids, size_t n, int update)
{
    long long *done = malloc(BATCH * sizeof(*done));
    MYSQL_STMT *st = NULL;
    MYSQL_BIND b[2];
    unsigned int size;
    size_t i, k;
    int rc = -1;

    if (done == NULL || query(my, "START TRANSACTION") < 0 || (st = prep(my, sql)) == NULL)
        goto done;
    for (i = 0; i < BATCH; i++)
        done[i] = 1;
    for (i = 0; i < n; i += k) {
        k = n - i < BATCH ? n - i : BATCH;
        size = (unsigned int)k;
        bind_i64(&b[0], done);
        bind_i64(&b[1], (void *)&ids[i]);
        if (mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &size) != 0
            || mysql_stmt_bind_param(st, update ? b : b + 1) != 0 || mysql_stmt_execute(st) != 0) {
            stmt_fail(st, sql, i);
            goto done;
        }
        if (mysql_stmt_affected_rows(st) != (my_ulonglong)k) {
            fprintf(stderr, "raw mariadb: array %s matched %llu of %zu rows\n", sql,
                    (unsigned long long)mysql_stmt_affected_rows(st), k);
            goto done;
        }
    }
    rc = query(my, "COMMIT");
done:
    if (st != NULL)
        mysql_stmt_close(st);
    free(done);
    return rc;
}

int raw_mdb_batched(const char *url, const struct bench_data *d, struct cycle_times *t)
{
    int64_t *ids = malloc(d->n * sizeof(*ids));
    MYSQL *my = connect_db(url);
    double t0;
    int rc = -1;

    if (ids == NULL || my == NULL)
        goto done;
    t0 = bench_now();
    if (insert_returning(my, d, ids) < 0)
        goto done;
    t->insert = bench_now() - t0;
    t0 = bench_now();
    if (array_rows(my, "UPDATE tasks SET done = ? WHERE id = ?", ids, d->n, 1) < 0)
        goto done;
    t->update = bench_now() - t0;
    t0 = bench_now();
    if (array_rows(my, "DELETE FROM tasks WHERE id = ?", ids, d->n, 0) < 0)
        goto done;
    t->del = bench_now() - t0;
    rc = 0;
done:
    if (my != NULL)
        mysql_close(my);
    free(ids);
    return rc;
}

int raw_mdb_insert(const char *url, const struct bench_data *d, int with_bad, double *t)
{
    MYSQL *my = connect_db(url);
    double t0 = bench_now();
    int rc = my != NULL ? insert_rows(my, d, with_bad, NULL) : -1;

    *t = bench_now() - t0;
    if (my != NULL)
        mysql_close(my);
    return rc;
}

int raw_mdb_classify(const char *url, size_t n, int in_txn, double *t)
{
    MYSQL *my = connect_db(url);
    MYSQL_STMT *st = NULL;
    MYSQL_BIND b;
    long long id = 1;
    size_t i, unique = 0;
    double t0;
    int rc = -1;

    if (my == NULL || (st = prep(my, "INSERT INTO tasks (id, project_id, title, done, score) "
                                 "VALUES (?, 1, 'duplicate', 0, 0)")) == NULL)
        goto done;
    bind_i64(&b, &id);
    if (mysql_stmt_bind_param(st, &b) != 0)
        goto done;
    t0 = bench_now();
    if (in_txn && query(my, "START TRANSACTION") < 0)
        goto done;
    for (i = 0; i < n; i++)
        if (mysql_stmt_execute(st) != 0)
            unique += mysql_stmt_errno(st) == 1062;   /* ER_DUP_ENTRY */
    if (in_txn && query(my, "ROLLBACK") < 0)
        goto done;
    *t = bench_now() - t0;
    if (unique != n) {
        fprintf(stderr, "raw mariadb: %zu of %zu inserts failed as duplicates\n", unique, n);
        goto done;
    }
    rc = 0;
done:
    if (st != NULL)
        mysql_stmt_close(st);
    if (my != NULL)
        mysql_close(my);
    return rc;
}
