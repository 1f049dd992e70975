"""The real OpenTelemetry Python SDK sends traces, metrics and logs to otlpd over OTLP/gRPC;
the file exporter's OTLP/JSON output is checked field by field against what the SDK sent."""
import base64
import logging

from conftest import read_json_lines
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.metrics import Observation
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

RESOURCE = Resource.create({"service.name": "todo", "deployment.environment": "test", "host.cpus": 2})

ATTRIBUTES = {
    "http.target": "/add",
    "http.status_code": 201,
    "ratio": 0.125,
    "cached": False,
    "tags": ["a", "b"],
    "ids": [1, 2, 3],
    "weights": [0.5, 1.5],
    "flags": [True, False],
    "big": 2**62 + 1,
    "unicode": "naïve ☃",
}


def any_value(v):
    """Python value of an OTLP/JSON AnyValue (int64 arrive as decimal strings)."""
    if "stringValue" in v:
        return v["stringValue"]
    if "boolValue" in v:
        return v["boolValue"]
    if "intValue" in v:
        assert isinstance(v["intValue"], str), "int64 must be a JSON string"
        return int(v["intValue"])
    if "doubleValue" in v:
        return v["doubleValue"]
    if "arrayValue" in v:
        return [any_value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return {kv["key"]: any_value(kv.get("value", {})) for kv in v["kvlistValue"].get("values", [])}
    if "bytesValue" in v:
        return base64.b64decode(v["bytesValue"])
    return None


def attrs(kvs):
    return {kv["key"]: any_value(kv.get("value", {})) for kv in kvs or []}


def normalize(value):
    return list(value) if isinstance(value, tuple) else value


def test_traces_round_trip_field_by_field(file_collector, tmp_path):
    out = tmp_path / "out.jsonl"
    otlpd = file_collector(out, ("traces",))
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlpd.endpoint, insecure=True)))
    tracer = provider.get_tracer("todo.tests", "1.2.3")

    with tracer.start_as_current_span("GET /", kind=SpanKind.SERVER, attributes=ATTRIBUTES) as root:
        root.add_event("cache.miss", {"key": "tasks", "attempt": 2})
        with tracer.start_as_current_span("querying_tasks", kind=SpanKind.CLIENT) as child:
            child.set_status(Status(StatusCode.ERROR, "database is locked"))
            child.record_exception(ValueError("locked"))
        root.set_status(Status(StatusCode.OK))
    linked = tracer.start_span("deleting_task", kind=SpanKind.PRODUCER,
                               links=[Link(root.get_span_context(), {"link.kind": "cause"})])
    linked.end()
    tracer.start_span("consumer", kind=SpanKind.CONSUMER).end()
    assert provider.force_flush(30_000)
    provider.shutdown()
    assert otlpd.stop() == 0

    sent = {s.context.span_id: s for s in memory.get_finished_spans()}
    assert len(sent) == 4
    received = {}
    for request in read_json_lines(out):
        for rs in request["resourceSpans"]:
            resource = attrs(rs["resource"]["attributes"])
            for ss in rs["scopeSpans"]:
                for span in ss["spans"]:
                    received[int(span["spanId"], 16)] = (resource, ss["scope"], span)
    assert set(received) == set(sent), "every span arrives exactly once"

    for span_id, s in sent.items():
        resource, scope, span = received[span_id]
        assert resource == {k: normalize(v) for k, v in s.resource.attributes.items()}
        assert resource["service.name"] == "todo"
        assert scope["name"] == "todo.tests" and scope["version"] == "1.2.3"
        assert span["traceId"] == format(s.context.trace_id, "032x")
        assert span["spanId"] == format(s.context.span_id, "016x")
        if s.parent is None:
            assert "parentSpanId" not in span
        else:
            assert span["parentSpanId"] == format(s.parent.span_id, "016x")
        assert span["name"] == s.name
        assert span["kind"] == s.kind.value + 1  # SDK enum is 0-based, OTLP reserves 0
        assert span["startTimeUnixNano"] == str(s.start_time)
        assert span["endTimeUnixNano"] == str(s.end_time)
        assert attrs(span.get("attributes")) == {k: normalize(v) for k, v in s.attributes.items()}
        status = span.get("status", {})
        assert status.get("code", 0) == {StatusCode.UNSET: 0, StatusCode.OK: 1, StatusCode.ERROR: 2}[s.status.status_code]
        assert status.get("message", "") == (s.status.description or "")
        assert len(span.get("events", [])) == len(s.events)
        for got, want in zip(span.get("events", []), s.events):
            assert got["name"] == want.name
            assert got["timeUnixNano"] == str(want.timestamp)
            assert attrs(got.get("attributes")) == {k: normalize(v) for k, v in want.attributes.items()}
        assert len(span.get("links", [])) == len(s.links)
        for got, want in zip(span.get("links", []), s.links):
            assert got["traceId"] == format(want.context.trace_id, "032x")
            assert got["spanId"] == format(want.context.span_id, "016x")
            assert attrs(got.get("attributes")) == dict(want.attributes)

    root_json = received[root.get_span_context().span_id][2]
    assert attrs(root_json["attributes"])["big"] == 2**62 + 1
    assert root_json["events"][0]["name"] == "cache.miss"
    child_json = next(span for _, _, span in received.values() if span["name"] == "querying_tasks")
    assert child_json["status"] == {"message": "database is locked", "code": 2}
    assert child_json["events"][0]["name"] == "exception"
    assert attrs(child_json["events"][0]["attributes"])["exception.type"] == "ValueError"
    assert "receiver otlp\ttraces: accepted 4 spans, refused 0;" in otlpd.log()


