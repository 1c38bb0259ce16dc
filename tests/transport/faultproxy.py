"""A fault-injecting HTTP reverse proxy for the `url` transport's tests (127.0.0.1 only).

    proxy = FaultProxy(upstream_port=8089).start()     # http://127.0.0.1:<proxy.port>/ -> nginx
    proxy.arm([Rule("GET", r"/in/", "503", times=2)])  # the first two matching GETs get a 503
    ...
    proxy.disarm(); proxy.injected                     # [("GET", "/wfr/.../in/0/a.txt", "503"), ...]
    proxy.stop()

or, for a seeded campaign (campaign.py), a ``Schedule`` per run: the faults of every attempt at
every object, by the object's place in the run (``op``: ``get`` the script downloads an input,
``up`` the script uploads an output or the manifest, ``dput`` the driver uploads an input,
``dget`` the driver fetches an output; ``rel``: the key under the run's ``in/`` or ``out/``).
A request is matched to its run by the run's id in its path (or, for an S3 POST, in the form's
``key`` field; the platform transport's outbox, ``out/wfr-<run id>-<hex>/``, is looked through:
its ``rel`` is what follows), so that runs may go on at once and a fault depends only on the run, the object
and the attempt, never on timing: a campaign replays from its seed.

    proxy.register(Schedule("fc7r3", {("get", "0/a.txt"): ["503", "truncate"]}))

Faults (``FAULTS``; ``FAMILY`` groups them as the campaign tallies them):

=================  ==========================================================================
``drop``           close right after the request's head (no answer, the body unread)
``500`` ``503``    that status, the request not forwarded
``early_503``      503 and close as soon as the head is read, before any of the body
``truncate``       a download: the full Content-Length, half the body, then close; an upload
                   (alias ``cut_upload``): read half of the body, then close
``short_body``     a download cut in half with a Content-Length that says so (framing intact:
                   only the expected size or sha1 can tell)
``corrupt``        a download with one byte flipped (same length: only a sha1 can tell)
``stall``          a download: the head and a little of the body, then silence; an upload:
                   forwarded, then no answer (``stall_s`` seconds, then close)
``drip``           slow but steady: a download's body in small pieces, an upload's read slowly
``reset``          a download: half the body, then a TCP RST; an upload: half its body reaches
                   the store, then both connections are reset (mid-upload)
``lose_response``  forwarded; the answer never reaches the client (closed)
``lost_503``       forwarded; the client gets a 503 instead of the answer (and retries: the
                   retried PUT overwrites what landed)
``dup_request``    forwarded twice (an upload: a late duplicate, replayed after the answer)
``dup_response``   the answer sent twice, then the connection closed (left open, a stray
                   answer is taken by a keep-alive client for its next request's: boto3 takes
                   it for the early answer to its next PUT's ``Expect: 100-continue`` and
                   never sends that body; no client can tell, HTTP/1.1 has no request ids)
``expired``        403 AccessDenied "Request has expired", as S3 answers an expired URL
``short_store``    an upload forwarded with half its content and a Content-Length that fits
                   (the store keeps a short object and says 2xx: beyond what HTTP can detect)
``corrupt_store``  an upload forwarded with one byte of its content flipped (likewise)
``hold``           held until the schedule's ``hold_until`` (a real expiry), then forwarded
=================  ==========================================================================

Requests are forwarded one at a time on fresh upstream connections with their Host header
unchanged (so that S3 SigV4 signatures made for the proxy's address verify upstream);
``Expect: 100-continue`` is answered here and not forwarded. Clients may keep their connection
alive across requests (curl does).
"""

from __future__ import annotations

import collections
import contextlib
import re
import socket
import socketserver
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

FAULTS = (
    "drop",
    "500",
    "503",
    "early_503",
    "truncate",
    "cut_upload",
    "short_body",
    "corrupt",
    "stall",
    "drip",
    "reset",
    "lose_response",
    "lost_503",
    "dup_request",
    "dup_response",
    "expired",
    "short_store",
    "corrupt_store",
    "hold",
)
FAMILY = {
    "drop": "drop",
    "500": "5xx",
    "503": "5xx",
    "early_503": "5xx",
    "truncate": "truncate",
    "cut_upload": "truncate",
    "short_body": "truncate",
    "corrupt": "corrupt in transit",
    "stall": "stall",
    "drip": "slow-drip",
    "reset": "reset",
    "lose_response": "lost answer",
    "lost_503": "lost answer",
    "dup_request": "duplicate",
    "dup_response": "duplicate",
    "expired": "expired URL",
    "hold": "expired URL",
    "short_store": "corrupt store",
    "corrupt_store": "corrupt store",
}
UPLOADS = ("PUT", "POST")

