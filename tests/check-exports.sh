#!/bin/sh
# The shared library exports exactly the public API: every dynamic symbol it
# defines matches ^dbs_[a-z] and is declared with DBS_EXTERN in the installed
# headers, and every DBS_EXTERN declaration is exported. Like jansson's
# test/suites/api/check-exports. Also: the library never ends the process
# (no exit, _exit, abort: uthash's default out-of-memory handler would).
# Exit 77 (skip) only when no shared library was built (--disable-shared).
set -u

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
lib="$top_builddir/.libs/libdbsession.so"

if [ ! -f "$lib" ]; then
    echo "check-exports: $lib not built (--disable-shared?): skipped"
    exit 77
fi
if ! command -v nm >/dev/null 2>&1; then
    echo "check-exports: nm not found (binutils)"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbs-exports.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT HUP INT TERM

# Defined dynamic symbols; a version suffix (name@@VER) is not part of the name.
if ! nm -D --defined-only "$lib" >"$tmp/nm"; then
    echo "check-exports: nm -D --defined-only $lib failed"
    exit 1
fi
awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' "$tmp/nm" | LC_ALL=C sort -u >"$tmp/exported"

# Declarations: strip comments (the doc blocks quote code), join lines so a
# declaration may span several, then take the name after each DBS_EXTERN(type).
headers=$(ls "$top_srcdir"/include/dbsession.h "$top_srcdir"/include/dbsession/*.h)
# shellcheck disable=SC2086 # $headers: one word per file
awk '
    {
        line = $0
        out = ""
        while (line != "") {
            if (incomment) {
                i = index(line, "*/")
                if (i == 0) { line = ""; break }
                line = substr(line, i + 2)
                incomment = 0
            } else {
                i = index(line, "/*")
                j = index(line, "//")
                if (j > 0 && (i == 0 || j < i)) {
                    out = out substr(line, 1, j - 1)
                    line = ""
                    break
                }
                if (i == 0) { out = out line; line = ""; break }
                out = out substr(line, 1, i - 1) " "
                line = substr(line, i + 2)
                incomment = 1
            }
        }
        if (out ~ /^[ \t]*#/) next     # the DBS_EXTERN definition itself
        printf "%s ", out
    }
' $headers >"$tmp/code" || exit 1
grep -o 'DBS_EXTERN([^)]*)[[:space:]]*[A-Za-z_][A-Za-z0-9_]*' "$tmp/code" \
    | sed 's/.*)[[:space:]]*//' | LC_ALL=C sort -u >"$tmp/declared"

n_exported=$(wc -l <"$tmp/exported" | tr -d ' ')
n_declared=$(wc -l <"$tmp/declared" | tr -d ' ')
status=0

if [ "$n_declared" -eq 0 ]; then
    echo "check-exports: no DBS_EXTERN declarations found in $headers"
    exit 1
fi

bad=$(grep -v '^dbs_[a-z]' "$tmp/exported")
if [ -n "$bad" ]; then
    echo "exported without the dbs_[a-z] prefix (internal symbols leak):"
    echo "$bad" | sed 's/^/  /'
    status=1
fi
extra=$(LC_ALL=C comm -23 "$tmp/exported" "$tmp/declared" | grep '^dbs_[a-z]')
if [ -n "$extra" ]; then
    echo "exported but not declared with DBS_EXTERN in include/:"
    echo "$extra" | sed 's/^/  /'
    status=1
fi
missing=$(LC_ALL=C comm -13 "$tmp/exported" "$tmp/declared")
if [ -n "$missing" ]; then
    echo "declared with DBS_EXTERN but not exported (missing definition or visibility):"
    echo "$missing" | sed 's/^/  /'
    status=1
fi

# A sanitizer build links the sanitizer runtimes, which may import these
# themselves; the check is for our code, so only a plain build is judged.
if ! nm -D --undefined-only "$lib" >"$tmp/undef"; then
    echo "check-exports: nm -D --undefined-only $lib failed"
    exit 1
fi
if ! grep -q '__asan_\|__ubsan_' "$tmp/undef"; then
    enders=$(awk '{ sub(/@.*/, "", $2); print $2 }' "$tmp/undef" | grep -x 'exit\|_exit\|_Exit\|abort')
    if [ -n "$enders" ]; then
        echo "the library calls functions that end the process:"
        echo "$enders" | sed 's/^/  /'
        status=1
    fi
fi

echo "check-exports: $lib: $n_exported exported symbol(s), $n_declared DBS_EXTERN declaration(s)"
if [ "$status" -eq 0 ]; then
    echo "check-exports: ok"
else
    echo "check-exports: FAILED"
fi
exit "$status"
