"""The tes executor's dead man's switch: it cancels the TES tasks of a driver that is gone.

    reaper = Reaper("http://127.0.0.1:8000")     # python -I -S tes_reaper.py URL
    reaper.watch("d8f2...")                      # writes "+d8f2...\\n" to the reaper's stdin
    reaper.done("d8f2...")                       # "-d8f2...\\n": the driver saw it end

The driver holds the only write end of the reaper's stdin. When that ends -- the driver exited,
or was killed outright (SIGKILL: Toil's kill of a worker's process group, the OOM killer) or
crashed -- the reaper cancels every task still watched, then exits. It runs in a session of its
own, so that a signal to the driver's process group (Ctrl-C, Toil's ``killpg``) leaves it to do
its work. The standard library only, run as a file (not through the package): it starts in a
few tens of milliseconds, once per driver process and server.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from typing import IO


def cancel(url: str, task_id: str) -> None:
    """POST .../tasks/{id}:cancel (a task that has ended already is left as it is)."""
    req = urllib.request.Request(
        f"{url.rstrip('/')}/ga4gh/tes/v1/tasks/{task_id}:cancel",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with contextlib.suppress(urllib.error.URLError, OSError):
        urllib.request.urlopen(req, timeout=10).read()


class Reaper:
    """The driver's side: one reaper process per server, started at the first task."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def _pipe(self) -> IO[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", __file__, self.url],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        assert self._proc.stdin is not None
        return self._proc.stdin

    def _say(self, line: str) -> None:
        with self._lock:
            for _ in range(2):  # a reaper that died is started again
                try:
                    pipe = self._pipe()
                    pipe.write(line.encode() + b"\n")
                    pipe.flush()
                    return
                except (BrokenPipeError, OSError):
                    self._proc = None

    def watch(self, task_id: str) -> None:
        self._say("+" + task_id)

    def done(self, task_id: str) -> None:
        self._say("-" + task_id)


def main(argv: list[str]) -> int:
    url = argv[1]
    watched: dict[str, None] = {}
    for raw in sys.stdin.buffer:
        line = raw.decode(errors="replace").strip()
        if line.startswith("+"):
            watched[line[1:]] = None
        elif line.startswith("-"):
            watched.pop(line[1:], None)
    for task_id in watched:
        cancel(url, task_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
