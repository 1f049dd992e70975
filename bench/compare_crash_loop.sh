#!/usr/bin/env bash
# Crash loop side by side (issue 15, "nothing acknowledged is lost"): bench/crash_loop.py against
# otlpd and against the OpenTelemetry Collector v0.159.0 (bench/build_otelcol.sh, with contrib's
# file_storage extension), each with a persistent sending queue, the same seed and the same
# number of stops, in one or more scenarios. Prints one markdown table per scenario: stops,
# spans acknowledged, lost, duplicates, drain time.
#
#   bench/compare_crash_loop.sh [extra crash_loop.py arguments, given to every run...]
#
# Scenarios (SCENARIOS, default "kill term noretry bleed"; SCENARIOS=kill is this script's
# former run):
#   kill     SIGKILL loop, backend outages of 1-4 s, once per retry_on_failure::max_elapsed_time
#            in RETRIES (default "0 300s": retry forever, otelcol's default)
#   term     graceful restarts: SIGTERM (waited for) instead of SIGKILL, outages of 1-4 s,
#            retry enabled, max_elapsed_time 0. A queue that drains at shutdown, or deletes what
#            fails while it shuts down, loses here (otelcol issue 15677)
#   noretry  SIGTERM restarts with retry_on_failure::enabled false: a batch whose one attempt
#            failed must stay queued, during an outage as at shutdown
#   bleed    SIGKILL loop with outages of 5-8 s that outlast max_elapsed_time 2s, and the
#            collector living 2-6 s after its first acknowledgement (BLEED_KILL_DELAY): a queue
#            that drops the head it retried too long loses here (otelcol issue 15324)
#
# Environment: OTLPD (default build/app/otlpd; e.g. OTLPD=build-release/app/otlpd),
# SEED (default: a random one, printed, shared by all runs), KILLS (stops per run, default 20),
# COLLECTORS (default "otlpd otelcol"), SCENARIOS, RETRIES (kill scenario, default "0 300s"),
# BLEED_KILL_DELAY (default "2 6"), RESULTS (JSON reports and workdirs with the collectors'
# logs; default /tmp/otlpd-crash-loop), PY (default .venv/bin/python).
# Needs Go (for the otelcol build) and the test virtualenv (scripts/install-deps.sh --python).
# Exit code: 0 when every run lost nothing, 1 otherwise (otelcol is expected to lose in
# noretry and bleed).
set -euo pipefail
cd "$(dirname "$0")/.."
OTLPD=${OTLPD:-build/app/otlpd}
SEED=${SEED:-$(( (RANDOM << 15) | RANDOM ))}
KILLS=${KILLS:-20}
COLLECTORS=${COLLECTORS:-otlpd otelcol}
SCENARIOS=${SCENARIOS:-kill term noretry bleed}
RETRIES=${RETRIES:-0 300s}
BLEED_KILL_DELAY=${BLEED_KILL_DELAY:-2 6}
RESULTS=${RESULTS:-/tmp/otlpd-crash-loop}
PY=${PY:-.venv/bin/python}
mkdir -p "$RESULTS"

for scenario in $SCENARIOS; do
  case $scenario in
    kill|term|noretry|bleed) ;;
    *) echo "unknown scenario $scenario (known: kill term noretry bleed)" >&2; exit 2 ;;
  esac
done
for collector in $COLLECTORS; do
  case $collector in
    otlpd|otelcol) ;;
    *) echo "unknown collector $collector" >&2; exit 2 ;;
  esac
done

OTELCOL=
case " $COLLECTORS " in *" otelcol "*) OTELCOL=$(bench/build_otelcol.sh) ;; esac

echo "crash loop: seed $SEED, $KILLS stops per run, scenarios: $SCENARIOS; results in $RESULTS" >&2
manifest=$RESULTS/manifest.tsv   # scenario <tab> JSON report, in the order of the runs
: > "$manifest"
status=0

run() {  # scenario, run name, collector, label, crash_loop.py arguments...
  local scenario=$1 name=$2 collector=$3 label=$4 bin rc=0
  shift 4
  case $collector in
    otlpd) bin=$OTLPD ;;
    otelcol) bin=$OTELCOL ;;
  esac
  local json="$RESULTS/$name.json"
  rm -f "$json"
  echo "--- $scenario: $label ($bin)" >&2
  "$PY" bench/crash_loop.py --binary "$bin" --seed "$SEED" --kills "$KILLS" \
    --label "$label" --json "$json" --workdir "$RESULTS/$name" "$@" > /dev/null || rc=$?
  [ "$rc" -eq 0 ] || status=1
  printf '%s\t%s\n' "$scenario" "$json" >> "$manifest"
}

