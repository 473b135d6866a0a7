#!/bin/bash
# Measures nnk against TorchSharp (the peer) and the machine's ceilings in one sitting, the way
# docs/performance.md was made:
#   bench/compare-torchsharp.sh [ROUNDS] [OUTDIR]      (defaults: 3 rounds, artifacts/perf)
# Runs ROUNDS rounds of (the limits tool, TorchSharp on every standard shape at 1 and 2 threads,
# then nnk's native kernels on the same shapes), so all three see the same machine, and prints the
# medians over the rounds against the targets (each round's % of ceiling against its own limits).
# Shared machines are noisy: more rounds, steadier medians. Needs a built tree (scripts/run.sh or
# scripts/test.sh builds it); ~3 minutes a round.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
out=${2:-artifacts/perf}
peers=${NNK_PEERS_DIR:-../shared/peers}
bench=bench/Nnk.Bench/bin/Release/net10.0/Nnk.Bench.dll
[ -f "$bench" ] || { echo "compare-torchsharp.sh: $bench is missing; build first (scripts/run.sh)" >&2; exit 1; }
mkdir -p "$out"

# An inherited OPENBLAS_CORETYPE older than the CPU's kernels goes (scripts/blas-env.sh), so that
# nnk and the limits tool run the kernels the CPU has. The limits tool loads OpenBLAS without the
# kernel family nnk chooses (Debian 12's OpenBLAS misdetects recent CPUs), so it gets the same one:
# SkylakeX with AVX-512, Haswell with AVX2.
source scripts/blas-env.sh
coretype=${OPENBLAS_CORETYPE:-}
if [ -z "$coretype" ]; then
  case $(nnk_cpu_level) in 3) coretype=SkylakeX ;; 2) coretype=Haswell ;; esac
fi
{ date -u; uname -r; grep -m1 "model name" /proc/cpuinfo; nproc; echo "OPENBLAS_CORETYPE=$coretype"; } > "$out/machine.txt"

for r in $(seq "$rounds"); do
  echo "compare-torchsharp.sh: round $r of $rounds" >&2
  OPENBLAS_CORETYPE=$coretype "$peers/limits/run.sh" > "$out/limits-$r.md"
  "$peers/torchsharp/run.sh" > "$out/torchsharp-$r.md"
  dotnet "$bench" speedup --native-only --peers "$out/torchsharp-$r.md" --limits "$out/limits-$r.md" \
    --json "$out/nnk-$r.json" > "$out/nnk-$r.md"
done
dotnet "$bench" summarize "$out"/nnk-*.json | tee "$out/summary.md"
