"""A task's slot frees the moment its process ends, and no more than N tasks hold one: the
pidfd wait (``wait_exit``), ``Slots``, and `wfrewrite run` preparing tasks ahead of their slots
(miniwdl's task pool twice the size, ``[scheduler] task_concurrency`` tasks running at once)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import BIN, ROOT

from wfrewrite.runtime.exec.base import wait_exit
from wfrewrite.runtime.exec.slots import Slots, Terminated


def test_wait_exit_returns_the_exit_code_or_none_after_the_timeout() -> None:
    proc = subprocess.Popen(["sh", "-c", "sleep 0.3; exit 7"])
    assert wait_exit(proc, 0.05) is None
    assert wait_exit(proc, 10) == 7
    assert wait_exit(proc, 10) == 7  # reaped: the code it kept


def test_wait_exit_wakes_on_the_exit_itself() -> None:
    """Popen.wait(timeout) polls with sleeps of up to 50 ms; the pidfd wakes at the exit. Over
    20 short processes the mean lag stays well under that poll's mean (25 ms), even on a busy
    machine (a generous bound: this is not a timing benchmark)."""
    lags = []
    for _ in range(20):
        proc = subprocess.Popen(["sh", "-c", "sleep 0.12"])
        start = time.monotonic()
        assert wait_exit(proc, 10) == 0
        lags.append(time.monotonic() - start - 0.12)
    assert sum(lags) / len(lags) < 0.02, lags


def test_slots_hold_at_most_n_and_stop_waiting_when_terminating() -> None:
    slots = Slots(2)
    running, peak, lock = [0], [0], threading.Lock()

    def task() -> None:
        with slots.gate():
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=task) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2
    waited = []
    full = slots.gate(lambda: True, on_wait=lambda: waited.append(1))
    with slots.gate(), slots.gate(), pytest.raises(Terminated), full:
        pass
    assert waited == [1]
    with slots.gate(), slots.gate():  # every slot came back
        pass


TASKS = """version 1.0
workflow ahead {
  input { String dir }
  scatter (i in range(6)) { call t { input: dir = dir, i = i } }
}
task t {
  input { String dir
          Int i }
  command <<<
    touch "~{dir}/running.~{i}"
    ls "~{dir}" | grep -c running > "~{dir}/seen.~{i}"
    sleep 0.4
    rm "~{dir}/running.~{i}"
  >>>
}
"""


def test_wfrewrite_run_prepares_tasks_ahead_and_runs_n_at_a_time(tmp_path: Path) -> None:
    """miniwdl's pool holds 4 tasks (2 x task_concurrency), 2 of them run at a time: every task
    saw at most 2 running, the others waited for a slot, and all 6 succeeded."""
    (tmp_path / "ahead.wdl").write_text(TASKS)
    shared = tmp_path / "shared"
    shared.mkdir()
    (tmp_path / "cfg").write_text("[scheduler]\ntask_concurrency = 2\n")
    p = subprocess.run(
        [str(BIN / "wfrewrite"), "run", str(tmp_path / "ahead.wdl"), "-i",
         json.dumps({"ahead.dir": str(shared)}), "--executor", "local", "--cfg",
         str(tmp_path / "cfg"), "--dir", str(tmp_path / "run")],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    seen = [int((shared / f"seen.{i}").read_text()) for i in range(6)]
    assert max(seen) <= 2, seen
    log = next((tmp_path / "run").glob("*_ahead/workflow.log")).read_text()
    assert "task_concurrency: 4" in log
    assert "wfrewrite: waiting for a slot" in log
