# Concatenates captured requests (capture.py records) into one serialized ExportTraceServiceRequest
# and prints spans/bytes. Usage: build.py RECFILE OUT.pb [MAXBYTES]
import sys, struct
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
rec, out = sys.argv[1], sys.argv[2]
maxb = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 62
data = open(rec, "rb").read()
parts, pos = [], 0
while pos < len(data):
    (n,) = struct.unpack_from(">I", data, pos); pos += 4
    if sum(map(len, parts)) + n > maxb: break
    parts.append(data[pos:pos + n]); pos += n
blob = b"".join(parts)
open(out, "wb").write(blob)
req = trace_service_pb2.ExportTraceServiceRequest.FromString(blob)
spans = sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
print(f"{out}: {len(parts)} requests, {len(blob)} bytes, {len(req.resource_spans)} resource_spans, {spans} spans, {len(blob)/spans:.1f} B/span")
