"""otlpd decompresses what the real OpenTelemetry Collector (v0.159.0) compresses, and otelcol
what otlpd's otlphttp exporter compresses (the last test).

The real Python SDK sends traces, metrics and logs to otelcol's otlp receiver; otelcol, with no
processor, forwards them to otlpd with its `otlp` exporter (gRPC) or its `otlphttp` exporter,
configured with each `compression` value otelcol accepts for that exporter:

- otlp (configgrpc registers only these): none, gzip, zstd, snappy (framed);
- otlphttp (configcompression / confighttp): none, gzip, zlib, deflate, zstd, snappy (raw
  block, otelcol's default for `snappy`), x-snappy-framed, lz4.

Between otelcol and otlpd a tap (wire_tap.py) forwards the bytes unchanged and records, per
request, the grpc-encoding / Content-Encoding and the gRPC compressed flags: the test proves
the requests really were compressed (or, for none, were not). otlpd writes each signal with
its file exporter in `format: proto` (the received request bytes, after decompression), and
the test compares item by item with what the SDK exported (encoded with the SDK's own OTLP
encoders): every span (by span id), every log record (by its `seq` attribute) and every
metric data point (by metric name and attributes) must arrive exactly once and equal as a
protobuf message — ids, names, times, every attribute, events, links, status, body — with
its resource and scope.

Needs OTELCOL_BIN (bench/build_otelcol.sh; scripts/interop.sh sets it) and OTLPD_BIN."""
import logging
import os
import random
import struct
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

import selftel
from otlpd_process import Otlpd
from wire_tap import Tap

OTELCOL_BIN = selftel.binary_from_env("OTELCOL_BIN")
pytestmark = pytest.mark.skipif(not OTELCOL_BIN, reason="OTELCOL_BIN is not set: run scripts/interop.sh")

GRPC_COMPRESSIONS = ["none", "gzip", "zstd", "snappy"]
HTTP_COMPRESSIONS = ["none", "gzip", "zlib", "deflate", "zstd", "snappy", "x-snappy-framed", "lz4"]
CASES = [("otlp", c) for c in GRPC_COMPRESSIONS] + [("otlphttp", c) for c in HTTP_COMPRESSIONS]

SPANS, LOG_RECORDS, COUNTER_SERIES, HISTOGRAM_SERIES = 600, 300, 25, 12
RESOURCE = Resource.create({"service.name": "compression-interop", "host.name": "tap-test",
                            "deployment.environment": "ci"})
SIGNAL_PATHS = {"traces": "/v1/traces", "metrics": "/v1/metrics", "logs": "/v1/logs"}
GRPC_PATHS = {"traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
              "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
              "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export"}
REQUEST_TYPES = {"traces": trace_service_pb2.ExportTraceServiceRequest,
                 "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
                 "logs": logs_service_pb2.ExportLogsServiceRequest}


def otlpd_config(workdir):
    files = "\n".join(f"  file/{s}: {{path: \"{workdir / (s + '.pb')}\", format: proto, flush_interval: 50ms}}"
                      for s in SIGNAL_PATHS)
    pipelines = "\n".join(f"    {s}: {{receivers: [otlp], exporters: [file/{s}]}}" for s in SIGNAL_PATHS)
    return f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0"}}
      http: {{endpoint: "127.0.0.1:0"}}
exporters:
{files}
service:
  pipelines:
{pipelines}
"""


def otelcol_config(grpc_port, exporter, compression, tap_port):
    if exporter == "otlp":
        target = f'endpoint: "127.0.0.1:{tap_port}"\n    tls: {{insecure: true}}'
    else:
        target = f'endpoint: "http://127.0.0.1:{tap_port}"'
    return f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{grpc_port}"}}
exporters:
  {exporter}:
    {target}
    compression: {compression}
    retry_on_failure: {{enabled: true, initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 20s}}
service:
  telemetry:
    metrics: {{level: none}}
  pipelines:
    traces: {{receivers: [otlp], exporters: [{exporter}]}}
    metrics: {{receivers: [otlp], exporters: [{exporter}]}}
    logs: {{receivers: [otlp], exporters: [{exporter}]}}
"""


