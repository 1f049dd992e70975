"""Running out of file descriptors must not stop a receiver for good (issue 13, first part):
with a low RLIMIT_NOFILE, connections beyond the limit make accept() fail with EMFILE; once
they are closed, the OTLP/HTTP receiver and the self-telemetry endpoint serve again. And at
start otlpd raises its soft limit to the hard one, as Go's runtime does for otelcol."""
import resource
import socket
import time

from otlpd_process import file_pipeline_config
from selfmetrics import http_status
from test_bad_input import request_with_spans

HTTP = "      http:\n        endpoint: 127.0.0.1:0"


def limit_open_files(soft, hard):
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_soft_limit_is_raised_to_the_hard_limit(start_otlpd, tmp_path):
    otlpd = start_otlpd(file_pipeline_config(tmp_path / "out.jsonl", signals=("traces",)),
                        preexec_fn=limit_open_files(256, 4096))
    otlpd.wait_for_log("raised the soft limit from 256 to the hard limit 4096")
    limits = open(f"/proc/{otlpd.proc.pid}/limits").read()
    assert [line.split()[3:5] for line in limits.splitlines() if line.startswith("Max open files")] == [["4096", "4096"]]
    assert otlpd.stop() == 0


def test_http_endpoints_accept_again_after_descriptor_exhaustion(start_otlpd, tmp_path):
    out = tmp_path / "out.jsonl"
    otlpd = start_otlpd(file_pipeline_config(out, signals=("traces",), grpc_extra=HTTP),
                        preexec_fn=limit_open_files(64, 64))
    http_port, metrics_port = otlpd.http_port(), otlpd.metrics_port()
    mark = len(otlpd.lines)
    held = []
    try:
        # More connections than descriptors: the kernel completes them (backlog), otlpd's
        # accept() fails with EMFILE.
        for _ in range(150):
            held.append(socket.create_connection(("127.0.0.1", http_port), timeout=10))
        otlpd.wait_for_log(r"OTLP/HTTP receiver cannot accept connections on 127.0.0.1:\d+: Too many open files", start=mark)
    finally:
        for s in held:
            s.close()
    # Within 2 s of the connections closing, both serve again (otlpd first accepts and closes
    # the dead connections queued before ours: about 0.1 s in the release build).
    body = request_with_spans(3).SerializeToString()
    deadline = time.monotonic() + 2.0
    while True:
        try:
            status, _, _ = http_status(f"http://127.0.0.1:{http_port}/v1/traces", "POST", body,
                                       {"Content-Type": "application/x-protobuf"})
            if status == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "the OTLP/HTTP receiver did not accept again within 2 s"
        time.sleep(0.02)
    assert http_status(f"http://127.0.0.1:{metrics_port}/metrics")[0] == 200
    otlpd.wait_for_log(r"OTLP/HTTP receiver accepts connections on 127.0.0.1:\d+ again", start=mark)
    assert otlpd.stop() == 0
    assert "spans" in out.read_text()
