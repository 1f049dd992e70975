"""otlpd's jaeger exporter, in each protocol, delivering the Python SDK's spans to a real Jaeger
v2, read back from Jaeger's query API. Needs JAEGER_BIN (scripts/interop.sh builds Jaeger)."""
import json
import os
import socket
import subprocess
import time
import urllib.request

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from selftel import wait_until

JAEGER_BIN = os.environ.get("JAEGER_BIN")
pytestmark = pytest.mark.skipif(not JAEGER_BIN, reason="JAEGER_BIN is not set: run scripts/interop.sh")


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def jaeger(tmp_path_factory):
    grpc_port, http_port, thrift_port, query_port, query_grpc = free_ports(5)
    workdir = tmp_path_factory.mktemp("jaeger")
    config = workdir / "jaeger.yaml"
    config.write_text(f"""
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces: {{receivers: [otlp, jaeger], processors: [batch], exporters: [jaeger_storage_exporter]}}
  telemetry: {{metrics: {{level: none}}}}
extensions:
  jaeger_query:
    storage: {{traces: memstore}}
    http: {{endpoint: "127.0.0.1:{query_port}"}}
    grpc: {{endpoint: "127.0.0.1:{query_grpc}"}}
  jaeger_storage:
    backends: {{memstore: {{memory: {{max_traces: 100000}}}}}}
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{grpc_port}"}}
      http: {{endpoint: "127.0.0.1:{http_port}"}}
  jaeger:
    protocols:
      thrift_http: {{endpoint: "127.0.0.1:{thrift_port}"}}
processors:
  batch: {{timeout: 50ms}}
exporters:
  jaeger_storage_exporter: {{trace_storage: memstore}}
""")
    log = open(workdir / "jaeger.log", "w")
    proc = subprocess.Popen([JAEGER_BIN, "--config", str(config)], stdout=log, stderr=log)
    api = f"http://127.0.0.1:{query_port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{api}/api/services", timeout=2).read()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, (workdir / "jaeger.log").read_text()
            time.sleep(0.2)
    endpoints = {
        "otlp_grpc": f"127.0.0.1:{grpc_port}",
        "otlp_http": f"http://127.0.0.1:{http_port}",
        "thrift_http": f"http://127.0.0.1:{thrift_port}/api/traces",
    }
    yield api, endpoints
    proc.terminate()
    proc.wait(timeout=30)


def get(api, path):
    with urllib.request.urlopen(api + path, timeout=10) as r:
        return json.load(r)