# ---------------------------------------------------------------------------------------------
# The load: the SDK's own exporters, remembering what they exported successfully.

def payload(rng, i):
    """Text that compresses well (repeated words) with an incompressible random tail."""
    words = " ".join(f"word{(i * 7 + k) % 13}" for k in range(120))
    return f"{words} {rng.getrandbits(256):064x}"


class RecordingSpanExporter(OTLPSpanExporter):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.exported, self.failures = [], 0

    def export(self, spans):
        result = super().export(spans)
        if result == SpanExportResult.SUCCESS:
            self.exported += list(spans)
        else:
            self.failures += 1
        return result


class RecordingLogExporter(OTLPLogExporter):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.exported, self.failures = [], 0

    def export(self, batch):
        result = super().export(batch)
        if result == LogRecordExportResult.SUCCESS:
            self.exported += list(batch)
        else:
            self.failures += 1
        return result


def send_traces(endpoint, rng):
    exporter = RecordingSpanExporter(endpoint=endpoint, insecure=True, timeout=30)
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=200, schedule_delay_millis=50))
    tracer = provider.get_tracer("compression.interop", "1.2.3")
    previous = None
    for i in range(SPANS):
        kind = [SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL, SpanKind.PRODUCER, SpanKind.CONSUMER][i % 5]
        links = [Link(previous, {"link.i": i})] if previous is not None and i % 3 == 0 else []
        with tracer.start_as_current_span(f"op-{i}", kind=kind, links=links, attributes={
                "i": i, "payload": payload(rng, i), "ratio": i / 7, "even": i % 2 == 0,
                "tags": [f"t{i}", f"u{i % 4}"], "ints": [i, -i, 1 << 40], "unicode": f"ä–✓ {i}"}) as span:
            span.add_event("checkpoint", {"n": i, "note": payload(rng, i)[:80]})
            if i % 10 == 0:
                with tracer.start_as_current_span(f"child-{i}", attributes={"parent.i": i}):
                    pass
            if i % 7 == 0:
                span.set_status(Status(StatusCode.ERROR, f"failure {i}"))
            previous = span.get_span_context()
    assert provider.force_flush(60_000)
    provider.shutdown()
    assert exporter.failures == 0
    return exporter.exported


def send_logs(endpoint, rng):
    exporter = RecordingLogExporter(endpoint=endpoint, insecure=True, timeout=30)
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, max_export_batch_size=100,
                                                              schedule_delay_millis=50))
    logger = logging.getLogger(f"compression.interop.{id(exporter)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = LoggingHandler(level=logging.DEBUG, logger_provider=provider)
    logger.addHandler(handler)
    try:
        for i in range(LOG_RECORDS):
            level = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR][i % 4]
            logger.log(level, "record %d: %s", i, payload(rng, i), extra={"seq": i, "user": f"u{i % 9}",
                                                                         "weight": i * 0.25})
    finally:
        logger.removeHandler(handler)
    assert provider.force_flush(60_000)
    provider.shutdown()
    assert exporter.failures == 0
    return exporter.exported


def send_metrics(endpoint):
    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter = provider.get_meter("compression.interop", "1.2.3")
    counter = meter.create_counter("interop.requests", unit="1", description="requests seen")
    updown = meter.create_up_down_counter("interop.queue", unit="{item}")
    histogram = meter.create_histogram("interop.latency", unit="ms", description="latency")
    for i in range(COUNTER_SERIES):
        counter.add(i + 1, {"series": i, "route": f"/r/{i}"})
        updown.add(-i, {"series": i})
    for i in range(HISTOGRAM_SERIES):
        for k in range(i + 1):
            histogram.record(k * 3.5 + i, {"series": i, "method": "GET" if i % 2 else "POST"})
    data = reader.get_metrics_data()
    exporter = OTLPMetricExporter(endpoint=endpoint, insecure=True, timeout=30)
    assert exporter.export(data) == MetricExportResult.SUCCESS
    exporter.shutdown()
    provider.shutdown()
    return data


# ---------------------------------------------------------------------------------------------
# Items, keyed, from a request: (key, resource, scope, item) with the protobuf messages.

