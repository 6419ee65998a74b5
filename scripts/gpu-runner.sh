#!/usr/bin/env bash
# gpu-bundle/run.sh [--continue-without-gpu] [OUTDIR]: verifies kiln's CUDA paths on this GPU machine in one go
# (under 8 minutes) and writes OUTDIR/report.txt and OUTDIR/report.json (default OUTDIR: ./gpu-report), one entry
# per step with its status, seconds and key figures; each step's output is in OUTDIR/logs/<step>.log.
# Exit status: 0 every step passed; 1 a step failed, timed out, was skipped or had its tool missing; 2 no usable
# GPU (the report says why and nothing else runs). --continue-without-gpu runs every step even then, to try this
# script on a machine without a GPU; the result stays "no_gpu".
# Environment: KILN_RUN_BUDGET (seconds for all steps, default 450), KILN_CUDA_LIB_DIR (a folder holding
# libcublas.so.13 and libcublasLt.so.13, when the search below misses it), PYTHON (default python3).
# The source is scripts/gpu-runner.sh; scripts/gpu-bundle.sh copies it into the bundle as run.sh.
set -euo pipefail

BUNDLE=$(cd "$(dirname "$0")" && pwd)
# gpu-bundle.sh gzips the largest files to stay small in transit: unpack them in place, once.
for packed in "$BUNDLE"/lib/libkiln.so.0.gz "$BUNDLE"/tests/kiln_tests.gz; do
  [[ -f $packed ]] || continue
  if command -v gzip >/dev/null; then
    gzip -dc "$packed" >"${packed%.gz}.part"
  else
    python3 -c 'import gzip, shutil, sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
      "$packed" "${packed%.gz}.part"
  fi
  chmod +x "${packed%.gz}.part"
  mv "${packed%.gz}.part" "${packed%.gz}" && rm -f "$packed"
done
continue_without_gpu=0
out_arg=
for arg in "$@"; do
  case $arg in
    --continue-without-gpu) continue_without_gpu=1 ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option '$arg' (see --help)" >&2; exit 64 ;;
    *)
      [[ -z $out_arg ]] || { echo "run.sh: give one OUTDIR" >&2; exit 64; }
      out_arg=$arg
      ;;
  esac
done
mkdir -p "${out_arg:-gpu-report}/logs"
OUT=$(cd "${out_arg:-gpu-report}" && pwd)
LOGS=$OUT/logs
PYTHON=${PYTHON:-python3}
BUDGET=${KILN_RUN_BUDGET:-450}
STARTED=$(date +%s)
DEADLINE=$((STARTED + BUDGET))
THREADS=$(nproc)
SEP=$'\x1f'  # separates one step's figures (values may hold spaces)

# ---- the records: one per step; report.txt and report.json are rewritten after every step ----
names=() statuses=() seconds=() figures=() notes=()
RESULT=incomplete  # until finish(): a run killed half-way leaves a report that says so
GPU_OK=0
GPU_REASON=
FATAL=  # why nothing could run although a GPU may be there (cuBLAS missing)
BUNDLE_VERSION=$(head -1 "$BUNDLE/VERSION" 2>/dev/null || echo unknown)

# record NAME STATUS SECONDS NOTE [KEY=VALUE...]
record() {
  local name=$1 status=$2 secs=$3 note=$4
  shift 4
  names+=("$name") statuses+=("$status") seconds+=("$secs") notes+=("$note")
  figures+=("$(IFS=$SEP; echo "$*")")
  printf '  %-20s %-11s %6ss  %s\n' "$name" "$status" "$secs" "$*"
  [[ -z $note ]] || printf '  %-20s %s\n' "" "$note"
  write_report
}

# figure_of STEP KEY: a figure an earlier step recorded (empty when absent).
figure_of() {
  local i kv
  for i in "${!names[@]}"; do
    [[ ${names[$i]} == "$1" ]] || continue
    local -a kvs=()
    IFS=$SEP read -r -a kvs <<<"${figures[$i]}"
    for kv in "${kvs[@]}"; do
      if [[ ${kv%%=*} == "$2" ]]; then
        echo "${kv#*=}"
        return 0
      fi
    done
  done
  return 0
}

count_not_passed() {
  local n=0 s
  for s in "${statuses[@]}"; do [[ $s == pass || $s == info ]] || n=$((n + 1)); done
  echo "$n"
}

result_line() {
  case $RESULT in
    pass) echo "PASS: every step passed" ;;
    no_gpu) echo "NO GPU: nothing was verified on a GPU ($GPU_REASON)" ;;
    fail) echo "FAIL: ${FATAL:-$(count_not_passed) of ${#names[@]} steps did not pass}" ;;
    *) echo "INCOMPLETE: the run has not reached its end" ;;
  esac
}

