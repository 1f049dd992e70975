#!/usr/bin/env bash
# Runs the standard benchmark scenarios against a Release build of otlpd, prints a table and
# writes the figures as JSON under bench/results/. Usage: bench/run.sh [scenario ...]
#   testbed      10k spans/s, 100 spans/request, ~145-byte spans: otlp -> batch -> nop
#   testbed_notel  the same with self-telemetry off (the others serve /metrics, scraped every 1 s)
#   sat_nop      as fast as possible, 10-attribute spans (~560 bytes): otlp -> batch -> nop
#   sat_http     sat_nop over OTLP/HTTP with protobuf bodies (2 workers x 4 keep-alive connections)
#   sat_http_json  the same with OTLP/JSON bodies
#   sat_store    sat_nop into the trace_store exporter (the viewer's store, 256 MiB)
#   store_100k   the trace_store at 100k spans/s, below its capacity: CPU per span
#   sat_store_8k, sat_nop_8k  sat_store and its baseline with 8192 distinct requests (81,920
#                traces, each one's spans in one request, as a store sees real traffic; sat_store
#                re-sends 64 requests, whose 640 traces grow to hundreds of spans each)
#                SAT_CONCURRENCY (default 4): requests in flight per connection (4 connections).
#                On this 2-core VM neither that (16) nor more connections (8, 16) moved the rate
#                (~1.5M spans/s nop), and the cores stayed 15-20 % idle: otlpd's CPU does not
#                set the rate there (bench/results/store_ratio_2026-12-05b/README.txt)
#   store_8k_1m, nop_8k_1m  the same two at 1M spans/s, below both capacities: the store's CPU
#                per span against nop's at the same throughput (at saturation the two run at
#                different rates, and nop's CPU per span moves with its rate)
#   sat_file     sat_nop into the file exporter (OTLP/JSON, rotated): otlp -> batch -> file
#   file_250k    the file exporter at 250k spans/s, below its capacity: CPU per span without
#                the cost of refusing the excess
#   chain        as fast as possible: otlp -> batch -> otlp_grpc exporter (gzip, or
#                CHAIN_COMPRESSION=none; CHAIN_LEVEL: gzip's level) -> a second
#                otlpd (otlp -> nop); the figures are the first otlpd's
#   chain_http   the chain over OTLP/HTTP: otlp -> batch -> otlphttp exporter (CHAIN_COMPRESSION:
#                gzip by default, zstd, deflate or none; CHAIN_LEVEL: compression_params::level,
#                0 for the codec's default) -> a second otlpd's HTTP receiver (-> nop); the
#                results are named chain_http_<compression>[_<level>]
#                CHAIN_RATE (both chains): spans/s offered, default 0 (as fast as possible, where
#                what the exporter cannot take is refused, and refusing costs CPU too); a rate
#                below the chain's capacity measures its cost per span alone (results
#                chain_at_<rate>, chain_http_..._at_<rate>)
#   overload     3x the measured sat_file throughput, memory_limiter at 64 MiB:
#                otlp -> memory_limiter -> batch -> file
# DURATION (seconds, default 20) sets the measured time of each run. OTLPD=path measures another
# build of otlpd (an older commit's, for a before/after in one run) and RESULTS=dir keeps its
# figures apart; the load generator is always this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-20}
RESULTS=${RESULTS:-$ROOT/bench/results}
mkdir -p "$RESULTS"
./scripts/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DOTLPD_BUILD_TESTS=OFF -DOTLPD_BUILD_BENCH=ON >/dev/null
ninja -C build-release otlpd otlpd-loadgen otlpd_micro_bench >/dev/null
OTLPD=${OTLPD:-$ROOT/build-release/app/otlpd}
LOADGEN=$ROOT/build-release/bench/otlpd-loadgen
WORK=$(mktemp -d /tmp/otlpd-bench.XXXXXX)
# The file exporter's output goes to tmpfs (FILE_DIR= another place): at 250k spans/s it is
# 300 MB/s of JSON, more than this VM's disk takes for long, and once the kernel's write-back
# throttles write() the figures measure the disk (runs of 2.2 and 4.3 CPU-s per M spans).
FILE_DIR=${FILE_DIR:-$(mktemp -d /dev/shm/otlpd-bench.XXXXXX 2>/dev/null || echo "$WORK")}
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK" "$FILE_DIR"' EXIT

