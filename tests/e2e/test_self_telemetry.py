"""Self-telemetry (service::telemetry::metrics): the real Python SDK sends over gRPC and HTTP,
and otlpd's /metrics must count exactly that, with the OpenTelemetry Collector's names and
labels; the endpoint is read-only, bound to localhost unless configured, survives scrapes
during reloads and shutdown, and a port in use is a clear error."""
import signal
import socket
import threading
import urllib.request

import grpc
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter
from selfmetrics import http_status, scrape, wait_for_value

CONFIG = """
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0"}}
      http: {{endpoint: "127.0.0.1:0"}}
processors:
  batch: {{timeout: 20ms}}
exporters:
  file: {{path: {out}, flush_interval: 50ms}}
service:
  telemetry:
    metrics:
      level: {level}
      readers: [{{pull: {{exporter: {{prometheus: {{host: 127.0.0.1, port: 0}}}}}}}}]
  pipelines:
    traces: {{receivers: [otlp], processors: [batch], exporters: [file]}}
    logs: {{receivers: [otlp], exporters: [file]}}
"""


class Counting(SpanExporter):
    """Wraps an SDK exporter and counts the spans it got acknowledged."""

    def __init__(self, inner):
        self.inner, self.acknowledged = inner, 0

    def export(self, spans):
        result = self.inner.export(spans)
        if result.name == "SUCCESS":
            self.acknowledged += len(spans)
        return result

    def shutdown(self):
        self.inner.shutdown()


def send_spans(exporter, n, name="work"):
    counting = Counting(exporter)
    provider = TracerProvider(resource=Resource.create({"service.name": "selftelemetry-test"}))
    provider.add_span_processor(SimpleSpanProcessor(counting))
    tracer = provider.get_tracer("test")
    for i in range(n):
        with tracer.start_as_current_span(f"{name}-{i}"):
            pass
    provider.shutdown()
    return counting.acknowledged


def test_counts_match_what_the_sdk_sent_with_otelcols_names(start_otlpd, tmp_path):
    otlpd = start_otlpd(CONFIG.format(out=tmp_path / "out.jsonl", level="normal"))
    grpc_sent = send_spans(GrpcSpanExporter(endpoint=otlpd.endpoint, insecure=True), 30)
    http_sent = send_spans(HttpSpanExporter(endpoint=f"http://127.0.0.1:{otlpd.http_port()}/v1/traces"), 20)
    assert (grpc_sent, http_sent) == (30, 20)
    status, _, _ = http_status(f"http://127.0.0.1:{otlpd.http_port()}/v1/traces", "POST", b"\xff\xff\xff",
                            {"Content-Type": "application/x-protobuf"})
    assert status == 400
    port = otlpd.metrics_port()
    m = wait_for_value(port, "otelcol_exporter_sent_spans", 50, exporter="file")
    assert m.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert m.types["otelcol_receiver_accepted_spans"] == "counter"
    assert m.value("otelcol_receiver_accepted_spans", receiver="otlp", transport="grpc") == 30
    assert m.value("otelcol_receiver_accepted_spans", receiver="otlp", transport="http") == 20
    assert m.value("otelcol_receiver_refused_spans", receiver="otlp") == 0
    assert m.value("otlpd_receiver_malformed_requests", transport="http", signal="traces") == 1
    assert m.value("otelcol_exporter_send_failed_spans", exporter="file") is None, "made at the first failure"
    assert m.value("otelcol_exporter_queue_capacity", exporter="file", data_type="traces") == 1000
    assert m.value("otelcol_exporter_queue_size", exporter="file", data_type="traces") == 0
    # The batch processor: every span went out in some batch; what triggered each send.
    assert m.types["otelcol_processor_batch_batch_send_size"] == "histogram"
    assert m.value("otelcol_processor_batch_batch_send_size_sum", processor="batch") == 50
    assert m.value("otelcol_processor_batch_batch_send_size_count", processor="batch") == \
        m.value("otelcol_processor_batch_batch_send_size_bucket", processor="batch", le="+Inf")
    assert m.value("otelcol_processor_batch_timeout_trigger_send", processor="batch") >= 1
    # Series only for what is configured: no metric points (no metrics pipeline).
    assert m.value("otelcol_receiver_accepted_metric_points") is None
    assert m.value("otelcol_receiver_accepted_log_records", transport="grpc") == 0
    # The process, and who it is.
    assert m.value("otelcol_process_uptime") > 0
    assert m.value("otelcol_process_cpu_seconds") >= 0
    assert 1 << 20 < m.value("otelcol_process_memory_rss") < 1 << 31
    assert m.value("target_info", service_name="otlpd") == 1
    assert otlpd.stop() == 0


