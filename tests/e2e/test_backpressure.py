"""Overload with the real Python SDK while the exporter is slow: otlpd refuses with a
retryable status instead of dropping, the SDK retries, and every span is written exactly once."""
import logging
import os
import re
import threading

from conftest import read_json_lines
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

SPANS = 5000


class Refusals(logging.Handler):
    """Notices the SDK exporter's 'Transient error StatusCode.UNAVAILABLE ... retrying' log."""

    def __init__(self):
        super().__init__()
        self.seen = threading.Event()
        self.count = 0

    def emit(self, record):
        if "UNAVAILABLE" in record.getMessage() and "retrying" in record.getMessage():
            self.count += 1
            self.seen.set()


def test_overload_with_slow_exporter_loses_and_duplicates_nothing(start_otlpd, tmp_path):
    fifo = tmp_path / "slow-exporter.fifo"
    os.mkfifo(fifo)
    reader_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # nobody reads yet: the exporter stalls
    otlpd = start_otlpd(f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0"}}
processors:
  memory_limiter: {{check_interval: 100ms, limit_mib: 512}}
  batch: {{send_batch_size: 200, timeout: 10ms, max_pending_items: 400}}
exporters:
  file:
    path: {fifo}
    flush_interval: 10ms
    sending_queue: {{queue_size: 1}}
service:
  pipelines:
    traces: {{receivers: [otlp], processors: [memory_limiter, batch], exporters: [file]}}
""")
    refusals = Refusals()
    sdk_logger = logging.getLogger("opentelemetry.exporter.otlp.proto.grpc.exporter")
    sdk_logger.addHandler(refusals)
    provider = TracerProvider(resource=Resource.create({"service.name": "overload"}))
    provider.add_span_processor(BatchSpanProcessor(
        OTLPSpanExporter(endpoint=otlpd.endpoint, insecure=True, timeout=120),
        max_queue_size=SPANS * 2, max_export_batch_size=500, schedule_delay_millis=20))
    tracer = provider.get_tracer("overload")
    try:
        for i in range(SPANS):
            tracer.start_span(f"span-{i}", attributes={"i": i, "payload": "x" * 200}).end()

        flushed = []
        flusher = threading.Thread(target=lambda: flushed.append(provider.force_flush(300_000)))
        flusher.start()
        # Only once otlpd has pushed back does the slow exporter start to drain.
        assert refusals.seen.wait(120), "otlpd never answered UNAVAILABLE"
        os.set_blocking(reader_fd, True)
        chunks = []
        drainer = threading.Thread(target=lambda: [chunks.append(c) for c in iter(lambda: os.read(reader_fd, 1 << 16), b"")])
        drainer.start()
        flusher.join()
        assert flushed == [True], "the SDK could not deliver everything (it gave up retrying)"
    finally:
        provider.shutdown()
        sdk_logger.removeHandler(refusals)
    assert otlpd.stop() == 0
    drainer.join()
    os.close(reader_fd)

    out = tmp_path / "written.jsonl"
    out.write_bytes(b"".join(chunks))
    names = [s["name"] for r in read_json_lines(out) for rs in r["resourceSpans"]
             for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert len(names) == SPANS, f"{len(names)} spans written for {SPANS} sent"
    assert set(names) == {f"span-{i}" for i in range(SPANS)}  # each exactly once

    log = otlpd.log()
    m = re.search(r"traces: accepted (\d+) spans, refused (\d+); refused (\d+) requests before decoding", log)
    assert m and int(m.group(1)) == SPANS, log
    assert int(m.group(2)) + int(m.group(3)) > 0, "no refusal was counted"
    assert refusals.count >= 1