config() {  # $1: processors list, $2: exporter id, $3: extra processor/exporter YAML
  # The gRPC exporter takes gzip or none (zstd: CHAIN_COMPRESSION is then for chain_http only).
  local grpc_compression=none grpc_level=0
  case ${CHAIN_COMPRESSION:-gzip} in
    gzip) grpc_compression=gzip grpc_level=${CHAIN_LEVEL:-0} ;;
  esac
  cat <<YAML
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
${HTTP_RECEIVER:-}
processors:
  batch: {}
  memory_limiter: {check_interval: 100ms, limit_mib: 64, spike_limit_mib: 12}
exporters:
  nop: {}
  trace_store: {endpoint: "127.0.0.1:0", max_traces: 100000, max_memory_mib: 256}
  file:
    path: $FILE_DIR/out.jsonl
    rotation: {max_megabytes: 256, max_backups: 1}
  otlp:
    endpoint: ${CHAIN_TARGET:-127.0.0.1:1}
    tls: {insecure: true}
    compression: $grpc_compression
    compression_params: {level: $grpc_level}
  otlphttp:
    endpoint: ${CHAIN_HTTP_TARGET:-http://127.0.0.1:1}
    compression: ${CHAIN_COMPRESSION:-gzip}
    compression_params: {level: ${CHAIN_LEVEL:-0}}
service:
  telemetry:
    metrics:
      level: ${TELEMETRY_LEVEL:-normal}
      readers: [{pull: {exporter: {prometheus: {host: 127.0.0.1, port: 0}}}}]
  pipelines:
    traces: {receivers: [otlp], processors: [$1], exporters: [$2]}
YAML
}

