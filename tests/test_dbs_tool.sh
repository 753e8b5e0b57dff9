#!/bin/sh
# `dbs exec` on every backend of the matrix that is available: SQLite file,
# SQLite memory, MariaDB over the socket and over TCP ($DBS_TEST_MARIADB_URL,
# $DBS_TEST_MARIADB_TCP_URL). Checks the exact compact JSON lines the tool
# prints (jansson keeps keys in the order the tool adds them), exit statuses,
# all-or-nothing runs and the text mode. Plain sh + grep/sed: no jq, no python.
# One line per check ("ok N - ...", "not ok N - ..."), then "N passed, M failed".
# shellcheck disable=SC2317 # the predicates are called through check and all
set -u

name=dbs-tool
. "${top_srcdir:-$(dirname "$0")/..}/tests/tool-lib.sh"
T=dbs_tool_t
SECRET=s3cr3tPW
: >"$tmp/body"

# ---- running the tool -----------------------------------------------------------

# run ARGS...: the tool, stdout and stderr to files, status in $rc.
run() {
    run_tool "$@"
    cp "$tmp/out" "$tmp/body"
}

# tool [--json] STATEMENT...: dbs exec on the backend under test. On
# sqlite::memory: every run is a new database: the schema statements go first
# ($off of them) and their output lines are cut from $tmp/body.
tool() {
    mode=text
    if [ "$1" = --json ]; then
        mode=json
        shift
    fi
    if [ "$off" -gt 0 ]; then
        set -- "$create" "$seed" "$@"
    fi
    if [ "$mode" = json ]; then
        run exec --json "$url" "$@"
    else
        run exec "$url" "$@"
    fi
    if [ "$off" -gt 0 ]; then
        sed "1,${off}d" "$tmp/out" >"$tmp/body"
    fi
}

# ---- predicates on the last run ---------------------------------------------------

status_is() { [ "$rc" -eq "$1" ]; }
# body_is LINE...: stdout (less the schema lines) is exactly these lines
body_is() {
    printf '%s\n' "$@" >"$tmp/want"
    cmp -s "$tmp/body" "$tmp/want"
}
body_empty() { [ ! -s "$tmp/body" ]; }
# body_line N PATTERN: line N matches the basic regular expression PATTERN
body_line() {
    sed -n "${1}p" "$tmp/body" | grep -q -- "$2"
}
body_lines() { [ "$(wc -l <"$tmp/body" | tr -d ' ')" -eq "$1" ]; }
body_has() { grep -F -q -- "$1" "$tmp/body"; }
err_empty() { [ ! -s "$tmp/err" ]; }
err_has() { grep -F -q -- "$1" "$tmp/err"; }
out_has() { grep -F -q -- "$1" "$tmp/out"; }
no_secret() { ! grep -F -q -- "$SECRET" "$tmp/out" "$tmp/err"; }
all() {
    for c in "$@"; do
        eval "$c" || return 1
    done
}

# ---- per backend ------------------------------------------------------------------

