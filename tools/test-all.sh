#!/usr/bin/env bash
# README command two: install what is needed, then build and run every test
# suite twice: in a release build and in an ASan + UBSan build. Prints
# "N passed, N failed" last (CI reads that line).
set -uo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

export PYTHONDONTWRITEBYTECODE=1
rc=0
build_failures=0
logs=()
run_suite() {  # build dir, meson setup options...
  local b=$1
  shift
  if [ ! -f "$b/build.ninja" ]; then
    meson setup "$b" "$@" || { rc=1; build_failures=$((build_failures + 1)); return; }
  fi
  meson compile -C "$b" || { rc=1; build_failures=$((build_failures + 1)); return; }
  meson test -C "$b" --print-errorlogs --num-processes 2 || rc=1
  logs+=("$b/meson-logs/testlog.json")
}

run_suite build --buildtype=release
# Sanitizers: leaks, overflows and undefined behaviour on every suite.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  run_suite build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
    -Dpython=disabled -Djava=disabled -Dgo=disabled -Drust=disabled

BUILD_FAILURES=$build_failures /usr/bin/python3 - "${logs[@]}" <<'PY'
import json, os, sys
ok, bad = 0, int(os.environ["BUILD_FAILURES"])  # a build that failed counts as a failed test
for path in sys.argv[1:]:
    for line in open(path):
        if not line.strip():
            continue
        r = json.loads(line)
        if r["result"] in ("OK", "EXPECTEDFAIL", "SKIP"):
            ok += 1
        else:
            bad += 1
            print(f"failed: {path.split('/')[0]}: {r['name']} ({r['result']})")
print(f"{ok} passed, {bad} failed")
PY
[ $? -eq 0 ] || rc=1
exit $rc
