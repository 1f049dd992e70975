#!/usr/bin/env python3
"""Writes the seed corpora of otlpd_fuzz_decompress, otlpd_fuzz_grpc, otlpd_fuzz_grpc_connection,
otlpd_fuzz_wire_scan and otlpd_fuzz_segment, and the compressed requests of otlpd_fuzz_http, into
fuzz/corpus/. Run with the repository's virtual environment (cramjam, h2, opentelemetry-proto):
.venv/bin/python fuzz/make_seeds.py
The output is deterministic (gzip without a timestamp), so the committed files do not churn."""
import gzip
import pathlib
import struct
import zlib

import cramjam
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"
TRACE_ID = bytes.fromhex("5b8efff798038103d269b633813fc60c")
SPAN_ID = bytes.fromhex("eee19b7ec3c1b174")


def write(directory, name, data):
    path = CORPUS / directory
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_bytes(bytes(data))


def any_values(kvs):
    """Attributes of every AnyValue type, nested ones included."""
    def kv(key, **value):
        return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(**value))
    kvs.extend([
        kv("service.name", string_value="todo"),
        kv("retries", int_value=-3),
        kv("ratio", double_value=0.25),
        kv("sampled", bool_value=True),
        kv("raw", bytes_value=b"\x00\xff"),
        kv("list", array_value=common_pb2.ArrayValue(values=[
            common_pb2.AnyValue(string_value="a"), common_pb2.AnyValue(int_value=1)])),
        kv("map", kvlist_value=common_pb2.KeyValueList(values=[
            kv("inner", kvlist_value=common_pb2.KeyValueList(values=[kv("deep", string_value="é")]))])),
    ])


def traces():
    req = trace_service_pb2.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    any_values(rs.resource.attributes)
    rs.schema_url = "https://opentelemetry.io/schemas/1.21.0"
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = "flask", "1"
    for i in range(2):
        span = ss.spans.add(trace_id=TRACE_ID, span_id=SPAN_ID[:7] + bytes([i]), name=f"GET /{i}", kind=2,
                            start_time_unix_nano=1_700_000_000_000_000_000, end_time_unix_nano=1_700_000_000_001_000_000)
        if i:
            span.parent_span_id = SPAN_ID[:7] + b"\x00"
            span.trace_state = "k=v"
        span.attributes.add(key="http.target").value.string_value = "/add"
        span.events.add(time_unix_nano=1, name="saved").attributes.add(key="n").value.int_value = 1
        span.links.add(trace_id=TRACE_ID, span_id=SPAN_ID)
        span.status.code = 2 if i else 0
        span.status.message = "boom" if i else ""
    return req


def metrics():
    req = metrics_service_pb2.ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    any_values(rm.resource.attributes)
    sm = rm.scope_metrics.add()
    sm.scope.name = "meter"
    g = sm.metrics.add(name="g", unit="1")
    p = g.gauge.data_points.add(as_double=0.5, time_unix_nano=1)
    p.exemplars.add(as_double=1, span_id=SPAN_ID, trace_id=TRACE_ID)
    s = sm.metrics.add(name="c", description="count")
    s.sum.aggregation_temporality, s.sum.is_monotonic = 2, True
    s.sum.data_points.add(as_int=4, time_unix_nano=1).attributes.add(key="k").value.string_value = "v"
    h = sm.metrics.add(name="h")
    h.histogram.aggregation_temporality = 1
    h.histogram.data_points.add(count=3, sum=6, bucket_counts=[1, 2, 0], explicit_bounds=[1, 5], min=1, max=4)
    e = sm.metrics.add(name="e")
    ep = e.exponential_histogram.data_points.add(count=4, scale=2, zero_count=1, sum=3.5)
    ep.positive.offset, ep.negative.offset = -1, 2
    ep.positive.bucket_counts.extend([1, 2])
    ep.negative.bucket_counts.extend([1])
    q = sm.metrics.add(name="q")
    qp = q.summary.data_points.add(count=2, sum=3)
    qp.quantile_values.add(quantile=0.5, value=1)
    qp.quantile_values.add(quantile=1, value=2)
    return req


