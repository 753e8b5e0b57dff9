/*
 * dbs-bench: dbsession side by side with the raw drivers.
 *
 *   dbs-bench [--quick] [--rows N] [--runs R] [--backend sqlite|mariadb|all]
 *             [--scale N] [--only GROUP,...] [--json FILE] [--tool PATH]
 *
 * Every workload runs R times (at least 3), raw and dbsession interleaved,
 * each on a fresh table; the median is reported as a ratio to the raw driver
 * measured in the same run. MariaDB comes from DBS_TEST_MARIADB_URL (bench/run
 * starts a private server when it is not set). See bench/RESULTS.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define MAX_RUNS 15
#define SMALL_ROWS 10000

enum slot {
    RAW_I, RAW_U, RAW_D, STMT_I, STMT_U, STMT_D, UOW_I, UOW_U, UOW_D, RET_I, ARR_U, ARR_D,
    RAWIMP_G, RAWIMP_B, BIMP_G, BIMP_B, CLI_G, CLI_B, CLS_RAW_A, CLS_DBS_A, CLS_RAW_T, CLS_DBS_T,
    N_SLOTS
};

struct opts {
    size_t rows, scale_rows;
    int runs, quick, sqlite, mariadb, verbose;
    const char *only, *json, *tool, *mariadb_url;
};

struct ctx {
    int mariadb;
    const char *name;
    char url[4300];           /* for dbsession */
    char path[4200];          /* SQLite file */
    char csv_good[4200], csv_bad[4200];
    const char *tool;
    char cli_note[96];        /* why `dbs import` is skipped, "" if it runs */
    size_t classify_rows;
    size_t classify_txn_rows;   /* in a transaction */
    double t[N_SLOTS][MAX_RUNS];
};

static const struct opts *O;

/* ---- running ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double s[MAX_RUNS];

    memcpy(s, v, (size_t)n * sizeof(*s));
    qsort(s, (size_t)n, sizeof(*s), cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static int wanted(const char *group)
{
    const char *p = O->only;
    size_t n = strlen(group);

    if (p == NULL)
        return 1;
    for (; (p = strstr(p, group)) != NULL; p += n)
        if ((p == O->only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return 1;
    return 0;
}

static void die(const char *what, const struct ctx *c)
{
    fprintf(stderr, "dbs-bench: %s on %s failed; stopping (the figures would be wrong)\n",
            what, c->name);
    exit(1);
}

static void fresh(const struct ctx *c)
{
    if (bench_schema(c->url, c->mariadb) < 0)
        die("creating the table", c);
}

static void cycle(struct ctx *c, const struct bench_data *d, int which, int run)
{
    struct cycle_times t = { 0, 0, 0 };
    int rc, base = which == 0 ? RAW_I : which == 1 ? STMT_I : which == 2 ? UOW_I : RET_I;

    fresh(c);
    if (which == 0)
        rc = c->mariadb ? raw_mdb_cycle(c->url, d, &t) : raw_sqlite_cycle(c->path, d, &t);
    else if (which == 1)
        rc = dbs_stmt_cycle(c->url, d, &t);
    else if (which == 2)
        rc = dbs_uow_cycle(c->url, d, &t);
    else
        rc = raw_mdb_batched(c->url, d, &t);
    if (rc < 0)
        die(which == 0 ? "raw cycle" : which == 1 ? "statement cycle"
            : which == 2 ? "unit of work cycle" : "raw batched cycle", c);
    c->t[base][run] = t.insert;
    c->t[base + 1][run] = t.update;
    c->t[base + 2][run] = t.del;
}

static void expect_rows(const struct ctx *c, size_t want, const char *what)
{
    long long n = bench_count(c->url);

    if (n != (long long)want) {
        fprintf(stderr, "dbs-bench: %s left %lld rows, not %zu\n", what, n, want);
        die(what, c);
    }
}

static size_t good_rows(size_t n, int with_bad)
{
    size_t i, bad = 0;

    for (i = 0; with_bad && i < n; i++)
        bad += bench_row_bad(i);
    return n - bad;
}

/* `dbs import` of the good or bad CSV; the first failure skips it for good. */
static void cli(struct ctx *c, const struct bench_data *d, int with_bad, int run)
{
    double t = 0;
    int st;

    if (c->cli_note[0] != '\0')
        return;
    fresh(c);
    st = dbs_cli_import(c->tool, c->url, with_bad ? c->csv_bad : c->csv_good, &t);
    /* 0: every row imported; 3: some rows reported bad (tools/dbs.h EXIT_PARTIAL) */
    if ((st != 0 && st != 3) || bench_count(c->url) != (long long)good_rows(d->n, with_bad)) {
        snprintf(c->cli_note, sizeof(c->cli_note), "skipped: `dbs import` exited %d, %lld "
                 "rows imported (see %s.log)", st, bench_count(c->url),
                 strrchr(with_bad ? c->csv_bad : c->csv_good, '/') + 1);
        return;
    }
    c->t[with_bad ? CLI_B : CLI_G][run] = t;
}

