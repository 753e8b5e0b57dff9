/* The only file that knows which backends were compiled in. */
#include <string.h>

#include "config.h"
#include "backend.h"

extern const struct dbs_backend dbs__backend_sqlite;
#if HAVE_MARIADB
extern const struct dbs_backend dbs__backend_mariadb;
#endif

static const struct dbs_backend *const backends[] = {
    &dbs__backend_sqlite,
#if HAVE_MARIADB
    &dbs__backend_mariadb,
#endif
    NULL
};

/* Every scheme dbsession knows, compiled in or not. */
static const char *const known[] = { "sqlite", "mariadb", "mysql", NULL };

const struct dbs_backend *dbs__backend_find(const char *scheme)
{
    int i, j;

    for (i = 0; backends[i] != NULL; i++) {
        if (backends[i]->version < 1)
            continue;
        for (j = 0; backends[i]->schemes[j] != NULL; j++)
            if (strcmp(backends[i]->schemes[j], scheme) == 0)
                return backends[i];
    }
    return NULL;
}

int dbs__backend_known_missing(const char *scheme)
{
    int i;

    for (i = 0; known[i] != NULL; i++)
        if (strcmp(known[i], scheme) == 0)
            return dbs__backend_find(scheme) == NULL;
    return 0;
}