def send_todo_trace(endpoint, service):
    provider = TracerProvider(resource=Resource.create({"service.name": service, "host.name": "otlpd-test"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    tracer = provider.get_tracer("todo.app", "1.0")
    with tracer.start_as_current_span("POST /add", kind=SpanKind.SERVER,
                                      attributes={"http.target": "/add", "http.status_code": 302, "ratio": 0.5,
                                                  "cached": True, "tags": ["a", "b"]}) as root:
        with tracer.start_as_current_span("adding_task") as child:
            child.add_event("task.saved", {"task.id": 7})
        with tracer.start_as_current_span("db.insert", kind=SpanKind.CLIENT) as failing:
            failing.set_status(Status(StatusCode.ERROR, "database is locked"))
    provider.shutdown()
    return root.get_span_context(), child.get_span_context(), failing.get_span_context()


def tags(span_or_process):
    return {t["key"]: (t["type"], t["value"]) for t in span_or_process.get("tags") or []}


@pytest.mark.parametrize("protocol", ["otlp_grpc", "otlp_http", "thrift_http"])
def test_jaeger_receives_the_sdk_spans(jaeger, start_otlpd, protocol):
    api, endpoints = jaeger
    service = f"todo-{protocol}"
    otlpd = start_otlpd(f"""
receivers: {{otlp: {{protocols: {{grpc: {{endpoint: "127.0.0.1:0"}}}}}}}}
processors: {{batch: {{timeout: 20ms}}}}
exporters:
  jaeger:
    protocol: {protocol}
    endpoint: {endpoints[protocol]}
service: {{pipelines: {{traces: {{receivers: [otlp], processors: [batch], exporters: [jaeger]}}}}}}
""")
    root_ctx, child_ctx, failing_ctx = send_todo_trace(otlpd.endpoint, service)
    assert otlpd.stop() == 0
    assert "traces: sent 3 spans, failed 0" in otlpd.log()

    trace_id = format(root_ctx.trace_id, "032x")
    deadline = time.monotonic() + 30
    while True:  # Jaeger stores asynchronously; wait for all three spans (bounded)
        found = get(api, f"/api/traces/{trace_id}")["data"] if service in (get(api, "/api/services")["data"] or []) else None
        if found and len(found[0]["spans"]) == 3:
            break
        assert time.monotonic() < deadline, f"trace {trace_id} never arrived complete in Jaeger"
        time.sleep(0.2)
    assert sorted(get(api, f"/api/services/{service}/operations")["data"]) == ["POST /add", "adding_task", "db.insert"]
    search = get(api, f"/api/traces?service={service}&limit=10")["data"]
    assert [t["traceID"] for t in search] == [trace_id]

    trace = found[0]
    spans = {s["operationName"]: s for s in trace["spans"]}
    root, child, failing = spans["POST /add"], spans["adding_task"], spans["db.insert"]
    assert root["spanID"] == format(root_ctx.span_id, "016x")
    assert root["references"] == []
    for s in (child, failing):
        assert s["references"] == [{"refType": "CHILD_OF", "traceID": trace_id, "spanID": root["spanID"]}]
    process = trace["processes"][root["processID"]]
    assert process["serviceName"] == service
    assert tags(process)["host.name"] == ("string", "otlpd-test")

    root_tags = tags(root)
    assert root_tags["span.kind"] == ("string", "server")
    assert root_tags["http.target"] == ("string", "/add")
    assert root_tags["http.status_code"] == ("int64", 302)
    assert root_tags["ratio"] == ("float64", 0.5)
    assert root_tags["cached"] == ("bool", True)
    assert root_tags["otel.scope.name"] == ("string", "todo.app")
    assert json.loads(root_tags["tags"][1]) == ["a", "b"]
    assert tags(failing)["span.kind"] == ("string", "client")
    assert tags(failing)["otel.status_code"] == ("string", "ERROR")
    assert tags(failing)["error"] == ("bool", True)
    assert tags(failing)["otel.status_description"] == ("string", "database is locked")
    assert "span.kind" not in tags(child) or tags(child)["span.kind"] == ("string", "internal")
    assert "error" not in tags(child)

    assert len(child["logs"]) == 1
    fields = {f["key"]: f["value"] for f in child["logs"][0]["fields"]}
    assert fields["event"] == "task.saved" and fields["task.id"] == 7
    assert child["duration"] >= 0 and root["startTime"] <= child["startTime"]


def start_otlpd_into_jaeger_and_store(start_otlpd, endpoints):
    """otlpd exporting to the real Jaeger (jaeger exporter) and to its own trace_store:
    (otlpd, the store's query API base URL)."""
    query_port = free_ports(1)[0]
    otlpd = start_otlpd(f"""
receivers: {{otlp: {{protocols: {{grpc: {{endpoint: "127.0.0.1:0"}}}}}}}}
exporters:
  jaeger: {{protocol: otlp_grpc, endpoint: "{endpoints['otlp_grpc']}"}}
  trace_store: {{endpoint: "127.0.0.1:{query_port}"}}
service: {{pipelines: {{traces: {{receivers: [otlp], exporters: [jaeger, trace_store]}}}}}}
""")
    return otlpd, f"http://127.0.0.1:{query_port}"


def test_trace_store_answers_like_jaeger(jaeger, start_otlpd):
    """The same spans to the real Jaeger (through the jaeger exporter) and to otlpd's own
    trace_store: /api/traces/{id} must agree on operation names, references, times, tags, logs
    and processes."""
    api, endpoints = jaeger
    service = "todo-crosscheck"
    otlpd, ours_api = start_otlpd_into_jaeger_and_store(start_otlpd, endpoints)
    root_ctx, _, _ = send_todo_trace(otlpd.endpoint, service)
    trace_id = format(root_ctx.trace_id, "032x")
    deadline = time.monotonic() + 30
    while True:
        try:
            theirs = get(api, f"/api/traces/{trace_id}")["data"][0]
            ours = get(ours_api, f"/api/traces/{trace_id}")["data"][0]
            if len(theirs["spans"]) == 3 and len(ours["spans"]) == 3:
                break
        except (OSError, KeyError, TypeError, IndexError):
            pass
        assert time.monotonic() < deadline, "the trace never arrived complete in both"
        time.sleep(0.2)
    assert otlpd.stop() == 0

    def comparable(trace):
        out = {}
        for s in trace["spans"]:
            process = trace["processes"][s["processID"]]
            out[s["spanID"]] = {
                "operationName": s["operationName"],
                "references": sorted((r["refType"], r["traceID"], r["spanID"]) for r in s["references"]),
                "startTime": s["startTime"], "duration": s["duration"],
                "tags": tags(s),
                "logs": [(log["timestamp"], tags({"tags": log["fields"]})) for log in s["logs"]],
                "service": process["serviceName"], "process_tags": tags(process),
            }
        return out

    assert theirs["traceID"] == ours["traceID"] == trace_id
    root = comparable(ours)[format(root_ctx.span_id, "016x")]
    assert root["tags"]["http.target"] == ("string", "/add") and root["process_tags"]["host.name"][1] == "otlpd-test"
    assert comparable(ours) == comparable(theirs)


def operation_kinds(base, service, query=""):
    """/api/operations of a service as sorted (name, spanKind) pairs."""
    data = get(base, f"/api/operations?service={service}{query}")["data"] or []  # (Jaeger: null when none)
    return sorted((o["name"], o["spanKind"]) for o in data)


def test_trace_store_lists_operations_like_jaeger(jaeger, start_otlpd):
    """The same spans to the real Jaeger and to otlpd's trace_store: the search form's lists
    agree. One name is used with three kinds (each span is a request of its own): Jaeger lists
    the name once in /api/services/{s}/operations and once per kind in /api/operations."""
    api, endpoints = jaeger
    service = "ops-crosscheck"
    otlpd, ours_api = start_otlpd_into_jaeger_and_store(start_otlpd, endpoints)
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=otlpd.endpoint, insecure=True)))
    tracer = provider.get_tracer("ops.app")
    with tracer.start_as_current_span("GET /items", kind=SpanKind.SERVER):
        with tracer.start_as_current_span("GET /items", kind=SpanKind.CLIENT):
            pass
        with tracer.start_as_current_span("save"):
            pass
    with tracer.start_as_current_span("GET /items", kind=SpanKind.PRODUCER):
        pass
    provider.shutdown()

    def kinds(base, query=""):
        return operation_kinds(base, service, query)

    # Jaeger stores asynchronously.
    wait_until(lambda: len(kinds(api)) >= 4 and len(kinds(ours_api)) >= 4, 30, "four (name, kind) pairs in both")
    assert kinds(ours_api) == kinds(api) == [
        ("GET /items", "client"), ("GET /items", "producer"), ("GET /items", "server"), ("save", "internal")]
    for kind in ("server", "client", "internal", "consumer"):
        assert kinds(ours_api, f"&spanKind={kind}") == kinds(api, f"&spanKind={kind}")
    names = f"/api/services/{service}/operations"
    assert sorted(get(ours_api, names)["data"]) == sorted(get(api, names)["data"]) == ["GET /items", "save"]
    assert otlpd.stop() == 0


