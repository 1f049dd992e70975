"""A real Prometheus server scraping otlpd's self-telemetry (service.telemetry.metrics, pull
reader, Prometheus text format): the Python SDK sends a known number of spans over OTLP/gRPC and
OTLP/HTTP, and Prometheus' query API must report exactly those counts per transport, refused
spans 0, the target up and its scrapes error-free. The same test runs against the real
OpenTelemetry Collector when OTELCOL_BIN is set, which pins the series names otlpd must match as
Prometheus stores them (otelcol v0.159.0 writes counters without `_total`).

Needs PROMETHEUS_BIN (scripts/interop.sh builds Prometheus into .tools/) and OTLPD_BIN."""
import json
import os
import urllib.parse
from pathlib import Path

import pytest

import selftel

PROMETHEUS_BIN = selftel.binary_from_env("PROMETHEUS_BIN")
OTLPD_BIN = os.environ.get("OTLPD_BIN", str(Path(__file__).resolve().parents[2] / "build" / "app" / "otlpd"))
OTELCOL_BIN = selftel.binary_from_env("OTELCOL_BIN")
pytestmark = pytest.mark.skipif(not PROMETHEUS_BIN, reason="PROMETHEUS_BIN is not set: run scripts/interop.sh")

SPANS = {"grpc": 123, "http": 77}
# the names otelcol v0.159.0 exposes and Prometheus stores (no _total suffix: the collector's
# prometheus reader defaults to without_type_suffix, without_units, without_scope_info)
ACCEPTED = "otelcol_receiver_accepted_spans"
REFUSED = "otelcol_receiver_refused_spans"
DEADLINE = 60


class Prometheus:
    def __init__(self, workdir, target):
        self.port, = selftel.free_ports(1)
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "prometheus.yml"
        config.write_text(f"""
global: {{scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}}
scrape_configs:
  - job_name: collector
    static_configs: [{{targets: ["{target}"]}}]
""")
        self.log_path = workdir / "prometheus.log"
        self._log = open(self.log_path, "wb")
        import subprocess
        self.proc = subprocess.Popen(
            [PROMETHEUS_BIN, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=workdir)
        self.api = f"http://127.0.0.1:{self.port}"
        selftel.wait_until(lambda: selftel.http_get(f"{self.api}/-/ready")[0] == 200, DEADLINE,
                           "Prometheus to be ready", self.proc, self.log_path)

    def get(self, path, **params):
        status, _, body = selftel.http_get(f"{self.api}{path}?{urllib.parse.urlencode(params)}")
        assert status == 200, (status, body[:500])
        doc = json.loads(body)
        assert doc["status"] == "success", doc
        return doc["data"]

    def query(self, promql):
        """{tuple of sorted (label, value): float} of an instant query's vector."""
        data = self.get("/api/v1/query", query=promql)
        return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in data["result"]}

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self._log.close()


def collector_config(grpc_port, http_port, metrics_port):
    return f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{grpc_port}"}}
      http: {{endpoint: "127.0.0.1:{http_port}"}}
exporters:
  nop: {{}}
service:
  telemetry:
    metrics:
      level: normal
      readers: [{{pull: {{exporter: {{prometheus: {{host: 127.0.0.1, port: {metrics_port}}}}}}}}}]
  pipelines:
    traces: {{receivers: [otlp], exporters: [nop]}}
"""


COLLECTORS = [pytest.param(OTLPD_BIN, id="otlpd"),
              pytest.param(OTELCOL_BIN, id="otelcol",
                           marks=pytest.mark.skipif(not OTELCOL_BIN, reason="OTELCOL_BIN is not set"))]


@pytest.mark.parametrize("binary", COLLECTORS)
def test_prometheus_scrapes_exact_span_counts(binary, tmp_path):
    grpc_port, http_port, metrics_port = selftel.free_ports(3)
    collector = selftel.Process(binary, collector_config(grpc_port, http_port, metrics_port), tmp_path, "collector")
    prometheus = None
    try:
        collector.wait_ports([grpc_port, http_port, metrics_port])
        prometheus = Prometheus(tmp_path / "prometheus", f"127.0.0.1:{metrics_port}")
        # the target is scraped and healthy before any data is sent
        def target_up():
            targets = prometheus.get("/api/v1/targets")["activeTargets"]
            return targets and targets[0]["health"] == "up" and targets[0]
        selftel.wait_until(target_up, DEADLINE, "the collector target to be up", prometheus.proc,
                           prometheus.log_path)

        sent = selftel.send_load(f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}",
                                 {t: {"spans": n} for t, n in SPANS.items()})
        assert {t: v["spans"] for t, v in sent.items()} == SPANS
        want = {(("transport", t),): float(n) for t, n in SPANS.items()}
        last = {}

        def counts_match():
            last.clear()
            last.update(prometheus.query(f"sum by (transport) ({ACCEPTED})"))
            return last == want
        try:
            selftel.wait_until(counts_match, DEADLINE, f"{ACCEPTED} to reach {SPANS}", collector.proc,
                               collector.log_path)
        except AssertionError:
            names = prometheus.get("/api/v1/label/__name__/values")
            raise AssertionError(f"sum by (transport) ({ACCEPTED}): expected {want}, last {last}; "
                                 f"otelcol_* series Prometheus has: {[n for n in names if n.startswith('otelcol_')]}")

        refused = prometheus.query(f"sum by (transport) ({REFUSED})")
        assert refused == {(("transport", t),): 0.0 for t in SPANS}, refused
        up = prometheus.query('up{job="collector"}')
        assert list(up.values()) == [1.0], up
        target = prometheus.get("/api/v1/targets")["activeTargets"][0]
        assert target["health"] == "up" and target["lastError"] == "", target
        # a later scrape still has exactly the same counts (nothing counted twice)
        selftel.wait_until(lambda: prometheus.get("/api/v1/targets")["activeTargets"][0]["lastScrape"]
                           != target["lastScrape"], DEADLINE, "one more scrape")
        assert prometheus.query(f"sum by (transport) ({ACCEPTED})") == want
    finally:
        if prometheus:
            prometheus.stop()
        collector.stop()
