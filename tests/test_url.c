/*
 * URLs: dbs__url_parse on good and bad URLs, what dbs_session_open does with
 * the parse (scheme -> backend, options, SQLite paths and modes), the error
 * it leaves in dbs_error_last(NULL), and the promise that a password never
 * reaches a message. The parser is driver-independent: most tests ignore the
 * backend of the matrix; those that open sessions use dbs_test_url.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"
#include "url.h"

/* Every URL below that has a password uses this one; no message may hold it,
 * nor a piece of it. */
#define SECRET "s3cr3tPW"
#define SECRET_PIECE "3cr3t"

/* ---- helpers -------------------------------------------------------------- */

static void err_init(struct dbs_err *err)
{
    memset(err, 0, sizeof(*err));
    dbs__err_clear(err);
}

static void check_secret_kept(const char *url, const char *text, const char *file, int line)
{
    if (strstr(text, SECRET_PIECE) == NULL)
        return;
    print_error("%s:%d: the password of %s leaked into: %s\n", file, line, url, text);
    _fail(file, line);
}

static void check_mentions(const char *url, const char *text, const char *needle,
                           const char *file, int line)
{
    if (strstr(text, needle) != NULL)
        return;
    print_error("%s:%d: %s: message \"%s\" does not mention \"%s\"\n", file, line, url, text,
                needle);
    _fail(file, line);
}

/* dbs__url_parse must fail with `want`, name the bad part (`needle`), and
 * keep the password out of the message. */
static void bad_parse_at(const char *url, int want, const char *needle, const char *file,
                         int line)
{
    struct dbs_url *u = (struct dbs_url *)&u;   /* not NULL: the parse must reset it */
    struct dbs_err err;
    int rc;

    err_init(&err);
    rc = dbs__url_parse(&u, url, &err);
    if (rc != want || u != NULL || err.pub.status != want) {
        print_error("%s:%d: dbs__url_parse(%s) = %d (%s), status %d, out %p; expected %d (%s)"
                    ", NULL: %s\n", file, line, url, rc, dbs_status_name(rc), err.pub.status,
                    (void *)u, want, dbs_status_name(want), err.pub.message);
        _fail(file, line);
    }
    check_mentions(url, err.pub.message, needle, file, line);
    check_secret_kept(url, err.pub.message, file, line);
}

/* dbs_session_open must fail with `want`; dbs_error_last(NULL) must say so,
 * name the bad part and the backend, and keep the password out. */
static void bad_open_at(const char *url, int want, const char *needle, const char *backend,
                        const char *file, int line)
{
    dbs_session *s = (dbs_session *)&s;
    const dbs_error *e;
    char desc[1200];
    int rc;

    rc = dbs_session_open(&s, url);
    e = dbs_error_last(NULL);
    if (rc != want || s != NULL || e->status != want) {
        print_error("%s:%d: dbs_session_open(%s) = %d (%s), status %d, out %p; expected %d (%s)"
                    ", NULL: %s\n", file, line, url, rc, dbs_status_name(rc), e->status,
                    (void *)s, want, dbs_status_name(want), e->message);
        if (rc == DBS_OK)
            dbs_session_close(s);
        _fail(file, line);
    }
    if (strcmp(e->backend, backend) != 0) {
        print_error("%s:%d: %s: backend \"%s\", expected \"%s\"\n", file, line, url, e->backend,
                    backend);
        _fail(file, line);
    }
    check_mentions(url, e->message, needle, file, line);
    check_secret_kept(url, e->message, file, line);
    dbs_error_describe(e, desc, sizeof(desc));
    check_secret_kept(url, desc, file, line);
}
#define bad_open(url, want, needle, backend) \
    bad_open_at((url), (want), (needle), (backend), __FILE__, __LINE__)

/* A URL-syntax error: the same from the parser and from open (no backend yet). */
#define bad_url(url, needle)                                          \
    do {                                                              \
        bad_parse_at((url), DBS_ECONFIG, (needle), __FILE__, __LINE__); \
        bad_open((url), DBS_ECONFIG, (needle), "");                   \
    } while (0)

/* Refused by the SQLite backend: the URL parsed, the backend is known. */
#define bad_sqlite(url, needle) bad_open((url), DBS_ECONFIG, (needle), "sqlite")

static struct dbs_url *parse_ok(const char *url)
{
    struct dbs_url *u = NULL;
    struct dbs_err err;
    int rc;

