#!/usr/bin/env bash
# Side by side, in one run: otlpd, the OpenTelemetry Collector (otelcol, built from the Go module
# proxy by bench/build_otelcol.sh: otlp receiver, batch, nop and otlp exporters) and Rotel (the
# Rust collector, installed from PyPI into a venv from the pinned bench/requirements-rotel.txt),
# under the same loads from the same load generator (build-release/bench/otlpd-loadgen), plus
# the OpenTelemetry Collector's own load generator, telemetrygen, so that the result does not
# depend on ours.
#
# Usage: bench/compare.sh            (or SCENARIOS="sat_nop chain_gzip" bench/compare.sh)
#
# Scenarios (every pipeline: OTLP receiver -> batch -> exporter; a fresh collector each run):
#   testbed        10k spans/s, 100 spans/request, ~145-byte spans, 1 connection -> nop
#   sat_nop        as fast as possible, 100 spans/request, ~560-byte spans (10 attributes),
#                  4 gRPC connections x 4 in flight -> nop (Rotel: its blackhole exporter)
#   chain_none     sat_nop's load -> OTLP/gRPC exporter, compression none -> a second collector
#                  of the same kind (receiver -> nop without batching, max_recv_msg_size
#                  64 MiB); the figures are the first collector's, the second's CPU per span is
#                  the "sink" column
#   chain_gzip     the same with gzip
#   chain_zstd     the same with zstd, where the collector's OTLP/gRPC exporter offers it
#                  (checked each run: otlpd/otelcol `validate`, `rotel start --help`); a row
#                  says "not supported" otherwise
#   chain_http_gzip, chain_http_zstd (and chain_http_none, not in the default list): the chain
#                  over OTLP/HTTP (protobuf): otlp_http exporter -> the second collector's HTTP
#                  receiver (max_request_body_size 64 MiB)
#   sat_http       sat_nop over OTLP/HTTP, protobuf bodies (2 workers x 4 keep-alive connections)
#   sat_logs       as sat_nop with log records (~560 bytes: body, 5 attributes, severity,
#                  trace/span ids) to LogsService/Export -> nop
#   sat_logs_http  the same to /v1/logs over OTLP/HTTP (protobuf)
#   tg_sat         telemetrygen traces --rate 0 --workers $TG_WORKERS (its defaults otherwise: a
#                  parent and a child span per trace, 100 spans/request, one export in flight)
#                  over gRPC -> batch -> nop. telemetrygen reports neither what was accepted nor
#                  the collector's cost: the collector's CPU and RSS are read from /proc, and the
#                  spans it received are the bytes its gRPC connection received (ss: tcp_info
#                  bytes_received) over telemetrygen's bytes per span, calibrated once per run
#                  against otlpd's and otelcol's own accepted-spans counters (Prometheus
#                  self-metrics, on only for the calibration). Its OTel SDK drops the spans its
#                  queue cannot hold, so what it generates is not what it sends. It is the
#                  bottleneck here, not the collectors: one worker delivers the most (tens of
#                  thousands of spans/s); more workers starve its export goroutine (4: ~7k/s).
# Each round runs every scenario against every collector (the order of the collectors rotates
# from round to round), so that all three are measured under the same conditions; the table
# gives the median and the min-max over the rounds, and each peer's ratio to otlpd.
# Self-telemetry is off in every measured run (otlpd and otelcol: metrics level none; Rotel's
# internal telemetry is off by default).
#
# Environment:
#   ROUNDS=3          rounds (interleaved)
#   DURATION=20       measured seconds of each run (after WARMUP seconds of load)
#   WARMUP=2
#   SCENARIOS="..."   a subset, in this order (default: all of the above)
#   COLLECTORS="otlpd otelcol rotel"
#   TG_WORKERS=1      telemetrygen workers
#   OTELCOL_WORK=/tmp/otlpd-otelcol  cache of bench/build_otelcol.sh; telemetrygen is built there too
#   ROTEL_VENV=/var/tmp/otlpd-bench/venv-rotel
#   RESULTS=bench/results
#   SKIP_DEPS=1       do not run scripts/install-deps.sh
#   ROTEL_TCP_NODELAY=1  run Rotel with TCP_NODELAY forced on its accepted sockets (an LD_PRELOAD
#                     shim built here): Rotel 0.0.1-alpha10 leaves Nagle's algorithm on, and its
#                     gRPC answers then wait for delayed ACKs (p99 ~45 ms even at 10k spans/s).
#                     Off by default: Rotel is measured as shipped; the output says which.
#   KEEP_WORK=1       keep the temporary directory (configurations, logs, every run's raw figures)
# Output: a markdown table on stdout, and bench/results/compare_<UTC date_time>.json (every run's
# figures, the medians, versions) and .md (the table). Needs Go (otelcol, telemetrygen), Python 3
# with venv, ss (iproute2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-2}
SCENARIOS=${SCENARIOS:-testbed sat_nop chain_none chain_gzip chain_zstd chain_http_gzip chain_http_zstd sat_http sat_logs sat_logs_http tg_sat}
COLLECTORS=${COLLECTORS:-otlpd otelcol rotel}
TG_WORKERS=${TG_WORKERS:-1}
RESULTS=${RESULTS:-$ROOT/bench/results}
CACHE=${OTELCOL_WORK:-/tmp/otlpd-otelcol}
ROTEL_VENV=${ROTEL_VENV:-/var/tmp/otlpd-bench/venv-rotel}
TELEMETRYGEN_VERSION=v0.161.0  # the contrib release's v0.159.0 is not served by the module proxy
SINK_MAX_RECV_MIB=64           # every chain's second collector: batches of 8192 spans exceed 4 MiB
STAMP=$(date -u +%Y-%m-%d_%H%M)
mkdir -p "$RESULTS"

