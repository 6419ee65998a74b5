#!/usr/bin/env bash
# Configures and builds kiln into ./build (CUDA on when nvcc is found; KILN_CUDA=OFF forces a CPU-only build).
# A new build dir uses Ninja when it is installed (Makefiles otherwise); an existing one keeps its generator.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${KILN_BUILD_DIR:-build}
cuda=${KILN_CUDA:-AUTO}
generator=()
if [[ -f "$build_dir/CMakeCache.txt" ]]; then
  # CMake refuses to switch the generator of a configured build dir, so keep whichever it has.
  existing=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$build_dir/CMakeCache.txt")
  if [[ "$existing" != "Ninja" ]] && command -v ninja >/dev/null; then
    echo "kiln: $build_dir is configured for '$existing'; keeping it (remove $build_dir to build with Ninja)" >&2
  fi
elif [[ -z "${CMAKE_GENERATOR:-}" ]] && command -v ninja >/dev/null; then
  generator=(-G Ninja)
fi
cmake "${generator[@]}" -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DKILN_CUDA="$cuda" ${KILN_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j"$(nproc)" "$@"
