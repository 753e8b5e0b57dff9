/* dbs_txn_run: commit/rollback around a function, nesting, misuse, retries, backoff. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static void make_table(dbs_session *s)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "CREATE TABLE t (%s, v INT NOT NULL UNIQUE)",
             dbs_test_id_column());
    dbs_test_exec(s, sql);
}

static int insert(dbs_session *s, int v)
{
    char sql[64];

    snprintf(sql, sizeof(sql), "INSERT INTO t (v) VALUES (%d)", v);
    return dbs_session_exec(s, sql);
}

static int64_t count(dbs_session *s)
{
    return dbs_test_int(s, "SELECT COUNT(*) FROM t");
}

/* URL of the backend under test with one more option. */
static void url_with(char *buf, size_t size, const char *opt)
{
    snprintf(buf, size, "%s%c%s", dbs_test_url, strchr(dbs_test_url, '?') ? '&' : '?', opt);
}

/* ---- a scripted function: what each call does ---- */

struct script {
    int calls;
    int insert_base;          /* each call inserts insert_base + calls (0 = nothing) */
    int fail_until;           /* calls 1..fail_until return fail_with */
    int fail_with;
    int ret;                  /* what the other calls return */
    int depth_seen;
};

static int scripted(dbs_session *s, void *payload)
{
    struct script *sc = payload;
    int rc;

    sc->calls++;
    sc->depth_seen = dbs_session_depth(s);
    if (sc->insert_base != 0 && (rc = insert(s, sc->insert_base + sc->calls)) < 0)
        return rc;
    return sc->calls <= sc->fail_until ? sc->fail_with : sc->ret;
}

/* ---- fake clock and sleep: delays are recorded, never waited ---- */

struct fake_time {
    uint64_t now;
    uint64_t delays[16];
    int n_delays;
    int retries_seen;
    int last_attempt;
    int last_status;
    uint64_t announced;             /* the delay on_retry was told */
    dbs_session *commit_on_sleep;   /* the other writer, committed at the first sleep */
};

static void fake_sleep(uint64_t usec, void *payload)
{
    struct fake_time *ft = payload;

    if (ft->retries_seen > 0)
        assert_int_equal(usec, ft->announced);   /* the hook is told the real delay */
    if (ft->n_delays < 16)
        ft->delays[ft->n_delays] = usec;
    ft->n_delays++;
    ft->now += usec;
    if (ft->commit_on_sleep != NULL) {
        assert_dbs_ok(dbs_session_commit(ft->commit_on_sleep), ft->commit_on_sleep);
        ft->commit_on_sleep = NULL;
    }
}

static uint64_t fake_clock(void *payload)
{
    return ((struct fake_time *)payload)->now;
}

static void on_retry(const dbs_txn_retry *info, void *payload)
{
    struct fake_time *ft = payload;

    ft->retries_seen++;
    ft->last_attempt = info->attempt;
    ft->last_status = info->status;
    ft->announced = info->delay_us;
    assert_int_equal(info->attempt, ft->n_delays + 1);   /* before its sleep */
    assert_non_null(info->error);
}

static void fake_options(dbs_txn_options *o, struct fake_time *ft)
{
    dbs_txn_options_init(o);
    o->sleep = fake_sleep;
    o->clock = fake_clock;
    o->on_retry = on_retry;
    o->payload = ft;
}

/* ---- commit and rollback ---- */

static void txnrun__commits_when_the_function_returns_ok(void **state)
{
    dbs_session *s = *state, *other;
    struct script sc = { .insert_base = 10, .ret = DBS_OK };
    int attempts = -1;

    make_table(s);
    assert_dbs_ok(dbs_txn_run_opts(&attempts, s, NULL, scripted, &sc), s);
    assert_int_equal(attempts, 1);
    assert_int_equal(sc.depth_seen, 1);
    assert_int_equal(dbs_session_depth(s), 0);
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
    if (!dbs_test_shared()) {
        assert_int_equal(count(s), 1);
        return;
    }
    other = dbs_test_open();
    assert_int_equal(dbs_test_int(other, "SELECT v FROM t"), 11);
    assert_dbs_ok(dbs_session_close(other), other);
}

