"""otlpd's OTLP/HTTP receiver, with real HTTP clients (http.client, raw sockets)."""
import gzip
import http.client
import json
import socket
import time

from conftest import read_json_lines
from google.rpc import status_pb2
from otlpd_process import file_pipeline_config
from otlp_requests import request_with_spans

HTTP = "      http:\n        endpoint: 127.0.0.1:0\n        max_request_body_size: 100000"


def post(conn, body, path="/v1/traces", headers=None):
    conn.request("POST", path, body=body, headers={"Content-Type": "application/x-protobuf", **(headers or {})})
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def status_message(body):
    return status_pb2.Status.FromString(body).message


def test_statuses_keep_alive_and_gzip(start_otlpd, tmp_path):
    out = tmp_path / "out.jsonl"
    otlpd = start_otlpd(file_pipeline_config(out, signals=("traces",), grpc_extra=HTTP))
    conn = http.client.HTTPConnection("127.0.0.1", otlpd.http_port(), timeout=30)  # one keep-alive connection

    assert post(conn, request_with_spans(3, trace_byte=1).SerializeToString())[0] == 200
    assert post(conn, gzip.compress(request_with_spans(4, trace_byte=2).SerializeToString()),
                headers={"Content-Encoding": "gzip"})[0] == 200
    status, _, body = post(conn, b"\xff\xff\xff")
    assert status == 400 and status_message(body).startswith("malformed ExportTraceServiceRequest")
    status, _, body = post(conn, b"not gzip", headers={"Content-Encoding": "gzip"})
    assert status == 400 and status_message(body).startswith("the body is not valid gzip data: ")
    status, _, body = post(conn, gzip.compress(b"\0" * 1_000_000), headers={"Content-Encoding": "gzip"})
    assert status == 413 and "decompressed body larger than max_request_body_size" in status_message(body)
    status, _, body = post(conn, b"{}", headers={"Content-Type": "text/plain"})
    assert status == 415 and "unsupported content type 'text/plain'" in status_message(body)
    status, _, _ = post(conn, b"", path="/v1/unknown")
    assert status == 404
    conn.request("GET", "/v1/traces")
    response = conn.getresponse()
    response.read()
    assert response.status == 405 and response.getheader("Allow") == "POST"
    conn.close()

    big = http.client.HTTPConnection("127.0.0.1", otlpd.http_port(), timeout=30)
    assert post(big, b"\0" * 200_000)[0] == 413
    assert otlpd.stop() == 0
    spans = [s for r in read_json_lines(out) for rs in r["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert sorted(s["traceId"][:2] for s in spans) == ["01"] * 3 + ["02"] * 4
    assert "traces: accepted 7 spans, refused 0; refused 0 requests before decoding, rejected 1 malformed" in otlpd.log()


def test_a_stalled_client_does_not_block_others(start_otlpd, tmp_path):
    otlpd = start_otlpd(file_pipeline_config(tmp_path / "out.jsonl", signals=("traces",), grpc_extra=HTTP))
    port = otlpd.http_port()
    stalled = socket.create_connection(("127.0.0.1", port))
    stalled.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                    b"Content-Length: 1000\r\n\r\npartial")  # and never the rest
    garbage = socket.create_connection(("127.0.0.1", port))
    garbage.sendall(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
    assert garbage.recv(100).startswith(b"HTTP/1.1 400")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    assert post(conn, request_with_spans(2).SerializeToString())[0] == 200
    stalled.close()
    garbage.close()
    assert otlpd.stop() == 0


def test_random_bytes_and_truncated_requests_never_crash_it(start_otlpd, tmp_path):
    import random

    otlpd = start_otlpd(file_pipeline_config(tmp_path / "out.jsonl", signals=("traces",), grpc_extra=HTTP))
    port = otlpd.http_port()
    rng = random.Random(5)
    valid = (b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
             b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n")
    body = gzip.compress(request_with_spans(3).SerializeToString())
    for i in range(300):
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.settimeout(10)
            if i % 3 == 0:  # random bytes
                s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 2000))))
            else:  # a valid request, mutated or cut short
                data = bytearray(valid % len(body) + body)
                for _ in range(rng.randint(0, 4)):
                    data[rng.randrange(len(data))] = rng.getrandbits(8)
                s.sendall(bytes(data[: rng.randint(1, len(data))]))
            s.shutdown(socket.SHUT_WR)
            try:
                s.recv(4096)
            except OSError:
                pass
    assert otlpd.proc.poll() is None, "otlpd died"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    assert post(conn, request_with_spans(2).SerializeToString())[0] == 200
    assert otlpd.stop() == 0


