"""TLS on both OTLP receivers (with the real SDK exporters as clients), and the HTTP
receiver's read_timeout / idle_timeout against slow and idle clients."""
import http.client
import socket
import ssl
import subprocess
import time

import grpc
import pytest
from conftest import read_json_lines
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from otlpd_process import Otlpd, otlpd_binary
from otlp_requests import request_with_spans


def make_cert(directory, name, issuer=None):
    """A certificate for localhost / 127.0.0.1 made by the openssl tool; self-signed, or signed by
    `issuer` (a (cert, key) pair)."""
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], check=True)
    san = "subjectAltName=DNS:localhost,IP:127.0.0.1"
    if issuer is None:
        subprocess.run(["openssl", "req", "-x509", "-new", "-key", key, "-out", cert, "-days", "2", "-subj",
                        f"/CN={name}", "-addext", san, "-addext", "basicConstraints=critical,CA:TRUE"],
                       check=True, capture_output=True)
    else:
        csr = directory / f"{name}.csr"
        subprocess.run(["openssl", "req", "-new", "-key", key, "-out", csr, "-subj", f"/CN={name}"],
                       check=True, capture_output=True)
        ext = directory / f"{name}.ext"
        ext.write_text(san + "\n")
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", issuer[0], "-CAkey", issuer[1],
                        "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext],
                       check=True, capture_output=True)
    return cert, key


def tls_config(out, cert, key, client_ca=None, http_extra=""):
    tls = f"""
        tls:
          cert_file: {cert}
          key_file: {key}""" + (f"\n          client_ca_file: {client_ca}" if client_ca else "")
    return f"""
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0{tls}
      http:
        endpoint: 127.0.0.1:0{tls}{http_extra}
exporters:
  file:
    path: {out}
    flush_interval: 50ms
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
"""


def send_span(exporter, name):
    provider = TracerProvider(resource=Resource.create({"service.name": "tls-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span(name):
        pass
    provider.shutdown()


def span_names(path):
    return sorted(s["name"] for r in read_json_lines(path) for rs in r["resourceSpans"]
                  for ss in rs["scopeSpans"] for s in ss["spans"])


def test_sdk_exporters_send_over_tls(start_otlpd, tmp_path, monkeypatch):
    # requests lets these override the exporter's own certificate_file (a requests quirk).
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    cert, key = make_cert(tmp_path, "server")
    out = tmp_path / "out.jsonl"
    otlpd = start_otlpd(tls_config(out, cert, key))
    assert "(TLS)" in otlpd.wait_for_log(r"OTLP/HTTP receiver listening on .*").group(0)

    send_span(HttpSpanExporter(endpoint=f"https://localhost:{otlpd.http_port()}/v1/traces",
                               certificate_file=str(cert)), "over-https")
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    send_span(GrpcSpanExporter(endpoint=f"localhost:{otlpd.grpc_port()}", insecure=False,
                               credentials=credentials), "over-grpc-tls")

    # Plain HTTP to the TLS port is not answered as HTTP; otlpd carries on.
    plain = socket.create_connection(("127.0.0.1", otlpd.http_port()), timeout=30)
    plain.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert not plain.recv(1000).startswith(b"HTTP/1.1")
    plain.close()
    # A client that does not trust the certificate gives up; the server is unaffected.
    with pytest.raises(ssl.SSLError):
        ssl.create_default_context().wrap_socket(
            socket.create_connection(("127.0.0.1", otlpd.http_port()), timeout=30), server_hostname="localhost")
    send_span(HttpSpanExporter(endpoint=f"https://localhost:{otlpd.http_port()}/v1/traces",
                               certificate_file=str(cert)), "after-bad-clients")
    assert otlpd.stop() == 0
    assert span_names(out) == ["after-bad-clients", "over-grpc-tls", "over-https"]


def test_min_version_1_3_is_kept_on_both_receivers(start_otlpd, tmp_path):
    cert, key = make_cert(tmp_path, "server")
    config = tls_config(tmp_path / "out.jsonl", cert, key).replace(
        f"key_file: {key}", f"key_file: {key}\n          min_version: \"1.3\"")
    otlpd = start_otlpd(config)
    for port in (otlpd.grpc_port(), otlpd.http_port()):
        # A client that speaks at most TLS 1.2 is refused.
        context = ssl.create_default_context(cafile=str(cert))
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(ssl.SSLError):
            context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30), server_hostname="localhost")
        # TLS 1.3 is served (over gRPC with ALPN h2, as gRPC clients ask).
        context = ssl.create_default_context(cafile=str(cert))
        context.set_alpn_protocols(["h2"] if port == otlpd.grpc_port() else ["http/1.1"])
        with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                                 server_hostname="localhost") as tls:
            assert tls.version() == "TLSv1.3"
            if port == otlpd.grpc_port():
                assert tls.selected_alpn_protocol() == "h2"
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    send_span(GrpcSpanExporter(endpoint=f"localhost:{otlpd.grpc_port()}", insecure=False,
                               credentials=credentials), "over-grpc-tls-1.3")
    assert otlpd.stop() == 0
    assert span_names(tmp_path / "out.jsonl") == ["over-grpc-tls-1.3"]


