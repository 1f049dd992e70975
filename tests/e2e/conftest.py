import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from otlpd_fixtures import start_otlpd  # noqa: E402,F401  (a fixture)


class Chain:
    """SDK -> front otlpd (batch -> otlp exporter) -> back otlpd (file exporter)."""

    def __init__(self, front, back):
        self.front, self.back = front, back

    @property
    def endpoint(self):
        return self.front.endpoint

    def stop(self):
        front = self.front.stop()  # drains into the back one first
        back = self.back.stop()
        return front or back

    def log(self):
        return self.back.log()


def chain_config(target, signals):
    pipelines = "\n".join(f"    {s}: {{receivers: [otlp], processors: [batch], exporters: [otlp]}}" for s in signals)
    return f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0"}}
processors:
  batch: {{timeout: 20ms}}
exporters:
  otlp:
    endpoint: {target}
    tls: {{insecure: true}}
    retry_on_failure: {{initial_interval: 100ms, max_interval: 500ms}}
service:
  pipelines:
{pipelines}
"""


def http_file_sink(out):
    """A real HTTP server that takes OTLP/HTTP JSON POSTs (any signal) and appends each body to
    a file as one line: what otlpd's file exporter would have written."""
    from peers import HttpBackend

    def write_line(_n, _path, headers, body):
        assert headers["Content-Type"] == "application/json" and b"\n" not in body
        with open(out, "ab") as f:
            f.write(body + b"\n")
        return 200, {"Content-Type": "application/json"}, b"{}"

    return HttpBackend(write_line)


class HttpChain:
    """SDK -> otlpd (batch -> otlp_http exporter, JSON) -> HttpFileSink."""

    def __init__(self, front, sink):
        self.front, self.sink = front, sink

    @property
    def endpoint(self):
        return self.front.endpoint

    def stop(self):
        code = self.front.stop()
        self.sink.stop()
        return code

    def log(self):
        return self.front.log()


@pytest.fixture(params=["direct", "via_otlp_grpc_exporter", "via_otlp_http_exporter_json",
                        "via_otlp_http_exporter_to_otlpd"])
def file_collector(request, start_otlpd):
    """file_collector(out, signals) -> something with .endpoint, .stop(), .log() that writes
    what it receives to `out` as OTLP/JSON: otlpd itself, or otlpd forwarding to a second
    otlpd over OTLP/gRPC (which then writes the file)."""
    from otlpd_process import file_pipeline_config

    def start(out, signals):
        if request.param == "via_otlp_http_exporter_json":
            sink = http_file_sink(out)
            config = chain_config(sink.url, signals).replace("  otlp:\n    endpoint:", "  otlphttp:\n    encoding: json\n    endpoint:")
            config = config.replace("    tls: {insecure: true}\n", "").replace("exporters: [otlp]", "exporters: [otlphttp]")
            return HttpChain(start_otlpd(config), sink)
        if request.param == "via_otlp_http_exporter_to_otlpd":
            back = start_otlpd(file_pipeline_config(out, signals=signals,
                                                    grpc_extra="      http:\n        endpoint: 127.0.0.1:0"))
            url = f"http://127.0.0.1:{back.http_port()}"
            config = chain_config(url, signals).replace("  otlp:\n    endpoint:", "  otlphttp:\n    endpoint:")
            config = config.replace("    tls: {insecure: true}\n", "").replace("exporters: [otlp]", "exporters: [otlphttp]")
            return Chain(start_otlpd(config), back)
        back = start_otlpd(file_pipeline_config(out, signals=signals))
        if request.param == "direct":
            return back
        return Chain(start_otlpd(chain_config(back.endpoint, signals)), back)

    return start


def read_json_lines(path):
    """Every line of an OTLP/JSON file; fails on a torn or invalid line."""
    text = Path(path).read_text()
    assert text == "" or text.endswith("\n"), "file does not end with a whole line"
    return [json.loads(line) for line in text.splitlines()]
