"""A legal request that can never fit (larger than an exporter's sending-queue budget, or than
the memory limit) gets a permanent answer naming the budget: gRPC RESOURCE_EXHAUSTED, HTTP
413. A budget that is only full for now stays retryable (UNAVAILABLE / 503). Issue 13, part 3."""
import grpc

from selfmetrics import http_status
from otlp_requests import raw_export, request_with_spans

CONFIG = """
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0", max_recv_msg_size_mib: 16}}
      http: {{endpoint: "127.0.0.1:0", max_request_body_size: 16777216}}
processors:
  memory_limiter: {{check_interval: 1s, limit_mib: {limit_mib}, spike_limit_mib: 1}}
exporters:
  file:
    path: {out}
    sending_queue: {{max_size_mib: 1}}
service:
  pipelines:
    traces: {{receivers: [otlp], processors: [{processors}], exporters: [file]}}
"""


def big_request():
    request = request_with_spans(1500, name_size=1000)  # about 1.5 MB: over 1 MiB
    assert request.ByteSize() > 1 << 20
    return request.SerializeToString()


def test_larger_than_the_sending_queue_budget(start_otlpd, tmp_path):
    out = tmp_path / "out.jsonl"
    otlpd = start_otlpd(CONFIG.format(out=out, limit_mib=4000, processors="memory_limiter"))
    code, details = raw_export(grpc.insecure_channel(otlpd.endpoint), big_request())
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details
    assert "larger than the sending queue of exporter file can ever hold (max_size_mib: 1048576 bytes)" in details
    status, body, _ = http_status(f"http://127.0.0.1:{otlpd.http_port()}/v1/traces", "POST", big_request(),
                                  {"Content-Type": "application/x-protobuf"})
    assert status == 413 and "max_size_mib" in body, (status, body)
    # What fits is still taken.
    assert raw_export(grpc.insecure_channel(otlpd.endpoint), request_with_spans(5).SerializeToString())[0] == grpc.StatusCode.OK
    assert otlpd.stop() == 0
    assert out.read_text().count('"spanId"') == 5


def test_a_receiver_limit_larger_than_the_pipeline_takes_is_warned_of_at_start(start_otlpd, tmp_path):
    otlpd = start_otlpd(CONFIG.format(out=tmp_path / "out.jsonl", limit_mib=4000, processors="memory_limiter"))
    otlpd.wait_for_log(r"protocols::grpc::max_recv_msg_size_mib \(16 MiB\) admits traces requests that the pipeline "
                       r"can never take, and that will get RESOURCE_EXHAUSTED: request of 16777216 bytes is larger than "
                       r"the sending queue of exporter file can ever hold \(max_size_mib: 1048576 bytes\)")
    otlpd.wait_for_log(r"protocols::http::max_request_body_size \(16777216 bytes\) admits traces requests that the "
                       r"pipeline can never take, and that will get 413")
    assert otlpd.stop() == 0
    # With a budget that takes the largest request, nothing is said.
    fits = start_otlpd(CONFIG.format(out=tmp_path / "fits.jsonl", limit_mib=4000, processors="memory_limiter")
                       .replace("max_size_mib: 1", "max_size_mib: 64"))
    fits.wait_for_log("otlpd .* started")
    assert fits.stop() == 0
    assert "can never take" not in fits.log()


def test_larger_than_the_memory_limit(start_otlpd, tmp_path):
    otlpd = start_otlpd(CONFIG.format(out=tmp_path / "out.jsonl", limit_mib=2, processors="memory_limiter")
                        .replace("max_size_mib: 1", "max_size_mib: 64"))
    code, details = raw_export(grpc.insecure_channel(otlpd.endpoint), request_with_spans(1500, name_size=1000).SerializeToString())
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details
    assert "can never fit under the memory_limiter's soft limit of 1 MiB" in details
    assert otlpd.stop() == 0
