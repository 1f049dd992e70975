"""The persistent sending queue (file_storage + sending_queue::storage) with a real backend
(grpcio): what otlpd acknowledged survives restarts, a full disk, damaged files and a
removed exporter; two processes cannot share a queue."""
import os
from pathlib import Path

import grpc
from otlp_requests import raw_export, request_with_spans
from otlp_sink import TraceSink
from otlpd_process import free_port


def persistent_config(directory, backend, exporter="otlp", queue_extra="", storage_extra=""):
    return f"""
extensions:
  file_storage:
    directory: {directory}
    create_directory: true
{storage_extra}
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0"}}
exporters:
  {exporter}:
    endpoint: {backend}
    tls: {{insecure: true}}
    timeout: 2s
    retry_on_failure: {{initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 0s}}
    sending_queue: {{storage: file_storage{queue_extra}}}
service:
  extensions: [file_storage]
  telemetry: {{metrics: {{level: none}}}}
  pipelines:
    traces: {{receivers: [otlp], exporters: [{exporter}]}}
"""


def span_keys(request):
    return {(s.trace_id, s.span_id) for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans}


def send_batches(endpoint, count, first=1, spans=10):
    """Sends `count` requests; returns (span keys acknowledged, [(code, details)] of refusals)."""
    channel = grpc.insecure_channel(endpoint)
    acked, refused = set(), []
    for batch in range(first, first + count):
        request = request_with_spans(spans, trace_byte=batch % 256)
        for s in request.resource_spans[0].scope_spans[0].spans:
            s.trace_id = batch.to_bytes(16, "big")
        code, details = raw_export(channel, request.SerializeToString())
        if code == grpc.StatusCode.OK:
            acked |= span_keys(request)
        else:
            refused.append((code, details))
    channel.close()
    return acked, refused


def queue_dir(root, exporter="otlp"):
    """Named as otelcol names its storage files: exporter_<type>_<name>."""
    kind, _, name = exporter.partition("/")
    return Path(root) / f"exporter_{kind}_{name}"


def segments(root, exporter="otlp"):
    return sorted(queue_dir(root, exporter).glob("*.seg"))


def test_acknowledged_batches_survive_a_restart_and_a_kill(start_otlpd, tmp_path):
    backend = TraceSink(free_port())  # down for now
    store = tmp_path / "store"
    first = start_otlpd(persistent_config(store, backend.endpoint))
    acked, refused = send_batches(first.endpoint, 20)
    assert not refused and len(acked) == 200
    first.wait_for_log(r"export to .* failed: UNAVAILABLE")
    assert first.stop() == 0  # SIGTERM: nothing is drained into a dead backend, nothing dropped
    assert "20 batches (200 items) stay on disk for the next start" in first.log()

    second = start_otlpd(persistent_config(store, backend.endpoint))
    second.wait_for_log(r"20 batches \(200 items, \d+ bytes\) from the previous run are sent first")
    more, refused = send_batches(second.endpoint, 5, first=21)
    assert not refused
    acked |= more
    second.kill()  # SIGKILL: no shutdown at all

    backend.start()
    try:
        third = start_otlpd(persistent_config(store, backend.endpoint))
        assert backend.wait_for(acked) == set()
        third.stop()
        # Delivered records are removed and their space given back.
        assert segments(store) == []
    finally:
        backend.stop()


def test_a_full_queue_answers_unavailable_and_drops_nothing(start_otlpd, tmp_path):
    backend = TraceSink(free_port())
    store = tmp_path / "store"
    # The disk budget: 1 MiB of segment files. Requests of 2,000 spans are about 90 KB.
    o = start_otlpd(persistent_config(store, backend.endpoint, queue_extra=", max_size_mib: 1"))
    acked, refused = send_batches(o.endpoint, 30, spans=2000)
    assert refused, "the queue never filled"
    for code, details in refused:
        assert code == grpc.StatusCode.UNAVAILABLE, (code, details)
        assert "sending queue of exporter otlp is full" in details, details
    total = sum(p.stat().st_size for p in segments(store))
    assert total <= 1 << 20
    o.stop()
    backend.start()
    try:
        o = start_otlpd(persistent_config(store, backend.endpoint, queue_extra=", max_size_mib: 1"))
        assert backend.wait_for(acked) == set()
    finally:
        backend.stop()


def test_a_full_disk_answers_unavailable_and_keeps_what_was_acknowledged(start_otlpd, tmp_path):
    backend = TraceSink(free_port())
    store = tmp_path / "store"
    limit = 200_000  # RLIMIT_FSIZE: no file of otlpd's may grow beyond this (EFBIG, as a full disk)

    # Segments of 4 MiB (max_size_mib 32 / 8) would outgrow the limit: the disk "fills up".
    config = persistent_config(store, backend.endpoint, queue_extra=", max_size_mib: 32")
    o = start_otlpd(config, limits={"fsize": (limit, limit)})
    acked, refused = send_batches(o.endpoint, 40, spans=200)
    assert acked and refused
    for code, details in refused:
        assert code == grpc.StatusCode.UNAVAILABLE, (code, details)
        assert "File too large" in details, details
    assert all(p.stat().st_size <= limit for p in segments(store))
    o.stop()
    backend.start()
    try:
        o = start_otlpd(config)
        assert backend.wait_for(acked) == set()
        o.stop()
    finally:
        backend.stop()


