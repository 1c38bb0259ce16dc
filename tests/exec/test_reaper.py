"""The reaper (exec/base.py ``reaper``, runtime/sh/reaper.sh): one process holds every job of a
driver that shares a cleanup command; a job whose block ended is let go; when the driver dies by
SIGKILL the command runs for each job still held, and only for those. Real processes: the
driver is a child Python, the cleanup command a shell that records its argument."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def run_driver(tmp: Path, body: str) -> subprocess.Popen[str]:
    # the command's last word is the job's name: sh -c '...' reaped RECORD NAME
    script = tmp / "driver.py"
    script.write_text(
        "import sys, time\n"
        "from wfrewrite.runtime.exec.base import reaper\n"
        "record = sys.argv[1]\n"
        "def argv(job):\n"
        "    return ['sh', '-c', 'echo \"$2\" >> \"$1\"', 'reaped', record, job]\n" + body
    )
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp / "reaped")],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@contextlib.contextmanager
def ready_driver(tmp: Path, body: str) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """The driver running ``body`` once it has said "ready", and the file its reaper records
    in; killed (its process group) on the way out if it still runs."""
    proc = run_driver(tmp, body)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield proc, tmp / "reaped"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL to the driver's whole process group, as Toil kills a job."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def reapers_of(record: Path) -> list[str]:
    p = subprocess.run(["pgrep", "-f", f"reaper.sh .*{record}"], capture_output=True, text=True)
    return p.stdout.split()


def reaped(record: Path, want: set[str]) -> set[str]:
    deadline = time.monotonic() + 20
    got: set[str] = set()
    while time.monotonic() < deadline:
        got = set(record.read_text().split()) if record.exists() else set()
        if got >= want:
            time.sleep(0.3)  # and nothing more comes
            return set(record.read_text().split())
        time.sleep(0.1)
    return got


def test_one_reaper_holds_the_jobs_and_reaps_only_those_still_running(tmp_path: Path) -> None:
    body = (
        "with reaper(argv('a')), reaper(argv('b')):\n"
        "    with reaper(argv('done')):\n"
        "        pass\n"
        "    with reaper(argv('c')):\n"
        "        print('ready', flush=True)\n"
        "        time.sleep(300)\n"
    )
    with ready_driver(tmp_path, body) as (proc, record):
        assert len(reapers_of(record)) == 1, "one reaper for the jobs of one command"
        kill(proc)
        assert reaped(record, {"a", "b", "c"}) == {"a", "b", "c"}
        deadline = time.monotonic() + 10
        while reapers_of(record) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not reapers_of(record), "the reaper ends once it has reaped"


def test_a_driver_that_ends_its_jobs_leaves_nothing_to_reap(tmp_path: Path) -> None:
    body = "for job in ('a', 'b'):\n    with reaper(argv(job)):\n        pass\nprint('ready', flush=True)\n"
    proc = run_driver(tmp_path, body)
    record = tmp_path / "reaped"
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    assert proc.wait(timeout=10) == 0
    time.sleep(0.5)
    assert not record.exists(), "a job whose block ended is never reaped"


def test_a_reaper_killed_by_hand_is_started_again_with_the_jobs_held(tmp_path: Path) -> None:
    body = (
        "import subprocess\n"
        "with reaper(argv('a')):\n"
        "    subprocess.run(['pkill', '-KILL', '-f', 'reaper.sh .*' + record])\n"
        "    time.sleep(0.5)\n"
        "    with reaper(argv('b')):\n"
        "        print('ready', flush=True)\n"
        "        time.sleep(300)\n"
    )
    with ready_driver(tmp_path, body) as (proc, record):
        kill(proc)
        assert reaped(record, {"a", "b"}) == {"a", "b"}


def test_a_forked_child_does_not_keep_its_parents_reaper_waiting(tmp_path: Path) -> None:
    """A child forked while a job is held (as Toil's forking worker starts its workers) gives
    up its copy of the reaper's pipe: the parent's death alone ends the pipe, and the job is
    reaped while the child lives on (it says "ready" once it is in a session of its own)."""
    body = (
        "import os\n"
        "with reaper(argv('a')):\n"
        "    child = os.fork()\n"
        "    if child == 0:\n"
        "        os.setsid()\n"
        "        print('ready', os.getpid(), flush=True)\n"
        "        time.sleep(300)\n"
        "        os._exit(0)\n"
        "    time.sleep(300)\n"
    )
    proc = run_driver(tmp_path, body)
    record = tmp_path / "reaped"
    child = 0
    try:
        assert proc.stdout is not None
        said, _, pid = proc.stdout.readline().strip().partition(" ")
        assert said == "ready"
        child = int(pid)
        kill(proc)
        assert reaped(record, {"a"}) == {"a"}
        state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert state != "Z", "the child lives on, in a session of its own"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