json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//[$'\t\n\r']/ }
  printf '"%s"' "$s"
}
# json_figure KEY VALUE: a number where VALUE is one, except versions ("2.40" must not become 2.4).
json_figure() {
  if [[ ! $1 =~ (glibc|python|torch|driver|cuda_runtime|cuda_driver|capability)$ &&
    $2 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then
    printf '%s' "$2"
  else
    json_string "$2"
  fi
}

write_report() {
  local i kv first now total
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  total=$(($(date +%s) - STARTED))
  {
    echo "kiln GPU verification: $(result_line)"
    echo "date $now, host $(uname -n), ${total}s; bundle: $BUNDLE_VERSION"
    echo
    printf '%-20s %-11s %7s  %s\n' step status seconds figures
    for i in "${!names[@]}"; do
      printf '%-20s %-11s %7s  %s\n' "${names[$i]}" "${statuses[$i]}" "${seconds[$i]}" "${figures[$i]//$SEP/ }"
      [[ -z ${notes[$i]} ]] || printf '%-20s %s\n' "" "${notes[$i]}"
    done
    echo
    echo "statuses: pass; info (figures only); fail; timeout; skipped; missing (a tool is absent: not verified);"
    echo "unsupported (the tool refused this machine: not verified); out_of_time (the ${BUDGET}s budget ran out)."
    echo "Each step's output: $LOGS/<step>.log"
  } >"$OUT/report.txt.tmp"
  {
    printf '{"result": %s, "summary": %s, "gpu_reason": %s, "date": %s, "host": %s, "seconds": %s, "bundle": %s,\n "steps": [' \
      "$(json_string "$RESULT")" "$(json_string "$(result_line)")" "$(json_string "$GPU_REASON")" \
      "$(json_string "$now")" "$(json_string "$(uname -n)")" "$total" "$(json_string "$BUNDLE_VERSION")"
    for i in "${!names[@]}"; do
      ((i == 0)) || printf ','
      printf '\n  {"name": %s, "status": %s, "seconds": %s, "note": %s, "log": %s, "figures": {' \
        "$(json_string "${names[$i]}")" "$(json_string "${statuses[$i]}")" "${seconds[$i]}" \
        "$(json_string "${notes[$i]}")" "$(json_string "$([[ ! -e $LOGS/${names[$i]}.log ]] || echo "logs/${names[$i]}.log")")"
      local -a kvs=()
      [[ -z ${figures[$i]} ]] || IFS=$SEP read -r -a kvs <<<"${figures[$i]}"
      first=1
      for kv in "${kvs[@]}"; do
        ((first)) || printf ', '
        first=0
        printf '%s: %s' "$(json_string "${kv%%=*}")" "$(json_figure "${kv%%=*}" "${kv#*=}")"
      done
      printf '}}'
    done
    printf '\n]}\n'
  } >"$OUT/report.json.tmp"
  mv "$OUT/report.txt.tmp" "$OUT/report.txt"
  mv "$OUT/report.json.tmp" "$OUT/report.json"
}

finish() {
  local code
  if [[ -n $FATAL ]]; then
    RESULT=fail code=1
  elif ((GPU_OK == 0)); then
    RESULT=no_gpu code=2
  elif (($(count_not_passed) == 0)); then
    RESULT=pass code=0
  else
    RESULT=fail code=1
  fi
  write_report
  echo
  cat "$OUT/report.txt"
  exit "$code"
}

# ---- running one command under its own timeout, clipped to what is left of the budget ----
RC=0
SECS=0
LIMIT=0
# run_logged NAME LIMIT CMD...: stdout and stderr into logs/NAME.log; sets RC (124: timed out; 125: no time
# left to start), SECS and LIMIT (the timeout it ran under).
run_logged() {
  local name=$1 limit=$2 left t0 t1
  shift 2
  left=$((DEADLINE - $(date +%s)))
  ((limit <= left)) || limit=$left
  if ((limit < 5)); then
    echo "not started: the run's ${BUDGET}s budget is spent" >"$LOGS/$name.log"
    RC=125 SECS=0
    return 0
  fi
  echo "\$ $*   (timeout ${limit}s)" >"$LOGS/$name.log"
  t0=$(date +%s.%N)
  set +e
  timeout --kill-after=10 "$limit" "$@" </dev/null >>"$LOGS/$name.log" 2>&1
  RC=$?
  set -e
  t1=$(date +%s.%N)
  ((RC != 137)) || RC=124
  LIMIT=$limit
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
}

status_of() {
  case $1 in
    0) echo pass ;;
    124) echo timeout ;;
    125) echo out_of_time ;;
    *) echo fail ;;
  esac
}
# The last non-empty line of a log, as a failed step's note (after the timeout, when the command ran into it).
tail_note() {
  ((RC != 124)) || printf 'timed out after %ss; last output: ' "$LIMIT"
  { grep -v '^[[:space:]]*$' "$1" || true; } | tail -1 | cut -c1-240
}
# kv_of FILE REGEX KEY: KEY's value among the key=value words of FILE's first line matching REGEX.
kv_of() { { grep -E -m1 -- "$2" "$1" || true; } | tr ' ' '\n' | awk -F= -v k="$3" '$1 == k { print $2; exit }'; }
# json_of FILE KEY: a flat value from the last line of FILE that starts with '{'.
json_of() {
  { grep '^{' "$1" || true; } | tail -1 | { grep -oE "\"$2\": *(\"[^\"]*\"|[^,}]*)" || true; } | head -1 |
    sed -E 's/^[^:]*: *//; s/^"//; s/"$//'
}
# round VALUE DIGITS ("n/a" when VALUE is not a number)
round() { awk -v v="$1" -v d="$2" 'BEGIN { if (v ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/) printf "%.*f", d, v; else print "n/a" }'; }
trim() { sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//' <<<"$1"; }
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }

# ---- what the programs need from this machine ----
TORCH=            # "2.11.0 cuda 13.0" when python3 imports torch
TORCH_SITE=       # the site-packages folder holding torch (and its nvidia/*/lib wheels)
KILN_ENV=(env)    # prefix for kiln's programs: lib/ and cuBLAS's folders on LD_LIBRARY_PATH (not for PyTorch)

step_environment() {
  local cpu probe
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
  probe=$("$PYTHON" -c 'import os, torch; print(torch.__version__, "cuda", torch.version.cuda); print(os.path.dirname(os.path.dirname(torch.__file__)))' 2>/dev/null || true)
  TORCH=$(sed -n 1p <<<"$probe")
  TORCH_SITE=$(sed -n 2p <<<"$probe")
  record environment info 0 "" "cpu=${cpu:-unknown}" "cores=$THREADS" \
    "os=$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -sr)" \
    "glibc=$(ldd --version 2>/dev/null | head -1 | awk '{ print $NF }')" \
    "python=$("$PYTHON" --version 2>&1 | awk '{ print $2 }' || true)" "torch=${TORCH:-none}"
}

