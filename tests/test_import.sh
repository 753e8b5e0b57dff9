#!/bin/sh
# `dbs import` on every backend of the matrix that can run it: SQLite file,
# MariaDB over the socket and over TCP (sqlite::memory: is skipped: every run
# of the tool is a new, empty database). The CSV files are made here with
# printf: quoting, CRLF, a BOM, multi-line fields, Latin-1 bytes, bad quotes,
# wrong field counts, constraint failures. Each run's exit status, summary
# line and JSON report are checked exactly, then the table by a separate query.
# One line per check ("ok N - ...", "not ok N - ..."), then "N passed, M failed".
set -u

name=dbs-import
. "${top_srcdir:-$(dirname "$0")/..}/tests/tool-lib.sh"
T=dbs_import_people

run() {
    run_tool "$@"
}

# imp [OPTIONS] FILE: dbs import into $T on the backend under test, with a report.
imp() {
    rm -f "$tmp/report.json"
    file=
    opts=
    for a in "$@"; do
        file=$a
    done
    while [ "$#" -gt 1 ]; do
        opts="$opts $1"
        shift
    done
    # shellcheck disable=SC2086
    run import --report "$tmp/report.json" $opts "$url" "$T" "$tmp/$file"
}

status_is() { [ "$rc" -eq "$1" ]; }
out_is() {
    printf '%s\n' "$1" >"$tmp/want"
    cmp -s "$tmp/out" "$tmp/want"
}
err_empty() { [ ! -s "$tmp/err" ]; }
err_has() { grep -F -q -- "$1" "$tmp/err"; }
no_report() { [ ! -e "$tmp/report.json" ]; }
# report_is JSON: the report with every message replaced by "M" is exactly JSON.
report_is() {
    sed -E 's/"message":"([^"\\]|\\.)*"/"message":"M"/g' "$tmp/report.json" >"$tmp/got"
    printf '%s\n' "$1" >"$tmp/want"
    cmp -s "$tmp/got" "$tmp/want"
}
report_has() { grep -F -q -- "$1" "$tmp/report.json"; }
# e LINE RECORD KIND COLUMN: one report entry (COLUMN null: none), its message "M"
e() {
    case $4 in null) c=null ;; *) c="\"$4\"" ;; esac
    printf '{"line":%s,"record":%s,"kind":"%s","column":%s,"message":"M"}' "$1" "$2" "$3" "$c"
}
# report IMPORTED SKIPPED ENTRY...: a whole report, as report_is compares it
report() {
    printf '{"imported":%s,"skipped":%s,"errors":[' "$1" "$2"
    shift 2
    sep=
    for x in "$@"; do
        printf '%s%s' "$sep" "$x"
        sep=,
    done
    printf ']}'
}
# rows ROW...: what `dbs exec --json` prints for $sel returning these rows
rows() {
    printf '"columns":["email","age","name"],"rows":['
    sep=
    for x in "$@"; do
        printf '%s[%s]' "$sep" "$x"
        sep=,
    done
    printf ']'
}
# query_is SQL JSON: a separate session sees exactly these rows.
query_is() {
    "$dbs" exec --json "$url" "$1" >"$tmp/q" 2>&1
    printf '{"statement":1,%s}\n' "$2" >"$tmp/want"
    cmp -s "$tmp/q" "$tmp/want" || { sed 's/^/#   query: /' "$tmp/q"; return 1; }
}
count_is() {
    query_is "SELECT COUNT(*) AS n FROM $T" "\"columns\":[\"n\"],\"rows\":[[$1]]"
}
all() {
    for c in "$@"; do
        eval "$c" || return 1
    done
}

# ---- the files ----------------------------------------------------------------------

make_files() {
    # RFC 4180 at its edges: BOM, CRLF, quoted commas, quotes and line breaks,
    # an empty field (NULL) and "" (an empty string)
    printf '\357\273\277email,age,name\r\na@x,30,"Ann, the ""first"""\r\n' >"$tmp/good.csv"
    printf 'b@x,,"multi\r\nline"\r\nc@x,5,""\r\n' >>"$tmp/good.csv"
    # one bad row of each sort, with their lines:
    #  3 unique, 4 check, 5 field count, 6 quoting, 7 not null, 8 not a number,
    #  9 Latin-1 bytes, 10 blank (no record), 11-12 a good multi-line row,
    #  14 an unterminated quote (line 15 is read again after it)
    printf '%s\n' 'email,age,name' 'a@x,30,Ann' 'a@x,31,Dup' 'c@x,-1,Neg' 'd@x,12' \
        '"e@x",13,"bad"quote' 'f@x,14,' 'g@x,x15,Txt' >"$tmp/bad.csv"
    printf 'h@x,16,\351t\351\n\ni@x,17,"two\nlines"\nj@x,18,Jo\n' >>"$tmp/bad.csv"
    printf 'k@x,19,"unterminated\nl@x,20,last\n' >>"$tmp/bad.csv"
    : >"$tmp/empty.csv"
    printf '\357\273\277' >"$tmp/bom.csv"
    printf 'email,age,name\r\n' >"$tmp/header.csv"
    printf 'email,age,EMAIL\nx@x,1,y\n' >"$tmp/dup.csv"
    printf 'email,nope\nx@x,1\n' >"$tmp/unknown.csv"
    printf 'email,,name\nx@x,1,y\n' >"$tmp/emptyname.csv"
    # old Mac line ends: a lone CR
    printf 'email,age,name\rm1@x,1,a\rm1@x,2,b\rm2@x,3,c' >"$tmp/cr.csv"
    # 3000 rows, every 100th a duplicate of row 1
    awk 'BEGIN { print "email,age,name"
                 for (i = 1; i <= 3000; i++)
                     if (i % 100 == 50) print "p1@x,1,dup"
                     else printf "p%d@x,%d,n%d\n", i, i % 90, i }' >"$tmp/big.csv"
}

