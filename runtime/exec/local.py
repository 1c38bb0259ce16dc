"""The ``local`` executor: the script runs on the host, in the task's directory, with /bin/sh.

    ex = LocalExecutor(Options(executor="local"), MountedTransport(...))
    job = ex.prepare(plan, "/runs/t1")     # root = /runs/t1 itself; inputs linked from their paths
    ex.run(job)                            # /bin/sh /runs/t1/wfrewrite/script.sh, cwd /runs/t1

No image runs (the embedded default on a machine without a container engine): an argv command
gets no ENTRYPOINT, and what only a container gives (GPUs, a work dir at another path, disks at
mount points) is reported as unsupported.
"""

from __future__ import annotations

import logging
import os
import subprocess

from wfrewrite.compiler.diagnostics import Unsupported, UnsupportedError
from wfrewrite.compiler.plan import TaskPlan

from ..job import Job
from .base import Executor, Terminating, kill_group, wait_for

log = logging.getLogger("wfrewrite.executor")


class LocalExecutor(Executor):
    name = "local"
    isolated = False

    def container_root(self, host_root: str) -> str:
        return os.path.realpath(host_root)

    def report(self, plan: TaskPlan, unsupported: Unsupported) -> None:
        if plan.layout.work_alias:
            raise UnsupportedError(
                f"a work dir at {plan.layout.work_alias}",
                plan.source,
                "the local executor runs on the host; use a container executor",
            )
        report_host_limits(self.name, plan, unsupported)
        if plan.stage and not self._said_copies:
            self._said_copies = True
            mode = self.options.link_mode
            log.info(
                "local executor: inputs are copied into each task's directory (sharing blocks "
                "where the filesystem can), so that no task can change them%s",
                f"; --link-mode {mode} does not apply on the host"
                if mode not in (None, "copy")
                else "",
            )

    _said_copies = False

    def allowed_outside(self, plan: TaskPlan) -> tuple[str, ...]:
        return tuple(s.source for s in plan.stage if s.source.startswith("/"))

    def launch_argv(self, job: Job) -> list[str]:
        return ["/bin/sh", os.path.join(job.meta, "script.sh")]

    def execute(self, job: Job, terminating: Terminating) -> tuple[int, str]:
        log_path = os.path.join(job.meta, "script.log")
        with open(log_path, "wb") as logf:
            proc = subprocess.Popen(
                self.launch_argv(job),
                cwd=job.host_root,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            code = wait_for(proc, terminating, lambda: kill_group(proc))
        return code, log_path


def report_host_limits(name: str, plan: TaskPlan, unsupported: Unsupported) -> None:
    """What a task asks of the machine that an executor running it on this host cannot give:
    GPUs, disks at mount points (errors), preemptible machines (a warning: it runs here)."""
    r = plan.resources
    if r.gpu:
        unsupported.report(plan.source, "GPUs", f"the {name} executor gives a task no GPU")
    for m in r.mounts:
        unsupported.report(
            plan.source,
            f"a disk at {m.path}",
            f"the {name} executor cannot mount disks for a task; write under the work dir",
        )
    if r.preemptible:
        unsupported.report(
            plan.source,
            "runtime key 'preemptible'",
            f"the {name} executor has no preemptible machines; the task runs on this one",
            hint=True,
        )