FACTS_EXAMPLE = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {
    "stringValue": "todo"}}]}, "scopeSpans": [{"scope": {"name": "x"}, "spans": [{
    "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "GET /", "kind": 2,
    "startTimeUnixNano": "1544712660000000000", "endTimeUnixNano": "1544712661000000000"}]}]}]}


def post_json(conn, document, path="/v1/traces"):
    body = document if isinstance(document, (bytes, str)) else json.dumps(document)
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type"), response.read()


def test_json_bodies_in_every_form_clients_send(start_otlpd, tmp_path):
    out = tmp_path / "out.jsonl"
    otlpd = start_otlpd(file_pipeline_config(out, signals=("traces", "logs"), grpc_extra=HTTP))
    conn = http.client.HTTPConnection("127.0.0.1", otlpd.http_port(), timeout=30)

    assert post_json(conn, FACTS_EXAMPLE) == (200, "application/json", b"{}")
    lenient = {"resource_spans": [{"scope_spans": [{"spans": [{
        "trace_id": "0AF7651916CD43DD8448EB211C80319C", "span_id": "b7ad6b7169203331",
        "parent_span_id": "", "name": "lenient", "kind": "SPAN_KIND_CLIENT",
        "start_time_unix_nano": 1544712660000000000, "end_time_unix_nano": "1544712661000000000",
        "attributes": [{"key": "n", "value": {"intValue": 42}}, {"key": "s", "value": {"int_value": "7"}}],
        "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
        "some_future_field": {"nested": [1, 2, 3]}}]}]}], "unknownTopLevel": True}
    assert post_json(conn, lenient)[0] == 200
    logs = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": "1", "severityNumber": "SEVERITY_NUMBER_WARN",
                                                             "body": {"stringValue": "disk full"},
                                                             "traceId": "5b8efff798038103d269b633813fc60c"}]}]}]}
    assert post_json(conn, logs, path="/v1/logs")[0] == 200

    status, content_type, body = post_json(conn, {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz1"}]}]}]})
    assert status == 400 and content_type == "application/json"
    assert json.loads(body) == {"code": 3, "message": "field resourceSpans[0].scopeSpans[0].spans[0].traceId: "
                                                      "'xyz1' is not a hex id"}
    status, _, body = post_json(conn, {"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "0102"}]}]}]})
    assert status == 400 and "spans[0].spanId: must be 8 bytes or empty, got 2" in json.loads(body)["message"]
    status, _, body = post_json(conn, b'{"resourceSpans": [')
    assert status == 400 and json.loads(body)["message"].startswith("invalid JSON")
    status, _, body = post_json(conn, {"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": "SIDEWAYS"}]}]}]})
    assert status == 400 and json.loads(body)["message"] == ("field resourceSpans[0].scopeSpans[0].spans[0].kind: "
                                                             "'SIDEWAYS' is not a SpanKind value")
    assert otlpd.stop() == 0

    # One line per request, in the order the exporter's queue consumers wrote them (any).
    lines = read_json_lines(out)
    assert len(lines) == 3
    assert FACTS_EXAMPLE in lines  # JSON in, the same JSON out
    (lenient_out,) = [line for line in lines if "resourceSpans" in line and line != FACTS_EXAMPLE]
    logs = [line for line in lines if "resourceLogs" in line]
    span = lenient_out["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["traceId"] == "0af7651916cd43dd8448eb211c80319c" and span["kind"] == 3
    assert span["startTimeUnixNano"] == "1544712660000000000"
    assert span["attributes"] == [{"key": "n", "value": {"intValue": "42"}}, {"key": "s", "value": {"intValue": "7"}}]
    assert span["status"] == {"message": "boom", "code": 2}
    record = logs[0]["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    assert record["severityNumber"] == 13 and record["traceId"] == "5b8efff798038103d269b633813fc60c"


def test_zstd_bodies(start_otlpd, tmp_path):
    import subprocess

    otlpd = start_otlpd(file_pipeline_config(tmp_path / "out.jsonl", signals=("traces",), grpc_extra=HTTP))
    conn = http.client.HTTPConnection("127.0.0.1", otlpd.http_port(), timeout=30)
    zstd = lambda data: subprocess.run(["zstd", "-c", "-q"], input=data, capture_output=True, check=True).stdout
    assert post(conn, zstd(request_with_spans(5).SerializeToString()), headers={"Content-Encoding": "zstd"})[0] == 200
    status, _, body = post(conn, zstd(b"\0" * 1_000_000), headers={"Content-Encoding": "zstd"})
    assert status == 413
    status, _, body = post(conn, b"\x28\xb5\x2f\xfd garbage", headers={"Content-Encoding": "zstd"})
    assert status == 400 and status_message(body).startswith("the body is not valid zstd data: ")
    assert otlpd.stop() == 0
    assert "traces: accepted 5 spans" in otlpd.log()


def test_cors_preflight_and_allowed_origins(start_otlpd, tmp_path):
    cors = HTTP + ("\n        cors:\n          allowed_origins: [\"https://*.todo.example\", \"http://localhost:5000\"]"
                   "\n          allowed_headers: [X-Tenant]\n          max_age: 600")
    otlpd = start_otlpd(file_pipeline_config(tmp_path / "out.jsonl", signals=("traces",), grpc_extra=cors))
    conn = http.client.HTTPConnection("127.0.0.1", otlpd.http_port(), timeout=30)

    conn.request("OPTIONS", "/v1/traces", headers={"Origin": "https://app.todo.example",
                                                   "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "content-type,x-tenant"})
    r = conn.getresponse()
    r.read()
    assert r.status == 204
    assert r.getheader("Access-Control-Allow-Origin") == "https://app.todo.example"
    assert r.getheader("Access-Control-Allow-Methods") == "POST"
    assert "X-Tenant" in r.getheader("Access-Control-Allow-Headers")
    assert r.getheader("Access-Control-Max-Age") == "600"

    conn.request("OPTIONS", "/v1/traces", headers={"Origin": "https://evil.example",
                                                   "Access-Control-Request-Method": "POST"})
    r = conn.getresponse()
    r.read()
    assert r.status == 204 and r.getheader("Access-Control-Allow-Origin") is None

    status, headers, _ = post(conn, request_with_spans(1).SerializeToString(), headers={"Origin": "http://localhost:5000"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "http://localhost:5000"
    assert otlpd.stop() == 0


def test_full_pipeline_answers_503_with_retry_after(start_otlpd, tmp_path):
    import os

    fifo = tmp_path / "stalled.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # never read: the exporter stalls
    config = file_pipeline_config(fifo, signals=("traces",), grpc_extra=HTTP).replace(
        "    flush_interval: 50ms", "    flush_interval: 10ms\n    sending_queue: {queue_size: 1}")
    otlpd = start_otlpd(config)
    conn = http.client.HTTPConnection("127.0.0.1", otlpd.http_port(), timeout=30)
    for batch in range(200):
        status, headers, body = post(conn, request_with_spans(100, name_size=500, trace_byte=batch % 250 + 1).SerializeToString())
        if status != 200:
            break
    assert status == 503 and headers["Retry-After"] == "1"
    status_proto = status_pb2.Status.FromString(body)
    assert status_proto.code == 14 and "is full" in status_proto.message
    otlpd.kill()
    os.close(reader)


def test_expect_100_continue_is_answered_before_the_body(start_otlpd, tmp_path):
    otlpd = start_otlpd(file_pipeline_config(tmp_path / "out.jsonl", signals=("traces",), grpc_extra=HTTP))
    body = request_with_spans(50).SerializeToString()
    with socket.create_connection(("127.0.0.1", otlpd.http_port())) as s:
        s.settimeout(30)
        s.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                  b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"  # before any of the body was sent
        s.sendall(body)
        assert s.recv(100).startswith(b"HTTP/1.1 200 OK")
    assert otlpd.stop() == 0
    assert "traces: accepted 50 spans" in otlpd.log()


def test_error_messages_quoting_the_request_are_valid_utf8(start_otlpd, tmp_path):
    """Found by fuzz/fuzz_http_request.cpp: a path or content type of non-UTF-8 bytes was echoed
    into the google.rpc.Status message, which then was not valid protobuf for strict clients."""
    otlpd = start_otlpd(file_pipeline_config(tmp_path / "out.jsonl", signals=("traces",), grpc_extra=HTTP))
    sock = socket.create_connection(("127.0.0.1", otlpd.http_port()), timeout=30)
    sock.sendall(b"POST /v1/\xff\xfetraces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                 b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    response = b""
    while chunk := sock.recv(4096):
        response += chunk
    head, body = response.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 404")
    assert status_message(body) == "no OTLP endpoint at /v1/??traces"  # parses: valid UTF-8
    sock.close()
    assert otlpd.stop() == 0


def test_stops_promptly_while_clients_keep_sending(start_otlpd, tmp_path):
    """A CI run once waited the whole idle_timeout at shutdown: a response written just before
    the connections were closed re-armed the connection's idle timer. Clients now send on
    kept-alive connections right up to SIGTERM, and otlpd must exit well before idle_timeout."""
    import threading

    otlpd = start_otlpd(file_pipeline_config(tmp_path / "out.jsonl", signals=("traces",),
                                             grpc_extra=HTTP + "\n        idle_timeout: 300s"))
    port = otlpd.http_port()
    body = request_with_spans(1).SerializeToString()
    one = (b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    stop = threading.Event()
    answered = []

    def client():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                while not stop.is_set():
                    sock.sendall(one * 4)  # pipelined
                    data = b""
                    while data.count(b"HTTP/1.1 ") < 4:
                        chunk = sock.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    answered.append(1)
        except OSError:
            pass  # the server closed the connection: expected at shutdown

    threads = [threading.Thread(target=client) for _ in range(16)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(answered) < 200:  # all 16 clients are busy
        assert time.monotonic() < deadline
        time.sleep(0.01)
    started = time.monotonic()
    assert otlpd.stop(timeout=400) == 0
    assert time.monotonic() - started < 60  # well under idle_timeout (300 s)
    stop.set()
    for t in threads:
        t.join(timeout=30)


def tcp_queues(local_port, remote_port):
    """(tx_queue, rx_queue) of the IPv4 TCP socket 127.0.0.1:local_port <-> :remote_port, from
    /proc/net/tcp, or None if there is none."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, queues = fields[1], fields[2], fields[4]
            if int(local.split(":")[1], 16) == local_port and int(remote.split(":")[1], 16) == remote_port:
                tx, rx = queues.split(":")
                return int(tx, 16), int(rx, 16)
    return None


def wait_until(predicate, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.01)


def blocking_config():
    """handler_threads and the refusing port are filled in with %."""
    return """
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:0, handler_threads: %s}
exporters:
  otlp_http/stuck:
    endpoint: http://127.0.0.1:%d
    sending_queue: {queue_size: 1, num_consumers: 1, block_on_overflow: true}
    retry_on_failure: {initial_interval: 1s, max_interval: 1s}
  nop: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [otlp_http/stuck]}
    logs: {receivers: [otlp], exporters: [nop]}
"""


def refused_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: connecting to it is refused


def test_a_request_waiting_on_a_full_queue_holds_only_its_own_connection(start_otlpd):
    """A client whose request waits on the pipeline (block_on_overflow, a queue that cannot
    drain) must not stop the receiver from answering other clients. Whether the server has
    read the waiting request is read off the kernel's queues, so nothing depends on timing."""
    otlpd = start_otlpd(blocking_config() % (2, refused_port()))
    port = otlpd.http_port()
    traces = request_with_spans(1).SerializeToString()
    # One batch is being retried by the exporter's consumer, one fills the queue...
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    assert post(conn, traces)[0] == 200
    assert post(conn, traces)[0] == 200
    # ...and the third waits for room that never comes.
    waiting = socket.create_connection(("127.0.0.1", port))
    waiting.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(traces) + traces)
    client_port = waiting.getsockname()[1]
    wait_until(lambda: tcp_queues(client_port, port) == (0, 0), "the request left the client")
    wait_until(lambda: tcp_queues(port, client_port) == (0, 0), "otlpd read the request")
    # The waiting request has been read and is being handled: another client is answered.
    other = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    logs = logs_service_request()
    assert post(other, logs, path="/v1/logs")[0] == 200
    waiting.settimeout(0.0)
    try:
        assert waiting.recv(1) == b"", "the waiting request was answered: the test proved nothing"
    except BlockingIOError:
        pass  # still waiting, as it should
    # Stopping does not wait for room that never comes: the waiting request is refused as
    # retryable, and otlpd exits (it waited forever before).
    assert otlpd.stop(timeout=60) == 0
    waiting.settimeout(30)
    answer = waiting.recv(65536)
    assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
    waiting.close()


def logs_service_request():
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    request = logs_service_pb2.ExportLogsServiceRequest()
    request.resource_logs.add().scope_logs.add().log_records.add().body.string_value = "answered"
    return request.SerializeToString()
