"""A fault-injecting HTTP reverse proxy for the `url` transport's tests (127.0.0.1 only).

    proxy = FaultProxy(upstream_port=8089).start()     # http://127.0.0.1:<proxy.port>/ -> nginx
    proxy.arm([Rule("GET", r"/in/", "503", times=2)])  # the first two matching GETs get a 503
    ...
    proxy.disarm(); proxy.injected                     # [("GET", "/wfr/.../in/0/a.txt", "503"), ...]
    proxy.stop()

Faults: ``drop`` (close without a response), ``500``/``503`` (that status, the request unsent),
``truncate`` (the response with its full Content-Length but half its body, then close),
``stall`` (a GET: headers and a little of the body, then silence for ``stall_s`` seconds; an
upload: forwarded, then no answer for ``stall_s`` seconds), ``cut_upload``
(read half of the request's body, then close: the upstream never sees it), ``lose_response``
(the request reaches the upstream, its answer never reaches the client). Requests are forwarded
one at a time on fresh upstream connections with their Host header unchanged (so that S3 SigV4
signatures made for the proxy's address verify upstream). Clients may keep their connection
alive across requests (curl does).
"""

from __future__ import annotations

import re
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field

FAULTS = ("drop", "500", "503", "truncate", "stall", "cut_upload", "lose_response")


@dataclass
class Rule:
    method: str  # "GET", "PUT", "POST" or "*"
    path: str  # a regex searched in the request path (with its query)
    fault: str
    times: int = 1  # how many matching requests get the fault
    hits: int = field(default=0, init=False)


class _Closed(Exception):
    pass


class FaultProxy:
    def __init__(self, upstream_port: int, stall_s: float = 8.0) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.stall_s = stall_s
        self.rules: list[Rule] = []
        self.injected: list[tuple[str, str, str]] = []
        self.requests: list[tuple[str, str, int]] = []  # method, path, upstream status
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def arm(self, rules: list[Rule]) -> None:
        with self._lock:
            self.rules = list(rules)
            self.injected = []
            self.requests = []

    def disarm(self) -> None:
        with self._lock:
            self.rules = []

    def _fault_for(self, method: str, path: str) -> str | None:
        with self._lock:
            for r in self.rules:
                if r.hits < r.times and r.method in ("*", method) and re.search(r.path, path):
                    r.hits += 1
                    self.injected.append((method, path, r.fault))
                    return r.fault
        return None

    # -- one client connection: requests one after the other --------------------------------

    def _serve(self, client: socket.socket) -> None:
        reader = client.makefile("rb")
        try:
            while True:
                head = _read_head(reader)
                if head is None:
                    return
                if not self._one(client, reader, head):
                    return
        except (_Closed, OSError):
            return
        finally:
            reader.close()
            client.close()

    def _one(self, client: socket.socket, reader, head: bytes) -> bool:  # type: ignore[no-untyped-def]
        lines = head.split(b"\r\n")
        method, path, _ = lines[0].decode("latin-1").split(" ", 2)
        headers = [ln for ln in lines[1:] if ln]
        length = _header(headers, b"content-length")
        size = int(length) if length is not None else 0
        keep = (_header(headers, b"connection") or b"").lower() != b"close" and not lines[
            0
        ].endswith(b"HTTP/1.0")
        fault = self._fault_for(method, path)
        if fault == "drop":
            return False
        if fault == "cut_upload":
            reader.read(size // 2)
            return False
        body = reader.read(size) if size else b""
        if len(body) < size:
            return False
        if fault in ("500", "503"):
            text = b"injected fault\n"
            client.sendall(
                f"HTTP/1.1 {fault} Injected\r\nContent-Length: {len(text)}\r\n".encode()
                + (b"Connection: keep-alive\r\n\r\n" if keep else b"Connection: close\r\n\r\n")
                + text
            )
            return keep
        status, rhead, rbody = self._forward(method, path, headers, body)
        with self._lock:
            self.requests.append((method, path, status))
        if fault == "lose_response":
            return False
        if fault == "stall" and method != "GET":
            time.sleep(self.stall_s)  # the upload went through; its answer never comes
            return False
        drop = (b"connection",) if method == "HEAD" else (b"content-length", b"connection")
        out = [ln for ln in rhead[1:] if _name(ln) not in drop]
        if method != "HEAD":
            out.append(b"Content-Length: " + str(len(rbody)).encode())
        out.append(b"Connection: keep-alive" if keep and fault is None else b"Connection: close")
        client.sendall(b"\r\n".join([rhead[0], *out]) + b"\r\n\r\n")
        if fault == "truncate":
            client.sendall(rbody[: len(rbody) // 2])
            return False
        if fault == "stall":
            client.sendall(rbody[: min(len(rbody) // 4, 4096)])
            time.sleep(self.stall_s)
            return False
        client.sendall(rbody)
        return keep

    def _forward(
        self, method: str, path: str, headers: list[bytes], body: bytes
    ) -> tuple[int, list[bytes], bytes]:
        up = socket.create_connection(self.upstream, timeout=60)
        try:
            keep = [ln for ln in headers if _name(ln) not in (b"connection", b"keep-alive")]
            req = [f"{method} {path} HTTP/1.1".encode(), *keep, b"Connection: close"]
            up.sendall(b"\r\n".join(req) + b"\r\n\r\n" + body)
            data = b""
            while chunk := up.recv(1 << 16):
                data += chunk
        finally:
            up.close()
        head, _, rbody = data.partition(b"\r\n\r\n")
        rhead = head.split(b"\r\n")
        if (_header(rhead[1:], b"transfer-encoding") or b"").lower() == b"chunked":
            rbody = _dechunk(rbody)
            rhead = [ln for ln in rhead if _name(ln) != b"transfer-encoding"]
        status = int(rhead[0].split()[1])
        if method == "HEAD":
            rbody = b""
        return status, rhead, rbody


def _read_head(reader) -> bytes | None:  # type: ignore[no-untyped-def]
    data = b""
    while not data.endswith(b"\r\n\r\n"):
        line = reader.readline(65536)
        if not line:
            if data:
                raise _Closed
            return None
        data += line
        if data == b"\r\n":
            data = b""
    return data[:-4]


def _name(line: bytes) -> bytes:
    return line.split(b":", 1)[0].strip().lower()


def _header(lines: list[bytes], name: bytes) -> bytes | None:
    for ln in lines:
        if _name(ln) == name:
            return ln.split(b":", 1)[1].strip()
    return None


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        n = int(size_line.split(b";")[0], 16)
        if n == 0:
            break
        out += data[:n]
        data = data[n + 2 :]
    return out
