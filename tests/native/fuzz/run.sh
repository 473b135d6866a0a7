#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, in build-fuzz/), replays every committed
# input of tests/native/fuzz/<target>/ (hand-made seeds and the regression inputs of fixed
# crashes), then fuzzes each target in turn for an equal share of TOTAL_SECONDS (default 60),
# starting from those inputs. What the fuzzer adds to the corpus stays in build-fuzz/corpus/
# (not committed); a crash leaves its input in build-fuzz/crashes/ and fails the script.
#
#   tests/native/fuzz/run.sh [TOTAL_SECONDS]
#   NNK_FUZZ_VERBOSE=1 build-fuzz/bin/fuzz_conv FILE   # what one input calls and gets back
#
# A fixed crash's input is committed as tests/native/fuzz/<target>/regression-<what>, and as a C
# test too when it was a bug in libnnk.
set -euo pipefail
cd "$(dirname "$0")/../../.."

total=${1:-60}
targets=(conv pool norm dense loss)
share=$((total / ${#targets[@]}))
[ "$share" -ge 1 ] || share=1

if ! command -v clang-14 >/dev/null; then
  echo "fuzz: clang-14 is needed (scripts/setup.sh installs it)" >&2
  exit 1
fi
CC=clang-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNNK_FUZZ=ON \
  -DNNK_SANITIZE=address,undefined -DNNK_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz --parallel >build-fuzz/build.log 2>&1 || {
  cat build-fuzz/build.log
  exit 1
}
mkdir -p build-fuzz/crashes build-fuzz/logs

# One thread in libnnk (the targets set it) and in OpenBLAS; a small ASan quarantine keeps the
# resident size down without weakening the checks that matter here.
export OMP_NUM_THREADS=1 ASAN_OPTIONS=quarantine_size_mb=16 UBSAN_OPTIONS=print_stacktrace=1

status=0
for target in "${targets[@]}"; do
  fuzzer=build-fuzz/bin/fuzz_$target
  inputs=tests/native/fuzz/$target
  log=build-fuzz/logs/$target.log
  count=$(find "$inputs" -type f | wc -l)
  if ! "$fuzzer" "$inputs"/* >"$log.replay" 2>&1; then
    echo "fuzz_$target: FAILED replaying the committed inputs of $inputs"
    tail -n 40 "$log.replay"
    status=1
    continue
  fi
  mkdir -p "build-fuzz/corpus/$target"
  if "$fuzzer" -max_total_time="$share" -timeout=10 -rss_limit_mb=2048 -use_value_profile=1 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$target-" \
    "build-fuzz/corpus/$target" "$inputs" >"$log" 2>&1; then
    outcome="no crash"
  else
    outcome="CRASH (input in build-fuzz/crashes/, log $log)"
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  corpus=$(find "build-fuzz/corpus/$target" -type f | wc -l)
  echo "fuzz_$target: $count committed inputs replayed; ${runs:-?} executions in ${share} s," \
    "corpus $corpus inputs; $outcome"
  if [ "$outcome" != "no crash" ]; then
    grep -E -A 12 "ERROR|runtime error|fuzz check failed" "$log" | head -n 40
  fi
done
exit "$status"
