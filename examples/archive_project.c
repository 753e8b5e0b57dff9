/*
 * archive_project: the seed lesson's "atomic bulk update" exercise.
 *
 * Every task of a project is archived by one UPDATE, and one audit row
 * records the bulk action; both happen in one transaction run by
 * dbs_txn_run(): if the audit insert fails, no task stays archived.
 *
 *   ./examples/archive_project [URL]      (default sqlite:archive_project.db)
 */
#include <stdio.h>
#include <string.h>
#include "dbsession.h"

#define CHECK(call)                 \
    do {                            \
        if ((rc = (call)) < 0)      \
            goto done;              \
    } while (0)

struct archive {
    int64_t project_id;
    const char *actor;        /* NULL: the audit row is refused (actor is NOT NULL) */
    int64_t archived;         /* out: tasks archived */
};

/* The work, all or nothing: dbs_txn_run commits it on DBS_OK, else rolls back. */
static int archive_project(dbs_session *s, void *payload)
{
    struct archive *a = payload;
    char detail[64];
    dbs_stmt *st = NULL;
    int rc;

    CHECK(dbs_stmt_prepare(&st, s, "UPDATE tasks SET status = 'archived'"
                                   " WHERE project_id = ? AND status <> 'archived'"));
    CHECK(dbs_stmt_bind_int64(st, 1, a->project_id));
    CHECK(dbs_stmt_step(st));
    CHECK(dbs_stmt_rows_affected(st, &a->archived));
    dbs_stmt_free(st);
    st = NULL;

    snprintf(detail, sizeof(detail), "%lld task(s) archived", (long long)a->archived);
    CHECK(dbs_stmt_prepare(&st, s, "INSERT INTO audit_log (entity_type, entity_id, action,"
                                   " detail, actor) VALUES ('project', ?, 'archive_tasks', ?, ?)"));
    CHECK(dbs_stmt_bind_int64(st, 1, a->project_id));
    CHECK(dbs_stmt_bind_text(st, 2, detail));
    CHECK(dbs_stmt_bind_text(st, 3, a->actor));
    CHECK(dbs_stmt_step(st));
    rc = DBS_OK;
done:
    dbs_stmt_free(st);
    return rc;     /* unchanged: dbs_txn_run hands it back to the caller */
}

static int create_schema(dbs_session *s)
{
    const char *id = strcmp(dbs_session_backend(s), "mariadb") == 0
                         ? "id BIGINT PRIMARY KEY AUTO_INCREMENT"
                         : "id INTEGER PRIMARY KEY AUTOINCREMENT";
    char sql[300];
    int rc;

    CHECK(dbs_session_exec(s, "DROP TABLE IF EXISTS audit_log"));
    CHECK(dbs_session_exec(s, "DROP TABLE IF EXISTS tasks"));
    snprintf(sql, sizeof(sql), "CREATE TABLE tasks (%s, project_id BIGINT NOT NULL,"
             " title VARCHAR(100) NOT NULL, status VARCHAR(20) NOT NULL DEFAULT 'open')", id);
    CHECK(dbs_session_exec(s, sql));
    snprintf(sql, sizeof(sql), "CREATE TABLE audit_log (%s, entity_type VARCHAR(20) NOT NULL,"
             " entity_id BIGINT NOT NULL, action VARCHAR(30) NOT NULL, detail VARCHAR(100),"
             " actor VARCHAR(50) NOT NULL)", id);
    CHECK(dbs_session_exec(s, sql));
    CHECK(dbs_session_exec(s, "INSERT INTO tasks (project_id, title) VALUES (1, 'Design'),"
                              " (1, 'Build'), (1, 'Ship'), (2, 'Plan'), (2, 'Review')"));
done:
    return rc;
}

static void show(dbs_session *s)
{
    dbs_stmt *st = NULL;
    int64_t p, n, audits = 0;

    if (dbs_stmt_prepare(&st, s, "SELECT project_id, COUNT(*) FROM tasks"
                                 " WHERE status = 'archived' GROUP BY project_id"
                                 " ORDER BY project_id") == DBS_OK) {
        printf("  archived tasks per project:");
        while (dbs_stmt_step(st) == DBS_ROW) {
            dbs_stmt_column_int64(st, 0, &p);
            dbs_stmt_column_int64(st, 1, &n);
            printf(" project %lld: %lld", (long long)p, (long long)n);
        }
        dbs_stmt_free(st);
    }
    if (dbs_stmt_prepare(&st, s, "SELECT COUNT(*) FROM audit_log") == DBS_OK) {
        if (dbs_stmt_step(st) == DBS_ROW)
            dbs_stmt_column_int64(st, 0, &audits);
        dbs_stmt_free(st);
    }
    printf("; audit rows: %lld\n", (long long)audits);
}

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "sqlite:archive_project.db";
    struct archive ok = { .project_id = 1, .actor = "agent-7" };
    struct archive broken = { .project_id = 2, .actor = NULL };
    dbs_session *s = NULL;
    char why[256];
    int rc;

    if ((rc = dbs_session_open(&s, url)) < 0) {
        fprintf(stderr, "open: %s\n", dbs_error_last(NULL)->message);
        return 1;
    }
    CHECK(create_schema(s));

    CHECK(dbs_txn_run(s, archive_project, &ok));
    printf("Project 1: %lld task(s) archived and one audit row, in one transaction\n",
           (long long)ok.archived);
    show(s);

    /* The audit insert fails (no actor): the UPDATE before it is rolled back too. */
    rc = dbs_txn_run(s, archive_project, &broken);
    dbs_error_describe(dbs_error_last(s), why, sizeof(why));
    printf("Project 2: the audit row was refused (%s: %s);\n"
           "  the UPDATE had matched %lld task(s), and none stays archived:\n",
           dbs_status_name(rc), why, (long long)broken.archived);
    show(s);
    rc = rc == DBS_ENOTNULL ? DBS_OK : DBS_ERROR;
done:
    if (rc < 0)
        fprintf(stderr, "failed: %s: %s\n", dbs_status_name(rc), dbs_error_last(s)->message);
    dbs_session_close(s);
    return rc < 0;
}
