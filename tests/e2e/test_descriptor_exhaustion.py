"""Running out of file descriptors must not stop a receiver for good (issue 13): with a low
RLIMIT_NOFILE, connections beyond the limit make accept() fail with EMFILE; meanwhile
health_check names the receiver that cannot accept; once the connections are closed, both
OTLP receivers and the self-telemetry endpoint serve again. And at start otlpd raises its
soft limit to the hard one, as Go's runtime does for otelcol."""
import os
import socket
import time

import grpc
from otlp_requests import raw_export, request_with_spans
from otlpd_process import file_pipeline_config
from selfmetrics import http_status

HTTP = "      http:\n        endpoint: 127.0.0.1:0"


def test_soft_limit_is_raised_to_the_hard_limit(start_otlpd, tmp_path):
    otlpd = start_otlpd(file_pipeline_config(tmp_path / "out.jsonl", signals=("traces",)),
                        limits={"nofile": (256, 4096)})
    otlpd.wait_for_log("raised the soft limit from 256 to the hard limit 4096")
    limits = open(f"/proc/{otlpd.proc.pid}/limits").read()
    assert [line.split()[3:5] for line in limits.splitlines() if line.startswith("Max open files")] == [["4096", "4096"]]
    assert otlpd.stop() == 0


def socket_count(pid):
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:  # closed meanwhile
            pass
    return count


def wait_until(predicate, what, timeout=30.0):
    """Polls a condition; the timeout only bounds a failure, the test never waits for it."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def grpc_export_ok(endpoint):
    channel = grpc.insecure_channel(endpoint)
    try:
        return raw_export(channel, request_with_spans(2).SerializeToString(), timeout=1)[0] == grpc.StatusCode.OK
    finally:
        channel.close()


def test_receivers_accept_again_after_descriptor_exhaustion(start_otlpd, tmp_path):
    out = tmp_path / "out.jsonl"
    config = file_pipeline_config(out, signals=("traces",), grpc_extra=HTTP).replace(
        "service:", "extensions: {health_check: {endpoint: '127.0.0.1:0'}}\nservice:\n  extensions: [health_check]")
    otlpd = start_otlpd(config, limits={"nofile": (64, 64)})
    http_port, grpc_port, metrics_port = otlpd.http_port(), otlpd.grpc_port(), otlpd.metrics_port()
    health_port = int(otlpd.wait_for_log(r"extension health_check listening on [^\s]+:(\d+)").group(1))
    pid = otlpd.proc.pid
    # A connection to health_check, accepted before the descriptors run out (its request is
    # sent while they are out: health must say which receiver cannot accept).
    before = socket_count(pid)
    health = socket.create_connection(("127.0.0.1", health_port), timeout=10)
    wait_until(lambda: socket_count(pid) > before, "health_check did not accept")
    mark = len(otlpd.lines)
    held = []
    try:
        # More connections than descriptors: the kernel completes them (backlog), otlpd's
        # accept() fails with EMFILE, on the gRPC port, then on the HTTP port.
        for _ in range(150):
            held.append(socket.create_connection(("127.0.0.1", grpc_port), timeout=10))
        otlpd.wait_for_log(r"OTLP/gRPC receiver cannot accept connections on 127.0.0.1:\d+: Too many open files", start=mark)
        for _ in range(5):
            held.append(socket.create_connection(("127.0.0.1", http_port), timeout=10))
        otlpd.wait_for_log(r"OTLP/HTTP receiver cannot accept connections on 127.0.0.1:\d+: Too many open files", start=mark)
        health.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = health.recv(65536).decode()
        assert answer.startswith("HTTP/1.1 503 "), answer
        assert "receiver otlp" in answer and "cannot accept connections" in answer, answer
    finally:
        health.close()
        for s in held:
            s.close()
    # Within 2 s of the connections closing, both serve again (otlpd first accepts and closes
    # the dead connections queued before ours: about 0.1 s in the release build).
    body = request_with_spans(3).SerializeToString()
    deadline = time.monotonic() + 2.0

    def http_ok():
        try:
            return http_status(f"http://127.0.0.1:{http_port}/v1/traces", "POST", body,
                               {"Content-Type": "application/x-protobuf"})[0] == 200
        except OSError:
            return False

    while not (http_ok() and grpc_export_ok(otlpd.endpoint)):
        assert time.monotonic() < deadline, "the OTLP receivers did not accept again within 2 s"
        time.sleep(0.02)
    assert http_status(f"http://127.0.0.1:{metrics_port}/metrics")[0] == 200
    otlpd.wait_for_log(r"OTLP/HTTP receiver accepts connections on 127.0.0.1:\d+ again", start=mark)
    otlpd.wait_for_log(r"OTLP/gRPC receiver accepts connections on 127.0.0.1:\d+ again", start=mark)
    wait_until(lambda: http_status(f"http://127.0.0.1:{health_port}/")[0] == 200,
               "health stayed red: " + "\n".join(l for l in otlpd.lines if "accept" in l) + str(http_status(f"http://127.0.0.1:{health_port}/")))
    assert otlpd.stop() == 0
    assert "spans" in out.read_text()
