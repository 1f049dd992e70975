#!/usr/bin/env python3
"""Crash loop: nothing a collector acknowledged is lost while it is SIGKILLed again and again.

A collector with a persistent sending queue (file_storage) runs between OTLP/gRPC clients and an
OTLP/gRPC backend, both in this process:

  clients (2-4 threads) --OTLP/gRPC--> collector (subprocess) --OTLP/gRPC--> backend (grpcio)

- The clients send ExportTraceServiceRequests of ~50 spans, each span with a unique
  (trace id, span id), and retry the same request on any failure until it gets OK, as an SDK
  with retries does. A span is *acknowledged* when its request got OK.
- The killer SIGKILLs the collector at a uniformly random moment (0.3-2 s by default) after the
  collector acknowledged its first request since its last start, then restarts it with the same
  configuration and the same storage directory (one directory for the whole run: the point is
  that the queue survives restarts). --kills times (default 20).
  With --stop-signal TERM it stops the collector gracefully instead: SIGTERM, then it waits for
  the collector to exit (at most --stop-timeout, default 30 s; then SIGKILL, counted as
  stop_timeouts) before restarting it. This is where a queue that drains at shutdown, or that
  deletes what fails while it shuts down, loses data (otelcol issue 15677).
- The backend is stopped for random 1-4 s windows, about a third of the time, and started again
  on the same port.
- At the end the clients stop, the backend stays up, the collector runs without kills until
  every acknowledged span has reached the backend or --drain-timeout passes; then it gets
  SIGTERM.

Report: JSON on stdout (also --json FILE), a human summary on stderr. lost = acknowledged spans
the backend never received; duplicates = copies received beyond the first; drain time = from
the end of the load (backend up for good, clients told to stop) until every acknowledged span
has arrived. With --stop-signal TERM, "kills" counts the SIGTERM stops, stop_seconds_* how long
the collector took to exit, stop_timeouts those it did not finish in --stop-timeout (then
SIGKILLed) and stop_exit_codes its exit codes; the collector's log has a line where each stop
began and ended. Exit code 0 when lost == 0, 1 when spans were lost, 2 when the run
could not be carried out (e.g. the collector refused its configuration).

The same seed gives the same schedule of kill delays and backend outages (the seed is printed).

The collector's configuration is a template (string.Template) with the placeholders
$RECV_PORT, $BACKEND_PORT, $STORAGE_DIR, $MAX_ELAPSED_TIME and $RETRY_ENABLED
(retry_on_failure::enabled, "true" or "false"); the default is the one below, which otlpd and
the OpenTelemetry Collector (otelcol-contrib or bench/build_otelcol.sh's build) both accept.
Its command line is --cmd, default "{binary} --config {config}", plus any --collector-arg.
The report's "settings" records the options that shape a run (stop signal, retry policy,
kill delays, outages, load).

  .venv/bin/python bench/crash_loop.py --binary build/app/otlpd
  .venv/bin/python bench/crash_loop.py --binary "$(bench/build_otelcol.sh)" --seed 7 --kills 30
  .venv/bin/python bench/crash_loop.py --binary ... --max-elapsed-time 300s   # otelcol's default
  # graceful restarts during outages, without retries (otelcol issue 15677):
  .venv/bin/python bench/crash_loop.py --binary ... --stop-signal TERM --retry-enabled false
  # outages that outlast max_elapsed_time: does the queue drop its head? (otelcol issue 15324)
  .venv/bin/python bench/crash_loop.py --binary ... --outage 5 8 --max-elapsed-time 2s --kill-delay 2 6

As a module: `import crash_loop; report = crash_loop.run(crash_loop.Options(binary=...))`.
"""
import argparse
import dataclasses
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2

DEFAULT_CONFIG = """\
extensions:
  file_storage:
    directory: $STORAGE_DIR
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$RECV_PORT
exporters:
  otlp:
    endpoint: 127.0.0.1:$BACKEND_PORT
    tls: {insecure: true}
    sending_queue:
      storage: file_storage
    retry_on_failure:
      enabled: $RETRY_ENABLED
      initial_interval: 100ms
      max_interval: 1s
      max_elapsed_time: $MAX_ELAPSED_TIME
service:
  extensions: [file_storage]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp]
  telemetry:
    metrics:
      level: none
"""

