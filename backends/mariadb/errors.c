/*
 * MariaDB backend: native error code -> kind, and the names a message tells.
 *
 * What MariaDB can report (10.11, see /work/shared/reference/errors.md):
 * - Every error has an errno, a SQLSTATE and an English message (unless
 *   lc_messages was changed; then no names are parsed). The kind comes from
 *   the errno alone: SQLSTATE 23000 is shared by unique, foreign key, not
 *   null, check and ambiguous-column errors, 1364 (not null) is HY000 and
 *   1265 (data) is 01000.
 * - There are no structured fields for names: they are only in the message.
 *   1451/1452 (foreign key) and 4025 (check) quote identifiers properly
 *   (backticks, embedded backticks doubled) and name child table,
 *   constraint, child columns and parent table; 1048/1364/1406/1264/1265 name
 *   a column in single quotes without escaping and never the table;
 *   1366/1292 name `db`.`table`.`column` without doubling backticks.
 *
 * What it cannot report:
 * - 1062 (duplicate key) prints neither the value nor the key name escaped
 *   and never the table or the columns. The key name is found by matching
 *   the end of the message against the real index names of the current
 *   database (information_schema.STATISTICS), restricted to the table the
 *   failing statement writes when its SQL says so; the columns are those of
 *   that index. When the table is unknown and several tables have an index
 *   of that name, only the constraint is given.
 * - 1451 from DROP TABLE and 1217 (DDL) have no names at all. The check
 *   name of an unnamed column-level CHECK is printed as `table.column`,
 *   which a CHECK explicitly named so would print identically.
 * - A name is filled only when the message identifies it with certainty;
 *   otherwise the field stays "" (a cut message, hostile quoting, a
 *   temporary #sql- table of an ALTER).
 */
#include <stdlib.h>
#include <string.h>

#include "mariadb.h"

/* Longest identifier we accept from a message (64 characters of up to 3 bytes). */
#define MDB_NAME_MAX 256

/* The one table: native code -> kind (and foreign key direction). */
/*
 * stmt: 1 where InnoDB undoes only the failing statement and the transaction
 * goes on (constraint and data errors of DML, names that do not resolve):
 * the session need not ask the server whether its transaction survived.
 * Anything else (deadlock, lock timeout with innodb_rollback_on_timeout, DDL
 * with its implicit commit, unknown codes) is asked.
 */
static const struct mdb_code {
    unsigned int code;
    int kind;
    int fk;
    int stmt;
} mdb_codes[] = {
    {1062, DBS_EUNIQUE, 0, 1},
    {1586, DBS_EUNIQUE, 0, 1},
    {1451, DBS_EFOREIGNKEY, DBS_FK_REFERENCED, 1},
    {1217, DBS_EFOREIGNKEY, DBS_FK_REFERENCED, 0},
    {1452, DBS_EFOREIGNKEY, DBS_FK_MISSING_PARENT, 1},
    {1216, DBS_EFOREIGNKEY, DBS_FK_MISSING_PARENT, 1},
    {1048, DBS_ENOTNULL, 0, 1},
    {1364, DBS_ENOTNULL, 0, 1},
    {4025, DBS_ECHECK, 0, 1},
    {1406, DBS_EDATA, 0, 1},
    {1264, DBS_EDATA, 0, 1},
    {1265, DBS_EDATA, 0, 1},
    {1366, DBS_EDATA, 0, 1},
    {1292, DBS_EDATA, 0, 1},
    {1365, DBS_EDATA, 0, 1},
    {1690, DBS_EDATA, 0, 1},
    {1213, DBS_EDEADLOCK, 0, 0},
    {1020, DBS_EDEADLOCK, 0, 0},
    {1205, DBS_ELOCKTIMEOUT, 0, 0},
    {2002, DBS_ECONNECTION, 0, 0},
    {2003, DBS_ECONNECTION, 0, 0},
    {2005, DBS_ECONNECTION, 0, 0},
    {2006, DBS_ECONNECTION, 0, 0},
    {2013, DBS_ECONNECTION, 0, 0},
    {2055, DBS_ECONNECTION, 0, 0},
    {1927, DBS_ECONNECTION, 0, 0},
    {1064, DBS_ESYNTAX, 0, 1},
    {1052, DBS_ESYNTAX, 0, 1},
    {1136, DBS_ESYNTAX, 0, 1},
    {1146, DBS_EUNDEFINED, 0, 1},
    {1054, DBS_EUNDEFINED, 0, 1},
    {1051, DBS_EUNDEFINED, 0, 0},
    {1091, DBS_EUNDEFINED, 0, 0},
    {1305, DBS_EUNDEFINED, 0, 1},
    {1049, DBS_EUNDEFINED, 0, 0},
    {1044, DBS_EPERMISSION, 0, 0},
    {1045, DBS_EPERMISSION, 0, 0},
    {1142, DBS_EPERMISSION, 0, 1},
    {1143, DBS_EPERMISSION, 0, 1},
    {1227, DBS_EPERMISSION, 0, 0},
    {1370, DBS_EPERMISSION, 0, 0},
    {1792, DBS_EREADONLY, 0, 1},
    {1290, DBS_EREADONLY, 0, 0},
};

