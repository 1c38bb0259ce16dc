"""A small HTTP object store on 127.0.0.1 for tests: GET and PUT under any path, in memory.

    with HttpObjectStore({"/wfr/golden/in/0/names.txt": b"a\\nb\\n"}) as store:
        store.url                      # http://127.0.0.1:<port>
        ... a url-transport script GETs its inputs and PUTs its outputs ...
        store.objects["/wfr/golden/out/wfrewrite/manifest.json"]

A real HTTP server (the standard library's), so that the url transport's clients (curl, wget,
python3, perl, bash, BusyBox nc) really talk to it; the test bed's nginx is the same for
tests that may depend on it.
"""

from __future__ import annotations

import http.server
import threading
import urllib.parse
from types import TracebackType


class HttpObjectStore:
    def __init__(self, objects: dict[str, bytes] | None = None) -> None:
        self.objects: dict[str, bytes] = dict(objects or {})
        store = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: object) -> None:
                pass

            def _key(self) -> str:
                return urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)

            def do_GET(self) -> None:
                data = store.objects.get(self._key())
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_HEAD(self) -> None:
                data = store.objects.get(self._key())
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()

            def do_PUT(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = b""
                while len(body) < n:
                    chunk = self.rfile.read(n - len(body))
                    if not chunk:
                        break
                    body += chunk
                store.objects[self._key()] = body
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpObjectStore:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
