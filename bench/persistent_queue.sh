#!/usr/bin/env bash
# The persistent sending queue (issue 15): what it costs at saturation, how fast a backlog drains,
# and the storage decision behind it, in one run on one machine. Usage:
#
#   bench/persistent_queue.sh [saturation] [fixed] [drain] [storage]        (default: all four)
#
# saturation  OTLP/gRPC as fast as the load generator can send (run.sh's sat_nop load: 100 spans
#             of ~560 bytes per request, 4 connections x 4 calls in flight) into the nop exporter
#             and into the file exporter (OTLP/JSON, rotated, as run.sh's sat_file), each with
#               memory     the in-memory sending queue (sending_queue defaults)
#               fsync      persistent (file_storage), fsync: true, fsync_delay 0: the appends that
#                          arrive while one fdatasync runs share the next (grouped by concurrency)
#               fsync_2ms  persistent, fsync: true, fsync_delay: 2ms (grouped for 2 ms)
#               nofsync    persistent, fsync: false
#               none       (nop only, a reference) no sending queue at all
#             The pipeline is otlp -> exporter, without the batch processor: a persistent queue
#             acknowledges a request once it is on disk, and a batch processor in front would
#             acknowledge it earlier, from memory (PROCESSORS=batch, or "memory_limiter, batch",
#             measures that pipeline).
#             ROUNDS rounds, the variants interleaved in each (A B C D A B C D ...). Per variant:
#             median and range over the rounds of spans/s accepted, CPU-s per million spans,
#             peak RSS (the load generator's figures, from /proc, as bench/run.sh's), fdatasyncs/s
#             and MB/s written to the queue (otlpd_exporter_queue_fsyncs / _written_bytes,
#             scraped when the measured time starts and ends; /metrics is also scraped every
#             second, as run.sh does), spans refused, and the CPU per span against the memory
#             queue of the same exporter (the target: at most +30 % with grouped fsync).
#             Runs whose exporter could not keep up refuse much of the load, and refusing costs
#             CPU too: compare CPU per span where the refused columns are 0, or in `fixed`.
# fixed       the same runs at FIXED_RATE spans/s (default 20000), a rate every variant takes, so
#             that CPU per span compares the queues alone (as run.sh's file_250k beside sat_file).
# drain       the otlp exporter with a persistent queue (fsync: true) towards a backend that is
#             down (a second otlpd: otlp -> nop, not started yet); the testbed load (DRAIN_RATE
#             spans/s, run.sh's testbed requests: 100 spans of ~145 bytes) for OUTAGE seconds;
#             then the backend starts while the load goes on, and the queue is polled every
#             0.5 s until it is empty (otelcol_exporter_queue_size 0). Reports the backlog, the
#             time to the first delivery, the bulk drain (until at most max(10, 1 %) batches are
#             left: those held by workers asleep in their retry backoff) and its speed in spans/s
#             and MB/s, and when the queue was empty. max_size_mib and queue_size are set from
#             the bytes per span of a 5 s run (x 1.5 for the whole outage), so that nothing is
#             refused for lack of room.
# storage     bench/storage_choice_bench.cpp (otlpd's DurableQueue against LMDB and SQLite:
#             ns per append+remove and MB/s, fsync on and off), STORAGE_REPS repetitions
#             randomly interleaved.
#
# Each otlpd with a sending queue is checked (gdb) to run all its queue workers (start_checked).
#
# Environment: DURATION (measured seconds per saturation run, default 20), ROUNDS (3),
# EXPORTERS ("nop file"), VARIANTS ("memory fsync fsync_2ms nofsync none"), PROCESSORS (""),
# FIXED_RATE (20000), GRPC_THREADS (the receiver's protocols::grpc::num_threads; default: its
# default, 1), OUTAGE (300; try 20 first), DRAIN_RATE (10000), DRAIN_WINDOW (longest wait for the drain,
# default 600 s), STORAGE_DIR (the queues' directory, default /var/tmp/otlpd-pq-bench: on the
# disk, not a tmpfs; the filesystem is reported), STORAGE_REPS (3), STORAGE_MIN_TIME (1 s),
# OTLPD (another otlpd binary) and OTLPD_NOTE (what it is, for the report), STORAGE_BENCH
# (another build of the storage benchmark), LOADGEN (another load generator), RESULTS (default bench/results), TAG (added to the
# result files' names), SKIP_BUILD=1, KEEP_WORK=1.
# Output: markdown tables on stdout and in $RESULTS/persistent_queue_<date>[_TAG].md, the raw figures
# in $RESULTS/persistent_queue_<date>[_TAG].json.
#
# bench/run.sh is not sourceable (it runs its scenarios when sourced), so this script repeats
# its small start/scrape steps; the measuring itself is the same load generator (otlpd-loadgen
# --pid: CPU time and RSS of otlpd from /proc over the measured time).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-3}
EXPORTERS=${EXPORTERS:-nop file}
VARIANTS=${VARIANTS:-memory fsync fsync_2ms nofsync none}
PROCESSORS=${PROCESSORS:-}
OUTAGE=${OUTAGE:-300}
DRAIN_RATE=${DRAIN_RATE:-10000}
DRAIN_WINDOW=${DRAIN_WINDOW:-600}
STORAGE_DIR=${STORAGE_DIR:-/var/tmp/otlpd-pq-bench}
STORAGE_REPS=${STORAGE_REPS:-3}
STORAGE_MIN_TIME=${STORAGE_MIN_TIME:-1}
RESULTS=${RESULTS:-$ROOT/bench/results}
FIXED_RATE=${FIXED_RATE:-20000}
PARTS=${*:-saturation fixed drain storage}
STAMP=$(date +%Y-%m-%d_%H%M)
REPORT=$RESULTS/persistent_queue_$STAMP${TAG:+_$TAG}.md
RAW=$RESULTS/persistent_queue_$STAMP${TAG:+_$TAG}.json
WARMUP=2  # the load generator's default warm-up, before its measured time

