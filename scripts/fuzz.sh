#!/usr/bin/env bash
# Long fuzzing: builds every libFuzzer target (clang, build-fuzz, as scripts/test.sh does),
# then runs each in turn for a set time, and prints per target the executions, the coverage
# (libFuzzer's last cov: edges and ft: features) and what it found.
#   scripts/fuzz.sh [seconds per target]      (default 3600, or FUZZ_SECONDS)
#   FUZZ_TARGETS="otlpd_fuzz_grpc ..."        only these targets
#   JOBS=2                                    ninja's parallelism (default: ninja's own)
# The corpus each target grows is kept between runs in build-fuzz/long-corpus-<target>; the
# committed seeds (fuzz/corpus/<dir>) are only read, never written. Logs and findings (crash-,
# leak-, timeout-, oom- files) go to build-fuzz/fuzz-runs/<date>/<target>/.
# Exits non-zero if any target found something (or could not run).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-${FUZZ_SECONDS:-3600}}
if ! [[ $SECONDS_EACH =~ ^[0-9]+$ ]] || ((SECONDS_EACH == 0)); then
  echo "usage: $0 [seconds per target]" >&2
  exit 2
fi
BUILD=build-fuzz

echo "=== Building the libFuzzer targets ($BUILD) ==="
# The configuration of scripts/test.sh (its OTLPD_FUZZ_SECONDS, ctest's run time, is left as cached).
CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTLPD_FUZZ=ON \
  -DOTLPD_BUILD_TESTS=OFF -DOTLPD_BUILD_BENCH=OFF >/dev/null
ninja -C "$BUILD" ${JOBS:+-j"$JOBS"} otlpd_fuzzers

MANIFEST=$BUILD/fuzz/fuzzers.txt  # target <tab> seed directory <tab> dictionary or -
RUN_DIR=$PWD/$BUILD/fuzz-runs/$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN_DIR"

declare -a rows=() findings=()
failed=0
while IFS=$'\t' read -r target seeds dict; do
  [[ -n $target ]] || continue
  if [[ -n ${FUZZ_TARGETS:-} && " $FUZZ_TARGETS " != *" $target "* ]]; then continue; fi
  corpus=$PWD/$BUILD/long-corpus-$target
  out=$RUN_DIR/$target
  mkdir -p "$corpus" "$out"
  args=(-max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$out/")
  [[ $dict == - ]] || args+=(-dict="$dict")
  echo "=== $target: ${SECONDS_EACH} s (corpus $corpus, seeds $seeds) ==="
  # New inputs go to the first directory only: the seed directory is read, never written.
  status=0
  "$BUILD/fuzz/$target" "${args[@]}" "$corpus" "$seeds" >"$out/log" 2>&1 || status=$?

  # The last stats line ("#1234 pulse  cov: 567 ft: 890 corp: ...") and the final stats.
  last=$(grep -E '^#[0-9]+' "$out/log" | tail -n 1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -n 1)
  [[ -n $execs ]] || execs=$(sed -E -n 's/^#([0-9]+).*/\1/p' <<<"$last")
  cov=$(sed -E -n 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -E -n 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  artifacts=$(find "$out" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
              -o -name 'oom-*' \) | sort)
  found=$(grep -c . <<<"$artifacts" || true)
  if ((found > 0)); then
    failed=1
    while read -r a; do findings+=("$target: $a"); done <<<"$artifacts"
  elif ((status != 0)); then
    failed=1
    findings+=("$target: exited with status $status and no artifact (see $out/log)")
    found=error
  fi
  rows+=("$(printf '%-24s %14s %8s %9s  %s' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$found")")
  echo "$target: ${execs:-?} executions, cov ${cov:-?}, ft ${ft:-?}, findings $found"
done <"$MANIFEST"

echo
echo "=== Fuzzing summary: ${SECONDS_EACH} s per target (logs in $RUN_DIR) ==="
printf '%-24s %14s %8s %9s  %s\n' target executions cov ft findings
for row in "${rows[@]}"; do echo "$row"; done
if ((${#findings[@]} > 0)); then
  echo
  echo "Findings (reproduce with: $BUILD/fuzz/<target> <file>):"
  for f in "${findings[@]}"; do echo "  $f"; done
fi
exit "$failed"