def attrs_key(attributes):
    return tuple(sorted((kv.key, kv.value.SerializeToString(deterministic=True)) for kv in attributes))


def scope_of(scoped):
    return (scoped.scope.SerializeToString(deterministic=True), scoped.schema_url)


def resource_of(res):
    return (res.resource.SerializeToString(deterministic=True), res.schema_url)


def items(signal, request):
    out = []
    if signal == "traces":
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                out += [(s.span_id.hex(), resource_of(rs), scope_of(ss), s) for s in ss.spans]
    elif signal == "logs":
        for rl in request.resource_logs:
            for sl in rl.scope_logs:
                for r in sl.log_records:
                    seq = next(kv.value.int_value for kv in r.attributes if kv.key == "seq")
                    out.append((seq, resource_of(rl), scope_of(sl), r))
    else:
        for rm in request.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    kind = m.WhichOneof("data")
                    shell = type(m)()
                    shell.CopyFrom(m)
                    getattr(shell, kind).ClearField("data_points")  # the metric without its points
                    for p in getattr(m, kind).data_points:
                        out.append(((m.name, attrs_key(p.attributes)), resource_of(rm), scope_of(sm),
                                    (shell.SerializeToString(deterministic=True), p)))
    return out


def read_records(path, signal):
    """The requests otlpd's file exporter wrote (format: proto): 4-byte length + request."""
    data = path.read_bytes() if path.exists() else b""
    requests, pos = [], 0
    while pos + 4 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        if pos + 4 + length > len(data):
            break  # a flush under way: the rest comes later
        requests.append(REQUEST_TYPES[signal].FromString(data[pos + 4:pos + 4 + length]))
        pos += 4 + length
    return requests, pos == len(data)


def compare(signal, expected_requests, got_requests):
    """Problems (lines) between what the SDK exported and what otlpd wrote, item by item."""
    expected, got, problems = {}, {}, []
    for r in expected_requests:
        for key, res, scope, item in items(signal, r):
            assert key not in expected, f"the test's own {signal} key {key!r} is not unique"
            expected[key] = (res, scope, item)
    for r in got_requests:
        for key, res, scope, item in items(signal, r):
            if key in got:
                problems.append(f"{signal} {key!r}: written more than once")
            got[key] = (res, scope, item)
    missing = sorted(set(expected) - set(got), key=repr)
    extra = sorted(set(got) - set(expected), key=repr)
    if missing:
        problems.append(f"{signal}: {len(missing)} of {len(expected)} items missing, e.g. {missing[:3]}")
    if extra:
        problems.append(f"{signal}: {len(extra)} items never sent, e.g. {extra[:3]}")
    for key in sorted(set(expected) & set(got), key=repr):
        (e_res, e_scope, e_item), (g_res, g_scope, g_item) = expected[key], got[key]
        if e_res != g_res:
            problems.append(f"{signal} {key!r}: resource differs")
        if e_scope != g_scope:
            problems.append(f"{signal} {key!r}: scope differs")
        if e_item != g_item:
            problems.append(f"{signal} {key!r}: item differs:\nexpected {e_item}\ngot {g_item}")
        if len(problems) > 20:
            break
    return problems, len(expected)


def all_arrived(out_dir, expected_counts):
    for signal, n in expected_counts.items():
        requests, _ = read_records(out_dir / f"{signal}.pb", signal)
        if sum(len(items(signal, r)) for r in requests) < n:
            return False
    return True


def send_everything(endpoint, rng):
    """The SDK sends every signal to `endpoint`; returns what it exported (as the SDK encodes
    it, per signal) and the item counts."""
    spans = send_traces(endpoint, rng)
    log_records = send_logs(endpoint, rng)
    metrics_data = send_metrics(endpoint)
    expected = {"traces": [encode_spans(spans)], "logs": [encode_logs(log_records)],
                "metrics": [encode_metrics(metrics_data)]}
    counts = {s: sum(len(items(s, r)) for r in reqs) for s, reqs in expected.items()}
    assert counts["traces"] == SPANS + SPANS // 10 and counts["logs"] == LOG_RECORDS
    assert counts["metrics"] == 2 * COUNTER_SERIES + HISTOGRAM_SERIES
    return expected, counts


