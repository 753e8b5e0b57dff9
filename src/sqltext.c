/* Reading a statement's verb and target table, for error details. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "sqltext.h"

static const char *skip_space(const char *p)
{
    for (;;) {
        while (isspace((unsigned char)*p) || *p == '(')
            p++;
        if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            p = end != NULL ? end + 2 : p + strlen(p);
        } else {
            return p;
        }
    }
}

/* Match keyword kw at p (case-insensitive, whole word); returns the end or NULL. */
static const char *keyword(const char *p, const char *kw)
{
    size_t n = strlen(kw);

    p = skip_space(p);
    if (strncasecmp(p, kw, n) != 0 || isalnum((unsigned char)p[n]) || p[n] == '_')
        return NULL;
    return p + n;
}

/* One identifier, quoted or bare, into buf; returns the end or NULL. */
static const char *ident(const char *p, char *buf, size_t size)
{
    char close = 0;
    size_t n = 0;

    p = skip_space(p);
    if (*p == '"' || *p == '`' || *p == '[')
        close = *p == '[' ? ']' : *p++;
    if (close == ']')
        p++;
    for (; *p != '\0'; p++) {
        if (close != 0 && *p == close) {
            if (close != ']' && p[1] == close) {
                p++;            /* doubled quote stands for one */
            } else {
                p++;
                break;
            }
        } else if (close == 0 && !(isalnum((unsigned char)*p) || *p == '_' || *p == '$'
                                   || (unsigned char)*p >= 0x80)) {
            break;
        }
        if (n + 1 >= size)
            return NULL;
        buf[n++] = *p;
    }
    buf[n] = '\0';
    return n > 0 ? p : NULL;
}

/* [schema.]table into buf, keeping only the table. */
static int qualified(const char *p, char *buf, size_t size)
{
    if ((p = ident(p, buf, size)) == NULL)
        return 0;
    p = skip_space(p);
    if (*p == '.')
        return ident(p + 1, buf, size) != NULL;
    return 1;
}

enum dbs_sql_verb dbs__sql_target(const char *sql, char *buf, size_t size)
{
    static const char *const conflict[] = { "ROLLBACK", "ABORT", "REPLACE", "FAIL", "IGNORE" };
    enum dbs_sql_verb verb = DBS_SQL_OTHER;
    const char *p, *q;
    size_t i;

    if (size > 0)
        buf[0] = '\0';
    if (sql == NULL || size == 0)
        return DBS_SQL_OTHER;
    if ((p = keyword(sql, "INSERT")) != NULL || (p = keyword(sql, "REPLACE")) != NULL)
        verb = DBS_SQL_INSERT;
    else if ((p = keyword(sql, "UPDATE")) != NULL)
        verb = DBS_SQL_UPDATE;
    else if ((p = keyword(sql, "DELETE")) != NULL)
        verb = DBS_SQL_DELETE;
    else
        return DBS_SQL_OTHER;
    if ((q = keyword(p, "OR")) != NULL) {
        for (i = 0; i < sizeof(conflict) / sizeof(*conflict); i++)
            if ((p = keyword(q, conflict[i])) != NULL)
                break;
        if (p == NULL)
            return verb;
    }
    for (i = 0; i < 3; i++) {  /* MariaDB modifiers */
        if ((q = keyword(p, "LOW_PRIORITY")) != NULL || (q = keyword(p, "IGNORE")) != NULL
            || (q = keyword(p, "DELAYED")) != NULL || (q = keyword(p, "HIGH_PRIORITY")) != NULL
            || (q = keyword(p, "QUICK")) != NULL)
            p = q;
    }
    if (verb == DBS_SQL_INSERT && (q = keyword(p, "INTO")) != NULL)
        p = q;
    if (verb == DBS_SQL_DELETE && (p = keyword(p, "FROM")) == NULL)
        return verb;
    if (!qualified(p, buf, size))
        buf[0] = '\0';
    return verb;
}

int dbs__sql_blank(const char *sql)
{
    const char *p = sql;

    for (;;) {
        p = skip_space(p);
        if (*p != ';')
            return *p == '\0';
        p++;
    }
}

int dbs__sql_txn_control(const char *sql)
{
    static const char *const verbs[] = { "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE" };
    const char *p;
    size_t i;

    /* what the engines skip before a statement: space, comments (MariaDB's #
     * too), empty statements; MariaDB runs what an executable comment
     * (slash-star-bang, optional version) holds, so that is read */
    for (;;) {
        if (sql[0] == '/' && sql[1] == '*' && sql[2] == '!') {
            for (sql += 3; isdigit((unsigned char)*sql); sql++)
                ;
        } else if (*sql == ';') {
            sql++;
        } else if (*sql == '#') {
            sql += strcspn(sql, "\n");
        } else if ((p = skip_space(sql)) != sql) {
            sql = p;
        } else {
            break;
        }
    }
    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (keyword(sql, verbs[i]) != NULL)
            return 1;
    if ((p = keyword(sql, "START")) != NULL)
        return keyword(p, "TRANSACTION") != NULL;
    if ((p = keyword(sql, "BEGIN")) != NULL)
        return keyword(p, "NOT") == NULL;
    return 0;
}
