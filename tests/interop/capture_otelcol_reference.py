"""Captures the real OpenTelemetry Collector's self-telemetry as a reference for otlpd:

- /metrics (Prometheus text, service.telemetry.metrics pull reader) at levels detailed, normal and
  basic, after the same SDK load over gRPC and HTTP for all three signals plus malformed
  requests, with an otlp exporter that fails (closed port, sending queue, short retries);
- the health_check extension's HTTP answers at its default endpoint while starting, running and
  shutting down, and healthcheckv2's (component_health) while the otlp exporter fails;
- a generated summary of the families (type, unit, labels, sample names).

Usage: .venv/bin/python tests/interop/capture_otelcol_reference.py OTELCOL_BIN [OUT_DIR=/tmp]
(bench/build_otelcol.sh prints OTELCOL_BIN). Writes OUT_DIR/otelcol-metrics-{detailed,normal,
basic}.txt, OUT_DIR/otelcol-health.txt and OUT_DIR/otelcol-metrics-summary.md."""
import json
import re
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import selftel  # noqa: E402

LOAD = {"grpc": {"spans": 300, "logs": 40, "counter_series": 5, "histogram_series": 3},
        "http": {"spans": 200, "logs": 30, "counter_series": 4, "histogram_series": 2}}
plain_headers = {}
# the Accept header Prometheus 3.x sends by default (scrape_protocols without native histograms)
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
                     "application/openmetrics-text;version=0.0.1;q=0.5,"
                     "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2")
HEALTH_PORT = 13133  # health_check's default endpoint is localhost:13133, path "/"


def pipeline_config(level, grpc_port, http_port, metrics_port, closed_port, extensions="health_check",
                    extension_config="health_check: {}"):
    return f"""
extensions:
  {extension_config}
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{grpc_port}"}}
      http: {{endpoint: "127.0.0.1:{http_port}"}}
processors:
  memory_limiter: {{check_interval: 1s, limit_mib: 512}}
  batch: {{}}
exporters:
  nop: {{}}
  otlp:
    endpoint: "127.0.0.1:{closed_port}"
    tls: {{insecure: true}}
    sending_queue: {{enabled: true}}
    retry_on_failure: {{enabled: true, initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 2s}}
service:
  extensions: [{extensions}]
  telemetry:
    metrics:
      level: {level}
      readers: [{{pull: {{exporter: {{prometheus: {{host: 127.0.0.1, port: {metrics_port}}}}}}}}}]
  pipelines:
    traces: {{receivers: [otlp], processors: [memory_limiter, batch], exporters: [nop, otlp]}}
    metrics: {{receivers: [otlp], processors: [memory_limiter, batch], exporters: [nop]}}
    logs: {{receivers: [otlp], processors: [memory_limiter, batch], exporters: [nop]}}
"""


class HealthWatcher(threading.Thread):
    """Polls a health URL every 10 ms and keeps each distinct answer (status, body with times
    masked) with the time it was first seen, relative to `t0`."""

    def __init__(self, url, t0):
        super().__init__(daemon=True)
        self.url, self.t0 = url, t0
        self.seen = []
        self.stop_flag = threading.Event()

    def run(self):
        last = None
        while not self.stop_flag.is_set():
            try:
                status, headers, body = selftel.http_get(self.url, timeout=1)
                key = (status, mask(body.decode(errors="replace")))
                answer = (status, headers, body.decode(errors="replace"))
            except OSError as e:
                key = ("no answer", type(e).__name__)
                answer = ("no answer", [], str(e))
            if key != last:
                self.seen.append((time.monotonic() - self.t0, answer))
                last = key
            time.sleep(0.01)


def mask(text):
    text = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", "<time>", text)
    return re.sub(r'"uptime":"[^"]*"', '"uptime":"<d>"', text)


def fmt_answer(answer):
    status, headers, body = answer
    hs = "\n".join(f"    {k}: {v}" for k, v in headers)
    return f"  status: {status}\n  headers:\n{hs}\n  body: {body}"