def problems_in(out_dir, expected):
    """Problems (lines) between what the SDK exported and the files an otlpd wrote in out_dir."""
    problems = []
    for signal, reqs in expected.items():
        got, whole = read_records(out_dir / f"{signal}.pb", signal)
        if not whole:
            problems.append(f"{signal}: the file ends in a torn record")
        problems += compare(signal, reqs, got)[0]
    return problems


def check_wire(requests, grpc, compression, written):
    """Every request the tap saw went to an OTLP path, encoded as configured (HTTP's
    Content-Encoding; gRPC's grpc-encoding and each message's compressed flag), and the bytes on
    the wire against the bytes written after decoding. Returns the bytes on the wire."""
    want = None if compression == "none" else compression
    if grpc:
        assert {r["path"] for r in requests} == set(GRPC_PATHS.values()), requests
        for r in requests:
            assert r["encoding"] in ((want,) if want else (None, "identity")), r
            assert r["flags"] and r["flags"] == [0 if want is None else 1] * len(r["flags"]), r
    else:
        assert {r["path"] for r in requests} == set(SIGNAL_PATHS.values()), requests
        for r in requests:
            assert r["method"] == "POST" and r["encoding"] == want, r
    wire = sum(r["length"] for r in requests)
    if want is None:
        assert wire >= written - 4 * 1000, (wire, written)
    else:
        assert wire < written / 2, (wire, written)
    return wire


# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("exporter,compression", CASES, ids=[f"{e}-{c}" for e, c in CASES])
def test_otelcol_exporter_compression_to_otlpd(exporter, compression, tmp_path):
    rng = random.Random(f"{exporter}-{compression}")
    otlpd = Otlpd(tmp_path, otlpd_config(tmp_path))
    tap = otelcol = None
    try:
        upstream = otlpd.grpc_port() if exporter == "otlp" else otlpd.http_port()
        tap = Tap(upstream, "h2" if exporter == "otlp" else "http1")
        (grpc_port,) = selftel.free_ports(1)
        otelcol = selftel.Process(OTELCOL_BIN, otelcol_config(grpc_port, exporter, compression, tap.port),
                                  tmp_path / "otelcol", "otelcol")
        otelcol.wait_ports([grpc_port])
        expected, counts = send_everything(f"127.0.0.1:{grpc_port}", rng)
        # otelcol forwards asynchronously (sending queue): wait until otlpd wrote every item,
        # bounded; the comparison below says what is missing if that never happens.
        try:
            selftel.wait_until(lambda: all_arrived(tmp_path, counts), 60, "every item in otlpd's files",
                               otelcol.proc, otelcol.log_path)
        except AssertionError as e:
            waited = str(e)
        else:
            waited = ""
        assert otelcol.stop() == 0, otelcol.log()
        assert otlpd.stop() == 0, otlpd.log()
    finally:
        if otelcol is not None:
            otelcol.stop()
        otlpd.kill()
        if tap is not None:
            tap.close()

    problems = problems_in(tmp_path, expected)
    assert not problems, (f"{exporter} compression {compression}: {waited}\n" + "\n".join(problems)
                          + "\n--- otlpd log\n" + otlpd.log()[-3000:] + "\n--- otelcol log\n" + otelcol.log()[-3000:])

    # The wire: every request otelcol sent was encoded as configured, and it sent every signal;
    # what crossed it (bodies / gRPC messages) against what otlpd wrote after decoding.
    requests, errors = tap.snapshot()
    assert not errors, errors
    written = sum((tmp_path / f"{s}.pb").stat().st_size for s in SIGNAL_PATHS)
    wire = check_wire(requests, exporter == "otlp", compression, written)
    report = os.environ.get("INTEROP_REPORT_DIR")
    if report:
        Path(report).mkdir(parents=True, exist_ok=True)
        with open(Path(report) / "otelcol-compression.txt", "a") as f:
            f.write(f"{exporter} {compression}: {len(requests)} requests, {wire} bytes on the wire, "
                    f"{written} bytes written by otlpd, all {sum(counts.values())} items whole\n")


# ---------------------------------------------------------------------------------------------
# The other direction: otelcol decompresses what otlpd's otlphttp exporter compresses.

