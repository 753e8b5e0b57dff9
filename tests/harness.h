/*
 * Test matrix: every cmocka program runs its tests once per backend
 * (sqlite file, sqlite memory, mariadb over the socket, mariadb over TCP),
 * each test named "<feature>__<behaviour>/<backend>".
 */
#ifndef DBS_TEST_HARNESS_H
#define DBS_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dbsession.h"

extern const char *dbs_test_url;      /* URL of the backend under test */
extern const char *dbs_test_backend;  /* "sqlite", "sqlite-memory", "mariadb", "mariadb-tcp" */

/* 1 on MariaDB backends: for the few statements whose SQL differs. */
int dbs_test_is_mariadb(void);
/* 1 when a second session sees the same database (not sqlite-memory). */
int dbs_test_shared(void);

/* Run tests once per backend of the matrix; returns the failure count, or 99
 * when a backend named in DBS_TEST_REQUIRE has no URL. */
int dbs_test_main(const char *feature, const struct CMUnitTest *tests, size_t n);

/* Fixture: *state = a fresh session on an empty database. */
int dbs_test_setup(void **state);
/* Fixture: asserts dbs_session_close() == DBS_OK. */
int dbs_test_teardown(void **state);

/* A second session to the same database (call only when dbs_test_shared()). */
dbs_session *dbs_test_open(void);

/* 1 if msg is the engine's own text for a duplicate key (not, say, the
 * text of a later call's state). */
int dbs_test_says_duplicate(const char *msg);

/* Column definition of an auto-generated integer primary key named id. */
const char *dbs_test_id_column(void);

/* Run SQL, fail the test (printing the error) unless it succeeds. */
void dbs_test_exec(dbs_session *s, const char *sql);
/* First column of the first row as an integer (e.g. SELECT COUNT(*)). */
int64_t dbs_test_int(dbs_session *s, const char *sql);

/* The table most transaction tests use: t(id generated, v INT NOT NULL UNIQUE). */
void dbs_test_make_t(dbs_session *s);
/* INSERT INTO t (v) VALUES (v): the status, for tests that expect failures. */
int dbs_test_insert_t(dbs_session *s, int v);
int64_t dbs_test_count_t(dbs_session *s);
/* The URL of the backend under test with one more query option. */
void dbs_test_url_with(char *buf, size_t size, const char *opt);

/* A function for dbs_txn_run whose calls follow a script. */
struct dbs_test_script {
    int calls;
    int insert_base;          /* each call inserts insert_base + calls (0 = nothing) */
    int fail_until;           /* calls 1..fail_until return fail_with */
    int fail_with;
    int ret;                  /* what the other calls return */
    int depth_seen;
};
int dbs_test_scripted(dbs_session *s, void *payload);
/* A service function that inserts 1, runs payload (a script) in a nested
 * dbs_txn_run, then inserts 2. */
int dbs_test_outer_calls_inner(dbs_session *s, void *payload);

void dbs_test_assert_rc(int expected, int rc, dbs_session *s, const char *expr,
                        const char *file, int line);
#define assert_dbs_rc(expected, rc, s) \
    dbs_test_assert_rc((expected), (rc), (s), #rc, __FILE__, __LINE__)
#define assert_dbs_ok(rc, s) assert_dbs_rc(DBS_OK, (rc), (s))

#endif
