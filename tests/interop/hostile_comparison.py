#!/usr/bin/env python3
"""The hostile payloads of tests/hostile, sent to the real OpenTelemetry Collector's otlp
receiver and to otlpd's, side by side.

    .venv/bin/python tests/interop/hostile_comparison.py /tmp/table.md [--json /tmp/results.json]

Both collectors run the same configuration, with the receiver's default limits (gRPC
max_recv_msg_size_mib 4, HTTP max_request_body_size 20 MiB): otlp receiver (gRPC and HTTP on
127.0.0.1) -> memory_limiter (256 MiB, as tests/hostile) -> nop, self-telemetry off. The
binaries come from OTELCOL_BIN (default: bench/build_otelcol.sh, which builds otelcol v0.159.0
once) and OTLPD_BIN (default build/app/otlpd).

Probes (payloads and clients imported from tests/hostile: hostile_support.bomb, grpc_frames.call,
test_hostile.HTTP_ENCODING): a compression bomb of every encoding on both transports, unknown
encodings, a 4 GiB gRPC length prefix with the stream ending after 100 bytes, 10,000 headers on
both transports, a gRPC message cut short (plain and gzip), an HTTP Content-Length of 4 GiB
(100 bytes sent, then the client waits 10 s). Each probe runs against a fresh otelcol and a
fresh otlpd (Go keeps freed heap and reuses it without RSS growth, so a long-lived otelcol
would look better in later probes than it is). Recorded for each: the answer (gRPC status name
or HTTP status; "connection reset" when the connection ended without one, "no answer" when none
came within the probe's timeout), its message (grpc-message, google.rpc.Status message, or the
body's first line), the time to answer, the receiver process's peak RSS growth -- written "5"
to /proc/<pid>/clear_refs before the probe (VmHWM := VmRSS), then VmHWM after the probe minus
VmRSS before it (where clear_refs is refused: the growth of VmHWM, a lower bound) -- whether a
valid request on the same transport is served afterwards, and the exit code on SIGTERM.

Prints a Markdown table and writes it to the given path; --json writes the raw records."""
import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for sub in (HERE.parent / "e2e", HERE.parent / "hostile", HERE):
    if str(sub) not in sys.path:
        sys.path.insert(0, str(sub))

from google.protobuf.message import DecodeError  # noqa: E402
from google.rpc import status_pb2  # noqa: E402
import grpc_frames  # noqa: E402
from grpc_frames import grpc_frame  # noqa: E402
from hostile_support import GRPC_LIMIT, HTTP_LIMIT, MEMORY_LIMIT_MIB, MIB, bomb, status_kib  # noqa: E402
from otlp_requests import request_with_spans  # noqa: E402
from otlpd_process import Otlpd  # noqa: E402
from test_hostile import HTTP_ENCODING  # noqa: E402

import selftel  # noqa: E402

GRPC_STATUS = {0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
               5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
               9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED",
               13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED"}
BOMB_ENCODINGS = ["gzip", "deflate", "zstd", "lz4", "snappy"]
PROBE_TIMEOUT = 60.0
CONTENT_LENGTH_4GIB_WAIT = 10.0   # how long the client waits for an answer to a body that never comes


def pipeline(grpc_endpoint, http_endpoint):
    return f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "{grpc_endpoint}"}}
      http: {{endpoint: "{http_endpoint}"}}
processors:
  memory_limiter: {{check_interval: 100ms, limit_mib: {MEMORY_LIMIT_MIB}, spike_limit_mib: 64}}
exporters:
  nop: {{}}
service:
  telemetry:
    metrics: {{level: none}}
  pipelines:
    traces: {{receivers: [otlp], processors: [memory_limiter], exporters: [nop]}}