SPAN_ID_ATTR = "crash_loop.span"
# Log lines worth a look after a run (zap-style "<time>\t<level>\t..." as otelcol and otlpd
# write them, plus Go panics and words that mean data went missing).
LOG_PATTERNS = {
    "error_lines": re.compile(r"\t(error|dpanic|panic|fatal)\t"),
    "dropped": re.compile(r"(?i)dropp(ed|ing)"),
    "panic": re.compile(r"^panic:|goroutine \d+ \["),
    "corrupt": re.compile(r"(?i)corrupt|invalid (database|page)|checksum"),
}


@dataclasses.dataclass
class Options:
    binary: str
    cmd: str = "{binary} --config {config}"
    collector_args: tuple = ()
    config_template: str = DEFAULT_CONFIG
    max_elapsed_time: str = "0"          # "0": retry forever; "300s": otelcol's default
    retry_enabled: bool = True            # retry_on_failure::enabled
    kills: int = 20                       # stops (by stop_signal) and restarts
    stop_signal: str = "KILL"             # "KILL" | "TERM" (graceful stop, waited for)
    stop_timeout: float = 30.0            # TERM: then SIGKILL (counted as a stop timeout)
    seed: int = None                      # None: a random one (reported)
    clients: int = 3
    spans_per_request: int = 50
    request_interval: float = 0.02        # pause per client between two acknowledged requests, s
    kill_delay: tuple = (0.3, 2.0)        # after the collector's first OK since its start, s
    outage: tuple = (1.0, 4.0)            # backend down windows, s
    uptime: tuple = (2.0, 8.0)            # backend up windows between outages, s (1/3 down)
    outages: bool = True
    drain_timeout: float = 120.0
    start_timeout: float = 30.0           # for the collector's receiver port after a (re)start
    ack_timeout: float = 30.0             # for the first OK after a (re)start; then kill anyway
    rpc_timeout: float = 5.0              # per client attempt
    workdir: str = None                   # None: a temp directory, removed unless keep
    keep: bool = False
    label: str = ""
    verbose: bool = True


class HarnessError(Exception):
    """The run could not be carried out (not a verdict on the collector's durability)."""


def log(opts, msg):
    if opts.verbose:
        print(f"[crash_loop{' ' + opts.label if opts.label else ''} {time.strftime('%H:%M:%S')}] {msg}",
              file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Span ids: client (8 bits) | request sequence (40 bits) | index in request, from 1 (16 bits).
# The trace id is nonce (8 bytes) + request id (client | seq), so the backend can check that a
# span arrived intact and map it back to its request.
def request_id(client, seq):
    return (client << 40) | seq


def span_ids(rid, n):
    base = rid << 16
    return range(base + 1, base + n + 1)


def build_request(nonce, rid, n):
    req = trace_service_pb2.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    attr = rs.resource.attributes.add()
    attr.key, attr.value.string_value = "service.name", "crash-loop"
    ss = rs.scope_spans.add()
    ss.scope.name = "crash_loop"
    trace_id = nonce + rid.to_bytes(8, "big")
    now = time.time_ns()
    for i, sid in enumerate(span_ids(rid, n)):
        sp = ss.spans.add()
        sp.trace_id = trace_id
        sp.span_id = sid.to_bytes(8, "big")
        sp.name = f"op-{i % 8}"
        sp.kind = trace_pb2.Span.SPAN_KIND_SERVER
        sp.start_time_unix_nano = now
        sp.end_time_unix_nano = now + 1_000_000
        a = sp.attributes.add()
        a.key, a.value.int_value = SPAN_ID_ATTR, sid
    return req


class Ledger:
    """What was sent, acknowledged and received, under one lock."""

    def __init__(self, spans_per_request):
        self.n = spans_per_request
        self.cond = threading.Condition()
        self.sent_requests = set()
        self.acked_requests = set()
        self.received = {}           # span id -> copies received
        self.missing = set()         # acknowledged, not (yet) received
        self.corrupt = 0
        self.acked_while_down = 0    # spans acknowledged while the backend was down
        self.backend_requests = 0

    def sent(self, rid):
        with self.cond:
            self.sent_requests.add(rid)

    def acked(self, rid, backend_up):
        with self.cond:
            self.acked_requests.add(rid)
            for sid in span_ids(rid, self.n):
                if sid not in self.received:
                    self.missing.add(sid)
            if not backend_up:
                self.acked_while_down += self.n

    def receive(self, sids, corrupt):
        with self.cond:
            self.backend_requests += 1
            self.corrupt += corrupt
            for sid in sids:
                copies = self.received.get(sid, 0)
                self.received[sid] = copies + 1
                if copies == 0:
                    self.missing.discard(sid)
            self.cond.notify_all()

    def wait_drained(self, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.missing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.cond.wait(min(remaining, 1.0))
            return True


class Backend(trace_service_pb2_grpc.TraceServiceServicer):
    """OTLP/gRPC trace backend that can be stopped and started again on the same port."""

    def __init__(self, ledger, nonce):
        self.ledger, self.nonce = ledger, nonce
        self.port = None
        self.up = False
        self._server = None
        self._lock = threading.Lock()
        self.outages = 0
        self.down_seconds = 0.0
        self._down_since = None

    def Export(self, request, context):
        sids, corrupt = [], 0
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for sp in ss.spans:
                    if len(sp.span_id) != 8 or len(sp.trace_id) != 16:
                        corrupt += 1
                        continue
                    sid = int.from_bytes(sp.span_id, "big")
                    attr = next((a.value.int_value for a in sp.attributes if a.key == SPAN_ID_ATTR), None)
                    if sp.trace_id != self.nonce + (sid >> 16).to_bytes(8, "big") or attr != sid:
                        corrupt += 1
                        continue
                    sids.append(sid)
        self.ledger.receive(sids, corrupt)
        return trace_service_pb2.ExportTraceServiceResponse()

    def start(self, timeout=10.0):
        with self._lock:
            if self.up:
                return
            deadline = time.monotonic() + timeout
            while True:
                server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                                     options=[("grpc.so_reuseport", 0),
                                              ("grpc.max_receive_message_length", 256 << 20)])
                trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, server)
                try:
                    port = server.add_insecure_port(f"127.0.0.1:{self.port or 0}")
                except RuntimeError:
                    port = 0
                if port:
                    break
                server.stop(0)
                if time.monotonic() > deadline:
                    raise HarnessError(f"backend cannot bind 127.0.0.1:{self.port} again")
                time.sleep(0.05)  # the port is still held (a retry loop, not synchronisation)
            self.port = port
            server.start()
            self._server = server
            self.up = True
            if self._down_since is not None:
                self.down_seconds += time.monotonic() - self._down_since
                self._down_since = None

    def stop(self):
        with self._lock:
            if not self.up:
                return
            self.up = False
            self._down_since = time.monotonic()
            self.outages += 1
            self._server.stop(0).wait()
            self._server = None

    def close(self):
        with self._lock:
            if self._server is not None:
                self._server.stop(0).wait()
                self._server = None
            self.up = False


