"""The command line, configuration handling and the default configuration, as a user meets them."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from conftest import read_json_lines
from otlpd_process import file_pipeline_config, otlpd_binary
from otlp_requests import raw_export, request_with_spans

import grpc


def run(*args, **kwargs):
    return subprocess.run([otlpd_binary(), *args], capture_output=True, text=True, timeout=60, **kwargs)


def test_version_help_and_components():
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("otlpd ")
    help_text = run("--help")
    assert help_text.returncode == 0
    for word in ("--config", "--set", "validate", "components"):
        assert word in help_text.stdout
    components = run("components")
    assert components.returncode == 0
    assert "receivers:\n  - otlp\n" in components.stdout
    assert "processors:\n  - batch\n  - memory_limiter\n" in components.stdout
    assert "exporters:\n  - debug\n  - console\n  - file\n  - nop\n  - otlp_grpc (alias otlp)\n  - otlp_http (alias otlphttp)\n  - jaeger\n" in components.stdout
    assert "extensions:\n  - health_check\n" in components.stdout


def test_validate_reports_every_mistake_with_its_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("""
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "localhost:99999"}
exporters:
  file: {path: out.jsonl, rotation: {max_megabytes: -1}}
  zipkin: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [file, missing]}
""")
    result = run("validate", "--config", str(bad))
    assert result.returncode == 1
    assert "invalid configuration (4 errors)" in result.stderr
    assert "receivers::otlp::protocols::grpc::endpoint: 'localhost:99999' is not host:port" in result.stderr
    assert "exporters::file::rotation::max_megabytes: must be > 0" in result.stderr
    assert "exporters::zipkin: unknown exporter type 'zipkin' (known types: debug, console, file, nop, otlp_grpc, otlp, otlp_http, otlphttp, jaeger, trace_store)" in result.stderr
    assert "service::pipelines::traces::exporters: references exporter 'missing'" in result.stderr
    # Running with it fails the same way, before binding anything.
    assert run("--config", str(bad)).returncode == 1

    broken_yaml = tmp_path / "broken.yaml"
    broken_yaml.write_text("receivers: [unclosed\n")
    result = run("validate", "--config", str(broken_yaml))
    assert result.returncode == 1 and "invalid YAML at line" in result.stderr

    good = tmp_path / "good.yaml"
    good.write_text(file_pipeline_config(tmp_path / "x.jsonl"))
    result = run("validate", "--config", str(good))
    assert result.returncode == 0 and "configuration is valid" in result.stdout


def test_configs_merge_env_is_expanded_and_set_overrides(start_otlpd, tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(file_pipeline_config("${env:OUT_DIR}/never.jsonl", signals=("traces",)))
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("exporters:\n  file:\n    path: ${env:OUT_DIR}/${env:OUT_NAME:-spans.jsonl}\n")
    otlpd = start_otlpd(None, args=["--config", str(base), "--config", str(overlay),
                                    "--set=exporters::file::flush_interval=10ms"],
                        env={"OUT_DIR": str(tmp_path)})
    code, details = raw_export(grpc.insecure_channel(otlpd.endpoint), request_with_spans(2).SerializeToString())
    assert code == grpc.StatusCode.OK, details
    assert otlpd.stop() == 0
    assert not (tmp_path / "never.jsonl").exists()
    assert len(read_json_lines(tmp_path / "spans.jsonl")[0]["resourceSpans"][0]["scopeSpans"][0]["spans"]) == 2


def test_default_config_prints_sdk_spans_to_the_console(start_otlpd, tmp_path):
    """The issue's acceptance scenario: an app run under opentelemetry-instrument with
    OTEL_SERVICE_NAME=todo sends to otlpd's embedded default config, and its spans show in
    otlpd's console in the Python SDK's shape."""
    otlpd = start_otlpd(None, args=["--set=receivers::otlp::protocols::grpc::endpoint=127.0.0.1:0"])
    otlpd.wait_for_log("running the embedded default configuration")
    app = tmp_path / "some_app.py"
    app.write_text("""
from opentelemetry import trace
tracer = trace.get_tracer("some_app")
with tracer.start_as_current_span("GET /", kind=trace.SpanKind.SERVER, attributes={"http.target": "/add"}):
    with tracer.start_as_current_span("adding_task"):
        pass
