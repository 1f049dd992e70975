"""The loadable modules (modules/loadable_module.h): libcurl, libthrift and gRPC's libraries are
mapped into otlpd only when an exporter needs them, and a missing module is a configuration
error. (otlpd receives OTLP/gRPC without gRPC's library: net/GrpcServer.)"""
import re
import shutil
import subprocess

from otlpd_process import otlpd_binary
from test_otlp_http_exporter import http_exporter_config

NOP_CONFIG = """
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:0"}
exporters:
  nop: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [nop]}
"""

THRIFT_CONFIG = """
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:0"}
exporters:
  jaeger: {protocol: thrift_http, endpoint: "http://127.0.0.1:1/api/traces"}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [jaeger]}
"""

GRPC_CONFIG = """
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:0"}
exporters:
  otlp: {endpoint: "127.0.0.1:1", tls: {insecure: true}}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [otlp]}
"""

# The libraries (and modules) that only some exporters need, by the start of the file name.
# Of Abseil, otlpd itself maps only the trace store's flat hash map (libabsl_raw_hash_set and
# the libabsl_raw_logging_internal it needs, 14 KB each); gRPC's library brings the rest.
OPTIONAL_LIBRARY = re.compile(
    r"/(libcurl|libthrift|libgnutls|libkrb5|libgrpc|libgrpc\+\+|libabsl_(?!raw_hash_set\.|raw_logging_internal\.)[a-z_]+"
    r"|http_curl|jaeger_thrift_encoder|grpc_client)[-.][^/]*$")
GRPC_LIBRARIES = {"libgrpc", "libgrpc++", "grpc_client"}


def mapped_optional_libraries(pid):
    with open(f"/proc/{pid}/maps") as maps:
        return {m.group(1) for m in map(OPTIONAL_LIBRARY.search, maps.read().splitlines()) if m}


def test_libcurl_libthrift_and_grpc_are_loaded_only_by_the_exporters_that_need_them(start_otlpd):
    from test_otlp_http_exporter import send
    nop = start_otlpd(NOP_CONFIG)
    send(nop, batches=2, spans=3)  # served over gRPC (by grpcio), without gRPC's library
    assert mapped_optional_libraries(nop.proc.pid) == set()
    assert nop.stop() == 0, nop.log()

    grpc = start_otlpd(GRPC_CONFIG)
    grpc.wait_for_log(r"otlpd .* started")
    assert GRPC_LIBRARIES <= mapped_optional_libraries(grpc.proc.pid)
    assert not {"libcurl", "http_curl"} & mapped_optional_libraries(grpc.proc.pid)
    assert grpc.stop() == 0, grpc.log()

    http = start_otlpd(http_exporter_config("http://127.0.0.1:1"))
    http.wait_for_log(r"otlpd .* started")
    assert {"libcurl", "http_curl"} <= mapped_optional_libraries(http.proc.pid)
    assert not {"libthrift", "jaeger_thrift_encoder"} & mapped_optional_libraries(http.proc.pid)
    assert http.stop() == 0, http.log()

    thrift = start_otlpd(THRIFT_CONFIG)
    thrift.wait_for_log(r"otlpd .* started")
    assert {"libcurl", "http_curl", "libthrift", "jaeger_thrift_encoder"} <= mapped_optional_libraries(thrift.proc.pid)
    assert thrift.stop() == 0, thrift.log()


def test_a_missing_module_is_a_configuration_error(tmp_path):
    # otlpd copied where no lib/otlpd is beside it: the modules are missing.
    (tmp_path / "bin").mkdir()
    lonely = tmp_path / "bin" / "otlpd"
    shutil.copy(otlpd_binary(), lonely)
    configs = {"nop": NOP_CONFIG, "http": http_exporter_config("http://127.0.0.1:1"), "thrift": THRIFT_CONFIG,
               "grpc": GRPC_CONFIG}
    results = {}
    for name, text in configs.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        results[name] = subprocess.run([str(lonely), "validate", "--config", str(path)], capture_output=True,
                                       text=True, timeout=60)
    assert results["nop"].returncode == 0, results["nop"].stderr
    modules = tmp_path / "lib" / "otlpd"
    assert results["http"].returncode == 1
    assert (f"exporters::otlphttp: an HTTP exporter needs the module {modules}/http_curl.so, which is not installed"
            in results["http"].stderr)
    assert results["thrift"].returncode == 1
    assert "invalid configuration (2 errors)" in results["thrift"].stderr
    assert f"exporters::jaeger: an HTTP exporter needs the module {modules}/http_curl.so" in results["thrift"].stderr
    assert (f"exporters::jaeger: protocol thrift_http needs the module {modules}/jaeger_thrift_encoder.so"
            in results["thrift"].stderr)
    assert results["grpc"].returncode == 1
    assert (f"exporters::otlp: a gRPC exporter needs the module {modules}/grpc_client.so, which is not installed"
            in results["grpc"].stderr)
    # Running is refused the same way, before anything starts.
    run = subprocess.run([str(lonely), "--config", str(tmp_path / "http.yaml")], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 1 and "http_curl.so, which is not installed" in run.stderr


def test_thrift_http_posts_jaeger_batches_through_both_modules(start_otlpd):
    from peers import HttpBackend
    from test_otlp_http_exporter import send

    backend = HttpBackend(lambda *_: (202, {}, b""))
    try:
        otlpd = start_otlpd(THRIFT_CONFIG.replace("http://127.0.0.1:1/api/traces", backend.url + "/api/traces"))
        send(otlpd, batches=2, spans=5)
        assert otlpd.stop() == 0, otlpd.log()
    finally:
        backend.stop()
    assert backend.posts
    for path, headers, body in backend.posts:
        assert path == "/api/traces"
        assert headers["Content-Type"] == "application/x-thrift"
        # TBinaryProtocol: a Batch starts with field 1, the Process struct (type 12).
        assert body[:3] == b"\x0c\x00\x01"