# --- Build and install the three collectors and the two load generators -------------------------
[ -n "${SKIP_DEPS:-}" ] || ./scripts/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DOTLPD_BUILD_TESTS=OFF -DOTLPD_BUILD_BENCH=ON >/dev/null
ninja -C build-release otlpd otlpd-loadgen >/dev/null
OTLPD=$ROOT/build-release/app/otlpd
LOADGEN=$ROOT/build-release/bench/otlpd-loadgen
OTELCOL=$(OTELCOL_WORK=$CACHE bench/build_otelcol.sh)
TELEMETRYGEN=$CACHE/telemetrygen-$TELEMETRYGEN_VERSION/telemetrygen
if [ ! -x "$TELEMETRYGEN" ]; then
  echo "building telemetrygen $TELEMETRYGEN_VERSION" >&2
  GOSUMDB=off GOFLAGS=-mod=mod GOBIN=$(dirname "$TELEMETRYGEN") \
    go install "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@$TELEMETRYGEN_VERSION" >&2
fi
if ! cmp -s bench/requirements-rotel.txt "$ROTEL_VENV/.requirements-installed" 2>/dev/null; then
  rm -rf "$ROTEL_VENV"
  python3 -m venv "$ROTEL_VENV"
  "$ROTEL_VENV/bin/pip" install -q --disable-pip-version-check --pre -r bench/requirements-rotel.txt
  cp bench/requirements-rotel.txt "$ROTEL_VENV/.requirements-installed"
fi
# The wheel's binary, found without importing the package.
ROTEL=$("$ROTEL_VENV/bin/python" -c \
  'import importlib.util, os; print(os.path.join(importlib.util.find_spec("rotel").submodule_search_locations[0], "rotel-agent"))')
[ -x "$ROTEL" ] || { echo "no rotel-agent in $ROTEL_VENV" >&2; exit 1; }