mkdir -p "$RESULTS" "$STORAGE_DIR"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  ./scripts/install-deps.sh
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DOTLPD_BUILD_TESTS=OFF -DOTLPD_BUILD_BENCH=ON >/dev/null
  ninja -C build-release otlpd otlpd-loadgen otlpd_storage_choice_bench >/dev/null
fi
OTLPD=${OTLPD:-$ROOT/build-release/app/otlpd}
LOADGEN=${LOADGEN:-$ROOT/build-release/bench/otlpd-loadgen}
STORAGE_BENCH=${STORAGE_BENCH:-$ROOT/build-release/bench/otlpd_storage_choice_bench}
WORK=$(mktemp -d /tmp/otlpd-pq.XXXXXX)
# KEEP_WORK=1 keeps the configurations, logs, scrapes and load generator outputs (printed at the end).
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$STORAGE_DIR"/run_*; [ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"' EXIT

FSTYPE=$(df -T "$STORAGE_DIR" | awk 'NR==2 {print $2 " on " $1 " (" $7 ")"}')
DEVICE=$(df "$STORAGE_DIR" | awk 'NR==2 {print $1}'); DEVICE=${DEVICE#/dev/}
case $FSTYPE in
  ext4*) if ls /proc/fs/jbd2 2>/dev/null | grep -q "^$DEVICE"; then FSTYPE+=", with a journal"; else FSTYPE+=", without a journal"; fi ;;
esac
[ -r "/sys/block/$DEVICE/queue/write_cache" ] && FSTYPE+=", device write cache: $(cat "/sys/block/$DEVICE/queue/write_cache")"
case $FSTYPE in tmpfs*|ramfs*) echo "STORAGE_DIR $STORAGE_DIR is on $FSTYPE: put it on a disk" >&2; exit 2 ;; esac

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
now() { date +%s.%N; }
# scrape PORT FILE: /metrics, with the time it was taken as a comment on the first line.
scrape() { { echo "# scrape_time $(now)"; curl -s "http://127.0.0.1:$1/metrics"; } > "$2"; }
# poll PORT: one line of the figures the drain follows (time, queue batches, disk bytes, spans
# sent, bytes written, fdatasyncs, spans accepted by the receiver, spans refused).
poll() {
  local t; t=$(now)
  curl -s "http://127.0.0.1:$1/metrics" | awk -v t="$t" '
    /^otelcol_exporter_queue_size/ {q += $NF} /^otlpd_exporter_queue_disk_bytes/ {d += $NF}
    /^otelcol_exporter_sent_spans/ {s += $NF} /^otlpd_exporter_queue_written_bytes/ {w += $NF}
    /^otlpd_exporter_queue_fsyncs/ {f += $NF} /^otelcol_receiver_accepted_spans/ {a += $NF}
    /^otelcol_receiver_refused_spans/ {r += $NF}
    END {printf "%s %.0f %.0f %.0f %.0f %.0f %.0f %.0f\n", t, q, d, s, w, f, a, r}'
}

# config EXPORTER VARIANT RECEIVER_PORT METRICS_PORT [QUEUE_EXTRA] [EXPORTER_EXTRA]: YAML on stdout.
config() {
  local exporter=$1 variant=$2 port=$3 mport=$4 queue_extra=${5:-} exporter_extra=${6:-}
  local storage="" extensions="" queue="sending_queue: {enabled: true$queue_extra}"
  case $variant in
    memory) ;;
    fsync) storage="fsync: true" ;;
    fsync_2ms) storage="fsync: true, fsync_delay: 2ms" ;;
    nofsync) storage="fsync: false" ;;
    none) queue="" ;;
    *) echo "unknown variant $variant" >&2; exit 2 ;;
  esac
  if [ -n "$storage" ]; then
    queue="sending_queue: {storage: file_storage$queue_extra}"
    extensions="  extensions: [file_storage]"
    storage="extensions:
  file_storage: {directory: $STORAGE_DIR/run_$variant, create_directory: true, $storage}"
  fi
  local body processors=""  # defined only when used (an unused processor is warned about)
  [ -z "$PROCESSORS" ] || processors="processors: {batch: {}, memory_limiter: {check_interval: 100ms, limit_mib: 64, spike_limit_mib: 12}}"
  case $exporter in
    nop) body="nop: {$queue}" ;;
    file) body="file: {path: $WORK/out.jsonl, rotation: {max_megabytes: 256, max_backups: 1}${queue:+, $queue}}" ;;
    otlp) body="otlp: {$exporter_extra${queue:+, $queue}}" ;;
  esac
  cat <<YAML