static const struct mdb_code *find_code(unsigned int code)
{
    size_t i;

    for (i = 0; i < sizeof(mdb_codes) / sizeof(mdb_codes[0]); i++)
        if (mdb_codes[i].code == code)
            return &mdb_codes[i];
    return NULL;
}

/* ---- reading messages ---- */

/* A span of the message being read: [p, end). */
struct span {
    const char *p;
    const char *end;
};

static int eat(struct span *s, const char *lit)
{
    size_t n = strlen(lit);

    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return 0;
    s->p += n;
    return 1;
}

/* `name` with `` for an embedded backtick, unquoted into out. Under
 * sql_mode ANSI_QUOTES the server quotes some messages with "" instead. */
static int quoted(struct span *s, char *out, size_t *len)
{
    const char *q = s->p;
    size_t n = 0;
    char mark;

    if (q >= s->end || (*q != '`' && *q != '"'))
        return 0;
    mark = *q++;
    for (;;) {
        if (q >= s->end)
            return 0;
        if (*q == mark) {
            if (q + 1 < s->end && q[1] == mark)
                q++;
            else
                break;
        }
        if (n + 1 >= MDB_NAME_MAX)
            return 0;
        out[n++] = *q++;
    }
    out[n] = '\0';
    *len = n;
    s->p = q + 1;
    return 1;
}

/* `db`.`table` or `table`: the bare table into out. */
static int quoted_table(struct span *s, char *out, size_t *len)
{
    if (!quoted(s, out, len))
        return 0;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        return quoted(s, out, len);
    }
    return 1;
}

/* ALTER TABLE ... ADD FOREIGN KEY names its temporary copy: not a table to report. */
static void set_table(struct dbs_err *e, const char *name, size_t len)
{
    if (strncmp(name, "#sql-", 5) != 0)
        dbs__err_set_table(e, name, len);
}

/*
 * 1451/1452: "... fails (`db`.`child`, CONSTRAINT `fk` FOREIGN KEY (`c1`, `c2`)
 * REFERENCES `parent` (`p1`, `p2`) ...)". Each name is set once the text
 * after it proves it complete.
 */
static void fk_details(struct dbs_err *e)
{
    struct span s = {e->message, e->message + strlen(e->message)};
    char name[MDB_NAME_MAX], cols[DBS_ERROR_MAX_COLUMNS][MDB_NAME_MAX];
    size_t len, lens[DBS_ERROR_MAX_COLUMNS];
    int n = 0, i;

    if ((s.p = strstr(e->message, "constraint fails (")) == NULL)
        return;
    s.p += strlen("constraint fails (");
    if (!quoted_table(&s, name, &len) || !eat(&s, ", CONSTRAINT "))
        return;
    set_table(e, name, len);
    if (!quoted(&s, name, &len) || !eat(&s, " FOREIGN KEY ("))
        return;
    dbs__err_set_constraint(e, name, len);
    do {
        if (!quoted(&s, n < DBS_ERROR_MAX_COLUMNS ? cols[n] : name, &len))
            return;
        if (n < DBS_ERROR_MAX_COLUMNS)
            lens[n++] = len;
    } while (eat(&s, ", "));
    if (!eat(&s, ") REFERENCES "))
        return;
    for (i = 0; i < n; i++)
        dbs__err_add_column(e, cols[i], lens[i]);
    if (quoted_table(&s, name, &len) && eat(&s, " ("))
        dbs__err_set_ref_table(e, name, len);
}

