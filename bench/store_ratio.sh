#!/usr/bin/env bash
# The trace store's CPU per span against nop's (issue 16, item 5), in rounds: each round runs
# bench/run.sh's nop_8k_1m, store_8k_1m (both at 1M spans/s) and sat_nop_8k, sat_store_8k (as
# fast as possible), one after the other, so that the two of a pair share the machine's
# state. Prints each round's ratios and their medians, and writes them to $RESULTS/runs.txt.
# Also otlpd's CPU use at saturation (CPU-seconds per second, "cores"): on a machine where the
# load generator runs too, it shares the cores with otlpd, so otlpd's CPU per span there is
# its cores divided by a rate that the load generator sets (README, Benchmarks).
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
at_rate, saturation, cores = [], [], []
print("round   nop@1M  store@1M  ratio | nop@sat (spans/s, cores)  store@sat (spans/s, cores)  ratio  cores"
      "   (CPU-s per million spans)")
for r in range(1, rounds + 1):
    run = {name: json.load(open(f"{results}/r{r}/{name}.json")) for name in
           ("nop_8k_1m", "store_8k_1m", "sat_nop_8k", "sat_store_8k")}
    cpu = {name: j["collector_cpu_seconds_per_million_spans"] for name, j in run.items()}
    rate = {name: j["accepted_spans_per_s"] / 1e6 for name, j in run.items()}
    at_rate.append(cpu["store_8k_1m"] / cpu["nop_8k_1m"] - 1)
    saturation.append(cpu["sat_store_8k"] / cpu["sat_nop_8k"] - 1)
    used = {name: run[name]["collector_cpu_percent_of_core"] / 100 for name in ("sat_nop_8k", "sat_store_8k")}
    cores.append(used["sat_store_8k"] / used["sat_nop_8k"] - 1)
    print(f"{r:>5}   {cpu['nop_8k_1m']:.3f}   {cpu['store_8k_1m']:.3f}   {at_rate[-1]:+.0%} |"
          f" {cpu['sat_nop_8k']:.3f} ({rate['sat_nop_8k']:.2f}M, {used['sat_nop_8k']:.2f})"
          f"     {cpu['sat_store_8k']:.3f} ({rate['sat_store_8k']:.2f}M, {used['sat_store_8k']:.2f})"
          f"        {saturation[-1]:+.0%}  {cores[-1]:+.0%}")
    for name in ("sat_nop_8k", "sat_store_8k"):  # (load generators before 2026-12-05 did not say)
        if "loadgen_cpu_percent_of_core" in run[name]:
            print(f"        {name}: the load generator {run[name]['loadgen_cpu_percent_of_core'] / 100:.2f} cores,"
                  f" the machine {run[name]['machine_idle_percent']:.1f} % idle,"
                  f" {run[name]['machine_steal_percent']:.1f} % stolen")
def summary(values):
    return f"{statistics.median(values):+.0%} (spread {min(values):+.0%} to {max(values):+.0%})"
print(f"median at 1M spans/s {summary(at_rate)}; at saturation {summary(saturation)}, "
      f"and otlpd's cores there {summary(cores)}")
PY
