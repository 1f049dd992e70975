# Minimal OTLP/gRPC trace capture: appends each ExportTraceServiceRequest's raw bytes to a file
# as <4-byte big-endian length><bytes> records. Usage: capture.py PORT OUTFILE
import sys, struct, threading, grpc
from concurrent import futures
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

port, out = sys.argv[1], sys.argv[2]
lock = threading.Lock()
f = open(out, "ab")
count = [0, 0]
EMPTY = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()

def export(raw, ctx):
    with lock:
        f.write(struct.pack(">I", len(raw))); f.write(raw); f.flush()
        count[0] += 1; count[1] += len(raw)
        if count[0] % 50 == 0:
            print(f"captured {count[0]} requests, {count[1]} bytes", flush=True)
    return EMPTY

handler = grpc.method_handlers_generic_handler(
    "opentelemetry.proto.collector.trace.v1.TraceService",
    {"Export": grpc.unary_unary_rpc_method_handler(export, request_deserializer=None, response_serializer=None)})
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=[("grpc.max_receive_message_length", 64 << 20)])
server.add_generic_rpc_handlers((handler,))
server.add_insecure_port(f"127.0.0.1:{port}")
server.start()
print(f"capture listening on 127.0.0.1:{port} -> {out}", flush=True)
try:
    server.wait_for_termination()
finally:
    print(f"final: {count[0]} requests, {count[1]} bytes", flush=True)