"""


# ---------------------------------------------------------------------------------------------
# Answers

def answer(transport, status, message="", seconds=0.0, kind="status"):
    """kind: "status" (a gRPC status or HTTP status line came), "goaway" (HTTP/2 closed the
    connection with an error code, in `status`), "reset" (the connection ended
    without one), "timeout" (nothing within the probe's timeout)."""
    return {"transport": transport, "kind": kind, "status": status, "message": message,
            "seconds": round(seconds, 3)}


def accepted(a):
    return a["kind"] == "status" and (a["status"] == "OK" if a["transport"] == "grpc" else 200 <= a["status"] < 300)


class _AnsweredEarly(ConnectionError):
    pass


def _send_body_then_stop(sock, conn, stream, body, end_stream, max_frame, answer):
    """grpc_frames.call with one correction for the time to answer: when the server answers
    while the client still waits for flow-control window (otelcol's gRPC server does so for an
    encoding it does not know, before reading the message), grpc_frames._send_body returns on
    the status and drops the end-of-stream event that came with it, so call() then waited for
    its whole timeout. Here the call ends as soon as the status is in (call() sees it as a
    connection error; grpc_probe reads the status, which is kept)."""
    _ORIGINAL_SEND_BODY(sock, conn, stream, body, end_stream, max_frame, answer)
    if answer.grpc_status is not None:
        raise _AnsweredEarly("answered before the request was sent whole")


_ORIGINAL_SEND_BODY = getattr(grpc_frames, "_send_body", None)


def call(*args, **kwargs):
    if _ORIGINAL_SEND_BODY is None:  # grpc_frames changed: use it as it is
        return grpc_frames.call(*args, **kwargs)
    grpc_frames._send_body = _send_body_then_stop
    try:
        return grpc_frames.call(*args, **kwargs)
    finally:
        grpc_frames._send_body = _ORIGINAL_SEND_BODY


def grpc_probe(port, body, encoding=None, extra_headers=()):
    a = call(port, body, encoding, extra_headers=extra_headers, timeout=PROBE_TIMEOUT)
    if a.grpc_status is None and a.goaway:
        return answer("grpc", f"GOAWAY {a.goaway}", "", a.seconds, "goaway")
    if a.grpc_status is None:
        kind = "reset" if a.reset or a.seconds < PROBE_TIMEOUT else "timeout"
        return answer("grpc", f"HTTP {a.http_status}" if a.http_status else None, "", a.seconds, kind)
    return answer("grpc", GRPC_STATUS.get(a.grpc_status, str(a.grpc_status)), a.grpc_message, a.seconds)


def http_probe(port, head: bytes, body: bytes = b"", timeout=PROBE_TIMEOUT):
    """Sends `head` + `body` from a thread (the server may answer before it read everything)
    and reads one HTTP/1.1 response: (status, message). A connection closed or reset before a
    status line is "reset"; nothing within `timeout` is "timeout"."""
    started = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def send():
        try:
            sock.sendall(head + body)
        except OSError:
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    data = b""
    deadline = started + timeout
    kind = "status"
    try:
        while True:
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                headers = parse_headers(data[:end])
                length = int(headers.get("content-length", "0") or 0)
                if len(data) >= end + 4 + length or "content-length" not in headers and b"\r\n0\r\n\r\n" in data:
                    break
            left = deadline - time.monotonic()
            if left <= 0:
                kind = "timeout"
                break
            sock.settimeout(left)
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        kind = "timeout"
    except OSError:
        pass
    finally:
        sock.close()
    seconds = time.monotonic() - started
    if not data.startswith(b"HTTP/1.1 "):
        return answer("http", None, "", seconds, "timeout" if kind == "timeout" else "reset")
    end = data.find(b"\r\n\r\n")
    status = int(data[9:12])
    headers = parse_headers(data[:end]) if end >= 0 else {}
    return answer("http", status, http_message(headers, data[end + 4:] if end >= 0 else b""), seconds)


def parse_headers(head: bytes):
    out = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        out[name.strip().lower()] = value.strip()
    return out


def http_message(headers, body: bytes):
    ctype = headers.get("content-type", "")
    if "chunked" in headers.get("transfer-encoding", ""):
        body = dechunk(body)
    if "protobuf" in ctype:
        try:
            return status_pb2.Status.FromString(body).message
        except DecodeError:
            pass
    if "json" in ctype:
        try:
            return json.loads(body).get("message", "")
        except (ValueError, AttributeError):
            pass
    return body.decode(errors="replace").strip().split("\n")[0]


def dechunk(body: bytes):
    out, pos = b"", 0
    while True:
        end = body.find(b"\r\n", pos)
        if end < 0:
            return out
        size = int(body[pos:end].split(b";")[0] or b"0", 16)
        if size == 0:
            return out
        out += body[end + 2:end + 2 + size]
        pos = end + 2 + size + 2


def http_head(path="/v1/traces", headers=(), length=None, body=b""):
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/x-protobuf",
             f"Content-Length: {len(body) if length is None else length}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# ---------------------------------------------------------------------------------------------
# Probes: (name, transport, function(port) -> answer)

VALID_REQUEST = request_with_spans(3).SerializeToString()
VALID = {"grpc": lambda port: grpc_probe(port, grpc_frame(VALID_REQUEST)),
         "http": lambda port: http_probe(port, http_head(body=VALID_REQUEST), VALID_REQUEST)}


def probes():
    valid = VALID_REQUEST
    cut = request_with_spans(20).SerializeToString()
    out = []
    for enc in BOMB_ENCODINGS:
        out.append((f"gRPC {enc} bomb ({len(bomb(enc)) // 1024} KiB → {bomb_size(enc)})", "grpc",
                    lambda port, enc=enc: grpc_probe(port, grpc_frame(bomb(enc), compressed=True), enc)))
    for enc in BOMB_ENCODINGS:
        out.append((f"HTTP {HTTP_ENCODING[enc]} bomb ({len(bomb(enc)) // 1024} KiB → {bomb_size(enc)})", "http",
                    lambda port, enc=enc: http_probe(port, http_head(headers=[("Content-Encoding", HTTP_ENCODING[enc])],
                                                                     body=bomb(enc)), bomb(enc))))
    for name in ("br", "identity", None):
        label = f"grpc-encoding {name}" if name else "no grpc-encoding"
        out.append((f"gRPC compressed flag, {label}", "grpc",
                    lambda port, name=name: grpc_probe(port, grpc_frame(valid, compressed=True), name)))
    for name in ("br", "gzip, zstd", "compress"):
        out.append((f"HTTP Content-Encoding `{name}`", "http",
                    lambda port, name=name: http_probe(port, http_head(headers=[("Content-Encoding", name)], body=valid),
                                                       valid)))
    out.append(("gRPC length prefix 4 GiB, stream ends after 100 bytes", "grpc",
                lambda port: grpc_probe(port, grpc_frame(b"\0" * 100, length=0xFFFFFFFF))))
    many = [(f"x-h{i}", "v" * 8) for i in range(10_000)]
    out.append(("gRPC 10,000 headers (valid request)", "grpc",
                lambda port: grpc_probe(port, grpc_frame(valid), extra_headers=many)))
    out.append(("HTTP 10,000 headers (valid request)", "http",
                lambda port: http_probe(port, http_head(headers=[(f"X-H{i}", "vvvvvvvv") for i in range(10_000)],
                                                        body=valid), valid)))
    out.append(("gRPC message cut short (50 of its bytes, stream ends)", "grpc",
                lambda port: grpc_probe(port, grpc_frame(cut[:50], length=len(cut)))))
    out.append(("gRPC gzip message cut short (first 1000 bytes of the bomb)", "grpc",
                lambda port: grpc_probe(port, grpc_frame(bomb("gzip")[:1000], compressed=True), "gzip")))
    out.append((f"HTTP Content-Length 4 GiB (100 bytes sent, client waits {CONTENT_LENGTH_4GIB_WAIT:.0f} s)", "http",
                lambda port: http_probe(port, http_head(length=4 << 30), b"\0" * 100, timeout=CONTENT_LENGTH_4GIB_WAIT)))
    return out



def bomb_size(enc):
    from hostile_support import BOMBS
    return f"{BOMBS[enc][1] // MIB} MiB"


# ---------------------------------------------------------------------------------------------
# Collectors and memory

class Receiver:
    def __init__(self, name, pid, grpc_port, http_port):
        self.name, self.pid, self.grpc_port, self.http_port = name, pid, grpc_port, http_port

    def reset_peak(self):
        """Resets VmHWM to the current RSS; returns (baseline KiB, whether the reset worked)."""
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
            return status_kib(self.pid, "VmRSS"), True
        except OSError:
            return status_kib(self.pid, "VmHWM"), False

    def peak(self):
        return status_kib(self.pid, "VmHWM")

    def alive(self):
        return os.path.exists(f"/proc/{self.pid}/status")


def safely(probe, transport, port):
    started = time.monotonic()
    try:
        return probe(port)
    except OSError as e:  # e.g. connection refused: the process is gone
        return answer(transport, None, f"{type(e).__name__}: {e}", time.monotonic() - started, "reset")


def measure(receiver, transport, probe):
    """The probe's answer, the peak RSS growth during it, and whether a valid request on the
    same transport is served afterwards."""
    port = receiver.grpc_port if transport == "grpc" else receiver.http_port
    base, reset = receiver.reset_peak()
    a = safely(probe, transport, port)
    a["peak_rss_growth_mib"] = round(max(0, receiver.peak() - base) / 1024, 1) if receiver.alive() else None
    a["hwm_reset"] = reset
    a["serves_after"] = accepted(safely(VALID[transport], transport, port))
    return a


def otelcol_binary():
    binary = os.environ.get("OTELCOL_BIN")
    if binary:
        return binary
    built = subprocess.run([str(REPO / "bench" / "build_otelcol.sh")], check=True, stdout=subprocess.PIPE, text=True)
    return built.stdout.strip().splitlines()[-1]


def start_pair(otelcol_bin, workdir):
    """otelcol and otlpd, both fresh, with the same pipeline: (Process, Otlpd, receivers)."""
    grpc_port, http_port = selftel.free_ports(2)
    otelcol = selftel.Process(otelcol_bin, pipeline(f"127.0.0.1:{grpc_port}", f"127.0.0.1:{http_port}"),
                              workdir, "otelcol")
    (workdir / "otlpd").mkdir(exist_ok=True)
    otlpd = Otlpd(workdir / "otlpd", pipeline("127.0.0.1:0", "127.0.0.1:0"))
    otelcol.wait_ports([grpc_port, http_port])
    receivers = {"otelcol": Receiver("otelcol", otelcol.proc.pid, grpc_port, http_port),
                 "otlpd": Receiver("otlpd", otlpd.proc.pid, otlpd.grpc_port(), otlpd.http_port())}
    return otelcol, otlpd, receivers


def run(otelcol_bin, otlpd_bin, workdir):
    """Each probe against a fresh otelcol and a fresh otlpd (so that neither's memory figure
    depends on what an earlier probe left: Go keeps freed heap and reuses it without RSS
    growth), then a valid request on the same transport to each (does it still serve?), then
    both are stopped (SIGTERM) and their exit codes kept."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["OTLPD_BIN"] = otlpd_bin
    cases = probes()
    for enc in BOMB_ENCODINGS:  # compress the bombs before any collector runs (tens of seconds)
        bomb(enc)
    rows, sanitized = [], None
    for i, (name, transport, probe) in enumerate(cases):
        otelcol, otlpd, receivers = start_pair(otelcol_bin, workdir / f"probe-{i:02d}")
        row = {"probe": name, "transport": transport}
        try:
            if sanitized is None:
                sanitized = "libasan" in open(f"/proc/{otlpd.proc.pid}/maps").read()
            for who, receiver in receivers.items():
                row[who] = measure(receiver, transport, probe)
        finally:
            codes = {"otelcol": otelcol.stop(), "otlpd": otlpd.stop()}
        for who, code in codes.items():
            row[who]["exit_code"] = code
        row["otelcol_log"], row["otlpd_log"] = otelcol.log()[-2000:], otlpd.log()[-2000:]
        rows.append(row)
        print(f"{name}: otelcol {cell(row['otelcol'])} | otlpd {cell(row['otlpd'])}", file=sys.stderr, flush=True)
    return {"rows": rows, "otlpd_sanitized": sanitized, "limits": {"grpc_bytes": GRPC_LIMIT, "http_bytes": HTTP_LIMIT}}


# ---------------------------------------------------------------------------------------------
# The table

def cell(a, width=200):
    if a["kind"] == "timeout":
        return f"no answer (waited {a['seconds']:.1f} s)"
    if a["kind"] == "goaway":
        return f"connection closed with {a['status']}, {a['seconds']:.2f} s"
    if a["kind"] == "reset":
        status = f" after {a['status']}" if a["status"] else ""
        return f"connection reset{status} without a status, {a['seconds']:.2f} s"
    message = a["message"].replace("|", "\\|").replace("\n", " ")
    if len(message) > width:
        message = message[:width - 1] + "…"
    status = a["status"] if a["transport"] == "grpc" else f"HTTP {a['status']}"
    return f"{status}" + (f": {message}" if message else "") + f" ({a['seconds']:.2f} s)"


def rss(a):
    v = a.get("peak_rss_growth_mib")
    return "—" if v is None else f"{v:.1f} MiB"


def table(result):
    lines = ["| probe | otelcol answer | otlpd answer | otelcol peak RSS growth | otlpd peak RSS growth |",
             "|---|---|---|---|---|"]
    for row in result["rows"]:
        lines.append(f"| {row['probe']} | {cell(row['otelcol'])} | {cell(row['otlpd'])} | "
                     f"{rss(row['otelcol'])} | {rss(row['otlpd'])} |")
    notes = []
    for row in result["rows"]:
        for who in ("otelcol", "otlpd"):
            a = row[who]
            if not a["serves_after"]:
                notes.append(f"{who} did not serve a valid request after \"{row['probe']}\"")
            if a.get("exit_code") != 0:
                notes.append(f"{who} exited with {a.get('exit_code')} after \"{row['probe']}\"")
    lines += ["", "Each probe ran against a fresh otelcol and a fresh otlpd (same pipeline, default receiver "
              "limits); peak RSS growth = VmHWM after the probe - VmRSS before it (VmHWM reset through "
              "clear_refs)" + ("" if all(r[w]["hwm_reset"] for r in result["rows"] for w in ("otelcol", "otlpd"))
                               else "; where clear_refs was refused, the growth of VmHWM") + ". "
              + ("After every probe both served a valid request on the same transport and exited 0 on SIGTERM."
                 if not notes else "Afterwards: " + "; ".join(notes) + ".")]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("table", help="where to write the Markdown table")
    parser.add_argument("--json", help="where to write the raw records")
    parser.add_argument("--workdir", default=None, help="configs and logs (default: a temporary directory)")
    args = parser.parse_args(argv)
    otlpd_bin = os.environ.get("OTLPD_BIN", str(REPO / "build" / "app" / "otlpd"))
    import tempfile
    workdir = args.workdir or tempfile.mkdtemp(prefix="hostile-comparison-")
    result = run(otelcol_binary(), otlpd_bin, workdir)
    text = table(result)
    print(text)
    Path(args.table).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
