"""The trace_store exporter: the real Python SDK sends spans to otlpd, and Jaeger's query API
on otlpd answers with Jaeger's shapes (golden file), searches, evicts and reports errors."""
import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from opentelemetry import trace as trace_api
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from otlpd_process import free_port

GOLDEN = Path(__file__).parent / "golden"


def store_config(query_port, extra=""):
    return f"""
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
exporters:
  trace_store:
    endpoint: 127.0.0.1:{query_port}{extra}
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [trace_store]
"""


def get(port, path):
    """(status, body as JSON)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def provider_for(endpoint, service, **resource):
    p = TracerProvider(resource=Resource.create({"service.name": service, **resource}))
    p.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    return p


def send_two_service_trace(endpoint):
    """frontend: GET /checkout -> (client call) -> payments: POST /charge (error) + event."""
    frontend = provider_for(endpoint, "frontend", **{"host.name": "web-1"})
    payments = provider_for(endpoint, "payments")
    tracer = frontend.get_tracer("shop.frontend", "2.1")
    with tracer.start_as_current_span("GET /checkout", kind=SpanKind.SERVER,
                                      attributes={"http.target": "/checkout", "http.status_code": 200,
                                                  "ratio": 0.25, "cached": False}) as root:
        with tracer.start_as_current_span("call payments", kind=SpanKind.CLIENT) as call:
            ctx = trace_api.set_span_in_context(call)
            with payments.get_tracer("shop.payments").start_as_current_span(
                    "POST /charge", context=ctx, kind=SpanKind.SERVER, attributes={"http.target": "/charge"}) as charge:
                charge.add_event("card.declined", {"attempt": 2})
                charge.set_status(Status(StatusCode.ERROR, "card declined"))
    frontend.shutdown()
    payments.shutdown()
    return root.get_span_context(), call.get_span_context(), charge.get_span_context()


def wait_for(port, path, predicate, timeout=30):
    """The store is fed through the exporter's queue: poll (bounded) until the answer is complete."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = get(port, path)
        if predicate(status, body):
            return body
        assert time.monotonic() < deadline, f"{path} never became complete: {status} {body}"
        time.sleep(0.05)


def normalize(trace, ids):
    """Replaces what changes from run to run (ids, times, SDK instance) by stable names."""
    names = {v: k for k, v in ids.items()}
    text = json.dumps(trace, sort_keys=True)
    for real, name in names.items():
        text = text.replace(real, name)
    t = json.loads(text)
    base = min(s["startTime"] for s in t["spans"])
    for s in t["spans"]:
        s["startTime"] = "<start>" if s["startTime"] >= base else s["startTime"]
        s["duration"] = "<duration>" if s["duration"] >= 0 else s["duration"]
        for log in s["logs"]:
            log["timestamp"] = "<timestamp>" if log["timestamp"] >= base else log["timestamp"]
    for p in t["processes"].values():
        for tag in p["tags"]:
            if tag["key"] in ("service.instance.id", "telemetry.sdk.version"):
                tag["value"] = f"<{tag['key']}>"
    t["spans"].sort(key=lambda s: s["operationName"])
    return t