# libcublas.so.13 and libcublasLt.so.13: the system CUDA toolkit, PyTorch's nvidia wheels, or the loader's cache.
step_cuda_libraries() {
  local -a dirs=() figs=()
  local d lib found ld=
  [[ -z ${KILN_CUDA_LIB_DIR:-} ]] || dirs+=("$KILN_CUDA_LIB_DIR")
  for d in ${CUDA_HOME:-} ${CUDA_PATH:-} /usr/local/cuda /usr/local/cuda-13*; do
    dirs+=("$d/lib64" "$d/lib" "$d/targets/x86_64-linux/lib")
  done
  if [[ -n $TORCH_SITE ]]; then
    for d in "$TORCH_SITE"/nvidia/*/lib; do dirs+=("$d"); done
  fi
  printf 'searched, in order: %s, then the loader cache (ldconfig -p)\n' "${dirs[*]}" >"$LOGS/cuda_libraries.log"
  for lib in libcublas.so.13 libcublasLt.so.13; do
    found=
    for d in "${dirs[@]}"; do
      if [[ -e $d/$lib ]]; then
        found=$d/$lib
        break
      fi
    done
    [[ -n $found ]] || found=$(ldconfig -p 2>/dev/null | awk -v n="$lib" '$1 == n { print $NF; exit }' || true)
    if [[ -z $found ]]; then
      record cuda_libraries missing 0 "$lib is in none of: \$KILN_CUDA_LIB_DIR, /usr/local/cuda*/lib64, PyTorch's nvidia/*/lib wheels${TORCH_SITE:+ under $TORCH_SITE}, the loader's cache. kiln cannot start without it: install CUDA 13's cuBLAS, or set KILN_CUDA_LIB_DIR to its folder" "${figs[@]}"
      if [[ $(figure_of nvidia_smi gpus) == "" ]]; then
        GPU_REASON="no working nvidia-smi and no CUDA 13 cuBLAS on this machine"
      else
        FATAL="$lib not found, so no kiln program can start"
      fi
      return 1
    fi
    figs+=("${lib%%.so*}=$found")
    [[ :$ld: == *:"$(dirname "$found")":* ]] || ld=${ld:+$ld:}$(dirname "$found")
  done
  # cuDNN 9 (convolutions; PyTorch's wheels have it in nvidia/cudnn/lib): kiln loads it on the first GPU
  # convolution, so without it only the CNN steps fail, naming it.
  found=
  for d in "${dirs[@]}"; do
    if [[ -e $d/libcudnn.so.9 ]]; then
      found=$d/libcudnn.so.9
      break
    fi
  done
  [[ -n $found ]] || found=$(ldconfig -p 2>/dev/null | awk '$1 == "libcudnn.so.9" { print $NF; exit }' || true)
  if [[ -n $found ]]; then
    figs+=("libcudnn=$found")
    [[ :$ld: == *:"$(dirname "$found")":* ]] || ld=${ld:+$ld:}$(dirname "$found")
  else
    figs+=("libcudnn=missing")
  fi
  # The bundle's lib/ first, so that no libstdc++ on the caller's LD_LIBRARY_PATH shadows the bundled one.
  KILN_ENV=(env "LD_LIBRARY_PATH=$BUNDLE/lib:$ld${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
  record cuda_libraries pass 0 "" "${figs[@]}"
}

step_nvidia_smi() {
  if ! command -v nvidia-smi >/dev/null; then
    echo "nvidia-smi is not on PATH" >"$LOGS/nvidia_smi.log"
    record nvidia_smi missing 0 "nvidia-smi is not on PATH: is the NVIDIA driver installed?"
    return 0
  fi
  run_logged nvidia_smi 30 bash -c 'nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader && echo && nvidia-smi'
  local first count name driver mem cap
  first=$(sed -n 2p "$LOGS/nvidia_smi.log")
  count=$(awk 'NR > 1 && /^$/ { exit } NR > 1 { n++ } END { print n + 0 }' "$LOGS/nvidia_smi.log")
  if ((RC == 0)) && [[ $first == *,*,* ]]; then
    IFS=, read -r name driver mem cap <<<"$first"
    record nvidia_smi pass "$SECS" "" "gpu=$(trim "$name")" "driver=$(trim "$driver")" "memory=$(trim "$mem")" \
      "compute_capability=$(trim "$cap")" "gpus=$count"
  else
    record nvidia_smi "$(if ((RC == 0)); then echo fail; else status_of "$RC"; fi)" "$SECS" "$(tail_note "$LOGS/nvidia_smi.log")"
  fi
}

step_kiln_info() {
  run_logged kiln_info 30 "${KILN_ENV[@]}" "$BUNDLE/bin/kiln" info --json
  local log=$LOGS/kiln_info.log available
  available=$(json_of "$log" cuda_available)
  if ((RC == 0)) && [[ $available == true ]]; then
    GPU_OK=1
    record kiln_info pass "$SECS" "" "cuda_available=true" "devices=$(json_of "$log" device_count)" \
      "cuda_runtime=$(json_of "$log" cuda_runtime_version)" "cuda_driver=$(json_of "$log" cuda_driver_version)"
  else
    GPU_REASON=$(json_of "$log" unavailable_reason)
    [[ -n $GPU_REASON ]] || GPU_REASON="kiln info failed: $(tail_note "$log")"
    record kiln_info fail "$SECS" "no usable GPU: $GPU_REASON" "cuda_available=${available:-unknown}"
  fi
}

# kiln doctor must pass here: every link of its chain (driver, CUDA_VISIBLE_DEVICES, an allocation, a kernel and a
# cuBLAS product on each GPU) on a machine whose GPU works. Its warnings (cuDNN or NCCL absent) do not fail the step.
step_kiln_doctor() {
  run_logged kiln_doctor 60 "${KILN_ENV[@]}" "$BUNDLE/bin/kiln" doctor --json
  local log=$LOGS/kiln_doctor.log usable failure note='' status warnings
  usable=$(json_of "$log" gpu_usable)
  warnings=$({ grep '^{' "$log" || true; } | tail -1 | { grep -o '"status":"WARN"' || true; } | grep -c . || true)
  status=$(status_of "$RC")
  if [[ $status == pass && $usable != true ]]; then status=fail; fi
  if [[ $status != pass ]]; then
    failure=$({ grep '^{' "$log" || true; } | tail -1 | { grep -oE '"first_failure":\{[^}]*\}' || true; } |
      { grep -oE '"found":"[^"]*"' || true; } | sed -E 's/^"found":"//; s/"$//')
    note=${failure:+first broken link: $failure}
    [[ -n $note ]] || note=$(tail_note "$log")
  fi
  record kiln_doctor "$status" "$SECS" "$note" "gpu_usable=${usable:-unknown}" "warnings=${warnings:-0}"
}

# gtest_record NAME STATUS NOTE ON_SKIP [KEY=VALUE...]: counts from logs/NAME.log (GoogleTest's output); names
# of the first failed or skipped tests go into the note. ON_SKIP is the status of a passing run with skips:
# "pass" where a skip is a test's own judgement (two GPUs needed; a missing GPU fails under KILN_REQUIRE_GPU),
# "skipped" where the skipped test is the point of the step.
gtest_record() {
  local name=$1 status=$2 note=$3 on_skip=$4 log=$LOGS/$1.log ran passed failed skipped which
  shift 4
  ran=$({ grep -oE '^\[==========\] [0-9]+ tests? from .* ran' "$log" || true; } | tail -1 | awk '{ print $2 }')
  passed=$({ grep -oE '^\[  PASSED  \] [0-9]+' "$log" || true; } | tail -1 | awk '{ print $4 }')
  skipped=$({ grep -oE '^\[  SKIPPED \] [0-9]+ test' "$log" || true; } | tail -1 | awk '{ print $4 }')
  # Summary lines name a test without "(N ms)"; a run that crashed has none, and then the in-run lines count.
  which=$({ grep -E '^\[  FAILED  \] [^0-9]' "$log" || true; } | awk '{ sub(/,$/, "", $4); print $4 }' | sort -u)
  failed=$(grep -c . <<<"$which" || true)
  if ((failed > 0)); then
    note="${note:+$note; }failed: $(head -5 <<<"$which" | paste -sd' ')$( ((failed <= 5)) || echo " ...")"
  fi
  if [[ ${skipped:-0} != 0 ]]; then
    which=$({ grep -E '^\[  SKIPPED \] [^0-9]' "$log" || true; } | awk '{ print $4 }' | sort -u | head -5 | paste -sd' ')
    note="${note:+$note; }skipped: $which"
    [[ $status != pass ]] || status=$on_skip
  fi
  [[ $status == pass || -n $note ]] || note=$(tail_note "$log")
  record "$name" "$status" "$SECS" "$note" "tests=${ran:-0}" "passed=${passed:-0}" "failed=$failed" \
    "skipped=${skipped:-0}" "$@"
}

# gtest_step NAME LIMIT FILTER ON_SKIP: kiln_tests on FILTER, where a missing GPU fails a test (KILN_REQUIRE_GPU=1).
gtest_step() {
  run_logged "$1" "$2" "${KILN_ENV[@]}" KILN_REQUIRE_GPU=1 KILN_TEST_DATA_DIR="$BUNDLE/tests/data" \
    "$BUNDLE/tests/kiln_tests" --gtest_filter="$3" --gtest_color=no
  gtest_record "$1" "$(status_of "$RC")" "" "$4"
}

find_sanitizer() {
  local c
  for c in "$(command -v compute-sanitizer || true)" /usr/local/cuda/bin/compute-sanitizer \
    /usr/local/cuda/compute-sanitizer/compute-sanitizer /usr/local/cuda-13*/bin/compute-sanitizer; do
    if [[ -n $c && -x $c ]]; then
      echo "$c"
      return 0
    fi
  done
  return 0
}

# sanitizer_step NAME TOOL LIMIT FILTER: kiln_tests on FILTER under compute-sanitizer --tool TOOL.
sanitizer_step() {
  local name=$1 tool=$2 limit=$3 filter=$4 sanitizer status note='' errors
  sanitizer=$(find_sanitizer)
  if [[ -z $sanitizer ]]; then
    echo "compute-sanitizer not found" >"$LOGS/$name.log"
    record "$name" missing 0 "compute-sanitizer is neither on PATH nor in /usr/local/cuda*/bin, so $tool did not run: install the CUDA toolkit's compute-sanitizer"
    return 0
  fi
  run_logged "$name" "$limit" "${KILN_ENV[@]}" KILN_REQUIRE_GPU=1 KILN_TEST_DATA_DIR="$BUNDLE/tests/data" \
    "$sanitizer" --tool "$tool" --error-exitcode 86 --print-limit 20 \
    "$BUNDLE/tests/kiln_tests" --gtest_filter="$filter" --gtest_color=no
  status=$(status_of "$RC")
  # memcheck ends with "ERROR SUMMARY: N errors", racecheck with "RACECHECK SUMMARY: N hazards displayed ...".
  errors=$({ grep -oE '(ERROR|RACECHECK) SUMMARY: [0-9]+' "$LOGS/$name.log" || true; } | tail -1 | awk '{ print $3 }')
  if grep -qiE 'device not supported|not supported on this (device|platform)' "$LOGS/$name.log"; then
    status=unsupported note="compute-sanitizer refused this GPU or platform (see the log): not verified"
  elif ((RC == 86)); then
    status=fail note="$tool reported ${errors:-some} errors"
  fi
  [[ $status != timeout ]] || note="timed out after ${LIMIT}s, before its summary; reports so far are in the log"
  gtest_record "$name" "$status" "$note" pass "$([[ $tool == racecheck ]] && echo hazards || echo errors)=${errors:-unknown}"
}

# Figures from kiln_bench's JSON output: bench_figures FILE prints KEY=VALUE lines.
bench_figures() {
  "$PYTHON" - "$1" <<'EOF' || true
import json, sys
runs = {b["name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"]}
def get(name, key, scale, fmt):
    b = runs.get(name)
    return format(b[key] / scale, fmt) if b and key in b and not b.get("error_occurred") else "n/a"
for n in (4096, 8192):
    for i, d in enumerate(("f32", "f16", "bf16")):
        print(f"kiln_mm_{d}_{n}_tflops=" + get(f"BM_KilnMmCuda/n:{n}/dtype:{i}/real_time", "FLOP/s", 1e12, ".1f"))
    print(f"cublas_sgemm_{n}_tflops=" + get(f"BM_CublasSgemm/{n}/real_time", "FLOP/s", 1e12, ".1f"))
for key, name in (("add_f32", "BM_AddF32Cuda/real_time"), ("copy_f32", "BM_CopyF32Cuda/real_time")):
    print(f"{key}_gbs=" + get(name, "bytes_per_second", 1e9, ".0f"))
sums = [n for n in runs if n.startswith("BM_SumF32Cuda")]
print("sum_f32_gbs=" + (get(sums[0], "bytes_per_second", 1e9, ".0f") if sums else "n/a"))
print("cases_with_errors=" + str(sum(1 for b in runs.values() if b.get("error_occurred"))))
EOF
}

step_bench() {
  run_logged bench 100 "${KILN_ENV[@]}" "$BUNDLE/bench/kiln_bench" --benchmark_filter='Cuda|Cublas' --benchmark_min_time=0.2 \
    --benchmark_out="$LOGS/bench.json" --benchmark_out_format=json
  local status note='' errors
  local -a figs=()
  status=$(status_of "$RC")
  [[ -s $LOGS/bench.json ]] && mapfile -t figs < <(bench_figures "$LOGS/bench.json")
  errors=$(printf '%s\n' "${figs[@]}" | awk -F= '$1 == "cases_with_errors" { print $2 }')
  if [[ ${errors:-0} != 0 ]]; then
    [[ $status != pass ]] || status=fail
    note="$errors cases reported errors (see bench.log)"
  fi
  [[ $status == pass || -n $note ]] || note=$(tail_note "$LOGS/bench.log")
  record bench "$status" "$SECS" "$note" "${figs[@]}"
}

step_gemm_vs_torch() {
  if [[ -z $TORCH ]]; then
    record gemm_vs_torch missing 0 "$PYTHON cannot import torch: no PyTorch side to compare with"
    return 0
  fi
  run_logged gemm_vs_torch 90 "$PYTHON" "$BUNDLE/bench/pytorch/gemm.py" --sizes 4096,8192 --min-time 0.2
  local log=$LOGS/gemm_vs_torch.log status n d t
  local -a figs=()
  status=$(status_of "$RC")
  for n in 4096 8192; do
    for d in f32:float32 f16:float16 bf16:bfloat16; do
      t=$(kv_of "$log" "^gemm framework=torch dtype=${d#*:} n=$n " tflops)
      figs+=("torch_${d%%:*}_${n}_tflops=${t:-n/a}"
        "kiln_over_torch_${d%%:*}_${n}=$(ratio "$(figure_of bench "kiln_mm_${d%%:*}_${n}_tflops")" "$t")")
    done
  done
  record gemm_vs_torch "$status" "$SECS" "$([[ $status == pass ]] || tail_note "$log")" "${figs[@]}"
}

# step_train DEVICE: kiln train for 3 epochs on the bundled Fashion-MNIST subset (10,000/2,000 images).
step_train() {
  local dev=$1 name=train_$1 log=$LOGS/train_$1.log acc status note=''
  run_logged "$name" 120 "${KILN_ENV[@]}" "$BUNDLE/bin/kiln" train --device "$dev" \
    --data "$BUNDLE/data/fashion-mnist" --epochs 3 --json --out "$OUT/$name"
  status=$(status_of "$RC")
  acc=$(json_of "$log" test_accuracy)
  # The default MLP reaches about 0.82 here; under 0.75 something computes wrongly.
  if [[ $status == pass ]] && ! awk -v a="${acc:-0}" 'BEGIN { exit !(a >= 0.75) }'; then
    status=fail note="test accuracy ${acc:-unknown} is under 0.75"
  fi
  [[ $status == pass || -n $note ]] || note=$(tail_note "$log")
  local -a figs=("test_accuracy=${acc:-n/a}" "seconds_per_epoch=$(round "$(json_of "$log" seconds_per_epoch)" 3)"
    "samples_per_second=$(round "$(json_of "$log" samples_per_second)" 0)")
  if [[ $dev == cpu ]]; then
    # The same seed and shuffling on both devices: only float rounding differs, so the accuracies stay close.
    local diff
    diff=$(awk -v a="$(figure_of train_cuda test_accuracy)" -v b="$acc" \
      'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) printf "%.4f", a - b; else print "n/a" }')
    figs+=("cuda_speedup=$(ratio "$(json_of "$log" seconds_per_epoch)" "$(figure_of train_cuda seconds_per_epoch)")"
      "accuracy_cuda_minus_cpu=$diff")
    if [[ $status == pass && $diff != n/a ]] && awk -v d="$diff" 'BEGIN { exit !(d > 0.02 || d < -0.02) }'; then
      status=fail note="the CUDA and CPU runs' test accuracies differ by $diff (more than 0.02)"
    fi
  fi
  rm -f "$OUT/$name/checkpoint.safetensors"  # megabytes that say nothing the metrics do not
  record "$name" "$status" "$SECS" "$note" "${figs[@]}"
}

# train_variant NAME WHAT EXTRA_KEYS FLAG...: `kiln train --device cuda FLAG...`, the same run as train_cuda otherwise.
# Its test accuracy must stay within 0.02 of train_cuda's on this 3-epoch subset run; the epoch time is reported
# against train_cuda's, with the JSON keys EXTRA_KEYS (space-separated) as further figures.
train_variant() {
  local name=$1 what=$2 extra=$3 log=$LOGS/$1.log acc status note='' diff key
  shift 3
  run_logged "$name" 120 "${KILN_ENV[@]}" "$BUNDLE/bin/kiln" train --device cuda "$@" \
    --data "$BUNDLE/data/fashion-mnist" --epochs 3 --json --out "$OUT/$name"
  status=$(status_of "$RC")
  acc=$(json_of "$log" test_accuracy)
  diff=$(awk -v a="$acc" -v b="$(figure_of train_cuda test_accuracy)" \
    'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) printf "%.4f", a - b; else print "n/a" }')
  if [[ $status == pass && $diff != n/a ]] && awk -v d="$diff" 'BEGIN { exit !(d > 0.02 || d < -0.02) }'; then
    status=fail note="$what test accuracy differs from the plain float32 run's by $diff (more than 0.02)"
  fi
  [[ $status == pass || -n $note ]] || note=$(tail_note "$log")
  rm -f "$OUT/$name/checkpoint.safetensors"
  local -a figs=("test_accuracy=${acc:-n/a}" "accuracy_minus_plain=$diff"
    "seconds_per_epoch=$(round "$(json_of "$log" seconds_per_epoch)" 3)"
    "speedup_over_plain=$(ratio "$(figure_of train_cuda seconds_per_epoch)" "$(json_of "$log" seconds_per_epoch)")")
  for key in $extra; do figs+=("$key=$(json_of "$log" "$key")"); done
  record "$name" "$status" "$SECS" "$note" "${figs[@]}"
}

# step_train_amp DTYPE: kiln train --amp DTYPE (bf16 or fp16) on the GPU (issue 11's bar is 0.5 points of float32's
# accuracy on the full 15-epoch run; this subset run allows 0.02).
step_train_amp() { train_variant "train_amp_$1" "--amp $1" "" --amp "$1"; }

# step_train_graph: kiln train --cuda-graph (the step captured once, replayed per batch), with the operations one
# replay runs (one launch each) and the replay count.
step_train_graph() { train_variant train_cuda_graph --cuda-graph "graph_nodes graph_replays" --cuda-graph; }

# seed_figure LOG LAYERS KEY: KEY of the JSON row for LAYERS layers in LOG (kiln bench and seed.py rows alike).
# With a fourth argument, of the CUDA-graph row ("graph": true) instead of the eager one.
seed_figure() {
  { grep -E "\"layers\": ?$2[,}]" "$1" || true; } | { if [[ -n ${4:-} ]]; then grep '"graph": *true' || true; else
    grep -v '"graph": *true' || true; fi; } | head -1 | { grep -oE "\"$3\": *(\"[^\"]*\"|[^,}]*)" || true; } |
    head -1 | sed -E 's/^[^:]*: *//; s/^"//; s/"$//'
}

# step_seed FRAMEWORK DEVICE: the seed suite (width 512, 10 and 50 layers): `kiln bench --suite seed`, or its
# PyTorch twin bench/pytorch/seed.py run directly (PyTorch must not see kiln's LD_LIBRARY_PATH).
# step_cnn FRAMEWORK: `kiln train --model cnn` (channels-last, its default: cuDNN's NHWC kernels) on CUDA for 2
# epochs of the bundle's Fashion-MNIST subset (its test accuracy checks the cuDNN path end to end), or PyTorch's
# twin of the same training (bench/pytorch/fashion.py's cnn case: the same model, data, augmentation and settings,
# channels-last, TF32 off as kiln's) for the epoch time.
step_cnn() {
  local fw=$1 name=cnn_$1_cuda log=$LOGS/cnn_$1_cuda.log acc status note=''
  if [[ $fw == kiln ]]; then
    run_logged "$name" 90 "${KILN_ENV[@]}" "$BUNDLE/bin/kiln" train --model cnn --device cuda \
      --data "$BUNDLE/data/fashion-mnist" --epochs 2 --json --out "$OUT/$name"
    rm -f "$OUT/$name/checkpoint.safetensors"
  elif [[ -n $TORCH ]]; then
    run_logged "$name" 120 "$PYTHON" "$BUNDLE/bench/pytorch/fashion.py" --device cuda \
      --data "$BUNDLE/data/fashion-mnist" --threads "$THREADS" --case '{"model": "cnn", "precision": "float32", "memory_format": "channels_last"}'
  else
    record "$name" missing 0 "$PYTHON cannot import torch"
    return 0
  fi
  status=$(status_of "$RC")
  acc=$(json_of "$log" test_accuracy)
  # 2 epochs on 10,000 images reach about 0.85; under 0.75 something computes wrongly. (PyTorch's row: time only.)
  if [[ $fw == kiln && $status == pass ]] && ! awk -v a="${acc:-0}" 'BEGIN { exit !(a >= 0.75) }'; then
    status=fail note="test accuracy ${acc:-unknown} is under 0.75"
  fi
  [[ $status == pass || -n $note ]] || note=$(tail_note "$log")
  local -a figs=("test_accuracy=${acc:-n/a}" "seconds_per_epoch=$(round "$(json_of "$log" seconds_per_epoch)" 3)"
    "samples_per_second=$(round "$(json_of "$log" samples_per_second)" 0)")
  # kiln's time over PyTorch's (under 1: kiln is faster).
  [[ $fw == kiln ]] || figs+=("kiln_over_torch_time=$(ratio "$(figure_of cnn_kiln_cuda seconds_per_epoch)" \
    "$(json_of "$log" seconds_per_epoch)")")
  record "$name" "$status" "$SECS" "$note" "${figs[@]}"
}

# step_seed FRAMEWORK DEVICE: the seed MLP workload (width 512, 10 and 50 layers) in kiln or PyTorch.
step_seed() {
  local fw=$1 dev=$2 name=seed_$1_$2 log=$LOGS/seed_$1_$2.log status
  local -a cmd
  if [[ $fw == kiln ]]; then
    cmd=("${KILN_ENV[@]}" "$BUNDLE/bin/kiln" bench --suite seed --json)
  elif [[ -n $TORCH ]]; then
    cmd=("$PYTHON" "$BUNDLE/bench/pytorch/seed.py")
  else
    record "$name" missing 0 "$PYTHON cannot import torch"
    return 0
  fi
  run_logged "$name" 90 "${cmd[@]}" --device "$dev" --threads "$THREADS"
  status=$(status_of "$RC")
  local -a figs=("steps_per_s_10=$(round "$(seed_figure "$log" 10 steps_per_s)" 1)"
    "steps_per_s_50=$(round "$(seed_figure "$log" 50 steps_per_s)" 1)"
    "loss_50=$(round "$(seed_figure "$log" 50 final_loss)" 4)")
  [[ $fw != kiln ]] || figs+=("fraction_of_floor_10=$(round "$(seed_figure "$log" 10 fraction_of_floor)" 2)"
    "fraction_of_floor_50=$(round "$(seed_figure "$log" 50 fraction_of_floor)" 2)"
    "kernels_per_step_10=$(round "$(seed_figure "$log" 10 kernels_per_step)" 0)")
  [[ $dev != cuda ]] || figs+=("graph_steps_per_s_10=$(round "$(seed_figure "$log" 10 steps_per_s graph)" 1)"
    "graph_steps_per_s_50=$(round "$(seed_figure "$log" 50 steps_per_s graph)" 1)")
  [[ $fw != kiln || $dev != cuda ]] || figs+=("graph_kernels_per_step_10=$(round "$(seed_figure "$log" 10 kernels_per_step graph)" 1)"
    "graph_nodes_10=$(seed_figure "$log" 10 graph_nodes graph)")
  record "$name" "$status" "$SECS" "$([[ $status == pass ]] || tail_note "$log")" "${figs[@]}"
}

step_seed_ratios() {
  local -a figs=()
  local dev l
  for dev in cuda cpu; do
    for l in 10 50; do
      figs+=("kiln_over_torch_${dev}_$l=$(ratio "$(figure_of "seed_kiln_$dev" "steps_per_s_$l")" "$(figure_of "seed_torch_$dev" "steps_per_s_$l")")")
    done
  done
  # Issue 12's GPU bar is against PyTorch eager (3x at 10 layers, 1.2x at 50); graph against graph beside it.
  for l in 10 50; do
    figs+=("kiln_graph_over_torch_eager_cuda_$l=$(ratio "$(figure_of seed_kiln_cuda "graph_steps_per_s_$l")" "$(figure_of seed_torch_cuda "steps_per_s_$l")")"
      "kiln_graph_over_torch_graph_cuda_$l=$(ratio "$(figure_of seed_kiln_cuda "graph_steps_per_s_$l")" "$(figure_of seed_torch_cuda "graph_steps_per_s_$l")")")
  done
  record seed_vs_torch info 0 "steps per second, kiln over PyTorch (over 1: kiln is faster)" "${figs[@]}"
}

# step_compare: `kiln compare` on the GPU: each op and 5 MLP training steps in float32 against float64 on the CPU.
step_compare() {
  local log=$LOGS/compare.log status outside
  run_logged compare 60 "${KILN_ENV[@]}" "$BUNDLE/bin/kiln" compare --device cuda --json
  status=$(status_of "$RC")  # kiln exits 1 when an op lands outside float32's expected error
  outside=$({ grep -o '"within":false' "$log" || true; } | grep -c . || true)
  record compare "$status" "$SECS" "$([[ $status == pass ]] || tail_note "$log")" \
    "all_within=$(json_of "$log" all_within)" "ops_outside_tolerance=${outside:-n/a}"
}

# step_deterministic: two `kiln train --deterministic` runs on the GPU must write byte-identical checkpoints.
step_deterministic() {
  local log=$LOGS/deterministic.log status note='' a=$OUT/deterministic_a b=$OUT/deterministic_b
  # shellcheck disable=SC2016  # $1.. belong to the inner shell
  run_logged deterministic 90 "${KILN_ENV[@]}" bash -c 'for out in "$3" "$4"; do "$1" train --device cuda --deterministic --epochs 1 --limit 5000 --data "$2" --json --out "$out" || exit; done' \
    deterministic "$BUNDLE/bin/kiln" "$BUNDLE/data/fashion-mnist" "$a" "$b"
  status=$(status_of "$RC")
  if [[ $status == pass ]] && ! cmp -s "$a/checkpoint.safetensors" "$b/checkpoint.safetensors"; then
    status=fail note="two --deterministic runs on the GPU wrote different checkpoints"
  fi
  [[ $status == pass || -n $note ]] || note=$(tail_note "$log")
  record deterministic "$status" "$SECS" "$note" "bit_identical=$([[ $status == pass ]] && echo yes || echo no)"
  rm -rf "$a" "$b"
}

step_examples() {
  mkdir -p "$OUT/examples"
  # shellcheck disable=SC2016  # $1 and $2 belong to the inner shell
  run_logged examples 60 "${KILN_ENV[@]}" bash -c 'cd "$1" && "$2/examples/example_quickstart" && "$2/examples/example_two_layer_classifier" --device cuda && "$2/examples/example_model_parallel" --device cuda' \
    examples "$OUT/examples" "$BUNDLE"
  record examples "$(status_of "$RC")" "$SECS" "$( ((RC == 0)) || tail_note "$LOGS/examples.log")"
}

# NCCL on one GPU: kiln_dist_tests' Nccl* cases (collectives on a one-rank communicator, DDP over it), then
# kiln_nccl_bandwidth's all_reduce figures. NCCL (218 MB) is not in the bundle: kiln loads the machine's
# libnccl.so.2; without one both parts say so and the step is skipped. Several GPUs (real traffic between ranks)
# are not tested here.
step_nccl() {
  local log=$LOGS/nccl.log bw=$LOGS/nccl_bandwidth.log status note='' figs=()
  run_logged nccl 60 "${KILN_ENV[@]}" KILN_REQUIRE_GPU=1 "$BUNDLE/tests/kiln_dist_tests" --gtest_filter='Nccl*' --gtest_color=no
  if grep -q 'cannot load NCCL' "$log"; then
    record nccl skipped "$SECS" "no libnccl.so.2 on this machine (not bundled): $(tail_note "$log")"
    return
  fi
  gtest_record nccl "$(status_of "$RC")" "" pass
  run_logged nccl_bandwidth 60 "${KILN_ENV[@]}" "$BUNDLE/bench/kiln_nccl_bandwidth" 1 16 128 512
  status=$(status_of "$RC")
  # Rows: bytes iters time_us algbw busbw.
  mapfile -t figs < <(awk '$1 ~ /^[0-9]+$/ { printf "allreduce_%dMiB_us=%s\nallreduce_%dMiB_algbw_GBps=%s\n", $1 / 1048576, $3, $1 / 1048576, $4 }' "$bw")
  ((${#figs[@]} > 0)) || [[ $status != pass ]] || status=fail note="no bandwidth rows in nccl_bandwidth.log"
  [[ $status == pass || -n $note ]] || note=$(tail_note "$bw")
  record nccl_bandwidth "$status" "$SECS" "$note" "${figs[@]}"
}

# ---- the run: GPU checks first, then the slowest (the sanitizers), so the budget cuts the least ----
CUDA_TESTS='*cuda*:*CUDA*:TensorPinned.*-CUDALargeTensor.*'
ALLOCATOR_TESTS='CUDACachingAllocator.*:CUDAPinnedAllocator.*:CUDARecordStream.*:CUDAOpStream.*:TensorPinned.*:CUDAGraphTest.*:GraphStepCUDA.*'
OP_TESTS='Devices/Pointwise*/cuda:Devices/Reduce*/cuda:Devices/Index*/cuda:Devices/Linalg*/cuda:Devices/TableBinaryTest.*/cuda:TableBinaryCUDA.*:Devices/TorchReferenceOps.*/cuda:Devices/FusedCase.*/cuda:Devices/TensorBasics.*/cuda:Devices/TorchReferenceCnnLayers.*/cuda:Devices/NNCnnLayersDevices.*/cuda:Devices/ChannelsLast.*/cuda:Devices/NNCrossEntropy.*/cuda:Devices/NNLosses.Fused*/cuda'
RACE_TESTS='Devices/Reduce*/cuda:Devices/Index*/cuda:Devices/NNActivations.SoftmaxAndLogSoftmax/cuda:Devices/NNCrossEntropy.*/cuda:Devices/NNLosses.Fused*/cuda'

echo "kiln GPU verification into $OUT (budget ${BUDGET}s)"
write_report
step_environment
step_nvidia_smi
step_cuda_libraries || finish
step_kiln_info
((GPU_OK == 1 || continue_without_gpu == 1)) || finish
step_kiln_doctor
gtest_step cuda_tests 150 "$CUDA_TESTS" pass
gtest_step large_tensor 60 'CUDALargeTensor.*' skipped
step_bench
step_gemm_vs_torch
gtest_step oom_recovery 60 'CUDAMemoryLimit.*:CUDACachingAllocator.OutOfMemory*:FindMaxBatchSizeCUDA.*' pass
step_compare
step_deterministic
step_nccl
step_train cuda
step_train_amp bf16
step_train_amp fp16
step_train_graph
step_train cpu
step_cnn kiln
step_cnn torch
step_seed kiln cuda
step_seed torch cuda
step_seed kiln cpu
step_seed torch cpu
step_seed_ratios
sanitizer_step memcheck_allocator memcheck 40 "$ALLOCATOR_TESTS"
sanitizer_step memcheck_ops memcheck 120 "$OP_TESTS"
sanitizer_step racecheck racecheck 90 "$RACE_TESTS"
step_examples
finish
