#!/usr/bin/env bash
# Builds gpu-bundle/: kiln's programs, test suite, benchmarks and a Fashion-MNIST subset that run on a bare
# x86-64 GPU machine (NVIDIA driver, CUDA 13's cuBLAS in the toolkit or in PyTorch's wheels, Python 3 with
# PyTorch), where gpu-bundle/run.sh OUTDIR verifies every CUDA path in one go. Run here, on the build machine:
#   bash scripts/gpu-bundle.sh
# Settings (environment): KILN_BUNDLE_BUILD_DIR (build-bundle), KILN_BUNDLE_DIR (gpu-bundle), KILN_FASHION_DIR
# (Debian's /usr/share/datasets/fashion-mnist), KILN_BUNDLE_TRAIN/KILN_BUNDLE_TEST (10000/2000 images),
# KILN_BUILD_LOCK (a file to flock around the build, for machines that share their cores).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${KILN_BUNDLE_BUILD_DIR:-build-bundle}
bundle=${KILN_BUNDLE_DIR:-gpu-bundle}
fashion=${KILN_FASHION_DIR:-/usr/share/datasets/fashion-mnist}
train_images=${KILN_BUNDLE_TRAIN:-10000}
test_images=${KILN_BUNDLE_TEST:-2000}
max_mib=60
started=$(date +%s)

die() {
  echo "gpu-bundle: $*" >&2
  exit 1
}

# ---- what the build needs ----
nvcc=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
[[ -x $nvcc ]] || die "no CUDA compiler (looked for nvcc on PATH and /usr/local/cuda/bin/nvcc): install the CUDA 13 toolkit or set CUDACXX"
"$nvcc" --version | grep -q "release 13\." ||
  die "$nvcc is not CUDA 13 ($("$nvcc" --version | grep release)): the GPU machine's driver and cuBLAS are CUDA 13"
for tool in cmake:cmake python3:python3 strip:binutils objdump:binutils ldd:libc-bin; do
  command -v "${tool%%:*}" >/dev/null || die "'${tool%%:*}' is missing (Debian: apt install ${tool#*:})"
done
ls "$fashion"/train-images-idx3-ubyte* >/dev/null 2>&1 ||
  die "no Fashion-MNIST in $fashion (Debian: apt install dataset-fashion-mnist, or set KILN_FASHION_DIR)"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
lock=()
[[ -n ${KILN_BUILD_LOCK:-} ]] && lock=(flock "$KILN_BUILD_LOCK")

# ---- a Release build for sm_90 whose programs need nothing from Debian (cmake/KilnPortable.cmake) ----
# Without oneDNN (KILN_ONEDNN=OFF): Debian ships it only as a 40 MB shared library, which alone would break the size
# limit; the bundle's CPU float32 convolutions take the im2col path, which the CUDA tests compare against.
# Without Gloo (KILN_GLOO=OFF): the GPU machine has no Debian libraries, and its collectives will be NCCL's.
echo "== configuring $build_dir (Release, sm_90, KILN_PORTABLE=ON)"
mkdir -p "$build_dir"
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DKILN_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc" \
  -DKILN_CUDA_ARCHITECTURES=90 -DKILN_PORTABLE=ON -DKILN_ONEDNN=OFF -DKILN_GLOO=OFF "${launcher[@]}" >"$build_dir/bundle-configure.log" 2>&1 ||
  die "cmake failed: see $build_dir/bundle-configure.log"
echo "== building (log: $build_dir/bundle-build.log)"
"${lock[@]}" cmake --build "$build_dir" -j"$(nproc)" >"$build_dir/bundle-build.log" 2>&1 ||
  die "the build failed: see the end of $build_dir/bundle-build.log"
build_seconds=$(($(date +%s) - started))