EXPIRED_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired</Message><RequestId>injected</RequestId></Error>"
)

# a run's id in a path: the task's name in a campaign is fc<seed>r<index>; the run key adds -<hex>
RUN_ID = re.compile(r"/(fc\d+r\d+)(?:-[0-9a-f]+)?/(in|out)/([^?]*)")
FORM_KEY = re.compile(rb'name="key"\r\n\r\n([^\r]*)\r\n')
# the platform transport's outbox under a run's out/: one job's, named wfr-<task>-<hex>
OUTBOX = re.compile(r"wfr-fc\d+r\d+-[0-9a-f]+/")


@dataclass
class Rule:
    method: str  # "GET", "PUT", "POST" or "*"
    path: str  # a regex searched in the request path (with its query)
    fault: str
    times: int = 1  # how many matching requests get the fault
    hits: int = field(default=0, init=False)


class Schedule:
    """One run's faults: ``faults[(op, rel)]`` is the fault of each attempt at that object, in
    order (attempt 1 first); attempts beyond the list go through. ``hits`` records what was
    injected: (op, rel, attempt, fault)."""

    def __init__(
        self, run: str, faults: dict[tuple[str, str], list[str]], hold_until: float = 0.0
    ) -> None:
        self.run = run
        self.faults = faults
        self.hold_until = hold_until
        self.attempts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.hits: list[tuple[str, str, int, str]] = []
        self.requests: list[tuple[str, str, int, str]] = []  # op, rel, attempt, method
        self._lock = threading.Lock()

    def next(self, op: str, rel: str, method: str) -> str | None:
        with self._lock:
            self.attempts[(op, rel)] += 1
            n = self.attempts[(op, rel)]
            self.requests.append((op, rel, n, method))
            plan = self.faults.get((op, rel), [])
            fault = plan[n - 1] if n <= len(plan) else None
            if fault:
                self.hits.append((op, rel, n, fault))
            return fault


def locate(method: str, path: str, body: bytes) -> tuple[str, str, str] | None:
    """(run id, op, rel) of a request of a campaign's run, else None."""
    m = RUN_ID.search(urllib.parse.unquote(path.partition("?")[0]))
    if m is None and method == "POST":
        k = FORM_KEY.search(body)
        if k:
            m = RUN_ID.search("/" + k.group(1).decode("utf-8", "replace"))
    if m is None:
        return None
    run, seg, rel = m.groups()
    if seg == "out" and (box := OUTBOX.match(rel)):
        rel = rel[box.end() :]
    if seg == "in":
        op = {"PUT": "dput", "GET": "get"}.get(method, "head")
    else:
        op = {"PUT": "up", "POST": "up", "GET": "dget"}.get(method, "head")
    return run, op, rel


class _Closed(Exception):
    pass


