"""The To-Do demo end to end: scripts/demo.sh starts otlpd and the Flask app under
opentelemetry-instrument; headless Chromium (Debian's, driven by playwright-core) opens the
page, adds a task and deletes it; Ctrl+C stops both. Then: what did otlpd receive?"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE / "screenshots"
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from otlpd_process import free_port  # noqa: E402 (the e2e tests' port picker)


class Demo:
    """scripts/demo.sh in a process group of its own, as in a terminal: Ctrl+C is SIGINT to it."""

    def __init__(self, tmp_path, name, ports=None):
        self.ports = ports or {"DEMO_APP_PORT": free_port(), "DEMO_GRPC_PORT": free_port(),
                               "DEMO_HTTP_PORT": free_port(), "DEMO_VIEWER_PORT": free_port(),
                               "DEMO_METRICS_PORT": free_port(), "DEMO_HEALTH_PORT": free_port()}
        self.output = tmp_path / name
        self.output.mkdir()
        self.log_path = self.output / "demo.log"
        env = {**os.environ, **{k: str(v) for k, v in self.ports.items()},
               "DEMO_OUTPUT_DIR": str(self.output), "TODO_DATABASE": str(tmp_path / "todo.db"),
               "OTLPD_BIN": os.environ["OTLPD_BIN"]}
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([ROOT / "scripts" / "demo.sh"], cwd=ROOT, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.ports['DEMO_APP_PORT']}/"

    def wait_ready(self, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "demo.sh exited early:\n" + self.output_text()
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the To-Do app never answered:\n" + self.output_text())

    def ctrl_c(self, timeout=60):
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            self.log.close()
        return code

    def kill(self):
        """After a failure: the whole group, and otlpd (which runs in a session of its own)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        subprocess.run(["pkill", "-KILL", "-f", f"otlpd --config demo/otlpd-demo.yaml"], check=False)
        if not self.log.closed:
            self.log.close()

    def output_text(self):
        return self.log_path.read_text(errors="replace")

    def telemetry(self):
        return [json.loads(line) for line in (self.output / "telemetry.jsonl").read_text().splitlines() if line]


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def attrs(item):
    return {a["key"]: next(iter(a["value"].values()), None) for a in item.get("attributes", [])}


@pytest.fixture
def demo(tmp_path):
    started = []

    def start(name, ports=None):
        d = Demo(tmp_path, name, ports)
        started.append(d)
        return d

    yield start
    for d in started:
        d.kill()