def test_metrics_round_trip(file_collector, tmp_path):
    out = tmp_path / "metrics.jsonl"
    otlpd = file_collector(out, ("metrics",))
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=otlpd.endpoint, insecure=True),
                                           export_interval_millis=3_600_000)
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter = provider.get_meter("todo.metrics", "0.1")
    added = meter.create_counter("tasks.added", unit="{task}", description="Tasks added")
    added.add(5, {"list": "home"})
    added.add(7, {"list": "home"})
    added.add(1, {"list": "work"})
    open_tasks = meter.create_up_down_counter("tasks.open")
    open_tasks.add(3)
    open_tasks.add(-1)
    latency = meter.create_histogram("db.latency", unit="ms")
    for v in (1, 5, 100):
        latency.record(v, {"op": "insert"})
    meter.create_observable_gauge("queue.depth", callbacks=[lambda _: [Observation(42.5, {"q": "main"})]])
    assert provider.force_flush(30_000)
    provider.shutdown()
    assert otlpd.stop() == 0

    metrics = {}
    for request in read_json_lines(out):
        for rm in request["resourceMetrics"]:
            assert attrs(rm["resource"]["attributes"])["service.name"] == "todo"
            for sm in rm["scopeMetrics"]:
                assert sm["scope"] == {"name": "todo.metrics", "version": "0.1"}
                for m in sm["metrics"]:
                    metrics[m["name"]] = m

    added_json = metrics["tasks.added"]
    assert added_json["unit"] == "{task}" and added_json["description"] == "Tasks added"
    assert added_json["sum"]["isMonotonic"] is True
    assert added_json["sum"]["aggregationTemporality"] == 2  # cumulative
    points = {attrs(p["attributes"])["list"]: p for p in added_json["sum"]["dataPoints"]}
    assert points["home"]["asInt"] == "12" and points["work"]["asInt"] == "1"
    assert int(points["home"]["timeUnixNano"]) >= int(points["home"]["startTimeUnixNano"]) > 0

    open_json = metrics["tasks.open"]["sum"]
    assert "isMonotonic" not in open_json  # false is the default and is omitted
    assert open_json["dataPoints"][0]["asInt"] == "2"

    hist = metrics["db.latency"]["histogram"]["dataPoints"][0]
    assert attrs(hist["attributes"]) == {"op": "insert"}
    assert hist["count"] == "3" and hist["sum"] == 106 and hist["min"] == 1 and hist["max"] == 100
    bounds = hist["explicitBounds"]
    counts = [int(c) for c in hist["bucketCounts"]]
    assert len(counts) == len(bounds) + 1 and sum(counts) == 3
    for value in (1, 5, 100):
        bucket = next((i for i, b in enumerate(bounds) if value <= b), len(bounds))
        assert counts[bucket] >= 1

    gauge = metrics["queue.depth"]["gauge"]["dataPoints"][0]
    assert gauge["asDouble"] == 42.5 and attrs(gauge["attributes"]) == {"q": "main"}


def test_logs_round_trip_with_trace_correlation(file_collector, tmp_path):
    out = tmp_path / "logs.jsonl"
    otlpd = file_collector(out, ("logs",))
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=otlpd.endpoint, insecure=True)))
    logger = logging.getLogger("todo.e2e")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = LoggingHandler(level=logging.DEBUG, logger_provider=provider)
    logger.addHandler(handler)
    tracer = TracerProvider(resource=RESOURCE).get_tracer("t")
    try:
        with tracer.start_as_current_span("adding_task") as span:
            logger.warning("task %s added", "milk", extra={"task.id": 7, "task.urgent": True})
        logger.error("disk full")
        logger.debug("tick")
    finally:
        logger.removeHandler(handler)
    assert provider.force_flush(30_000)
    provider.shutdown()
    assert otlpd.stop() == 0

    records = []
    for request in read_json_lines(out):
        for rl in request["resourceLogs"]:
            assert attrs(rl["resource"]["attributes"])["service.name"] == "todo"
            for sl in rl["scopeLogs"]:
                assert sl["scope"]["name"] == "todo.e2e"
                records += sl["logRecords"]
    by_body = {r["body"]["stringValue"]: r for r in records}
    assert set(by_body) == {"task milk added", "disk full", "tick"}

    warn = by_body["task milk added"]
    assert warn["severityNumber"] == 13 and warn["severityText"] == "WARN"
    assert warn["traceId"] == format(span.get_span_context().trace_id, "032x")
    assert warn["spanId"] == format(span.get_span_context().span_id, "016x")
    assert warn["flags"] & 0xFF == int(span.get_span_context().trace_flags)  # sampled (+ W3C random bit)
    assert warn["flags"] & 1
    record_attrs = attrs(warn["attributes"])
    assert record_attrs["task.id"] == 7 and record_attrs["task.urgent"] is True
    assert int(warn["timeUnixNano"]) > 0 and int(warn["observedTimeUnixNano"]) > 0

    assert by_body["disk full"]["severityNumber"] == 17 and by_body["disk full"]["severityText"] == "ERROR"
    assert "traceId" not in by_body["disk full"]
    assert by_body["tick"]["severityNumber"] == 5 and by_body["tick"]["severityText"] == "DEBUG"
