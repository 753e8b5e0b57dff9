/* Private: URLs, parsed without I/O. The password never reaches a message. */
#ifndef DBS_SRC_URL_H
#define DBS_SRC_URL_H

#include "error.h"

struct dbs_url_opt {
    char *key;
    char *value;
};

/*
 * scheme:opaque[?query]  or  scheme://[user[:password]@][host][:port][/path][?query]
 * Every part is percent-decoded. Fields not given are NULL (port: 0).
 */
struct dbs_url {
    char *scheme;         /* lower-cased */
    int has_authority;    /* the "//" form */
    char *user;
    char *password;
    char *host;           /* brackets of an IPv6 literal removed */
    int port;
    char *path;           /* opaque part, or the path after the authority, with its '/' */
    struct dbs_url_opt *opts;
    int n_opts;
};

/* On failure *out is NULL and err says which part is wrong (never its value
 * when that part is the password). */
int dbs__url_parse(struct dbs_url **out, const char *url, struct dbs_err *err);
void dbs__url_free(struct dbs_url *u);

/* Value of option key, or NULL. */
const char *dbs__url_opt(const struct dbs_url *u, const char *key);

/* Option as seconds (decimals allowed, >= 0); *out = dflt when absent. */
int dbs__url_opt_seconds(const struct dbs_url *u, const char *key, double dflt, double *out,
                         struct dbs_err *err);

#endif