static void txnrun__rolls_back_and_returns_the_error_unchanged(void **state)
{
    dbs_session *s = *state;
    struct script sc = { .insert_base = 10, .fail_until = 1, .fail_with = DBS_ECHECK };

    make_table(s);
    assert_int_equal(dbs_txn_run(s, scripted, &sc), DBS_ECHECK);
    assert_int_equal(sc.calls, 1);
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
    assert_int_equal(count(s), 0);
}

static int insert_twice(dbs_session *s, void *payload)
{
    int rc;

    (*(int *)payload)++;
    if ((rc = insert(s, 1)) < 0)
        return rc;
    return insert(s, 1);
}

static void txnrun__unique_violation_is_not_retried(void **state)
{
    dbs_session *s = *state;
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int calls = 0, attempts = 0;

    make_table(s);
    fake_options(&o, &ft);
    o.max_attempts = 5;
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, insert_twice, &calls), DBS_EUNIQUE);
    assert_int_equal(dbs_error_last(s)->status, DBS_EUNIQUE);   /* kept through the rollback */
    assert_int_equal(calls, 1);
    assert_int_equal(attempts, 1);
    assert_int_equal(ft.n_delays, 0);
    assert_int_equal(count(s), 0);   /* the first insert went with the rollback */
}

static void txnrun__positive_result_commits_and_is_returned(void **state)
{
    dbs_session *s = *state;
    struct script sc = { .insert_base = 20, .ret = 7 };

    make_table(s);
    assert_int_equal(dbs_txn_run(s, scripted, &sc), 7);
    assert_int_equal(count(s), 1);
}

/* ---- misuse: the function owns no commit ---- */

struct misuse {
    int verb_rc;
    int depth_after;
};

static int commits_itself(dbs_session *s, void *payload)
{
    struct misuse *m = payload;

    if (insert(s, 5) < 0)
        return DBS_ERROR;
    m->verb_rc = dbs_session_commit(s);
    m->depth_after = dbs_session_depth(s);
    return m->verb_rc;
}

static int rolls_back_itself(dbs_session *s, void *payload)
{
    struct misuse *m = payload;

    m->verb_rc = dbs_session_rollback(s);
    m->depth_after = dbs_session_depth(s);
    return m->verb_rc;
}

static void txnrun__commit_inside_the_function_is_misuse(void **state)
{
    dbs_session *s = *state;
    struct misuse m = { 0 };
    int attempts = 0;

    make_table(s);
    assert_int_equal(dbs_txn_run_opts(&attempts, s, NULL, commits_itself, &m), DBS_EMISUSE);
    assert_int_equal(m.verb_rc, DBS_EMISUSE);   /* at once, from the commit call */
    assert_int_equal(m.depth_after, 1);          /* nothing was committed */
    assert_int_equal(attempts, 1);
    assert_int_equal(dbs_session_depth(s), 0);
    assert_int_equal(count(s), 0);
    assert_int_equal(dbs_txn_run(s, rolls_back_itself, &m), DBS_EMISUSE);
    assert_int_equal(m.verb_rc, DBS_EMISUSE);
    assert_int_equal(m.depth_after, 1);
    assert_int_equal(dbs_session_state(s), DBS_TXN_IDLE);
}

static int leaves_a_savepoint_open(dbs_session *s, void *payload)
{
    int rc;

    if ((rc = dbs_session_begin(s)) < 0)
        return rc;
    return insert(s, 9);
}

static void txnrun__function_leaving_its_own_level_open_is_misuse(void **state)
{
    dbs_session *s = *state;

    make_table(s);
    assert_int_equal(dbs_txn_run(s, leaves_a_savepoint_open, NULL), DBS_EMISUSE);
    assert_int_equal(dbs_session_depth(s), 0);
    assert_int_equal(count(s), 0);
}

