/* The report: the table on stdout, the same as JSON. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

static struct line *grow(struct report *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        struct line *p = realloc(r->lines, cap * sizeof(*p));
        if (p == NULL)
            return NULL;
        r->lines = p;
        r->cap = cap;
    }
    memset(&r->lines[r->n], 0, sizeof(r->lines[0]));
    r->lines[r->n].bytes_per_obj = -1;
    return &r->lines[r->n++];
}

struct line *report_add(struct report *r, const char *workload, const char *backend,
                        size_t rows, double dbs, double ref, const char *ref_name,
                        struct target t)
{
    struct line *l = grow(r);

    if (l == NULL)
        return NULL;
    snprintf(l->workload, sizeof(l->workload), "%s", workload);
    snprintf(l->backend, sizeof(l->backend), "%s", backend);
    snprintf(l->ref_name, sizeof(l->ref_name), "%s", ref_name);
    l->rows = rows;
    l->dbs = dbs;
    l->ref = ref;
    l->target = t;
    return l;
}

struct line *report_skip(struct report *r, const char *workload, const char *backend,
                         const char *note)
{
    struct line *l = grow(r);

    if (l == NULL)
        return NULL;
    snprintf(l->workload, sizeof(l->workload), "%s", workload);
    snprintf(l->backend, sizeof(l->backend), "%s", backend);
    snprintf(l->note, sizeof(l->note), "%s", note);
    return l;
}

void report_free(struct report *r)
{
    free(r->lines);
    memset(r, 0, sizeof(*r));
}

static double ratio(const struct line *l)
{
    return l->ref > 0 ? l->dbs / l->ref : 0;
}

/* "yes"/"NO" for a line with a target, "" without */
static const char *verdict(const struct line *l)
{
    if (l->target.max <= 0 || l->note[0] != '\0')
        return "";
    return ratio(l) <= l->target.max ? "yes" : "NO";
}

static void cpu_model(char *buf, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];

    snprintf(buf, size, "unknown");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p != NULL) {
                p += strspn(p + 1, " \t") + 1;
                p[strcspn(p, "\n")] = '\0';
                snprintf(buf, size, "%s", p);
            }
            break;
        }
    if (f != NULL)
        fclose(f);
}

/* CPUs this process may run on (bench/run pins it to one) */
static int cpus_allowed(void)
{
    cpu_set_t set;

    return sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : -1;
}

static int sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#else
    return 0;
#endif
}

/* how bench/run placed the processes (DBS_BENCH_LAYOUT) */
static const char *layout(void)
{
    const char *l = getenv("DBS_BENCH_LAYOUT");

    return l != NULL && l[0] != '\0' ? l : "as the caller left it (not run by bench/run)";
}

void report_print(const struct report *r, FILE *f)
{
    static const char *const be[] = { "sqlite", "mariadb" };
    char cpu[256];
    size_t i;
    int k;

    cpu_model(cpu, sizeof(cpu));
    fprintf(f, "\ndbsession benchmarks: %zu rows, median of %d runs, %ld CPUs (%s), "
            "running on %d\n", r->rows, r->reps, sysconf(_SC_NPROCESSORS_ONLN), cpu,
            cpus_allowed());
    fprintf(f, "CPU layout: %s\n", layout());
    if (sanitized())
        fprintf(f, "WARNING: built with sanitizers: these figures say nothing; "
                   "configure without --enable-sanitizers\n");
    fprintf(f, "ratio = dbsession time / reference time (below 1: dbsession is faster)\n"
               "spread = (slowest - fastest run) / median, the worse side; over 25%%: noisy\n"
               "RSS/obj = peak RSS growth per tracked object, bytes\n\n");
    fprintf(f, "%-30s %-8s %8s %9s %9s %7s %6s  %-28s %7s  %-16s %s\n", "workload", "backend",
            "rows", "dbs s", "ref s", "ratio", "spread", "reference", "RSS/obj", "target", "met");
    for (i = 0; i < r->n; i++) {
        const struct line *l = &r->lines[i];
        char bpo[16] = "";
        if (l->note[0] != '\0') {
            fprintf(f, "%-30s %-8s %s\n", l->workload, l->backend, l->note);
            continue;
        }
        if (l->bytes_per_obj >= 0)
            snprintf(bpo, sizeof(bpo), "%.0f", l->bytes_per_obj);
        fprintf(f, "%-30s %-8s %8zu %9.4f %9.4f %7.3f %5.0f%%  %-28s %7s  %-16s %s\n",
                l->workload, l->backend, l->rows, l->dbs, l->ref, ratio(l), l->spread * 100,
                l->ref_name, bpo, l->target.text != NULL ? l->target.text : "", verdict(l));
    }
    for (k = 0; k < 2; k++) {
        const struct mem_result *m = &r->mem[k];
        if (!r->have_mem[k])
            continue;
        fprintf(f, "\nmemory, %s, %zu objects of %zu bytes (bytes per object, beyond the "
                "struct):\n  heap tracking after commit %.0f (target <= 400)   heap before commit "
                "%.0f   peak RSS growth %.0f\n  left in the heap after dbs_uow_expunge_all %.1f "
                "(driver caches, statements)\n", be[k], r->mem_rows[k], m->struct_size,
                m->heap_per_obj, m->peak_heap_per_obj, m->rss_per_obj, m->residual_per_obj);
    }
    if (r->n_scale > 0) {
        fprintf(f, "\nscaling, %s unit of work (microseconds per row; target: big/small "
                "<= 1.2):\n", r->scale_backend);
        fprintf(f, "  %-8s %9s %9s %9s %9s %7s   %9s %9s %7s\n", "phase", "rows", "dbs", "rows",
                "dbs", "ratio", "raw", "raw", "ratio");
        for (k = 0; k < r->n_scale; k++) {
            const struct scale_line *s = &r->scale[k];
            fprintf(f, "  %-8s %9zu %9.3f %9zu %9.3f %7.3f   %9.3f %9.3f %7.3f %s\n", s->phase,
                    s->small_rows, s->dbs_small * 1e6, s->big_rows, s->dbs_big * 1e6,
                    s->dbs_big / s->dbs_small, s->raw_small * 1e6, s->raw_big * 1e6,
                    s->raw_big / s->raw_small, s->dbs_big / s->dbs_small <= 1.2 ? "" : "(> 1.2)");
        }
    }
    fprintf(f, "\ntotal %.1f s\n", r->elapsed);
}