def logs():
    req = logs_service_pb2.ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    any_values(rl.resource.attributes)
    sl = rl.scope_logs.add()
    sl.scope.name = "logger"
    r = sl.log_records.add(time_unix_nano=1, observed_time_unix_nano=2, severity_number=13, severity_text="WARN",
                           trace_id=TRACE_ID, span_id=SPAN_ID, flags=1)
    r.body.string_value = "disk full"
    r.attributes.add(key="path").value.string_value = "/var"
    sl.log_records.add().body.kvlist_value.values.add(key="structured").value.int_value = 7
    return req


REQUESTS = {"traces": traces().SerializeToString(), "metrics": metrics().SerializeToString(),
            "logs": logs().SerializeToString()}


def snappy_framed(data):
    return bytes(cramjam.snappy.compress(data))


def snappy_raw(data):
    return bytes(cramjam.snappy.compress_raw(data))


def raw_deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


ENCODERS = {  # name: (index in fuzz_decompress.cpp's kEncodings, encoder)
    "identity": (0, lambda d: d),
    "gzip": (1, lambda d: gzip.compress(d, mtime=0)),
    "zlib": (2, zlib.compress),
    "deflate-raw": (2, raw_deflate),
    "zstd": (3, lambda d: bytes(cramjam.zstd.compress(d))),
    "snappy-raw": (4, snappy_raw),
    "snappy-framed-as-snappy": (4, snappy_framed),
    "x-snappy-framed": (5, snappy_framed),
    "lz4": (6, lambda d: bytes(cramjam.lz4.compress(d))),
}


def decompress_seeds():
    # Byte 0: encoding | limit index << 3 (7: 300000 bytes, 4: 65535, 1: 1 byte) | 0x40 without release.
    # Byte 1: number of piece lengths that follow.
    payload = REQUESTS["traces"]
    big = b"otlpd " * 11_000  # 66000 bytes: over 64 KiB, small compressed
    for name, (index, encode) in ENCODERS.items():
        stream = encode(payload)
        write("decompress", f"{name}-whole", bytes([index | 7 << 3, 0]) + stream)
        write("decompress", f"{name}-pieces", bytes([index | 7 << 3, 4, 1, 0, 9, 3]) + stream)
        if index == 0:  # identity: 5000 bytes against a limit of 4096
            write("decompress", f"{name}-big-limit-4096", bytes([index | 3 << 3 | 0x40, 2, 16, 0]) + big[:5000])
        else:
            write("decompress", f"{name}-big-limit-65535", bytes([index | 4 << 3 | 0x40, 2, 16, 0]) + encode(big))
    # Concatenations: gzip members, zstd frames, lz4 frames; an empty stream of each.
    write("decompress", "gzip-two-members", bytes([1 | 7 << 3, 1, 20]) + gzip.compress(b"a", mtime=0) * 2)
    zstd = bytes(cramjam.zstd.compress(b"frame"))
    write("decompress", "zstd-two-frames", bytes([3 | 7 << 3, 0]) + zstd * 2)
    lz4 = bytes(cramjam.lz4.compress(b"frame"))
    write("decompress", "lz4-two-frames", bytes([6 | 7 << 3, 0]) + lz4 * 2)
    for name, (index, encode) in ENCODERS.items():
        write("decompress", f"{name}-empty", bytes([index | 1 << 3, 0]) + encode(b""))
    # Snappy framing by hand: identifier, padding, an uncompressed chunk with its masked CRC-32C.
    chunk = b"abc"
    crc = crc32c(chunk)
    masked = ((crc >> 15) | (crc << 17)) + 0xA282EAD8 & 0xFFFFFFFF
    framed = (b"\xff\x06\x00\x00sNaPpY" + b"\xfe\x02\x00\x00\x00\x00" +
              bytes([1]) + struct.pack("<I", 4 + len(chunk))[:3] + struct.pack("<I", masked) + chunk)
    write("decompress", "x-snappy-framed-uncompressed-chunk", bytes([5 | 7 << 3, 2, 10, 6]) + framed)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def grpc_seeds():
    # Byte 0: the grpc-encoding (0 "", 1 gzip, 2 deflate, 3 zstd, 4 snappy, 5 lz4, 6 br; 7 not
    # compressed) | signal << 3 | answer << 5. Byte 1: the limit (3: 4 MiB, 0: 64 bytes).
    modes = {"zstd": (3, ENCODERS["zstd"][1]), "snappy": (4, snappy_framed), "lz4": (5, ENCODERS["lz4"][1]),
             "deflate": (2, zlib.compress), "gzip": (1, ENCODERS["gzip"][1]), "uncompressed": (7, lambda d: d)}
    for s, (signal, request) in enumerate(REQUESTS.items()):
        for name, (mode, encode) in modes.items():
            write("grpc", f"{signal}-{name}", bytes([mode | s << 3, 3]) + encode(request))
    traces = REQUESTS["traces"]
    write("grpc", "traces-gzip-over-limit", bytes([1, 0]) + gzip.compress(traces, mtime=0))
    write("grpc", "traces-gzip-admit-refused", bytes([1 | 1 << 5, 3]) + gzip.compress(traces, mtime=0))
    write("grpc", "traces-consume-refused", bytes([7 | 2 << 5, 3]) + traces)
    write("grpc", "traces-unknown-encoding", bytes([6, 3]) + gzip.compress(traces, mtime=0))
    write("grpc", "traces-no-encoding", bytes([0, 3]) + traces)
    write("grpc", "traces-uncompressed-bad-id", bytes([7, 3]) + bad_id())


