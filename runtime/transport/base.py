"""The transport interface: how a task's bytes reach its container and come back.

    t = for_options(Options(transport="url", store="http://127.0.0.1:8089/wfr/"), "mounted")
    facts = t.gather(plan, "/runs/t1")                 # I/O the passes need (url: the uploads)
    plan = run_passes(plan, facts, t.passes(isolated=True, link_mode="symlink"))
    job = t.finish(Job(plan=plan, script=emit(plan), ...), facts)   # after emitting, once
    ... the executor runs job.script ...
    t.fetch(job.plan, "/runs/t1")                      # url: the manifest and outputs, home

An executor is *given* its transport (``wfrewrite.runtime.exec.select`` builds both from the
options) and calls these hooks in this order; the script's own half of each transport is
``runtime/sh/transport_<name>.sh``. ``mounts`` says whether the executor mounts the task's
directory into the container (mounted) or nothing at all (url, platform).
"""

from __future__ import annotations

from typing import Any, ClassVar

from wfrewrite.compiler.plan import Pass, TaskPlan

from ..job import Job
from ..options import Options


class Transport:
    name: ClassVar[str] = "base"
    mounts: ClassVar[bool] = True
    # fetch() checks every object's size and sha1 against the manifest as it brings it home
    verifies: ClassVar[bool] = False

    def __init__(self, options: Options) -> None:
        self.options = options

    def container_root(self, mounted_root: str) -> str:
        """The task's root inside the container, given where the executor would mount it."""
        return mounted_root

    def gather(self, plan: TaskPlan, host_root: str) -> Any:
        """What the passes need to know that takes I/O (None: nothing)."""
        return None

    def passes(self, *, isolated: bool, link_mode: str) -> list[Pass]:
        """The pure passes binding a plan to this transport. ``isolated``: the task runs in a
        container that sees only what is mounted; ``link_mode``: the executor's default."""
        return []

    def finish(self, job: Job, facts: Any) -> Job:
        """The last step before the run, once the script is emitted."""
        return job

    def release(self, plan: TaskPlan, host_root: str, keep: set[str]) -> None:
        """After the run (its manifest read, or not there): let go of what stands for the
        inputs in the task's directory; ``keep``: the real paths of outputs, kept as files."""

    def fetch(self, plan: TaskPlan, host_root: str) -> bool:
        """After the run: bring the manifest and the outputs into ``host_root`` where they are
        not there already; False if there is no manifest to bring."""
        return True
