"""Requests the tests send: raw gRPC exports and ExportTraceServiceRequests of n spans."""
import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def raw_export(channel, body: bytes, method=TRACE_EXPORT, timeout=30):
    """Sends `body` as is (no client-side serialization) and returns (code, details)."""
    call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    try:
        call(body, timeout=timeout)
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        return e.code(), e.details()


def request_with_spans(n, name_size=8, trace_byte=1):
    req = trace_service_pb2.ExportTraceServiceRequest()
    scope = req.resource_spans.add().scope_spans.add()
    for i in range(n):
        span = scope.spans.add()
        span.trace_id = bytes([trace_byte]) * 16
        span.span_id = (i + 1).to_bytes(8, "big")
        span.name = "x" * name_size
        span.kind = trace_pb2.Span.SPAN_KIND_SERVER
    return req
