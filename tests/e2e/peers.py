"""Real peers for the exporters' tests: an HTTP server that records POSTs."""
import gzip
import threading
import zlib

import cramjam
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


DECODERS = {
    "gzip": gzip.decompress,
    "deflate": zlib.decompress,  # HTTP's deflate is the zlib format
    "zstd": lambda body: bytes(cramjam.zstd.decompress(body)),
}


class HttpBackend:
    """Records every POST as (path, headers, decompressed body) and answers with
    respond(n, path, headers, body) -> (status, headers, body), n counting from 1.
    compressed_sizes holds each POST's body size as it came."""

    def __init__(self, respond):
        self.posts = []
        self.compressed_sizes = []
        lock = threading.Lock()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                size = len(body)
                if self.headers.get("Content-Encoding"):
                    body = DECODERS[self.headers["Content-Encoding"]](body)
                with lock:
                    backend.compressed_sizes.append(size)
                    backend.posts.append((self.path, dict(self.headers), body))
                    status, headers, reply = respond(len(backend.posts), self.path, dict(self.headers), body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