static void txnrun__null_arguments_and_bad_options_are_misuse(void **state)
{
    dbs_session *s = *state;
    struct script sc = { 0 };
    dbs_txn_options o;
    int attempts = 5;

    assert_int_equal(dbs_txn_run(NULL, scripted, &sc), DBS_EMISUSE);
    assert_int_equal(dbs_txn_run(s, NULL, &sc), DBS_EMISUSE);
    dbs_txn_options_init(&o);
    o.max_attempts = 0;
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, scripted, &sc), DBS_EMISUSE);
    assert_int_equal(attempts, 0);
    dbs_txn_options_init(&o);
    o.jitter = 1.5;
    assert_int_equal(dbs_txn_run_opts(NULL, s, &o, scripted, &sc), DBS_EMISUSE);
    dbs_txn_options_init(&o);
    o.max_delay_us = o.base_delay_us - 1;
    assert_int_equal(dbs_txn_run_opts(NULL, s, &o, scripted, &sc), DBS_EMISUSE);
    dbs_txn_options_init(&o);
    o.version = 99;
    assert_int_equal(dbs_txn_run_opts(NULL, s, &o, scripted, &sc), DBS_EMISUSE);
    assert_int_equal(sc.calls, 0);
    assert_int_equal(dbs_session_depth(s), 0);
}

/* ---- nesting: a savepoint in the caller's transaction ---- */

static void txnrun__inside_a_transaction_runs_in_a_savepoint(void **state)
{
    dbs_session *s = *state;
    struct script ok = { .insert_base = 100, .ret = DBS_OK };
    struct script bad = { .insert_base = 200, .fail_until = 9, .fail_with = DBS_ECHECK };

    make_table(s);
    assert_dbs_ok(dbs_session_begin(s), s);
    assert_dbs_ok(insert(s, 1), s);
    assert_dbs_ok(dbs_txn_run(s, scripted, &ok), s);
    assert_int_equal(ok.depth_seen, 2);
    assert_int_equal(dbs_session_depth(s), 1);          /* the outer one is not committed */
    assert_int_equal(dbs_txn_run(s, scripted, &bad), DBS_ECHECK);
    assert_int_equal(dbs_session_depth(s), 1);
    assert_int_equal(count(s), 2);                       /* 1 and 101; 201 rolled back */
    assert_dbs_ok(dbs_session_rollback(s), s);           /* the outer decides */
    assert_int_equal(count(s), 0);
}

static int outer_calls_inner(dbs_session *s, void *payload)
{
    struct script *inner = payload;
    int rc;

    if ((rc = insert(s, 1)) < 0)
        return rc;
    if ((rc = dbs_txn_run(s, scripted, inner)) < 0)
        return rc;
    return insert(s, 2);
}

static void txnrun__nested_service_functions_share_one_commit(void **state)
{
    dbs_session *s = *state;
    struct script inner = { .insert_base = 10, .ret = DBS_OK };
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int attempts = 0;

    make_table(s);
    assert_dbs_ok(dbs_txn_run(s, outer_calls_inner, &inner), s);
    assert_int_equal(inner.depth_seen, 2);
    assert_int_equal(count(s), 3);
    /* an inner deadlock goes up unchanged; only the outermost call retries */
    dbs_test_exec(s, "DELETE FROM t");
    memset(&inner, 0, sizeof(inner));
    inner.insert_base = 10;
    inner.fail_until = 1;
    inner.fail_with = DBS_EDEADLOCK;
    fake_options(&o, &ft);
    assert_dbs_ok(dbs_txn_run_opts(&attempts, s, &o, outer_calls_inner, &inner), s);
    assert_int_equal(attempts, 2);
    assert_int_equal(inner.calls, 2);
    assert_int_equal(ft.n_delays, 1);
    assert_int_equal(count(s), 3);                       /* 1, 12, 2: attempt 1 left nothing */
    assert_int_equal(dbs_test_int(s, "SELECT SUM(v) FROM t"), 1 + 12 + 2);
}

/* ---- retries ---- */