def flip_byte(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


def test_damaged_files_are_skipped_counted_and_never_stop_delivery(start_otlpd, tmp_path):
    backend = TraceSink(free_port())
    store = tmp_path / "store"
    o = start_otlpd(persistent_config(store, backend.endpoint))
    acked, refused = send_batches(o.endpoint, 10, spans=10)
    assert not refused
    o.stop()
    [segment] = segments(store)
    data = segment.read_bytes()
    record = (len(data) - 32) // 10  # ten records of equal size after the 32-byte header
    # A bit flip in the third record's payload; a torn tail (half of the last record missing).
    flip_byte(segment, 32 + 2 * record + 100)
    with open(segment, "r+b") as f:
        f.truncate(len(data) - record // 2)
    # A segment written by a newer otlpd (format version 99) and a file of garbage.
    newer = bytearray(data[:32])
    newer[8:12] = (99).to_bytes(4, "little")
    import zlib
    newer[28:32] = zlib.crc32(bytes(newer[:28])).to_bytes(4, "little")
    (queue_dir(store) / "00000000000000ff.seg").write_bytes(bytes(newer) + data[32:])
    (queue_dir(store) / "0000000000000100.seg").write_bytes(os.urandom(5000))

    backend.start()
    try:
        o = start_otlpd(persistent_config(store, backend.endpoint))
        o.wait_for_log(r"holds 1 damaged record .*; it is skipped, the 8 intact records around them are kept")
        o.wait_for_log(r"cut \d+ bytes off the end of .*0000000000000001\.seg")
        o.wait_for_log(r"00000000000000ff\.seg cannot be read \(written in format version 99, newer than this "
                       r"otlpd's 1\); its \d+ bytes are skipped and the file was moved to .*\.unreadable")
        o.wait_for_log(r"0000000000000100\.seg cannot be read \(no segment magic\)")
        # Every intact record arrives: all but the damaged and the torn one.
        batch_keys = lambda b: {(b.to_bytes(16, "big"), (i + 1).to_bytes(8, "big")) for i in range(10)}
        intact = set().union(*(batch_keys(b) for b in (1, 2, 4, 5, 6, 7, 8, 9)))
        assert intact <= acked
        assert backend.wait_for(intact) == set()
        assert not (batch_keys(3) | batch_keys(10)) & backend.received()
        # otlpd goes on accepting and delivering.
        more, refused = send_batches(o.endpoint, 3, first=11)
        assert not refused and backend.wait_for(more) == set()
        assert o.stop() == 0
        assert sorted(p.name for p in queue_dir(store).glob("*.unreadable")) == [
            "00000000000000ff.seg.unreadable", "0000000000000100.seg.unreadable"]
    finally:
        backend.stop()


def test_two_processes_cannot_share_a_queue_directory(start_otlpd, tmp_path):
    store = tmp_path / "store"
    backend = f"127.0.0.1:{free_port()}"
    first = start_otlpd(persistent_config(store, backend))
    first.wait_for_log("started")
    second = start_otlpd(persistent_config(store, backend))
    assert second.proc.wait(timeout=30) == 1
    second.wait_for_log(rf"the queue directory {queue_dir(store)} is in use by another process \(pid "
                        rf"{first.proc.pid}\)")
    assert first.proc.poll() is None


def test_a_removed_exporter_keeps_its_queue_and_says_so(start_otlpd, tmp_path):
    store = tmp_path / "store"
    backend = TraceSink(free_port())
    o = start_otlpd(persistent_config(store, backend.endpoint, exporter="otlp/old"))
    acked, refused = send_batches(o.endpoint, 5)
    assert not refused
    o.stop()
    kept = segments(store, "otlp/old")
    assert kept
    # The same directory without that exporter: its data stays and is reported.
    o = start_otlpd(persistent_config(store, backend.endpoint, exporter="otlp/new"))
    o.wait_for_log(r"persistent queue .*/exporter_otlp_old: \d+ bytes of queued data \(1 segment file\) that no "
                   r"exporter of this configuration uses \(removed or renamed\): kept, not deleted")
    o.stop()
    assert segments(store, "otlp/old") == kept
    # Configured again, it delivers it.
    backend.start()
    try:
        o = start_otlpd(persistent_config(store, backend.endpoint, exporter="otlp/old"))
        assert backend.wait_for(acked) == set()
    finally:
        backend.stop()