$storage
receivers:
  otlp: {protocols: {grpc: {endpoint: "127.0.0.1:$port"${GRPC_THREADS:+, num_threads: $GRPC_THREADS}}}}
$processors
exporters:
  $body
service:
$extensions
  telemetry:
    logs: {level: warn}
    metrics:
      level: normal
      readers: [{pull: {exporter: {prometheus: {host: 127.0.0.1, port: $mport}}}}]
  pipelines:
    traces: {receivers: [otlp], processors: [$PROCESSORS], exporters: [$exporter]}
YAML
}

# start_otlpd NAME CONFIG_FILE PORT [METRICS_PORT]: starts otlpd, waits until it listens; sets PID.
start_otlpd() {
  "$OTLPD" --config "$2" 2> "$WORK/$1.log" &
  PID=$!
  for _ in $(seq 1 100); do
    if port_open "$3" && { [ -z "${4:-}" ] || port_open "$4"; }; then return 0; fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$WORK/$1.log" >&2
  echo "otlpd ($1) did not start" >&2
  exit 1
}

stop_otlpd() {  # PID NAME
  kill -TERM "$1"
  wait "$1" || { echo "otlpd ($2) exited with an error:" >&2; tail -20 "$WORK/$2.log" >&2; return 1; }
}

# live_workers PID: how many sending-queue worker threads (QueuedExporter) otlpd runs, from
# their stacks (gdb); "?" without gdb.
live_workers() {
  command -v gdb >/dev/null || { echo "?"; return; }
  gdb -p "$1" -batch -ex "thread apply all bt" 2>/dev/null |
    awk '/^Thread /{t=$2} /QueuedExporter/{seen[t]=1} END{n=0; for (k in seen) n++; print n}'
}

# start_checked NAME CONFIG PORT METRICS_PORT WORKERS: start_otlpd, then check that the sending
# queue runs its WORKERS workers (up to fc5de07 a persistent queue's workers could exit at start,
# fixed by 9d6d58a; a build with that bug is refused rather than measured). Sets PID, and STARTS
# to 1 (kept in the reports).
start_checked() {
  local want=$5 got
  STARTS=1
  start_otlpd "$1" "$2" "$3" "$4"
  [ "$want" -gt 0 ] || return 0
  sleep 0.2
  got=$(live_workers "$PID")
  if [ "$got" != "?" ] && [ "$got" -lt "$want" ]; then
    echo "    $1: $got of $want sending-queue workers running: this otlpd has the start race of fc5de07" >&2
    exit 1
  fi
}

# The figures and tables (Python, reading the load generator's JSON and the scrapes).
cat > "$WORK/pq.py" <<'PY'
import json, math, os, re, statistics, sys

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')

def metrics(path):
    """Sums of every family in a scrape (one exporter per process), and its time."""
    out, t = {}, None
    for line in open(path):
        if line.startswith("# scrape_time"):
            t = float(line.split()[2])
            continue
        m = LINE.match(line)
        if m and not line.startswith("#"):
            try:
                out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(3))
            except ValueError:
                pass
    return out, t

def fmt_range(values, digits):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"

def sat_run(args):
    """One saturation run: the load generator's JSON, the scrapes at the start and end of the
    measured time, the 1 s polls; appends a JSON line to the runs file."""
    label, exporter, variant, rnd, loadgen_json, start, end, polls, out, load, starts = args
    r = json.load(open(loadgen_json))
    m0, t0 = metrics(start)
    m1, t1 = metrics(end)
    dt = t1 - t0
    d = lambda name: m1.get(name, 0.0) - m0.get(name, 0.0)
    rows = [list(map(float, l.split())) for l in open(polls) if len(l.split()) == 8] if os.path.exists(polls) else []
    disk = [r[2] for r in rows]
    # The longest time the queue held batches while its exporter sent nothing (1 s polls).
    stall, since = 0.0, None
    for prev, cur in zip(rows, rows[1:]):
        if cur[1] > 0 and cur[3] == prev[3]:
            since = prev[0] if since is None else since
            stall = max(stall, cur[0] - since)
        else:
            since = None
    run = {
        "label": label, "exporter": exporter, "variant": variant, "round": int(rnd), "load_average": load,
        "accepted_spans_per_s": r["accepted_spans_per_s"], "refused_spans_per_s": r["refused_spans_per_s"],
        "refused_spans": round(r["refused_spans_per_s"] * r["duration_s"]), "failed_spans": r["failed_spans"],
        "cpu_s_per_million_spans": r.get("collector_cpu_seconds_per_million_spans"),
        "cpu_percent_of_core": r.get("collector_cpu_percent_of_core"),
        "peak_rss_mib": r.get("collector_peak_rss_mib"), "latency_p50_ms": r["latency_p50_ms"],
        "latency_p99_ms": r["latency_p99_ms"], "bytes_per_span": r["bytes_per_span"],
        "fsyncs_per_s": d("otlpd_exporter_queue_fsyncs") / dt,
        "queue_write_mb_per_s": d("otlpd_exporter_queue_written_bytes") / dt / 1e6,
        "enqueue_failed_spans": d("otelcol_exporter_enqueue_failed_spans"),
        "receiver_refused_spans": d("otelcol_receiver_refused_spans"),
        "peak_queue_disk_mib": max(disk) / 2**20 if disk else 0,
        "scrape_seconds": dt, "longest_send_stall_s": stall, "otlpd_starts": int(starts),
    }
    run["spans_per_fsync"] = (d("otelcol_receiver_accepted_spans") / d("otlpd_exporter_queue_fsyncs")
                              if d("otlpd_exporter_queue_fsyncs") > 0 else None)
    with open(out, "a") as f:
        f.write(json.dumps(run) + "\n")
    print(f"    {label}: {run['accepted_spans_per_s']:.0f} spans/s, {run['cpu_s_per_million_spans']} CPU-s/M, "
          f"{run['fsyncs_per_s']:.0f} fsyncs/s, {run['queue_write_mb_per_s']:.1f} MB/s to the queue, "
          f"refused {run['refused_spans']}" + (f", send stall {stall:.0f} s" if stall >= 2 else "") +
          (f", {starts} starts" if int(starts) > 1 else ""), file=sys.stderr)