def test_client_certificates_are_required_with_client_ca_file(start_otlpd, tmp_path):
    ca = make_cert(tmp_path, "ca")
    server = make_cert(tmp_path, "server", issuer=ca)
    client = make_cert(tmp_path, "client", issuer=ca)
    stranger = make_cert(tmp_path, "stranger")  # not signed by the CA
    out = tmp_path / "out.jsonl"
    otlpd = start_otlpd(tls_config(out, *server, client_ca=ca[0]))
    body = request_with_spans(1, trace_byte=7).SerializeToString()

    def post(client_cert):
        context = ssl.create_default_context(cafile=str(ca[0]))
        if client_cert:
            context.load_cert_chain(*map(str, client_cert))
        conn = http.client.HTTPSConnection("localhost", otlpd.http_port(), context=context, timeout=30)
        conn.request("POST", "/v1/traces", body=body, headers={"Content-Type": "application/x-protobuf"})
        status = conn.getresponse().status
        conn.close()
        return status

    assert post(client) == 200
    for bad in (None, stranger):
        with pytest.raises((ssl.SSLError, ConnectionError)):
            post(bad)

    # gRPC: the same rule.
    def grpc_export(client_cert):
        kwargs = {"private_key": client_cert[1].read_bytes(), "certificate_chain": client_cert[0].read_bytes()} \
            if client_cert else {}
        channel = grpc.secure_channel(f"localhost:{otlpd.grpc_port()}",
                                      grpc.ssl_channel_credentials(root_certificates=ca[0].read_bytes(), **kwargs))
        export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        try:
            export(body, timeout=10)
            return grpc.StatusCode.OK
        except grpc.RpcError as e:
            return e.code()
        finally:
            channel.close()

    assert grpc_export(client) == grpc.StatusCode.OK
    assert grpc_export(None) == grpc.StatusCode.UNAVAILABLE
    assert otlpd.stop() == 0
    spans = [s for r in read_json_lines(out) for rs in r["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert len(spans) == 2  # one over HTTPS, one over gRPC, both with the client certificate


def test_tls_config_errors_are_clear(tmp_path):
    missing = tmp_path / "missing.crt"
    config = tmp_path / "bad.yaml"
    config.write_text(tls_config(tmp_path / "out.jsonl", missing, missing))
    result = subprocess.run([otlpd_binary(), "validate", "--config", config], capture_output=True, text=True)
    assert result.returncode != 0
    assert f"receivers::otlp::protocols::http::tls::cert_file: cannot read '{missing}'" in result.stderr
    assert f"receivers::otlp::protocols::grpc::tls::key_file: cannot read '{missing}'" in result.stderr

    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    config.write_text(tls_config(tmp_path / "out.jsonl", not_pem, not_pem))
    otlpd = Otlpd(tmp_path, args=["--config", str(config)])
    try:
        assert otlpd.proc.wait(timeout=60) != 0
    finally:
        otlpd.kill()
    assert "TLS: cannot" in otlpd.log() and str(not_pem) in otlpd.log()


HTTP_TIMEOUTS = "\n        read_timeout: 1s\n        idle_timeout: 2s"


def wait_closed(sock, timeout=30):
    """Reads until the peer closes; returns what arrived. Fails if it stays open `timeout` s."""
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def test_slow_and_idle_clients_are_cut_off(start_otlpd, tmp_path):
    out = tmp_path / "out.jsonl"
    config = f"""
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0{HTTP_TIMEOUTS}
exporters:
  file:
    path: {out}
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
"""
    otlpd = start_otlpd(config)
    port = otlpd.http_port()
    head = (b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Length: 1000\r\n\r\n")

    stuck = socket.create_connection(("127.0.0.1", port))
    stuck.sendall(head + b"partial")  # and never the rest
    # A slowloris: a byte at a time, each well within the timeout, the whole request never.
    trickle = socket.create_connection(("127.0.0.1", port))
    started = time.monotonic()
    trickle.settimeout(30)
    closed = False
    for byte in head:
        try:
            trickle.sendall(bytes([byte]))
        except OSError:
            closed = True
            break
        time.sleep(0.2)
        if time.monotonic() - started > 20:
            break
    assert closed or wait_closed(trickle, timeout=5) == b""
    # The cut-off came from read_timeout (1 s), not from the end of the bytes to send.
    assert time.monotonic() - started < 15
    assert wait_closed(stuck) == b""

    # Someone else is served meanwhile and afterwards; an idle kept-alive connection is closed.
    conn = socket.create_connection(("127.0.0.1", port))
    body = request_with_spans(2).SerializeToString()
    conn.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body)
    answer = wait_closed(conn)  # the answer, then the close after idle_timeout
    assert answer.startswith(b"HTTP/1.1 200 OK")
    stuck.close()
    trickle.close()
    conn.close()
    assert otlpd.stop() == 0
    assert len(read_json_lines(out)) == 1