def test_query_api_answers_in_jaegers_shapes(start_otlpd):
    port = free_port()
    otlpd = start_otlpd(store_config(port))
    root, call, charge = send_two_service_trace(otlpd.endpoint)
    trace_id = format(root.trace_id, "032x")
    body = wait_for(port, f"/api/traces/{trace_id}", lambda s, b: s == 200 and len(b["data"][0]["spans"]) == 3)
    assert set(body) == {"data", "total", "limit", "offset", "errors"}
    assert (body["total"], body["limit"], body["offset"], body["errors"]) == (1, 0, 0, None)
    ids = {"<trace>": trace_id, "<root>": format(root.span_id, "016x"), "<call>": format(call.span_id, "016x"),
           "<charge>": format(charge.span_id, "016x")}
    actual = normalize(body["data"][0], ids)
    golden = GOLDEN / "trace_store_trace.json"
    if not golden.exists():  # to (re)create it: delete the file, run once, review the diff
        golden.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    assert actual == json.loads(golden.read_text())

    assert get(port, "/api/services") == (200, {"data": ["frontend", "payments"], "total": 2, "limit": 0, "offset": 0,
                                                "errors": None})
    assert get(port, "/api/services/frontend/operations")[1]["data"] == ["GET /checkout", "call payments"]
    assert get(port, "/api/operations?service=frontend&spanKind=client")[1]["data"] == [
        {"name": "call payments", "spanKind": "client"}]
    assert get(port, "/api/operations?service=payments")[1]["data"] == [{"name": "POST /charge", "spanKind": "server"}]
    deps = get(port, "/api/dependencies?endTs=%d&lookback=3600000" % (time.time() * 1000))[1]
    assert deps["data"] == [{"parent": "frontend", "child": "payments", "callCount": 1}]

    # Errors: Jaeger's envelope with the code and a message.
    assert get(port, "/api/traces") == (400, {"data": None, "total": 0, "limit": 0, "offset": 0,
                                             "errors": [{"code": 400, "msg": "parameter 'service' is required"}]})
    status, body = get(port, "/api/traces/" + "0" * 31 + "1")
    assert status == 404 and body["errors"] == [{"code": 404, "msg": "trace not found"}]
    status, body = get(port, "/api/traces/not-hex")
    assert status == 400 and "is not a trace id" in body["errors"][0]["msg"]
    status, body = get(port, "/api/traces?service=frontend&tags=%7Bnot%20json")
    assert status == 400 and "malformed 'tags' parameter" in body["errors"][0]["msg"]
    status, body = get(port, "/api/traces?service=frontend&minDuration=soon")
    assert status == 400 and "cannot parse minDuration 'soon'" in body["errors"][0]["msg"]
    assert get(port, "/api/nothing")[0] == 404
    assert otlpd.stop() == 0
    assert "held 1 traces (3 spans" in otlpd.log()


def test_search_by_service_operation_tags_duration_and_time(start_otlpd):
    port = free_port()
    otlpd = start_otlpd(store_config(port))
    provider = provider_for(otlpd.endpoint, "todo")
    tracer = provider.get_tracer("todo")
    traces = {}
    for target in ("/", "/add", "/add", "/delete/1"):
        with tracer.start_as_current_span(f"{'POST' if target == '/add' else 'GET'} {target}", kind=SpanKind.SERVER,
                                          attributes={"http.target": target}) as span:
            if target == "/delete/1":
                time.sleep(0.02)  # a slow request, for the duration filters
        traces.setdefault(target, []).append(format(span.get_span_context().trace_id, "032x"))
    provider.shutdown()
    wait_for(port, "/api/traces?service=todo&limit=100", lambda s, b: s == 200 and b["total"] == 4)

    def found(query):
        status, body = get(port, "/api/traces?service=todo&" + query)
        assert status == 200, body
        return sorted(t["traceID"] for t in body["data"])

    tags = urllib.parse.quote(json.dumps({"http.target": "/add"}))
    assert found(f"tags={tags}") == sorted(traces["/add"])
    assert found("tag=http.target:/add") == sorted(traces["/add"])
    assert found("operation=GET%20/") == traces["/"]
    assert found("operation=POST%20/add&tag=http.target:/") == []  # one span must match everything
    assert found("minDuration=15ms") == traces["/delete/1"]
    assert len(found("maxDuration=15ms")) == 3
    assert len(found("limit=2")) == 2
    now_us = int(time.time() * 1e6)
    assert len(found(f"start={now_us - 600_000_000}&end={now_us + 1_000_000}")) == 4
    assert found(f"start={now_us + 60_000_000}") == []
    assert len(found("lookback=1h")) == 4
    assert get(port, "/api/traces?service=nobody")[1]["data"] == []
    assert otlpd.stop() == 0


