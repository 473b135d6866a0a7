#!/usr/bin/env bash
# Runs every C test registered with CTest in BUILD_DIR (default build) under valgrind memcheck,
# two at a time: any invalid read or write, use of uninitialised memory, or leak that is
# definite or possible fails the test (--error-exitcode=1). valgrind.supp holds the one known
# false report (see there). Prints one line per failing test, its log, and a summary.
#
#   tests/native/valgrind.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
logs=$build/valgrind
rm -rf "$logs"
mkdir -p "$logs"

# "N: Test command: /path/test_x "Name"" for every test CTest knows.
ctest --test-dir "$build" -N -V | sed -n 's/^[0-9]*: Test command: \(.*\) "\(.*\)"$/\1 \2/p' \
  >"$logs/commands"
total=$(wc -l <"$logs/commands")

run_one() {
  local exe=$1 name=$2 logs=$3
  if valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible \
    --suppressions=tests/native/valgrind.supp -q "$exe" "$name" >"$logs/$name.log" 2>&1; then
    rm "$logs/$name.log"
  else
    echo "valgrind: FAILED $name (log $logs/$name.log)"
    tail -n 30 "$logs/$name.log"
  fi
}
export -f run_one
# valgrind runs a process's threads one at a time, so two tests at a time fill two cores.
xargs -P 2 -L 1 bash -c 'run_one "$0" "$1" '"$logs" <"$logs/commands" || true

failed=$(find "$logs" -name '*.log' | wc -l)
echo "valgrind: $((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
