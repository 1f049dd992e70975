"""Bad input gets a clear error and never disturbs other clients."""
import os
import random
import re
import threading

import grpc
from conftest import read_json_lines
from otlp_requests import raw_export, request_with_spans
from otlpd_process import file_pipeline_config


def test_malformed_truncated_and_oversized_requests_are_refused_clearly(start_otlpd, tmp_path):
    out = tmp_path / "out.jsonl"
    otlpd = start_otlpd(file_pipeline_config(out, signals=("traces",),
                                             grpc_extra="        max_recv_msg_size_mib: 1"))
    channel = grpc.insecure_channel(otlpd.endpoint, options=[("grpc.max_send_message_length", 64 << 20)])

    # A well-behaved client keeps sending the whole time; every one of its spans must arrive.
    stop = threading.Event()
    good_sent = []

    def good_client():
        good_channel = grpc.insecure_channel(otlpd.endpoint)
        batch = 0
        while not stop.is_set() or batch < 5:
            code, details = raw_export(good_channel, request_with_spans(10, trace_byte=2 + batch % 200).SerializeToString())
            assert code == grpc.StatusCode.OK, details
            good_sent.append(batch)
            batch += 1

    worker = threading.Thread(target=good_client)
    worker.start()
    try:
        rng = random.Random(7)
        invalid_argument = 0
        for _ in range(200):
            body = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
            code, details = raw_export(channel, body)
            assert code in (grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT), (code, details)
            if code == grpc.StatusCode.INVALID_ARGUMENT:
                invalid_argument += 1
                assert details.startswith(("malformed ExportTraceServiceRequest", "field ")), details
        assert invalid_argument > 100

        valid = request_with_spans(20).SerializeToString()
        code, details = raw_export(channel, valid[: len(valid) // 2])
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "malformed ExportTraceServiceRequest" in details and "truncated request" in details

        bad_id = request_with_spans(3)
        bad_id.resource_spans[0].scope_spans[0].spans[2].trace_id = b"\x01" * 15
        code, details = raw_export(channel, bad_id.SerializeToString())
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert details == "field resource_spans[0].scope_spans[0].spans[2].trace_id: must be 16 bytes or empty, got 15"

        code, details = raw_export(channel, request_with_spans(1, name_size=2 << 20).SerializeToString())
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details

        code, _ = raw_export(channel, b"")
        assert code == grpc.StatusCode.OK  # an empty request is a success
    finally:
        stop.set()
        worker.join()

    assert otlpd.proc.poll() is None, "otlpd must still be running"
    assert otlpd.stop() == 0
    spans = [s for r in read_json_lines(out) for rs in r["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    good = [s for s in spans if s["name"] == "x" * 8 and s["traceId"] != "01" * 16]
    assert len(good) == 10 * len(good_sent)


def test_full_pipeline_answers_unavailable_and_loses_nothing_it_accepted(start_otlpd, tmp_path):
    """The file exporter writes into a FIFO nobody reads: the pipe, then the sending queue fill
    up, and the receiver must refuse with UNAVAILABLE (retryable). Everything it accepted is
    written exactly once when the reader catches up; nothing it refused is."""
    fifo = tmp_path / "spans.fifo"
    os.mkfifo(fifo)
    reader_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so otlpd's open() does not block
    config = file_pipeline_config(fifo, signals=("traces",)).replace(
        "    flush_interval: 50ms", "    flush_interval: 10ms\n    sending_queue: {queue_size: 2}")
    otlpd = start_otlpd(config)
    channel = grpc.insecure_channel(otlpd.endpoint)

    accepted, refused = [], []
    for batch in range(1, 400):
        code, details = raw_export(channel, request_with_spans(100, name_size=100, trace_byte=batch % 250 + 1).SerializeToString())
        if code == grpc.StatusCode.OK:
            accepted.append(batch)
        else:
            assert code == grpc.StatusCode.UNAVAILABLE, (code, details)
            assert "sending queue of exporter file is full" in details
            refused.append(batch)
            if len(refused) >= 3:
                break
    assert refused, "the receiver never pushed back"

    # Catch up: read everything while otlpd drains and stops.
    os.set_blocking(reader_fd, True)
    chunks = []
    drainer = threading.Thread(target=lambda: [chunks.append(c) for c in iter(lambda: os.read(reader_fd, 1 << 16), b"")])
    drainer.start()
    assert otlpd.stop() == 0
    drainer.join()
    os.close(reader_fd)
    written = tmp_path / "written.jsonl"
    written.write_bytes(b"".join(chunks))
    spans = [s for r in read_json_lines(written) for rs in r["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert len(spans) == 100 * len(accepted)
    log = otlpd.log()
    m = re.search(r"traces: accepted (\d+) spans, refused (\d+); refused (\d+) requests before decoding", log)
    assert m, log
    assert int(m.group(1)) == 100 * len(accepted)
    # Refused either before decoding (the queue was already full) or after (it filled meanwhile).
    assert int(m.group(2)) + 100 * int(m.group(3)) == 100 * len(refused)
    assert f"traces: sent {100 * len(accepted)} spans, failed 0" in log


def test_full_disk_keeps_whole_lines_and_keeps_serving(start_otlpd, tmp_path):
    """With the file size limit of the process at 200 KiB (write() then fails like on a full
    disk), the file keeps every whole batch that fits and no partial line, the error is logged
    with what was lost, and otlpd keeps accepting data."""
    out = tmp_path / "out.jsonl"
    console_out = tmp_path / "console.jsonl"
    config = file_pipeline_config(out, signals=("traces",), extra_exporter="file/second").replace(
        "  debug:\n", f"  file/second:\n    path: {console_out}\n  debug:\n")
    otlpd = start_otlpd(config, limits={"fsize": (200 * 1024, 200 * 1024)})
    channel = grpc.insecure_channel(otlpd.endpoint)
    for batch in range(40):
        code, details = raw_export(channel, request_with_spans(50, name_size=200, trace_byte=batch + 1).SerializeToString())
        assert code == grpc.StatusCode.OK, details
    assert otlpd.stop() == 0
    for path in (out, console_out):
        size = path.stat().st_size
        lines = read_json_lines(path)
        line_size = size // len(lines)
        assert 200 * 1024 - line_size < size <= 200 * 1024, "every batch that fits was kept"
        assert all(len(r["resourceSpans"][0]["scopeSpans"][0]["spans"]) == 50 for r in lines)
    log = otlpd.log()
    assert "File too large" in log and "lost" in log
    assert "traces: accepted 2000 spans, refused 0;" in log