def grpc_connection_seeds():
    """fuzz_grpc_connection.cpp: what an HTTP/2 client sends after the connection preface. The
    fuzz server takes messages of up to 4096 bytes, 16384 being received at once, and answers
    by a message's first byte: % 4 == 0 OK, 1 INVALID_ARGUMENT, 2 UNAVAILABLE, 3 later."""
    import h2.config
    import h2.connection
    import h2.errors
    import h2.settings
    traces_path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

    def client():
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        return conn

    def headers(path=traces_path, encoding=None, method="POST", content_type="application/grpc"):
        out = [(":method", method), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1"),
               ("content-type", content_type), ("te", "trailers")]
        return out + ([("grpc-encoding", encoding)] if encoding else [])

    def frame(payload, compressed=False, length=None):
        return struct.pack(">BI", 1 if compressed else 0, len(payload) if length is None else length) + payload

    def seed(name, conn):
        data = conn.data_to_send()
        preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        assert data.startswith(preface)
        write("grpc_connection", name, data[len(preface):])

    def one_call(name, body, **kw):
        conn = client()
        stream = conn.get_next_available_stream_id()
        conn.send_headers(stream, headers(**kw))
        conn.send_data(stream, body, end_stream=True)
        seed(name, conn)

    traces = REQUESTS["traces"]
    one_call("traces", frame(traces))
    one_call("ok-deferred-invalid", frame(b"\x00ok"))
    one_call("deferred", frame(b"\x03later"))
    one_call("invalid", frame(b"\x01bad"))
    one_call("empty-message", frame(b""))
    one_call("gzip", frame(gzip.compress(b"\x00" * 100, mtime=0), compressed=True), encoding="gzip")
    one_call("over-limit", frame(b"\x00" * 10, length=5000))
    one_call("unknown-method", frame(b"\x00"), path="/no.Such/Method")
    one_call("not-grpc", frame(b"\x00"), content_type="application/json")
    one_call("get", b"", method="GET")
    one_call("two-messages", frame(b"\x00a") + frame(b"\x03b"))
    one_call("short-message", frame(b"\x00abc", length=9))
    # A prefix and a message split over several DATA frames, and calls interleaved.
    conn = client()
    a, b = conn.get_next_available_stream_id(), None
    conn.send_headers(a, headers())
    body = frame(b"\x03" + b"x" * 300)
    conn.send_data(a, body[:2])
    b = conn.get_next_available_stream_id()
    conn.send_headers(b, headers(path="/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"))
    conn.send_data(a, body[2:100])
    conn.send_data(b, frame(b"\x00m"), end_stream=True)
    conn.send_data(a, body[100:], end_stream=True)
    conn.ping(b"12345678")
    conn.increment_flow_control_window(1 << 20)
    conn.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 10})
    seed("split-and-interleaved", conn)
    # The memory quota: five open messages of 4000 bytes, partly sent, then one reset.
    conn = client()
    streams = []
    for _ in range(5):
        stream = conn.get_next_available_stream_id()
        conn.send_headers(stream, headers())
        conn.send_data(stream, frame(b"\x00" * 3000, length=4000))
        streams.append(stream)
    conn.reset_stream(streams[0], error_code=h2.errors.ErrorCodes.CANCEL)
    seed("quota", conn)
    # A call that ends without its message, then the connection's end.
    conn = client()
    stream = conn.get_next_available_stream_id()
    conn.send_headers(stream, headers(), end_stream=True)
    conn.close_connection()
    seed("no-message-then-goaway", conn)


