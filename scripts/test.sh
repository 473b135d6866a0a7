#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs the C tests (CTest), the
# xUnit suite and the consumer test (the NuGet package in a fresh app). Exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --parallel
ctest --test-dir build --output-on-failure

dotnet build Native.sln -c Release
dotnet test tests/Nnk.Tests -c Release --no-build --logger "console;verbosity=normal"
tests/consumer/run.sh