class Collector:
    """The collector under test as a child process in its own process group."""

    def __init__(self, argv, port, log_path, cwd):
        self.argv, self.port, self.log_path, self.cwd = argv, port, log_path, cwd
        self.proc = None
        self.generation = 0   # incremented at every start
        self.starts = 0
        self._log = open(log_path, "ab")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout):
        """Starts the collector; True once its receiver port accepts connections, False if it
        exited first or timed out (it is killed then)."""
        assert not self.alive()
        self.starts += 1
        self._log.write(f"\n===== crash_loop: start {self.starts} =====\n".encode())
        self._log.flush()
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=subprocess.STDOUT, cwd=self.cwd, start_new_session=True)
        except OSError as e:
            raise HarnessError(f"cannot run {self.argv[0]}: {e}") from e
        self.generation += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.01)  # polling the port
        self.kill()
        return False

    def _signal_group(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGKILL)
        self.proc.wait()
        # the process group may outlive its leader (a collector that forks): kill it too
        self._signal_group(signal.SIGKILL)

    def terminate(self, timeout=30.0):
        """SIGTERM, wait, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        return self.proc.returncode

    def mark(self, text):
        """A line in the collector's log (between its own lines), for a post-mortem."""
        self._log.write(f"===== crash_loop: {text} =====\n".encode())
        self._log.flush()

    def graceful_stop(self, timeout):
        """SIGTERM to the collector alone (as a service manager sends it), and a wait for its
        exit; SIGKILL after timeout. Returns (exit code, seconds until it exited or was killed,
        True if it had to be killed)."""
        if not self.alive():
            self.kill()
            return self.proc.returncode if self.proc else None, 0.0, False
        t0 = time.monotonic()
        try:
            self.proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        timed_out = False
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        seconds = time.monotonic() - t0
        self.kill()
        return self.proc.returncode, seconds, timed_out

    def close(self):
        try:
            self.kill()
        finally:
            self._log.close()