def bad_id():
    req = traces()
    req.resource_spans[0].scope_spans[0].spans[0].trace_id = b"short"
    return req.SerializeToString()


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def wire_scan_seeds():
    # Byte 0: the signal (0 traces, 1 metrics, 2 logs).
    for s, (signal, request) in enumerate(REQUESTS.items()):
        write("wire_scan", signal, bytes([s]) + request)
    write("wire_scan", "traces-bad-id", bytes([0]) + bad_id())
    # Invalid UTF-8 in a span's name (ExportTraceServiceRequest.resource_spans.scope_spans.spans.name).
    write("wire_scan", "traces-bad-utf8", bytes([0]) + field(1, field(2, field(2, field(5, b"\xc3\x28")))))
    # A group (wire type 3) inside a span: the scan leaves it to protobuf.
    write("wire_scan", "traces-group", bytes([0]) + field(1, field(2, field(2, bytes([0x9b, 0x06, 0x9c, 0x06])))))
    # A metric with two members of its data oneof (gauge, then sum): the scan counts both.
    gauge = field(5, field(1, b""))
    summ = field(7, field(1, b"") + field(1, b""))
    write("wire_scan", "metrics-two-oneof-members", bytes([1]) + field(1, field(2, field(2, gauge + summ))))
    # An unpacked repeated field: histogram bucket_counts as separate fixed64 values.
    hist_point = bytes([0x31]) + struct.pack("<Q", 1) + bytes([0x31]) + struct.pack("<Q", 2)
    write("wire_scan", "metrics-unpacked-bucket-counts", bytes([1]) + field(1, field(2, field(2, field(9, field(1, hist_point))))))
    # Deeply nested AnyValues (kvlist within kvlist): near protobuf's recursion limit of 100.
    for depth in (30, 32, 33):
        value = common_pb2.AnyValue(string_value="x")
        for _ in range(depth):
            value = common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=[common_pb2.KeyValue(key="k", value=value)]))
        req = logs_service_pb2.ExportLogsServiceRequest()
        req.resource_logs.add().scope_logs.add().log_records.add().body.CopyFrom(value)
        write("wire_scan", f"logs-nested-{depth}", bytes([2]) + req.SerializeToString())


def http_seeds():
    # Byte 0: where the first read ends (0x80: half way). Requests otlpd_fuzz_http already had:
    # gzip, deflate (zlib), zstd; these add the other encodings.
    def request(path, content_type, encoding, body):
        head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
                f"Content-Encoding: {encoding}\r\nContent-Length: {len(body)}\r\n\r\n")
        return b"\x80" + head.encode() + body
    proto = "application/x-protobuf"
    write("http", "snappy-raw.txt", request("/v1/traces", proto, "snappy", snappy_raw(REQUESTS["traces"])))
    write("http", "snappy-framed.txt", request("/v1/metrics", proto, "snappy", snappy_framed(REQUESTS["metrics"])))
    write("http", "x-snappy-framed.txt", request("/v1/logs", proto, "x-snappy-framed", snappy_framed(REQUESTS["logs"])))
    write("http", "lz4.txt", request("/v1/logs", "application/json", "lz4",
                                     bytes(cramjam.lz4.compress(b'{"resourceLogs": []}'))))
    write("http", "lz4-protobuf.txt", request("/v1/traces", proto, "lz4", bytes(cramjam.lz4.compress(REQUESTS["traces"]))))
    write("http", "deflate-raw.txt", request("/v1/metrics", proto, "deflate", raw_deflate(REQUESTS["metrics"])))
    write("http", "x-gzip.txt", request("/v1/logs", proto, "x-gzip", gzip.compress(REQUESTS["logs"], mtime=0)))
    write("http", "zstd-protobuf.txt", request("/v1/metrics", proto, "zstd", bytes(cramjam.zstd.compress(REQUESTS["metrics"]))))