static void imports(struct ctx *c, const struct bench_data *d, int run)
{
    int bad;

    for (bad = 0; bad <= 1; bad++) {
        double t = 0;
        fresh(c);
        if ((c->mariadb ? raw_mdb_insert(c->url, d, bad, &t)
                        : raw_sqlite_insert(c->path, d, bad, &t)) < 0)
            die("raw insert", c);
        c->t[bad ? RAWIMP_B : RAWIMP_G][run] = t;
        fresh(c);
        if (dbs_batch_import(c->url, d, bad, &t) < 0)
            die("batch import", c);
        expect_rows(c, good_rows(d->n, bad), "batch import");
        c->t[bad ? BIMP_B : BIMP_G][run] = t;
        if (c->tool != NULL && wanted("cli"))
            cli(c, d, bad, run);
    }
}

static void classify_raw(struct ctx *c, int txn, int run)
{
    size_t n = txn ? c->classify_txn_rows : c->classify_rows;
    double t = 0;

    if ((c->mariadb ? raw_mdb_classify(c->url, n, txn, &t)
                    : raw_sqlite_classify(c->path, n, txn, &t)) < 0)
        die("raw classification loop", c);
    c->t[txn ? CLS_RAW_T : CLS_RAW_A][run] = t;
}

static void classify_dbs(struct ctx *c, int txn, int run)
{
    double t = 0;

    if (dbs_classify(c->url, txn ? c->classify_txn_rows : c->classify_rows, txn, &t) < 0)
        die("dbsession classification loop", c);
    c->t[txn ? CLS_DBS_T : CLS_DBS_A][run] = t;
}

/* Raw first on even runs, dbsession first on odd ones: whatever the server
 * still does after the table was created weighs on both sides alike. */
static void classify(struct ctx *c, int run)
{
    int txn;

    fresh(c);
    if (bench_seed_one(c->url) < 0)
        die("seed", c);
    for (txn = 0; txn <= 1; txn++) {
        if (run % 2 == 0) {
            classify_raw(c, txn, run);
            classify_dbs(c, txn, run);
        } else {
            classify_dbs(c, txn, run);
            classify_raw(c, txn, run);
        }
    }
}

/* ---- memory, in a fresh process that does nothing else ---- */

/* dbs-bench --memory-child URL ROWS: prints the mem_result as one line. */
static int memory_child(const char *url, const char *rows)
{
    struct bench_data d;
    struct mem_result m;

    if (bench_data_make(&d, strtoul(rows, NULL, 10)) < 0 || dbs_uow_memory(url, &d, &m) < 0)
        return 1;
    printf("%zu %.3f %.3f %.3f %.3f\n", m.struct_size, m.heap_per_obj, m.peak_heap_per_obj,
           m.rss_per_obj, m.residual_per_obj);
    bench_data_free(&d);
    return 0;
}

