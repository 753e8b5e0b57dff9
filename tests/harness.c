/* The test matrix and fixtures shared by every test program. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"
#include "testdb.h"

const char *dbs_test_url;
const char *dbs_test_backend;

static char sqlite_dir[64];
static char mariadb_url[1024];
static char sqlite_file[128];

struct matrix_entry {
    const char *name;
    const char *env;       /* NULL: URL computed here */
};

static const struct matrix_entry matrix[] = {
    { "sqlite", NULL },
    { "sqlite-memory", NULL },
    { "mariadb", "DBS_TEST_MARIADB_URL" },
    { "mariadb-tcp", "DBS_TEST_MARIADB_TCP_URL" },
};

static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return 1;
        p = strchr(p, ',');
        if (p != NULL)
            p++;
    }
    return 0;
}

int dbs_test_is_mariadb(void)
{
    return strncmp(dbs_test_backend, "mariadb", 7) == 0;
}

int dbs_test_says_duplicate(const char *msg)
{
    return strstr(msg, dbs_test_is_mariadb() ? "Duplicate entry '" : "UNIQUE constraint failed: ")
           != NULL;
}

int dbs_test_shared(void)
{
    return strcmp(dbs_test_backend, "sqlite-memory") != 0;
}

const char *dbs_test_id_column(void)
{
    return dbs_test_is_mariadb() ? "id BIGINT PRIMARY KEY AUTO_INCREMENT"
                                 : "id INTEGER PRIMARY KEY AUTOINCREMENT";
}

void dbs_test_assert_rc(int expected, int rc, dbs_session *s, const char *expr,
                        const char *file, int line)
{
    if (rc == expected)
        return;
    print_error("%s:%d: %s returned %d (%s), expected %d (%s): %s\n", file, line, expr, rc,
                dbs_status_name(rc), expected, dbs_status_name(expected),
                dbs_error_last(s)->message);
    _fail(file, line);
}

void dbs_test_exec(dbs_session *s, const char *sql)
{
    int rc = dbs_session_exec(s, sql);

    if (rc != DBS_OK) {
        print_error("exec failed (%s): %s\n  SQL: %s\n", dbs_status_name(rc),
                    dbs_error_last(s)->message, sql);
        fail();
    }
}

int64_t dbs_test_int(dbs_session *s, const char *sql)
{
    dbs_stmt *st = NULL;
    int64_t v = 0;

    assert_dbs_ok(dbs_stmt_prepare(&st, s, sql), s);
    assert_dbs_rc(DBS_ROW, dbs_stmt_step(st), s);
    assert_dbs_ok(dbs_stmt_column_int64(st, 0, &v), s);
    dbs_stmt_free(st);
    return v;
}

void dbs_test_make_t(dbs_session *s)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "CREATE TABLE t (%s, v INT NOT NULL UNIQUE)",
             dbs_test_id_column());
    dbs_test_exec(s, sql);
}

int dbs_test_insert_t(dbs_session *s, int v)
{
    char sql[64];

    snprintf(sql, sizeof(sql), "INSERT INTO t (v) VALUES (%d)", v);
    return dbs_session_exec(s, sql);
}

int64_t dbs_test_count_t(dbs_session *s)
{
    return dbs_test_int(s, "SELECT COUNT(*) FROM t");
}

void dbs_test_url_with(char *buf, size_t size, const char *opt)
{
    snprintf(buf, size, "%s%c%s", dbs_test_url, strchr(dbs_test_url, '?') ? '&' : '?', opt);
}

int dbs_test_scripted(dbs_session *s, void *payload)
{
    struct dbs_test_script *sc = payload;
    int rc;

    sc->calls++;
    sc->depth_seen = dbs_session_depth(s);
    if (sc->insert_base != 0 && (rc = dbs_test_insert_t(s, sc->insert_base + sc->calls)) < 0)
        return rc;
    return sc->calls <= sc->fail_until ? sc->fail_with : sc->ret;
}

int dbs_test_outer_calls_inner(dbs_session *s, void *payload)
{
    int rc;

    if ((rc = dbs_test_insert_t(s, 1)) < 0)
        return rc;
    if ((rc = dbs_txn_run(s, dbs_test_scripted, payload)) < 0)
        return rc;
    return dbs_test_insert_t(s, 2);
}

dbs_session *dbs_test_open(void)
{
    dbs_session *s = NULL;
    int rc = dbs_session_open(&s, dbs_test_url);

    if (rc != DBS_OK) {
        print_error("open %s failed: %s\n", dbs_test_backend, dbs_error_last(NULL)->message);
        fail();
    }
    return s;
}