class Client(threading.Thread):
    """Sends requests of unique spans; retries each request until OK, like an SDK with retries."""

    def __init__(self, index, target, opts, ledger, backend, collector, nonce, stop, on_ack):
        super().__init__(name=f"crash-loop-client-{index}", daemon=True)
        self.index, self.target, self.opts = index, target, opts
        self.ledger, self.backend, self.collector, self.nonce = ledger, backend, collector, nonce
        self.stop_event, self.on_ack = stop, on_ack
        self.rng = random.Random(f"{opts.seed}-client-{index}")
        self.failures = {}
        self.abandoned = 0
        self.error = None

    def _channel(self):
        return grpc.insecure_channel(self.target, options=[
            ("grpc.initial_reconnect_backoff_ms", 50),
            ("grpc.min_reconnect_backoff_ms", 50),
            ("grpc.max_reconnect_backoff_ms", 200),
        ])

    def run(self):
        try:
            self._run()
        except BaseException as e:  # reported by the orchestrator
            self.error = e

    def _run(self):
        channel = self._channel()
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        seq, consecutive = 0, 0
        try:
            while not self.stop_event.is_set():
                rid = request_id(self.index, seq)
                seq += 1
                req = build_request(self.nonce, rid, self.opts.spans_per_request)
                self.ledger.sent(rid)
                while True:
                    generation = self.collector.generation
                    try:
                        stub.Export(req, timeout=self.opts.rpc_timeout)
                    except grpc.RpcError as e:
                        code = e.code().name if e.code() else "UNKNOWN"
                        self.failures[code] = self.failures.get(code, 0) + 1
                        consecutive += 1
                        if self.stop_event.is_set():
                            self.abandoned += 1
                            break
                        if consecutive % 50 == 0:  # a fresh channel, in case this one is stuck
                            channel.close()
                            channel = self._channel()
                            stub = trace_service_pb2_grpc.TraceServiceStub(channel)
                        self.stop_event.wait(self.rng.uniform(0.05, 0.2))
                        continue
                    consecutive = 0
                    self.ledger.acked(rid, self.backend.up)
                    self.on_ack(generation)
                    break
                if self.opts.request_interval > 0:
                    self.stop_event.wait(self.opts.request_interval)
        finally:
            channel.close()


