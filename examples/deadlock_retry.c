/*
 * deadlock_retry: the seed lesson's "retry on deadlock" exercise.
 *
 * Two agents (threads, a session each) update the same two tasks of a
 * project in opposite orders. On MariaDB the first attempts deadlock: the
 * server rolls the victim back, and dbs_txn_run() rolls back its memory,
 * waits with exponential backoff plus jitter and runs its work again from
 * the start; both agents finish. On SQLite one writer at a time holds the
 * database, so the second agent waits for the first instead.
 *
 *   ./examples/deadlock_retry [URL]      (default sqlite:deadlock_retry.db)
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "dbsession.h"

/* Both agents hold their first lock before either asks for its second
 * (waiting at most a second: on SQLite the other one is still at BEGIN). */
struct meeting {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;
};

static void meet(struct meeting *m)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    pthread_mutex_lock(&m->mu);
    if (++m->arrived == 2)
        pthread_cond_broadcast(&m->cv);
    while (m->arrived < 2 && pthread_cond_timedwait(&m->cv, &m->mu, &until) == 0)
        ;
    pthread_mutex_unlock(&m->mu);
}

struct agent {
    const char *name;
    dbs_session *s;
    int64_t first, second;     /* task ids, updated in this order */
    struct meeting *meeting;
    int calls, attempts, rc;
};

static int bump(dbs_session *s, int64_t id)
{
    dbs_stmt *st = NULL;
    int rc;

    if ((rc = dbs_stmt_prepare(&st, s, "UPDATE tasks SET priority = priority + 1"
                                       " WHERE id = ?")) == DBS_OK
        && (rc = dbs_stmt_bind_int64(st, 1, id)) == DBS_OK)
        rc = dbs_stmt_step(st);
    dbs_stmt_free(st);
    return rc < 0 ? rc : DBS_OK;
}

/* The transaction's work. It may run several times: it keeps nothing between runs. */
static int reprioritise(dbs_session *s, void *payload)
{
    struct agent *a = payload;
    int rc;

    a->calls++;
    if ((rc = bump(s, a->first)) < 0)
        return rc;
    if (a->calls == 1)
        meet(a->meeting);
    return bump(s, a->second);   /* a deadlock comes back from here, unchanged */
}

/* Called before each retry's sleep: the place to log. */
static void log_retry(const dbs_txn_retry *r, void *payload)
{
    const struct agent *a = payload;

    printf("%s: attempt %d failed: %s (%s); retrying in %.1f ms\n", a->name, r->attempt,
           dbs_status_name(r->status), r->error->message, (double)r->delay_us / 1000.0);
}

static void *run_agent(void *arg)
{
    struct agent *a = arg;
    dbs_txn_options o;

    dbs_txn_options_init(&o);          /* 3 attempts, 10 ms doubling, jitter 0.5 */
    o.on_retry = log_retry;
    o.payload = a;
    a->rc = dbs_txn_run_opts(&a->attempts, a->s, &o, reprioritise, a);
    return NULL;
}

static int setup(dbs_session *s)
{
    int mariadb = strcmp(dbs_session_backend(s), "mariadb") == 0;
    int rc;

    /* the other examples' audit_log points at tasks: it goes first */
    if ((rc = dbs_session_exec(s, "DROP TABLE IF EXISTS audit_log")) < 0
        || (rc = dbs_session_exec(s, "DROP TABLE IF EXISTS tasks")) < 0
        || (rc = dbs_session_exec(s, mariadb
                ? "CREATE TABLE tasks (id BIGINT PRIMARY KEY, project_id BIGINT NOT NULL,"
                  " priority INT NOT NULL) ENGINE=InnoDB"
                : "CREATE TABLE tasks (id INTEGER PRIMARY KEY, project_id BIGINT NOT NULL,"
                  " priority INT NOT NULL)")) < 0)
        return rc;
    return dbs_session_exec(s, "INSERT INTO tasks VALUES (1, 7, 0), (2, 7, 0)");
}

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "sqlite:deadlock_retry.db";
    struct meeting m = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
    struct agent a = { "agent A", NULL, 1, 2, &m, 0, 0, 0 };
    struct agent b = { "agent B", NULL, 2, 1, &m, 0, 0, 0 };
    dbs_session *s = NULL;
    pthread_t ta, tb;
    int rc = DBS_OK;

    if (dbs_session_open(&s, url) < 0 || dbs_session_open(&a.s, url) < 0
        || dbs_session_open(&b.s, url) < 0) {
        fprintf(stderr, "open %s: %s\n", url, dbs_error_last(NULL)->message);
        rc = DBS_ECONNECTION;
        goto done;
    }
    if ((rc = setup(s)) < 0)
        goto done;
    pthread_create(&ta, NULL, run_agent, &a);
    pthread_create(&tb, NULL, run_agent, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    printf("%s: %s after %d attempt(s)\n", a.name, dbs_status_name(a.rc), a.attempts);
    printf("%s: %s after %d attempt(s)\n", b.name, dbs_status_name(b.rc), b.attempts);
    if (a.rc == DBS_OK && b.rc == DBS_OK) {
        dbs_stmt *st = NULL;
        int64_t sum = 0;
        if (dbs_stmt_prepare(&st, s, "SELECT SUM(priority) FROM tasks") == DBS_OK
            && dbs_stmt_step(st) == DBS_ROW)
            dbs_stmt_column_int64(st, 0, &sum);
        dbs_stmt_free(st);
        printf("both committed once each: the priorities sum to %lld (4 expected)\n",
               (long long)sum);
    }
    rc = a.rc < 0 ? a.rc : b.rc;
done:
    if (rc < 0)
        fprintf(stderr, "failed: %s\n", dbs_status_name(rc));
    dbs_session_close(a.s);
    dbs_session_close(b.s);
    dbs_session_close(s);
    return rc < 0;
}
