"""The health_check extension against real peers: 200 once the pipelines run; 503 naming the
exporter while a real backend is down for longer than recovery_duration, and 200 again once
it is back (with nothing lost); 503 after a failed reload, 200 after a good one."""
import json
import signal
import socket
import time

from conftest import read_json_lines
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from otlpd_process import file_pipeline_config
from selfmetrics import http_status
from test_self_telemetry import send_spans


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def health_config(backend_port, path="/", extra=""):
    return f"""
receivers:
  otlp: {{protocols: {{grpc: {{endpoint: "127.0.0.1:0"}}}}}}
exporters:
  otlp/backend:
    endpoint: 127.0.0.1:{backend_port}
    tls: {{insecure: true}}
    retry_on_failure: {{initial_interval: 100ms, max_interval: 200ms, max_elapsed_time: 0s}}
extensions:
  health_check:
    endpoint: 127.0.0.1:0
    path: {path}
    component_health: {{recovery_duration: 1s}}{extra}
service:
  extensions: [health_check]
  pipelines:
    traces: {{receivers: [otlp], exporters: [otlp/backend]}}
"""


def health_url(otlpd, start=0, path="/"):
    port = otlpd.wait_for_log(r"extension health_check listening on [^\s]+:(\d+)", start).group(1)
    return f"http://127.0.0.1:{port}{path}"


def wait_for_status(url, status, timeout=60):
    """Asks until the answer is `status`; the timeout only bounds a hung process."""
    deadline = time.monotonic() + timeout
    while True:
        code, body, headers = http_status(url)
        if code == status:
            return body, headers
        assert time.monotonic() < deadline, f"health stayed {code}: {body}"
        time.sleep(0.05)


def test_available_once_running_with_otelcols_answer(start_otlpd, tmp_path):
    otlpd = start_otlpd(health_config(free_port(), path="/health/"))
    otlpd.wait_for_log("otlpd .* started")
    url = health_url(otlpd, path="/health/")
    code, body, headers = http_status(url)
    assert code == 200 and headers["Content-Type"] == "application/json", body
    answer = json.loads(body)
    assert answer["status"] == "Server available"
    assert answer["upSince"].endswith("Z") and answer["uptime"].endswith("s")
    assert http_status(url + "anything/under")[0] == 200, "a path ending in / covers its subtree, as in otelcol"
    assert http_status(url.replace("/health/", "/other"))[0] == 404
    assert otlpd.stop() == 0


def test_a_backend_that_goes_down_and_comes_back(start_otlpd, tmp_path):
    backend_port = free_port()
    otlpd = start_otlpd(health_config(backend_port))
    otlpd.wait_for_log("otlpd .* started")
    url = health_url(otlpd)
    wait_for_status(url, 200)
    # Spans are accepted while the backend is down (they wait in the sending queue) ...
    assert send_spans(OTLPSpanExporter(endpoint=otlpd.endpoint, insecure=True), 7) == 7
    # ... and once the exporter has failed for longer than recovery_duration, health says so.
    body, _ = wait_for_status(url, 503)
    answer = json.loads(body)
    assert answer["status"] == "Server not available"
    [failing] = answer["components"]
    assert failing["component"] == "exporter otlp/backend"
    assert failing["status"] == "recoverable_error"
    assert f"127.0.0.1:{backend_port}" in failing["error"]
    # The backend comes back: a second otlpd on that port, writing a file.
    out = tmp_path / "backend.jsonl"
    backend = start_otlpd(file_pipeline_config(out, signals=("traces",)).replace("127.0.0.1:0", f"127.0.0.1:{backend_port}"))
    backend.wait_for_log("otlpd .* started")
    wait_for_status(url, 200)
    assert otlpd.stop() == 0 and backend.stop() == 0
    spans = [s for line in read_json_lines(out) for rs in line["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert len(spans) == 7, "every span accepted while the backend was down arrives"


def test_unavailable_after_a_failed_reload_until_a_good_one(start_otlpd, tmp_path):
    out = tmp_path / "out.jsonl"
    good = file_pipeline_config(out, signals=("traces",)).replace(
        "service:", "extensions: {health_check: {endpoint: '127.0.0.1:0'}}\nservice:\n  extensions: [health_check]")
    otlpd = start_otlpd(good)
    otlpd.wait_for_log("otlpd .* started")
    wait_for_status(health_url(otlpd), 200)
    otlpd.config_path.write_text(good.replace("file:", "zipkin:"))
    mark = len(otlpd.lines)
    otlpd.proc.send_signal(signal.SIGHUP)
    otlpd.wait_for_log("reload failed, keeping the running configuration", start=mark)
    body, _ = wait_for_status(health_url(otlpd), 503)
    answer = json.loads(body)
    assert answer["state"] == "reload_failed" and "unknown exporter type 'zipkin'" in answer["message"]
    assert answer["uptime"] != "", "still up, serving the previous configuration"
    otlpd.config_path.write_text(good)
    mark = len(otlpd.lines)
    otlpd.proc.send_signal(signal.SIGHUP)
    otlpd.wait_for_log("configuration reloaded", start=mark)
    wait_for_status(health_url(otlpd, start=mark), 200)
    assert otlpd.stop() == 0