# ---- assemble the folder ----
echo "== assembling $bundle/"
rm -rf "$bundle"
mkdir -p "$bundle"/{bin,lib,tests/data,bench/pytorch,examples,data}
cp "$build_dir"/lib/libkiln.so.0 "$bundle/lib/libkiln.so.0"  # the soname the programs ask for; no symlinks
cp "$build_dir"/bin/kiln "$bundle/bin/"
cp "$build_dir"/tests/kiln_tests "$build_dir"/tests/dist/kiln_dist_tests "$bundle/tests/"
cp tests/data/*.json tests/data/*.safetensors "$bundle/tests/data/"
cp "$build_dir"/bench/kiln_bench "$build_dir"/bench/kiln_nccl_bandwidth "$bundle/bench/"
cp bench/pytorch/*.py bench/pytorch/*.cpp "$bundle/bench/pytorch/"
cp "$build_dir"/examples/example_quickstart "$build_dir"/examples/example_two_layer_classifier \
  "$build_dir"/examples/example_model_parallel "$bundle/examples/"
# Shared libraries that travel in lib/: GCC's C++, unwinder and OpenMP runtimes (one copy per process, shared by
# libkiln.so and the programs: cmake/KilnPortable.cmake says why), Highway's dispatcher (libhwy, ~50 KB), and for
# kiln_bench Google Benchmark, which Debian ships only as a shared library.
copy_needed() {  # copy_needed ELF SONAME...: copies each SONAME as ldd resolves it for ELF into lib/
  local elf=$1 soname path
  shift
  for soname in "$@"; do
    path=$(ldd "$elf" | awk -v n="$soname" '$1 == n { print $3 }')
    [[ -f $path ]] || die "$elf needs $soname but ldd does not find it"
    cp -L "$path" "$bundle/lib/$soname"
  done
}
copy_needed "$build_dir/lib/libkiln.so.0" libstdc++.so.6 libgcc_s.so.1 libgomp.so.1 libhwy.so.1
copy_needed "$build_dir/bench/kiln_bench" libbenchmark.so.1debian
strip --strip-unneeded "$bundle"/lib/*.so* "$bundle"/bin/* "$bundle"/tests/kiln_tests "$bundle"/tests/kiln_dist_tests "$bundle"/bench/kiln_* \
  "$bundle"/examples/*
python3 scripts/fashion-subset.py "$fashion" "$bundle/data/fashion-mnist" --train "$train_images" --test "$test_images"
cp scripts/gpu-runner.sh "$bundle/run.sh"
chmod +x "$bundle/run.sh"
{
  echo "kiln $(git describe --always --dirty 2>/dev/null || echo unknown) ($(git log -1 --format=%cd --date=short 2>/dev/null || true))"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME"), $("$nvcc" --version | grep release | sed 's/.*release/CUDA/')"
  echo "Release, sm_90 + compute_90 PTX, KILN_PORTABLE=ON; Fashion-MNIST: $train_images training and $test_images test images"
} >"$bundle/VERSION"

# ---- the check: what each program and library needs from the machine it runs on ----
# Each ELF file's own needs (its NEEDED entries) must be glibc's libraries, the driver's libcuda, CUDA 13's cuBLAS
# (the GPU machine has those), or a file inside the bundle, as ldd resolves them here. (run.sh also puts lib/
# first on LD_LIBRARY_PATH, so that nothing there can shadow the bundled runtimes.)
allowed='^(ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libcuda\.so\.1|libcublas\.so\.13|libcublasLt\.so\.13)$'
bundle_abs=$(cd "$bundle" && pwd)
echo "== dependency check (ldd: what each file needs is glibc, libcuda, cuBLAS, or a file inside $bundle/)"
bad=0
glibc_max=
while IFS= read -r -d '' elf; do
  [[ $(head -c 4 "$elf" | tr -d '\0') == $'\x7fELF' ]] || continue
  if [[ $elf == "$bundle"/lib/* ]]; then  # loaded by the programs, whose own needs load lib/'s runtimes first
    resolved=$(LD_LIBRARY_PATH="$bundle_abs/lib" ldd "$elf")
  else  # a program must find the bundle's libraries through its own RUNPATH
    resolved=$(env -u LD_LIBRARY_PATH ldd "$elf")
  fi
  line="  ${elf#"$bundle"/}:"
  for name in $(objdump -p "$elf" | awk '$1 == "NEEDED" { print $2 }'); do
    where=$(awk -v n="$name" '$1 == n && $2 == "=>" { print $3 }' <<<"$resolved")
    if [[ $name =~ $allowed ]]; then
      line+=" $name"
    elif [[ $where == "$bundle_abs"/* ]]; then
      line+=" $name(bundled)"
    else
      line+=" $name=>${where:-not found}(NOT ALLOWED)"
      bad=1
    fi
  done
  echo "$line"
  v=$(objdump -T "$elf" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 || true)
  [[ -n $v ]] && glibc_max=$(printf '%s\n%s\n' "$glibc_max" "$v" | sort -V | tail -1)
done < <(find "$bundle" -type f -print0 | sort -z)
echo "  newest glibc symbol version needed: ${glibc_max:-none}"
((bad == 0)) || die "some programs need libraries that a bare GPU machine lacks (above)"

# The two largest files travel gzipped (libkiln.so.0 holds OpenBLAS's kernels for every x86 CPU, statically, and
# compresses about 3:1); run.sh unpacks them before anything runs.
for big in lib/libkiln.so.0 tests/kiln_tests; do gzip -9 "$bundle/$big"; done

size_kib=$(du -sk "$bundle" | cut -f1)
total_seconds=$(($(date +%s) - started))
echo "== $bundle/: $((size_kib / 1024)) MiB ($size_kib KiB), built in ${build_seconds}s, ready in ${total_seconds}s"
((size_kib <= max_mib * 1024)) || die "$bundle/ is over $max_mib MiB"
echo "On the GPU machine: $bundle/run.sh OUTDIR   (report in OUTDIR/report.txt and report.json)"
