"""SIGHUP reloads, good and bad, while a client sends steadily: everything otlpd acknowledged
reaches the file exporter's file (append: false, the default), which a reload must not
truncate, and the backend of a persistent queue."""
import json
import signal
import socket
import threading

import grpc
from otlp_requests import raw_export, request_with_spans
from otlp_sink import TraceSink


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(port, out, store, backend, flush="50ms", extra_receiver=""):
    return f"""
extensions:
  file_storage: {{directory: {store}, create_directory: true}}
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{port}"{extra_receiver}}}
exporters:
  file:
    path: {out}
    flush_interval: {flush}
  otlp:
    endpoint: {backend}
    tls: {{insecure: true}}
    retry_on_failure: {{initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 0s}}
    sending_queue: {{storage: file_storage}}
service:
  extensions: [file_storage]
  telemetry: {{metrics: {{level: none}}}}
  pipelines:
    traces: {{receivers: [otlp], exporters: [file, otlp]}}
"""


def spans_in_file(path):
    keys = []
    for line in path.read_text().splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                keys += [(s["traceId"], s["spanId"]) for s in ss["spans"]]
    return keys


def test_reloads_good_and_bad_lose_nothing_that_was_acknowledged(start_otlpd, tmp_path):
    port = free_port()
    out, store = tmp_path / "out.jsonl", tmp_path / "store"
    backend = TraceSink().start()
    good = config(port, out, store, backend.endpoint)
    o = start_otlpd(good)
    o.wait_for_log("started")

    acked, stop = [], threading.Event()

    def client():
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        batch = 0
        while not stop.is_set():
            batch += 1
            request = request_with_spans(5)
            for s in request.resource_spans[0].scope_spans[0].spans:
                s.trace_id = batch.to_bytes(16, "big")
            body = request.SerializeToString()
            while not stop.is_set():  # retried until acknowledged, as an SDK does
                code, _ = raw_export(channel, body, timeout=5)
                if code == grpc.StatusCode.OK:
                    acked.extend((batch.to_bytes(16, "big").hex(), (i + 1).to_bytes(8, "big").hex())
                                  for i in range(5))
                    break

    sender = threading.Thread(target=client)
    sender.start()
    steps = [
        ("unchanged", good),
        ("broken", good.replace("exporters:", "exporterz:")),
        ("file exporter changed", config(port, out, store, backend.endpoint, flush="20ms")),
        ("broken", good + "\n  bad: [\n"),
        ("receiver changed", config(port, out, store, backend.endpoint, flush="20ms",
                                    extra_receiver=", max_recv_msg_size_mib: 8")),
        ("unchanged", config(port, out, store, backend.endpoint, flush="20ms",
                             extra_receiver=", max_recv_msg_size_mib: 8")),
    ]
    try:
        for what, text in steps:
            start = len(o.lines)
            # Wait for traffic between reloads, so that every reload has data in flight.
            target = len(acked) + 200
            while len(acked) < target:
                stop.wait(0.01)
            o.config_path.write_text(text)
            o.proc.send_signal(signal.SIGHUP)
            if what == "broken":
                o.wait_for_log("reload failed, keeping the running configuration", start)
            else:
                m = o.wait_for_log(r"configuration reloaded(.*)", start)
                if what == "unchanged":
                    assert "kept running (configured as before): file, otlp" in m.group(1)
                elif what == "file exporter changed":
                    assert "kept running (configured as before): otlp" in m.group(1)
        target = len(acked) + 200
        while len(acked) < target:
            stop.wait(0.01)
    finally:
        stop.set()
        sender.join()
    assert o.stop() == 0
    assert len(acked) >= 1400
    in_file = spans_in_file(out)
    missing = set(acked) - set(in_file)
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged spans are not in the file"
    delivered = {(t.hex(), s.hex()) for t, s in backend.received()}
    # The persistent queue delivers what is left on the next start; here the backend was up.
    leftover = set(acked) - delivered
    if leftover:
        o2 = start_otlpd(good)
        assert backend.wait_for({(bytes.fromhex(t), bytes.fromhex(s)) for t, s in leftover}) == set()
        o2.stop()
    backend.stop()