/* 4025: "CONSTRAINT `name` failed for `db`.`table`". */
static void check_details(struct dbs_err *e)
{
    struct span s = {e->message, e->message + strlen(e->message)};
    char name[MDB_NAME_MAX];
    size_t len;

    if (!eat(&s, "CONSTRAINT ") || !quoted(&s, name, &len) || !eat(&s, " failed for "))
        return;
    dbs__err_set_constraint(e, name, len);
    if (quoted_table(&s, name, &len) && s.p == s.end)
        set_table(e, name, len);
}

/*
 * The message is exactly prefix + name + suffix: the name in between is
 * certain even if it contains quotes (1048, 1364).
 */
static void column_between(struct dbs_err *e, const char *prefix, const char *suffix)
{
    size_t n = strlen(e->message), a = strlen(prefix), b = strlen(suffix);

    if (n > a + b && memcmp(e->message, prefix, a) == 0
        && memcmp(e->message + n - b, suffix, b) == 0)
        dbs__err_add_column(e, e->message + a, n - a - b);
}

/* Where " at row <digits>" ends the message, or NULL. */
static const char *row_suffix(const char *msg)
{
    const char *end = msg + strlen(msg), *q = end;

    while (q > msg && q[-1] >= '0' && q[-1] <= '9')
        q--;
    if (q == end || (size_t)(q - msg) < 8 || memcmp(q - 8, " at row ", 8) != 0)
        return NULL;
    return q - 8;
}

/*
 * 1406/1264/1265: "<fixed text> for column '<col>' at row N". The text
 * before the column is fixed (no user data), so the first " column '" opens
 * it and the anchored end closes it.
 */
static void row_column(struct dbs_err *e)
{
    const char *open = strstr(e->message, " column '"), *close = row_suffix(e->message);

    if (open == NULL || close == NULL)
        return;
    open += strlen(" column '");
    if (close > open && close[-1] == '\'')
        dbs__err_add_column(e, open, (size_t)(close - 1 - open));
}

/*
 * 1366/1292: "... value: '<v>' for column `db`.`t`.`c` at row N", nothing
 * escaped. Certain only when " for column `" occurs once (the value cannot
 * fake it) and exactly six backticks follow (no name holds one).
 */
static void row_qualified_column(struct dbs_err *e)
{
    static const char key[] = " for column `";
    const char *at = strstr(e->message, key), *end = row_suffix(e->message);
    const char *tick[6], *q;
    int n = 0;

    if (at == NULL || end == NULL || strstr(at + 1, key) != NULL)
        return;
    for (q = at + sizeof(key) - 2; q < end; q++) {
        if (*q != '`')
            continue;
        if (n == 6)
            return;
        tick[n++] = q;
    }
    if (n != 6 || end != tick[5] + 1 || tick[2] != tick[1] + 2 || tick[4] != tick[3] + 2
        || tick[1][1] != '.' || tick[3][1] != '.' || tick[3] == tick[2] + 1)
        return;
    set_table(e, tick[2] + 1, (size_t)(tick[3] - tick[2] - 1));
    dbs__err_add_column(e, tick[4] + 1, (size_t)(tick[5] - tick[4] - 1));
}

/* ---- the statement's target table (for 1062) ---- */

static void skip_space(const char **p)
{
    const char *s = *p;

    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f')
            s++;
        if (s[0] == '/' && s[1] == '*') {
            const char *c = strstr(s + 2, "*/");
            s = c != NULL ? c + 2 : s + strlen(s);
        } else if (*s == '#' || (s[0] == '-' && s[1] == '-' && (s[2] == ' ' || s[2] == '\t'))) {
            s += strcspn(s, "\n");
        } else {
            break;
        }
    }
    *p = s;
}

static int is_word_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
           || ch == '_' || ch == '$' || ch >= 0x80;
}

/* Consume keyword kw (upper case; matched in any ASCII case) if it is the next word. */
static int keyword(const char **p, const char *kw)
{
    size_t n = 0;

    skip_space(p);
    for (; kw[n] != '\0'; n++) {
        char ch = (*p)[n];

        if ((ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch) != kw[n])
            return 0;
    }
    if (is_word_char((unsigned char)(*p)[n]))
        return 0;
    *p += n;
    return 1;
}

/* An identifier, quoted or not, into out. */
static int identifier(const char **p, char *out, size_t cap)
{
    struct span s = {*p, *p + strlen(*p)};
    size_t n = 0;

    skip_space(p);
    s.p = *p;
    if (*s.p == '`') {
        if (cap < MDB_NAME_MAX || !quoted(&s, out, &n))
            return 0;
        *p = s.p;
        return 1;
    }
    while (is_word_char((unsigned char)(*p)[n]) && n + 1 < cap)
        n++;
    if (n == 0 || is_word_char((unsigned char)(*p)[n]))
        return 0;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n;
    return 1;
}