def test_todo_demo_in_a_browser(demo):
    SCREENSHOTS.mkdir(exist_ok=True)
    first = demo("first")
    first.wait_ready()
    title = "buy milk for the otlpd demo"
    drive = subprocess.run(["node", HERE / "drive_todo.mjs", first.url, SCREENSHOTS, title], cwd=HERE,
                           capture_output=True, text=True, timeout=120)
    assert drive.returncode == 0, drive.stderr
    page = json.loads(drive.stdout.strip().splitlines()[-1])
    assert page == {"opened": 200, "added": title, "remaining": []}
    for shot in ("1-opened.png", "2-added.png", "3-deleted.png"):
        assert (SCREENSHOTS / shot).stat().st_size > 1000

    # Ctrl+C: the app exits (its SDK exports what it still holds), then otlpd drains and exits.
    assert first.ctrl_c() in (0, 130)
    for port in first.ports.values():
        assert not listening(port), f"port {port} is still open after Ctrl+C"
    out = first.output_text()
    assert "otlpd 0.1.0 started" in out and "stopping receivers and draining pipelines" in out

    requests = first.telemetry()
    spans = [(rs["resource"], s) for r in requests for rs in r.get("resourceSpans", [])
             for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert all(attrs(resource)["service.name"] == "todo" for resource, _ in spans)
    by_name = {}
    for _, s in spans:
        by_name.setdefault(s["name"], []).append(s)

    # The SERVER spans of the three requests the browser made, with their routes and statuses.
    server = {name: by_name[name] for name in ("GET /", "POST /add", "GET /delete/<int:task_id>")}
    for name, route, status in (("GET /", "/", "200"), ("POST /add", "/add", "302"),
                                ("GET /delete/<int:task_id>", "/delete/<int:task_id>", "302")):
        for s in server[name]:
            assert s["kind"] == 2  # SPAN_KIND_SERVER
            a = attrs(s)
            assert a["http.route"] == route and a["http.status_code"] == status, a
            assert "parentSpanId" not in s or not s["parentSpanId"]
    add_span = server["POST /add"][0]
    assert attrs(add_span)["http.method"] == "POST" and attrs(add_span)["http.target"] == "/add"
    assert len(server["GET /"]) >= 3  # opened, after the redirect from /add, after the one from /delete

    # The manual spans are children of the request they served, in the same trace.
    (adding,) = by_name["adding_task"]
    assert adding["traceId"] == add_span["traceId"] and adding["parentSpanId"] == add_span["spanId"]
    assert attrs(adding)["todo.title"] == title
    (deleting,) = by_name["deleting_task"]
    delete_span = server["GET /delete/<int:task_id>"][0]
    assert deleting["traceId"] == delete_span["traceId"] and deleting["parentSpanId"] == delete_span["spanId"]
    assert deleting["traceId"] != adding["traceId"]
    get_span_ids = {s["spanId"]: s["traceId"] for s in server["GET /"]}
    assert len(by_name["querying_tasks"]) == len(server["GET /"])
    for q in by_name["querying_tasks"]:
        assert get_span_ids[q["parentSpanId"]] == q["traceId"]

    # The log records carry the trace and span of the request they were written in.
    records = [r for req in requests for rl in req.get("resourceLogs", []) for sl in rl["scopeLogs"]
               for r in sl["logRecords"]]
    added_log = [r for r in records if r["body"].get("stringValue", "").startswith("added task")]
    assert len(added_log) == 1 and title in added_log[0]["body"]["stringValue"]
    assert added_log[0]["traceId"] == add_span["traceId"] and added_log[0]["spanId"] == add_span["spanId"]
    assert added_log[0]["severityText"] == "INFO" and added_log[0]["severityNumber"] == 9
    deleted_log = [r for r in records if re.fullmatch(r"deleted task \d+", r["body"].get("stringValue", ""))]
    assert len(deleted_log) == 1 and deleted_log[0]["spanId"] == delete_span["spanId"]

    # The custom counter, and the Flask instrumentation's own metrics.
    points = {}
    for req in requests:
        for rm in req.get("resourceMetrics", []):
            for sm in rm["scopeMetrics"]:
                for m in sm["metrics"]:
                    for p in next(v for k, v in m.items() if k in ("sum", "gauge", "histogram"))["dataPoints"]:
                        points.setdefault(m["name"], []).append(p)
    assert points["tasks_added"][-1]["asInt"] == "1"  # cumulative: one task added
    assert "http.server.duration" in points

    # What otlpd printed: the console exporter's spans, as the walkthrough shows them.
    assert '"name": "POST /add"' in out and '"name": "adding_task"' in out
    assert f'"trace_id": "0x{add_span["traceId"]}"' in out

    # A second run on the same ports works: nothing was left behind by the first.
    second = demo("second", ports=first.ports)
    second.wait_ready()
    with urllib.request.urlopen(second.url, timeout=10) as r:
        assert r.status == 200 and b"Nothing to do." in r.read()
    assert second.ctrl_c() in (0, 130)
    assert not any(listening(port) for port in second.ports.values())


def test_the_demo_configs_commented_exporters_are_valid(tmp_path):
    """The Jaeger and Elastic APM sections the walkthrough tells people to uncomment must work."""
    text = (ROOT / "demo" / "otlpd-demo.yaml").read_text()
    lines, out, commented = text.splitlines(), [], False
    for line in lines:
        m = re.match(r"^  # ((jaeger|otlp/elastic):.*|  .*)$", line)
        if re.match(r"^  # (jaeger|otlp/elastic):", line):
            commented = True
        elif not m or not line.strip("# "):
            commented = False
        out.append("  " + m.group(1) if commented and m else line)
    config = "\n".join(out).replace("exporters: [console, file]", "exporters: [console, file, otlp/elastic]")
    config = config.replace("exporters: [console, file, trace_store]", "exporters: [console, file, trace_store, jaeger, otlp/elastic]")
    assert "\n  jaeger:\n    protocol: otlp_grpc" in config and "\n  otlp/elastic:\n    endpoint: https://" in config
    path = tmp_path / "uncommented.yaml"
    path.write_text(config)
    result = subprocess.run([os.environ["OTLPD_BIN"], "validate", "--config", path], capture_output=True, text=True,
                            env={**os.environ, "ELASTIC_APM_SECRET_TOKEN": "secret"})
    assert result.returncode == 0, result.stderr
