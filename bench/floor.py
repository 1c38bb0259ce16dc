"""bench/floor: N bare trivial busybox tasks sent straight to a platform, J at a time: the floor
that bench/engines.py and bench/scaling.py measure every engine against (under GNU time).

    podman       N x `podman run --rm busybox:latest sh -c 'echo hello I > /dev/null'`, xargs -P J
    tes          N tasks created through py-tes, J in flight, each polled as the tes executor
                 polls (view MINIMAL, every 50 ms for 2 s, then doubling up to 1 s) until it
                 ends
    kubernetes   N Jobs of the executor's pod shape (bench/k8s.py's bare_job: hostNetwork,
                 read-only root; created, its pod watched to its end, its log read, deleted)

    python bench/floor.py tes --tasks 24 --jobs 2 [--tes-url http://127.0.0.1:8000]
    python bench/floor.py kubernetes --tasks 24 --jobs 2      # KUBECONFIG or the test bed's

Exits 1 when a task does not succeed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGE = "busybox:latest"
TES_URL = "http://127.0.0.1:8000"
TES_ENDED = ("COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED")


def podman_command(tasks: int, jobs: int) -> str:
    """The podman floor as one shell command (run it under GNU time)."""
    return (
        f"seq 0 {tasks - 1} | xargs -P {jobs} -I@ podman run --rm {IMAGE} "
        "sh -c 'echo hello @ > /dev/null'"
    )


def tes_task(url: str, i: int) -> None:
    import tes

    from wfrewrite.runtime.exec.tes import POLL_FIRST, next_poll  # as the tes executor polls

    client = tes.HTTPClient(url, timeout=10)
    cmd = ["sh", "-c", f"echo hello {i} > /dev/null"]
    task_id = client.create_task(tes.Task(executors=[tes.Executor(image=IMAGE, command=cmd)]))
    delay, since = POLL_FIRST, time.monotonic()
    while (state := tes_state(url, task_id)) not in TES_ENDED:
        time.sleep(delay)
        delay = next_poll(delay, time.monotonic() - since)
    if state != "COMPLETE":
        raise SystemExit(f"bare TES task {task_id}: {state}")


_conns = threading.local()


def tes_state(url: str, task_id: str) -> str:
    """A TES task's state (view MINIMAL), asked on this thread's kept-open connection, as the
    tes executor asks (runtime/exec/tes.py TesExecutor._get)."""
    parts = urllib.parse.urlsplit(url)
    conn = getattr(_conns, "conn", None)
    if conn is None:
        conn = _conns.conn = http.client.HTTPConnection(parts.netloc, timeout=10)
    conn.request("GET", f"{parts.path.rstrip('/')}/ga4gh/tes/v1/tasks/{task_id}?view=MINIMAL")
    reply = conn.getresponse()
    body = reply.read()
    if reply.status != 200:
        raise SystemExit(f"bare TES task {task_id}: HTTP {reply.status} {body[:200]!r}")
    return str(json.loads(body).get("state", "UNKNOWN"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("platform", choices=("podman", "tes", "kubernetes"))
    ap.add_argument("--tasks", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--tes-url", default=TES_URL)
    a = ap.parse_args()
    if a.platform == "podman":
        return subprocess.run(podman_command(a.tasks, a.jobs), shell=True, check=False).returncode
    if a.platform == "tes":
        one = lambda i: tes_task(a.tes_url, i)  # noqa: E731
    else:
        sys.path.insert(0, str(HERE))
        from k8s import bare_job, clients

        client, core, batch = clients()
        one = lambda i: bare_job(client, core, batch)  # noqa: E731
    with ThreadPoolExecutor(a.jobs) as pool:
        list(pool.map(one, range(a.tasks)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