static void txnrun__retry_reruns_from_the_start_on_a_clean_database(void **state)
{
    dbs_session *s = *state;
    struct script sc = { .insert_base = 10, .fail_until = 2, .fail_with = DBS_EDEADLOCK };
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int attempts = 0;

    make_table(s);
    fake_options(&o, &ft);
    assert_dbs_ok(dbs_txn_run_opts(&attempts, s, &o, scripted, &sc), s);
    assert_int_equal(attempts, 3);
    assert_int_equal(sc.calls, 3);
    assert_int_equal(ft.retries_seen, 2);
    assert_int_equal(ft.last_attempt, 2);
    assert_int_equal(ft.last_status, DBS_EDEADLOCK);
    assert_int_equal(count(s), 1);
    assert_int_equal(dbs_test_int(s, "SELECT v FROM t"), 13);
}

static void txnrun__max_attempts_is_respected(void **state)
{
    dbs_session *s = *state;
    struct script sc = { .insert_base = 10, .fail_until = 99, .fail_with = DBS_EDEADLOCK };
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int attempts = 0;

    make_table(s);
    fake_options(&o, &ft);
    o.max_attempts = 4;
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, scripted, &sc), DBS_EDEADLOCK);
    assert_int_equal(attempts, 4);
    assert_int_equal(sc.calls, 4);
    assert_int_equal(ft.n_delays, 3);
    assert_int_equal(ft.retries_seen, 3);
    assert_int_equal(count(s), 0);
    /* the default is 3 */
    memset(&sc, 0, sizeof(sc));
    sc.fail_until = 99;
    sc.fail_with = DBS_EDEADLOCK;
    memset(&ft, 0, sizeof(ft));
    fake_options(&o, &ft);
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, scripted, &sc), DBS_EDEADLOCK);
    assert_int_equal(attempts, 3);
    assert_int_equal(ft.n_delays, 2);
    /* 1 = no retry */
    memset(&ft, 0, sizeof(ft));
    o.max_attempts = 1;
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, scripted, &sc), DBS_EDEADLOCK);
    assert_int_equal(attempts, 1);
    assert_int_equal(ft.n_delays, 0);
}

static void txnrun__commit_unknown_is_never_retried(void **state)
{
    dbs_session *s = *state;
    struct script sc = { .fail_until = 99, .fail_with = DBS_ECOMMITUNKNOWN };
    const int kinds[] = { DBS_ECOMMITUNKNOWN, DBS_ECONNECTION };
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int attempts = 0;

    fake_options(&o, &ft);
    o.retry_on = kinds;
    o.n_retry_on = 2;
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, scripted, &sc), DBS_ECOMMITUNKNOWN);
    assert_int_equal(attempts, 1);
    assert_int_equal(ft.n_delays, 0);
    /* the family listed does retry its other members */
    memset(&sc, 0, sizeof(sc));
    memset(&ft, 0, sizeof(ft));
    sc.fail_until = 1;
    sc.fail_with = DBS_ECONNECTION;
    assert_dbs_ok(dbs_txn_run_opts(&attempts, s, &o, scripted, &sc), s);
    assert_int_equal(attempts, 2);
}

static void txnrun__retry_on_lists_the_kinds_that_retry(void **state)
{
    dbs_session *s = *state;
    const int kinds[] = { DBS_ECONSTRAINT };   /* a family: unique is a member */
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int calls = 0, attempts = 0;
    struct script sc = { .fail_until = 1, .fail_with = DBS_EDEADLOCK };

    make_table(s);
    assert_dbs_ok(insert(s, 1), s);
    fake_options(&o, &ft);
    o.retry_on = kinds;
    o.n_retry_on = 1;
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, insert_twice, &calls), DBS_EUNIQUE);
    assert_int_equal(attempts, 3);
    assert_int_equal(calls, 3);
    assert_int_equal(ft.last_status, DBS_EUNIQUE);
    /* a deadlock is not listed now: no retry */
    memset(&ft, 0, sizeof(ft));
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, scripted, &sc), DBS_EDEADLOCK);
    assert_int_equal(attempts, 1);
    assert_int_equal(count(s), 1);
}

