#!/usr/bin/env bash
# Runs every C test registered with CTest in BUILD_DIR (default build) under valgrind memcheck,
# two processes at a time: any invalid read or write, use of uninitialised memory, or leak that
# is definite or possible fails the process (--error-exitcode=1). valgrind.supp holds the one
# known false report (see there). A process runs up to GROUP tests of one binary (memcheck's
# start-up, ~2 s a process, was half of this phase at one test a process). test_blas,
# test_dense and test_errors run one test a process: their tests load the BLAS under different
# settings or look at a fresh process's state (the last error before any failure).
# Prints each failing process's tests and log, and a summary.
#
#   tests/native/valgrind.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
logs=$build/valgrind
group=${NNK_VALGRIND_GROUP:-8}
rm -rf "$logs"
mkdir -p "$logs"

# "N: Test command: /path/test_x "Name"" for every test CTest knows.
ctest --test-dir "$build" -N -V | sed -n 's/^[0-9]*: Test command: \(.*\) "\(.*\)"$/\1 \2/p' \
  >"$logs/commands"
total=$(wc -l <"$logs/commands")

# One line a process: the binary, then its tests.
awk -v group="$group" '
  { alone = $1 ~ /\/test_(blas|dense|errors)$/
    if (alone || $1 != exe || count == group) { if (line != "") print line; line = $1; count = 0 }
    exe = $1; line = line " " $2; count++
    if (alone) { print line; line = ""; exe = "" } }
  END { if (line != "") print line }' "$logs/commands" >"$logs/processes"

run_one() {
  local logs=$1 exe=$2
  shift 2
  local log=$logs/$(basename "$exe")-$1.log
  if valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible \
    --suppressions=tests/native/valgrind.supp -q "$exe" "$@" >"$log" 2>&1; then
    rm "$log"
  else
    echo "valgrind: FAILED $(basename "$exe") $* (log $log)"
    tail -n 30 "$log"
  fi
}
export -f run_one
# valgrind runs a process's threads one at a time, so two processes at a time fill two cores.
xargs -P 2 -L 1 bash -c 'run_one '"$logs"' "$@"' _ <"$logs/processes" || true

processes=$(wc -l <"$logs/processes")
failed=$(find "$logs" -name '*.log' | wc -l)
echo "valgrind: $total tests in $processes processes, $((processes - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