WORK=$(mktemp -d /tmp/otlpd-compare.XXXXXX)
RAW=$WORK/raw
mkdir -p "$RAW"
cleanup() {
  local p
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

ROTEL_PRELOAD=""
if [ -n "${ROTEL_TCP_NODELAY:-}" ]; then
  cat > "$WORK/nodelay.c" <<'C'
// Sets TCP_NODELAY on every socket that accept4() returns (bench/compare.sh, ROTEL_TCP_NODELAY=1).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  static int (*real)(int, struct sockaddr*, socklen_t*, int);
  if (!real) real = (int (*)(int, struct sockaddr*, socklen_t*, int))dlsym(RTLD_NEXT, "accept4");
  int s = real(fd, addr, len, flags);
  if (s >= 0) {
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return s;
}
C
  cc -shared -fPIC -O2 -o "$WORK/nodelay.so" "$WORK/nodelay.c" -ldl
  ROTEL_PRELOAD=$WORK/nodelay.so
fi

# --- Helpers -------------------------------------------------------------------------------------
# probe.py: what the load generator reports for its --pid, for runs where it cannot (the chain's
# second collector, telemetrygen runs): CPU seconds and RSS from /proc over the measured window,
# plus the bytes received on a listening port (ss) and the collector's accepted counter
# (Prometheus text) when asked.
cat > "$WORK/probe.py" <<'PY'
import json, os, re, subprocess, sys, time, urllib.request

def proc(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    mem = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon"):
                mem[key] = int(value.split()[0]) / 1024
    return cpu, mem

def bytes_received(port):  # every established connection to the collector's port
    out = subprocess.run(["ss", "-Htin", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    return sum(int(n) for n in re.findall(r"bytes_received:(\d+)", out))

def accepted(url):  # otlpd's and otelcol's otelcol_receiver_accepted_spans{...}
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    return sum(float(m.group(1)) for m in
               re.finditer(r"^otelcol_receiver_accepted_spans(?:_total)?(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.M))

def sample(a):
    s = {"t": time.monotonic(), "proc": proc(a["pid"])}
    if a.get("also"): s["also"] = proc(a["also"])
    if a.get("port"): s["bytes"] = bytes_received(a["port"])
    if a.get("metrics"): s["accepted"] = accepted(a["metrics"])
    return s

# probe.py pid=N warmup=S duration=S [port=N] [metrics=URL] [also=PID]
a = dict(arg.split("=", 1) for arg in sys.argv[1:])
time.sleep(float(a["warmup"]))
s0 = sample(a)
time.sleep(float(a["duration"]))
s1 = sample(a)
elapsed = s1["t"] - s0["t"]
cpu = s1["proc"][0] - s0["proc"][0]
r = {"elapsed_s": round(elapsed, 3), "cpu_seconds": round(cpu, 3),
     "cpu_percent_of_core": round(100 * cpu / elapsed, 2), "rss_mib": round(s1["proc"][1]["VmRSS"], 1),
     "peak_rss_mib": round(s1["proc"][1]["VmHWM"], 1), "anon_rss_mib": round(s1["proc"][1]["RssAnon"], 1)}
if "bytes" in s1: r["bytes_received"] = s1["bytes"] - s0["bytes"]
if "accepted" in s1: r["accepted_spans"] = s1["accepted"] - s0["accepted"]
if "also" in s1: r["load_generator_cpu_percent_of_core"] = round(100 * (s1["also"][0] - s0["also"][0]) / elapsed, 1)
print(json.dumps(r))
PY

free_port() {  # asks the OS for a free port (Rotel and otelcol cannot report a port 0 they bound)
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {  # $1 pid, $2 port, $3 log: until the port accepts connections
  local i
  for i in $(seq 1 150); do
    kill -0 "$1" 2>/dev/null || { echo "collector exited:" >&2; tail -20 "$3" >&2; return 1; }
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $2 not open after 15 s:" >&2; tail -20 "$3" >&2
  return 1
}

otlpd_port() {  # $1 log, $2 "gRPC"|"HTTP"|"metrics": the port otlpd bound (it binds port 0)
  local pattern="OTLP/$2 receiver listening on 127.0.0.1:[0-9]*" i port
  [ "$2" = metrics ] && pattern="self-telemetry metrics listening on 127.0.0.1:[0-9]*"
  for i in $(seq 1 150); do
    port=$(grep -o "$pattern" "$1" | sed 's/.*://' | head -1 || true)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.1
  done
  echo "otlpd did not report its $2 port:" >&2; tail -20 "$1" >&2
  return 1
}

# otlpd's and otelcol's configuration (the same keys; otlpd binds port 0 and says which port it
# got, otelcol is given free ports). Arguments: signal (traces|logs), role (main|sink), exporter
# (nop|otlp_grpc|otlp_http), compression, sink port, http receiver (yes|no), self-metrics
# (yes|no: the calibration only), then the gRPC, HTTP and metrics ports (0 for otlpd).
collector_yaml() {
  local signal=$1 role=$2 exporter=$3 compression=$4 sink=$5 http=$6 metrics=$7 port=$8 hport=$9 mport=${10}
  local grpc_limit="" http_limit=""
  if [ "$role" = sink ]; then
    grpc_limit=", max_recv_msg_size_mib: $SINK_MAX_RECV_MIB"
    http_limit=", max_request_body_size: $((SINK_MAX_RECV_MIB << 20))"
  fi
  echo "receivers:"
  echo "  otlp:"
  echo "    protocols:"
  echo "      grpc: {endpoint: \"127.0.0.1:$port\"$grpc_limit}"
  [ "$http" = yes ] && echo "      http: {endpoint: \"127.0.0.1:$hport\"$http_limit}"
  [ "$role" = main ] && echo "processors: {batch: {}}"
  echo "exporters:"
  case $exporter in
    nop) echo "  nop: {}" ;;
    otlp_grpc) echo "  otlp_grpc: {endpoint: \"127.0.0.1:$sink\", tls: {insecure: true}, compression: $compression}" ;;
    otlp_http) echo "  otlp_http: {endpoint: \"http://127.0.0.1:$sink\", compression: $compression}" ;;
  esac
  echo "service:"
  if [ "$metrics" = yes ]; then
    echo "  telemetry: {metrics: {level: basic, readers: [{pull: {exporter: {prometheus: {host: 127.0.0.1, port: $mport}}}}]}}"
  else
    echo "  telemetry: {metrics: {level: none}}"
  fi
  echo "  pipelines:"
  echo "    $signal: {receivers: [otlp], processors: [$([ "$role" = main ] && echo batch)], exporters: [$exporter]}"
}

# start_collector KIND NAME SIGNAL ROLE EXPORTER COMPRESSION SINK_PORT HTTP METRICS
# Sets PID, PORT (gRPC), HPORT (HTTP, if asked) and METRICS_URL (if asked).
start_collector() {
  local kind=$1 name=$2 signal=$3 role=$4 exporter=$5 compression=$6 sink=$7 http=$8 metrics=$9
  local log=$WORK/$name.log
  HPORT="" METRICS_URL=""
  case $kind in
    otlpd)
      collector_yaml "$signal" "$role" "$exporter" "$compression" "$sink" "$http" "$metrics" 0 0 0 > "$WORK/$name.yaml"
      "$OTLPD" --config "$WORK/$name.yaml" 2> "$log" &
      PID=$!
      PORT=$(otlpd_port "$log" gRPC)
      [ "$http" = yes ] && HPORT=$(otlpd_port "$log" HTTP)
      [ "$metrics" = yes ] && METRICS_URL="http://127.0.0.1:$(otlpd_port "$log" metrics)/metrics" ;;
    otelcol)
      local mport
      PORT=$(free_port); HPORT=$(free_port); mport=$(free_port)
      collector_yaml "$signal" "$role" "$exporter" "$compression" "$sink" "$http" "$metrics" "$PORT" "$HPORT" "$mport" \
        > "$WORK/$name.yaml"
      [ "$http" = yes ] || HPORT=""
      [ "$metrics" = yes ] && METRICS_URL="http://127.0.0.1:$mport/metrics"
      "$OTELCOL" --config "$WORK/$name.yaml" > "$log" 2>&1 &
      PID=$! ;;
    rotel)
      # Rotel always serves gRPC and HTTP; flags instead of a file (written down for the record).
      PORT=$(free_port); HPORT=$(free_port)
      local args=(start --otlp-grpc-endpoint "127.0.0.1:$PORT" --otlp-http-endpoint "127.0.0.1:$HPORT"
                  --pid-file "$WORK/$name.pid" --log-file "$WORK/$name.daemon.log")
      [ "$role" = sink ] && args+=(--otlp-grpc-max-recv-msg-size-mib "$SINK_MAX_RECV_MIB" --disable-batching)
      if [ "$exporter" != nop ]; then
        local protocol=grpc
        [ "$exporter" = otlp_http ] && protocol=http
        args+=(--exporter otlp --otlp-exporter-endpoint "http://127.0.0.1:$sink" --otlp-exporter-protocol "$protocol"
               --otlp-exporter-compression "$compression")
      else
        args+=(--exporter blackhole)
      fi
      printf '%q ' "$ROTEL" "${args[@]}" > "$WORK/$name.args"
      LD_PRELOAD=$ROTEL_PRELOAD "$ROTEL" "${args[@]}" > "$log" 2>&1 &
      PID=$!
      [ "$http" = yes ] || HPORT="" ;;
  esac
  wait_port "$PID" "$PORT" "$log"
  [ -z "$HPORT" ] || wait_port "$PID" "$HPORT" "$log"
  if [ -n "$METRICS_URL" ]; then
    local mp=${METRICS_URL##*:}
    wait_port "$PID" "${mp%%/*}" "$log"
  fi
}

stop_collector() {  # $1 pid: SIGTERM, then SIGKILL after 15 s
  local i
  kill -TERM "$1" 2>/dev/null || return 0
  for i in $(seq 1 150); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

supports_zstd() {  # $1 kind, $2 exporter (otlp_grpc|otlp_http): does it take compression: zstd?
  case $1 in
    otlpd)
      collector_yaml traces main "$2" zstd 1 no no 0 0 0 > "$WORK/zstd-otlpd-$2.yaml"
      "$OTLPD" validate --config "$WORK/zstd-otlpd-$2.yaml" > "$WORK/zstd-otlpd-$2.out" 2>&1 ;;
    otelcol)
      collector_yaml traces main "$2" zstd 1 no no 1 1 1 > "$WORK/zstd-otelcol-$2.yaml"
      "$OTELCOL" validate --config "$WORK/zstd-otelcol-$2.yaml" > "$WORK/zstd-otelcol-$2.out" 2>&1 ;;
    rotel)  # one --otlp-exporter-compression for both protocols
      "$ROTEL" start --help | grep -A4 -- '--otlp-exporter-compression <' | grep 'possible values' | grep -q zstd ;;
  esac
}

