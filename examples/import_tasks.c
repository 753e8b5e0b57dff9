/*
 * import_tasks: the seed lesson's "partial success" exercise.
 *
 * Tasks arrive as a list (from a CSV file, say); some are invalid. One
 * transaction or many? One batch: every row is atomic on its own (its task
 * and its audit row go in together or not at all), the good rows are kept,
 * each bad one is reported with its classified kind and column, and a clean
 * import costs about what plain inserts cost (a savepoint per 500 rows).
 * The same list in all-or-nothing mode imports nothing.
 *
 *   ./examples/import_tasks [URL]      (default sqlite:import_tasks.db)
 *
 * For CSV files, `dbs import URL TABLE FILE.csv` does this from the shell.
 */
#include <stdio.h>
#include <string.h>
#include "dbsession.h"

#define CHECK(call)                 \
    do {                            \
        if ((rc = (call)) < 0)      \
            goto done;              \
    } while (0)

struct task_row {
    const char *title;
    int64_t project_id;
    const char *priority;     /* text, as read from a file */
};

static const struct task_row rows[] = {
    { "Set up the repository", 1, "2" },
    { "Write the schema", 1, "1" },
    { "Set up the repository", 1, "3" },   /* duplicate title */
    { "Plan the launch", 99, "2" },        /* no project 99 */
    { NULL, 1, "1" },                      /* no title */
    { "Review the plan", 2, "9" },         /* priority out of range */
    { "Ship it", 2, "1" },
};

/* One row: the task, then its audit row with the task's new id. */
static int import_row(dbs_session *s, const void *row, void *payload)
{
    const struct task_row *t = row;
    dbs_stmt *st = NULL;
    int64_t id = 0;
    int rc;

    (void)payload;

    CHECK(dbs_stmt_prepare(&st, s, "INSERT INTO tasks (title, project_id, priority)"
                                   " VALUES (?, ?, ?)"));
    CHECK(dbs_stmt_bind_text(st, 1, t->title));
    CHECK(dbs_stmt_bind_int64(st, 2, t->project_id));
    CHECK(dbs_stmt_bind_text(st, 3, t->priority));
    CHECK(dbs_stmt_step(st));
    CHECK(dbs_stmt_last_insert_id(st, &id));
    dbs_stmt_free(st);
    st = NULL;
    CHECK(dbs_stmt_prepare(&st, s, "INSERT INTO audit_log (entity_type, entity_id, action)"
                                   " VALUES ('task', ?, 'imported')"));
    CHECK(dbs_stmt_bind_int64(st, 1, id));
    CHECK(dbs_stmt_step(st));
    rc = DBS_OK;
done:
    dbs_stmt_free(st);
    return rc;
}

static int create_schema(dbs_session *s)
{
    const char *id = strcmp(dbs_session_backend(s), "mariadb") == 0
                         ? "id BIGINT PRIMARY KEY AUTO_INCREMENT"
                         : "id INTEGER PRIMARY KEY AUTOINCREMENT";
    char sql[400];
    int rc;

    CHECK(dbs_session_exec(s, "DROP TABLE IF EXISTS audit_log"));
    CHECK(dbs_session_exec(s, "DROP TABLE IF EXISTS tasks"));
    CHECK(dbs_session_exec(s, "DROP TABLE IF EXISTS projects"));
    CHECK(dbs_session_exec(s, "CREATE TABLE projects (id BIGINT PRIMARY KEY,"
                              " name VARCHAR(50) NOT NULL)"));
    CHECK(dbs_session_exec(s, "INSERT INTO projects VALUES (1, 'Agent'), (2, 'Launch')"));
    snprintf(sql, sizeof(sql), "CREATE TABLE tasks (%s, title VARCHAR(100) NOT NULL UNIQUE,"
             " project_id BIGINT NOT NULL REFERENCES projects (id),"
             " priority INT NOT NULL CHECK (priority BETWEEN 1 AND 3))", id);
    CHECK(dbs_session_exec(s, sql));
    snprintf(sql, sizeof(sql), "CREATE TABLE audit_log (%s, entity_type VARCHAR(20) NOT NULL,"
             " entity_id BIGINT NOT NULL, action VARCHAR(20) NOT NULL)", id);
    CHECK(dbs_session_exec(s, sql));
done:
    return rc;
}

static int import(dbs_session *s, int mode)
{
    dbs_batch_options o;
    dbs_batch *b = NULL;
    const dbs_batch_error *e;
    uint64_t applied = 0, skipped = 0;
    size_t i;
    int rc;

    dbs_batch_options_init(&o);
    o.mode = mode;
    rc = dbs_batch_run_list(&b, s, rows, sizeof(rows) / sizeof(rows[0]), sizeof(rows[0]),
                            import_row, &o, NULL);
    dbs_batch_counts(&applied, &skipped, NULL, b);
    for (i = 0; (e = dbs_batch_error_at(b, i)) != NULL; i++)
        printf("  row %llu: %s%s%s%s: %s\n", (unsigned long long)e->row,
               dbs_status_name(e->kind), e->column ? " (" : "", e->column ? e->column : "",
               e->column ? ")" : "", e->message);
    if (rc == DBS_OK)
        printf("  committed: %llu imported, %llu skipped\n", (unsigned long long)applied,
               (unsigned long long)skipped);
    else
        printf("  rolled back (%s): nothing imported\n", dbs_status_name(rc));
    dbs_batch_free(b);
    return rc;
}

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "sqlite:import_tasks.db";
    dbs_session *s = NULL;
    int rc;

    if ((rc = dbs_session_open(&s, url)) < 0) {
        fprintf(stderr, "open: %s\n", dbs_error_last(NULL)->message);
        return 1;
    }
    CHECK(create_schema(s));
    printf("All or nothing:\n");
    if (import(s, DBS_BATCH_ALL_OR_NOTHING) != DBS_EUNIQUE) {
        rc = DBS_ERROR;
        goto done;
    }
    printf("Keep the good rows, report the bad ones:\n");
    CHECK(import(s, DBS_BATCH_SKIP));
done:
    if (rc < 0)
        fprintf(stderr, "failed: %s: %s\n", dbs_status_name(rc), dbs_error_last(s)->message);
    dbs_session_close(s);
    return rc < 0;
}
