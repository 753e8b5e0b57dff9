/* The benchmark's report: one line per workload and backend, as a table
 * on stdout and as JSON. */
#ifndef DBS_BENCH_REPORT_H
#define DBS_BENCH_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "bench.h"

/* A target on the ratio dbsession / reference: met when ratio <= max. */
struct target {
    double max;               /* 0 = no target, the line is for information */
    const char *text;         /* "<= 1.3x raw", ">= 10x faster" */
};

struct line {
    char workload[48];
    char backend[8];
    size_t rows;
    double dbs;               /* seconds, median */
    double ref;               /* seconds, median */
    char ref_name[48];
    double bytes_per_obj;     /* peak RSS growth per tracked object; < 0: not measured */
    struct target target;
    double spread;            /* (slowest - fastest) / median run, the worse of both sides */
    char note[96];            /* "skipped: ..." and the like; dbs/ref unset then */
};

struct scale_line {
    char phase[16];
    size_t small_rows, big_rows;
    double dbs_small, dbs_big;   /* seconds per row */
    double raw_small, raw_big;
};

struct report {
    struct line *lines;
    size_t n, cap;
    struct scale_line scale[3];
    int n_scale;
    const char *scale_backend;
    struct mem_result mem[2];    /* [0] sqlite, [1] mariadb */
    size_t mem_rows[2];
    int have_mem[2];
    size_t rows;
    int reps;
    int quick;
    double elapsed;
};

/* Append a line; returns it (or NULL out of memory). */
struct line *report_add(struct report *r, const char *workload, const char *backend,
                        size_t rows, double dbs, double ref, const char *ref_name,
                        struct target t);
struct line *report_skip(struct report *r, const char *workload, const char *backend,
                         const char *note);
void report_print(const struct report *r, FILE *f);
int report_json(const struct report *r, const char *path);
void report_free(struct report *r);

#endif