/* A JSON string of plain ASCII we wrote ourselves: escape the few specials. */
static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_lines(const struct report *r, FILE *f)
{
    size_t i;

    for (i = 0; i < r->n; i++) {
        const struct line *l = &r->lines[i];
        fprintf(f, "    {\"workload\": ");
        jstr(f, l->workload);
        fprintf(f, ", \"backend\": ");
        jstr(f, l->backend);
        if (l->note[0] != '\0') {
            fprintf(f, ", \"skipped\": ");
            jstr(f, l->note);
        } else {
            fprintf(f, ", \"rows\": %zu, \"dbs_seconds\": %.6f, \"ref_seconds\": %.6f, "
                    "\"ratio\": %.4f, \"spread\": %.3f, \"reference\": ", l->rows, l->dbs,
                    l->ref, ratio(l), l->spread);
            jstr(f, l->ref_name);
            if (l->bytes_per_obj >= 0)
                fprintf(f, ", \"peak_rss_bytes_per_object\": %.1f", l->bytes_per_obj);
            if (l->target.max > 0) {
                fprintf(f, ", \"target_max_ratio\": %.3f, \"target\": ", l->target.max);
                jstr(f, l->target.text);
                fprintf(f, ", \"met\": %s", ratio(l) <= l->target.max ? "true" : "false");
            }
        }
        fprintf(f, "}%s\n", i + 1 < r->n ? "," : "");
    }
}

int report_json(const struct report *r, const char *path)
{
    static const char *const be[] = { "sqlite", "mariadb" };
    FILE *f = fopen(path, "w");
    char cpu[256], date[64];
    time_t now = time(NULL);
    int k, first = 1;

    if (f == NULL)
        return -1;
    cpu_model(cpu, sizeof(cpu));
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
    fprintf(f, "{\n  \"date\": \"%s\",\n  \"machine\": {\"nproc\": %ld, \"cpus_used\": %d, "
            "\"cpu\": ", date, sysconf(_SC_NPROCESSORS_ONLN), cpus_allowed());
    jstr(f, cpu);
    fprintf(f, ", \"layout\": ");
    jstr(f, layout());
    fprintf(f, "},\n  \"rows\": %zu,\n  \"runs\": %d,\n  \"quick\": %s,\n  \"sanitizers\": %s,\n"
            "  \"ratio\": \"dbsession seconds / reference seconds\",\n  \"results\": [\n",
            r->rows, r->reps, r->quick ? "true" : "false", sanitized() ? "true" : "false");
    json_lines(r, f);
    fprintf(f, "  ],\n  \"memory\": {");
    for (k = 0; k < 2; k++) {
        const struct mem_result *m = &r->mem[k];
        if (!r->have_mem[k])
            continue;
        fprintf(f, "%s\n    \"%s\": {\"objects\": %zu, \"struct_bytes\": %zu, "
                "\"tracking_bytes_per_object\": %.1f, \"peak_heap_bytes_per_object\": %.1f, "
                "\"vmhwm_bytes_per_object\": %.1f, \"residual_after_expunge_all_per_object\": "
                "%.1f}", first ? "" : ",", be[k], r->mem_rows[k], m->struct_size,
                m->heap_per_obj, m->peak_heap_per_obj, m->rss_per_obj, m->residual_per_obj);
        first = 0;
    }
    fprintf(f, "\n  },\n  \"scaling\": [");
    for (k = 0; k < r->n_scale; k++) {
        const struct scale_line *s = &r->scale[k];
        fprintf(f, "%s\n    {\"backend\": \"%s\", \"phase\": \"%s\", \"small_rows\": %zu, "
                "\"big_rows\": %zu, \"dbs_us_per_row_small\": %.4f, \"dbs_us_per_row_big\": "
                "%.4f, \"dbs_ratio\": %.4f, \"raw_us_per_row_small\": %.4f, "
                "\"raw_us_per_row_big\": %.4f, \"raw_ratio\": %.4f}", k ? "," : "",
                r->scale_backend, s->phase, s->small_rows, s->big_rows, s->dbs_small * 1e6,
                s->dbs_big * 1e6, s->dbs_big / s->dbs_small, s->raw_small * 1e6,
                s->raw_big * 1e6, s->raw_big / s->raw_small);
    }
    fprintf(f, "\n  ],\n  \"total_seconds\": %.1f\n}\n", r->elapsed);
    return fclose(f) == 0 ? 0 : -1;
}
