#!/usr/bin/env bash
# Crash loop side by side (issue 15, "nothing acknowledged is lost"): bench/crash_loop.py against
# otlpd and against the OpenTelemetry Collector v0.159.0 (bench/build_otelcol.sh, with contrib's
# file_storage extension), each with a persistent sending queue, the same seed and kill count,
# once with retry_on_failure::max_elapsed_time 0 (retry forever) and once with 300s (otelcol's
# default). Prints a markdown table: kills, spans acknowledged, lost, duplicates, drain time.
#
#   bench/compare_crash_loop.sh [extra crash_loop.py arguments...]
#
# Environment: OTLPD (default build/app/otlpd; e.g. OTLPD=build-release/app/otlpd),
# SEED (default: a random one, printed, shared by all runs), KILLS (default 20),
# COLLECTORS (default "otlpd otelcol"), RETRIES (default "0 300s"),
# RESULTS (JSON reports and logs; default /tmp/otlpd-crash-loop), PY (default .venv/bin/python).
# Needs Go (for the otelcol build) and the test virtualenv (scripts/install-deps.sh --python).
# Exit code: 0 when every run lost nothing, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
OTLPD=${OTLPD:-build/app/otlpd}
SEED=${SEED:-$(( (RANDOM << 15) | RANDOM ))}
KILLS=${KILLS:-20}
COLLECTORS=${COLLECTORS:-otlpd otelcol}
RETRIES=${RETRIES:-0 300s}
RESULTS=${RESULTS:-/tmp/otlpd-crash-loop}
PY=${PY:-.venv/bin/python}
mkdir -p "$RESULTS"

OTELCOL=
case " $COLLECTORS " in *" otelcol "*) OTELCOL=$(bench/build_otelcol.sh) ;; esac

echo "crash loop: seed $SEED, $KILLS kills, results in $RESULTS" >&2
reports=()
status=0
for retry in $RETRIES; do
  for collector in $COLLECTORS; do
    case $collector in
      otlpd) bin=$OTLPD ;;
      otelcol) bin=$OTELCOL ;;
      *) echo "unknown collector $collector" >&2; exit 2 ;;
    esac
    label="$collector, max_elapsed_time $retry"
    json="$RESULTS/${collector}_met${retry}.json"
    rm -f "$json"
    echo "--- $label ($bin)" >&2
    rc=0
    "$PY" bench/crash_loop.py --binary "$bin" --seed "$SEED" --kills "$KILLS" --max-elapsed-time "$retry" \
      --label "$label" --json "$json" --workdir "$RESULTS/${collector}_met${retry}" "$@" > /dev/null || rc=$?
    [ "$rc" -eq 0 ] || status=1
    reports+=("$json")
  done
done

"$PY" - "$SEED" "$KILLS" "${reports[@]}" <<'PY'
import json, sys
seed, kills, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
runs = []
for p in paths:
    try:
        runs.append(json.load(open(p)))
    except (OSError, ValueError) as e:
        runs.append({"label": p, "error": f"no report ({e.__class__.__name__})"})
rows = [
    ("kills (while backend down)", lambda r: f"{r['kills']} ({r['kills_while_backend_down']})"),
    ("spans acknowledged", lambda r: r["spans_acknowledged"]),
    ("acknowledged while backend down", lambda r: r["spans_acknowledged_while_backend_down"]),
    ("acknowledged, undelivered at a kill (mean/max)",
     lambda r: f"{r['in_flight_at_kill_mean']} / {r['in_flight_at_kill_max']}"),
    ("**lost**", lambda r: f"**{r['lost']}**"),
    ("duplicates", lambda r: r["duplicates"]),
    ("unacknowledged but delivered", lambda r: r["unacknowledged_delivered"]),
    ("unknown/corrupt spans", lambda r: r["unknown_or_corrupt_spans"]),
    ("backend outages (s down)", lambda r: f"{r['backend_outages']} ({r['backend_down_seconds']})"),
    ("exits by itself / failed starts", lambda r: f"{r['unexpected_exits']} / {r['startup_failures']}"),
    ("drain time, s", lambda r: f"{r['drain_seconds']}" + ("" if r["drained"] else " (timed out)")),
    ("elapsed, s", lambda r: r["elapsed_seconds"]),
    ("log: error lines / 'dropped'", lambda r: "{error_lines} / {dropped}".format(**r["collector_log"]["counts"])),
]
print(f"\nCrash loop, seed {seed}, {kills} SIGKILLs per run, persistent queue (file_storage)\n")
print("| | " + " | ".join(r.get("label", "?") for r in runs) + " |")
print("|---|" + "---:|" * len(runs))
for name, get in rows:
    cells = []
    for r in runs:
        if r.get("error"):
            cells.append("error" if name != "kills (while backend down)" else f"error: {r['error'][:60]}")
        else:
            cells.append(str(get(r)))
    print(f"| {name} | " + " | ".join(cells) + " |")
PY
exit $status