static void txnrun__backoff_delays_stay_in_their_bounds(void **state)
{
    dbs_session *s = *state;
    struct script sc = { .fail_until = 99, .fail_with = DBS_EDEADLOCK };
    const double jitters[] = { 0.0, 0.5, 1.0 };
    struct fake_time ft;
    dbs_txn_options o;
    uint64_t d;
    int j, i;

    for (j = 0; j < 3; j++) {
        memset(&ft, 0, sizeof(ft));
        ft.now = 1000 + (uint64_t)j * 7919;   /* a different jitter seed each time */
        fake_options(&o, &ft);
        o.max_attempts = 8;
        o.base_delay_us = 1000;
        o.max_delay_us = 20000;
        o.jitter = jitters[j];
        assert_int_equal(dbs_txn_run_opts(NULL, s, &o, scripted, &sc), DBS_EDEADLOCK);
        assert_int_equal(ft.n_delays, 7);
        for (i = 0; i < 7; i++) {
            d = 1000u << i;                    /* 1, 2, 4, 8, 16, then capped at 20 ms */
            if (d > 20000)
                d = 20000;
            assert_true(ft.delays[i] <= d);
            assert_true((double)ft.delays[i] >= (1.0 - o.jitter) * (double)d - 1.0);
            if (o.jitter == 0.0)
                assert_int_equal(ft.delays[i], d);
        }
    }
    assert_int_equal(dbs_session_depth(s), 0);
}

static void txnrun__max_elapsed_stops_the_retries(void **state)
{
    dbs_session *s = *state;
    struct script sc = { .fail_until = 99, .fail_with = DBS_EDEADLOCK };
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int attempts = 0;

    fake_options(&o, &ft);
    o.max_attempts = 10;
    o.jitter = 0.0;
    o.base_delay_us = 1000;
    o.max_elapsed_us = 3500;     /* sleeps 1000 + 2000 fit, + 4000 would not */
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, scripted, &sc), DBS_EDEADLOCK);
    assert_int_equal(attempts, 3);
    assert_int_equal(ft.n_delays, 2);
}

/*
 * A real busy writer: another session holds the write lock (SQLite) or the
 * row lock (MariaDB); our first attempt times out waiting (retryable), the
 * fake sleep commits the other session, the second attempt gets through.
 */
static int bump(dbs_session *s, void *payload)
{
    (void)payload;
    return dbs_session_exec(s, "UPDATE t SET v = v + 1 WHERE id = 1");
}

static void txnrun__busy_writer_succeeds_after_the_other_commits(void **state)
{
    dbs_session *s = *state, *me = NULL, *writer;
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    char url[600];
    int attempts = 0;

    make_table(s);
    if (!dbs_test_shared())
        skip();   /* one in-memory database per session: no second writer */
    assert_dbs_ok(insert(s, 1), s);
    writer = dbs_test_open();
    url_with(url, sizeof(url), dbs_test_is_mariadb() ? "lock_timeout=1" : "lock_timeout=0.05");
    assert_dbs_ok(dbs_session_open(&me, url), NULL);
    assert_dbs_ok(dbs_session_begin(writer), writer);
    dbs_test_exec(writer, "UPDATE t SET v = 10 WHERE id = 1");
    fake_options(&o, &ft);
    ft.commit_on_sleep = writer;
    assert_dbs_ok(dbs_txn_run_opts(&attempts, me, &o, bump, NULL), me);
    assert_int_equal(attempts, 2);
    assert_int_equal(ft.retries_seen, 1);
    assert_int_equal(ft.last_status, DBS_ELOCKTIMEOUT);
    assert_int_equal(dbs_test_int(s, "SELECT v FROM t WHERE id = 1"), 11);
    assert_dbs_ok(dbs_session_close(me), NULL);
    assert_dbs_ok(dbs_session_close(writer), NULL);
}

/* ---- a real deadlock: two sessions on two threads, both through dbs_txn_run ---- */

struct side {
    dbs_session *s;
    int first, second;          /* ids updated in this order */
    pthread_barrier_t *barrier;
    int calls;
    int attempts;
    int rc;
};