# backend NAME URL: the checks, on one backend.
backend() {
    b=$1
    url=$2
    case $url in
    mariadb:* | mysql:*)
        kind=mariadb
        id_col="id BIGINT PRIMARY KEY AUTO_INCREMENT"
        ;;
    *)
        kind=sqlite
        id_col="id INTEGER PRIMARY KEY AUTOINCREMENT"
        ;;
    esac
    create="CREATE TABLE $T ($id_col, name VARCHAR(50) UNIQUE)"
    seed="INSERT INTO $T (id, name) VALUES (6, 'x')"
    off=0
    shared=yes
    case $url in
    *:memory:*)
        off=2
        shared=no
        ;;
    esac
    s1=$((off + 1))
    s2=$((off + 2))
    s3=$((off + 3))

    if [ "$shared" = yes ]; then
        run exec --json "$url" "DROP TABLE IF EXISTS $T" "$create" "$seed"
        check "$b: schema run exits 0" status_is 0
        check "$b: schema run prints one JSON line per statement" \
            all "body_lines 3" \
            "body_line 3 '^{\"statement\":3,\"rows_affected\":1,\"last_insert_id\":[0-9]*}\$'"
    fi

    # success: the documented shapes, exactly
    tool --json "INSERT INTO $T (name) VALUES ('a')" "SELECT id, name FROM $T ORDER BY id"
    check "$b: successful run exits 0, nothing on stderr" all "status_is 0" err_empty
    id_name='"columns":["id","name"],'
    check "$b: one JSON object per statement: insert, then columns and rows" body_is \
        "{\"statement\":$s1,\"rows_affected\":1,\"last_insert_id\":7}" \
        "{\"statement\":$s2,\"columns\":[\"id\",\"name\"],\"rows\":[[6,\"x\"],[7,\"a\"]]}"

    if [ "$shared" = yes ]; then
        run exec --json "$url" "SELECT name FROM $T WHERE id = 7"
        check "$b: a second run sees the committed row" all "status_is 0" \
            "body_is '{\"statement\":1,\"columns\":[\"name\"],\"rows\":[[\"a\"]]}'"
    fi

    # failure at statement 3: error object, exit 1, statement 4 never runs
    one='"rows_affected":1,'
    state='"sqlstate":"23000",'
    tool --json "INSERT INTO $T (name) VALUES ('b')" "UPDATE $T SET name = 'y' WHERE id = 6" \
        "INSERT INTO $T (name) VALUES ('b')" "INSERT INTO $T (name) VALUES ('c')"
    check "$b: failing run exits 1" status_is 1
    check "$b: failing run: statements before the failure reported, then the error, then stop" \
        all "body_lines 3" \
        "body_line 1 '^{\"statement\":$s1,$one\"last_insert_id\":[0-9][0-9]*}\$'" \
        "body_line 2 '^{\"statement\":$s2,$one\"last_insert_id\":null}\$'" \
        "body_line 3 '^{\"statement\":$s3,\"error\":{\"kind\":\"unique\",$state'" \
        "body_line 3 '\"retryable\":false}}\$'" "! body_has '\"statement\":$((off + 4))'"
    check "$b: --json reports the error on stdout only" err_empty
    if [ "$kind" = sqlite ]; then
        check "$b: the error names the table and column" \
            body_line 3 "\"table\":\"$T\",\"columns\":\\[\"name\"\\],"
    fi

    if [ "$shared" = yes ]; then
        run exec --json "$url" "SELECT id, name FROM $T ORDER BY id"
        check "$b: nothing of the failed run was committed" all "status_is 0" \
            "body_is '{\"statement\":1,$id_name\"rows\":[[6,\"x\"],[7,\"a\"]]}'"
        rows="6 | x
7 | a"
    else
        rows="6 | x"
    fi

    # text mode: a readable table on stdout, errors on stderr
    tool "SELECT id, name FROM $T ORDER BY id"
    printf 'id | name\n%s\n' "$rows" >"$tmp/text"
    check "$b: text mode prints a table on stdout, exit 0" \
        all "status_is 0" err_empty "cmp -s '$tmp/body' '$tmp/text'"
    tool "INSERT INTO $T (name) VALUES ('x')"
    check "$b: text mode failure: exit 1, error on stderr, no JSON" \
        all "status_is 1" body_empty "err_has 'statement $s1 failed'" "err_has 'kind unique'" \
        "! out_has '{'"
    if [ "$kind" = sqlite ]; then
        check "$b: text mode describes the duplicate" err_has "duplicate value for $T(name)"
    fi

    # a URL the backend refuses: usage/configuration exit status
    case $url in
    *\?*) bad="$url&foo=1" ;;
    *) bad="$url?foo=1" ;;
    esac
    run exec --json "$bad" "SELECT 1"
    check "$b: unknown URL option: exit 2 and a config error naming it" \
        all "status_is 2" "body_line 1 '^{\"error\":{\"kind\":\"config\",'" \
        "body_has \"unknown option 'foo'\""

    if [ "$shared" = yes ]; then
        run exec "$url" "DROP TABLE $T"
        check "$b: cleanup" status_is 0
    fi
}