# The load generator's arguments for each scenario (tg_sat uses telemetrygen instead).
SAT="--rate 0 --spans-per-request 100 --attributes 10 --span-bytes 560 --connections 4 --concurrency 4"
SAT_HTTP="--rate 0 --spans-per-request 100 --attributes 10 --span-bytes 560 --connections 2 --concurrency 4"
LOGS="--signal logs --rate 0 --records-per-request 100 --attributes 5 --record-bytes 560"
declare -A LOAD=(
  [testbed]="--rate 10000 --spans-per-request 100 --attributes 3 --span-bytes 145 --connections 1 --concurrency 1"
  [sat_nop]="$SAT" [chain_none]="$SAT" [chain_gzip]="$SAT" [chain_zstd]="$SAT"
  [chain_http_none]="$SAT" [chain_http_gzip]="$SAT" [chain_http_zstd]="$SAT"
  [sat_http]="--protocol http/protobuf $SAT_HTTP"
  [sat_logs]="$LOGS --connections 4 --concurrency 4"
  [sat_logs_http]="--protocol http/protobuf $LOGS --connections 2 --concurrency 4"
)

# run_one SCENARIO KIND ROUND: one measured run; its figures go to $RAW/SCENARIO.KIND.ROUND.json.
run_one() {
  local scenario=$1 kind=$2 round=$3 out=$RAW/$1.$2.$3
  local signal=traces exporter=nop compression=none http=no sink_pid="" sink_port=""
  case $scenario in
    sat_logs*) signal=logs ;;
  esac
  case $scenario in
    *http) http=yes ;;
    chain_http_*) exporter=otlp_http compression=${scenario#chain_http_} ;;
    chain_*) exporter=otlp_grpc compression=${scenario#chain_} ;;
  esac
  if [ "$exporter" != nop ] && [ "$compression" = zstd ] && ! supports_zstd "$kind" "$exporter"; then
    local transport=OTLP/gRPC
    [ "$exporter" = otlp_http ] && transport=OTLP/HTTP
    echo "{\"unsupported\": \"no zstd in its $transport exporter\"}" > "$out.json"
    echo "--- round $round $scenario $kind: not supported" >&2
    return
  fi
  echo "--- round $round $scenario $kind" >&2
  if [ "$exporter" = otlp_grpc ]; then
    start_collector "$kind" "$scenario-$kind-sink" "$signal" sink nop none 0 no no
    sink_pid=$PID sink_port=$PORT
  elif [ "$exporter" = otlp_http ]; then
    start_collector "$kind" "$scenario-$kind-sink" "$signal" sink nop none 0 yes no
    sink_pid=$PID sink_port=$HPORT
  fi
  start_collector "$kind" "$scenario-$kind" "$signal" main "$exporter" "$compression" "$sink_port" "$http" no
  local pid=$PID endpoint=127.0.0.1:$PORT probe_pid=""
  [ "$http" = yes ] && endpoint=127.0.0.1:$HPORT
  if [ -n "$sink_pid" ]; then
    python3 "$WORK/probe.py" pid="$sink_pid" warmup="$WARMUP" duration="$DURATION" > "$out.sink" &
    probe_pid=$!
  fi
  if [ "$scenario" = tg_sat ]; then
    "$TELEMETRYGEN" traces --otlp-endpoint "$endpoint" --otlp-insecure --rate 0 --workers "$TG_WORKERS" \
      --duration "$((WARMUP + DURATION + 2))s" > "$out.tglog" 2>&1 &
    local tg=$!
    python3 "$WORK/probe.py" pid="$pid" also="$tg" port="$PORT" warmup="$WARMUP" duration="$DURATION" > "$out.tg"
    wait "$tg" || { echo "telemetrygen failed:" >&2; tail -5 "$out.tglog" >&2; }
  else
    # shellcheck disable=SC2086  # the scenario's arguments are words
    "$LOADGEN" --endpoint "$endpoint" --pid "$pid" --duration "$DURATION" --warmup "$WARMUP" \
      --label "$scenario.$kind" --json "$out.loadgen" ${LOAD[$scenario]} >&2 || true
  fi
  [ -z "$probe_pid" ] || wait "$probe_pid" || true
  stop_collector "$pid"
  [ -z "$sink_pid" ] || stop_collector "$sink_pid"
  python3 - "$out" <<'PY'
import json, os, re, sys
out = sys.argv[1]
r = {}
for part in ("loadgen", "sink", "tg"):
    if os.path.exists(f"{out}.{part}") and os.path.getsize(f"{out}.{part}"):
        r[part] = json.load(open(f"{out}.{part}"))
if "tg" in r and os.path.exists(f"{out}.tglog"):  # over its whole run, warm-up included
    log = open(f"{out}.tglog", errors="replace").read()
    r["tg"]["telemetrygen_error_lines"] = len(re.findall(r"\tERROR\t", log))
    r["tg"]["telemetrygen_traces_generated"] = sum(int(n) for n in re.findall(r'"traces": (\d+)', log))
json.dump(r, open(f"{out}.json", "w"))
PY
}

