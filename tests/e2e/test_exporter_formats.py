"""Output formats a user reads: the console exporter (pretty and otlp_json) and the file
exporter's protobuf format, fed by the real Python SDK."""
import json
import logging
import struct

import cramjam

from conftest import read_json_lines
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

RESOURCE = Resource.create({"service.name": "todo"})


def console_config(fmt):
    return f"""
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
exporters:
  console:
    format: {fmt}
service:
  pipelines:
    traces: {{receivers: [otlp], exporters: [console]}}
    metrics: {{receivers: [otlp], exporters: [console]}}
    logs: {{receivers: [otlp], exporters: [console]}}
"""


def send_all_signals(endpoint):
    """One span with a log record inside it, one counter and one histogram."""
    tracer_provider = TracerProvider(resource=RESOURCE)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    log_provider = LoggerProvider(resource=RESOURCE)
    log_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=endpoint, insecure=True)))
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint, insecure=True),
                                           export_interval_millis=3_600_000)
    meter_provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    logger = logging.getLogger("todo.formats")
    logger.propagate = False
    handler = LoggingHandler(logger_provider=log_provider)
    logger.addHandler(handler)
    try:
        with tracer_provider.get_tracer("todo").start_as_current_span("POST /add", attributes={"http.target": "/add"}) as span:
            logger.warning("added task")
    finally:
        logger.removeHandler(handler)
    meter = meter_provider.get_meter("todo")
    meter.create_counter("tasks.added").add(3, {"list": "home"})
    meter.create_histogram("db.latency", unit="ms").record(12.5)
    for provider in (tracer_provider, log_provider, meter_provider):
        assert provider.force_flush(30_000)
        provider.shutdown()
    return span.get_span_context()


def json_objects(text):
    decoder, pos, out = json.JSONDecoder(), 0, []
    text = text.rstrip()
    while pos < len(text):
        obj, pos = decoder.raw_decode(text, pos)
        out.append(obj)
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def test_console_pretty_prints_one_object_per_span_point_and_record(start_otlpd):
    otlpd = start_otlpd(console_config("pretty"))
    ctx = send_all_signals(otlpd.endpoint)
    assert otlpd.stop() == 0
    objects = json_objects(otlpd.stdout_path.read_text())
    spans = [o for o in objects if "context" in o]
    records = [o for o in objects if "severity_number" in o]
    points = [o for o in objects if "time_unix_nano" in o]
    assert len(objects) == len(spans) + len(records) + len(points)

    assert [s["name"] for s in spans] == ["POST /add"]
    assert spans[0]["context"]["trace_id"] == f"0x{ctx.trace_id:032x}"

    assert len(records) == 1
    record = records[0]
    assert record["body"] == "added task"
    assert record["severity_number"] == 13 and record["severity_text"] == "WARN"
    assert record["trace_id"] == f"0x{ctx.trace_id:032x}" and record["span_id"] == f"0x{ctx.span_id:016x}"
    assert record["resource"]["attributes"]["service.name"] == "todo"
    assert record["timestamp"].endswith("Z")

    by_name = {p["name"]: p for p in points}
    counter = by_name["tasks.added"]
    assert counter["type"] == "sum" and counter["value"] == 3 and counter["is_monotonic"] is True
    assert counter["attributes"] == {"list": "home"} and counter["aggregation_temporality"] == 2
    hist = by_name["db.latency"]
    assert hist["type"] == "histogram" and hist["count"] == 1 and hist["sum"] == 12.5
    assert hist["min"] == 12.5 and hist["max"] == 12.5 and sum(hist["bucket_counts"]) == 1
    assert hist["unit"] == "ms" and hist["scope"]["name"] == "todo"


def test_console_otlp_json_prints_one_request_per_line(start_otlpd):
    otlpd = start_otlpd(console_config("otlp_json"))
    ctx = send_all_signals(otlpd.endpoint)
    assert otlpd.stop() == 0
    requests = read_json_lines(otlpd.stdout_path)
    kinds = {next(iter(r)) for r in requests}
    assert kinds == {"resourceSpans", "resourceMetrics", "resourceLogs"}
    span = next(r for r in requests if "resourceSpans" in r)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["traceId"] == f"{ctx.trace_id:032x}" and span["name"] == "POST /add"