def scan_log(path, tail=40):
    stats = {k: 0 for k in LOG_PATTERNS}
    samples = {}
    lines = []
    try:
        with open(path, "r", errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                lines.append(line)
                if len(lines) > tail:
                    del lines[0]
                for k, rx in LOG_PATTERNS.items():
                    if rx.search(line):
                        stats[k] += 1
                        samples.setdefault(k, line[:400])
    except OSError:
        pass
    return stats, samples, lines


def run(opts: Options) -> dict:
    """Runs the crash loop and returns the report (a dict; see main() for the exit code)."""
    if opts.seed is None:
        opts.seed = random.SystemRandom().randrange(1 << 31)
    if not 1 <= opts.clients <= 255:
        raise ValueError("clients: 1..255")
    opts.stop_signal = opts.stop_signal.upper().removeprefix("SIG")
    if opts.stop_signal not in ("KILL", "TERM"):
        raise ValueError("stop_signal: KILL or TERM")
    kill_rng = random.Random(f"{opts.seed}-kills")
    outage_rng = random.Random(f"{opts.seed}-outages")
    kill_delays = [kill_rng.uniform(*opts.kill_delay) for _ in range(opts.kills)]
    nonce = random.Random(f"{opts.seed}-nonce").randbytes(8)
    log(opts, f"seed {opts.seed}, {opts.kills} x SIG{opts.stop_signal}, retry_on_failure "
              f"{'enabled' if opts.retry_enabled else 'disabled'}, max_elapsed_time {opts.max_elapsed_time}, "
              f"outages {'%g-%g s' % opts.outage if opts.outages else 'none'}, binary {opts.binary}")

    own_workdir = opts.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="crash-loop-") if own_workdir else opts.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    storage = workdir / "storage"  # a fresh queue directory and log for every run
    shutil.rmtree(storage, ignore_errors=True)
    storage.mkdir()
    (workdir / "collector.log").unlink(missing_ok=True)
    ledger = Ledger(opts.spans_per_request)
    backend = Backend(ledger, nonce)
    collector = None
    clients = []
    stop_clients = threading.Event()
    stop_outages = threading.Event()
    outage_thread = None
    ack_cond = threading.Condition()
    acked_generation = [0]
    report = {
        "label": opts.label, "seed": opts.seed, "binary": opts.binary, "kills_requested": opts.kills,
        "retry_policy": {"enabled": opts.retry_enabled, "initial_interval": "100ms", "max_interval": "1s",
                         "max_elapsed_time": opts.max_elapsed_time},
        "stop_signal": opts.stop_signal,
        "settings": settings(opts),
        "error": None,
    }
    started = time.monotonic()
    kills = kills_without_ack = kills_while_down = unexpected_exits = startup_failures = 0
    stop_timeouts = 0
    stop_seconds = []       # TERM: from SIGTERM until the collector exited
    stop_exit_codes = {}    # TERM: exit code -> count (killed after the timeout: -9)
    drain_seconds = None
    in_flight_at_kills = []  # acknowledged spans not yet at the backend, at each kill
    drained = False
    exit_code = None
    finished = False

    def on_ack(generation):
        with ack_cond:
            if collector is not None and generation == collector.generation and generation > acked_generation[0]:
                acked_generation[0] = generation
                ack_cond.notify_all()

    def start_collector():
        nonlocal startup_failures
        for attempt in range(3):
            if collector.start(opts.start_timeout):
                return
            startup_failures += 1
            log(opts, f"collector did not start (exit code {collector.proc.returncode}); attempt {attempt + 1}/3")
        raise HarnessError("the collector did not start 3 times in a row")

    def outage_loop():
        while not stop_outages.is_set():
            if stop_outages.wait(outage_rng.uniform(*opts.uptime)):
                break
            backend.stop()
            stop_outages.wait(outage_rng.uniform(*opts.outage))
            backend.start()

    try:
        backend.start()
        recv_port = free_port()
        if not opts.retry_enabled and not re.search(r"\$(RETRY_ENABLED\b|\{RETRY_ENABLED\})", opts.config_template):
            raise HarnessError("retry_enabled is false but the config template has no $RETRY_ENABLED")
        config = string.Template(opts.config_template).substitute(
            RECV_PORT=recv_port, BACKEND_PORT=backend.port, STORAGE_DIR=str(storage),
            MAX_ELAPSED_TIME=opts.max_elapsed_time, RETRY_ENABLED="true" if opts.retry_enabled else "false")
        config_path = workdir / "collector.yaml"
        config_path.write_text(config)
        argv = [a.format(binary=opts.binary, config=str(config_path)) for a in shlex.split(opts.cmd)]
        argv += list(opts.collector_args)
        collector = Collector(argv, recv_port, workdir / "collector.log", workdir)
        report["command"] = argv
        start_collector()
        log(opts, f"collector up on 127.0.0.1:{recv_port}, backend on 127.0.0.1:{backend.port}, dir {workdir}")

        clients = [Client(i, f"127.0.0.1:{recv_port}", opts, ledger, backend, collector, nonce, stop_clients, on_ack)
                   for i in range(opts.clients)]
        for c in clients:
            c.start()
        if opts.outages:
            outage_thread = threading.Thread(target=outage_loop, name="crash-loop-outages", daemon=True)
            outage_thread.start()

        def wait_first_ack():
            """The collector's first OK since its last start; False on timeout or if it died."""
            deadline = time.monotonic() + opts.ack_timeout
            with ack_cond:
                while acked_generation[0] < collector.generation:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not collector.alive():
                        return False
                    ack_cond.wait(min(remaining, 0.1))
                return True

        def died_by_itself():
            nonlocal unexpected_exits
            if collector.alive():
                return False
            unexpected_exits += 1
            log(opts, f"collector exited by itself (code {collector.proc.returncode}); restarting it")
            start_collector()
            return True

        rounds = 0
        while kills < opts.kills and rounds < 3 * opts.kills:  # bounded if it keeps dying by itself
            rounds += 1
            got_ack = wait_first_ack()
            if died_by_itself():
                continue
            if not got_ack:
                kills_without_ack += 1
            # the scheduled delay (the schedule, not synchronisation), watching for an exit meanwhile
            kill_at = time.monotonic() + kill_delays[kills]
            while collector.alive() and time.monotonic() < kill_at:
                time.sleep(min(0.02, max(0.0, kill_at - time.monotonic())))
            if died_by_itself():
                continue
            if not backend.up:
                kills_while_down += 1
            with ledger.cond:
                in_flight_at_kills.append(len(ledger.missing))
            if opts.stop_signal == "TERM":
                collector.mark(f"SIGTERM {kills + 1} (backend {'up' if backend.up else 'down'})")
                code, seconds, timed_out = collector.graceful_stop(opts.stop_timeout)
                stop_seconds.append(seconds)
                stop_exit_codes[str(code)] = stop_exit_codes.get(str(code), 0) + 1
                if timed_out:
                    stop_timeouts += 1
                    log(opts, f"collector still running {opts.stop_timeout:g} s after SIGTERM: SIGKILLed")
                collector.mark(f"exited with {code} after {seconds:.2f} s{' (SIGKILL after the timeout)' if timed_out else ''}")
            else:
                collector.kill()
            kills += 1
            start_collector()
            if kills % 5 == 0:
                with ledger.cond:
                    progress = (len(ledger.acked_requests) * opts.spans_per_request, len(ledger.received),
                                len(ledger.missing))
                log(opts, "%d %s; %d spans acknowledged, %d received, %d acknowledged not yet received"
                    % (kills, "kills" if opts.stop_signal == "KILL" else "SIGTERM restarts", *progress))

        # the end: clients stop, the backend stays up, no more kills; wait for every ack'd span
        stop_outages.set()
        if outage_thread:
            outage_thread.join()
        backend.start()
        stop_clients.set()
        drain_start = time.monotonic()  # from the end of the load: backend up, clients told to stop
        for c in clients:
            c.join()
        with ledger.cond:
            in_flight = len(ledger.missing)
        log(opts, f"clients stopped; waiting up to {opts.drain_timeout:.0f} s for {in_flight} acknowledged spans")
        if not collector.alive():
            unexpected_exits += 1
            start_collector()
        drained = ledger.wait_drained(opts.drain_timeout)
        drain_seconds = time.monotonic() - drain_start
        report["collector_exit_code"] = collector.terminate()
        finished = True
    except HarnessError as e:
        report["error"] = str(e)
        exit_code = 2
        finished = True
    finally:
        stop_outages.set()
        stop_clients.set()
        for c in clients:
            c.join(timeout=opts.rpc_timeout + 5)
        if collector is not None:
            collector.close()
        backend.close()
        if not finished and own_workdir and not opts.keep:  # interrupted (SIGTERM, Ctrl-C)
            shutil.rmtree(workdir, ignore_errors=True)

    client_errors = [repr(c.error) for c in clients if c.error is not None]
    if client_errors and report["error"] is None:
        report["error"] = "client thread failed: " + "; ".join(client_errors)
        exit_code = 2
    with ledger.cond:
        received_unique = len(ledger.received)
        duplicates = sum(c - 1 for c in ledger.received.values())
        acked_spans = len(ledger.acked_requests) * opts.spans_per_request
        unacked_delivered = unknown = 0
        for sid in ledger.received:
            rid = sid >> 16
            if rid in ledger.acked_requests:
                continue
            if rid in ledger.sent_requests:
                unacked_delivered += 1
            else:
                unknown += 1
        lost = len(ledger.missing)
        lost_sample = sorted(ledger.missing)[:10]
        report.update({
            "kills": kills,   # stops by stop_signal (SIGKILL or SIGTERM), each followed by a restart
            "stop_timeouts": stop_timeouts,
            "stop_seconds_mean": round(sum(stop_seconds) / len(stop_seconds), 2) if stop_seconds else None,
            "stop_seconds_max": round(max(stop_seconds), 2) if stop_seconds else None,
            "stop_exit_codes": dict(sorted(stop_exit_codes.items())),
            "kills_while_backend_down": kills_while_down,
            "kills_without_ack": kills_without_ack,
            "in_flight_at_kill_max": max(in_flight_at_kills, default=0),
            "in_flight_at_kill_mean": round(sum(in_flight_at_kills) / len(in_flight_at_kills)) if in_flight_at_kills else 0,
            "collector_starts": collector.starts if collector else 0,
            "collector_restarts": max(0, (collector.starts if collector else 0) - 1),
            "unexpected_exits": unexpected_exits,
            "startup_failures": startup_failures,
            "requests_sent": len(ledger.sent_requests),
            "requests_acknowledged": len(ledger.acked_requests),
            "spans_acknowledged": acked_spans,
            "spans_acknowledged_while_backend_down": ledger.acked_while_down,
            "spans_received_unique": received_unique,
            "lost": lost,
            "lost_sample": [f"{s:016x}" for s in lost_sample],
            "duplicates": duplicates,
            "unacknowledged_delivered": unacked_delivered,
            "unknown_or_corrupt_spans": unknown + ledger.corrupt,
            "backend_requests": ledger.backend_requests,
            "backend_outages": backend.outages,
            "backend_down_seconds": round(backend.down_seconds, 2),
            "drained": drained,
            "drain_seconds": None if drain_seconds is None else round(drain_seconds, 2),
            "elapsed_seconds": round(time.monotonic() - started, 2),
            "client_failures": _merge([c.failures for c in clients]),
            "client_requests_abandoned_at_stop": sum(c.abandoned for c in clients),
        })
    if collector is not None:
        stats, samples, tail = scan_log(collector.log_path)
        report["collector_log"] = {"counts": stats, "first": samples}
        if exit_code == 2 or lost:
            report["collector_log"]["tail"] = tail
    if own_workdir and not opts.keep and exit_code != 2 and not lost:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        report["workdir"] = str(workdir)
    if exit_code is None:
        exit_code = 0 if lost == 0 else 1
    report["exit_code"] = exit_code
    return report