/*
 * The table an INSERT [IGNORE] INTO / REPLACE INTO / UPDATE writes, or 0.
 * A db-qualified or multi-table target is reported as unknown: the index
 * cache only knows the current database.
 */
static int target_table(const char *sql, char *out, size_t cap)
{
    const char *p = sql;
    int update;

    if (sql == NULL)
        return 0;
    if (keyword(&p, "INSERT") || keyword(&p, "REPLACE")) {
        update = 0;
        while (keyword(&p, "LOW_PRIORITY") || keyword(&p, "DELAYED")
               || keyword(&p, "HIGH_PRIORITY") || keyword(&p, "IGNORE"))
            ;
        keyword(&p, "INTO");
    } else if (keyword(&p, "UPDATE")) {
        update = 1;
        while (keyword(&p, "LOW_PRIORITY") || keyword(&p, "IGNORE"))
            ;
    } else {
        return 0;
    }
    if (!identifier(&p, out, cap))
        return 0;
    skip_space(&p);
    if (*p == '.' || *p == ',')
        return 0;
    return !update || keyword(&p, "SET");
}

int dbs__mdb_sql_is_ddl(const char *sql)
{
    const char *p = sql;

    return keyword(&p, "CREATE") || keyword(&p, "ALTER") || keyword(&p, "DROP")
           || keyword(&p, "RENAME") || keyword(&p, "USE");
}

/* ---- index names (for 1062) ---- */

void dbs__mdb_keycache_clear(struct mdb_keycache *k)
{
    free(k->rows);
    free(k->strings);
    memset(k, 0, sizeof(*k));
}

static size_t field_len(MYSQL_ROW row, const unsigned long *lens, int i)
{
    return row[i] != NULL ? lens[i] + 1 : 1;
}

static char *put(char **at, MYSQL_ROW row, const unsigned long *lens, int i)
{
    char *s = *at;

    if (row[i] != NULL)
        memcpy(s, row[i], lens[i]);
    s[row[i] != NULL ? lens[i] : 0] = '\0';
    *at += field_len(row, lens, i);
    return s;
}

/* Copy a STATISTICS result (table, index, seq, column) into the cache. */
static int keycache_fill(struct mdb_keycache *k, MYSQL_RES *res)
{
    size_t n = (size_t)mysql_num_rows(res), size = 0, i;
    MYSQL_ROW row;
    unsigned long *lens;
    char *at;

    while ((row = mysql_fetch_row(res)) != NULL && (lens = mysql_fetch_lengths(res)) != NULL)
        size += field_len(row, lens, 0) + field_len(row, lens, 1) + field_len(row, lens, 3);
    k->rows = calloc(n > 0 ? n : 1, sizeof(*k->rows));
    k->strings = malloc(size > 0 ? size : 1);
    if (k->rows == NULL || k->strings == NULL)
        return -1;
    mysql_data_seek(res, 0);
    at = k->strings;
    for (i = 0; i < n && (row = mysql_fetch_row(res)) != NULL; i++) {
        if ((lens = mysql_fetch_lengths(res)) == NULL)
            return -1;
        k->rows[i].table = put(&at, row, lens, 0);
        k->rows[i].index = put(&at, row, lens, 1);
        k->rows[i].column = put(&at, row, lens, 3);
    }
    k->n = i;
    k->loaded = 1;
    return 0;
}

/* A separate query on the same connection: the failing statement is finished. */
static int keycache_load(struct mdb_conn *c)
{
    static const char q[] =
        "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME"
        " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()"
        " ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX";
    MYSQL_RES *res;
    int rc;

    dbs__mdb_keycache_clear(&c->keys);
    if (mysql_real_query(c->my, q, sizeof(q) - 1) != 0)
        return -1;
    if ((res = mysql_store_result(c->my)) == NULL)
        return -1;
    rc = keycache_fill(&c->keys, res);
    mysql_free_result(res);
    while (mysql_next_result(c->my) == 0)
        if ((res = mysql_store_result(c->my)) != NULL)
            mysql_free_result(res);
    if (rc < 0)
        dbs__mdb_keycache_clear(&c->keys);
    return rc;
}