for scenario in $SCENARIOS; do
  case $scenario in
    kill)
      for retry in $RETRIES; do
        for collector in $COLLECTORS; do
          run kill "kill_${collector}_met$retry" "$collector" "$collector, max_elapsed_time $retry" \
            --max-elapsed-time "$retry" "$@"
        done
      done ;;
    term)
      for collector in $COLLECTORS; do
        run term "term_$collector" "$collector" "$collector" --stop-signal TERM --max-elapsed-time 0 "$@"
      done ;;
    noretry)
      for collector in $COLLECTORS; do
        run noretry "noretry_$collector" "$collector" "$collector" --stop-signal TERM --retry-enabled false "$@"
      done ;;
    bleed)
      # shellcheck disable=SC2086  # BLEED_KILL_DELAY is "MIN MAX"
      for collector in $COLLECTORS; do
        run bleed "bleed_$collector" "$collector" "$collector" --outage 5 8 --max-elapsed-time 2s \
          --kill-delay $BLEED_KILL_DELAY "$@"
      done ;;
  esac
done

"$PY" - "$SEED" "$KILLS" "$manifest" <<'PY'
import json, sys
seed, kills, manifest = sys.argv[1], sys.argv[2], sys.argv[3]
TITLES = {
    "kill": "SIGKILL loop with backend outages",
    "term": "graceful restarts (SIGTERM) with backend outages (otelcol issue 15677)",
    "noretry": "graceful restarts (SIGTERM), retry_on_failure disabled",
    "bleed": "SIGKILL loop, outages longer than max_elapsed_time (head bleeding, otelcol issue 15324)",
}
groups = {}
for line in open(manifest):
    scenario, path = line.rstrip("\n").split("\t")
    try:
        run = json.load(open(path))
    except (OSError, ValueError) as e:
        run = {"label": path, "error": f"no report ({e.__class__.__name__})"}
    groups.setdefault(scenario, []).append(run)


def describe(s):
    if not s:
        return ""
    parts = [f"SIG{s['stop_signal']} x {s['kills']}",
             f"{s['kill_delay'][0]:g}-{s['kill_delay'][1]:g} s after the first ack",
             "retry_on_failure " + ("enabled" if s["retry_enabled"] else "disabled")]
    if s["retry_enabled"]:
        parts.append(f"max_elapsed_time {s['max_elapsed_time']}")
    parts.append(f"outages {s['outage'][0]:g}-{s['outage'][1]:g} s every {s['uptime'][0]:g}-{s['uptime'][1]:g} s"
                 if s["outages"] else "no outages")
    return ", ".join(parts)


def stops(r):
    return f"{r['kills']} ({r['kills_while_backend_down']})"


rows = [
    ("stops (while backend down)", stops),
    ("spans acknowledged", lambda r: r["spans_acknowledged"]),
    ("acknowledged while backend down", lambda r: r["spans_acknowledged_while_backend_down"]),
    ("acknowledged, undelivered at a stop (mean/max)",
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
term_rows = [
    ("SIGTERM: exit after, s (mean/max)", lambda r: f"{r['stop_seconds_mean']} / {r['stop_seconds_max']}"),
    ("SIGTERM: SIGKILLed after the timeout", lambda r: r["stop_timeouts"]),
    ("SIGTERM: exit codes", lambda r: ", ".join(f"{k}: {v}" for k, v in r["stop_exit_codes"].items())),
]
for scenario, runs in groups.items():
    ok = [r for r in runs if not r.get("error")]
    settings = ok[0].get("settings") if ok else None
    print(f"\n### {scenario}: {TITLES.get(scenario, scenario)}\n")
    print(f"Seed {seed}, persistent queue (file_storage); {describe(settings)}.\n")
    print("| | " + " | ".join(r.get("label", "?") for r in runs) + " |")
    print("|---|" + "---:|" * len(runs))
    table = rows[:1] + (term_rows if settings and settings["stop_signal"] == "TERM" else []) + rows[1:]
    for name, get in table:
        cells = []
        for r in runs:
            if r.get("error"):
                cells.append(f"error: {r['error'][:60]}" if name == table[0][0] else "error")
            else:
                cells.append(str(get(r)))
        print(f"| {name} | " + " | ".join(cells) + " |")
print("\notelcol's logger samples its lines (per message, the first 10 every 10 s, then 1 in 100), "
      "so its 'dropped' counts are lower bounds; lost is what the backend never received.")
PY
exit $status
