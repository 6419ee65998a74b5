#!/usr/bin/env bash
# Configures and builds kiln into ./build (CUDA on when nvcc is found; KILN_CUDA=OFF forces a CPU-only build).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${KILN_BUILD_DIR:-build}
cuda=${KILN_CUDA:-AUTO}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DKILN_CUDA="$cuda" ${KILN_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j"$(nproc)" "$@"
