#!/usr/bin/env bash
# Sourced by setup.sh (so by run.sh and test.sh) and by bench/compare-torchsharp.sh: drops an
# inherited OPENBLAS_CORETYPE that names an older OpenBLAS kernel family than this CPU runs.
# libnnk names the best family itself unless that variable is set (native/src/blas.c), and
# honours a value it finds. Some environments export one made for another machine: seen here,
# OPENBLAS_CORETYPE=Haswell on an AVX-512 Zen 5, where it took conv_wide forward from 9 to 18 ms
# and conv_mnist2's input gradient from 2.3 to 4.2 ms. NNK_KEEP_OPENBLAS_CORETYPE=1 keeps it.

# 3: AVX-512 kernels, 2: AVX2 with FMA, 1: older (unknown names count as older).
nnk_openblas_level() {
  case "${1,,}" in
    skylakex | cooperlake | sapphirerapids) echo 3 ;;
    haswell | zen) echo 2 ;;
    *) echo 1 ;;
  esac
}

nnk_cpu_level() {
  local flags
  flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
  if [[ " $flags " == *" avx512f "* && " $flags " == *" avx512bw "* &&
        " $flags " == *" avx512vl "* && " $flags " == *" avx512dq "* ]]; then
    echo 3
  elif [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* ]]; then
    echo 2
  else
    echo 1
  fi
}

if [ -n "${OPENBLAS_CORETYPE:-}" ] && [ -z "${NNK_KEEP_OPENBLAS_CORETYPE:-}" ] &&
   [ "$(nnk_openblas_level "$OPENBLAS_CORETYPE")" -lt "$(nnk_cpu_level)" ]; then
  echo "nnk: unsetting OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE from the environment: this CPU runs" \
    "newer OpenBLAS kernels, which nnk picks (NNK_KEEP_OPENBLAS_CORETYPE=1 keeps it)" >&2
  unset OPENBLAS_CORETYPE
fi
