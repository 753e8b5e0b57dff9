/*
 * URL parsing. No I/O. Errors name the part that is wrong and never quote
 * the password, since messages end up in logs.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

/* Percent-decode [s, s+len) into a new string. A malformed escape or an
 * encoded NUL is an error (NULL with *bad set); otherwise NULL means ENOMEM. */
static char *decode(const char *s, size_t len, int *bad)
{
    char *out = malloc(len + 1), *w = out;
    size_t i;

    *bad = 0;
    if (out == NULL)
        return NULL;
    for (i = 0; i < len; i++) {
        if (s[i] != '%') {
            *w++ = s[i];
            continue;
        }
        if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1])
            || !isxdigit((unsigned char)s[i + 2])) {
            *bad = 1;
            break;
        }
        char hex[3] = { s[i + 1], s[i + 2], '\0' };
        *w = (char)strtol(hex, NULL, 16);
        if (*w == '\0') {
            *bad = 1;
            break;
        }
        w++;
        i += 2;
    }
    if (*bad) {
        free(out);
        return NULL;
    }
    *w = '\0';
    return out;
}

/* Decode one part into *dst; returns DBS_OK or the error naming `part`. */
static int part(char **dst, const char *s, size_t len, const char *part_name,
                struct dbs_err *err)
{
    int bad;

    *dst = decode(s, len, &bad);
    if (*dst != NULL)
        return DBS_OK;
    if (bad)
        return dbs__err_set(err, DBS_ECONFIG, "bad URL: invalid percent-escape in the %s",
                            part_name);
    return dbs__err_set(err, DBS_ENOMEM, "out of memory parsing URL");
}

void dbs__url_free(struct dbs_url *u)
{
    int i;

    if (u == NULL)
        return;
    free(u->scheme);
    free(u->user);
    if (u->password != NULL) {
        /* do not leave the secret lying in freed memory */
        volatile char *p = u->password;
        while (*p)
            *p++ = '\0';
        free(u->password);
    }
    free(u->host);
    free(u->path);
    for (i = 0; i < u->n_opts; i++) {
        free(u->opts[i].key);
        free(u->opts[i].value);
    }
    free(u->opts);
    free(u);
}

static int parse_query(struct dbs_url *u, const char *q, struct dbs_err *err)
{
    int rc;

    while (*q != '\0') {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        struct dbs_url_opt *o;
        int i;

        if (len == 0) {
            q++;
            continue;
        }
        if (eq == NULL || eq == q)
            return dbs__err_set(err, DBS_ECONFIG,
                                "bad URL: option '%.*s' must be key=value", (int)len, q);
        o = realloc(u->opts, (size_t)(u->n_opts + 1) * sizeof(*o));
        if (o == NULL)
            return dbs__err_set(err, DBS_ENOMEM, "out of memory parsing URL");
        u->opts = o;
        o = &u->opts[u->n_opts];
        o->key = o->value = NULL;
        u->n_opts++;
        if ((rc = part(&o->key, q, (size_t)(eq - q), "option name", err)) < 0)
            return rc;
        if ((rc = part(&o->value, eq + 1, len - (size_t)(eq - q) - 1, "option value", err)) < 0)
            return rc;
        for (i = 0; i < u->n_opts - 1; i++)
            if (strcmp(u->opts[i].key, o->key) == 0)
                return dbs__err_set(err, DBS_ECONFIG, "bad URL: option '%s' given twice",
                                    o->key);
        q += len;
    }
    return DBS_OK;
}

/* host[:port], with [v6] literals. */
static int parse_hostport(struct dbs_url *u, const char *s, size_t len, struct dbs_err *err)
{
    const char *colon = NULL, *host = s;
    size_t hlen = len;

    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return dbs__err_set(err, DBS_ECONFIG, "bad URL: unterminated '[' in the host");
        host = s + 1;
        hlen = (size_t)(close - host);
        if (close + 1 < s + len) {
            if (close[1] != ':')
                return dbs__err_set(err, DBS_ECONFIG, "bad URL: junk after ']' in the host");
            colon = close + 1;
        }
    } else {
        colon = memchr(s, ':', len);
        if (colon != NULL)
            hlen = (size_t)(colon - s);
    }
    if (colon != NULL) {
        const char *p = colon + 1, *end = s + len;
        long port = 0;

        if (p == end)
            return dbs__err_set(err, DBS_ECONFIG, "bad URL: empty port");
        for (; p < end; p++) {
            if (!isdigit((unsigned char)*p) || port > 65535)
                return dbs__err_set(err, DBS_ECONFIG,
                                    "bad URL: port must be a number from 1 to 65535");
            port = port * 10 + (*p - '0');
        }
        if (port < 1 || port > 65535)
            return dbs__err_set(err, DBS_ECONFIG,
                                "bad URL: port must be a number from 1 to 65535");
        u->port = (int)port;
    }
    return hlen > 0 ? part(&u->host, host, hlen, "host", err) : DBS_OK;
}

