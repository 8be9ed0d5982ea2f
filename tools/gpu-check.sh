#!/usr/bin/env bash
# Every GPU check and benchmark in one call, on a machine with an NVIDIA GPU
# (the project's H100 runs): build with CUDA, run the CUDA and conformance
# suites, compute-sanitizer memcheck and racecheck over the CUDA suite, then
# the GPU benchmarks (bench/bench_gpu.py: needs python3 with torch, and
# transformers for the Mamba peers). Run from the repository root:
#
#   tools/gpu-check.sh OUT_DIR [--no-sanitizer] [--no-bench]
#
# OUT_DIR receives build and test logs and bench results. Headers or
# libraries the machine lacks (nlohmann-json, doctest, xxHash) may be put under
# $SEQC_SYSROOT/{include,lib}.
set -euo pipefail

OUT=${1:?usage: tools/gpu-check.sh OUT_DIR [--no-sanitizer] [--no-bench]}
shift
SANITIZE=1
BENCH=1
for a in "$@"; do
  case $a in
    --no-sanitizer) SANITIZE=0 ;;
    --no-bench) BENCH=0 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
BUILD=${SEQC_GPU_BUILD:-build-gpu}

if [ -n "${SEQC_SYSROOT:-}" ]; then
  SYSROOT=$(cd "$SEQC_SYSROOT" && pwd)
  export CPATH=$SYSROOT/include${CPATH:+:$CPATH}
  export LIBRARY_PATH=$SYSROOT/lib${LIBRARY_PATH:+:$LIBRARY_PATH}
  export LD_LIBRARY_PATH=$SYSROOT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

step() { echo "== $* ($(date +%T))"; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"

step "build"
if [ ! -d "$BUILD" ]; then
  meson setup "$BUILD" -Dcuda=enabled -Dpython=disabled -Djava=disabled -Dgo=disabled -Drust=disabled \
    -Dbench=disabled --buildtype=release >"$OUT/setup.log" 2>&1 || { tail -40 "$OUT/setup.log"; exit 1; }
fi
ninja -C "$BUILD" >"$OUT/build.log" 2>&1 || { grep -E "error|FAILED" -A5 "$OUT/build.log" | head -80; exit 1; }

status=0
step "device top-k against a host reference (tests/cuda/topk_check.cu)"
nvcc -O2 -arch=sm_90 -std=c++20 -Isrc tests/cuda/topk_check.cu src/cuda/topk.cu -o "$BUILD/topk_check" &&
  "$BUILD/topk_check" 2>&1 | tee "$OUT/topk.log" || status=1

step "tests: cuda, conformance, core"
meson test -C "$BUILD" --suite cuda --suite conformance --suite core --print-errorlogs \
  >"$OUT/tests.log" 2>&1 || status=1
grep -E "^ *[0-9]+/[0-9]+ |Ok:|Fail:|Timeout:" "$OUT/tests.log" || true
"$BUILD/tests/test_cuda" -s -d 2>&1 | grep -E "worst relative|max abs error|TEST CASE|SUCCESS|ERROR|FAILED|test cases" \
  >"$OUT/cuda-errors.log" || true

if [ "$SANITIZE" = 1 ]; then
  for tool in memcheck racecheck; do
    step "compute-sanitizer $tool"
    if SEQC_HF_GOLDENS=$PWD/tests/oracle/hf SEQC_CUDA_TEST_T=40 compute-sanitizer --tool "$tool" --error-exitcode 3 \
        "$BUILD/tests/test_cuda" >"$OUT/sanitizer-$tool.log" 2>&1; then
      tail -2 "$OUT/sanitizer-$tool.log"
    else
      status=1
      grep -E "ERROR SUMMARY|Invalid|Race|Error" "$OUT/sanitizer-$tool.log" | head -20
    fi
  done
fi

if [ "$BENCH" = 1 ]; then
  step "bench (bench/bench_gpu.py)"
  python3 bench/bench_gpu.py "$BUILD/tools/seqcore" "$OUT" ${SEQC_BENCH_QUICK:+--quick} >"$OUT/bench.log" 2>&1 ||
    { status=1; tail -30 "$OUT/bench.log"; }
  cat "$OUT/bench_gpu.md" 2>/dev/null || true
  # The peers' Triton kernels, when their sources are given (checkouts kept
  # outside the tree): SEQC_PEERS_MAMBA=state-spaces/mamba, SEQC_PEERS_FLA=
  # fla-org/flash-linear-attention.
  if [ -n "${SEQC_PEERS_MAMBA:-}" ] && [ -n "${SEQC_PEERS_FLA:-}" ]; then
    step "peers (bench/bench_peers.py)"
    python3 bench/bench_peers.py --mamba-src "$SEQC_PEERS_MAMBA" --fla-src "$SEQC_PEERS_FLA" \
      --out "$OUT/bench_peers.json" ${SEQC_BENCH_QUICK:+--quick} >"$OUT/bench_peers.md" 2>"$OUT/bench_peers.log" ||
      { status=1; tail -30 "$OUT/bench_peers.log"; }
    cat "$OUT/bench_peers.md"
  fi
fi
step "done (status $status)"
exit $status