# The persistent queue's segment files (storage/segment_format.h), integers little-endian.
SEGMENT_HEADER = struct.Struct("<8sIIQII")  # magic, version, header size, sequence, reserved, CRC-32
RECORD_HEADER = struct.Struct("<IIQBBHIII")  # magic, payload size, id, signal, flags, reserved, items, CRCs
RECORD_MAGIC = 0x5251544F  # "OTQR" in the file


def segment_header(sequence, version=1):
    head = SEGMENT_HEADER.pack(b"otlpdseg", version, 32, sequence, 0, 0)[:28]
    return head + struct.pack("<I", zlib.crc32(head))


def segment_record(record_id, signal, requests, items=1):
    """A record of a batch: per request, its length and its bytes."""
    return segment_record_raw(record_id, signal, b"".join(struct.pack("<I", len(r)) + r for r in requests), items)


def flip(data, at, mask=0x01):
    data = bytearray(data)
    data[at] ^= mask
    return bytes(data)


def segment_seeds():
    traces, metrics, logs = REQUESTS["traces"], REQUESTS["metrics"], REQUESTS["logs"]
    records = [segment_record(1, 0, [traces], 2), segment_record(2, 1, [metrics, metrics], 10),
               segment_record(3, 2, [logs], 2)]
    clean = segment_header(1) + b"".join(records)
    second = 32 + len(records[0])  # offset of the second record
    third = second + len(records[1])
    write("segment", "three-signals", clean)
    write("segment", "header-only", segment_header(1))
    write("segment", "torn-in-payload", clean[:third + 32 + 20])
    write("segment", "torn-in-header", clean[:third + 11])
    write("segment", "garbage-tail", clean + bytes(range(256)) + b"OTQR")
    write("segment", "damaged-payload", flip(clean, second + 32 + 40))
    write("segment", "damaged-record-header", flip(clean, second + 9))
    write("segment", "damaged-segment-header", flip(clean, 17))
    write("segment", "newer-version", segment_header(1, version=2) + b"".join(records))
    # Ids recovery must cope with: 0 (never a real one), repeated, decreasing, the largest.
    write("segment", "odd-ids", segment_header(5) + segment_record(0, 0, [traces]) + segment_record(7, 2, [logs]) +
          segment_record(7, 2, [logs]) + segment_record(4, 1, [metrics]) + segment_record(2**64 - 1, 0, [traces]))
    # Intact records that do not hold OTLP: a batch without requests, bad framing, not protobuf.
    write("segment", "not-otlp", segment_header(2) + segment_record(1, 2, [], 0) +
          segment_record_raw(2, 0, b"\x05\x00\x00\x00ab") + segment_record(3, 1, [b"\xff\xff\xff"]) +
          segment_record(4, 0, [traces]))


def segment_record_raw(record_id, signal, payload, items=1):
    """A record whose payload is given as is (its framing included)."""
    head = RECORD_HEADER.pack(RECORD_MAGIC, len(payload), record_id, signal, 0, 0, items, zlib.crc32(payload), 0)[:28]
    return head + struct.pack("<I", zlib.crc32(head)) + payload


def file_tail_seeds():
    """fuzz_file_tail.cpp: a framing byte (0 lines, 1 length-prefixed, 2 zstd frames), then a file."""
    write("file_tail", "lines-torn", b"\x00" + b'{"a":1}\n{"b":2}\n{"c":')
    write("file_tail", "proto-torn", b"\x01" + struct.pack(">I", 3) + b"abc" + struct.pack(">I", 9) + b"xy")
    frame = bytes(cramjam.zstd.compress(b'{"a":1}\n' * 50))
    write("file_tail", "zstd-torn", b"\x02" + frame + frame[:-5])
    write("file_tail", "zstd-then-garbage", b"\x02" + frame + b"not zstd at all")


if __name__ == "__main__":
    decompress_seeds()
    grpc_seeds()
    grpc_connection_seeds()
    wire_scan_seeds()
    http_seeds()
    segment_seeds()
    file_tail_seeds()
