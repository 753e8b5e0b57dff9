/* MariaDB backend: connections, plain queries, transactions, the vtable. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mariadb.h"
#include "dbsession/model.h"

/* Seconds the connect may take when the URL does not say. */
#define MDB_CONNECT_TIMEOUT 10.0
/* Largest timeout we pass on (innodb_lock_wait_timeout allows 1073741824). */
#define MDB_MAX_SECONDS 1000000000u

static const char *const mdb_schemes[] = {"mariadb", "mysql", NULL};
static const char *const mdb_options[] = {
    "socket", "connect_timeout", "read_timeout", "write_timeout", "lock_timeout", NULL
};

/* What every session runs under: the gaps between engines are closed here. */
static const char mdb_session_sql[] =
    "SET SESSION sql_mode='STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_ENGINE_SUBSTITUTION,NO_AUTO_CREATE_USER', default_storage_engine=InnoDB, "
    "autocommit=1, lc_messages='en_US'";   /* errors.c reads names from English messages */

static const char *const mdb_ddl_types[] = {
    [DBS_FT_INT64] = "BIGINT", [DBS_FT_INT32] = "INT", [DBS_FT_DOUBLE] = "DOUBLE",
    [DBS_FT_BOOL] = "BOOLEAN", [DBS_FT_TEXT] = "TEXT", [DBS_FT_CHARS] = "VARCHAR(%zu)",
    [DBS_FT_BLOB] = "LONGBLOB", [DBS_FT_TIMESTAMP] = "BIGINT",
};

static pthread_once_t mdb_init_once = PTHREAD_ONCE_INIT;
static int mdb_init_rc;

/* mysql_library_init is not thread-safe: run it once, before any mysql_init. */
static void mdb_library_init(void)
{
    mdb_init_rc = mysql_library_init(0, NULL, NULL);
}

/* Seconds as libmariadb and the server take them: whole, rounded up. */
static unsigned int whole_seconds(double s)
{
    unsigned int n;

    if (!(s > 0.0))
        return 0;
    if (s >= (double)MDB_MAX_SECONDS)
        return MDB_MAX_SECONDS;
    n = (unsigned int)s;
    if ((double)n < s)
        n++;
    return n;
}

/* Set a timeout option if the URL gives it (or dflt >= 0 applies). */
static int set_timeout(MYSQL *my, const struct dbs_url *url, const char *key,
                       enum mysql_option opt, double dflt, struct dbs_err *err)
{
    double s;
    unsigned int n;
    int rc;

    if ((rc = dbs__url_opt_seconds(url, key, dflt, &s, err)) < 0)
        return rc;
    if (s < 0.0)
        return DBS_OK;
    n = whole_seconds(s);
    if (mysql_optionsv(my, opt, &n) != 0)
        return dbs__err_set(err, DBS_ECONFIG, "mariadb: cannot set %s", key);
    return DBS_OK;
}

