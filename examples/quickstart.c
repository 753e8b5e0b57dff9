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
#include "dbsession.h"

#define CHECK(call)                                                              \
    do {                                                                         \
        if ((rc = (call)) < 0) {                                                 \
            fprintf(stderr, "%s failed: %s: %s\n", #call, dbs_status_name(rc),   \
                    dbs_error_last(s)->message);                                 \
            goto done;                                                           \
        }                                                                        \
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

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "sqlite:quickstart.db";
    dbs_session *s = NULL;
    int64_t id = 0;
    int rc;

    if ((rc = dbs_session_open(&s, url)) < 0) {
        fprintf(stderr, "open: %s\n", dbs_error_last(NULL)->message);
        return 1;
    }
    printf("Opened %s session\n", dbs_session_backend(s));
    CHECK(dbs_session_exec(s, "DROP TABLE IF EXISTS audit_log"));
    CHECK(dbs_session_exec(s, "DROP TABLE IF EXISTS tasks"));
    CHECK(dbs_session_exec(s, "CREATE TABLE tasks (id INTEGER PRIMARY KEY AUTO_INCREMENT,"
                              " title VARCHAR(200) NOT NULL UNIQUE)"));
done:
    dbs_session_close(s);
    return rc < 0;
}
