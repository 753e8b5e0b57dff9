/* dbs_txn_run retries: which kinds, how often, how long to wait, real conflicts. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

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

/* ---- what retries ---- */

static int insert_twice(dbs_session *s, void *payload)
{
    int rc;

    (*(int *)payload)++;
    if ((rc = dbs_test_insert_t(s, 1)) < 0)
        return rc;
    return dbs_test_insert_t(s, 1);
}

static void retry__unique_violation_is_not_retried(void **state)
{
    dbs_session *s = *state;
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int calls = 0, attempts = 0;

    dbs_test_make_t(s);
    fake_options(&o, &ft);
    o.max_attempts = 5;
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, insert_twice, &calls), DBS_EUNIQUE);
    assert_int_equal(dbs_error_last(s)->status, DBS_EUNIQUE);   /* kept through the rollback */
    assert_int_equal(calls, 1);
    assert_int_equal(attempts, 1);
    assert_int_equal(ft.n_delays, 0);
    assert_int_equal(dbs_test_count_t(s), 0);   /* the first insert went with the rollback */
}

static void retry__inner_deadlock_retries_only_the_outermost_call(void **state)
{
    dbs_session *s = *state;
    struct dbs_test_script inner = { .insert_base = 10, .fail_until = 1, .fail_with = DBS_EDEADLOCK };
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int attempts = 0;

    dbs_test_make_t(s);
    fake_options(&o, &ft);
    /* the inner call returns the deadlock unchanged; the outer one retries all */
    assert_dbs_ok(dbs_txn_run_opts(&attempts, s, &o, dbs_test_outer_calls_inner, &inner), s);
    assert_int_equal(attempts, 2);
    assert_int_equal(inner.calls, 2);
    assert_int_equal(ft.n_delays, 1);
    assert_int_equal(dbs_test_count_t(s), 3);                       /* 1, 12, 2: attempt 1 left nothing */
    assert_int_equal(dbs_test_int(s, "SELECT SUM(v) FROM t"), 1 + 12 + 2);
}

/* ---- memory: a retry starts from structs restored by the unit of work ---- */

struct counter {
    int64_t id;
    char *name;
    int64_t v;
};

static const dbs_field counter_fields[] = {
    DBS_FIELD_INT64(struct counter, id, "id", DBS_PK | DBS_AUTOINC),
    DBS_FIELD_TEXT(struct counter, name, "name", DBS_NOT_NULL),
    DBS_FIELD_INT64(struct counter, v, "v", DBS_NOT_NULL),
};
static const dbs_model counter_model = DBS_MODEL(struct counter, "counters", counter_fields);

struct uow_work {
    dbs_uow *u;
    struct counter *c;         /* persistent: bumped by each attempt */
    struct counter extra[3];   /* one new object per attempt */
    int calls;
};

static int bump_and_add(dbs_session *s, void *payload)
{
    struct uow_work *w = payload;
    int rc;

    (void)s;
    w->c->v += 10;
    w->extra[w->calls].name = (char *)"extra";
    w->extra[w->calls].v = w->calls;
    if ((rc = dbs_uow_add(w->u, &counter_model, &w->extra[w->calls++])) < 0
        || (rc = dbs_uow_flush(w->u)) < 0)
        return rc;
    return w->calls == 1 ? DBS_EDEADLOCK : DBS_OK;   /* the first attempt "deadlocks" */
}

static void retry__starts_from_restored_unit_of_work_memory(void **state)
{
    dbs_session *s = *state;
    const dbs_model *models[] = { &counter_model };
    struct counter c = { 0, (char *)"main", 1 };
    struct uow_work w = { 0 };
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int attempts = 0;

    assert_dbs_ok(dbs_model_create_all(s, models, 1), s);
    assert_dbs_ok(dbs_uow_new(&w.u, s), s);
    assert_dbs_ok(dbs_uow_add(w.u, &counter_model, &c), s);
    assert_dbs_ok(dbs_uow_commit(w.u), s);
    w.c = &c;
    fake_options(&o, &ft);
    assert_dbs_ok(dbs_txn_run_opts(&attempts, s, &o, bump_and_add, &w), s);
    assert_int_equal(attempts, 2);
    assert_int_equal(c.v, 11);                 /* 1 + 10 once: attempt 1's +10 was undone */
    assert_int_equal(w.extra[0].id, 0);        /* attempt 1's insert: rolled back out */
    assert_true(w.extra[1].id > 0);
    assert_int_equal(dbs_test_int(s, "SELECT v FROM counters WHERE name = 'main'"), 11);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM counters"), 2);
    dbs_uow_free(w.u);
}

