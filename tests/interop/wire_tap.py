"""A TCP proxy that forwards bytes unchanged both ways and, on the side, reads what the client
sends, to tell how each request was encoded on the wire:

- mode "h2" (gRPC): HTTP/2 frames; every HEADERS block is HPACK-decoded (the ':path' and
  'grpc-encoding' of each stream) and every DATA payload split into gRPC messages (the
  compressed flag of each message);
- mode "http1" (OTLP/HTTP): the request line and headers of each HTTP/1.1 request
  (Content-Encoding, Content-Length), the body skipped by its length.

Used by test_otelcol_compression.py to prove that otelcol's exporters really compressed what
otlpd then decompressed. Anything the tap cannot read is recorded in `errors`."""
import socket
import struct
import threading

import hpack

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, CONTINUATION = 0x0, 0x1, 0x9
END_HEADERS, PADDED, PRIORITY = 0x4, 0x8, 0x20


class Tap:
    def __init__(self, upstream_port, mode):
        assert mode in ("h2", "http1")
        self.upstream_port, self.mode = upstream_port, mode
        # h2: {"path", "encoding", "flags": [compressed flag per message], "length": message bytes}
        # http1: {"method", "path", "encoding", "length": body bytes}
        self.requests = []
        self.errors = []
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._sockets = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError as e:
                self._error(f"cannot connect upstream: {e}")
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            parser = H2Parser(self) if self.mode == "h2" else Http1Parser(self)
            threading.Thread(target=self._pump, args=(client, server, parser), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, None), daemon=True).start()

    def _pump(self, src, dst, parser):
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                if parser is not None:
                    try:
                        parser.feed(data)
                    except Exception as e:  # noqa: BLE001  (recorded; forwarding goes on)
                        self._error(f"{type(e).__name__}: {e}")
                        parser = None
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (dst, src):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _error(self, text):
        with self._lock:
            self.errors.append(text)

    def record(self, request):
        with self._lock:
            self.requests.append(request)

    def snapshot(self):
        with self._lock:
            return [dict(r) for r in self.requests], list(self.errors)

    def close(self):
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                s.close()


class H2Parser:
    """Client-to-server HTTP/2 frames (after the preface)."""

    def __init__(self, tap):
        self.tap = tap
        self.buf = b""
        self.preface_seen = False
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 24
        self.block = None     # (stream id, bytes) of a header block awaiting CONTINUATION
        self.streams = {}     # stream id -> {"path", "encoding", "flags", "pending": bytes}

    def feed(self, data):
        self.buf += data
        if not self.preface_seen:
            if len(self.buf) < len(H2_PREFACE):
                return
            if not self.buf.startswith(H2_PREFACE):
                raise ValueError("not an HTTP/2 client preface")
            self.buf = self.buf[len(H2_PREFACE):]
            self.preface_seen = True
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[0:3], "big")
            if len(self.buf) < 9 + length:
                return
            ftype, flags = self.buf[3], self.buf[4]
            stream = struct.unpack(">I", self.buf[5:9])[0] & 0x7FFFFFFF
            payload = self.buf[9:9 + length]
            self.buf = self.buf[9 + length:]
            self._frame(ftype, flags, stream, payload)

    def _frame(self, ftype, flags, stream, payload):
        if ftype in (DATA, HEADERS) and flags & PADDED:
            payload = payload[1:len(payload) - payload[0]]
        if ftype == HEADERS:
            if flags & PRIORITY:
                payload = payload[5:]
            self.block = (stream, payload)
        elif ftype == CONTINUATION:
            self.block = (stream, self.block[1] + payload)
        elif ftype == DATA:
            self._data(stream, payload)
            return
        else:
            return
        if flags & END_HEADERS:
            sid, block = self.block
            self.block = None
            headers = dict(self.decoder.decode(block))
            if ":path" in headers:  # request headers (the client sends no other kind here)
                entry = {"path": headers[":path"], "encoding": headers.get("grpc-encoding"), "flags": [],
                         "length": 0, "pending": b""}
                self.streams[sid] = entry
                self.tap.record(entry)

    def _data(self, stream, payload):
        entry = self.streams.get(stream)
        if entry is None:
            raise ValueError(f"DATA on stream {stream} without request headers")
        entry["pending"] += payload
        while len(entry["pending"]) >= 5:
            flag, length = struct.unpack(">BI", entry["pending"][:5])
            if len(entry["pending"]) < 5 + length:
                return
            entry["flags"].append(flag)
            entry["length"] += length
            entry["pending"] = entry["pending"][5 + length:]


class Http1Parser:
    """Client-to-server HTTP/1.1 requests with a Content-Length (what Go's client sends)."""

    def __init__(self, tap):
        self.tap = tap
        self.buf = b""
        self.body_left = 0

    def feed(self, data):
        self.buf += data
        while True:
            if self.body_left:
                skip = min(self.body_left, len(self.buf))
                self.buf = self.buf[skip:]
                self.body_left -= skip
                if self.body_left:
                    return
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            self.buf = self.buf[end + 4:]
            method, path, _ = head[0].split(" ", 2)
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", ""):
                raise ValueError("chunked request bodies are not read by the tap")
            self.body_left = int(headers.get("content-length", "0"))
            self.tap.record({"method": method, "path": path, "encoding": headers.get("content-encoding"),
                             "length": self.body_left})
