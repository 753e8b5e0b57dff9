/*
 * Benchmarks: dbsession beside the raw drivers, on the same schema and rows.
 *
 * Every figure is a ratio against the raw driver measured in the same run:
 * absolute times on a shared machine mean little. bench.c runs and reports;
 * raw_sqlite.c and raw_mariadb.c are the baselines written directly against
 * libsqlite3 and libmariadb; dbs_workloads.c does the same work through
 * dbsession (statements, unit of work, batch import, `dbs import`).
 */
#ifndef DBS_BENCH_H
#define DBS_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <dbsession.h>

/* ---- the rows ---- */

/* One row of `tasks`, as the unit of work tracks it. */
struct task {
    int64_t id;
    int64_t project_id;
    char *title;
    int done;
    double score;
};
extern const dbs_model bench_task_model;

/* Every BENCH_BAD_EVERY-th row of an import is bad (score < 0 breaks a CHECK). */
#define BENCH_BAD_EVERY 100
#define BENCH_TABLE "tasks"

/* Generated once per row count and shared by every workload. */
struct bench_data {
    size_t n;
    struct task *rows;       /* template rows: id 0, title into titles */
    char *titles;            /* arena of NUL-terminated titles */
    char (*text)[3][32];     /* import: project_id, done, score as text (title above) */
};

int bench_data_make(struct bench_data *d, size_t n);
void bench_data_free(struct bench_data *d);
/* 1 if import row i (0-based) is one of the bad ones */
int bench_row_bad(size_t i);
/* The score written for row i by imports; negative for the bad rows. */
double bench_import_score(const struct bench_data *d, size_t i, int with_bad);

/* ---- timings ---- */

double bench_now(void);

/* One pass of insert, update of one field, delete of every row; each phase in
 * its own transaction, commit included. */
struct cycle_times {
    double insert, update, del;
};

/* ---- setup (untimed; through dbsession) ---- */

/* Drop and create `tasks` (and the database on MariaDB). */
int bench_schema(const char *url, int mariadb);
/* Rows in `tasks`, or -1. */
long long bench_count(const char *url);
/* Insert row id 1 so that the classification loop has a key to collide with. */
int bench_seed_one(const char *url);

/* ---- raw SQLite (raw_sqlite.c) ---- */

int raw_sqlite_cycle(const char *path, const struct bench_data *d, struct cycle_times *t);
/* Insert every row with the import's scores; bad rows fail and are skipped. */
int raw_sqlite_insert(const char *path, const struct bench_data *d, int with_bad, double *t);
/* n INSERTs that fail with a duplicate key, reading sqlite3_extended_errcode. */
int raw_sqlite_classify(const char *path, size_t n, int in_txn, double *t);

/* ---- raw MariaDB (raw_mariadb.c; raw_mariadb_none.c without MariaDB) ---- */

extern const int bench_have_mariadb;

int raw_mdb_cycle(const char *url, const struct bench_data *d, struct cycle_times *t);
/* INSERT ... VALUES (..) x1000 RETURNING id; UPDATE and DELETE array-bound
 * (STMT_ATTR_ARRAY_SIZE) 1000 rows per execution. */
int raw_mdb_batched(const char *url, const struct bench_data *d, struct cycle_times *t);
int raw_mdb_insert(const char *url, const struct bench_data *d, int with_bad, double *t);
int raw_mdb_classify(const char *url, size_t n, int in_txn, double *t);

/* ---- dbsession (dbs_workloads.c) ---- */

int dbs_stmt_cycle(const char *url, const struct bench_data *d, struct cycle_times *t);
int dbs_uow_cycle(const char *url, const struct bench_data *d, struct cycle_times *t);
/* dbs_batch_new_insert() + dbs_batch_add_text() of every row as text */
int dbs_batch_import(const char *url, const struct bench_data *d, int with_bad, double *t);
/* `tool import URL tasks csv` as a child process */
int dbs_cli_import(const char *tool, const char *url, const char *csv, double *t);
int dbs_write_csv(const char *path, const struct bench_data *d, int with_bad);
int dbs_classify(const char *url, size_t n, int in_txn, double *t);

/* Memory of the unit of work, in a process that did nothing else. */
struct mem_result {
    double heap_per_obj;      /* heap in use after add + flush + commit, per object */
    double peak_heap_per_obj; /* heap in use after flush, before commit (undo records live) */
    double rss_per_obj;       /* VmHWM growth over the whole add + flush + commit */
    double residual_per_obj;  /* heap still in use after dbs_uow_expunge_all */
    size_t struct_size;
};
int dbs_uow_memory(const char *url, const struct bench_data *d, struct mem_result *m);

/* Print a failure of session s (or of the last session-less call) to stderr. */
void bench_dbs_error(const char *what, dbs_session *s, int rc);

#endif
