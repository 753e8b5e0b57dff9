/* The clock, and the rows every workload writes (generated once per row count). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int bench_row_bad(size_t i)
{
    return i % BENCH_BAD_EVERY == BENCH_BAD_EVERY / 2;
}

double bench_import_score(const struct bench_data *d, size_t i, int with_bad)
{
    return with_bad && bench_row_bad(i) ? -1.0 : d->rows[i].score;
}

int bench_data_make(struct bench_data *d, size_t n)
{
    size_t i, used = 0, cap = n * 40 + 1;

    memset(d, 0, sizeof(*d));
    d->n = n;
    d->rows = calloc(n ? n : 1, sizeof(*d->rows));
    d->titles = malloc(cap);
    d->text = calloc(n ? n : 1, sizeof(*d->text));
    if (d->rows == NULL || d->titles == NULL || d->text == NULL)
        return -1;
    for (i = 0; i < n; i++) {
        struct task *t = &d->rows[i];
        t->project_id = 1 + (int64_t)(i % 100);
        t->title = d->titles + used;
        used += (size_t)snprintf(t->title, cap - used, "task %zu of the benchmark", i) + 1;
        t->done = 0;
        t->score = (double)(i % 1000) / 8.0;      /* exact in binary and in text */
        snprintf(d->text[i][0], sizeof(d->text[i][0]), "%lld", (long long)t->project_id);
        snprintf(d->text[i][1], sizeof(d->text[i][1]), "%d", t->done);
        snprintf(d->text[i][2], sizeof(d->text[i][2]), "%.17g", t->score);
    }
    return 0;
}

void bench_data_free(struct bench_data *d)
{
    free(d->rows);
    free(d->titles);
    free(d->text);
    memset(d, 0, sizeof(*d));
}