def test_levels_basic_and_none(start_otlpd, tmp_path):
    basic = start_otlpd(CONFIG.format(out=tmp_path / "basic.jsonl", level="basic"))
    m = scrape(basic.metrics_port())
    assert "otelcol_receiver_accepted_spans" in m.names()
    assert not any(n.startswith("otelcol_processor_batch") for n in m.names()), "batch metrics are 'normal'"
    none = start_otlpd(CONFIG.format(out=tmp_path / "none.jsonl", level="none"))
    none.wait_for_log("otlpd .* started")
    assert not any("self-telemetry metrics listening" in line for line in none.lines)
    assert basic.stop() == 0 and none.stop() == 0


def test_endpoint_is_read_only_and_on_localhost_by_default(start_otlpd, tmp_path):
    config = CONFIG.format(out=tmp_path / "out.jsonl", level="normal").replace("host: 127.0.0.1, ", "")
    otlpd = start_otlpd(config)
    line = otlpd.wait_for_log(r"self-telemetry metrics listening on ([^\s]+):(\d+)")
    assert line.group(1) in ("127.0.0.1", "[::1]"), line.group(0)
    base = f"http://127.0.0.1:{line.group(2)}"
    assert http_status(f"{base}/metrics", "POST", b"x")[0] == 405
    assert http_status(f"{base}/metrics", "DELETE")[0] == 405
    assert http_status(f"{base}/", "GET")[0] == 404
    assert http_status(f"{base}/metrics?x=1", "GET")[0] == 200
    assert otlpd.stop() == 0


def test_a_port_in_use_is_a_clear_error_naming_the_component(start_otlpd, tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        config = CONFIG.format(out=tmp_path / "out.jsonl", level="normal").replace("port: 0", f"port: {port}")
        otlpd = start_otlpd(config)
        assert otlpd.proc.wait(timeout=60) == 1
        assert (f"cannot listen for self-telemetry metrics on 127.0.0.1:{port}: Address already in use "
                "(service::telemetry::metrics)") in otlpd.log()
        health = start_otlpd(CONFIG.format(out=tmp_path / "out2.jsonl", level="normal").replace(
            "service:", f"extensions: {{health_check: {{endpoint: '127.0.0.1:{port}'}}}}\nservice:\n  extensions: [health_check]"))
        assert health.proc.wait(timeout=60) == 1
        assert f"cannot listen for extension health_check on 127.0.0.1:{port}: Address already in use" in health.log()
    finally:
        busy.close()


def test_counts_survive_reloads_and_scrapes_during_reload_and_shutdown_are_safe(start_otlpd, tmp_path):
    otlpd = start_otlpd(CONFIG.format(out=tmp_path / "out.jsonl", level="detailed"))
    assert send_spans(GrpcSpanExporter(endpoint=otlpd.endpoint, insecure=True), 10) == 10
    stop = threading.Event()
    scrapes = {"ok": 0, "refused": 0}

    def scrape_forever():
        # Whichever port the current configuration serves on (it moves: port 0 at each reload).
        while not stop.is_set():
            ports = [int(m) for line in list(otlpd.lines)
                     for m in __import__("re").findall(r"self-telemetry metrics listening on [^\s]+:(\d+)", line)]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ports[-1]}/metrics", timeout=5) as r:
                    r.read()
                scrapes["ok"] += 1
            except OSError:
                scrapes["refused"] += 1

    threads = [threading.Thread(target=scrape_forever) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            mark = len(otlpd.lines)
            otlpd.proc.send_signal(signal.SIGHUP)
            otlpd.wait_for_log("configuration reloaded", start=mark)
        # `mark` is where the last reload's log begins: its ports.
        assert send_spans(GrpcSpanExporter(endpoint=f"127.0.0.1:{otlpd.grpc_port(start=mark)}", insecure=True), 5) == 5
        m = wait_for_value(otlpd.metrics_port(start=mark), "otelcol_exporter_sent_spans", 15, exporter="file")
        assert m.value("otelcol_receiver_accepted_spans", transport="grpc") == 15, "counts go on across reloads"
        # The file exporter was rebuilt by each reload; the registry kept its count.
        assert m.value("otelcol_exporter_sent_spans", exporter="file") == 15
        assert otlpd.stop() == 0
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert scrapes["ok"] > 0