# run_scenario NAME PROCESSORS EXPORTER LOADGEN-ARGS...
run_scenario() {
  local name=$1 processors=$2 exporter=$3
  shift 3
  local HTTP_RECEIVER=""  # the HTTP receiver only where the load is HTTP
  [[ "$*" == *"--protocol http"* ]] && HTTP_RECEIVER=$'      http:\n        endpoint: 127.0.0.1:0'
  config "$processors" "$exporter" > "$WORK/$name.yaml"
  "$OTLPD" --config "$WORK/$name.yaml" 2> "$WORK/$name.log" &
  local pid=$!
  local port="" receiver="gRPC"
  [[ "$*" == *"--protocol http"* ]] && receiver="HTTP"
  for _ in $(seq 1 100); do
    port=$(grep -o "OTLP/$receiver receiver listening on 127.0.0.1:[0-9]*" "$WORK/$name.log" | sed 's/.*://' || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$WORK/$name.log"; echo "otlpd did not start"; exit 1; }
  echo "--- $name" >&2
  # With self-telemetry on, /metrics is scraped every second during the run (Prometheus's
  # default is every 60 s): its cost is part of the figures.
  local metrics_port scraper=""
  metrics_port=$(grep -o "self-telemetry metrics listening on 127.0.0.1:[0-9]*" "$WORK/$name.log" | sed 's/.*://' || true)
  if [ -n "$metrics_port" ]; then
    (while kill -0 "$pid" 2>/dev/null; do curl -s "http://127.0.0.1:$metrics_port/metrics" >/dev/null || true; sleep 1; done) &
    scraper=$!
  fi
  "$LOADGEN" --endpoint "127.0.0.1:$port" --pid "$pid" --duration "$DURATION" --label "$name" \
    --json "$RESULTS/$name.json" "$@" >&2 || true
  [ -n "$scraper" ] && kill "$scraper" 2>/dev/null || true
  kill -TERM "$pid"
  wait "$pid" || { echo "otlpd exited with an error:"; tail -20 "$WORK/$name.log"; exit 1; }
  grep -E "accepted|memory|held" "$WORK/$name.log" | sed 's/^/    /' >&2 || true
  rm -f "$FILE_DIR"/out*.jsonl
}

# The chains' second otlpd (otlp -> nop): start_sink grpc|http sets sink_pid and sink_port (its
# gRPC or HTTP receiver's); stop_sink stops it and prints what it discarded.
start_sink() {
  local receiver=gRPC http=""
  if [ "$1" = http ]; then
    receiver=HTTP http=$'      http:\n        endpoint: 127.0.0.1:0'
  fi
  HTTP_RECEIVER=$http config "" nop > "$WORK/sink.yaml"
  "$OTLPD" --config "$WORK/sink.yaml" 2> "$WORK/sink.log" &
  sink_pid=$!
  sink_port=""
  for _ in $(seq 1 100); do
    sink_port=$(grep -o "OTLP/$receiver receiver listening on 127.0.0.1:[0-9]*" "$WORK/sink.log" | sed 's/.*://' || true)
    [ -n "$sink_port" ] && break
    sleep 0.1
  done
  [ -n "$sink_port" ] || { cat "$WORK/sink.log"; echo "the sink otlpd did not start"; exit 1; }
}

stop_sink() {
  kill -TERM "$sink_pid"; wait "$sink_pid" || true
  grep -E "discarded" "$WORK/sink.log" | sed 's/^/    sink: /' >&2 || true
}

SCENARIOS=${*:-testbed sat_nop sat_http sat_http_json sat_store store_100k sat_file file_250k chain overload}
for s in $SCENARIOS; do
  case $s in
    testbed) run_scenario testbed batch nop --rate 10000 --spans-per-request 100 --attributes 3 --span-bytes 145 \
               --connections 1 --concurrency 1 ;;
    testbed_notel)  # the testbed with self-telemetry off (service::telemetry::metrics::level: none)
      TELEMETRY_LEVEL=none run_scenario testbed_notel batch nop --rate 10000 --spans-per-request 100 --attributes 3 \
               --span-bytes 145 --connections 1 --concurrency 1 ;;
    sat_nop) run_scenario sat_nop batch nop --rate 0 --spans-per-request 100 --attributes 10 --span-bytes 560 \
               --connections 4 --concurrency 4 ;;
    sat_http) run_scenario sat_http batch nop --protocol http/protobuf --rate 0 --spans-per-request 100 \
               --attributes 10 --span-bytes 560 --connections 2 --concurrency 4 ;;
    sat_http_json) run_scenario sat_http_json batch nop --protocol http/json --rate 0 --spans-per-request 100 \
               --attributes 10 --span-bytes 560 --connections 2 --concurrency 4 ;;
    sat_store) run_scenario sat_store batch trace_store --rate 0 --spans-per-request 100 --attributes 10 --span-bytes 560 \
               --connections 4 --concurrency 4 ;;
    sat_store_8k) run_scenario sat_store_8k batch trace_store --rate 0 --spans-per-request 100 --attributes 10 \
               --span-bytes 560 --connections 4 --concurrency "${SAT_CONCURRENCY:-4}" --distinct-requests 8192 ;;
    sat_nop_8k) run_scenario sat_nop_8k batch nop --rate 0 --spans-per-request 100 --attributes 10 \
               --span-bytes 560 --connections 4 --concurrency "${SAT_CONCURRENCY:-4}" --distinct-requests 8192 ;;
    store_8k_1m) run_scenario store_8k_1m batch trace_store --rate 1000000 --spans-per-request 100 --attributes 10 \
               --span-bytes 560 --connections 4 --concurrency 4 --distinct-requests 8192 ;;
    nop_8k_1m) run_scenario nop_8k_1m batch nop --rate 1000000 --spans-per-request 100 --attributes 10 \
               --span-bytes 560 --connections 4 --concurrency 4 --distinct-requests 8192 ;;
    store_100k) run_scenario store_100k batch trace_store --rate 100000 --spans-per-request 100 --attributes 10 \
               --span-bytes 560 --connections 4 --concurrency 4 ;;
    sat_file) run_scenario sat_file batch file --rate 0 --spans-per-request 100 --attributes 10 --span-bytes 560 \
               --connections 4 --concurrency 4 ;;
    file_250k) run_scenario file_250k batch file --rate 250000 --spans-per-request 100 --attributes 10 --span-bytes 560 \
               --connections 4 --concurrency 4 ;;
    chain)
      start_sink grpc
      label=chain
      [ "${CHAIN_RATE:-0}" = 0 ] || label="chain_at_${CHAIN_RATE}"
      CHAIN_TARGET="127.0.0.1:$sink_port" run_scenario "$label" batch otlp --rate "${CHAIN_RATE:-0}" --spans-per-request 100 \
        --attributes 10 --span-bytes 560 --connections 4 --concurrency 4
      stop_sink ;;
    chain_http)
      start_sink http
      label="chain_http_${CHAIN_COMPRESSION:-gzip}"
      [ "${CHAIN_LEVEL:-0}" = 0 ] || label="${label}_${CHAIN_LEVEL}"
      [ "${CHAIN_RATE:-0}" = 0 ] || label="${label}_at_${CHAIN_RATE}"
      CHAIN_HTTP_TARGET="http://127.0.0.1:$sink_port" run_scenario "$label" batch otlphttp --rate "${CHAIN_RATE:-0}" \
        --spans-per-request 100 --attributes 10 --span-bytes 560 --connections 4 --concurrency 4
      stop_sink ;;
    overload)
      base=$(python3 -c "import json;print(json.load(open('$RESULTS/sat_file.json'))['accepted_spans_per_s'])" 2>/dev/null || echo 100000)
      rate=$(python3 -c "print(int(3*float('$base')))")
      run_scenario overload "memory_limiter, batch" file --rate "$rate" --spans-per-request 100 --attributes 10 \
        --span-bytes 560 --connections 4 --concurrency 8 ;;
    *) echo "unknown scenario $s"; exit 2 ;;
  esac