/* ---- retries ---- */

static void retry__reruns_from_the_start_on_a_clean_database(void **state)
{
    dbs_session *s = *state;
    struct dbs_test_script sc = { .insert_base = 10, .fail_until = 2, .fail_with = DBS_EDEADLOCK };
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int attempts = 0;

    dbs_test_make_t(s);
    fake_options(&o, &ft);
    assert_dbs_ok(dbs_txn_run_opts(&attempts, s, &o, dbs_test_scripted, &sc), s);
    assert_int_equal(attempts, 3);
    assert_int_equal(sc.calls, 3);
    assert_int_equal(ft.retries_seen, 2);
    assert_int_equal(ft.last_attempt, 2);
    assert_int_equal(ft.last_status, DBS_EDEADLOCK);
    assert_int_equal(dbs_test_count_t(s), 1);
    assert_int_equal(dbs_test_int(s, "SELECT v FROM t"), 13);
}

static void retry__max_attempts_is_respected(void **state)
{
    dbs_session *s = *state;
    struct dbs_test_script sc = { .insert_base = 10, .fail_until = 99, .fail_with = DBS_EDEADLOCK };
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int attempts = 0;

    dbs_test_make_t(s);
    fake_options(&o, &ft);
    o.max_attempts = 4;
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, dbs_test_scripted, &sc), DBS_EDEADLOCK);
    assert_int_equal(attempts, 4);
    assert_int_equal(sc.calls, 4);
    assert_int_equal(ft.n_delays, 3);
    assert_int_equal(ft.retries_seen, 3);
    assert_int_equal(dbs_test_count_t(s), 0);
    /* the default is 3 */
    memset(&sc, 0, sizeof(sc));
    sc.fail_until = 99;
    sc.fail_with = DBS_EDEADLOCK;
    memset(&ft, 0, sizeof(ft));
    fake_options(&o, &ft);
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, dbs_test_scripted, &sc), DBS_EDEADLOCK);
    assert_int_equal(attempts, 3);
    assert_int_equal(ft.n_delays, 2);
    /* 1 = no retry */
    memset(&ft, 0, sizeof(ft));
    o.max_attempts = 1;
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, dbs_test_scripted, &sc), DBS_EDEADLOCK);
    assert_int_equal(attempts, 1);
    assert_int_equal(ft.n_delays, 0);
}

static void retry__commit_unknown_is_never_retried(void **state)
{
    dbs_session *s = *state;
    struct dbs_test_script sc = { .fail_until = 99, .fail_with = DBS_ECOMMITUNKNOWN };
    const int kinds[] = { DBS_ECOMMITUNKNOWN, DBS_ECONNECTION };
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int attempts = 0;

    fake_options(&o, &ft);
    o.retry_on = kinds;
    o.n_retry_on = 2;
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, dbs_test_scripted, &sc), DBS_ECOMMITUNKNOWN);
    assert_int_equal(attempts, 1);
    assert_int_equal(ft.n_delays, 0);
    /* the family listed does retry its other members */
    memset(&sc, 0, sizeof(sc));
    memset(&ft, 0, sizeof(ft));
    sc.fail_until = 1;
    sc.fail_with = DBS_ECONNECTION;
    assert_dbs_ok(dbs_txn_run_opts(&attempts, s, &o, dbs_test_scripted, &sc), s);
    assert_int_equal(attempts, 2);
}

static void retry__retry_on_names_the_kinds_that_retry(void **state)
{
    dbs_session *s = *state;
    const int kinds[] = { DBS_ECONSTRAINT };   /* a family: unique is a member */
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int calls = 0, attempts = 0;
    struct dbs_test_script sc = { .fail_until = 1, .fail_with = DBS_EDEADLOCK };

    dbs_test_make_t(s);
    assert_dbs_ok(dbs_test_insert_t(s, 1), s);
    fake_options(&o, &ft);
    o.retry_on = kinds;
    o.n_retry_on = 1;
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, insert_twice, &calls), DBS_EUNIQUE);
    assert_int_equal(attempts, 3);
    assert_int_equal(calls, 3);
    assert_int_equal(ft.last_status, DBS_EUNIQUE);
    /* a deadlock is not listed now: no retry */
    memset(&ft, 0, sizeof(ft));
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, dbs_test_scripted, &sc), DBS_EDEADLOCK);
    assert_int_equal(attempts, 1);
    assert_int_equal(dbs_test_count_t(s), 1);
}