class FaultProxy:
    def __init__(self, upstream_port: int, stall_s: float = 8.0) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.stall_s = stall_s
        self.rules: list[Rule] = []
        self.schedules: dict[str, Schedule] = {}
        self.injected: list[tuple[str, str, str]] = []
        self.requests: list[tuple[str, str, int]] = []  # method, path, upstream status
        self.errors: list[str] = []  # the proxy's own troubles (a campaign fails on any)
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

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

    def register(self, schedule: Schedule) -> None:
        with self._lock:
            self.schedules[schedule.run] = schedule

    def unregister(self, run: str) -> None:
        with self._lock:
            self.schedules.pop(run, None)

    def _fault_for(self, method: str, path: str, body: bytes) -> tuple[str | None, Schedule | None]:
        with self._lock:
            for r in self.rules:
                if r.hits < r.times and r.method in ("*", method) and re.search(r.path, path):
                    r.hits += 1
                    self.injected.append((method, path, r.fault))
                    return r.fault, None
            where = locate(method, path, body) if self.schedules else None
            sched = self.schedules.get(where[0]) if where else None
        if where is None or sched is None or where[1] == "head":
            return None, None
        fault = sched.next(where[1], where[2], method)
        if fault:
            with self._lock:
                self.injected.append((method, path, fault))
        return fault, sched

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
        except Exception as e:  # the proxy's own bug: say so, never hide it as a fault
            self.errors.append(f"{type(e).__name__}: {e}")
            return
        finally:
            reader.close()
            client.close()

    def _one(self, client: socket.socket, reader, head: bytes) -> bool:  # type: ignore[no-untyped-def]
        lines = head.split(b"\r\n")
        words = lines[0].decode("latin-1").split(" ", 2)
        if len(words) != 3:
            self.errors.append(f"not an HTTP request: {lines[0][:200]!r}")
            return False
        method, path, _ = words
        headers = [ln for ln in lines[1:] if ln]
        length = _header(headers, b"content-length")
        size = int(length) if length is not None else 0
        body = b""
        if (_header(headers, b"transfer-encoding") or b"").lower() == b"chunked":
            body = _read_chunked(reader)  # then forwarded with a Content-Length
            size = len(body)
        keep = (_header(headers, b"connection") or b"").lower() != b"close" and not lines[
            0
        ].endswith(b"HTTP/1.0")
        expect = (_header(headers, b"expect") or b"").lower() == b"100-continue"
        continued = False

        def go_on() -> None:  # the client may send the body now
            nonlocal continued
            if expect and not continued:
                client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                continued = True

        if method == "POST" and size and not body:  # an S3 form names its key in the body
            go_on()
            body = reader.read(min(size, 16384))
        fault, sched = self._fault_for(method, path, body)
        if fault == "drop":
            return False
        if fault == "early_503":
            _answer(client, 503, b"injected early fault\n", keep=False)
            return False
        if fault == "hold" and sched is not None:
            time.sleep(max(0.0, sched.hold_until - time.time()))
        uploading = method in UPLOADS
        if uploading and fault in ("truncate", "cut_upload"):
            go_on()
            reader.read(max(0, size // 2 - len(body)))
            return False
        if uploading and fault == "reset":
            go_on()
            body += reader.read(max(0, size // 2 - len(body)))
            self._forward_partial(method, path, headers, body[: size // 2], size)
            _reset(client)
            return False
        go_on()
        if uploading and fault == "drip":
            while len(body) < size:
                chunk = reader.read(min(16384, size - len(body)))
                if not chunk:
                    break
                body += chunk
                time.sleep(0.01)
        elif size > len(body):
            body += reader.read(size - len(body))
        if len(body) < size:
            return False
        if fault in ("500", "503"):
            _answer(client, int(fault), b"injected fault\n", keep=keep)
            return keep
        if fault == "expired":
            _answer(client, 403, EXPIRED_BODY, keep=False, ctype=b"application/xml")
            return False
        sent = body
        if uploading and fault in ("short_store", "corrupt_store"):
            sent = _spoil(method, headers, body, fault)
        status, rhead, rbody = self._forward(method, path, headers, sent)
        if fault == "dup_request":
            if uploading:  # a late duplicate of what was sent
                threading.Timer(0.3, self._replay, (method, path, headers, sent)).start()
            else:
                status, rhead, rbody = self._forward(method, path, headers, sent)
        with self._lock:
            self.requests.append((method, path, status))
        if fault == "lose_response":
            return False
        if fault == "lost_503":
            _answer(client, 503, b"injected: the answer was lost\n", keep=False)
            return False
        if fault == "stall" and method != "GET":
            time.sleep(self.stall_s)  # the upload went through; its answer never comes
            return False
        full = len(rbody)
        if method == "GET" and fault == "short_body":
            rbody = rbody[: full // 2]
            full = len(rbody)
        elif method == "GET" and fault == "corrupt" and rbody:
            mid = len(rbody) // 2
            rbody = rbody[:mid] + bytes([rbody[mid] ^ 0x5A]) + rbody[mid + 1 :]
        clean = fault in (None, "hold", "short_body", "corrupt", "drip", "dup_request")
        drop = (b"connection",) if method == "HEAD" else (b"content-length", b"connection")
        out = [ln for ln in rhead[1:] if _name(ln) not in drop]
        if method != "HEAD":
            out.append(b"Content-Length: " + str(full).encode())
        stay = keep and clean
        out.append(b"Connection: keep-alive" if stay else b"Connection: close")
        response_head = b"\r\n".join([rhead[0], *out]) + b"\r\n\r\n"
        client.sendall(response_head)
        if fault == "truncate":
            client.sendall(rbody[: len(rbody) // 2])
            return False
        if fault == "reset" and method == "GET":
            client.sendall(rbody[: len(rbody) // 2])
            _reset(client)
            return False
        if fault == "stall":
            client.sendall(rbody[: min(len(rbody) // 4, 4096)])
            time.sleep(self.stall_s)
            return False
        if fault == "drip" and method == "GET":
            step = max(1, len(rbody) // 16)
            for i in range(0, len(rbody), step):
                client.sendall(rbody[i : i + step])
                time.sleep(0.04)
        elif fault == "dup_response":  # in one piece, then closed (see the module's doc)
            client.sendall(rbody + response_head + rbody)
        else:
            client.sendall(rbody)
        return stay

    def _forward(
        self, method: str, path: str, headers: list[bytes], body: bytes
    ) -> tuple[int, list[bytes], bytes]:
        up = socket.create_connection(self.upstream, timeout=60)
        try:
            up.sendall(_request(method, path, headers, len(body)) + body)
            data = b""
            while chunk := up.recv(1 << 16):
                data += chunk
        finally:
            up.close()
        head, _, rbody = data.partition(b"\r\n\r\n")
        while re.match(rb"HTTP/\S+ 1\d\d", head):  # interim answers (100 Continue)
            head, _, rbody = rbody.partition(b"\r\n\r\n")
        rhead = head.split(b"\r\n")
        if (_header(rhead[1:], b"transfer-encoding") or b"").lower() == b"chunked":
            rbody = _dechunk(rbody)
            rhead = [ln for ln in rhead if _name(ln) != b"transfer-encoding"]
        status = int(rhead[0].split()[1])
        if method == "HEAD":
            rbody = b""
        return status, rhead, rbody

    def _replay(self, method: str, path: str, headers: list[bytes], body: bytes) -> None:
        try:
            self._forward(method, path, headers, body)
        except OSError as e:
            self.errors.append(f"late duplicate of {method} {path}: {e}")

    def _forward_partial(
        self, method: str, path: str, headers: list[bytes], body: bytes, size: int
    ) -> None:
        """The head (announcing ``size`` bytes) and ``body``, the first part of them, reach the
        store; then the connection is reset."""
        up = socket.create_connection(self.upstream, timeout=60)
        try:
            up.sendall(_request(method, path, headers, size) + body)
            time.sleep(0.05)
        finally:
            _reset(up)
            up.close()


def _request(method: str, path: str, headers: list[bytes], size: int) -> bytes:
    keep = [
        ln
        for ln in headers
        if _name(ln)
        not in (b"connection", b"keep-alive", b"expect", b"content-length", b"transfer-encoding")
    ]
    if method in UPLOADS or size:
        keep.append(b"Content-Length: " + str(size).encode())
    return b"\r\n".join([f"{method} {path} HTTP/1.1".encode(), *keep, b"Connection: close"]) + (
        b"\r\n\r\n"
    )


def _answer(
    client: socket.socket, status: int, text: bytes, *, keep: bool, ctype: bytes = b""
) -> None:
    client.sendall(
        f"HTTP/1.1 {status} Injected\r\nContent-Length: {len(text)}\r\n".encode()
        + (b"Content-Type: " + ctype + b"\r\n" if ctype else b"")
        + (b"Connection: keep-alive\r\n\r\n" if keep else b"Connection: close\r\n\r\n")
        + text
    )


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _spoil(method: str, headers: list[bytes], body: bytes, fault: str) -> bytes:
    """``body`` with its content (a PUT's whole body, an S3 form's file part) cut in half
    (short_store) or with one byte flipped (corrupt_store)."""
    start, end = 0, len(body)
    if method == "POST":
        part = body.find(b'name="file"')
        start = body.find(b"\r\n\r\n", part) + 4
        end = body.rfind(b"\r\n--")
    content = body[start:end]
    if fault == "short_store":
        content = content[: len(content) // 2]
    elif content:
        mid = len(content) // 2
        content = content[:mid] + bytes([content[mid] ^ 0x5A]) + content[mid + 1 :]
    return body[:start] + content + body[end:]


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


def _read_chunked(reader) -> bytes:  # type: ignore[no-untyped-def]
    out = b""
    while True:
        line = reader.readline(65536)
        if not line:
            raise _Closed
        n = int(line.split(b";")[0].strip() or b"0", 16)
        if n == 0:
            while reader.readline(65536) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return out
        out += reader.read(n)
        reader.readline(65536)


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