/* Drop every table so each test starts from an empty database. */
static void drop_all_mariadb(dbs_session *s)
{
    dbs_stmt *st = NULL;
    char sql[512];
    const char *name;
    int rc;

    dbs_test_exec(s, "SET FOREIGN_KEY_CHECKS = 0");
    for (;;) {
        assert_dbs_ok(dbs_stmt_prepare(&st, s, "SELECT table_name FROM information_schema.tables"
                                       " WHERE table_schema = DATABASE() LIMIT 1"), s);
        rc = dbs_stmt_step(st);
        if (rc != DBS_ROW) {
            assert_dbs_rc(DBS_DONE, rc, s);
            dbs_stmt_free(st);
            break;
        }
        assert_dbs_ok(dbs_stmt_column_text(st, 0, &name, NULL), s);
        snprintf(sql, sizeof(sql), "DROP TABLE `%s`", name);
        dbs_stmt_free(st);
        dbs_test_exec(s, sql);
    }
    dbs_test_exec(s, "SET FOREIGN_KEY_CHECKS = 1");
}

int dbs_test_setup(void **state)
{
    dbs_session *s;

    if (strcmp(dbs_test_backend, "sqlite") == 0) {
        char path[160];
        unlink(sqlite_file);
        snprintf(path, sizeof(path), "%s-journal", sqlite_file);
        unlink(path);
        snprintf(path, sizeof(path), "%s-wal", sqlite_file);
        unlink(path);
    }
    s = dbs_test_open();
    if (dbs_test_is_mariadb())
        drop_all_mariadb(s);
    *state = s;
    return 0;
}

int dbs_test_teardown(void **state)
{
    dbs_session *s = *state;
    int rc = dbs_session_close(s);

    if (rc != DBS_OK) {
        print_error("teardown: dbs_session_close returned %s: %s\n", dbs_status_name(rc),
                    dbs_error_last(s)->message);
        return -1;
    }
    return 0;
}

static int run_group(const char *feature, const char *backend, const struct CMUnitTest *tests,
                     size_t n)
{
    struct CMUnitTest *copy = calloc(n, sizeof(*copy));
    char **names = calloc(n, sizeof(*names));
    char group[128];
    size_t i;
    int failed;

    if (copy == NULL || names == NULL)
        abort();
    for (i = 0; i < n; i++) {
        copy[i] = tests[i];
        if (asprintf(&names[i], "%s/%s", tests[i].name, backend) < 0)
            abort();
        copy[i].name = names[i];
    }
    snprintf(group, sizeof(group), "%s/%s", feature, backend);
    failed = _cmocka_run_group_tests(group, copy, n, NULL, NULL);
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(copy);
    return failed;
}

int dbs_test_main(const char *feature, const struct CMUnitTest *tests, size_t n)
{
    const char *only = getenv("DBS_TEST_BACKENDS");
    const char *require = getenv("DBS_TEST_REQUIRE");
    int failed = 0;
    size_t i;

    snprintf(sqlite_dir, sizeof(sqlite_dir), "/tmp/dbs-test.XXXXXX");
    if (mkdtemp(sqlite_dir) == NULL)
        return 99;
    snprintf(sqlite_file, sizeof(sqlite_file), "%s/test.db", sqlite_dir);
    for (i = 0; i < sizeof(matrix) / sizeof(*matrix); i++) {
        const char *url;
        char buf[200];

        if (only != NULL && *only != '\0' && !listed(only, matrix[i].name))
            continue;
        if (matrix[i].env == NULL) {
            snprintf(buf, sizeof(buf), "sqlite:%s",
                     strcmp(matrix[i].name, "sqlite") == 0 ? sqlite_file : ":memory:");
            url = buf;
        } else {
            url = getenv(matrix[i].env);
            if (!HAVE_MARIADB)
                url = NULL;     /* configured --without-mariadb */
            /* a database of its own (dbs_test_<feature>): make -j runs programs at once */
            if (url != NULL && *url != '\0') {
                if (dbs_test_own_database(url, feature, mariadb_url, sizeof(mariadb_url)) < 0) {
                    failed = 99;
                    break;
                }
                url = mariadb_url;
            }
        }
        if (url == NULL || *url == '\0') {
            if (require != NULL && listed(require, matrix[i].name)) {
                fprintf(stderr, "%s: backend %s is required (DBS_TEST_REQUIRE) but %s is not "
                        "set: failing\n", feature, matrix[i].name, matrix[i].env);
                failed = 99;
                break;
            }
            printf("%s/%s: skipped, %s\n", feature, matrix[i].name,
                   HAVE_MARIADB ? "no URL in the environment" : "built --without-mariadb");
            continue;
        }
        dbs_test_url = url;
        dbs_test_backend = matrix[i].name;
        failed += run_group(feature, matrix[i].name, tests, n);
    }
    unlink(sqlite_file);
    rmdir(sqlite_dir);
    return failed;
}
