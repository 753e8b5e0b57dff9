# Sourced by the shell tests of the dbs tool (test_dbs_tool.sh, test_import.sh):
# numbered checks ("ok N - ...", "not ok N - ...", then "N passed, M failed"),
# a temporary directory and a runner that keeps the tool's output and status.
# Set $name (the temporary directory's prefix) before sourcing.

top_builddir=${top_builddir:-.}
dbs="$top_builddir/tools/dbs"

n=0
passed=0
failed=0
rc=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT HUP INT TERM
: >"$tmp/out"
: >"$tmp/err"

# check DESCRIPTION COMMAND...: one numbered line; on failure, what the last run did.
check() {
    desc=$1
    shift
    n=$((n + 1))
    if "$@"; then
        passed=$((passed + 1))
        echo "ok $n - $desc"
    else
        failed=$((failed + 1))
        echo "not ok $n - $desc"
        echo "#   exit status: $rc"
        sed 's/^/#   stdout: /' "$tmp/out"
        sed 's/^/#   stderr: /' "$tmp/err"
        if [ -f "$tmp/want" ]; then
            sed 's/^/#   wanted: /' "$tmp/want"
        fi
        if [ -f "$tmp/report.json" ]; then
            sed 's/^/#   report: /' "$tmp/report.json"
        fi
    fi
    rm -f "$tmp/want"
}

fail_now() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
}

# run_tool ARGS...: the tool, stdout and stderr to files, status in $rc.
run_tool() {
    "$dbs" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