# telemetrygen's bytes per span on the wire, from otlpd's and otelcol's own accepted counters
# (self-metrics on), at saturation, over 5 s each.
calibrate_telemetrygen() {
  local kind
  for kind in otlpd otelcol; do
    case " $COLLECTORS " in *" $kind "*) ;; *) continue ;; esac
    echo "--- telemetrygen calibration against $kind" >&2
    start_collector "$kind" "tgcal-$kind" traces main nop none 0 no yes
    local pid=$PID
    "$TELEMETRYGEN" traces --otlp-endpoint "127.0.0.1:$PORT" --otlp-insecure --rate 0 --workers "$TG_WORKERS" \
      --duration "$((WARMUP + 7))s" > "$WORK/tgcal.log" 2>&1 &
    local tg=$!
    python3 "$WORK/probe.py" pid="$pid" port="$PORT" metrics="$METRICS_URL" warmup="$WARMUP" duration=5 \
      > "$RAW/tg_calibration.$kind.cal"
    wait "$tg" || true
    stop_collector "$pid"
  done
}

# --- The rounds ----------------------------------------------------------------------------------
read -r -a kinds <<< "$COLLECTORS"
echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
case " $SCENARIOS " in *" tg_sat "*) calibrate_telemetrygen ;; esac
for round in $(seq 1 "$ROUNDS"); do
  # Rotate the collectors' order from round to round.
  shift_by=$(( (round - 1) % ${#kinds[@]} ))
  order=("${kinds[@]:shift_by}" "${kinds[@]:0:shift_by}")
  for scenario in $SCENARIOS; do
    [ "$scenario" = tg_sat ] || [ -n "${LOAD[$scenario]:-}" ] || { echo "unknown scenario $scenario" >&2; exit 2; }
    for kind in "${order[@]}"; do
      run_one "$scenario" "$kind" "$round"
    done
  done
done

# --- Summary: JSON with every run and the medians, a markdown table ------------------------------
OTLPD_COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo '+uncommitted changes')"
export ROUNDS DURATION WARMUP SCENARIOS COLLECTORS TG_WORKERS TELEMETRYGEN_VERSION LOAD_BEFORE OTLPD_COMMIT STAMP
export OTELCOL_VERSION="otelcol $(sed -n 's/^VERSION=\([^ ]*\).*/\1/p' bench/build_otelcol.sh)"
export ROTEL_VERSION="$("$ROTEL_VENV/bin/pip" show rotel 2>/dev/null | sed -n 's/^Version: //p') (binary: $("$ROTEL" --version 2>&1 | head -1))${ROTEL_PRELOAD:+, with TCP_NODELAY forced (ROTEL_TCP_NODELAY=1)}"
export KERNEL="$(uname -r)" CPUS="$(nproc)"
python3 - "$RAW" "$RESULTS/compare_$STAMP" <<'PY'
import glob, json, os, statistics, sys
raw, prefix = sys.argv[1], sys.argv[2]
env = os.environ
scenarios, kinds = env["SCENARIOS"].split(), env["COLLECTORS"].split()

cal = {}
for path in glob.glob(f"{raw}/tg_calibration.*.cal"):
    c = json.load(open(path))
    if c.get("accepted_spans"):
        c["bytes_per_span"] = round(c["bytes_received"] / c["accepted_spans"], 2)
    cal[path.split(".")[-2]] = c
tg_bytes_per_span = statistics.mean(c["bytes_per_span"] for c in cal.values() if "bytes_per_span" in c) if any(
    "bytes_per_span" in c for c in cal.values()) else None

def figures(r):
    """One run's figures under common names."""
    if "loadgen" in r:
        g = r["loadgen"]
        f = {"accepted_per_s": g["accepted_spans_per_s"], "refused_per_s": g["refused_spans_per_s"],
             "failed": g["failed_spans"], "status_codes": g.get("status_codes", {}),
             "latency_p50_ms": g["latency_p50_ms"], "latency_p99_ms": g["latency_p99_ms"],
             "bytes_per_item": g["bytes_per_span"], "cpu_percent_of_core": g.get("collector_cpu_percent_of_core"),
             "cpu_s_per_million": g.get("collector_cpu_seconds_per_million_spans"),
             "rss_mib": g.get("collector_rss_mib"), "peak_rss_mib": g.get("collector_peak_rss_mib"),
             "anon_rss_mib": g.get("collector_anon_rss_mib")}
        if "sink" in r:
            s = r["sink"]
            accepted_m = g["accepted_spans_per_s"] * s["elapsed_s"] / 1e6
            f["sink_cpu_percent_of_core"] = s["cpu_percent_of_core"]
            f["sink_cpu_s_per_million"] = round(s["cpu_seconds"] / accepted_m, 3) if accepted_m else None
            f["sink_peak_rss_mib"] = s["peak_rss_mib"]
        return f
    if "tg" in r:
        t = r["tg"]
        f = {"cpu_percent_of_core": t["cpu_percent_of_core"], "rss_mib": t["rss_mib"], "peak_rss_mib": t["peak_rss_mib"],
             "anon_rss_mib": t["anon_rss_mib"], "bytes_received_per_s": round(t["bytes_received"] / t["elapsed_s"]),
             "telemetrygen_cpu_percent_of_core": t.get("load_generator_cpu_percent_of_core"),
             "telemetrygen_error_lines": t.get("telemetrygen_error_lines"),
             "refused_per_s": None, "failed": None}
        if tg_bytes_per_span:
            spans = t["bytes_received"] / tg_bytes_per_span
            f["accepted_per_s"] = round(spans / t["elapsed_s"])
            f["cpu_s_per_million"] = round(t["cpu_seconds"] / (spans / 1e6), 3) if spans else None
        return f
    return {}

runs, summary = [], {}
for scenario in scenarios:
    for kind in kinds:
        rs = []
        for path in sorted(glob.glob(f"{raw}/{scenario}.{kind}.*.json")):
            r = json.load(open(path))
            rnd = int(path.rsplit(".", 2)[1])
            runs.append({"scenario": scenario, "collector": kind, "round": rnd, **r})
            rs.append(r)
        if not rs:
            continue
        if any("unsupported" in r for r in rs):
            summary.setdefault(scenario, {})[kind] = {"unsupported": rs[0]["unsupported"]}
            continue
        fs = [figures(r) for r in rs]
        s = {"rounds": len(fs)}
        for key in fs[0]:
            values = [f[key] for f in fs if isinstance(f.get(key), (int, float))]
            if values:
                s[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
        s["status_codes"] = {}  # gRPC codes or http_NNN, summed over the rounds
        for f in fs:
            for code, n in (f.get("status_codes") or {}).items():
                s["status_codes"][code] = s["status_codes"].get(code, 0) + n
        summary.setdefault(scenario, {})[kind] = s

meta = {"date_utc": env["STAMP"], "rounds": int(env["ROUNDS"]), "duration_s": float(env["DURATION"]),
        "warmup_s": float(env["WARMUP"]), "cpus": int(env["CPUS"]), "kernel": env["KERNEL"],
        "load_average_before": env["LOAD_BEFORE"], "otlpd_commit": env["OTLPD_COMMIT"],
        "otelcol": env["OTELCOL_VERSION"], "rotel": env["ROTEL_VERSION"],
        "telemetrygen": env["TELEMETRYGEN_VERSION"], "telemetrygen_workers": int(env["TG_WORKERS"]),
        "telemetrygen_calibration": cal, "telemetrygen_bytes_per_span": tg_bytes_per_span}
json.dump({"meta": meta, "summary": summary, "runs": runs}, open(prefix + ".json", "w"), indent=1)

def cell(s, key, digits):
    v = s.get(key)
    if not v: return "–"
    fmt = lambda x: f"{x:,.{digits}f}"
    return fmt(v["median"]) if v["min"] == v["max"] else f"{fmt(v['median'])} ({fmt(v['min'])}–{fmt(v['max'])})"

def ratio(s, base, key):
    if not base or "unsupported" in base or not s.get(key) or not base.get(key) or not base[key]["median"]: return "–"
    return f"{s[key]['median'] / base[key]['median']:.2f}×"

names = {"otlpd": "otlpd", "otelcol": "otelcol", "rotel": "Rotel"}
lines = [f"Side by side, {meta['date_utc']} UTC: {meta['rounds']} interleaved rounds of {meta['duration_s']:g} s "
         f"(after {meta['warmup_s']:g} s warm-up), {meta['cpus']} CPUs shared by the collectors and the load "
         f"generator; otlpd {meta['otlpd_commit']}, {meta['otelcol']}, Rotel {meta['rotel']}, telemetrygen "
         f"{meta['telemetrygen']}. Median (min–max); ratios are the peer's median over otlpd's. CPU-s/M: "
         "collector CPU seconds per million accepted spans (log records for sat_logs*).",
         "",
         "| scenario | collector | accepted/s | ×otlpd | refused/s | p50 / p99 ms | CPU % of a core | CPU-s/M | ×otlpd | peak RSS MiB | ×otlpd | sink CPU-s/M |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
for scenario in scenarios:
    base = summary.get(scenario, {}).get("otlpd")
    for kind in kinds:
        s = summary.get(scenario, {}).get(kind)
        if s is None: continue
        if "unsupported" in s:
            lines.append(f"| {scenario} | {names.get(kind, kind)} | not supported: {s['unsupported']} | | | | | | | | | |")
            continue
        refused = cell(s, 'refused_per_s', 0)
        if s.get("failed", {}).get("max"):
            refused += f", failed: {cell(s, 'failed', 0)} in a run"
        latency = "–" if "latency_p50_ms" not in s else \
            f"{s['latency_p50_ms']['median']:.2f} / {s['latency_p99_ms']['median']:.1f}"
        lines.append(f"| {scenario} | {names.get(kind, kind)} | {cell(s, 'accepted_per_s', 0)} | "
                     f"{'' if kind == 'otlpd' else ratio(s, base, 'accepted_per_s')} | {refused} | {latency} | "
                     f"{cell(s, 'cpu_percent_of_core', 1)} | {cell(s, 'cpu_s_per_million', 3)} | "
                     f"{'' if kind == 'otlpd' else ratio(s, base, 'cpu_s_per_million')} | {cell(s, 'peak_rss_mib', 1)} | "
                     f"{'' if kind == 'otlpd' else ratio(s, base, 'peak_rss_mib')} | {cell(s, 'sink_cpu_s_per_million', 3)} |")
if cal and tg_bytes_per_span:
    lines += ["", "tg_sat: telemetrygen's accepted/s are the bytes the collector received over "
              f"{tg_bytes_per_span:.1f} bytes per span (calibrated against " +
              ", ".join(f"{k}: {c.get('bytes_per_span', '?')} B/span, {c.get('accepted_spans', 0):,.0f} spans in {c['elapsed_s']:.0f} s"
                        for k, c in cal.items()) + "); telemetrygen's own CPU: " +
              ", ".join(f"{names.get(k, k)} {summary['tg_sat'][k]['telemetrygen_cpu_percent_of_core']['median']:.0f} %"
                        for k in kinds if k in summary.get("tg_sat", {}) and "telemetrygen_cpu_percent_of_core" in summary["tg_sat"][k]) +
              " of a core; export errors it logged: " +
              ", ".join(f"{names.get(k, k)} {summary['tg_sat'][k]['telemetrygen_error_lines']['max']:.0f}"
                        for k in kinds if "telemetrygen_error_lines" in summary.get("tg_sat", {}).get(k, {})) +
              " (most in a run)."]
open(prefix + ".md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"\nwritten: {prefix}.json, {prefix}.md", file=sys.stderr)
PY