done

python3 - "$RESULTS" $SCENARIOS <<'PY'
import json, sys, os
results, names = sys.argv[1], sys.argv[2:]
# chain_http's results are named after its compression: chain_http_<compression>[_<level>].
import glob
paths = [p for n in names for p in ([os.path.join(results, f"{n}.json")] if os.path.exists(os.path.join(results, f"{n}.json"))
                                    else sorted(glob.glob(os.path.join(results, f"{n}_*.json"))))]
rows = [json.load(open(p)) for p in paths]
head = f"{'scenario':<10} {'B/span':>6} {'accepted/s':>11} {'refused/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'CPU % core':>10} {'CPU-s/M':>8} {'RSS MiB':>8} {'peak MiB':>9} {'anon MiB':>9}"
print(head); print("-" * len(head))
for r in rows:
    print(f"{r['label']:<10} {r['bytes_per_span']:>6.0f} {r['accepted_spans_per_s']:>11.0f} {r['refused_spans_per_s']:>10.0f} "
          f"{r['latency_p50_ms']:>7.2f} {r['latency_p99_ms']:>7.2f} {r.get('collector_cpu_percent_of_core', 0):>10.2f} "
          f"{r.get('collector_cpu_seconds_per_million_spans', 0):>8.3f} {r.get('collector_rss_mib', 0):>8.1f} {r.get('collector_peak_rss_mib', 0):>9.1f} "
          f"{r.get('collector_anon_rss_mib', 0):>9.1f}")
# summary.json: the latest result of every scenario, whichever runs produced them.
every = sorted(f for f in os.listdir(results) if f.endswith(".json") and f != "summary.json")
json.dump([json.load(open(os.path.join(results, f))) for f in every], open(os.path.join(results, "summary.json"), "w"), indent=2)
PY
