#!/usr/bin/env bash
# The main command: installs what is missing, builds everything and prints the speedup table
# (naive managed vs fast managed vs native) on the standard shapes. Extra arguments go to the
# harness, for example: scripts/run.sh --threads 1 --json speedup.json
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --parallel
dotnet build Native.sln -c Release
dotnet bench/Nnk.Bench/bin/Release/net10.0/Nnk.Bench.dll speedup "$@"
