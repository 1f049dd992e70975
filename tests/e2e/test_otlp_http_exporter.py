"""The otlp_http exporter against a real HTTP server (Python's http.server)."""
import json

import grpc
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from peers import HttpBackend
from otlp_requests import raw_export, request_with_spans


def ok(*_):
    return 200, {"Content-Type": "application/x-protobuf"}, trace_service_pb2.ExportTraceServiceResponse().SerializeToString()


def http_exporter_config(url, extra=""):
    return f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0"}}
processors:
  batch: {{timeout: 20ms}}
exporters:
  otlphttp:
    endpoint: {url}
    retry_on_failure: {{initial_interval: 50ms, max_interval: 200ms}}
{extra}
service:
  pipelines:
    traces: {{receivers: [otlp], processors: [batch], exporters: [otlphttp]}}
"""


def send(otlpd, batches=3, spans=10):
    channel = grpc.insecure_channel(otlpd.endpoint)
    for b in range(batches):
        code, details = raw_export(channel, request_with_spans(spans, trace_byte=b + 1).SerializeToString())
        assert code == grpc.StatusCode.OK, details


@pytest.mark.parametrize("compression, params, encoding", [
    ("", "", "gzip"),  # the default
    ("gzip", "{level: 1}", "gzip"),
    ("deflate", "", "deflate"),
    ("zstd", "", "zstd"),
    ("zstd", "{level: 19}", "zstd"),
])
def test_protobuf_batches_arrive_whole_and_compressed(start_otlpd, compression, params, encoding):
    backend = HttpBackend(ok)
    extra = (f"    compression: {compression}\n" if compression else "") + \
            (f"    compression_params: {params}\n" if params else "")
    try:
        otlpd = start_otlpd(http_exporter_config(backend.url, extra))
        send(otlpd, spans=200)
        assert otlpd.stop() == 0
    finally:
        backend.stop()
    spans = []
    for (path, headers, body), size in zip(backend.posts, backend.compressed_sizes):
        assert path == "/v1/traces"
        assert headers["Content-Type"] == "application/x-protobuf"
        assert headers["Content-Encoding"] == encoding
        assert size < len(body) / 2, (size, len(body))  # really compressed
        request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
        spans += [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert len(spans) == 600
    assert sorted(s.trace_id[0] for s in spans) == sorted(b + 1 for b in range(3) for _ in range(200))


def test_json_encoding_joins_the_batch_into_one_request(start_otlpd):
    backend = HttpBackend(lambda *_: (200, {"Content-Type": "application/json"}, b"{}"))
    try:
        otlpd = start_otlpd(http_exporter_config(backend.url, "    encoding: json\n    compression: none"))
        send(otlpd)
        assert otlpd.stop() == 0
    finally:
        backend.stop()
    trace_ids = []
    for path, headers, body in backend.posts:
        assert headers["Content-Type"] == "application/json" and "Content-Encoding" not in headers
        request = json.loads(body)
        trace_ids += [s["traceId"] for rs in request["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert sorted(trace_ids) == sorted(f"{b + 1:02x}" * 16 for b in range(3) for _ in range(10))


def test_503_is_retried_after_the_retry_after_delay(start_otlpd):
    def first_unavailable(n, *_):
        return (503, {"Retry-After": "1"}, b"") if n == 1 else ok()

    backend = HttpBackend(first_unavailable)
    try:
        otlpd = start_otlpd(http_exporter_config(backend.url))
        send(otlpd, batches=1)
        otlpd.wait_for_log(r"HTTP 503: ; retrying in 1000 ms")
        assert otlpd.stop() == 0
    finally:
        backend.stop()
    assert len(backend.posts) == 2 and backend.posts[0][2] == backend.posts[1][2]
    assert "traces: sent 10 spans, failed 0" in otlpd.log()


def test_400_is_permanent_and_reports_the_status_message(start_otlpd):
    status = status_pb2.Status(code=3, message="span 7 has no name").SerializeToString()
    backend = HttpBackend(lambda *_: (400, {"Content-Type": "application/x-protobuf"}, status))
    try:
        otlpd = start_otlpd(http_exporter_config(backend.url))
        send(otlpd, batches=1)
        assert otlpd.stop() == 0
    finally:
        backend.stop()
    assert len(backend.posts) == 1, "a 400 must not be retried"
    log = otlpd.log()
    assert "HTTP 400: span 7 has no name (not retryable)" in log
    assert "traces: sent 0 spans, failed 10" in log


def test_401_says_to_check_the_headers(start_otlpd):
    backend = HttpBackend(lambda *_: (401, {}, b"missing token"))
    try:
        otlpd = start_otlpd(http_exporter_config(backend.url, '    headers: {Authorization: "Bearer x"}'))
        send(otlpd, batches=1)
        assert otlpd.stop() == 0
    finally:
        backend.stop()
    assert backend.posts[0][1]["Authorization"] == "Bearer x"
    assert "HTTP 401: missing token (the backend did not accept the credentials: check exporters::<id>::headers)" in otlpd.log()
