"""A hand-made gRPC client over HTTP/2 (the h2 package): it sends exactly the frames a test
asks for, including ones no gRPC library would send (a compressed flag with an encoding the
server cannot know, a length prefix of 4 GiB, a message cut short, 10,000 headers)."""
import socket
import struct
import time
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions

TRACES = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@dataclass
class Answer:
    http_status: int = 0
    grpc_status: int = None       # None: the stream ended without a grpc-status
    grpc_message: str = ""
    reset: bool = False           # the stream or the connection was reset / closed
    goaway: str = None            # the connection was closed with GOAWAY: its error code's name
    seconds: float = 0.0
    headers: dict = field(default_factory=dict)


def grpc_frame(payload: bytes, compressed: bool = False, length: int = None) -> bytes:
    """The 5-byte gRPC message prefix (compressed flag, big-endian length) and the payload."""
    return struct.pack(">BI", 1 if compressed else 0, len(payload) if length is None else length) + payload


def call(port: int, body: bytes, encoding: str = None, path: str = TRACES, extra_headers=(),
         end_stream: bool = True, timeout: float = 60.0, max_frame: int = 16384,
         wait_for_settings: bool = False) -> Answer:
    """Sends one unary call whose DATA is `body` (already framed) and reads the answer.

    With end_stream=False the request is left open (a truncated message): the answer is what
    the server says while the client waits, up to `timeout`. With wait_for_settings, the
    headers go once the server's SETTINGS have arrived (so in frames of its size)."""
    started = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    conn.update_settings({h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 1 << 20})
    sock.sendall(conn.data_to_send())
    while wait_for_settings and not any(isinstance(e, h2.events.RemoteSettingsChanged)
                                        for e in conn.receive_data(sock.recv(1 << 16))):
        pass
    headers = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", f"127.0.0.1:{port}"),
               ("content-type", "application/grpc"), ("te", "trailers")]
    if encoding is not None:
        headers.append(("grpc-encoding", encoding))
    headers += list(extra_headers)
    answer = Answer()
    stream = conn.get_next_available_stream_id()
    try:
        conn.send_headers(stream, headers)
        sock.sendall(conn.data_to_send())
        ended = _send_body(sock, conn, stream, body, end_stream, max_frame, answer)
        while not ended:
            data = sock.recv(1 << 16)
            if not data:
                answer.reset = True
                break
            done = False
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    answer.headers.update(dict(event.headers))
                    answer.http_status = int(answer.headers.get(":status", 0))
                    _read_grpc_status(answer, event.headers)  # trailers-only answers
                elif isinstance(event, h2.events.TrailersReceived):
                    answer.headers.update(dict(event.headers))
                    _read_grpc_status(answer, event.headers)
                elif isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                    answer.reset = True
                    done = True
                    if isinstance(event, h2.events.ConnectionTerminated):
                        answer.goaway = _error_name(event.error_code)
                elif isinstance(event, h2.events.StreamEnded):
                    done = True
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
            if done:
                break
    except (ConnectionError, socket.timeout, h2.exceptions.ProtocolError, OSError):
        answer.reset = True
    finally:
        sock.close()
    answer.seconds = time.monotonic() - started
    return answer


def _send_body(sock, conn, stream, body, end_stream, max_frame, answer):
    """Sends `body` in DATA frames as flow control allows; stops early if the server answers
    (then True: the stream is over, nothing more will come for it)."""
    offset = 0
    while offset < len(body):
        window = min(conn.local_flow_control_window(stream), conn.max_outbound_frame_size, max_frame)
        if window <= 0:  # wait for WINDOW_UPDATE (or an early answer: then stop sending)
            data = sock.recv(1 << 16)
            if not data:
                raise ConnectionError("closed")
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    answer.headers.update(dict(event.headers))
                    answer.http_status = int(answer.headers.get(":status", 0))
                    _read_grpc_status(answer, event.headers)
                    if answer.grpc_status is not None:
                        return True
                elif isinstance(event, h2.events.TrailersReceived):
                    answer.headers.update(dict(event.headers))
                    _read_grpc_status(answer, event.headers)
                    return True
                elif isinstance(event, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                    raise ConnectionError("reset")
            sock.sendall(conn.data_to_send())
            continue
        chunk = body[offset:offset + window]
        offset += len(chunk)
        conn.send_data(stream, chunk, end_stream=end_stream and offset == len(body))
        sock.sendall(conn.data_to_send())
    if end_stream and not body:
        conn.end_stream(stream)
        sock.sendall(conn.data_to_send())
    return False


def _error_name(code):
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return str(code)


def _read_grpc_status(answer, headers):
    d = dict(headers)
    if "grpc-status" in d:
        answer.grpc_status = int(d["grpc-status"])
        answer.grpc_message = _percent_decode(d.get("grpc-message", ""))


def _percent_decode(s: str) -> str:
    from urllib.parse import unquote
    return unquote(s)