/* 1 if msg ends with "' for key '<name>'". */
static int ends_with_key(const char *msg, size_t n, const char *name)
{
    static const char key[] = "' for key '";
    size_t k = sizeof(key) - 1, len = strlen(name);

    return n >= k + len + 1 && msg[n - 1] == '\''
           && memcmp(msg + n - 1 - len, name, len) == 0
           && memcmp(msg + n - 1 - len - k, key, k) == 0;
}

/*
 * The longest index name (of table, when known) the message ends with.
 * Returns the row of its first column, or -1; *shared = 1 when the table is
 * unknown and more than one table has an index of that name.
 */
static long find_key(const struct mdb_keycache *k, const char *msg, const char *table,
                     int *shared)
{
    size_t n = strlen(msg), i, best_len = 0;
    long best = -1;

    *shared = 0;
    for (i = 0; i < k->n; i++) {
        const struct mdb_keycol *r = &k->rows[i];
        size_t len;

        if (i > 0 && strcmp(r->table, k->rows[i - 1].table) == 0
            && strcmp(r->index, k->rows[i - 1].index) == 0)
            continue;                   /* not the index's first column */
        if ((table != NULL && strcmp(r->table, table) != 0) || !ends_with_key(msg, n, r->index))
            continue;
        len = strlen(r->index);
        if (best < 0 || len > best_len) {
            best = (long)i;
            best_len = len;
            *shared = 0;
        } else if (len == best_len && strcmp(r->table, k->rows[best].table) != 0) {
            *shared = 1;
        }
    }
    return best;
}

static void dup_details(struct mdb_conn *c, struct mdb_target *tg, struct dbs_err *e)
{
    const char *t;
    const struct mdb_keycol *r;
    int fresh = 0, shared;
    long best;
    size_t i;

    if (c == NULL)
        return;
    if (!tg->parsed) {
        tg->found = target_table(tg->sql, tg->table, sizeof(tg->table));
        tg->parsed = 1;
    }
    t = tg->found ? tg->table : NULL;
    if (!c->keys.loaded) {
        if (keycache_load(c) < 0)
            return;
        fresh = 1;
    }
    best = find_key(&c->keys, e->message, t, &shared);
    if (best < 0 && !fresh) {
        if (keycache_load(c) < 0)
            return;
        best = find_key(&c->keys, e->message, t, &shared);
    }
    if (best < 0)
        return;
    r = &c->keys.rows[best];
    dbs__err_set_constraint(e, r->index, strlen(r->index));
    if (shared)
        return;
    dbs__err_set_table(e, r->table, strlen(r->table));
    for (i = (size_t)best; i < c->keys.n && strcmp(c->keys.rows[i].table, r->table) == 0
                           && strcmp(c->keys.rows[i].index, r->index) == 0; i++)
        dbs__err_add_column(e, c->keys.rows[i].column, strlen(c->keys.rows[i].column));
}

/* ---- entry points ---- */

int dbs__mdb_error(struct mdb_conn *c, const char *sql, unsigned int code,
                   const char *sqlstate, const char *message, struct dbs_err *err)
{
    struct mdb_target t = { .sql = sql };

    return dbs__mdb_error_at(c, &t, code, sqlstate, message, err);
}

int dbs__mdb_error_at(struct mdb_conn *c, struct mdb_target *t, unsigned int code,
                      const char *sqlstate, const char *message, struct dbs_err *err)
{
    const struct mdb_code *m = find_code(code);
    int kind = m != NULL ? m->kind : DBS_ERROR;

    if (c != NULL)
        c->last_stmt_only = m != NULL && m->stmt;
    dbs__err_native(err, kind, sqlstate, (int)code, message != NULL ? message : "");
    err->pub.fk_direction = m != NULL ? m->fk : DBS_FK_UNKNOWN;
    switch (code) {
    case 1062: case 1586:
        dup_details(c, t, err);
        break;
    case 1451: case 1452:
        fk_details(err);
        break;
    case 4025:
        check_details(err);
        break;
    case 1048:
        column_between(err, "Column '", "' cannot be null");
        break;
    case 1364:
        column_between(err, "Field '", "' doesn't have a default value");
        break;
    case 1406: case 1264: case 1265:
        row_column(err);
        break;
    case 1366: case 1292:
        row_qualified_column(err);
        break;
    }
    return kind;
}

int dbs__mdb_conn_error(struct mdb_conn *c, const char *sql, struct dbs_err *err)
{
    return dbs__mdb_error(c, sql, mysql_errno(c->my), mysql_sqlstate(c->my),
                          mysql_error(c->my), err);
}
