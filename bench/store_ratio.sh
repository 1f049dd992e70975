#!/usr/bin/env bash
# The trace store's CPU per span against nop's (issue 16, item 5), in rounds: each round runs
# bench/run.sh's nop_8k_1m, store_8k_1m (both at 1M spans/s) and sat_nop_8k, sat_store_8k (as
# fast as possible), one after the other, so that the two of a pair share the machine's
# state. Prints each round's ratios and their medians, and writes them to $RESULTS/runs.txt.
#   ROUNDS (default 5), DURATION (seconds per run, default 15), OTLPD (another build),
#   RESULTS (default bench/results/store_ratio_<UTC date and time>)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
export DURATION=${DURATION:-15}
RESULTS=${RESULTS:-$PWD/bench/results/store_ratio_$(date -u +%Y-%m-%dT%H%M)}
mkdir -p "$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round of $ROUNDS" >&2
  RESULTS=$RESULTS/r$round bench/run.sh nop_8k_1m store_8k_1m sat_nop_8k sat_store_8k > "$RESULTS/r$round.log" 2>&1 ||
    { tail -20 "$RESULTS/r$round.log"; exit 1; }
done
python3 - "$RESULTS" "$ROUNDS" <<'PY' | tee "$RESULTS/runs.txt"
import json, statistics, sys
results, rounds = sys.argv[1], int(sys.argv[2])
at_rate, saturation = [], []
print("round   nop@1M  store@1M  ratio | nop@sat (spans/s)  store@sat (spans/s)  ratio   (CPU-s per million spans)")
for r in range(1, rounds + 1):
    run = {name: json.load(open(f"{results}/r{r}/{name}.json")) for name in
           ("nop_8k_1m", "store_8k_1m", "sat_nop_8k", "sat_store_8k")}
    cpu = {name: j["collector_cpu_seconds_per_million_spans"] for name, j in run.items()}
    rate = {name: j["accepted_spans_per_s"] / 1e6 for name, j in run.items()}
    at_rate.append(cpu["store_8k_1m"] / cpu["nop_8k_1m"] - 1)
    saturation.append(cpu["sat_store_8k"] / cpu["sat_nop_8k"] - 1)
    print(f"{r:>5}   {cpu['nop_8k_1m']:.3f}   {cpu['store_8k_1m']:.3f}   {at_rate[-1]:+.0%} |"
          f" {cpu['sat_nop_8k']:.3f} ({rate['sat_nop_8k']:.2f}M)      {cpu['sat_store_8k']:.3f} ({rate['sat_store_8k']:.2f}M)"
          f"       {saturation[-1]:+.0%}")
print(f"median at 1M spans/s {statistics.median(at_rate):+.0%} (spread {min(at_rate):+.0%} to {max(at_rate):+.0%}); "
      f"at saturation {statistics.median(saturation):+.0%} (spread {min(saturation):+.0%} to {max(saturation):+.0%})")
PY
