/* Run a function in a transaction; retry the outermost one with backoff. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "dbsession/txn.h"
#include "session.h"

void dbs_txn_options_init(dbs_txn_options *o)
{
    if (o == NULL)
        return;
    memset(o, 0, sizeof(*o));
    o->version = DBS_TXN_OPTIONS_VERSION;
    o->max_attempts = 3;
    o->base_delay_us = 10000;
    o->max_delay_us = 1000000;
    o->jitter = 0.5;
}

static uint64_t real_clock(void *payload)
{
    struct timespec ts;

    (void)payload;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void real_sleep(uint64_t usec, void *payload)
{
    struct timespec ts;

    (void)payload;
    ts.tv_sec = (time_t)(usec / 1000000u);
    ts.tv_nsec = (long)(usec % 1000000u) * 1000;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int check_options(dbs_session *s, const dbs_txn_options *o)
{
    const char *why = NULL;

    if (o->version != DBS_TXN_OPTIONS_VERSION)
        why = "version is not DBS_TXN_OPTIONS_VERSION (use dbs_txn_options_init)";
    else if (o->max_attempts < 1)
        why = "max_attempts must be at least 1";
    else if (!(o->jitter >= 0.0 && o->jitter <= 1.0))
        why = "jitter must be between 0 and 1";
    else if (o->max_delay_us < o->base_delay_us)
        why = "max_delay_us is below base_delay_us";
    else if (o->n_retry_on < 0 || (o->n_retry_on > 0 && o->retry_on == NULL))
        why = "retry_on is NULL but n_retry_on is not 0";
    if (why != NULL)
        return dbs__err_set(&s->err, DBS_EMISUSE, "dbs_txn_run: bad options: %s", why);
    return DBS_OK;
}

/*
 * After fn returned: levels it opened and left open are its mistake. Roll
 * them back so the level we own can be closed, and say so.
 */
static int close_leaked(dbs_session *s, int level)
{
    int n = s->depth - level;

    while (s->depth > level)
        if (dbs_session_rollback(s) < 0 && s->state != DBS_TXN_BROKEN)
            break;
    return dbs__err_set(&s->err, DBS_EMISUSE, "dbs_txn_run: the function returned with %d "
                        "level(s) of its own still open; rolled back", n);
}

/* One attempt: begin, fn, commit or roll back. Returns the attempt's status. */
static int run_once(dbs_session *s, dbs_txn_fn fn, void *payload)
{
    unsigned refusals = s->guard_refusals;
    int level, rc;

    if ((rc = dbs_session_begin(s)) < 0)
        return rc;
    level = s->depth;
    if ((rc = dbs__session_guard_push(s)) < 0) {
        dbs_session_rollback(s);
        return rc;
    }
    rc = fn(s, payload);
    /* ours, wherever it is: a batch fn left open has its own above it */
    dbs__session_guard_remove(s, level);
    if (rc >= 0 && s->guard_refusals != refusals)
        /* fn tried to commit or roll back our level and went on as if it had */
        rc = dbs__err_set(&s->err, DBS_EMISUSE, "dbs_txn_run: the function tried to commit "
                          "or roll back the transaction it was given; rolled back");
    if (s->depth < level)   /* only a reconnect after a lost link can do this */
        return rc < 0 ? rc : dbs__err_set(&s->err, DBS_EMISUSE, "dbs_txn_run: the "
                                          "transaction was closed under the function");
    if (s->depth > level) {
        int misuse = close_leaked(s, level);
        rc = rc < 0 ? rc : misuse;
    }
    if (rc >= 0) {
        int crc = dbs_session_commit(s);
        if (crc == DBS_OK)
            return rc;
        rc = crc;
    }
    /* Keeps dbs_error_last(s): it still describes rc. */
    if (s->depth >= level)
        dbs_session_rollback(s);
    return rc;
}