""")
    venv_bin = Path(sys.executable).parent
    env = {**os.environ, "OTEL_SERVICE_NAME": "todo", "OTEL_TRACES_EXPORTER": "otlp",
           "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://localhost:{otlpd.grpc_port()}",
           "PATH": f"{venv_bin}:{os.environ['PATH']}"}
    result = subprocess.run([str(venv_bin / "opentelemetry-instrument"), sys.executable, str(app)],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert otlpd.stop() == 0
    console = otlpd.stdout_path.read_text()
    decoder = json.JSONDecoder()
    spans, pos = [], 0
    while pos < len(console.rstrip()):
        obj, end = decoder.raw_decode(console, pos)
        spans.append(obj)
        pos = end + 1
    by_name = {s["name"]: s for s in spans}
    assert set(by_name) == {"GET /", "adding_task"}
    root, child = by_name["GET /"], by_name["adding_task"]
    assert root["kind"] == "SpanKind.SERVER" and root["parent_id"] is None
    assert root["attributes"] == {"http.target": "/add"}
    assert child["parent_id"] == root["context"]["span_id"]
    assert child["context"]["trace_id"] == root["context"]["trace_id"]
    assert root["resource"]["attributes"]["service.name"] == "todo"
    assert '"http.target": "/add"' in console  # what `grep http.target` finds


def test_sighup_reloads_the_configuration(start_otlpd, tmp_path):
    otlpd = start_otlpd(file_pipeline_config(tmp_path / "first.jsonl", signals=("traces",)))
    raw_export(grpc.insecure_channel(otlpd.endpoint), request_with_spans(1).SerializeToString())
    otlpd.config_path.write_text(file_pipeline_config(tmp_path / "second.jsonl", signals=("traces",)))
    mark = len(otlpd.lines)
    otlpd.proc.send_signal(signal.SIGHUP)
    otlpd.wait_for_log("configuration reloaded", start=mark)
    port = otlpd.grpc_port(start=mark)
    code, details = raw_export(grpc.insecure_channel(f"127.0.0.1:{port}"), request_with_spans(3).SerializeToString())
    assert code == grpc.StatusCode.OK, details
    assert otlpd.stop() == 0
    assert len(read_json_lines(tmp_path / "first.jsonl")) == 1
    assert len(read_json_lines(tmp_path / "second.jsonl")[0]["resourceSpans"][0]["scopeSpans"][0]["spans"]) == 3


def test_sighup_with_a_broken_config_keeps_running(start_otlpd, tmp_path):
    otlpd = start_otlpd(file_pipeline_config(tmp_path / "out.jsonl", signals=("traces",)))
    endpoint = otlpd.endpoint
    otlpd.config_path.write_text("exporters: {nope: {}}\n")
    mark = len(otlpd.lines)
    otlpd.proc.send_signal(signal.SIGHUP)
    otlpd.wait_for_log("reload failed, keeping the running configuration", start=mark)
    code, details = raw_export(grpc.insecure_channel(endpoint), request_with_spans(2).SerializeToString())
    assert code == grpc.StatusCode.OK, details
    assert otlpd.stop() == 0
    assert len(read_json_lines(tmp_path / "out.jsonl")) == 1


def test_debug_exporter_detailed_output(start_otlpd, tmp_path):
    config = file_pipeline_config(tmp_path / "out.jsonl", signals=("traces",), extra_exporter="debug").replace(
        "verbosity: basic", "verbosity: detailed")
    otlpd = start_otlpd(config)
    raw_export(grpc.insecure_channel(otlpd.endpoint), request_with_spans(2).SerializeToString())
    otlpd.wait_for_log(r'traces \{"resource spans": 1, "spans": 2\}')
    assert otlpd.stop() == 0
    log = otlpd.log()
    assert "Span #1\n    Trace ID       : " + "01" * 16 in log
    assert "    ID             : 0000000000000002\n    Name           : xxxxxxxx\n    Kind           : Server" in log


def test_example_configs_are_valid():
    root = Path(__file__).resolve().parents[2]
    examples = sorted((root / "examples").glob("*.yaml")) + [root / "packaging" / "config.yaml"]
    assert examples
    for example in examples:
        result = run("validate", "--config", str(example))
        assert result.returncode == 0, (example, result.stderr)