static int memory(const struct ctx *c, size_t rows, struct mem_result *m)
{
    char n[32], line[256];
    int fds[2], status = -1;
    FILE *f;
    pid_t pid;

    fresh(c);
    snprintf(n, sizeof(n), "%zu", rows);
    if (pipe(fds) < 0 || (pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        /* exec: a forked copy would reuse the heap this process freed */
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/proc/self/exe", "dbs-bench", "--memory-child", c->url, n, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    if ((f = fdopen(fds[0], "r")) != NULL && fgets(line, sizeof(line), f) != NULL
        && sscanf(line, "%zu %lf %lf %lf %lf", &m->struct_size, &m->heap_per_obj,
                  &m->peak_heap_per_obj, &m->rss_per_obj, &m->residual_per_obj) == 5)
        status = 0;
    if (f != NULL)
        fclose(f);
    else
        close(fds[0]);
    waitpid(pid, NULL, 0);
    return status;
}

/* ---- lines ---- */

#define T(max, text) ((struct target){ (max), (text) })
#define NONE T(0, NULL)
#define MED(s) median(c->t[s], O->runs)

static const char *const slot_names[N_SLOTS] = {
    "raw insert", "raw update", "raw delete", "stmt insert", "stmt update", "stmt delete",
    "uow insert", "uow update", "uow delete", "raw returning", "raw array update",
    "raw array delete", "raw import good", "raw import bad", "batch good", "batch bad",
    "cli good", "cli bad", "classify raw", "classify dbs", "classify raw txn",
    "classify dbs txn",
};

/* --verbose: every run's seconds, to see how much the median hides */
static void print_runs(const struct ctx *c)
{
    int k, run;

    for (k = 0; k < N_SLOTS; k++) {
        if (c->t[k][0] == 0)
            continue;
        fprintf(stderr, "   %-8s %-18s", c->name, slot_names[k]);
        for (run = 0; run < O->runs; run++)
            fprintf(stderr, " %9.4f", c->t[k][run]);
        fprintf(stderr, "\n");
    }
}

/* (slowest - fastest) / median of one slot's runs */
static double spread(const struct ctx *c, int s)
{
    double lo = c->t[s][0], hi = lo, m = MED(s);
    int run;

    for (run = 1; run < O->runs; run++) {
        lo = c->t[s][run] < lo ? c->t[s][run] : lo;
        hi = c->t[s][run] > hi ? c->t[s][run] : hi;
    }
    return m > 0 ? (hi - lo) / m : 0;
}

static struct line *add(struct report *r, const struct ctx *c, const char *w, size_t rows,
                        int dbs, int ref, const char *ref_name, struct target t)
{
    struct line *l = report_add(r, w, c->name, rows, MED(dbs), MED(ref), ref_name, t);

    if (l != NULL)
        l->spread = spread(c, dbs) > spread(c, ref) ? spread(c, dbs) : spread(c, ref);
    return l;
}

static void lines(struct report *r, const struct ctx *c, size_t n, const struct mem_result *m)
{
    struct line *l;

    if (wanted("cycle")) {
        add(r, c, "stmt insert", n, STMT_I, RAW_I, "raw per-row INSERT", NONE);
        add(r, c, "stmt update", n, STMT_U, RAW_U, "raw per-row UPDATE", NONE);
        add(r, c, "stmt delete", n, STMT_D, RAW_D, "raw per-row DELETE", NONE);
        l = add(r, c, "uow insert (add,flush,commit)", n, UOW_I, RAW_I, "raw per-row INSERT",
                c->mariadb ? T(0.1, ">= 10x faster") : T(1.3, "<= 1.3x raw"));
        if (l != NULL && m != NULL)
            l->bytes_per_obj = m->rss_per_obj;    /* peak RSS growth; the heap is below */
        if (c->mariadb && wanted("batched"))
            add(r, c, "uow insert (add,flush,commit)", n, UOW_I, RET_I,
                "raw INSERT..RETURNING x1000", T(1.3, "<= 1.3x raw"));
        add(r, c, "uow update (flush,commit)", n, UOW_U, RAW_U, "raw per-row UPDATE",
            c->mariadb ? T(0.2, ">= 5x faster") : NONE);
        if (c->mariadb && wanted("batched"))
            add(r, c, "uow update (flush,commit)", n, UOW_U, ARR_U, "raw array UPDATE x1000",
                NONE);
        add(r, c, "uow delete (flush,commit)", n, UOW_D, RAW_D, "raw per-row DELETE",
            c->mariadb ? T(0.25, ">= 4x faster") : NONE);
        if (c->mariadb && wanted("batched"))
            add(r, c, "uow delete (flush,commit)", n, UOW_D, ARR_D, "raw array DELETE x1000",
                NONE);
    }
    if (c->mariadb && wanted("batched")) {
        add(r, c, "raw INSERT..RETURNING x1000", n, RET_I, RAW_I, "raw per-row INSERT", NONE);
        add(r, c, "raw array UPDATE x1000", n, ARR_U, RAW_U, "raw per-row UPDATE", NONE);
        add(r, c, "raw array DELETE x1000", n, ARR_D, RAW_D, "raw per-row DELETE", NONE);
    }
    if (wanted("import")) {
        add(r, c, "batch import, all good", n, BIMP_G, RAWIMP_G, "raw INSERTs, one txn",
            T(1.5, "<= 1.5x raw"));
        add(r, c, "batch import, 1% bad", n, BIMP_B, BIMP_G, "batch import, all good",
            T(2.0, "<= 2x all good"));
        add(r, c, "batch import, 1% bad", n, BIMP_B, RAWIMP_B, "raw INSERTs, bad ones fail",
            NONE);
        if (c->tool == NULL || !wanted("cli"))
            report_skip(r, "dbs import", c->name, "skipped: no --tool given");
        else if (c->cli_note[0] != '\0')
            report_skip(r, "dbs import", c->name, c->cli_note);
        else {
            add(r, c, "dbs import, all good", n, CLI_G, RAWIMP_G, "raw INSERTs, one txn",
                T(1.5, "<= 1.5x raw"));
            add(r, c, "dbs import, 1% bad", n, CLI_B, CLI_G, "dbs import, all good",
                T(2.0, "<= 2x all good"));
        }
    }
    if (wanted("classify")) {
        add(r, c, "failing INSERT, autocommit", c->classify_rows, CLS_DBS_A, CLS_RAW_A,
            "raw, native code read", T(1.02, "< 2% overhead"));
        add(r, c, "failing INSERT, in a txn", c->classify_txn_rows, CLS_DBS_T, CLS_RAW_T,
            "raw, native code read", T(1.02, "< 2% overhead"));
    }
}

static void run_backend(struct ctx *c, const struct bench_data *d, struct report *r, int k)
{
    int run;

    fprintf(stderr, "== %s: %zu rows, %d runs\n", c->name, d->n, O->runs);
    if (c->tool != NULL && (dbs_write_csv(c->csv_good, d, 0) < 0
                            || dbs_write_csv(c->csv_bad, d, 1) < 0))
        die("writing the CSV files", c);
    for (run = 0; run < O->runs; run++) {
        fprintf(stderr, "   run %d/%d\n", run + 1, O->runs);
        if (wanted("cycle") && run % 2 == 0) {
            cycle(c, d, 0, run);
            cycle(c, d, 1, run);
            cycle(c, d, 2, run);
        } else if (wanted("cycle")) {
            cycle(c, d, 2, run);
            cycle(c, d, 1, run);
            cycle(c, d, 0, run);
        }
        if (c->mariadb && wanted("batched"))
            cycle(c, d, 3, run);
        if (wanted("import"))
            imports(c, d, run);
        if (wanted("classify"))
            classify(c, run);
    }
    if (wanted("memory")) {
        r->have_mem[k] = memory(c, d->n, &r->mem[k]) == 0;
        r->mem_rows[k] = d->n;
        if (!r->have_mem[k])
            fprintf(stderr, "dbs-bench: memory measurement on %s failed\n", c->name);
    }
    if (O->verbose)
        print_runs(c);
    lines(r, c, d->n, r->have_mem[k] ? &r->mem[k] : NULL);
}

/* Per-row times of the unit of work and the raw loop at SMALL_ROWS and at n.
 * The small runs are short enough for a disk flush at COMMIT to move them:
 * three times as many runs there. */
static void scaling(struct ctx *c, size_t n, struct report *r)
{
    static const char *const phase[3] = { "insert", "update", "delete" };
    struct bench_data d;
    size_t rows[2] = { SMALL_ROWS, n };
    int size, run, k, runs;

    fprintf(stderr, "== scaling on %s: %zu and %zu rows\n", c->name, rows[0], rows[1]);
    for (size = 0; size < 2; size++) {
        runs = size == 0 && O->runs * 3 <= MAX_RUNS ? O->runs * 3 : O->runs;
        if (bench_data_make(&d, rows[size]) < 0)
            die("generating rows", c);
        for (run = 0; run < runs; run++) {
            cycle(c, &d, 0, run);
            cycle(c, &d, 2, run);
        }
        for (k = 0; k < 3; k++) {
            struct scale_line *s = &r->scale[k];
            double dbs = median(c->t[UOW_I + k], runs) / (double)rows[size];
            double raw = median(c->t[RAW_I + k], runs) / (double)rows[size];
            snprintf(s->phase, sizeof(s->phase), "%s", phase[k]);
            if (size == 0) {
                s->small_rows = rows[0], s->dbs_small = dbs, s->raw_small = raw;
            } else {
                s->big_rows = rows[1], s->dbs_big = dbs, s->raw_big = raw;
            }
        }
        bench_data_free(&d);
    }
    r->n_scale = 3;
    r->scale_backend = c->name;
}

/* ---- setup ---- */

/* The bench database beside the one in url: .../dbs_bench?options */
static int mariadb_url(const char *url, char *out, size_t size)
{
    const char *auth = strstr(url, "://"), *q = strchr(url, '?'), *slash;
    dbs_session *s = NULL;
    int rc;

    if (auth == NULL || (slash = strchr(auth + 3, '/')) == NULL || (q != NULL && slash > q))
        return -1;
    snprintf(out, size, "%.*s/dbs_bench%s", (int)(slash - url), url, q != NULL ? q : "");
    if (dbs_session_open(&s, url) < 0) {
        bench_dbs_error("open MariaDB", NULL, DBS_ERROR);
        return -1;
    }
    if ((rc = dbs_session_exec(s, "CREATE DATABASE IF NOT EXISTS dbs_bench")) < 0)
        bench_dbs_error("CREATE DATABASE", s, rc);
    dbs_session_close(s);
    return rc < 0 ? -1 : 0;
}

static void drop_bench_database(const char *url)
{
    dbs_session *s = NULL;

    if (dbs_session_open(&s, url) == DBS_OK)
        dbs_session_exec(s, "DROP DATABASE IF EXISTS dbs_bench");
    dbs_session_close(s);
}

static void usage(FILE *f)
{
    fputs("usage: dbs-bench [--quick] [--rows N] [--runs R] [--backend sqlite|mariadb|all]\n"
          "                 [--scale N] [--only GROUP,...] [--json FILE] [--tool PATH]\n"
          "  --quick     10000 rows, no scaling run\n"
          "  --rows N    rows per workload (default 100000)\n"
          "  --runs R    runs per workload, median reported (default 3, at most 15)\n"
          "  --scale N   also the SQLite unit of work at 10000 and N rows (0: no)\n"
          "  --only      groups: cycle,batched,import,cli,classify,memory,scale\n"
          "  --json      where the results go (default bench/results.json)\n"
          "  --tool      the dbs tool, for `dbs import` (skipped without it)\n"
          "  --verbose   every run's time on stderr, not only the medians\n"
          "MariaDB comes from DBS_TEST_MARIADB_URL (or --mariadb-url URL).\n", f);
}

static int parse(int argc, char **argv, struct opts *o)
{
    const char *backend = "all";
    int i, scale_set = 0;

    memset(o, 0, sizeof(*o));
    o->rows = 100000;
    o->runs = 3;
    o->json = "bench/results.json";
    o->mariadb_url = getenv("DBS_TEST_MARIADB_URL");
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (strcmp(a, "--quick") == 0)
            o->quick = 1, o->rows = SMALL_ROWS, takes = 0;
        else if (strcmp(a, "--rows") == 0 && v != NULL)
            o->rows = strtoul(v, NULL, 10);
        else if (strcmp(a, "--runs") == 0 && v != NULL)
            o->runs = atoi(v);
        else if (strcmp(a, "--backend") == 0 && v != NULL)
            backend = v;
        else if (strcmp(a, "--scale") == 0 && v != NULL)
            o->scale_rows = strtoul(v, NULL, 10), scale_set = 1;
        else if (strcmp(a, "--only") == 0 && v != NULL)
            o->only = v;
        else if (strcmp(a, "--json") == 0 && v != NULL)
            o->json = v;
        else if (strcmp(a, "--tool") == 0 && v != NULL)
            o->tool = v;
        else if (strcmp(a, "--mariadb-url") == 0 && v != NULL)
            o->mariadb_url = v;
        else if (strcmp(a, "--verbose") == 0)
            o->verbose = 1, takes = 0;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout), 1;
        else
            return usage(stderr), -1;
        i += takes;
    }
    if (!scale_set && !o->quick)
        o->scale_rows = 1000000;
    o->sqlite = strcmp(backend, "all") == 0 || strcmp(backend, "sqlite") == 0;
    o->mariadb = strcmp(backend, "all") == 0 || strcmp(backend, "mariadb") == 0;
    if ((!o->sqlite && !o->mariadb) || o->rows < 100 || o->runs < 1 || o->runs > MAX_RUNS) {
        fprintf(stderr, "dbs-bench: bad --backend, --rows (>= 100) or --runs (1..%d)\n",
                MAX_RUNS);
        return -1;
    }
    if (o->runs < 3)
        fprintf(stderr, "dbs-bench: fewer than 3 runs: the medians are not worth much\n");
    return 0;
}