def test_file_proto_format_is_length_prefixed_protobuf(start_otlpd, tmp_path):
    out = tmp_path / "spans.pb"
    otlpd = start_otlpd(f"""
receivers: {{otlp: {{protocols: {{grpc: {{endpoint: "127.0.0.1:0"}}}}}}}}
exporters: {{file: {{path: {out}, format: proto}}}}
service: {{pipelines: {{traces: {{receivers: [otlp], exporters: [file]}}}}}}
""")
    ctx = send_all_signals(otlpd.endpoint)
    assert otlpd.stop() == 0
    data = out.read_bytes()
    spans, pos = [], 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.ParseFromString(data[pos + 4:pos + 4 + length])
        spans += [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
        pos += 4 + length
    assert pos == len(data)
    assert [(s.name, s.trace_id) for s in spans] == [("POST /add", ctx.trace_id.to_bytes(16, "big"))]


def test_file_zstd_compression_writes_a_zst_stream_of_the_same_output(start_otlpd, tmp_path):
    """compression: zstd: the file is a standard zstd stream (one frame per write, as otelcol's
    exporter.file.nativeCompression writes it) whose content is byte for byte what the same
    exporter writes without compression, for JSON and for protobuf; the SDK sends all signals
    through one pipeline into four file exporters. A restart in append mode adds frames."""
    outs = {name: tmp_path / name for name in ("plain.jsonl", "z.jsonl.zst", "plain.pb", "z.pb.zst")}
    config = f"""
receivers: {{otlp: {{protocols: {{grpc: {{endpoint: "127.0.0.1:0"}}}}}}}}
exporters:
  file/plain: {{path: {outs['plain.jsonl']}, append: true}}
  file/z: {{path: {outs['z.jsonl.zst']}, compression: zstd, append: true}}
  file/plainpb: {{path: {outs['plain.pb']}, format: proto, append: true}}
  file/zpb: {{path: {outs['z.pb.zst']}, format: proto, compression: zstd, compression_params: {{level: 9}}, append: true}}
service:
  pipelines:
    traces: {{receivers: [otlp], exporters: [file/plain, file/z, file/plainpb, file/zpb]}}
    metrics: {{receivers: [otlp], exporters: [file/plain, file/z, file/plainpb, file/zpb]}}
    logs: {{receivers: [otlp], exporters: [file/plain, file/z, file/plainpb, file/zpb]}}
"""
    for _ in range(2):  # the second run appends to the same files
        otlpd = start_otlpd(config)
        send_all_signals(otlpd.endpoint)
        assert otlpd.stop() == 0
    def records(data, proto):
        """The file's records (lines, or length-prefixed messages), sorted: the exporters'
        queue consumers may write the signals' batches in different orders."""
        if not proto:
            return sorted(data.splitlines())
        out, pos = [], 0
        while pos < len(data):
            (length,) = struct.unpack(">I", data[pos:pos + 4])
            out.append(data[pos + 4:pos + 4 + length])
            pos += 4 + length
        assert pos == len(data)
        return sorted(out)

    for plain, compressed, proto in (("plain.jsonl", "z.jsonl.zst", False), ("plain.pb", "z.pb.zst", True)):
        raw = outs[compressed].read_bytes()
        assert raw[:4] == b"\x28\xb5\x2f\xfd"  # a zstd frame
        text = bytes(cramjam.zstd.decompress(raw))
        expected = records(outs[plain].read_bytes(), proto)
        assert len(expected) >= 6  # three signals, twice
        assert records(text, proto) == expected
    lines = outs["plain.jsonl"].read_text().splitlines()
    kinds = {next(iter(json.loads(line))) for line in lines}
    assert kinds == {"resourceSpans", "resourceMetrics", "resourceLogs"}