OTLPD_COMPRESSIONS = [("otlphttp", "gzip", 0), ("otlphttp", "gzip", 1), ("otlphttp", "deflate", 0),
                      ("otlphttp", "zstd", 0), ("otlphttp", "zstd", 19),
                      ("otlp", "gzip", 0), ("otlp", "gzip", 1), ("otlp", "none", 0)]


@pytest.mark.parametrize("exporter,compression,level", OTLPD_COMPRESSIONS,
                         ids=[f"{e}-{c}-{l}" for e, c, l in OTLPD_COMPRESSIONS])
def test_otlpd_exporter_compression_to_otelcol(exporter, compression, level, tmp_path):
    """SDK -> otlpd (otlphttp or otlp exporter, `compression` at `level`) -> tap -> otelcol
    (otlp receiver, which decompresses; otlp exporter, no compression) -> a second otlpd that
    writes what arrives: every item the SDK exported arrives once and equal, and the tap saw
    every request (gRPC message) compressed as configured: Content-Encoding, or grpc-encoding
    and the messages' compressed flag (otlpd compresses gRPC messages itself)."""
    rng = random.Random(f"otlpd-{exporter}-{compression}-{level}")
    for d in ("sink", "front", "otelcol"):
        (tmp_path / d).mkdir()
    sink = Otlpd(tmp_path / "sink", otlpd_config(tmp_path / "sink"))
    tap = otelcol = front = None
    try:
        (http_port,) = selftel.free_ports(1)
        tap = Tap(http_port, "http1" if exporter == "otlphttp" else "h2")
        protocol = "http" if exporter == "otlphttp" else "grpc"
        otelcol = selftel.Process(OTELCOL_BIN, f"""
receivers:
  otlp:
    protocols:
      {protocol}: {{endpoint: "127.0.0.1:{http_port}"}}
exporters:
  otlp:
    endpoint: "127.0.0.1:{sink.grpc_port()}"
    tls: {{insecure: true}}
    compression: none
service:
  telemetry:
    metrics: {{level: none}}
  pipelines:
    traces: {{receivers: [otlp], exporters: [otlp]}}
    metrics: {{receivers: [otlp], exporters: [otlp]}}
    logs: {{receivers: [otlp], exporters: [otlp]}}
""", tmp_path / "otelcol", "otelcol")
        otelcol.wait_ports([http_port])
        front = Otlpd(tmp_path / "front", f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0"}}
exporters:
  {exporter}:
    endpoint: "{'http://' if exporter == 'otlphttp' else ''}127.0.0.1:{tap.port}"
    {'' if exporter == 'otlphttp' else 'tls: {insecure: true}'}
    compression: {compression}
    compression_params: {{level: {level}}}
    retry_on_failure: {{initial_interval: 100ms, max_interval: 500ms}}
service:
  pipelines:
    traces: {{receivers: [otlp], exporters: [{exporter}]}}
    metrics: {{receivers: [otlp], exporters: [{exporter}]}}
    logs: {{receivers: [otlp], exporters: [{exporter}]}}
""")
        expected, counts = send_everything(f"127.0.0.1:{front.grpc_port()}", rng)
        try:
            selftel.wait_until(lambda: all_arrived(tmp_path / "sink", counts), 60, "every item in the sink's files",
                               otelcol.proc, otelcol.log_path)
        except AssertionError as e:
            waited = str(e)
        else:
            waited = ""
        assert front.stop() == 0, front.log()
        assert otelcol.stop() == 0, otelcol.log()
        assert sink.stop() == 0, sink.log()
    finally:
        for p in (front, otelcol):
            if p is not None:
                p.stop()
        sink.kill()
        if tap is not None:
            tap.close()

    problems = problems_in(tmp_path / "sink", expected)
    assert not problems, f"{exporter} {compression} level {level}: {waited}\n" + "\n".join(problems) + \
        "\n--- otelcol log\n" + otelcol.log()[-3000:]
    requests, errors = tap.snapshot()
    assert not errors, errors
    written = sum((tmp_path / "sink" / f"{s}.pb").stat().st_size for s in SIGNAL_PATHS)
    check_wire(requests, exporter == "otlp", compression, written)