# ---- backend-independent ------------------------------------------------------------

usage_checks() {
    run exec
    check "usage: no URL, no statement: exit 2" all "status_is 2" "err_has usage"
    run exec sqlite::memory:
    check "usage: no statement: exit 2, nothing on stdout" all "status_is 2" body_empty \
        "err_has usage"
    run exec --json sqlite::memory:
    check "usage: --json and no statement: exit 2" all "status_is 2" body_empty
    run exec --bogus sqlite::memory: "SELECT 1"
    check "usage: unknown option: exit 2, named" all "status_is 2" body_empty \
        "err_has --bogus"
    run
    check "usage: no subcommand: exit 2" all "status_is 2" "err_has usage"
    run frobnicate
    check "usage: unknown subcommand: exit 2" all "status_is 2" "err_has usage"
    run --help
    check "usage: --help: exit 0 on stdout" all "status_is 0" "out_has usage" err_empty

    run exec --json "no-scheme-here" "SELECT 1"
    check "bad URL: exit 2, config error as JSON" all "status_is 2" "body_lines 1" \
        "body_line 1 '^{\"error\":{\"kind\":\"config\",'" "body_has 'no scheme'"
    run exec "sqlite:" "SELECT 1"
    check "bad URL, text mode: exit 2, message on stderr" all "status_is 2" body_empty \
        "err_has 'cannot open session'" "err_has 'kind config'"
    run exec --json "mariadb://u:$SECRET%zz@localhost/db" "SELECT 1"
    check "bad password escape: exit 2, the password is not printed" \
        all "status_is 2" "body_has 'percent-escape in the password'" no_secret
    run exec "mariadb://u:$SECRET@localhost:0/db" "SELECT 1"
    check "bad port, text mode: exit 2, the password is not printed" all "status_is 2" no_secret
}

# ---- main -----------------------------------------------------------------------------

if [ ! -x "$dbs" ]; then
    echo "not ok 1 - $dbs not built"
    echo "0 passed, 1 failed"
    exit 1
fi

listed() {
    case ",$1," in *",$2,"*) return 0 ;; esac
    return 1
}

only=${DBS_TEST_BACKENDS:-}
require=${DBS_TEST_REQUIRE:-}

usage_checks
for name in sqlite sqlite-memory mariadb mariadb-tcp; do
    if [ -n "$only" ] && ! listed "$only" "$name"; then
        continue
    fi
    case $name in
    sqlite) u="sqlite:$tmp/tool.db" ;;
    sqlite-memory) u="sqlite::memory:" ;;
    mariadb) u=${DBS_TEST_MARIADB_URL:-} ;;
    mariadb-tcp) u=${DBS_TEST_MARIADB_TCP_URL:-} ;;
    esac
    case $name in
    mariadb) var=DBS_TEST_MARIADB_URL ;;
    mariadb-tcp) var=DBS_TEST_MARIADB_TCP_URL ;;
    *) var= ;;
    esac
    if [ -z "$u" ]; then
        if listed "$require" "$name"; then
            fail_now "$name: required by DBS_TEST_REQUIRE but $var is not set"
        else
            echo "# $name: skipped, $var not set"
        fi
        continue
    fi
    # a build without the backend: skip, unless it is required
    run exec "$u" "SELECT 1"
    if [ "$rc" -eq 2 ] && err_has "not compiled in"; then
        if listed "$require" "$name"; then
            fail_now "$name: required by DBS_TEST_REQUIRE but not compiled in"
        else
            echo "# $name: skipped, backend not compiled in"
        fi
        continue
    fi
    backend "$name" "$u"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
exit 0
