/* MariaDB test databases (tests/testdb.h). */
#include <stdio.h>
#include <string.h>

#include "dbsession.h"
#include "testdb.h"

int dbs_test_url_database(const char *url, const char *db, char *out, size_t size)
{
    const char *auth = strstr(url, "://"), *q = strchr(url, '?'), *slash;
    int n;

    if (auth == NULL || (slash = strchr(auth + 3, '/')) == NULL || (q != NULL && slash > q))
        return -1;
    n = snprintf(out, size, "%.*s/%s%s", (int)(slash - url), url, db, q != NULL ? q : "");
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

int dbs_test_own_database(const char *url, const char *feature, char *out, size_t size)
{
    dbs_session *s = NULL;
    char db[128], sql[256];
    int rc;

    snprintf(db, sizeof(db), "dbs_test_%s", feature);
    if (dbs_test_url_database(url, db, out, size) < 0) {
        fprintf(stderr, "%s: no database in %s\n", feature, url);
        return -1;
    }
    if (dbs_session_open(&s, url) != DBS_OK) {
        fprintf(stderr, "%s: cannot open %s: %s\n", feature, url, dbs_error_last(NULL)->message);
        return -1;
    }
    snprintf(sql, sizeof(sql), "CREATE DATABASE IF NOT EXISTS %s", db);
    if ((rc = dbs_session_exec(s, sql)) != DBS_OK)
        fprintf(stderr, "%s: %s: %s\n", feature, sql, dbs_error_last(s)->message);
    dbs_session_close(s);
    return rc == DBS_OK ? 0 : -1;
}