def run_level(binary, level, workdir, out, health_log):
    grpc_port, http_port, metrics_port, closed_port = selftel.free_ports(4)
    config = pipeline_config(level, grpc_port, http_port, metrics_port, closed_port)
    t0 = time.monotonic()
    watcher = HealthWatcher(f"http://localhost:{HEALTH_PORT}/", t0)
    watcher.start()
    proc = selftel.Process(binary, config, workdir, f"otelcol-{level}")
    try:
        proc.wait_ports([grpc_port, http_port, metrics_port])
        sent = selftel.send_load(f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}", LOAD)
        malformed = selftel.send_malformed(f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}")
        total_spans = sum(v["spans"] for v in sent.values())
        url = f"http://127.0.0.1:{metrics_port}/metrics"

        def settled():
            # every span accepted, and the otlp exporter gave up on every span (send_failed); the
            # nop exporter has no exporterhelper, so no exporter metrics
            fams = selftel.parse(selftel.scrape(url))
            accepted = fams.get("otelcol_receiver_accepted_spans")
            failed = fams.get("otelcol_exporter_send_failed_spans")
            if not accepted or not failed:
                return False
            return (sum(s.value for s in accepted.samples) == total_spans
                    and sum(s.value for s in failed.samples if s.labels.get("exporter") == "otlp") == total_spans)

        selftel.wait_until(settled, 60, "spans sent to nop and failed in otlp", proc.proc, proc.log_path)
        # one more memory_limiter check / process metrics refresh
        time.sleep(1.5)
        steady = selftel.http_get(f"http://localhost:{HEALTH_PORT}/")
        others = []
        for method, path in (("GET", "/health"), ("GET", "/status?verbose"), ("HEAD", "/"), ("POST", "/")):
            req = urllib.request.Request(f"http://localhost:{HEALTH_PORT}{path}", method=method,
                                         data=b"x" if method == "POST" else None)
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    others.append((f"{method} {path}", (r.status, r.getheaders(), r.read().decode())))
            except urllib.error.HTTPError as e:
                others.append((f"{method} {path}", (e.code, list(e.headers.items()), e.read().decode())))
        text = selftel.scrape(url)
        (out / f"otelcol-metrics-{level}.txt").write_text(text)
        # what Prometheus 3 sends: otelcol answers text/plain 0.0.4 either way (no OpenMetrics),
        # but with escaping=allow-utf-8 it keeps dotted label names (target_info) quoted
        req = urllib.request.Request(url, headers={"Accept": PROMETHEUS_ACCEPT})
        with urllib.request.urlopen(req, timeout=10) as r:
            headers = "".join(f"# {k}: {v}\n" for k, v in r.getheaders())
            (out / f"otelcol-metrics-{level}.prometheus-accept.txt").write_text(
                f"# GET /metrics with Accept: {PROMETHEUS_ACCEPT}\n# -> {r.status}\n{headers}" + r.read().decode())
        status, hdrs, _ = selftel.http_get(url)
        plain_headers[level] = (status, hdrs)
    finally:
        t_stop = time.monotonic() - t0
        code = proc.stop()
        time.sleep(0.3)
        watcher.stop_flag.set()
        watcher.join()
    if level == "detailed":
        health_log.append("=" * 78)
        health_log.append(f"health_check (contrib healthcheckextension v0.159.0), default config "
                          f"(`health_check: {{}}` -> endpoint localhost:{HEALTH_PORT}, path /), "
                          f"otelcol config:\n{config}")
        health_log.append(f"steady state (after load, otlp exporter failing), GET http://localhost:{HEALTH_PORT}/:")
        health_log.append(fmt_answer((steady[0], steady[1], steady[2].decode(errors='replace'))))
        for what, answer in others:
            health_log.append(f"{what}:\n{fmt_answer(answer)}")
        health_log.append(f"\nevery distinct answer from process start to exit (polled each 10 ms; "
                          f"SIGTERM sent at t={t_stop:.3f}s, exit code {code}):")
        for t, answer in watcher.seen:
            health_log.append(f"t={t:.3f}s\n{fmt_answer(answer)}")
    return sent, malformed


