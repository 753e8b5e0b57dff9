/*
 * quickstart: the seed lesson's central example in dbsession.
 *
 * A task and its audit row are written in one transaction; the task's id,
 * assigned by the database, is read before commit and used by the audit row.
 * A duplicate is then refused with a classified error, and rolled back.
 *
 *   ./examples/quickstart [URL]      (default sqlite:quickstart.db)
 */
#include <stdio.h>
#include <string.h>
#include "dbsession.h"

/* On failure keep the status and leave; dbs_error_last(s) tells the rest. */
#define CHECK(call)                 \
    do {                            \
        if ((rc = (call)) < 0)      \
            goto done;              \
    } while (0)

static int create_task_with_audit(dbs_session *s, const char *title, int64_t *id_out)
{
    dbs_stmt *st = NULL;
    int rc;

    CHECK(dbs_session_begin(s));
    CHECK(dbs_stmt_prepare(&st, s, "INSERT INTO tasks (title) VALUES (?)"));
    CHECK(dbs_stmt_bind_text(st, 1, title));
    CHECK(dbs_stmt_step(st));
    CHECK(dbs_stmt_last_insert_id(st, id_out));   /* known before commit */
    dbs_stmt_free(st);
    st = NULL;
    printf("Task ID (not yet committed): %lld\n", (long long)*id_out);

    CHECK(dbs_stmt_prepare(&st, s, "INSERT INTO audit_log (entity_type, entity_id, action)"
                                   " VALUES ('task', ?, 'created')"));
    CHECK(dbs_stmt_bind_int64(st, 1, *id_out));
    CHECK(dbs_stmt_step(st));
    CHECK(dbs_session_commit(s));
    printf("Transaction committed: Task %lld and audit log\n", (long long)*id_out);
done:
    dbs_stmt_free(st);
    if (rc < 0 && dbs_session_depth(s) > 0)
        dbs_session_rollback(s);       /* nothing of the pair is left behind */
    return rc;
}

/* DDL is the one place the engines' SQL differs here (AUTO_INCREMENT);
 * the unit of work's create_all will generate it from a model. */
static int create_schema(dbs_session *s)
{
    int mariadb = strcmp(dbs_session_backend(s), "mariadb") == 0;
    int rc;

    CHECK(dbs_session_exec(s, "DROP TABLE IF EXISTS audit_log"));
    CHECK(dbs_session_exec(s, "DROP TABLE IF EXISTS tasks"));
    CHECK(dbs_session_exec(s, mariadb
        ? "CREATE TABLE tasks (id BIGINT PRIMARY KEY AUTO_INCREMENT,"
          " title VARCHAR(200) NOT NULL UNIQUE)"
        : "CREATE TABLE tasks (id INTEGER PRIMARY KEY AUTOINCREMENT,"
          " title VARCHAR(200) NOT NULL UNIQUE)"));
    CHECK(dbs_session_exec(s, mariadb
        ? "CREATE TABLE audit_log (id BIGINT PRIMARY KEY AUTO_INCREMENT,"
          " entity_type VARCHAR(20) NOT NULL, entity_id BIGINT NOT NULL REFERENCES tasks (id),"
          " action VARCHAR(20) NOT NULL)"
        : "CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT,"
          " entity_type VARCHAR(20) NOT NULL, entity_id BIGINT NOT NULL REFERENCES tasks (id),"
          " action VARCHAR(20) NOT NULL)"));
done:
    return rc;
}

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "sqlite:quickstart.db";
    const dbs_error *e;
    dbs_session *s = NULL;
    int64_t id = 0;
    int rc;

    if ((rc = dbs_session_open(&s, url)) < 0) {
        fprintf(stderr, "open: %s\n", dbs_error_last(NULL)->message);
        return 1;
    }
    printf("Opened a %s session\n", dbs_session_backend(s));
    if ((rc = create_schema(s)) < 0)
        goto done;
    if ((rc = create_task_with_audit(s, "Write the quick start", &id)) < 0)
        goto done;

    /* The same title again: the unique key refuses it, classified, and the
     * rollback leaves neither the task nor its audit row behind. */
    rc = create_task_with_audit(s, "Write the quick start", &id);
    e = dbs_error_last(s);
    if (rc == DBS_EUNIQUE) {
        char why[256];
        dbs_error_describe(e, why, sizeof(why));
        printf("Refused as expected: %s -> 400 \"already exists\"\n", why);
        rc = DBS_OK;
    } else {
        fprintf(stderr, "expected a unique violation, got %s\n", dbs_status_name(rc));
        rc = DBS_ERROR;
    }
    {
        dbs_stmt *st = NULL;
        int64_t tasks = 0, audits = 0;
        CHECK(dbs_stmt_prepare(&st, s, "SELECT (SELECT COUNT(*) FROM tasks),"
                                       " (SELECT COUNT(*) FROM audit_log)"));
        if ((rc = dbs_stmt_step(st)) == DBS_ROW) {
            dbs_stmt_column_int64(st, 0, &tasks);
            dbs_stmt_column_int64(st, 1, &audits);
            rc = DBS_OK;
        }
        dbs_stmt_free(st);
        printf("In the database: %lld task(s), %lld audit row(s)\n", (long long)tasks,
               (long long)audits);
    }
done:
    if (rc < 0)
        fprintf(stderr, "failed: %s: %s\n", dbs_status_name(rc), dbs_error_last(s)->message);
    dbs_session_close(s);
    return rc < 0;
}