static void retry__backoff_delays_stay_in_their_bounds(void **state)
{
    dbs_session *s = *state;
    struct dbs_test_script sc = { .fail_until = 99, .fail_with = DBS_EDEADLOCK };
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
        assert_int_equal(dbs_txn_run_opts(NULL, s, &o, dbs_test_scripted, &sc), DBS_EDEADLOCK);
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

static void retry__max_elapsed_stops_the_retries(void **state)
{
    dbs_session *s = *state;
    struct dbs_test_script sc = { .fail_until = 99, .fail_with = DBS_EDEADLOCK };
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    int attempts = 0;

    fake_options(&o, &ft);
    o.max_attempts = 10;
    o.jitter = 0.0;
    o.base_delay_us = 1000;
    o.max_elapsed_us = 3500;     /* sleeps 1000 + 2000 fit, + 4000 would not */
    assert_int_equal(dbs_txn_run_opts(&attempts, s, &o, dbs_test_scripted, &sc), DBS_EDEADLOCK);
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

static void retry__busy_writer_succeeds_after_the_other_commits(void **state)
{
    dbs_session *s = *state, *me = NULL, *writer;
    struct fake_time ft = { 0 };
    dbs_txn_options o;
    char url[600], why[1024];
    int attempts = 0, rc;

    dbs_test_make_t(s);
    if (!dbs_test_shared())
        skip();   /* one in-memory database per session: no second writer */
    assert_dbs_ok(dbs_test_insert_t(s, 1), s);
    writer = dbs_test_open();
    dbs_test_url_with(url, sizeof(url), dbs_test_is_mariadb() ? "lock_timeout=1" : "lock_timeout=0.05");
    assert_dbs_ok(dbs_session_open(&me, url), NULL);
    assert_dbs_ok(dbs_session_begin(writer), writer);
    dbs_test_exec(writer, "UPDATE t SET v = 10 WHERE id = 1");
    fake_options(&o, &ft);
    ft.commit_on_sleep = writer;
    rc = dbs_txn_run_opts(&attempts, me, &o, bump, NULL);
    snprintf(why, sizeof(why), "%s", dbs_error_last(me)->message);
    /* close both before asserting: a writer left holding its lock would hang the next test */
    assert_dbs_ok(dbs_session_close(writer), NULL);
    assert_dbs_ok(dbs_session_close(me), NULL);
    if (rc != DBS_OK)
        print_error("dbs_txn_run: %s: %s\n", dbs_status_name(rc), why);
    assert_int_equal(rc, DBS_OK);
    assert_null(ft.commit_on_sleep);
    assert_int_equal(attempts, 2);
    assert_int_equal(ft.retries_seen, 1);
    assert_int_equal(ft.last_status, DBS_ELOCKTIMEOUT);
    assert_int_equal(dbs_test_int(s, "SELECT v FROM t WHERE id = 1"), 11);
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

static void retry__deadlock_victim_succeeds_on_its_second_attempt_mariadb(void **state)
{
    dbs_session *s = *state;
    pthread_barrier_t barrier;
    struct side a = { 0 }, b = { 0 };
    pthread_t ta, tb;

    if (!dbs_test_is_mariadb())
        skip();   /* SQLite has one writer at a time: BEGIN IMMEDIATE never deadlocks */
    dbs_test_make_t(s);
    assert_dbs_ok(dbs_test_insert_t(s, 1), s);
    assert_dbs_ok(dbs_test_insert_t(s, 2), s);
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
        T(retry__unique_violation_is_not_retried),
        T(retry__inner_deadlock_retries_only_the_outermost_call),
        T(retry__starts_from_restored_unit_of_work_memory),
        T(retry__reruns_from_the_start_on_a_clean_database),
        T(retry__max_attempts_is_respected),
        T(retry__commit_unknown_is_never_retried),
        T(retry__retry_on_names_the_kinds_that_retry),
        T(retry__backoff_delays_stay_in_their_bounds),
        T(retry__max_elapsed_stops_the_retries),
        T(retry__busy_writer_succeeds_after_the_other_commits),
        T(retry__deadlock_victim_succeeds_on_its_second_attempt_mariadb),
    };

    return dbs_test_main("retry", tests, sizeof(tests) / sizeof(tests[0]));
}