static void ctx_init(struct ctx *c, const char *dir, int mariadb)
{
    memset(c, 0, sizeof(*c));
    c->mariadb = mariadb;
    c->name = mariadb ? "mariadb" : "sqlite";
    c->tool = O->tool;
    snprintf(c->path, sizeof(c->path), "%s/bench.db", dir);
    snprintf(c->csv_good, sizeof(c->csv_good), "%s/%s-good.csv", dir, c->name);
    snprintf(c->csv_bad, sizeof(c->csv_bad), "%s/%s-bad.csv", dir, c->name);
    if (!mariadb)
        snprintf(c->url, sizeof(c->url), "sqlite://%s", c->path);
    /* a failing statement costs a server round trip: fewer of them on MariaDB
     * (--quick: 2,000, which keeps it under a minute with a cross-CPU trip) */
    c->classify_rows = O->rows;
    if (mariadb && c->classify_rows > (O->quick ? 2000u : 20000u))
        c->classify_rows = O->quick ? 2000 : 20000;
    /* SQLite fails in a transaction about five times faster than in
     * autocommit (no journal per statement): five times as many keep a
     * sample near a third of a second, above the timer's and the
     * scheduler's noise, for a target of 2 % */
    c->classify_txn_rows = mariadb ? c->classify_rows : 5 * c->classify_rows;
}

