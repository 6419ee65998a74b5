#!/usr/bin/env bash
# Builds kiln's libFuzzer harnesses (clang-14, ASan+UBSan, CPU-only) in their own build dir, writes the seed
# corpora, and runs each harness for RUNS inputs (default 1,000,000), one after the other.
# Usage: scripts/fuzz.sh [RUNS] [BUILD_DIR]     (on a shared machine: flock /work/build.lock scripts/fuzz.sh)
set -euo pipefail
runs=${1:-1000000}
build=${2:-build-fuzz}
cd "$(dirname "$0")/.."
cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" -DCMAKE_C_FLAGS_RELEASE="-O1" \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DKILN_CUDA=OFF -DKILN_FUZZ=ON \
  -DKILN_BUILD_TESTS=OFF -DKILN_BUILD_BENCH=OFF -DKILN_BUILD_EXAMPLES=OFF \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache > /dev/null
cmake --build "$build" -j2 --target fuzz_safetensors fuzz_cli_args fuzz_make_seeds
[ "$runs" = 0 ] && exit 0
corpus="$build/fuzz-corpus"
mkdir -p "$corpus/safetensors" "$corpus/cli_args" "$build/fuzz-findings"
# The seed writer is a plain program: leaks at exit are not findings.
ASAN_OPTIONS=detect_leaks=0 "$build/tests/fuzz/fuzz_make_seeds" "$corpus/safetensors" "$corpus/cli_args"
for name in safetensors cli_args; do
  echo "== fuzz_$name: $runs runs"
  # rss_limit 2 GB: a reader that allocates what a hostile header claims fails here, not on the user's machine.
  /usr/bin/time -f "fuzz_$name: %e s wall, %M KB peak RSS" \
    "$build/tests/fuzz/fuzz_$name" -runs="$runs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-findings/$name-" "$corpus/$name"
done
