"""Helpers for the self-telemetry interop tests and the otelcol reference capture: free ports,
a collector child process, a known OTLP load from the real Python SDK over gRPC and HTTP for
all three signals (plus malformed requests), and scraping / parsing the Prometheus text format."""
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import grpc
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

RESOURCE = Resource.create({"service.name": "selftel-load"})
SIGNAL_PATHS = {"traces": "/v1/traces", "metrics": "/v1/metrics", "logs": "/v1/logs"}
GRPC_METHODS = {
    "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
}


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def http_get(url, timeout=5.0):
    """(status, headers as a list of (name, value), body) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, list(r.getheaders()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, list(e.headers.items()), e.read()


def wait_until(predicate, timeout, what, proc=None, log_path=None, interval=0.1):
    """Polls `predicate` until it returns a truthy value (returned), a deadline, or `proc` exits."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except (OSError, ValueError) as e:
            last = e
        if proc is not None and proc.poll() is not None:
            log = Path(log_path).read_text() if log_path else ""
            raise AssertionError(f"process exited ({proc.returncode}) while waiting for {what}\n{log}")
        if time.monotonic() > deadline:
            log = Path(log_path).read_text()[-5000:] if log_path else ""
            raise AssertionError(f"timed out waiting for {what} (last: {last!r})\n{log}")
        time.sleep(interval)


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Process:
    """A collector (otelcol or otlpd) started with `--config`; its output goes to a log file."""

    def __init__(self, binary, config_text, workdir, name):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / f"{name}.yaml"
        self.config_path.write_text(config_text)
        self.log_path = self.workdir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary, "--config", str(self.config_path)], stdout=self._log,
                                     stderr=subprocess.STDOUT, cwd=self.workdir)

    def wait_ports(self, ports, timeout=60):
        for p in ports:
            wait_until(lambda: port_open(p), timeout, f"port {p}", self.proc, self.log_path)

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def log(self):
        return self.log_path.read_text(errors="replace")


def send_traces(exporter, count):
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=100))
    tracer = provider.get_tracer("selftel.load")
    for i in range(count):
        with tracer.start_as_current_span(f"span-{i}", attributes={"i": i}):
            pass
    assert provider.force_flush(30_000)
    provider.shutdown()


def send_logs(exporter, count):
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, max_export_batch_size=100))
    logger = logging.getLogger(f"selftel.load.{id(exporter)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = LoggingHandler(level=logging.INFO, logger_provider=provider)
    logger.addHandler(handler)
    try:
        for i in range(count):
            logger.info("record %d", i)
    finally:
        logger.removeHandler(handler)
    assert provider.force_flush(30_000)
    provider.shutdown()


def send_metrics(exporter, counter_series, histogram_series):
    """One export of counter_series + histogram_series data points (one per attribute set)."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter = provider.get_meter("selftel.load")
    counter = meter.create_counter("selftel.requests")
    histogram = meter.create_histogram("selftel.latency", unit="ms")
    for i in range(counter_series):
        counter.add(i + 1, {"series": i})
    for i in range(histogram_series):
        histogram.record(i * 1.5, {"series": i})
    data = reader.get_metrics_data()
    result = exporter.export(data)
    assert result.name == "SUCCESS", result
    exporter.shutdown()
    provider.shutdown()


def send_load(grpc_endpoint, http_base, load):
    """Sends `load` = {"grpc": {"spans": n, "logs": n, "counter_series": n, "histogram_series": n},
    "http": {...}} with the SDK's exporters. Returns what was sent per transport and signal:
    {"grpc": {"spans": n, "log_records": n, "metric_points": n}, "http": {...}}."""
    sent = {}
    for transport, want in load.items():
        if transport == "grpc":
            spans = GrpcSpanExporter(endpoint=grpc_endpoint, insecure=True)
            logs = GrpcLogExporter(endpoint=grpc_endpoint, insecure=True)
            metrics = GrpcMetricExporter(endpoint=grpc_endpoint, insecure=True)
        else:
            spans = HttpSpanExporter(endpoint=f"{http_base}/v1/traces")
            logs = HttpLogExporter(endpoint=f"{http_base}/v1/logs")
            metrics = HttpMetricExporter(endpoint=f"{http_base}/v1/metrics")
        if want.get("spans"):
            send_traces(spans, want["spans"])
        if want.get("logs"):
            send_logs(logs, want["logs"])
        if want.get("counter_series") or want.get("histogram_series"):
            send_metrics(metrics, want.get("counter_series", 0), want.get("histogram_series", 0))
        sent[transport] = {"spans": want.get("spans", 0), "log_records": want.get("logs", 0),
                           "metric_points": want.get("counter_series", 0) + want.get("histogram_series", 0)}
    return sent


def send_malformed(grpc_endpoint, http_base):
    """Per signal, a request that is not valid protobuf over gRPC and over HTTP; returns the
    answers (gRPC status codes and HTTP status codes)."""
    answers = {}
    garbage = b"\xff\xff\xff\xff\x0f\x0a\xff"
    with grpc.insecure_channel(grpc_endpoint) as channel:
        for sig, method in GRPC_METHODS.items():
            call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
            try:
                call(garbage, timeout=10)
                answers[f"grpc {sig}"] = "OK"
            except grpc.RpcError as e:
                answers[f"grpc {sig}"] = f"{e.code().name}: {e.details()}"
    for sig, path in SIGNAL_PATHS.items():
        req = urllib.request.Request(f"{http_base}{path}", data=garbage, method="POST",
                                     headers={"Content-Type": "application/x-protobuf"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                answers[f"http {sig}"] = r.status
        except urllib.error.HTTPError as e:
            answers[f"http {sig}"] = e.code
    return answers


def scrape(url):
    status, _, body = http_get(url)
    assert status == 200, (status, body[:500])
    return body.decode()


def parse(text):
    """{family name: prometheus_client Metric} from the Prometheus text format."""
    from prometheus_client.parser import text_string_to_metric_families
    return {f.name: f for f in text_string_to_metric_families(text)}


def value_by(family, sample_name, key_labels, match=None):
    """{tuple of key label values: summed value} over the family's samples named `sample_name`."""
    out = {}
    for s in family.samples:
        if s.name != sample_name:
            continue
        if match and any(s.labels.get(k) != v for k, v in match.items()):
            continue
        key = tuple(s.labels.get(k, "") for k in key_labels)
        out[key] = out.get(key, 0) + s.value
    return out


def binary_from_env(name):
    value = os.environ.get(name)
    return value if value and os.access(value, os.X_OK) else None


class Family:
    def __init__(self, name):
        self.name, self.type, self.help, self.samples = name, None, None, []

    def __repr__(self):
        return f"Family({self.name!r}, {self.type!r}, {len(self.samples)} samples)"


def _read_name(text, i):
    """A metric or label name at text[i:]: bare, or quoted (UTF-8 escaping). Returns (name, next i)."""
    if text[i] == '"':
        return _read_quoted(text, i)
    j = i
    while j < len(text) and (text[j].isalnum() or text[j] in "_:"):
        j += 1
    if j == i:
        raise ValueError(f"no name at {text[i:i + 40]!r}")
    return text[i:j], j


def _read_quoted(text, i):
    assert text[i] == '"'
    out, j = [], i + 1
    while text[j] != '"':
        if text[j] == "\\":
            j += 1
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(text[j], "\\" + text[j]))
        else:
            out.append(text[j])
        j += 1
    return "".join(out), j + 1