def sat_report(args):
    runs_path, = args
    runs = [json.loads(l) for l in open(runs_path)]
    order = []
    for r in runs:
        if (r["exporter"], r["variant"]) not in order:
            order.append((r["exporter"], r["variant"]))
    by = lambda e, v: [r for r in runs if r["exporter"] == e and r["variant"] == v]
    rounds = max(r["round"] for r in runs)
    print(f"Median over {rounds} round(s), (min–max) across rounds; CPU vs memory: the median of the "
          "per-round ratios to the memory queue of the same exporter in the same round.\n")
    print("| exporter | queue | spans/s accepted | CPU-s / M spans | CPU vs memory | peak RSS MiB | fsyncs/s "
          "| spans/fsync | MB/s to queue | refused spans | p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    summary = []
    for e, v in order:
        rs = by(e, v)
        ratios = []
        for r in rs:
            mem = [m for m in by(e, "memory") if m["round"] == r["round"]]
            if mem and mem[0]["cpu_s_per_million_spans"] and r["cpu_s_per_million_spans"]:
                ratios.append(100.0 * (r["cpu_s_per_million_spans"] / mem[0]["cpu_s_per_million_spans"] - 1))
        vs = "–"
        if ratios and v != "memory":
            vs = ("+" if statistics.median(ratios) >= 0 else "") + fmt_range(ratios, 0) + " %"
        spf = [r["spans_per_fsync"] for r in rs if r["spans_per_fsync"]]
        print(f"| {e} | {v} | {fmt_range([r['accepted_spans_per_s'] for r in rs], 0)} "
              f"| {fmt_range([r['cpu_s_per_million_spans'] for r in rs], 3)} | {vs} "
              f"| {fmt_range([r['peak_rss_mib'] for r in rs], 1)} "
              f"| {fmt_range([r['fsyncs_per_s'] for r in rs], 0) if v not in ('memory', 'none') else '–'} "
              f"| {fmt_range(spf, 0) if spf else '–'} "
              f"| {fmt_range([r['queue_write_mb_per_s'] for r in rs], 1) if v not in ('memory', 'none') else '–'} "
              f"| {fmt_range([r['refused_spans'] for r in rs], 0)} "
              f"| {fmt_range([r['latency_p99_ms'] for r in rs], 1)} |")
        summary.append({"exporter": e, "variant": v, "cpu_vs_memory_percent": ratios})
    print()
    for e in dict.fromkeys(e for e, _ in order):
        for v in ("fsync", "fsync_2ms"):
            s = [x for x in summary if x["exporter"] == e and x["variant"] == v and x["cpu_vs_memory_percent"]]
            if s:
                med = statistics.median(s[0]["cpu_vs_memory_percent"])
                worst = max(s[0]["cpu_vs_memory_percent"])
                verdict = "met" if med <= 30 else "NOT met"
                mem_refused = statistics.median([r["refused_spans"] for r in by(e, "memory")] or [0])
                var_refused = statistics.median([r["refused_spans"] for r in by(e, v)] or [0])
                caveat = ""
                if mem_refused or var_refused:
                    caveat = (" (not comparable: refusing costs CPU too, and here the memory queue refused a median of "
                              f"{mem_refused:.0f} spans, this variant {var_refused:.0f}; see the fixed-rate runs)")
                print(f"- {e}, {v}: CPU per span {med:+.0f} % against the memory queue (worst round {worst:+.0f} %): "
                      f"target ≤ +30 % {verdict}{caveat}.")
    print()
    stalls = [r for r in runs if r.get("longest_send_stall_s", 0) >= 2]
    for r in stalls:
        print(f"- {r['label']}: the exporter sent nothing for {r['longest_send_stall_s']:.0f} s while its queue held batches.")
    loads = sorted({r["round"]: r["load_average"] for r in runs}.items())
    print("Load average (1 min) when each round started: " + "; ".join(f"round {k}: {v}" for k, v in loads) + ".")

def drain_report(args):
    (polls, t_backend, outage_json, drain_jsons, out_json, bytes_per_span, max_mib, queue_size, rate, outage, workers,
     starts) = args
    spans_per_batch = 100  # the testbed requests: one request, one batch (no batch processor)
    rows = [list(map(float, l.split())) for l in open(polls) if len(l.split()) == 8]
    t_backend = float(t_backend)
    before = [r for r in rows if r[0] <= t_backend]
    after = [r for r in rows if r[0] > t_backend]
    at = before[-1] if before else rows[0]
    first = next((r for r in after if r[3] > at[3]), None)
    drained = next((r for r in after if r[1] == 0), None)
    o = json.load(open(outage_json))
    ds = [json.load(open(p)) for p in drain_jsons.split(",") if p and os.path.exists(p)]
    res = {
        "outage_s": float(outage), "rate_spans_per_s": float(rate), "bytes_per_span_on_disk": float(bytes_per_span),
        "max_size_mib": int(max_mib), "queue_size": int(queue_size), "queue_workers": workers, "otlpd_starts": int(starts),
        "outage_accepted_spans_per_s": o["accepted_spans_per_s"], "outage_refused_spans_per_s": o["refused_spans_per_s"],
        "outage_failed_spans": o["failed_spans"],
        "outage_cpu_percent_of_core": o.get("collector_cpu_percent_of_core"),
        "outage_cpu_s_per_million_spans": o.get("collector_cpu_seconds_per_million_spans"),
        "backlog_batches": at[1], "backlog_disk_bytes": at[2], "backlog_spans": at[6] - at[3],
        "peak_rss_mib": max([o.get("collector_peak_rss_mib", 0)] + [d.get("collector_peak_rss_mib", 0) for d in ds]),
        "drain_load_accepted_spans_per_s": (sum(d["accepted_spans_per_s"] * d["duration_s"] for d in ds) /
                                            max(sum(d["duration_s"] for d in ds), 1e-9)) if ds else None,
        "drain_load_refused_spans": sum(round(d["refused_spans_per_s"] * d["duration_s"]) for d in ds),
        "drain_load_failed_spans": sum(d["failed_spans"] for d in ds),
        "drain_cpu_percent_of_core": (sum(d.get("collector_cpu_seconds", 0) for d in ds) * 100 /
                                      max(sum(d["duration_s"] for d in ds), 1e-9)) if ds else None,
    }
    if first:
        res["first_delivery_after_s"] = first[0] - t_backend
    # The bulk of the backlog is gone once at most `bulk_left` batches remain: each worker still
    # sleeping in its retry backoff holds one, and sends it only when that sleep ends.
    bulk_left = max(10, 0.01 * at[1])
    bulk = next((r for r in after if first and r[0] >= first[0] and r[1] <= bulk_left), None)
    if first and bulk:
        res["bulk_left_batches"] = bulk_left
        res["bulk_drained_after_s"] = bulk[0] - t_backend
        # From the poll before the first delivery: the sends started somewhere in between.
        prev = max((r for r in after if r[0] < first[0]), key=lambda r: r[0], default=at)
        span = max(bulk[0] - prev[0], 1e-9)
        res["bulk_drain_s"] = span
        res["delivered_spans_per_s"] = (bulk[3] - prev[3]) / span
        res["net_drain_spans_per_s"] = (prev[1] - bulk[1]) * float(spans_per_batch) / span
        # Segment files go only once all their records are delivered: disk bytes fall in steps of a
        # segment, so the MB/s are the spans delivered times their bytes on disk.
        res["drain_mb_per_s"] = res["delivered_spans_per_s"] * float(bytes_per_span) / 1e6
    res["empty_after_s"] = drained[0] - t_backend if drained else None
    if not drained:
        res["still_queued_batches"] = rows[-1][1] if rows else None
    res["polls"] = rows
    json.dump(res, open(out_json, "w"))
    f = lambda v, d=1: "–" if v is None else f"{v:.{d}f}"
    print(f"Outage {res['outage_s']:.0f} s at {res['rate_spans_per_s']:.0f} spans/s (otlp exporter, persistent queue, "
          f"fsync: true; {res['bytes_per_span_on_disk']:.0f} bytes per span on disk measured first, so max_size_mib "
          f"{res['max_size_mib']}, queue_size {res['queue_size']} batches; {workers} of 10 queue workers running, "
          f"after {starts} start(s) of otlpd).\n")
    print("| backlog spans | backlog batches | backlog MB on disk | first delivery after backend start s "
          "| bulk drained after s | bulk drain s | delivered spans/s | net drain spans/s | drain MB/s | queue empty after s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {res['backlog_spans']:.0f} | {res['backlog_batches']:.0f} | {res['backlog_disk_bytes'] / 1e6:.1f} "
          f"| {f(res.get('first_delivery_after_s'))} | {f(res.get('bulk_drained_after_s'))} | {f(res.get('bulk_drain_s'))} "
          f"| {f(res.get('delivered_spans_per_s'), 0)} | {f(res.get('net_drain_spans_per_s'), 0)} "
          f"| {f(res.get('drain_mb_per_s'))} | {f(res.get('empty_after_s'))} |")
    print()
    print(f"- During the outage: {f(res['outage_accepted_spans_per_s'], 0)} spans/s accepted, "
          f"{f(res['outage_refused_spans_per_s'], 0)} refused/s, {res['outage_failed_spans']} failed; otlpd "
          f"{f(res['outage_cpu_percent_of_core'])} % of a core, {f(res['outage_cpu_s_per_million_spans'], 3)} CPU-s per "
          f"million spans; peak RSS {f(res['peak_rss_mib'])} MiB (outage and drain).")
    print(f"- During the drain the load went on: {f(res['drain_load_accepted_spans_per_s'], 0)} spans/s accepted, "
          f"{res['drain_load_refused_spans']} refused, {res['drain_load_failed_spans']} failed; otlpd "
          f"{f(res['drain_cpu_percent_of_core'])} % of a core.")
    if res.get("empty_after_s") is None:
        print(f"- NOT empty within the window: {res.get('still_queued_batches')} batches still queued.")
    print("- Polled every 0.5 s. Bulk drained: at most max(10, 1 % of the backlog) batches left, those held by workers "
          "still asleep in their retry backoff (retry_on_failure defaults: up to 30 s), which the queue-empty time "
          "waits for. Over the bulk drain: delivered spans/s is everything sent (backlog and the load that kept "
          "arriving), net drain spans/s how fast the backlog shrank, drain MB/s the delivered spans' bytes in the queue's "
          "files.")

def storage_report(args):
    path, = args
    d = json.load(open(path))
    runs = {}
    for b in d["benchmarks"]:
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        runs.setdefault(b["run_name"], []).append(b)
    names = {"BM_DurableQueue": "otlpd DurableQueue", "BM_Lmdb": "LMDB", "BM_SqliteWal": "SQLite WAL"}
    modes = {"0": "off", "1": "append synced", "2": "append + remove synced"}
    print("| store | payload | sync | threads | ns per append+remove | MB/s | syncs/op |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for name, bs in runs.items():
        m = re.match(r"(\w+)/kib:(\d+)/sync:(\d)/real_time/threads:(\d+)", name)
        if m:
            rows.append(((int(m.group(2)), int(m.group(3)), int(m.group(4)), list(names).index(m.group(1))), m, bs))
    for _, m, bs in sorted(rows, key=lambda r: r[0]):
        syncs = [b["syncs/op"] for b in bs if "syncs/op" in b]
        print(f"| {names.get(m.group(1), m.group(1))} | {m.group(2)} KiB ({bs[0]['payload_bytes']:.0f} B) | {modes[m.group(3)]} "
              f"| {m.group(4)} | {fmt_range([b['real_time'] for b in bs], 0)} "
              f"| {fmt_range([b['bytes_per_second'] / 1e6 for b in bs], 1)} | {fmt_range(syncs, 2) if syncs else '–'} |")
    ctx = d.get("context", {})
    print(f"\n{len(next(iter(runs.values()), []))} repetitions, randomly interleaved: median (min–max). "
          f"With 4 threads, ns per append+remove is wall time / operations of all threads (throughput). "
          f"{ctx.get('num_cpus')} CPUs. syncs/op: fdatasync calls per append+remove, counted by DurableQueue; "
          "LMDB's synced commit is an fdatasync of the data file plus a meta page write through an O_DSYNC "
          "descriptor, SQLite WAL's (synchronous=FULL) an fdatasync of the WAL (and of the database at checkpoints).")

{"sat_run": sat_run, "sat_report": sat_report, "drain_report": drain_report,
 "storage_report": storage_report}[sys.argv[1]](sys.argv[2:])
PY
pq() { python3 "$WORK/pq.py" "$@"; }

{
  echo "# Persistent sending queue: cost, backlog drain, storage choice ($(date '+%Y-%m-%d %H:%M %Z'))"
  echo
  if [ -n "${OTLPD_NOTE:-}" ]; then
    echo "- otlpd: $OTLPD ($("$OTLPD" --version 2>&1 | head -1), sha256 $(sha256sum "$OTLPD" | cut -c1-12)): $OTLPD_NOTE"
  else
    echo "- otlpd: $OTLPD ($("$OTLPD" --version 2>&1 | head -1), sha256 $(sha256sum "$OTLPD" | cut -c1-12)); tree: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench' ':!scripts' 2>/dev/null || echo ' with uncommitted changes in: '"$(git diff --name-only HEAD -- . ':!bench' ':!scripts' | tr '\n' ' ')")"
  fi
  echo "- machine: $(nproc) CPUs, $(uname -sr), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- queue files: $STORAGE_DIR, filesystem $FSTYPE"
  echo "- reproduce: \`DURATION=$DURATION ROUNDS=$ROUNDS FIXED_RATE=$FIXED_RATE OUTAGE=$OUTAGE DRAIN_RATE=$DRAIN_RATE bench/persistent_queue.sh $PARTS\`"
  echo
} > "$REPORT"
RAW_PARTS=()

# --- saturation, and a fixed rate --------------------------------------------------------------
# load_runs PART RATE: ROUNDS rounds of every exporter x variant, interleaved, at RATE spans/s
# (0: as fast as possible).
load_runs() {
  local part=$1 rate=$2 runs=$WORK/$1.jsonl
  : > "$runs"
  echo "--- $part: $ROUNDS rounds of ${VARIANTS// /, } x ${EXPORTERS// /, }, $DURATION s each" >&2
  for round in $(seq 1 "$ROUNDS"); do
    local load; load=$(cut -d' ' -f1 /proc/loadavg)
    echo "  round $round (load average $load)" >&2
    for exporter in $EXPORTERS; do
      for variant in $VARIANTS; do
        [ "$variant" = none ] && [ "$exporter" != nop ] && continue
        local name="${part}_${exporter}_${variant}_r$round" port mport
        port=$(free_port); mport=$(free_port)
        rm -rf "$STORAGE_DIR/run_$variant"
        config "$exporter" "$variant" "$port" "$mport" > "$WORK/$name.yaml"
        local workers=1
        [ "$variant" = none ] && workers=0
        start_checked "$name" "$WORK/$name.yaml" "$port" "$mport" "$workers"
        local pid=$PID starts=$STARTS
        [ "$starts" -eq 1 ] || echo "    $name: started $starts times (a sending-queue worker had exited at start)" >&2
        (while kill -0 "$pid" 2>/dev/null; do poll "$mport" >> "$WORK/$name.polls" || true; sleep 1; done) &
        local poller=$!
        "$LOADGEN" --endpoint "127.0.0.1:$port" --pid "$pid" --duration "$DURATION" --warmup "$WARMUP" --label "$name" \
          --json "$WORK/$name.json" --rate "$rate" --spans-per-request 100 --attributes 10 --span-bytes 560 \
          --connections 4 --concurrency 4 > "$WORK/$name.loadgen" 2>&1 &
        local lg=$!
        sleep "$WARMUP"
        scrape "$mport" "$WORK/$name.start"
        wait "$lg" || true
        scrape "$mport" "$WORK/$name.end"
        kill "$poller" 2>/dev/null || true
        stop_otlpd "$pid" "$name"
        grep -iE "error|critical" "$WORK/$name.log" | head -5 | sed "s/^/    $name log: /" >&2 || true
        pq sat_run "$name" "$exporter" "$variant" "$round" "$WORK/$name.json" "$WORK/$name.start" "$WORK/$name.end" \
          "$WORK/$name.polls" "$runs" "$load" "$starts"
        rm -rf "$STORAGE_DIR/run_$variant" "$WORK"/out*.jsonl
      done
    done
  done
  cp "$runs" "$WORK/raw_$part.jsonl"
  RAW_PARTS+=("$part")
}

saturation() {
  load_runs saturation 0
  {
    echo "## Saturation (OTLP/gRPC as fast as possible, receiver -> ${PROCESSORS:+$PROCESSORS -> }exporter, $DURATION s per run)"
    echo
    pq sat_report "$WORK/saturation.jsonl"
    echo
  } | tee -a "$REPORT"
}

# The same at FIXED_RATE spans/s, below what every variant takes: CPU per span without the cost
# of refusing the excess (as run.sh's file_250k beside sat_file).
fixed() {
  load_runs fixed "$FIXED_RATE"
  {
    echo "## Fixed rate: $FIXED_RATE spans/s (receiver -> ${PROCESSORS:+$PROCESSORS -> }exporter, $DURATION s per run)"
    echo
    pq sat_report "$WORK/fixed.jsonl"
    echo
  } | tee -a "$REPORT"
}

# --- backlog drain ----------------------------------------------------------------------------
drain() {
  local backend_port port mport estimate_s=5
  backend_port=$(free_port)
  local otlp="endpoint: \"127.0.0.1:$backend_port\", tls: {insecure: true}"
  local testbed=(--rate "$DRAIN_RATE" --spans-per-request 100 --attributes 3 --span-bytes 145 --connections 1 --concurrency 1)
  echo "--- drain: bytes per span on disk ($estimate_s s at $DRAIN_RATE spans/s, backend down)" >&2
  port=$(free_port); mport=$(free_port)
  rm -rf "$STORAGE_DIR/run_fsync"
  config otlp fsync "$port" "$mport" ", max_size_mib: 1024, queue_size: 100000" "$otlp" > "$WORK/estimate.yaml"
  start_otlpd estimate "$WORK/estimate.yaml" "$port" "$mport"  # the backend is down: nothing is sent anyway
  "$LOADGEN" --endpoint "127.0.0.1:$port" --pid "$PID" --duration "$estimate_s" --warmup 0 --label estimate \
    --json "$WORK/estimate.json" "${testbed[@]}" > "$WORK/estimate.loadgen" 2>&1 || true
  local row; row=$(poll "$mport")
  stop_otlpd "$PID" estimate
  rm -rf "$STORAGE_DIR/run_fsync"
  local bytes_per_span max_mib queue_size
  bytes_per_span=$(echo "$row" | awk '{print ($7 > 0) ? $5 / $7 : 0}')
  max_mib=$(python3 -c "import math; print(max(64, math.ceil(1.5 * $bytes_per_span * $DRAIN_RATE * $OUTAGE / 2**20)))")
  queue_size=$(python3 -c "import math; print(math.ceil(1.5 * $DRAIN_RATE * $OUTAGE / 100) + 1000)")
  echo "  $bytes_per_span bytes/span on disk: max_size_mib $max_mib, queue_size $queue_size" >&2

  echo "--- drain: ${OUTAGE} s outage at $DRAIN_RATE spans/s, then the backend starts" >&2
  port=$(free_port); mport=$(free_port)
  config otlp fsync "$port" "$mport" ", max_size_mib: $max_mib, queue_size: $queue_size" "$otlp" > "$WORK/drain.yaml"
  start_checked drain "$WORK/drain.yaml" "$port" "$mport" 10  # 10: the otlp exporter's num_consumers
  local pid=$PID drain_starts=$STARTS drain_workers
  drain_workers=$(live_workers "$pid")
  echo "  $drain_workers of 10 sending-queue workers running ($drain_starts start(s))" >&2
  (while kill -0 "$pid" 2>/dev/null; do poll "$mport" >> "$WORK/drain.polls" || true; sleep 0.5; done) &
  local poller=$!
  "$LOADGEN" --endpoint "127.0.0.1:$port" --pid "$pid" --duration "$OUTAGE" --warmup 0 --label outage \
    --json "$WORK/outage.json" "${testbed[@]}" > "$WORK/outage.loadgen" 2>&1 || true
  # The backend: otlp -> nop, on the port the exporter has been trying.
  local bport_metrics; bport_metrics=$(free_port)
  config nop none "$backend_port" "$bport_metrics" > "$WORK/backend.yaml"
  start_otlpd backend "$WORK/backend.yaml" "$backend_port"
  local backend=$PID t_backend; t_backend=$(now)
  echo "  backend up; the load goes on until the queue is empty (at most $DRAIN_WINDOW s)" >&2
  local chunk=0 jsons="" drained=""
  while :; do
    chunk=$((chunk + 1))
    "$LOADGEN" --endpoint "127.0.0.1:$port" --pid "$pid" --duration 10 --warmup 0 --label "drain_$chunk" \
      --json "$WORK/drain_$chunk.json" "${testbed[@]}" > "$WORK/drain_$chunk.loadgen" 2>&1 || true
    jsons+="$WORK/drain_$chunk.json,"
    drained=$(awk -v t="$t_backend" 'NF == 8 && $1 > t && $2 == 0 {print $1; exit}' "$WORK/drain.polls" 2>/dev/null || true)
    kill -0 "$pid" 2>/dev/null || { echo "  otlpd (drain) is gone" >&2; break; }
    [ -n "$drained" ] && break
    python3 -c "import sys,time; sys.exit(0 if time.time() - $t_backend < $DRAIN_WINDOW else 1)" || break
  done
  kill "$poller" 2>/dev/null || true
  stop_otlpd "$pid" drain || true
  stop_otlpd "$backend" backend || true
  grep -ciE "retrying" "$WORK/drain.log" | sed 's/^/    retry warnings in the log: /' >&2 || true
  grep -iE "error|critical" "$WORK/drain.log" | grep -v retrying | sort | uniq -c | sort -rn | head -5 | sed 's/^/    drain log: /' >&2 || true
  {
    echo "## Backlog drain after an outage"
    echo
    pq drain_report "$WORK/drain.polls" "$t_backend" "$WORK/outage.json" "$jsons" "$WORK/raw_drain.json" \
      "$bytes_per_span" "$max_mib" "$queue_size" "$DRAIN_RATE" "$OUTAGE" "$drain_workers" "$drain_starts"
    echo
  } | tee -a "$REPORT"
  rm -rf "$STORAGE_DIR/run_fsync"
  RAW_PARTS+=(drain)
}

# --- storage choice ---------------------------------------------------------------------------
storage() {
  echo "--- storage: otlpd_storage_choice_bench, $STORAGE_REPS repetitions (load average $(cut -d' ' -f1 /proc/loadavg))" >&2
  OTLPD_STORAGE_BENCH_DIR="$STORAGE_DIR/run_storage_bench" "$STORAGE_BENCH" \
    --benchmark_format=json --benchmark_repetitions="$STORAGE_REPS" --benchmark_enable_random_interleaving=true \
    --benchmark_min_time="$STORAGE_MIN_TIME" > "$WORK/raw_storage.json" 2> "$WORK/storage.err" ||
    { cat "$WORK/storage.err" >&2; exit 1; }
  {
    echo "## Storage choice (bench/storage_choice_bench.cpp, files on $FSTYPE)"
    echo
    pq storage_report "$WORK/raw_storage.json"
    echo
  } | tee -a "$REPORT"
  RAW_PARTS+=(storage)
}

for part in $PARTS; do
  case $part in
    saturation) saturation ;;
    fixed) fixed ;;
    drain) drain ;;
    storage) storage ;;
    *) echo "unknown part $part (saturation, fixed, drain, storage)" >&2; exit 2 ;;
  esac
done

python3 - "$WORK" "$RAW" "$FSTYPE" "${RAW_PARTS[@]}" <<'PY'
import json, os, sys
work, raw, fstype, parts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
out = {"filesystem": fstype}
for part in ("saturation", "fixed"):
    if part in parts:
        out[part] = [json.loads(l) for l in open(os.path.join(work, f"raw_{part}.jsonl"))]
if "drain" in parts:
    out["drain"] = json.load(open(os.path.join(work, "raw_drain.json")))
if "storage" in parts:
    out["storage"] = json.load(open(os.path.join(work, "raw_storage.json")))
json.dump(out, open(raw, "w"), indent=1)
PY
echo "results: $REPORT, $RAW" >&2
[ "${KEEP_WORK:-0}" != 1 ] || echo "work files: $WORK" >&2