def run_v2(binary, workdir, health_log):
    grpc_port, http_port, metrics_port, closed_port, v2_http, v2_grpc = selftel.free_ports(6)
    ext = f"""healthcheckv2:
    use_v2: true
    component_health:
      include_permanent_errors: true
      include_recoverable_errors: true
      recovery_duration: 5s
    http:
      endpoint: "127.0.0.1:{v2_http}"
      status: {{enabled: true, path: /status}}
      config: {{enabled: false, path: /config}}
    grpc:
      endpoint: "127.0.0.1:{v2_grpc}"
"""
    config = pipeline_config("normal", grpc_port, http_port, metrics_port, closed_port,
                             extensions="healthcheckv2", extension_config=ext)
    base = f"http://127.0.0.1:{v2_http}"
    urls = [f"{base}/status", f"{base}/status?verbose", f"{base}/status?pipeline=traces",
            f"{base}/status?pipeline=traces&verbose", f"{base}/status?pipeline=metrics"]
    health_log.append("=" * 78)
    health_log.append(f"healthcheckv2 (contrib healthcheckv2extension v0.159.0), otelcol config:\n{config}")
    t0 = time.monotonic()
    watcher = HealthWatcher(f"{base}/status", t0)
    watcher.start()
    proc = selftel.Process(binary, config, workdir, "otelcol-v2")

    def snapshot(title):
        health_log.append(f"--- {title} (t={time.monotonic() - t0:.3f}s)")
        for u in urls:
            s, h, b = selftel.http_get(u)
            health_log.append(f"GET {u}\n{fmt_answer((s, h, b.decode(errors='replace')))}")

    try:
        proc.wait_ports([grpc_port, http_port, metrics_port, v2_http])
        snapshot("running, before any data (the otlp exporter has not failed yet)")
        selftel.send_load(f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}",
                          {"grpc": {"spans": 50}})
        time.sleep(1.0)
        snapshot("1 s after 50 spans: the otlp exporter is retrying against a closed port")
        time.sleep(6.0)
        snapshot("7 s after the spans: past recovery_duration (5s)")
    finally:
        t_stop = time.monotonic() - t0
        code = proc.stop()
        time.sleep(0.3)
        watcher.stop_flag.set()
        watcher.join()
    health_log.append(f"\nevery distinct answer of GET {base}/status from start to exit (times masked when "
                      f"comparing; SIGTERM at t={t_stop:.3f}s, exit code {code}):")
    for t, answer in watcher.seen:
        health_log.append(f"t={t:.3f}s\n{fmt_answer(answer)}")


def run_exporters(binary, workdir, out):
    """Exporters that succeed (otlp and otlphttp to a second receiver in the same process) and
    one whose 2-slot sending queue overflows, so sent_* and enqueue_failed_* appear."""
    grpc_port, http_port, metrics_port, closed_port, sink_grpc, sink_http = selftel.free_ports(6)
    config = f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{grpc_port}"}}
      http: {{endpoint: "127.0.0.1:{http_port}"}}
  otlp/sink:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{sink_grpc}"}}
      http: {{endpoint: "127.0.0.1:{sink_http}"}}
processors:
  batch: {{}}
exporters:
  nop: {{}}
  otlp/ok:
    endpoint: "127.0.0.1:{sink_grpc}"
    tls: {{insecure: true}}
  otlphttp/ok:
    endpoint: "http://127.0.0.1:{sink_http}"
  otlp/small:
    endpoint: "127.0.0.1:{closed_port}"
    tls: {{insecure: true}}
    sending_queue: {{enabled: true, queue_size: 2, num_consumers: 1}}
    retry_on_failure: {{enabled: true, initial_interval: 5s, max_interval: 5s, max_elapsed_time: 60s}}