static void cleanup(const char *dir)
{
    static const char *const names[] = {
        "bench.db", "bench.db-journal", "sqlite-good.csv", "sqlite-bad.csv",
        "sqlite-good.csv.log", "sqlite-bad.csv.log", "mariadb-good.csv", "mariadb-bad.csv",
        "mariadb-good.csv.log", "mariadb-bad.csv.log",
    };
    char p[4200];
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(int argc, char **argv)
{
    static struct ctx c;
    struct opts o;
    struct report r;
    struct bench_data d;
    char dir[4096];
    const char *tmp = getenv("TMPDIR");
    double t0 = bench_now();
    int rc;

    if (argc == 4 && strcmp(argv[1], "--memory-child") == 0)
        return memory_child(argv[2], argv[3]);
    if ((rc = parse(argc, argv, &o)) != 0)
        return rc < 0 ? 2 : 0;
    O = &o;
    memset(&r, 0, sizeof(r));
    r.rows = o.rows;
    r.reps = o.runs;
    r.quick = o.quick;
    snprintf(dir, sizeof(dir), "%s/dbs-bench.XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL || bench_data_make(&d, o.rows) < 0) {
        perror("dbs-bench: setup");
        return 1;
    }
    if (o.sqlite) {
        ctx_init(&c, dir, 0);
        run_backend(&c, &d, &r, 0);
    }
    if (o.mariadb && !bench_have_mariadb) {
        report_skip(&r, "(all)", "mariadb", "skipped: built --without-mariadb");
    } else if (o.mariadb && o.mariadb_url == NULL) {
        report_skip(&r, "(all)", "mariadb", "skipped: DBS_TEST_MARIADB_URL is not set");
    } else if (o.mariadb) {
        ctx_init(&c, dir, 1);
        if (mariadb_url(o.mariadb_url, c.url, sizeof(c.url)) < 0)
            die("creating the dbs_bench database", &c);
        run_backend(&c, &d, &r, 1);
        drop_bench_database(o.mariadb_url);
    }
    bench_data_free(&d);
    if (o.sqlite && o.scale_rows > 0 && wanted("scale")) {
        ctx_init(&c, dir, 0);
        scaling(&c, o.scale_rows, &r);
    }
    cleanup(dir);
    r.elapsed = bench_now() - t0;
    report_print(&r, stdout);
    fflush(stdout);
    if (report_json(&r, o.json) < 0)
        fprintf(stderr, "dbs-bench: cannot write %s\n", o.json);
    else
        fprintf(stderr, "results written to %s\n", o.json);
    report_free(&r);
    return 0;
}