# ---- per backend --------------------------------------------------------------------

backend() {
    b=$1
    url=$2
    case $url in
    mariadb:* | mysql:*)
        create="CREATE TABLE $T (id BIGINT PRIMARY KEY AUTO_INCREMENT,
            email VARCHAR(100) NOT NULL UNIQUE, age INT CHECK (age >= 0),
            name VARCHAR(50) NOT NULL)"
        age_col=age
        ;;
    *)
        create="CREATE TABLE $T (id INTEGER PRIMARY KEY AUTOINCREMENT,
            email TEXT NOT NULL UNIQUE, age INTEGER CHECK (age >= 0),
            name TEXT NOT NULL) STRICT"
        age_col=age      # SQLite names it too: "cannot store TEXT value in INTEGER column t.age"
        ;;
    esac
    fresh() { "$dbs" exec "$url" "DROP TABLE IF EXISTS $T" "$create" >/dev/null 2>&1; }
    sel="SELECT email, age, name FROM $T ORDER BY email"

    fresh
    imp good.csv
    check "$b: RFC 4180 file (BOM, CRLF, quotes, line breaks): exit 0, summary, no stderr" \
        all "status_is 0" "out_is 'imported 3, skipped 0'" err_empty
    check "$b: clean file: the report lists no error" report_is "$(report 3 0)"
    check "$b: clean file: the rows as written; empty field NULL, \"\" an empty string" \
        query_is "$sel" "$(rows '"a@x",30,"Ann, the \"first\""' '"b@x",null,"multi\r\nline"' \
                                '"c@x",5,""')"

    fresh
    imp bad.csv
    check "$b: bad rows skipped: exit 3, summary" \
        all "status_is 3" "out_is 'imported 4, skipped 8'"
    check "$b: report: line, record, kind and column of each bad row" \
        report_is "$(report 4 8 "$(e 3 2 unique email)" "$(e 4 3 check null)" \
            "$(e 5 4 data null)" "$(e 6 5 data null)" "$(e 7 6 not_null name)" \
            "$(e 8 7 data "$age_col")" "$(e 9 8 data name)" "$(e 14 11 data null)")"
    check "$b: report: CSV errors say what is wrong" \
        all "report_has 'expected 3 fields, got 2'" "report_has 'unterminated quoted field'" \
        "report_has 'not UTF-8'" "report_has 'malformed quoting'"
    check "$b: bad rows: exactly the good rows are in the table" \
        query_is "$sel" "$(rows '"a@x",30,"Ann"' '"i@x",17,"two\nlines"' '"j@x",18,"Jo"' \
                                '"l@x",20,"last"')"

    fresh
    imp --batch 2 bad.csv
    check "$b: --batch 2 gives the same result" \
        all "status_is 3" "out_is 'imported 4, skipped 8'" "count_is 4"

    fresh
    imp --all-or-nothing bad.csv
    check "$b: --all-or-nothing with a bad row: exit 1, nothing imported" \
        all "status_is 1" "out_is 'imported 0, skipped 1'" "err_has 'line 3'" "count_is 0"
    check "$b: --all-or-nothing: the report names the first bad row" \
        report_is "$(report 0 1 "$(e 3 2 unique email)" | sed 's/}$//'),$(
            )\"stopped\":{\"kind\":\"unique\",\"message\":\"M\"}}"
    imp --all-or-nothing good.csv
    check "$b: --all-or-nothing with a clean file: exit 0, all rows" \
        all "status_is 0" "out_is 'imported 3, skipped 0'" "count_is 3"

    fresh
    for f in empty bom header; do
        imp $f.csv
        check "$b: $f.csv: nothing to import, exit 0" \
            all "status_is 0" "out_is 'imported 0, skipped 0'" "report_is '$(report 0 0)'" \
            "count_is 0"
    done

    imp cr.csv
    check "$b: lone CR line ends: records and lines counted" \
        all "status_is 3" "out_is 'imported 2, skipped 1'" \
        "report_is '$(report 2 1 "$(e 3 2 unique email)")'"

    fresh
    imp big.csv
    check "$b: 3000 rows, 30 bad: exit 3, the good ones imported" \
        all "status_is 3" "out_is 'imported 2970, skipped 30'" "count_is 2970" \
        "report_has '{\"line\":2951,\"record\":2950,'" "report_has '{\"line\":51,\"record\":50,'"

    # usage errors: exit 2, nothing written, no report file
    fresh
    imp dup.csv
    check "$b: duplicate header column (any case): exit 2, nothing written" \
        all "status_is 2" "err_has duplicate" no_report "count_is 0"
    imp unknown.csv
    check "$b: unknown column: exit 2, nothing written" \
        all "status_is 2" "err_has nope" no_report "count_is 0"
    imp emptyname.csv
    check "$b: empty column name in the header: exit 2" all "status_is 2" no_report
    run import "$url" no_such_table "$tmp/good.csv"
    check "$b: unknown table: exit 2" all "status_is 2" "err_has 'unknown table'"
    run import "$url" no_such_table "$tmp/empty.csv"
    check "$b: unknown table, empty file: exit 2" status_is 2
    run import "$url" "$T" "$tmp/missing.csv"
    check "$b: unreadable file: exit 2" all "status_is 2" "err_has 'cannot read'"
    run import "$url" "$T" "$tmp"
    check "$b: a directory: exit 2" status_is 2
    check "$b: after the usage errors the table is untouched" count_is 0
    "$dbs" exec "$url" "DROP TABLE $T" >/dev/null 2>&1
}

