"""A task ready to run, and what running it gave.

    job = executor.prepare(plan, "/runs/t1")   # Job(plan=..., script="#!/bin/sh ...", ...)
    result = executor.run(job)                 # RunResult(exit_code=0, manifest=..., log_path=...)

``Job.script`` is the plan emitted once; everything that runs the task (a container, a Slurm
job, a TES task, a Pod) runs that text. ``Job.name`` is unique per attempt and names what the
executor starts; ``Job.labels`` are put on it so that it can be found and removed later.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from dataclasses import dataclass, field

from wfrewrite.compiler.plan.ir import TaskPlan

from .manifest import Manifest


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    plan: TaskPlan
    script: str
    host_root: str  # the task's directory on this machine
    name: str  # unique: wfr-<task>-<12 hex>
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def meta(self) -> str:
        """The script's own files on the host (script.sh, plan.json, manifest.json...)."""
        return os.path.join(self.host_root, "wfrewrite")

    def replace(self, **changes: object) -> Job:
        from dataclasses import replace

        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class RunResult:
    exit_code: int
    manifest: Manifest | None
    log_path: str


# Labels on everything an executor starts (container labels, TES tags, Kubernetes labels, a
# Slurm job's comment): the run it belongs to, the task, the job (one attempt).
LABEL_RUN = "wfrewrite/run"
LABEL_TASK = "wfrewrite/task"
LABEL_JOB = "wfrewrite/job"
LABEL_DRIVER = "wfrewrite/driver"  # the process that started it: host.pid.starttime


def label_value(text: str) -> str:
    """``text`` as a label value every platform takes (Kubernetes': 63 characters at most,
    alphanumerics, '-', '_', '.', starting and ending with an alphanumeric)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:63].strip("-_.")
    return safe or "x"


def run_label_of(directory: str) -> str:
    """The run label of a run directory or Toil job store: the same for every task of it,
    whichever process asks (a sweep at the next start finds what a killed driver left)."""
    import hashlib

    return "r" + hashlib.sha1(os.path.realpath(directory).encode()).hexdigest()[:16]


def driver_id(pid: int | None = None) -> str:
    """This process (or ``pid``) as a label value: host, pid and start time (a pid is reused,
    the pair is not). This process's is worked out once (per pid: a forked child has its own)."""
    global _own_id
    me = os.getpid()
    if pid not in (None, me):
        return _driver_id(pid)
    if _own_id is None or _own_id[0] != me:
        _own_id = (me, _driver_id(me))
    return _own_id[1]


_own_id: tuple[int, str] | None = None


def _driver_id(pid: int) -> str:
    return label_value(f"{socket.gethostname()[:30]}.{pid}.{_start_time(pid)}")


def driver_alive(value: str) -> bool:
    """Whether the driver a ``LABEL_DRIVER`` value names still runs (a driver on another host
    counts as alive: only its own host can tell)."""
    host, _, rest = value.rpartition(".")[0].rpartition(".")
    start = value.rpartition(".")[2]
    if not host or host != label_value(socket.gethostname()[:30]):
        return True
    try:
        pid = int(rest)
    except ValueError:
        return True
    return _start_time(pid) == start


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return "gone"


def job_name(task: str) -> str:
    """A unique, DNS-label-safe name for one attempt of ``task``."""
    safe = re.sub(r"[^a-z0-9-]+", "-", task.lower()).strip("-")[:40] or "task"
    return f"wfr-{safe}-{uuid.uuid4().hex[:12]}"