static int cross_update(dbs_session *s, void *payload)
{
    struct side *d = payload;
    char sql[80];
    int rc;

    d->calls++;
    snprintf(sql, sizeof(sql), "UPDATE t SET v = v + 100 WHERE id = %d", d->first);
    rc = dbs_session_exec(s, sql);
    if (d->calls == 1)
        pthread_barrier_wait(d->barrier);    /* both hold their first lock */
    if (rc < 0)
        return rc;
    snprintf(sql, sizeof(sql), "UPDATE t SET v = v + 100 WHERE id = %d", d->second);
    return dbs_session_exec(s, sql);
}

static void *run_side(void *arg)
{
    struct side *d = arg;
    dbs_txn_options o;

    dbs_txn_options_init(&o);
    o.base_delay_us = 1000;
    d->rc = dbs_txn_run_opts(&d->attempts, d->s, &o, cross_update, d);
    return NULL;
}

static void txnrun__deadlock_victim_succeeds_on_its_second_attempt_mariadb(void **state)
{
    dbs_session *s = *state;
    pthread_barrier_t barrier;
    struct side a = { 0 }, b = { 0 };
    pthread_t ta, tb;

    if (!dbs_test_is_mariadb())
        skip();   /* SQLite has one writer at a time: BEGIN IMMEDIATE never deadlocks */
    make_table(s);
    assert_dbs_ok(insert(s, 1), s);
    assert_dbs_ok(insert(s, 2), s);
    a.s = dbs_test_open();
    b.s = dbs_test_open();
    pthread_barrier_init(&barrier, NULL, 2);
    a.barrier = b.barrier = &barrier;
    a.first = b.second = 1;
    a.second = b.first = 2;
    pthread_create(&ta, NULL, run_side, &a);
    pthread_create(&tb, NULL, run_side, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&barrier);
    assert_dbs_ok(a.rc, a.s);
    assert_dbs_ok(b.rc, b.s);
    /* one side went through at once, the victim on its second attempt */
    assert_true((a.attempts == 1 && b.attempts == 2) || (a.attempts == 2 && b.attempts == 1));
    assert_int_equal(a.calls, a.attempts);
    assert_int_equal(b.calls, b.attempts);
    /* both transactions' updates, each once */
    assert_int_equal(dbs_test_int(s, "SELECT v FROM t WHERE id = 1"), 1 + 200);
    assert_int_equal(dbs_test_int(s, "SELECT v FROM t WHERE id = 2"), 2 + 200);
    assert_dbs_ok(dbs_session_close(a.s), NULL);
    assert_dbs_ok(dbs_session_close(b.s), NULL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, dbs_test_setup, dbs_test_teardown)
    const struct CMUnitTest tests[] = {
        T(txnrun__commits_when_the_function_returns_ok),
        T(txnrun__rolls_back_and_returns_the_error_unchanged),
        T(txnrun__unique_violation_is_not_retried),
        T(txnrun__positive_result_commits_and_is_returned),
        T(txnrun__commit_inside_the_function_is_misuse),
        T(txnrun__function_leaving_its_own_level_open_is_misuse),
        T(txnrun__null_arguments_and_bad_options_are_misuse),
        T(txnrun__inside_a_transaction_runs_in_a_savepoint),
        T(txnrun__nested_service_functions_share_one_commit),
        T(txnrun__retry_reruns_from_the_start_on_a_clean_database),
        T(txnrun__max_attempts_is_respected),
        T(txnrun__commit_unknown_is_never_retried),
        T(txnrun__retry_on_lists_the_kinds_that_retry),
        T(txnrun__backoff_delays_stay_in_their_bounds),
        T(txnrun__max_elapsed_stops_the_retries),
        T(txnrun__busy_writer_succeeds_after_the_other_commits),
        T(txnrun__deadlock_victim_succeeds_on_its_second_attempt_mariadb),
    };

    return dbs_test_main("txnrun", tests, sizeof(tests) / sizeof(tests[0]));
}