usage_checks() {
    run import
    check "usage: no arguments: exit 2, usage on stderr" all "status_is 2" "err_has usage"
    run import sqlite::memory: t
    check "usage: no file: exit 2" status_is 2
    run import --bogus sqlite::memory: t "$tmp/good.csv"
    check "usage: unknown option: exit 2, named" all "status_is 2" "err_has --bogus"
    run import --batch 0 sqlite::memory: t "$tmp/good.csv"
    check "usage: --batch 0: exit 2" all "status_is 2" "err_has batch"
    run import --batch x sqlite::memory: t "$tmp/good.csv"
    check "usage: --batch x: exit 2" status_is 2
    run import --report "$tmp/no/such/dir/r.json" "sqlite:$tmp/u.db" t "$tmp/good.csv"
    check "usage: unwritable report, unknown table: exit 2" status_is 2
    run --help
    check "usage: --help documents import" all "status_is 0" "grep -q 'dbs import' '$tmp/out'"
}

# ---- main -------------------------------------------------------------------------------

if [ ! -x "$dbs" ]; then
    echo "not ok 1 - $dbs not built"
    echo "0 passed, 1 failed"
    exit 1
fi

listed() {
    case ",$1," in *",$2,"*) return 0 ;; esac
    return 1
}

# A MariaDB URL with the database swapped for this script's own (created here).
own_database() {
    base=$1
    "$dbs" exec "$base" "CREATE DATABASE IF NOT EXISTS dbs_test_import" >/dev/null 2>&1 || return 1
    printf '%s\n' "$base" | sed 's|^\([a-z]*://[^/]*\)/[^?]*|\1/dbs_test_import|'
}

only=${DBS_TEST_BACKENDS:-}
require=${DBS_TEST_REQUIRE:-}

make_files
usage_checks
for name in sqlite sqlite-memory mariadb mariadb-tcp; do
    if [ -n "$only" ] && ! listed "$only" "$name"; then
        continue
    fi
    case $name in
    sqlite) u="sqlite:$tmp/import.db" ;;
    sqlite-memory)
        echo "# $name: skipped, every run of the tool opens a new empty database"
        continue
        ;;
    mariadb) u=${DBS_TEST_MARIADB_URL:-} ;;
    mariadb-tcp) u=${DBS_TEST_MARIADB_TCP_URL:-} ;;
    esac
    if [ -z "$u" ]; then
        if listed "$require" "$name"; then
            fail_now "$name: required by DBS_TEST_REQUIRE but no URL is set"
        else
            echo "# $name: skipped, no URL in the environment"
        fi
        continue
    fi
    run exec "$u" "SELECT 1"
    if [ "$rc" -eq 2 ] && grep -F -q "not compiled in" "$tmp/err"; then
        if listed "$require" "$name"; then
            fail_now "$name: required by DBS_TEST_REQUIRE but not compiled in"
        else
            echo "# $name: skipped, backend not compiled in"
        fi
        continue
    fi
    case $name in
    mariadb*)
        if ! u=$(own_database "$u"); then
            fail_now "$name: cannot create the database dbs_test_import"
            continue
        fi
        ;;
    esac
    backend "$name" "$u"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
exit 0
