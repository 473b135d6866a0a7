#!/usr/bin/env bash
# The test command: installs what is missing, builds everything and runs, each phase announced:
#   1. the C tests (CTest) on the Release build (build/)
#   2. the xUnit suite
#   3. the consumer test: the Nnk NuGet package in a fresh app (tests/consumer/run.sh)
#   4. the C tests on an ASan + UBSan build (build-asan/): any report fails its test
#   5. the xUnit suite against that sanitized libnnk, with 512-bit Vector<T> (scripts/xunit-asan.sh)
#   6. the libFuzzer targets (build-fuzz/): committed inputs replayed, then NNK_FUZZ_SECONDS
#      (default 60) of fuzzing shared among the targets (tests/native/fuzz/run.sh)
#   7. the C tests under valgrind memcheck (tests/native/valgrind.sh)
# Exits non-zero on any failure; about 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

start=$SECONDS
timings=()
phase_start=$SECONDS
phase_name=""
phase() {
  [ -z "$phase_name" ] || timings+=("$(printf '%4d s  %s' $((SECONDS - phase_start)) "$phase_name")")
  phase_name=$1
  phase_start=$SECONDS
  [ -z "$phase_name" ] || printf '\n==== nnk test %s (%d s so far)\n' "$phase_name" $((SECONDS - start))
}

phase "1/7: C tests, Release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --parallel
ctest --test-dir build --output-on-failure --parallel 2

phase "2/7: xUnit suite"
dotnet build Native.sln -c Release
dotnet test tests/Nnk.Tests -c Release --no-build --logger "console;verbosity=normal"

phase "3/7: consumer test (the Nnk package in a fresh app)"
tests/consumer/run.sh

phase "4/7: C tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNNK_SANITIZE=address,undefined >/dev/null
cmake --build build-asan --parallel
ctest --test-dir build-asan --output-on-failure --parallel 2

phase "5/7: xUnit suite against the sanitized libnnk"
scripts/xunit-asan.sh

phase "6/7: fuzzing (libFuzzer, ASan + UBSan)"
tests/native/fuzz/run.sh "${NNK_FUZZ_SECONDS:-60}"

phase "7/7: C tests under valgrind memcheck"
tests/native/valgrind.sh build

phase ""
echo
echo "==== nnk test: all phases passed in $((SECONDS - start)) s"
printf '%s\n' "${timings[@]}"
