/*
 * MariaDB test databases, without cmocka (test_nomem links no test framework).
 */
#ifndef DBS_TEST_TESTDB_H
#define DBS_TEST_TESTDB_H

#include <stddef.h>

/* url with its database replaced by db (the query kept) into out: 0, or -1
 * when url has no database part or out is too small. */
int dbs_test_url_database(const char *url, const char *db, char *out, size_t size);

/* The database dbs_test_<feature> made on url's server (CREATE DATABASE IF
 * NOT EXISTS, so that programs run in parallel never drop each other's
 * tables) and its URL into out: 0, or -1 (the reason on stderr). */
int dbs_test_own_database(const char *url, const char *feature, char *out, size_t size);

#endif