static int set_options(MYSQL *my, const struct dbs_url *url, struct dbs_err *err)
{
    my_bool off = 0;
    unsigned int proto = MYSQL_PROTOCOL_SOCKET;
    int rc;

    if ((rc = set_timeout(my, url, "connect_timeout", MYSQL_OPT_CONNECT_TIMEOUT,
                          MDB_CONNECT_TIMEOUT, err)) < 0
        || (rc = set_timeout(my, url, "read_timeout", MYSQL_OPT_READ_TIMEOUT, -1.0, err)) < 0
        || (rc = set_timeout(my, url, "write_timeout", MYSQL_OPT_WRITE_TIMEOUT, -1.0, err)) < 0)
        return rc;
    /* A silent reconnect would drop the transaction and the session state. */
    if (mysql_optionsv(my, MYSQL_OPT_RECONNECT, &off) != 0
        || mysql_optionsv(my, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0)
        return dbs__err_set(err, DBS_ECONFIG, "mariadb: cannot set connection options");
    /* socket= means the unix socket, whatever the host says. */
    if (dbs__url_opt(url, "socket") != NULL
        && mysql_optionsv(my, MYSQL_OPT_PROTOCOL, &proto) != 0)
        return dbs__err_set(err, DBS_ECONFIG, "mariadb: cannot select the unix socket");
    return DBS_OK;
}

/* The session statement, plus innodb_lock_wait_timeout when lock_timeout is given. */
static int session_sql(const struct dbs_url *url, char *buf, size_t cap, struct dbs_err *err)
{
    double s;
    unsigned int n;
    int rc;

    if ((rc = dbs__url_opt_seconds(url, "lock_timeout", -1.0, &s, err)) < 0)
        return rc;
    if (s < 0.0) {
        snprintf(buf, cap, "%s", mdb_session_sql);
        return DBS_OK;
    }
    n = whole_seconds(s);
    if (n < 1)
        n = 1;
    snprintf(buf, cap, "%s, innodb_lock_wait_timeout=%u", mdb_session_sql, n);
    return DBS_OK;
}

/* Connection failures: nothing was sent yet, so refused/unreachable may be retried. */
static int connect_error(MYSQL *my, struct dbs_err *err)
{
    unsigned int code = mysql_errno(my);
    int rc = dbs__mdb_error(NULL, NULL, code, mysql_sqlstate(my), mysql_error(my), err);

    if (code == 2002 || code == 2003 || code == 2005) {
        rc = err->pub.status = DBS_ECONNECTION;
        err->pub.retryable = 1;
    }
    return rc;
}

static int mdb_connect(MYSQL *my, const struct dbs_url *url, struct dbs_err *err)
{
    const char *host = url->host != NULL && url->host[0] != '\0' ? url->host : "localhost";
    const char *db = url->path;
    char sql[sizeof(mdb_session_sql) + 64];
    int rc;

    if (db != NULL && db[0] == '/')
        db++;
    if (db != NULL && db[0] == '\0')
        db = NULL;
    if ((rc = session_sql(url, sql, sizeof(sql), err)) < 0)
        return rc;
    if (url->port < 0 || url->port > 65535)
        return dbs__err_set(err, DBS_ECONFIG, "mariadb: port out of range");
    if (mysql_real_connect(my, host, url->user, url->password, db, (unsigned int)url->port,
                           dbs__url_opt(url, "socket"), CLIENT_FOUND_ROWS) == NULL)
        return connect_error(my, err);
    if (mysql_real_query(my, sql, strlen(sql)) != 0)
        return connect_error(my, err);
    return DBS_OK;
}

static int mdb_open(struct dbs_conn **out, const struct dbs_url *url, struct dbs_err *err)
{
    struct mdb_conn *c;
    int rc;

    *out = NULL;
    if (!url->has_authority)
        return dbs__err_set(err, DBS_ECONFIG,
                            "mariadb: URL must look like mariadb://user@host/db");
    if (pthread_once(&mdb_init_once, mdb_library_init) != 0 || mdb_init_rc != 0)
        return dbs__err_set(err, DBS_ERROR, "mariadb: client library initialisation failed");
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return dbs__err_set(err, DBS_ENOMEM, "out of memory");
    c->base.backend = &dbs__backend_mariadb;
    if ((c->my = mysql_init(NULL)) == NULL) {
        free(c);
        return dbs__err_set(err, DBS_ENOMEM, "out of memory");
    }
    if ((rc = set_options(c->my, url, err)) < 0 || (rc = mdb_connect(c->my, url, err)) < 0) {
        mysql_close(c->my);
        free(c);
        return rc;
    }
    *out = &c->base;
    return DBS_OK;
}

static void mdb_close(struct dbs_conn *base)
{
    struct mdb_conn *c = (struct mdb_conn *)base;

    if (c == NULL)
        return;
    mysql_close(c->my);
    dbs__mdb_keycache_clear(&c->keys);
    free(c);
}

/* Read and drop every result of the last query; errors can come from any of them. */
static int discard_results(struct mdb_conn *c, const char *sql, struct dbs_err *err)
{
    MYSQL_RES *res;
    int more;

    do {
        if ((res = mysql_store_result(c->my)) != NULL)
            mysql_free_result(res);
        else if (mysql_field_count(c->my) != 0 || mysql_errno(c->my) != 0)
            return dbs__mdb_conn_error(c, sql, err);
        if ((more = mysql_next_result(c->my)) > 0)
            return dbs__mdb_conn_error(c, sql, err);
    } while (more == 0);
    return DBS_OK;
}

static int mdb_exec(struct dbs_conn *base, const char *sql, struct dbs_err *err)
{
    struct mdb_conn *c = (struct mdb_conn *)base;

    if (dbs__mdb_sql_is_ddl(sql))
        dbs__mdb_keycache_clear(&c->keys);
    if (mysql_real_query(c->my, sql, strlen(sql)) != 0)
        return dbs__mdb_conn_error(c, sql, err);
    return discard_results(c, sql, err);
}

static int mdb_begin(struct dbs_conn *c, struct dbs_err *err)
{
    return mdb_exec(c, "START TRANSACTION", err);
}

/*
 * The server status flags are not updated by an error packet, so after a
 * deadlock SERVER_STATUS_IN_TRANS still says "open": ask the server, unless
 * the error is one that undoes only its statement (errors.c).
 */
static int mdb_in_transaction(struct dbs_conn *base)
{
    static const char q[] = "SELECT @@in_transaction";
    struct mdb_conn *c = (struct mdb_conn *)base;
    MYSQL_RES *res;
    MYSQL_ROW row;
    int open = 0;

    if (c->last_stmt_only)
        return 1;      /* InnoDB undid the statement only: no round trip to learn it */
    if (mysql_real_query(c->my, q, sizeof(q) - 1) != 0)
        return 0;
    if ((res = mysql_store_result(c->my)) == NULL)
        return 0;
    if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL)
        open = strcmp(row[0], "0") != 0;
    mysql_free_result(res);
    while (mysql_next_result(c->my) == 0)
        if ((res = mysql_store_result(c->my)) != NULL)
            mysql_free_result(res);
    return open;
}

const struct dbs_backend dbs__backend_mariadb = {
    .version = DBS_BACKEND_VERSION,
    .name = "mariadb",
    .schemes = mdb_schemes,
    .options = mdb_options,
    .open = mdb_open,
    .close = mdb_close,
    .exec = mdb_exec,
    .prepare = dbs__mdb_prepare,
    .finalize = dbs__mdb_finalize,
    .param_count = dbs__mdb_param_count,
    .bind = dbs__mdb_bind,
    .step = dbs__mdb_step,
    .reset = dbs__mdb_reset,
    .column_count = dbs__mdb_column_count,
    .column_name = dbs__mdb_column_name,
    .column_value = dbs__mdb_column_value,
    .rows_affected = dbs__mdb_rows_affected,
    .last_insert_id = dbs__mdb_last_insert_id,
    .in_transaction = mdb_in_transaction,
    .begin = mdb_begin,
    .ident_quote = '`',
    .ddl_types = mdb_ddl_types,
    .ddl_autoinc_pk = "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
    .ddl_table_suffix = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    /* InnoDB assigns AUTO_INCREMENT values in VALUES order within a statement */
    .insert_returning_rows = 1000,
    .max_params = 65535,
    .batch_rows = 1000,
    .ddl_begin_sql = "SET FOREIGN_KEY_CHECKS = 0",
    .ddl_end_sql = "SET FOREIGN_KEY_CHECKS = 1",
};
