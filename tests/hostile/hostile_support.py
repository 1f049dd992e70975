"""What the hostile-input tests share: an otlpd set up as a user would run it, a real SDK
client that keeps sending the whole time and remembers what was acknowledged, the payloads
(compression bombs of every encoding), and peak-RSS readings."""
import json
import os
import threading
import time
import zlib
from functools import lru_cache

import cramjam
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

MIB = 1 << 20
GRPC_LIMIT = 4 * MIB    # max_recv_msg_size_mib's default
HTTP_LIMIT = 20 * MIB   # max_request_body_size's default
MEMORY_LIMIT_MIB = 256

CONFIG = f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0"}}
      http: {{endpoint: "127.0.0.1:0", read_timeout: 2s}}
processors:
  memory_limiter: {{check_interval: 100ms, limit_mib: {MEMORY_LIMIT_MIB}, spike_limit_mib: 64}}
exporters:
  file: {{path: "{{out}}"}}
service:
  pipelines:
    traces: {{receivers: [otlp], processors: [memory_limiter], exporters: [file]}}
"""


def start(start_otlpd, tmp_path):
    out = tmp_path / "out.jsonl"
    otlpd = start_otlpd(CONFIG.replace("{out}", str(out)))
    return otlpd, out


def status_kib(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def peak_rss_mib(otlpd):
    return status_kib(otlpd.proc.pid, "VmHWM") / 1024


def rss_mib(otlpd):
    return status_kib(otlpd.proc.pid, "VmRSS") / 1024


def sanitized(otlpd):
    """ASan's allocator keeps freed memory in quarantine: RSS bounds only hold for the release build."""
    return "libasan" in open(f"/proc/{otlpd.proc.pid}/maps").read()


def report(probe, **figures):
    """With OTLPD_HOSTILE_REPORT set, appends one JSON line per probe (for the README's table)."""
    path = os.environ.get("OTLPD_HOSTILE_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"probe": probe, **figures}) + "\n")


class CountingExporter(OTLPSpanExporter):
    """The SDK's OTLP/gRPC exporter, remembering the span ids of every acknowledged export."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.acknowledged = set()
        self.failed = 0

    def export(self, spans):
        result = super().export(spans)
        if result == SpanExportResult.SUCCESS:
            self.acknowledged.update(format(s.context.span_id, "016x") for s in spans)
        else:
            self.failed += len(spans)
        return result


class GoodClient:
    """A real OpenTelemetry SDK (BatchSpanProcessor, OTLP/gRPC exporter) sending spans to otlpd
    from its own thread until stop()."""

    def __init__(self, endpoint):
        self.exporter = CountingExporter(endpoint=endpoint, insecure=True, timeout=30)
        self.provider = TracerProvider(resource=Resource.create({"service.name": "good-client"}))
        self.provider.add_span_processor(BatchSpanProcessor(self.exporter, schedule_delay_millis=50))
        self.tracer = self.provider.get_tracer("hostile")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        n = 0
        while not self._stop.is_set():
            with self.tracer.start_as_current_span(f"good {n}"):
                pass
            n += 1
            time.sleep(0.002)

    def stop(self):
        self._stop.set()
        self._thread.join()
        assert self.provider.force_flush(60_000)
        self.provider.shutdown()
        return self.exporter.acknowledged


def check_nothing_acknowledged_was_lost(otlpd, out, acknowledged):
    assert otlpd.stop() == 0, otlpd.log()
    written = set()
    for line in out.read_text().splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                written.update(s["spanId"] for s in ss["spans"])
    assert len(acknowledged) > 100, "the good client hardly sent anything"
    missing = acknowledged - written
    assert not missing, f"{len(missing)} acknowledged spans were lost"


def _compress_zeros(compressor_factory, total):
    """`total` bytes of zeros through a streaming compressor, 16 MiB at a time."""
    compress, finish = compressor_factory()
    block = bytes(16 * MIB)
    parts = []
    left = total
    while left > 0:
        parts.append(compress(block[:min(left, len(block))]))
        left -= min(left, len(block))
    parts.append(finish())
    return b"".join(bytes(p) for p in parts)


def _zlib(wbits):
    def factory():
        c = zlib.compressobj(9, zlib.DEFLATED, wbits)
        return c.compress, c.flush
    return factory


def _cramjam(module):
    def factory():
        c = module.Compressor()  # keeps its output until finish()

        def compress(data):
            c.compress(data)
            return b""
        return compress, lambda: bytes(c.finish())
    return factory


# Name, compressor, how many zeros. Each bomb fits the gRPC limit compressed (4 MiB) and
# inflates to at least 16 times it: 1 GiB where the format's ratio allows (deflate's is
# about 1000:1), less for lz4 (about 250:1) and snappy (about 21:1).
BOMBS = {
    "gzip": (_zlib(16 + 15), 1024 * MIB),
    "deflate": (_zlib(15), 1024 * MIB),
    "zstd": (_cramjam(cramjam.zstd), 1024 * MIB),
    "lz4": (_cramjam(cramjam.lz4), 512 * MIB),
    "snappy": (_cramjam(cramjam.snappy), 64 * MIB),
}


@lru_cache(maxsize=None)
def bomb(encoding):
    factory, size = BOMBS[encoding]
    data = _compress_zeros(factory, size)
    assert len(data) < GRPC_LIMIT and size >= 16 * GRPC_LIMIT, (encoding, len(data))
    return data


def zstd_raw_block_frame(content: bytes) -> bytes:
    """A zstd frame whose one block is stored raw (RFC 8878 3.1.1): magic, a frame header
    (single segment, 1-byte content size), then a last raw block holding `content` as is."""
    assert len(content) < 256
    header = bytes([0x20, len(content)])
    block = ((len(content) << 3) | 1).to_bytes(3, "little")  # last block, type raw
    return b"\x28\xb5\x2f\xfd" + header + block + content