service:
  telemetry:
    metrics:
      level: detailed
      readers: [{{pull: {{exporter: {{prometheus: {{host: 127.0.0.1, port: {metrics_port}}}}}}}}}]
  pipelines:
    traces: {{receivers: [otlp], exporters: [otlp/ok, otlphttp/ok, otlp/small]}}
    metrics: {{receivers: [otlp], processors: [batch], exporters: [otlp/ok, otlphttp/ok]}}
    logs: {{receivers: [otlp], processors: [batch], exporters: [otlp/ok, otlphttp/ok]}}
    traces/sink: {{receivers: [otlp/sink], exporters: [nop]}}
    metrics/sink: {{receivers: [otlp/sink], exporters: [nop]}}
    logs/sink: {{receivers: [otlp/sink], exporters: [nop]}}
"""
    proc = selftel.Process(binary, config, workdir, "otelcol-exporters")
    try:
        proc.wait_ports([grpc_port, http_port, metrics_port, sink_grpc, sink_http])
        sent = selftel.send_load(f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}", LOAD)
        url = f"http://127.0.0.1:{metrics_port}/metrics"

        def settled():
            fams = selftel.parse(selftel.scrape(url))
            s = fams.get("otelcol_exporter_sent_log_records")
            return s and sum(x.value for x in s.samples) == 2 * sum(v["log_records"] for v in sent.values())

        selftel.wait_until(settled, 60, "logs sent by both exporters", proc.proc, proc.log_path)
        time.sleep(1.0)
        text = selftel.scrape(url)
        (out / "otelcol-metrics-detailed-exporters.txt").write_text(
            "# otelcol config:\n" + "".join(f"# {l}\n" for l in config.strip().splitlines()) + text)
    finally:
        proc.stop()


def summarize(out):
    lines = ["# otelcol v0.159.0 self-telemetry: families by level (generated by "
             "tests/interop/capture_otelcol_reference.py)", ""]
    levels = {}
    for level in ("basic", "normal", "detailed"):
        levels[level] = selftel.parse((out / f"otelcol-metrics-{level}.txt").read_text())
    names = sorted(set().union(*[set(v) for v in levels.values()]))
    lines.append("| family (as parsed) | type | in levels | sample names | label names (union over samples) |")
    lines.append("|---|---|---|---|---|")
    for n in names:
        fam = next(levels[lv][n] for lv in ("detailed", "normal", "basic") if n in levels[lv])
        in_levels = ",".join(lv for lv in ("basic", "normal", "detailed") if n in levels[lv])
        sample_names = sorted({s.name for s in fam.samples})
        labels = sorted({k for s in fam.samples for k in s.labels})
        lines.append(f"| {n} | {fam.type} | {in_levels} | {' '.join(sample_names)} | {' '.join(labels)} |")
    return "\n".join(lines) + "\n"


def main():
    binary = sys.argv[1]
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp")
    workdir = Path(tempfile.mkdtemp(prefix="otelcol-ref-"))
    health_log = []
    results = {}
    for level in ("detailed", "normal", "basic"):
        results[level] = run_level(binary, level, workdir / level, out, health_log)
        print(level, json.dumps(results[level]), flush=True)
    run_v2(binary, workdir / "v2", health_log)
    run_exporters(binary, workdir / "exporters", out)
    (out / "otelcol-health.txt").write_text("\n".join(health_log) + "\n")
    (out / "otelcol-metrics-summary.generated.md").write_text(
        summarize(out) + f"\nLoad sent per run: {json.dumps(results['detailed'][0])}\n"
        f"Malformed requests' answers: {json.dumps(results['detailed'][1])}\n"
        f"Plain GET /metrics response headers: {plain_headers}\n")
    print("workdir:", workdir)


if __name__ == "__main__":
    main()