def test_oldest_traces_are_evicted_and_counted(start_otlpd):
    port = free_port()
    otlpd = start_otlpd(store_config(port, "\n    max_traces: 5"))
    provider = provider_for(otlpd.endpoint, "todo")
    ids = []
    for i in range(8):
        with provider.get_tracer("t").start_as_current_span(f"request {i}") as span:
            pass
        ids.append(format(span.get_span_context().trace_id, "032x"))
    provider.shutdown()
    wait_for(port, f"/api/traces/{ids[-1]}", lambda s, b: s == 200)
    assert [get(port, f"/api/traces/{i}")[0] for i in ids] == [404] * 3 + [200] * 5
    assert otlpd.stop() == 0
    assert "held 5 traces (5 spans" in otlpd.log() and "evicted 3 traces (3 spans)" in otlpd.log()


def test_memory_bound_holds(start_otlpd):
    port = free_port()
    otlpd = start_otlpd(store_config(port, "\n    max_memory_mib: 1"))
    provider = provider_for(otlpd.endpoint, "todo")
    for i in range(300):  # ~10 KB of attributes each: 3 MB offered to a 1 MiB store
        with provider.get_tracer("t").start_as_current_span(f"request {i}", attributes={"blob": "x" * 10_000}):
            pass
    provider.shutdown()
    assert otlpd.stop() == 0
    held = re.search(r"held (\d+) traces \((\d+) spans, about (\d+) KiB\); evicted (\d+) traces", otlpd.log())
    assert held, otlpd.log()
    traces, _, kib, evicted = map(int, held.groups())
    assert kib <= 1024 and traces + evicted == 300 and evicted > 150


def test_viewer_page_is_served_from_the_binary(start_otlpd):
    port = free_port()
    otlpd = start_otlpd(store_config(port))
    otlpd.wait_for_log(r"trace query API and viewer listening on")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
        page = r.read().decode()
        assert r.headers["Content-Type"].startswith("text/html")
    assert "<title>otlpd · traces</title>" in page and "/api/traces" in page
    assert "http://" not in page.replace("http://www.w3.org", "")  # nothing fetched from elsewhere
    assert otlpd.stop() == 0


