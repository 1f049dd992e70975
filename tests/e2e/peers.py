"""Real peers for the exporters' tests: an HTTP server that records POSTs."""
import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HttpBackend:
    """Records every POST as (path, headers, decompressed body) and answers with
    respond(n, path, headers, body) -> (status, headers, body), n counting from 1."""

    def __init__(self, respond):
        self.posts = []
        lock = threading.Lock()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                with lock:
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