def settings(opts) -> dict:
    """The options that shape a run, as the report records them."""
    return {
        "stop_signal": opts.stop_signal,
        "stop_timeout": opts.stop_timeout if opts.stop_signal == "TERM" else None,
        "kills": opts.kills,
        "kill_delay": list(opts.kill_delay),
        "retry_enabled": opts.retry_enabled,
        "max_elapsed_time": opts.max_elapsed_time,
        "outages": opts.outages,
        "outage": list(opts.outage) if opts.outages else None,
        "uptime": list(opts.uptime) if opts.outages else None,
        "clients": opts.clients,
        "spans_per_request": opts.spans_per_request,
        "request_interval": opts.request_interval,
        "drain_timeout": opts.drain_timeout,
        "config_template": "default" if opts.config_template == DEFAULT_CONFIG else "custom",
    }


def _merge(dicts):
    out = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return dict(sorted(out.items()))


def summary(r) -> str:
    st = r.get("settings", {})
    outage = st.get("outage")
    head = f"crash loop{' (' + r['label'] + ')' if r.get('label') else ''}: seed {r['seed']}, " \
           f"SIG{r.get('stop_signal', 'KILL')} restarts, " \
           f"retry_on_failure {'enabled' if r['retry_policy'].get('enabled', True) else 'disabled'}, " \
           f"max_elapsed_time {r['retry_policy']['max_elapsed_time']}, " \
           f"outages {'%g-%g s' % tuple(outage) if outage else 'none'}"
    if r.get("error"):
        lines = [head, f"  ERROR: {r['error']}"]
        tail = r.get("collector_log", {}).get("tail")
        if tail:
            lines.append("  collector log (tail):")
            lines += ["    " + line for line in tail[-15:]]
        if r.get("workdir"):
            lines.append(f"  workdir kept: {r['workdir']}")
        return "\n".join(lines)
    verdict = "PASS: nothing acknowledged was lost" if r["lost"] == 0 else f"FAIL: {r['lost']} acknowledged spans lost"
    stops = "kills" if r.get("stop_signal", "KILL") == "KILL" else "SIGTERM stops"
    lines = [
        head,
        f"  {stops} {r['kills']} ({r['kills_while_backend_down']} while the backend was down), "
        f"collector restarts {r['collector_restarts']}, exits by itself {r['unexpected_exits']}, "
        f"failed starts {r['startup_failures']}",
    ]
    if r.get("stop_signal") == "TERM":
        lines.append(f"  SIGTERM: exit in {r['stop_seconds_mean']} s on average, at most {r['stop_seconds_max']} s; "
                     f"killed after {r['settings']['stop_timeout']:g} s {r['stop_timeouts']}; "
                     f"exit codes {r['stop_exit_codes']}")
    lines += [
        f"  acknowledged spans not yet delivered at a kill: mean {r['in_flight_at_kill_mean']}, "
        f"max {r['in_flight_at_kill_max']}",
        f"  spans acknowledged {r['spans_acknowledged']} "
        f"({r['spans_acknowledged_while_backend_down']} while the backend was down), "
        f"received {r['spans_received_unique']} unique",
        f"  lost {r['lost']}, duplicates {r['duplicates']}, unacknowledged but delivered "
        f"{r['unacknowledged_delivered']}, unknown/corrupt {r['unknown_or_corrupt_spans']}",
        f"  backend outages {r['backend_outages']} ({r['backend_down_seconds']} s down), "
        f"drain {r['drain_seconds']} s ({'complete' if r['drained'] else 'timed out'}), elapsed {r['elapsed_seconds']} s",
        f"  collector log: {r.get('collector_log', {}).get('counts')}",
        f"  {verdict}",
    ]
    if r.get("workdir"):
        lines.append(f"  workdir kept: {r['workdir']}")
    return "\n".join(lines)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", required=True, help="the collector's binary")
    p.add_argument("--cmd", default=Options.cmd,
                   help="its command line; {binary} and {config} are replaced (default: %(default)s)")
    p.add_argument("--collector-arg", action="append", default=[], help="an extra argument (repeatable)")
    p.add_argument("--config-template", help="a config template file ($RECV_PORT, $BACKEND_PORT, "
                                             "$STORAGE_DIR, $MAX_ELAPSED_TIME, $RETRY_ENABLED); "
                                             "default: the built-in one")
    p.add_argument("--print-config-template", action="store_true", help="print the default template and exit")
    p.add_argument("--max-elapsed-time", default="0",
                   help="retry_on_failure::max_elapsed_time: 0 = retry forever (default), 300s = otelcol's default")
    p.add_argument("--retry-enabled", choices=("true", "false"), default="true",
                   help="retry_on_failure::enabled (default %(default)s)")
    p.add_argument("--kills", type=int, default=20, help="stops and restarts (default %(default)s)")
    p.add_argument("--stop-signal", choices=("KILL", "TERM"), default="KILL",
                   type=lambda v: v.upper().removeprefix("SIG"),
                   help="KILL (default) or TERM: a graceful stop, waited for (at most --stop-timeout)")
    p.add_argument("--stop-timeout", type=float, default=Options.stop_timeout,
                   help="TERM: seconds to wait for the collector's exit, then SIGKILL (default %(default)s)")
    p.add_argument("--seed", type=int)
    p.add_argument("--clients", type=int, default=3)
    p.add_argument("--spans-per-request", type=int, default=50)
    p.add_argument("--request-interval", type=float, default=Options.request_interval,
                   help="seconds each client pauses between two requests (default %(default)s)")
    p.add_argument("--kill-delay", type=float, nargs=2, default=Options.kill_delay, metavar=("MIN", "MAX"))
    p.add_argument("--outage", type=float, nargs=2, default=Options.outage, metavar=("MIN", "MAX"))
    p.add_argument("--uptime", type=float, nargs=2, default=Options.uptime, metavar=("MIN", "MAX"))
    p.add_argument("--no-outages", action="store_true", help="keep the backend up all the time")
    p.add_argument("--drain-timeout", type=float, default=Options.drain_timeout)
    p.add_argument("--start-timeout", type=float, default=Options.start_timeout)
    p.add_argument("--workdir", help="keep storage, config and log here, replacing those of an earlier run "
                                     "(default: a temp directory)")
    p.add_argument("--keep", action="store_true", help="keep the temp directory")
    p.add_argument("--label", default="")
    p.add_argument("--json", help="also write the JSON report to this file")
    p.add_argument("--quiet", action="store_true")
    if "--print-config-template" in argv:
        print(DEFAULT_CONFIG, end="")
        sys.exit(0)
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(sys.argv[1:] if argv is None else argv)
    opts = Options(
        binary=a.binary, cmd=a.cmd, collector_args=tuple(a.collector_arg),
        config_template=Path(a.config_template).read_text() if a.config_template else DEFAULT_CONFIG,
        max_elapsed_time=a.max_elapsed_time, retry_enabled=a.retry_enabled == "true",
        kills=a.kills, stop_signal=a.stop_signal, stop_timeout=a.stop_timeout, seed=a.seed, clients=a.clients,
        spans_per_request=a.spans_per_request, request_interval=a.request_interval,
        kill_delay=tuple(a.kill_delay), outage=tuple(a.outage), uptime=tuple(a.uptime), outages=not a.no_outages,
        drain_timeout=a.drain_timeout, start_timeout=a.start_timeout, workdir=a.workdir, keep=a.keep,
        label=a.label, verbose=not a.quiet)

    def on_sigterm(signum, _frame):
        raise SystemExit(128 + signum)  # unwinds through run()'s finally: children are killed

    signal.signal(signal.SIGTERM, on_sigterm)
    report = run(opts)
    text = json.dumps(report, indent=2)
    print(text)
    if a.json:
        Path(a.json).write_text(text + "\n")
    print(summary(report), file=sys.stderr)
    return report["exit_code"]


if __name__ == "__main__":
    sys.exit(main())