def test_fields_in_any_order_are_indexed(start_otlpd):
    """OTLP/JSON keeps the order the client wrote; the store's index must not assume protobuf's
    field order (here the parent and kind come after the attributes)."""
    port = free_port()
    config = store_config(port).replace("        endpoint: 127.0.0.1:0\n",
                                        "        endpoint: 127.0.0.1:0\n      http:\n        endpoint: 127.0.0.1:0\n", 1)
    otlpd = start_otlpd(config)
    trace_id, parent, child = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b173", "eee19b7ec3c1b174"
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [
        {"attributes": [{"key": "http.target", "value": {"stringValue": "/add"}}], "traceId": trace_id,
         "spanId": parent, "name": "POST /add", "startTimeUnixNano": "1000000", "endTimeUnixNano": "5000000",
         "kind": 2},
        {"traceId": trace_id, "spanId": child, "name": "adding_task", "startTimeUnixNano": "2000000",
         "endTimeUnixNano": "3000000", "attributes": [{"key": "n", "value": {"intValue": "1"}}],
         "parentSpanId": parent, "kind": "SPAN_KIND_INTERNAL"}]}],
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-client"}}]}}]}
    request = urllib.request.Request(f"http://127.0.0.1:{otlpd.http_port()}/v1/traces", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(request, timeout=10).status == 200
    trace = wait_for(port, f"/api/traces/{trace_id}", lambda s, b: s == 200 and len(b["data"][0]["spans"]) == 2)
    spans = {s["operationName"]: s for s in trace["data"][0]["spans"]}
    assert spans["adding_task"]["references"] == [{"refType": "CHILD_OF", "traceID": trace_id, "spanID": parent}]
    assert {"key": "span.kind", "type": "string", "value": "server"} in spans["POST /add"]["tags"]
    assert (spans["POST /add"]["startTime"], spans["POST /add"]["duration"]) == (1000, 4000)
    assert get(port, "/api/operations?service=json-client")[1]["data"] == [
        {"name": "POST /add", "spanKind": "server"}, {"name": "adding_task", "spanKind": "internal"}]
    assert otlpd.stop() == 0


def test_hostile_query_strings_get_clear_json_errors(start_otlpd):
    """Found by fuzz/fuzz_query_api.cpp: a path with non-UTF-8 bytes was echoed into an
    invalid JSON error, and a huge endTs overflowed (UBSan) instead of being refused."""
    port = free_port()
    otlpd = start_otlpd(store_config(port))
    otlpd.wait_for_log(r"trace query API and viewer listening on")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /api/dependen\x98ies HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        response = b""
        while chunk := sock.recv(4096):
            response += chunk
    head, body = response.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 404")
    assert json.loads(body)["errors"] == [{"code": 404, "msg": "no such API: /api/dependen?ies"}]
    status, body = get(port, "/api/dependencies?endTs=1720099999900000000&lookback=3600000")
    assert status == 400 and "endTs must be milliseconds" in body["errors"][0]["msg"]
    status, body = get(port, "/api/traces?service=todo&lookback=1e30h")
    assert status == 400 and "cannot parse lookback" in body["errors"][0]["msg"]
    assert otlpd.stop() == 0


def query_port(otlpd):
    return int(otlpd.wait_for_log(r"trace query API and viewer listening on [^\s]+:(\d+)").group(1))


def test_jaeger_query_extension_serves_the_store_it_names(start_otlpd):
    """The newer form, as in Jaeger v2: the exporter fills a store, the extension serves it."""
    otlpd = start_otlpd("""
receivers:
  otlp: {protocols: {grpc: {endpoint: 127.0.0.1:0}}}
exporters:
  trace_store/kept: {max_traces: 100}
extensions:
  jaeger_query: {endpoint: 127.0.0.1:0, trace_store: trace_store/kept}
service:
  extensions: [jaeger_query]
  pipelines:
    traces: {receivers: [otlp], exporters: [trace_store/kept]}
""")
    port = query_port(otlpd)
    root, call, charge = send_two_service_trace(otlpd.endpoint)
    trace_id = format(root.trace_id, "032x")
    body = wait_for(port, f"/api/traces/{trace_id}", lambda s, b: s == 200 and len(b["data"][0]["spans"]) == 3)
    assert {s["spanID"] for s in body["data"][0]["spans"]} == {
        format(c.span_id, "016x") for c in (root, call, charge)}
    assert get(port, "/api/services")[1]["data"] == ["frontend", "payments"]
    # Only the listed extension serves: no extension was implied for the exporter.
    assert "implies the extension" not in otlpd.log()
    assert len(re.findall(r"trace query API and viewer listening", otlpd.log())) == 1


def test_the_older_form_implies_the_extension_and_says_how_to_migrate(start_otlpd):
    otlpd = start_otlpd(store_config(0))
    otlpd.wait_for_log(r"exporters::trace_store implies the extension jaeger_query/trace_store .*"
                       r"write extensions: \{jaeger_query: \{trace_store: trace_store")
    port = query_port(otlpd)
    root, _, _ = send_two_service_trace(otlpd.endpoint)
    wait_for(port, f"/api/traces/{format(root.trace_id, '032x')}",
             lambda s, b: s == 200 and len(b["data"][0]["spans"]) == 3)


def test_jaeger_query_without_its_store_refuses_to_start(start_otlpd):
    otlpd = start_otlpd("""
receivers:
  otlp: {protocols: {grpc: {endpoint: 127.0.0.1:0}}}
exporters:
  trace_store: {}
extensions:
  jaeger_query: {endpoint: 127.0.0.1:0, trace_store: trace_store/missing}
service:
  extensions: [jaeger_query]
  pipelines:
    traces: {receivers: [otlp], exporters: [trace_store]}
""")
    assert otlpd.proc.wait(timeout=60) != 0
    otlpd.wait_for_log(r"no trace_store exporter 'trace_store/missing' is in a pipeline")
