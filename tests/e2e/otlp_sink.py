"""A real OTLP/gRPC trace backend for the tests: it records every span it receives (by trace
and span id, duplicates counted), and can be stopped and started again on the same port."""
import threading
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class _Service(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, sink):
        self.sink = sink

    def Export(self, request, context):
        with self.sink.lock:
            for rs in request.resource_spans:
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        key = (span.trace_id, span.span_id)
                        self.sink.copies[key] = self.sink.copies.get(key, 0) + 1
            self.sink.changed.notify_all()
        return trace_service_pb2.ExportTraceServiceResponse()


class TraceSink:
    def __init__(self, port=0):
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.copies = {}
        self.port = port
        self.server = None

    def start(self):
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Service(self), self.server)
        self.port = self.server.add_insecure_port(f"127.0.0.1:{self.port}")
        self.server.start()
        return self

    def stop(self):
        if self.server:
            self.server.stop(grace=None).wait()
            self.server = None

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.port}"

    def received(self):
        with self.lock:
            return set(self.copies)

    def duplicates(self):
        with self.lock:
            return sum(n - 1 for n in self.copies.values())

    def wait_for(self, keys, timeout=60.0):
        """Waits until every key in `keys` has arrived; returns the ones still missing."""
        keys = set(keys)
        with self.changed:
            self.changed.wait_for(lambda: keys <= set(self.copies), timeout)
            return keys - set(self.copies)
