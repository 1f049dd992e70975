"""The otlp_grpc exporter against real peers: a second otlpd that goes down and comes back,
and a gRPC backend (grpcio) that rejects data or checks a bearer token."""
import re
import socket
import threading
from concurrent import futures

import grpc
import pytest
from conftest import read_json_lines
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from otlpd_process import file_pipeline_config
from otlp_requests import raw_export, request_with_spans


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exporter_config(target, extra=""):
    return f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0"}}
exporters:
  otlp:
    endpoint: {target}
    tls: {{insecure: true}}
    timeout: 2s
    retry_on_failure: {{initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 120s}}
{extra}
service:
  pipelines:
    traces: {{receivers: [otlp], exporters: [otlp]}}
"""


def test_backend_down_then_up_loses_nothing_and_pushes_back_while_full(start_otlpd, tmp_path):
    port = free_port()  # the backend will listen here later
    front = start_otlpd(exporter_config(f"127.0.0.1:{port}",
                                        "    sending_queue: {queue_size: 3, num_consumers: 1}"))
    channel = grpc.insecure_channel(front.endpoint)
    accepted, refused = [], 0
    for batch in range(1, 50):
        code, details = raw_export(channel, request_with_spans(10, trace_byte=batch).SerializeToString())
        if code == grpc.StatusCode.OK:
            accepted.append(batch)
        else:
            assert code == grpc.StatusCode.UNAVAILABLE, (code, details)
            assert "sending queue of exporter otlp is full" in details
            refused += 1
    assert refused > 0 and 3 <= len(accepted) <= 5  # the queue, plus the batch being retried
    front.wait_for_log(r"export to 127\.0\.0\.1:\d+ failed: UNAVAILABLE: .*retrying in")

    out = tmp_path / "backend.jsonl"
    back = start_otlpd(file_pipeline_config(out, signals=("traces",)).replace("127.0.0.1:0", f"127.0.0.1:{port}"))
    back.wait_for_log("listening on")
    assert front.stop() == 0  # drains: retries succeed now that the backend is up
    assert back.stop() == 0
    spans = [s for r in read_json_lines(out) for rs in r["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    received = sorted(int(s["traceId"][:2], 16) for s in spans)
    assert received == sorted(b for b in accepted for _ in range(10)), "each accepted span exactly once"
    assert f"traces: sent {10 * len(accepted)} spans, failed 0" in front.log()


class FakeBackend:
    """A real OTLP/gRPC trace server (grpcio) that answers what the test tells it to."""

    def __init__(self, handler):
        self.calls = []
        self._lock = threading.Lock()

        def export(request, context):
            with self._lock:
                self.calls.append((request, dict(context.invocation_metadata())))
            return handler(request, context)

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            "opentelemetry.proto.collector.trace.v1.TraceService",
            {"Export": grpc.unary_unary_rpc_method_handler(
                export,
                request_deserializer=trace_service_pb2.ExportTraceServiceRequest.FromString,
                response_serializer=trace_service_pb2.ExportTraceServiceResponse.SerializeToString)}),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def stop(self):
        self.server.stop(grace=None)


def test_permanent_errors_are_not_retried_and_are_counted(start_otlpd):
    def reject(request, context):
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "span names must not be xxxxxxxx")

    backend = FakeBackend(reject)
    try:
        front = start_otlpd(exporter_config(f"127.0.0.1:{backend.port}"))
        channel = grpc.insecure_channel(front.endpoint)
        for batch in range(3):
            code, _ = raw_export(channel, request_with_spans(10, trace_byte=batch + 1).SerializeToString())
            assert code == grpc.StatusCode.OK  # otlpd accepted them; the backend rejects later
        assert front.stop() == 0
    finally:
        backend.stop()
    assert len(backend.calls) == 3, "a permanent error must not be retried"
    log = front.log()
    assert "INVALID_ARGUMENT: span names must not be xxxxxxxx (not retryable)" in log
    assert "traces: sent 0 spans, failed 30" in log
    assert "retrying" not in log


def test_bearer_token_is_sent_and_a_wrong_one_is_a_clear_error(start_otlpd):
    def check_token(request, context):
        if dict(context.invocation_metadata()).get("authorization") != "Bearer right-token":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid secret token")
        return trace_service_pb2.ExportTraceServiceResponse()

    backend = FakeBackend(check_token)
    headers = '    headers: {Authorization: "Bearer ${env:APM_TOKEN}"}'
    try:
        wrong = start_otlpd(exporter_config(f"127.0.0.1:{backend.port}", headers), env={"APM_TOKEN": "wrong"})
        raw_export(grpc.insecure_channel(wrong.endpoint), request_with_spans(5).SerializeToString())
        assert wrong.stop() == 0
        right = start_otlpd(exporter_config(f"127.0.0.1:{backend.port}", headers), env={"APM_TOKEN": "right-token"})
        raw_export(grpc.insecure_channel(right.endpoint), request_with_spans(7).SerializeToString())
        assert right.stop() == 0
    finally:
        backend.stop()
    log = wrong.log()
    assert re.search(r"UNAUTHENTICATED: invalid secret token \(the backend did not accept the "
                     r"credentials: check exporters::<id>::headers.*\(not retryable\)", log), log
    assert "traces: sent 0 spans, failed 5" in log
    assert "traces: sent 7 spans, failed 0" in right.log()
    accepted = [req for req, meta in backend.calls if meta.get("authorization") == "Bearer right-token"]
    assert len(accepted) == 1 and len(accepted[0].resource_spans[0].scope_spans[0].spans) == 7


@pytest.mark.parametrize("compression", ["none", "gzip", "gzip level 1", "gzip level 12"])
def test_every_compression_reaches_a_grpcio_backend_and_its_answer_is_read(start_otlpd, compression):
    """gzip is compressed by otlpd (libdeflate) and sent as an already-compressed message: the
    grpcio server must decode every batch, and its answer (a partial success) must be read."""
    def partial(request, context):
        response = trace_service_pb2.ExportTraceServiceResponse()
        response.partial_success.rejected_spans = 1
        response.partial_success.error_message = "one span was too old"
        return response

    backend = FakeBackend(partial)
    name, _, level = compression.partition(" level ")
    extra = f"    compression: {name}\n" + (f"    compression_params: {{level: {level}}}\n" if level else "")
    try:
        front = start_otlpd(exporter_config(f"127.0.0.1:{backend.port}", extra))
        channel = grpc.insecure_channel(front.endpoint)
        for batch in range(3):
            code, _ = raw_export(channel, request_with_spans(50, trace_byte=batch + 1).SerializeToString())
            assert code == grpc.StatusCode.OK
        assert front.stop() == 0
    finally:
        backend.stop()
    spans = [s for request, _ in backend.calls for rs in request.resource_spans for ss in rs.scope_spans
             for s in ss.spans]
    assert sorted(s.trace_id[0] for s in spans) == sorted(b + 1 for b in range(3) for _ in range(50))
    log = front.log()
    assert log.count("rejected 1 of 50 spans (partial success, not retried): one span was too old") == 3, log
    assert "traces: sent 150 spans, failed 0" in log
    if name == "gzip":
        assert f"gzip level {level or 6}" in log
