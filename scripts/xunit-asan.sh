#!/usr/bin/env bash
# Runs the whole xUnit suite once against the ASan + UBSan build of libnnk (build-asan, made by
# scripts/test.sh or `cmake -B build-asan -DNNK_SANITIZE=address,undefined`), with the test
# binaries already built by `dotnet build Native.sln -c Release`. Fails on any sanitizer report.
#
# How: the test output is copied to build-asan/xunit/ with the sanitized libnnk.so in place of
# the normal one (the resolver loads the copy next to the assembly before NNK_NATIVE_PATH, so
# the file is replaced rather than pointed to), and only the test host gets LD_PRELOAD of GCC's
# ASan runtime (dotnet test -e), which must come first in a process that loads an ASan library.
# ASAN_OPTIONS: handle_segv=0 leaves SIGSEGV to the .NET runtime, which turns null dereferences
# into NullReferenceException through it; detect_leaks=0 because LeakSanitizer would report the
# runtime's own allocations still held at exit (libnnk's leaks are checked by the C tests under
# ASan and valgrind). Reports go to build-asan/xunit-reports/ (or, for UBSan, into the test host's
# crash message), and either fails the run.
#
# What it can and cannot see: every UBSan check inside libnnk (overflow, shifts, array bounds),
# and ASan on libnnk's own stack and globals. Not overruns of the tensors themselves: they are
# managed arrays on the GC heap, which ASan does not track; the C tests under ASan and the fuzz
# targets, which malloc every buffer at its exact length, cover those.
#
#   scripts/xunit-asan.sh                      # the whole suite
#   NNK_XUNIT_FILTER=FullyQualifiedName~Pool scripts/xunit-asan.sh
set -euo pipefail
cd "$(dirname "$0")/.."

tests=tests/Nnk.Tests/bin/Release/net10.0
out=build-asan/xunit
reports=build-asan/xunit-reports
[ -f build-asan/lib/libnnk.so ] || { echo "xunit-asan: build build-asan first" >&2; exit 1; }
[ -f "$tests/Nnk.Tests.dll" ] || { echo "xunit-asan: build Native.sln first" >&2; exit 1; }
rm -rf "$out" "$reports"
mkdir -p "$reports"
cp -r "$tests" "$out"
find "$out" -name libnnk.so -exec cp build-asan/lib/libnnk.so {} \;

asan=$(gcc -print-file-name=libasan.so)
status=0
# DOTNET_MaxVectorTBitWidth=512: this run also checks the managed kernels with 512-bit Vector<T>
# (on an AVX-512 CPU; elsewhere it changes nothing), the width the speedup harness of
# scripts/run.sh times them at, while the plain run of test.sh checks them at the default 256.
dotnet test "$out/Nnk.Tests.dll" ${NNK_XUNIT_FILTER:+--filter "$NNK_XUNIT_FILTER"} \
  -e LD_PRELOAD="$asan" \
  -e DOTNET_MaxVectorTBitWidth=512 \
  -e ASAN_OPTIONS="handle_segv=0:detect_leaks=0:log_path=$PWD/$reports/asan" \
  -e UBSAN_OPTIONS="print_stacktrace=1:log_path=$PWD/$reports/ubsan" || status=$?

if compgen -G "$reports/*" >/dev/null; then
  echo "xunit-asan: sanitizer reports:"
  cat "$reports"/*
  status=1
fi
exit "$status"
