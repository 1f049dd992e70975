"""The real Python SDK's OTLP/HTTP (protobuf) exporters for all three signals, into otlpd's
HTTP receiver; the file exporter's output is checked against what the SDK recorded."""
import logging

from conftest import read_json_lines
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from otlpd_process import file_pipeline_config
from test_sdk_roundtrip import ATTRIBUTES, attrs, normalize

RESOURCE = Resource.create({"service.name": "todo-http"})


def test_sdk_http_exporters_for_all_signals(start_otlpd, tmp_path):
    out = tmp_path / "out.jsonl"
    otlpd = start_otlpd(file_pipeline_config(out, grpc_extra="      http:\n        endpoint: 127.0.0.1:0"))
    base = f"http://127.0.0.1:{otlpd.http_port()}"

    memory = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=RESOURCE)
    tracer_provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces")))
    tracer = tracer_provider.get_tracer("todo.http", "2.0")
    with tracer.start_as_current_span("GET /", kind=SpanKind.SERVER, attributes=ATTRIBUTES) as root:
        root.add_event("rendered", {"tasks": 3})
        with tracer.start_as_current_span("querying_tasks") as child:
            child.set_status(Status(StatusCode.ERROR, "locked"))

    log_provider = LoggerProvider(resource=RESOURCE)
    log_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{base}/v1/logs")))
    logger = logging.getLogger("todo.http")
    logger.propagate = False
    handler = LoggingHandler(logger_provider=log_provider)
    logger.addHandler(handler)
    try:
        with tracer.start_as_current_span("adding_task") as logged_in:
            logger.warning("added %s", "milk")
    finally:
        logger.removeHandler(handler)

    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{base}/v1/metrics"),
                                           export_interval_millis=3_600_000)
    meter_provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter = meter_provider.get_meter("todo.http")
    meter.create_counter("tasks.added").add(4, {"list": "home"})
    meter.create_histogram("latency", unit="ms").record(12.5)

    for provider in (tracer_provider, log_provider, meter_provider):
        assert provider.force_flush(30_000)
        provider.shutdown()
    assert otlpd.stop() == 0

    spans, records, metrics = {}, [], {}
    for request in read_json_lines(out):
        for rs in request.get("resourceSpans", []):
            assert attrs(rs["resource"]["attributes"])["service.name"] == "todo-http"
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    spans[int(s["spanId"], 16)] = s
        for rl in request.get("resourceLogs", []):
            for sl in rl["scopeLogs"]:
                records += sl["logRecords"]
        for rm in request.get("resourceMetrics", []):
            for sm in rm["scopeMetrics"]:
                for m in sm["metrics"]:
                    metrics[m["name"]] = m

    sent = {s.context.span_id: s for s in memory.get_finished_spans()}
    assert set(spans) == set(sent)
    for span_id, s in sent.items():
        got = spans[span_id]
        assert got["traceId"] == format(s.context.trace_id, "032x") and got["name"] == s.name
        assert got["startTimeUnixNano"] == str(s.start_time) and got["endTimeUnixNano"] == str(s.end_time)
        assert attrs(got.get("attributes")) == {k: normalize(v) for k, v in s.attributes.items()}
    root_json = spans[root.get_span_context().span_id]
    assert root_json["kind"] == 2 and root_json["events"][0]["name"] == "rendered"
    assert spans[child.get_span_context().span_id]["status"] == {"message": "locked", "code": 2}
    assert spans[child.get_span_context().span_id]["parentSpanId"] == format(root.get_span_context().span_id, "016x")

    assert len(records) == 1 and records[0]["body"]["stringValue"] == "added milk"
    assert records[0]["severityNumber"] == 13
    assert records[0]["traceId"] == format(logged_in.get_span_context().trace_id, "032x")

    assert metrics["tasks.added"]["sum"]["dataPoints"][0]["asInt"] == "4"
    assert metrics["latency"]["histogram"]["dataPoints"][0]["sum"] == 12.5
    assert "traces: accepted 3 spans" in otlpd.log() and "logs: accepted 1 log records" in otlpd.log()