def parse_raw(text):
    """Parses the Prometheus text format (0.0.4, and the quoted names of escaping=allow-utf-8)
    exactly as written: {family name from # TYPE: Family}, each sample a (raw sample name,
    {label: value}, value) tuple. Samples without a # TYPE line form an 'untyped' family named
    as the sample. Raises ValueError on a line it cannot read."""
    families = {}
    current = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 2)
            if len(parts) >= 3 and parts[1] in ("TYPE", "HELP"):
                name, j = _read_name(parts[2], 0)
                rest = parts[2][j:].strip()
                fam = families.setdefault(name, Family(name))
                if parts[1] == "TYPE":
                    fam.type = rest
                else:
                    fam.help = rest
                current = fam
            continue
        try:
            labels = {}
            if line.startswith("{"):  # {"metric.name",label="v",...}
                name, j = _read_quoted(line, 1)
            else:
                name, j = _read_name(line, 0)
            if j < len(line) and line[j] in "{,":
                if line[j] == "{":
                    j += 1
                elif line[j] == ",":
                    j += 1
                while line[j] != "}":
                    key, j = _read_name(line, j)
                    assert line[j] == "=", line[j:]
                    value, j = _read_quoted(line, j + 1)
                    labels[key] = value
                    if line[j] == ",":
                        j += 1
                j += 1
            fields = line[j:].split()
            value = float(fields[0])
        except (ValueError, AssertionError, IndexError) as e:
            raise ValueError(f"line {lineno}: cannot parse {line!r}: {e}") from e
        fam = current if current is not None and _belongs(name, current) else None
        if fam is None:
            fam = families.setdefault(name, Family(name))
            fam.type = fam.type or "untyped"
        fam.samples.append((name, labels, value))
    return families


def _belongs(sample_name, fam):
    if sample_name == fam.name:
        return True
    suffixes = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count"),
                "counter": ("_total", "_created")}.get(fam.type, ())
    return any(sample_name == fam.name + s for s in suffixes)


def total(families, name, **match):
    """Sum of the samples of family `name` whose labels include `match`; None if absent."""
    fam = families.get(name)
    if fam is None:
        return None
    return sum(v for _, labels, v in fam.samples if all(labels.get(k) == w for k, w in match.items()))