    err_init(&err);
    rc = dbs__url_parse(&u, url, &err);
    if (rc != DBS_OK) {
        print_error("dbs__url_parse(%s) = %s: %s\n", url, dbs_status_name(rc), err.pub.message);
        fail();
    }
    assert_non_null(u);
    return u;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void make_tmpdir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/dbs-url.XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static int exists(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0;
}

/* ---- good URLs ------------------------------------------------------------ */

static int same(const char *got, const char *want)
{
    return got == NULL || want == NULL ? got == want : strcmp(got, want) == 0;
}

#define S(p) ((p) != NULL ? (p) : "(null)")

/* Parse url and compare every part (NULL = not given); the caller frees. */
static struct dbs_url *parts_at(const char *url, const char *scheme, int has_authority,
                                const char *user, const char *password, const char *host,
                                int port, const char *path, int n_opts, const char *file,
                                int line)
{
    struct dbs_url *u = parse_ok(url);

    if (same(u->scheme, scheme) && u->has_authority == has_authority && same(u->user, user)
        && same(u->password, password) && same(u->host, host) && u->port == port
        && same(u->path, path) && u->n_opts == n_opts)
        return u;
    print_error("%s:%d: %s parsed as scheme %s, authority %d, user %s, password %s, host %s, "
                "port %d, path %s, %d option(s)\n", file, line, url, S(u->scheme),
                u->has_authority, S(u->user), S(u->password), S(u->host), u->port, S(u->path),
                u->n_opts);
    dbs__url_free(u);
    _fail(file, line);
    return NULL;
}
#define parts(url, ...) parts_at((url), __VA_ARGS__, __FILE__, __LINE__)
/* parts(url, scheme, has_authority, user, password, host, port, path, n_opts) */
#define parts_free(...) dbs__url_free(parts(__VA_ARGS__))

static void url__parses_sqlite_forms(void **state)
{
    (void)state;
    /* the scheme is lower-cased */
    parts_free("SQLite::memory:", "sqlite", 0, NULL, NULL, NULL, 0, ":memory:", 0);
    parts_free("sqlite:relative/file.db", "sqlite", 0, NULL, NULL, NULL, 0, "relative/file.db",
               0);
    parts_free("sqlite:///abs/file.db", "sqlite", 1, NULL, NULL, NULL, 0, "/abs/file.db", 0);
    parts_free("sqlite:/abs/file.db", "sqlite", 0, NULL, NULL, NULL, 0, "/abs/file.db", 0);
}

static void url__parses_mariadb_forms(void **state)
{
    struct dbs_url *u;

    (void)state;
    parts_free("mariadb://user:pass@host:3307/db", "mariadb", 1, "user", "pass", "host", 3307,
               "/db", 0);
    u = parts("mariadb://user@localhost/db?socket=/path/to.sock", "mariadb", 1, "user", NULL,
              "localhost", 0, "/db", 1);
    assert_string_equal(dbs__url_opt(u, "socket"), "/path/to.sock");
    assert_null(dbs__url_opt(u, "sock"));
    dbs__url_free(u);
    /* no path, the query right after the host */
    u = parts("mariadb://user@localhost?socket=/a/b.sock", "mariadb", 1, "user", NULL,
              "localhost", 0, NULL, 1);
    assert_string_equal(dbs__url_opt(u, "socket"), "/a/b.sock");
    dbs__url_free(u);
}

static void url__parses_ipv6_literal(void **state)
{
    (void)state;
    parts_free("mariadb://u@[::1]:3306/db", "mariadb", 1, "u", NULL, "::1", 3306, "/db", 0);
    parts_free("mariadb://[fe80::1]/db", "mariadb", 1, NULL, NULL, "fe80::1", 0, "/db", 0);
}

static void url__percent_decodes_every_part(void **state)
{
    struct dbs_url *u = parts("mariadb://us%40er%3a:p%40ss%3Aw%2Frd%25@h%6Fst:3307/d%62%20x"
                              "?s%6fcket=%2Ftmp%2Fa%26b.sock&read_timeout=1%2E5",
                              "mariadb", 1, "us@er:", "p@ss:w/rd%", "host", 3307, "/db x", 2);
    double secs = 0;
    struct dbs_err err;

    (void)state;
    err_init(&err);
    assert_string_equal(dbs__url_opt(u, "socket"), "/tmp/a&b.sock");
    assert_int_equal(dbs__url_opt_seconds(u, "read_timeout", 9, &secs, &err), DBS_OK);
    assert_true(secs == 1.5);
    assert_int_equal(dbs__url_opt_seconds(u, "write_timeout", 9, &secs, &err), DBS_OK);
    assert_true(secs == 9.0);   /* absent: the default */
    dbs__url_free(u);
}

static void url__last_at_ends_userinfo(void **state)
{
    (void)state;
    parts_free("mariadb://user:" SECRET "@x@host/db", "mariadb", 1, "user", SECRET "@x", "host",
               0, "/db", 0);
    parts_free("mariadb://us:er:" SECRET "@host/db", "mariadb", 1, "us", "er:" SECRET, "host", 0,
               "/db", 0);
}

/* mysql:// is an alias: the scheme resolves to the MariaDB backend, which
 * this build may lack. Never "unknown scheme". */
static void url__mysql_scheme_is_an_alias(void **state)
{
    const char *url = "mysql://u:" SECRET "@localhost/db?socket=/nonexistent/dbs-url.sock";
    dbs_session *s = NULL;
    const dbs_error *e;
    int rc;

    (void)state;
    parts_free(url, "mysql", 1, "u", SECRET, "localhost", 0, "/db", 1);
    rc = dbs_session_open(&s, url);
    e = dbs_error_last(NULL);
    assert_null(s);
    assert_int_equal(e->status, rc);
    assert_null(strstr(e->message, "unknown scheme"));
#if HAVE_MARIADB
    assert_int_equal(rc, DBS_ECONNECTION);   /* no server on that socket */
    assert_string_equal(e->backend, "mariadb");
#else
    assert_int_equal(rc, DBS_ECONFIG);
    check_mentions(url, e->message, "not compiled in", __FILE__, __LINE__);
    assert_string_equal(e->backend, "");
#endif
    check_secret_kept(url, e->message, __FILE__, __LINE__);
}

/* ---- bad URLs ------------------------------------------------------------- */

#define PORT_RANGE "port must be a number from 1 to 65535"
#define NO_DIR "sqlite:/nonexistent-dbs-url/x.db"   /* open would fail: DBS_ECONNECTION */
#define SECONDS(opt) "option '" opt "' must be a number of seconds"
#define MODES "option 'mode' must be ro, rw or rwc"
#define NEEDS_PATH "sqlite needs a file path or :memory:"

static void url__rejects_missing_or_bad_scheme(void **state)
{
    (void)state;
    bad_url("localhost/db", "no scheme");
    bad_url(":memory:", "no scheme");
    bad_url("", "no scheme");
    bad_url("my_sql://u:" SECRET "@h/db", "invalid character in the scheme");
    bad_url("sql ite::memory:", "invalid character in the scheme");
    bad_open("postgres://u:" SECRET "@h/db", DBS_ECONFIG, "unknown scheme 'postgres'", "");
}

static void url__rejects_bad_percent_escapes(void **state)
{
    (void)state;
    bad_url("mariadb://u%zz:" SECRET "@h/db", "percent-escape in the user name");
    bad_url("mariadb://u:" SECRET "%zz@h/db", "percent-escape in the password");
    bad_url("mariadb://u:" SECRET "%4@h/db", "percent-escape in the password");
    bad_url("mariadb://u:" SECRET "%00@h/db", "percent-escape in the password");
    bad_url("mariadb://u:%" SECRET "@h/db", "percent-escape in the password");
    bad_url("mariadb://u:" SECRET "@h%zzst/db", "percent-escape in the host");
    bad_url("mariadb://u:" SECRET "@h/d%4", "percent-escape in the path");
    bad_url("mariadb://u:" SECRET "@h/db%00", "percent-escape in the path");
    bad_url("mariadb://u:" SECRET "@h/db?s%zzocket=/x", "percent-escape in the option name");
    bad_url("mariadb://u:" SECRET "@h/db?socket=%zz", "percent-escape in the option value");
    bad_url("sqlite:x.db?mode=r%4", "percent-escape in the option value");
    bad_url("sqlite:x%00.db", "percent-escape in the path");
}

static void url__rejects_bad_ports(void **state)
{
    (void)state;
    bad_url("mariadb://u:" SECRET "@h:0/db", PORT_RANGE);
    bad_url("mariadb://u:" SECRET "@h:70000/db", PORT_RANGE);
    bad_url("mariadb://u:" SECRET "@h:65536/db", PORT_RANGE);
    bad_url("mariadb://u:" SECRET "@h:99999999999999999999/db", PORT_RANGE);
    bad_url("mariadb://u:" SECRET "@h:abc/db", PORT_RANGE);
    bad_url("mariadb://u:" SECRET "@h:-1/db", PORT_RANGE);
    bad_url("mariadb://u:" SECRET "@h:/db", "empty port");
    bad_url("mariadb://u:" SECRET "@[::1]:/db", "empty port");
    bad_url("mariadb://u:" SECRET "@[::1]:0/db", PORT_RANGE);
}

static void url__rejects_unterminated_bracket(void **state)
{
    (void)state;
    bad_url("mariadb://u:" SECRET "@[::1/db", "unterminated '[' in the host");
    bad_url("mariadb://u:" SECRET "@[::1:3306/db", "unterminated '[' in the host");
    bad_url("mariadb://u:" SECRET "@[::1]x/db", "junk after ']'");
}

static void url__rejects_bad_option_syntax(void **state)
{
    (void)state;
    bad_url("sqlite:x.db?mode", "option 'mode' must be key=value");
    bad_url("sqlite:x.db?=ro", "must be key=value");
    bad_url("sqlite:x.db?mode=ro&mode=rw", "option 'mode' given twice");
    bad_url("mariadb://u:" SECRET "@h/db?socket=/a&socket=/b", "option 'socket' given twice");
    bad_url("mariadb://u:" SECRET "@h/db?compress", "option 'compress' must be key=value");
}

static void url__unknown_option_is_named(void **state)
{
    (void)state;
    bad_sqlite("sqlite::memory:?foo=1", "unknown option 'foo'");
    bad_sqlite("sqlite://u:" SECRET "@/x.db?foo=1", "unknown option 'foo'");
    /* socket is a MariaDB option, not an SQLite one */
    bad_sqlite("sqlite::memory:?socket=/x.sock", "unknown option 'socket'");
#if HAVE_MARIADB
    bad_open("mariadb://u:" SECRET "@h/db?foo=1", DBS_ECONFIG, "unknown option 'foo'", "mariadb");
    bad_open("mariadb://u:" SECRET "@h/db?mode=ro", DBS_ECONFIG, "unknown option 'mode'",
             "mariadb");
#else
    bad_open("mariadb://u:" SECRET "@h/db?foo=1", DBS_ECONFIG, "not compiled in", "");
#endif
}

static void url__rejects_bad_numeric_options(void **state)
{
    (void)state;
    bad_sqlite(NO_DIR "?lock_timeout=-1", SECONDS("lock_timeout"));
    bad_sqlite(NO_DIR "?lock_timeout=abc", SECONDS("lock_timeout"));
    bad_sqlite(NO_DIR "?lock_timeout=", SECONDS("lock_timeout"));
    bad_sqlite(NO_DIR "?lock_timeout=5s", SECONDS("lock_timeout"));
    bad_sqlite(NO_DIR "?busy_timeout=nan", SECONDS("busy_timeout"));
}

static void url__sqlite_rejects_host_user_and_port(void **state)
{
    (void)state;
    bad_sqlite("sqlite://host/x.db", "sqlite URLs take no host");
    bad_sqlite("sqlite://u:" SECRET "@/x.db", "sqlite URLs take no user or port");
    bad_sqlite("sqlite://u:" SECRET "@host/x.db", "sqlite URLs take no host");
    bad_sqlite("sqlite://:3306/x.db", "sqlite URLs take no user or port");
}

static void url__sqlite_needs_a_path(void **state)
{
    (void)state;
    bad_sqlite("sqlite:", NEEDS_PATH);
    bad_sqlite("sqlite://", NEEDS_PATH);
    bad_sqlite("sqlite:///", NEEDS_PATH);
    bad_sqlite("sqlite:?mode=ro", NEEDS_PATH);
}

static void url__sqlite_rejects_bad_mode(void **state)
{
    (void)state;
    bad_sqlite(NO_DIR "?mode=bogus", MODES);
    bad_sqlite("sqlite::memory:?mode=", MODES);
    bad_sqlite("sqlite::memory:?mode=RO", MODES);
}

static void url__null_arguments_are_misuse(void **state)
{
    struct dbs_url *u = (struct dbs_url *)&u;
    dbs_session *s = (dbs_session *)&s;
    struct dbs_err err;

    (void)state;
    err_init(&err);
    assert_int_equal(dbs__url_parse(&u, NULL, &err), DBS_EMISUSE);
    assert_null(u);
    assert_int_equal(err.pub.status, DBS_EMISUSE);

    assert_int_equal(dbs_session_open(&s, NULL), DBS_EMISUSE);
    assert_null(s);
    assert_int_equal(dbs_error_last(NULL)->status, DBS_EMISUSE);
    assert_string_equal(dbs_error_last(NULL)->backend, "");

    assert_int_equal(dbs_session_open(NULL, dbs_test_url), DBS_EMISUSE);
    assert_int_equal(dbs_error_last(NULL)->status, DBS_EMISUSE);
    check_mentions("(out NULL)", dbs_error_last(NULL)->message, "out is NULL", __FILE__,
                   __LINE__);
}

/* URLs with a password that fail for another reason: the message names what
 * is wrong, never the password. */
static void url__password_never_in_messages(void **state)
{
    (void)state;
    /* an unescaped '/' in the password ends the authority early */
    bad_url("mariadb://u:ab/" SECRET "@h:x/db", "port must be");
    bad_url("mariadb://u:" SECRET "@h/db#frag", "fragments are not allowed");
    bad_url("mariadb://:" SECRET "@h/db", "empty user name");
#if HAVE_MARIADB
    bad_open("mariadb://u:" SECRET "@localhost/db?socket=/nonexistent/dbs-url.sock",
             DBS_ECONNECTION, "", "mariadb");
    bad_open("mariadb://u:" SECRET "@localhost/db?connect_timeout=-1", DBS_ECONFIG,
             "option 'connect_timeout'", "mariadb");
#else
    bad_open("mariadb://u:" SECRET "@localhost/db?socket=/nonexistent/dbs-url.sock",
             DBS_ECONFIG, "not compiled in", "");
#endif
}

/* An unescaped '?' in the password: either it belongs to the password (as an
 * unescaped '@' does) or the URL is refused; never is the rest of the password
 * taken as an option, where messages quote option names. */
static void question_mark_at(const char *url, const char *password, const char *file, int line)
{
    struct dbs_url *u = NULL;
    struct dbs_err err;

    err_init(&err);
    if (dbs__url_parse(&u, url, &err) != DBS_OK) {
        bad_parse_at(url, DBS_ECONFIG, "", file, line);
        bad_open_at(url, DBS_ECONFIG, "", "", file, line);
        return;
    }
    dbs__url_free(u);
    dbs__url_free(parts_at(url, "mariadb", 1, "u", password, "127.0.0.1", 1, "/db", 0, file,
                           line));
    /* nothing listens on port 1 */
    bad_open_at(url, HAVE_MARIADB ? DBS_ECONNECTION : DBS_ECONFIG, "",
                HAVE_MARIADB ? "mariadb" : "", file, line);
}
#define question_mark(url, password) question_mark_at((url), (password), __FILE__, __LINE__)

static void url__password_with_question_mark_not_quoted(void **state)
{
    (void)state;
    question_mark("mariadb://u:ab?" SECRET "@127.0.0.1:1/db", "ab?" SECRET);
    question_mark("mariadb://u:3306?" SECRET "=1@127.0.0.1:1/db", "3306?" SECRET "=1");
    question_mark("mariadb://u:ab?" SECRET "=1&" SECRET "=2@127.0.0.1:1/db",
                  "ab?" SECRET "=1&" SECRET "=2");
}

/* On the real server: a wrong password is refused without quoting it. */
static void url__wrong_password_is_not_quoted(void **state)
{
    struct dbs_url *u;
    char url[1024];
    size_t n;
    int i;

    (void)state;
    if (!dbs_test_is_mariadb())
        skip();
    u = parse_ok(dbs_test_url);
    assert_non_null(u->user);
    n = (size_t)snprintf(url, sizeof(url), "%s://%s:" SECRET "@%s", u->scheme, u->user,
                         u->host != NULL ? u->host : "");
    if (u->port != 0)
        n += (size_t)snprintf(url + n, sizeof(url) - n, ":%d", u->port);
    n += (size_t)snprintf(url + n, sizeof(url) - n, "%s", u->path != NULL ? u->path : "");
    for (i = 0; i < u->n_opts && n < sizeof(url); i++)
        n += (size_t)snprintf(url + n, sizeof(url) - n, "%c%s=%s", i == 0 ? '?' : '&',
                              u->opts[i].key, u->opts[i].value);
    dbs__url_free(u);
    assert_true(n < sizeof(url));
    bad_open(url, DBS_EPERMISSION, "", "mariadb");
}

/* ---- SQLite files --------------------------------------------------------- */

static void url__sqlite_opens_relative_and_absolute_paths(void **state)
{
    char dir[64], cwd[4096], path[160], url[200];
    dbs_session *s = NULL;

    (void)state;
    make_tmpdir(dir, sizeof(dir));
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(path, sizeof(path), "%s/rel", dir);
    assert_int_equal(mkdir(path, 0700), 0);

    assert_int_equal(chdir(dir), 0);
    assert_dbs_ok(dbs_session_open(&s, "sqlite:rel/file.db"), NULL);
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(dbs_session_backend(s), "sqlite");
    assert_dbs_ok(dbs_session_close(s), NULL);
    snprintf(path, sizeof(path), "%s/rel/file.db", dir);
    assert_true(exists(path));

    /* dir starts with '/': sqlite:// + /tmp/... is the absolute form */
    snprintf(url, sizeof(url), "sqlite://%s/my%%20abs.db", dir);
    assert_dbs_ok(dbs_session_open(&s, url), NULL);
    assert_dbs_ok(dbs_session_close(s), NULL);
    snprintf(path, sizeof(path), "%s/my abs.db", dir);
    assert_true(exists(path));
    rm_tree(dir);
}

static void url__sqlite_missing_directory_cannot_open(void **state)
{
    (void)state;
    bad_open("sqlite:/nonexistent-dbs-url/sub/x.db", DBS_ECONNECTION, "", "sqlite");
    assert_int_equal(dbs_error_last(NULL)->native_code & 0xff, 14);   /* SQLITE_CANTOPEN */
    assert_false(exists("/nonexistent-dbs-url"));
}

static void url__sqlite_read_only_mode(void **state)
{
    char dir[64], url[200], path[160];
    dbs_session *s = (dbs_session *)&s;

    (void)state;
    make_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/ro.db", dir);

    /* ro and rw never create the file */
    snprintf(url, sizeof(url), "sqlite:%s?mode=ro", path);
    bad_open(url, DBS_ECONNECTION, "", "sqlite");
    snprintf(url, sizeof(url), "sqlite:%s?mode=rw", path);
    bad_open(url, DBS_ECONNECTION, "", "sqlite");
    assert_false(exists(path));

    snprintf(url, sizeof(url), "sqlite:%s?mode=rwc&lock_timeout=0.5", path);
    assert_dbs_ok(dbs_session_open(&s, url), NULL);
    dbs_test_exec(s, "CREATE TABLE t (a INTEGER)");
    dbs_test_exec(s, "INSERT INTO t VALUES (1)");
    assert_dbs_ok(dbs_session_close(s), NULL);

    snprintf(url, sizeof(url), "sqlite:%s?mode=ro", path);
    assert_dbs_ok(dbs_session_open(&s, url), NULL);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM t"), 1);
    assert_dbs_rc(DBS_EREADONLY, dbs_session_exec(s, "INSERT INTO t VALUES (2)"), s);
    assert_int_equal(dbs_error_last(s)->status, DBS_EREADONLY);
    assert_string_equal(dbs_error_last(s)->backend, "sqlite");
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM t"), 1);
    assert_dbs_ok(dbs_session_close(s), NULL);
    rm_tree(dir);
}

/* ---- statuses and error descriptions -------------------------------------- */

static void url__status_names_and_families(void **state)
{
    (void)state;
    assert_string_equal(dbs_status_name(DBS_OK), "ok");
    assert_string_equal(dbs_status_name(DBS_ECONFIG), "config");
    assert_string_equal(dbs_status_name(DBS_EUNIQUE), "unique");
    assert_string_equal(dbs_status_name(DBS_ECONNECTION), "connection");
    assert_string_equal(dbs_status_name(DBS_EREADONLY), "read_only");
    assert_string_equal(dbs_status_name(DBS_ROW), "row");
    assert_string_equal(dbs_status_name(-99), "unknown");
    assert_string_equal(dbs_strerror(DBS_EUNIQUE), "duplicate key");
    assert_string_equal(dbs_strerror(DBS_ECONFIG), "configuration error");
    assert_string_equal(dbs_strerror(-99), "unknown status");
    assert_int_equal(dbs_status_family(DBS_EUNIQUE), DBS_ECONSTRAINT);
    assert_int_equal(dbs_status_family(DBS_ECHECK), DBS_ECONSTRAINT);
    assert_int_equal(dbs_status_family(DBS_EDEADLOCK), DBS_ETRANSIENT);
    assert_int_equal(dbs_status_family(DBS_ECOMMITUNKNOWN), DBS_ECONNECTION);
    assert_int_equal(dbs_status_family(DBS_EREADONLY), DBS_ESTATEMENT);
    assert_int_equal(dbs_status_family(DBS_ECONFIG), DBS_ECONFIG);
    assert_int_equal(dbs_status_family(DBS_OK), DBS_OK);
    assert_int_equal(dbs_status_family(DBS_ROW), DBS_ROW);
}

static void url__unique_error_is_described(void **state)
{
    dbs_session *s = *state;
    const dbs_error *e;
    char sql[200], buf[512], small[8];
    size_t n;

    snprintf(sql, sizeof(sql), "CREATE TABLE t (%s, email VARCHAR(100) UNIQUE)",
             dbs_test_id_column());
    dbs_test_exec(s, sql);
    dbs_test_exec(s, "INSERT INTO t (email) VALUES ('a@example.com')");
    assert_dbs_rc(DBS_EUNIQUE,
                  dbs_session_exec(s, "INSERT INTO t (email) VALUES ('a@example.com')"), s);
    e = dbs_error_last(s);
    assert_int_equal(e->status, DBS_EUNIQUE);
    assert_string_equal(e->backend, dbs_session_backend(s));
    n = dbs_error_describe(e, buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    if (!dbs_test_is_mariadb()) {
        assert_string_equal(e->table, "t");
        assert_int_equal(e->n_columns, 1);
        assert_string_equal(e->columns[0], "email");
        assert_string_equal(buf, "duplicate value for t(email)");
    } else if (e->table[0] != '\0') {
        check_mentions(dbs_test_url, buf, e->table, __FILE__, __LINE__);
    } else {
        check_mentions(dbs_test_url, buf, "duplicate key", __FILE__, __LINE__);
    }
    /* like snprintf: the full length, cut output, always terminated */
    assert_int_equal(dbs_error_describe(e, small, sizeof(small)), n);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, buf, sizeof(small) - 1);
    assert_int_equal(dbs_test_int(s, "SELECT COUNT(*) FROM t"), 1);
    dbs_test_exec(s, "DROP TABLE t");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(url__parses_sqlite_forms),
        cmocka_unit_test(url__parses_mariadb_forms),
        cmocka_unit_test(url__parses_ipv6_literal),
        cmocka_unit_test(url__percent_decodes_every_part),
        cmocka_unit_test(url__last_at_ends_userinfo),
        cmocka_unit_test(url__mysql_scheme_is_an_alias),
        cmocka_unit_test(url__rejects_missing_or_bad_scheme),
        cmocka_unit_test(url__rejects_bad_percent_escapes),
        cmocka_unit_test(url__rejects_bad_ports),
        cmocka_unit_test(url__rejects_unterminated_bracket),
        cmocka_unit_test(url__rejects_bad_option_syntax),
        cmocka_unit_test(url__unknown_option_is_named),
        cmocka_unit_test(url__rejects_bad_numeric_options),
        cmocka_unit_test(url__sqlite_rejects_host_user_and_port),
        cmocka_unit_test(url__sqlite_needs_a_path),
        cmocka_unit_test(url__sqlite_rejects_bad_mode),
        cmocka_unit_test(url__null_arguments_are_misuse),
        cmocka_unit_test(url__password_never_in_messages),
        cmocka_unit_test(url__password_with_question_mark_not_quoted),
        cmocka_unit_test(url__wrong_password_is_not_quoted),
        cmocka_unit_test(url__sqlite_opens_relative_and_absolute_paths),
        cmocka_unit_test(url__sqlite_missing_directory_cannot_open),
        cmocka_unit_test(url__sqlite_read_only_mode),
        cmocka_unit_test(url__status_names_and_families),
        cmocka_unit_test_setup_teardown(url__unique_error_is_described, dbs_test_setup,
                                        dbs_test_teardown),
    };

    return dbs_test_main("url", tests, sizeof(tests) / sizeof(tests[0]));
}