static int parse_authority(struct dbs_url *u, const char *s, size_t len, struct dbs_err *err)
{
    const char *at = NULL, *p;
    int rc;

    /* the last '@' ends the user info: an unescaped '@' in a password is common */
    for (p = s; p < s + len; p++)
        if (*p == '@')
            at = p;
    if (at != NULL) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        size_t ulen = colon != NULL ? (size_t)(colon - s) : (size_t)(at - s);

        if (ulen == 0)
            return dbs__err_set(err, DBS_ECONFIG, "bad URL: empty user name before '@'");
        if ((rc = part(&u->user, s, ulen, "user name", err)) < 0)
            return rc;
        if (colon != NULL
            && (rc = part(&u->password, colon + 1, (size_t)(at - colon - 1), "password",
                          err)) < 0)
            return rc;
        len -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    return parse_hostport(u, s, len, err);
}

/* The query starts at the first '?' after the user info: a '?' in a
 * password must not turn the password into an option name. */
static const char *query_start(const char *rest)
{
    const char *from = rest, *end, *p;

    if (rest[0] == '/' && rest[1] == '/') {
        end = rest + 2 + strcspn(rest + 2, "/");
        for (p = rest + 2; p < end; p++)
            if (*p == '@')
                from = p + 1;
    }
    return strchr(from, '?');
}

static int parse_rest(struct dbs_url *u, const char *rest, struct dbs_err *err)
{
    const char *q = query_start(rest);
    size_t len = q != NULL ? (size_t)(q - rest) : strlen(rest);
    int rc;

    if (q != NULL && (rc = parse_query(u, q + 1, err)) < 0)
        return rc;
    if (len >= 2 && rest[0] == '/' && rest[1] == '/') {
        size_t alen;

        u->has_authority = 1;
        rest += 2;
        len -= 2;
        alen = strcspn(rest, "/");
        if (alen > len)
            alen = len;
        if ((rc = parse_authority(u, rest, alen, err)) < 0)
            return rc;
        rest += alen;
        len -= alen;
    }
    if (memchr(rest, '#', len) != NULL)
        return dbs__err_set(err, DBS_ECONFIG, "bad URL: '#' fragments are not allowed");
    return len > 0 ? part(&u->path, rest, len, "path", err) : DBS_OK;
}

int dbs__url_parse(struct dbs_url **out, const char *url, struct dbs_err *err)
{
    struct dbs_url *u;
    const char *colon;
    size_t i;
    int rc;

    *out = NULL;
    if (url == NULL)
        return dbs__err_set(err, DBS_EMISUSE, "URL is NULL");
    colon = strchr(url, ':');
    if (colon == NULL || colon == url)
        return dbs__err_set(err, DBS_ECONFIG,
                            "bad URL: no scheme (expected sqlite:... or mariadb://...)");
    for (i = 0; url + i < colon; i++)
        if (!isalnum((unsigned char)url[i]) && url[i] != '+' && url[i] != '-'
            && url[i] != '.')
            return dbs__err_set(err, DBS_ECONFIG, "bad URL: invalid character in the scheme");
    if ((u = calloc(1, sizeof(*u))) == NULL
        || (u->scheme = strndup(url, (size_t)(colon - url))) == NULL) {
        dbs__url_free(u);
        return dbs__err_set(err, DBS_ENOMEM, "out of memory parsing URL");
    }
    for (i = 0; u->scheme[i]; i++)
        u->scheme[i] = (char)tolower((unsigned char)u->scheme[i]);
    if ((rc = parse_rest(u, colon + 1, err)) < 0) {
        dbs__url_free(u);
        return rc;
    }
    *out = u;
    return DBS_OK;
}

const char *dbs__url_opt(const struct dbs_url *u, const char *key)
{
    int i;

    for (i = 0; i < u->n_opts; i++)
        if (strcmp(u->opts[i].key, key) == 0)
            return u->opts[i].value;
    return NULL;
}

int dbs__url_opt_seconds(const struct dbs_url *u, const char *key, double dflt, double *out,
                         struct dbs_err *err)
{
    const char *v = dbs__url_opt(u, key);
    char *end;
    double d;

    *out = dflt;
    if (v == NULL)
        return DBS_OK;
    errno = 0;
    d = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || errno != 0 || !isfinite(d) || d < 0 || d > 86400.0 * 365)
        return dbs__err_set(err, DBS_ECONFIG,
                            "bad URL: option '%s' must be a number of seconds >= 0", key);
    *out = d;
    return DBS_OK;
}