def test_trace_store_lists_unspecified_and_unknown_kinds_like_jaeger(jaeger, start_otlpd):
    """Span kinds the SDK never sends: unspecified (0) and a number OTLP does not define (9, an
    open enum's unknown value). Sent as raw OTLP to otlpd, forwarded to the real Jaeger and
    kept in the trace_store: the operation lists and the spans' span.kind tags agree."""
    api, endpoints = jaeger
    service = "kinds-crosscheck"
    otlpd, ours_api = start_otlpd_into_jaeger_and_store(start_otlpd, endpoints)
    request = trace_service_pb2.ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(
        common_pb2.KeyValue(key="service.name", value=common_pb2.AnyValue(string_value=service)))
    scope_spans = resource_spans.scope_spans.add()
    trace_id = bytes(range(1, 17))
    for i, (name, kind) in enumerate([("unspecified", 0), ("unknown", 9), ("served", 2)]):
        span = scope_spans.spans.add(trace_id=trace_id, span_id=bytes([0, 0, 0, 0, 0, 0, 0, i + 1]), name=name,
                                     kind=kind, start_time_unix_nano=1_700_000_000_000_000_000 + i * 1000,
                                     end_time_unix_nano=1_700_000_000_000_000_000 + i * 1000 + 500)
        assert span.kind == kind
    with grpc.insecure_channel(otlpd.endpoint) as channel:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=10)

    def kinds(base):
        return operation_kinds(base, service)

    def span_kinds(base):
        try:
            spans = get(base, f"/api/traces/{trace_id.hex()}")["data"][0]["spans"]
        except (OSError, KeyError, TypeError, IndexError):
            return {}
        return {s["operationName"]: [t["value"] for t in s["tags"] if t["key"] == "span.kind"] for s in spans}

    # Jaeger stores asynchronously.
    wait_until(lambda: len(kinds(api)) >= 3 and len(kinds(ours_api)) >= 3 and len(span_kinds(api)) >= 3, 30,
               "three operations in both, and Jaeger's trace")
    assert kinds(ours_api) == kinds(api) == [("served", "server"), ("unknown", ""), ("unspecified", "")]
    assert span_kinds(ours_api) == span_kinds(api) == {"unspecified": [], "unknown": [], "served": ["server"]}
    assert otlpd.stop() == 0
