/* Built instead of raw_mariadb.c under ./configure --without-mariadb. */
#include <stdio.h>

#include "bench.h"

const int bench_have_mariadb = 0;

static int missing(void)
{
    fprintf(stderr, "dbs-bench: MariaDB support is not compiled in\n");
    return -1;
}

int raw_mdb_cycle(const char *url, const struct bench_data *d, struct cycle_times *t)
{
    (void)url, (void)d, (void)t;
    return missing();
}

int raw_mdb_batched(const char *url, const struct bench_data *d, struct cycle_times *t)
{
    (void)url, (void)d, (void)t;
    return missing();
}

int raw_mdb_insert(const char *url, const struct bench_data *d, int with_bad, double *t)
{
    (void)url, (void)d, (void)with_bad, (void)t;
    return missing();
}

int raw_mdb_classify(const char *url, size_t n, int in_txn, double *t)
{
    (void)url, (void)n, (void)in_txn, (void)t;
    return missing();
}