static int should_retry(dbs_session *s, const dbs_txn_options *o, int rc)
{
    const dbs_error *e = dbs_error_last(s);
    int i;

    if (rc >= 0 || rc == DBS_ECOMMITUNKNOWN)
        return 0;
    if (o->retry_on != NULL) {
        for (i = 0; i < o->n_retry_on; i++)
            if (o->retry_on[i] == rc || o->retry_on[i] == dbs_status_family(rc))
                return 1;
        return 0;
    }
    /* A kind fn made up itself has no error object behind it: use its family. */
    return e->status == rc ? e->retryable : dbs_status_family(rc) == DBS_ETRANSIENT;
}

/* xorshift64*: jitter needs no quality, only thread safety and no global state. */
static double next_random(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;   /* 2^53 */
}

/* Delay before attempt `failed` + 1: capped doubling, minus up to jitter of it. */
static uint64_t backoff(const dbs_txn_options *o, int failed, uint64_t *rng)
{
    uint64_t d = o->base_delay_us;
    int i;

    for (i = 1; i < failed && d < o->max_delay_us; i++)
        d = d > UINT64_MAX / 2 ? UINT64_MAX : 2 * d;
    if (d > o->max_delay_us)
        d = o->max_delay_us;
    if (o->jitter > 0.0)
        d -= (uint64_t)floor((double)d * o->jitter * next_random(rng));
    return d;
}

/* The outermost transaction: attempts until success, a final kind or the limits. */
static int run_retrying(int *attempts, dbs_session *s, const dbs_txn_options *o,
                        dbs_txn_fn fn, void *payload)
{
    uint64_t (*now)(void *) = o->clock != NULL ? o->clock : real_clock;
    void (*nap)(uint64_t, void *) = o->sleep != NULL ? o->sleep : real_sleep;
    uint64_t start = now(o->payload), delay, rng;
    dbs_txn_retry info;
    int rc;

    rng = (start ^ (uint64_t)(uintptr_t)s) * 0x9E3779B97F4A7C15ULL | 1u;
    for (*attempts = 1;; ++*attempts) {
        rc = run_once(s, fn, payload);
        if (rc >= 0 || *attempts >= o->max_attempts || !should_retry(s, o, rc))
            return rc;
        delay = backoff(o, *attempts, &rng);
        if (o->max_elapsed_us > 0 && now(o->payload) - start + delay > o->max_elapsed_us)
            return rc;
        if (o->on_retry != NULL) {
            info.attempt = *attempts;
            info.status = rc;
            info.error = dbs_error_last(s);
            info.delay_us = delay;
            o->on_retry(&info, o->payload);
        }
        nap(delay, o->payload);
    }
}

int dbs_txn_run_opts(int *attempts_out, dbs_session *s, const dbs_txn_options *opts,
                     dbs_txn_fn fn, void *payload)
{
    dbs_txn_options defaults;
    int rc, attempts = 0;

    if (attempts_out != NULL)
        *attempts_out = 0;
    if (s == NULL)
        return dbs__err_set(dbs__err_thread(), DBS_EMISUSE, "dbs_txn_run: session is NULL");
    if (fn == NULL)
        return dbs__err_set(&s->err, DBS_EMISUSE, "dbs_txn_run: function is NULL");
    if (opts == NULL) {
        dbs_txn_options_init(&defaults);
        opts = &defaults;
    } else if ((rc = check_options(s, opts)) < 0) {
        return rc;
    }
    if (s->depth > 0) {
        /* Nested: a savepoint in the caller's transaction, never retried here. */
        attempts = 1;
        rc = run_once(s, fn, payload);
    } else {
        rc = run_retrying(&attempts, s, opts, fn, payload);
    }
    if (attempts_out != NULL)
        *attempts_out = attempts;
    return rc;
}

int dbs_txn_run(dbs_session *s, dbs_txn_fn fn, void *payload)
{
    return dbs_txn_run_opts(NULL, s, NULL, fn, payload);
}
