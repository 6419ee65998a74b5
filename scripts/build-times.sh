#!/usr/bin/env bash
# Prints the slowest translation units of a Ninja build dir, with the total compile seconds and the unit count.
#
# usage: scripts/build-times.sh [-n N] [-m SUBSTRING] [--last-run] [BUILD_DIR]
#   BUILD_DIR   a Ninja build dir (default: build); the times come from its .ninja_log
#   -n N        how many of the slowest units to list (default 15; 0 lists none, -1 lists all)
#   -m STR      only units whose object path contains STR, e.g. -m kiln_tests.dir for the test target
#   --last-run  only the units the most recent ninja run compiled (default: every unit, at its latest compile)
#
# .ninja_log gains a line each time an output is rebuilt, so a unit appears once per build that compiled it; the
# latest line per output counts. A translation unit is an output ending in .o. The times are wall seconds per
# compiler process, which is its CPU time when the machine was not oversubscribed (ccache hits count as near 0:
# set CCACHE_DISABLE=1 for the build being measured).
set -euo pipefail
top=15 match="" last_run=0 build_dir=""
while (($#)); do
  case "$1" in
    -n) top=$2; shift 2 ;;
    -m) match=$2; shift 2 ;;
    --last-run) last_run=1; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "build-times: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) build_dir=$1; shift ;;
  esac
done
build_dir=${build_dir:-build}
log="$build_dir/.ninja_log"
if [[ ! -f "$log" ]]; then
  echo "build-times: no $log (is $build_dir a Ninja build dir that has been built?)" >&2
  exit 1
fi
# Fields: start ms, end ms, mtime, output, command hash. Each ninja run appends its edges in the order they
# finish, with times counted from the run's own start, so an end time smaller than the previous line's starts
# a new run.
awk -F'\t' -v match_str="$match" -v last_run="$last_run" '
  /^#/ { next }
  NF >= 4 {
    if (last_run && have_prev && $2 + 0 < prev_end) { delete secs }
    prev_end = $2 + 0; have_prev = 1
    secs[$4] = ($2 - $1) / 1000.0
  }
  END {
    for (out in secs)
      if (out ~ /\.o$/ && index(out, match_str) > 0) printf "%.2f\t%s\n", secs[out], out
  }' "$log" | sort -t$'\t' -k1,1 -rn | awk -F'\t' -v top="$top" '
  { total += $1; n += 1; if (top < 0 || n <= top) printf "%8.2f  %s\n", $1, $2 }
  END { if (n == 0) { print "build-times: no translation units matched" > "/dev/stderr"; exit 1 }
        printf "total: %.1f s of compile time over %d translation units\n", total, n }'
