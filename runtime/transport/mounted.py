"""The ``mounted`` transport: the task's directory is mounted into the container (or is simply
there, with ``local``), and inputs are linked or copied into it from a staging directory.

    passes(isolated=True, link_mode="symlink") == [link_mode("symlink"), stage_dir("stage")]
    finish(job, facts): /data/a.txt is hard-linked (or copied) to <task dir>/stage/0/a.txt;
    the script then links work/_miniwdl_inputs/0/a.txt to ../../../stage/0/a.txt

With ``local`` (not isolated) the script reaches the host paths themselves and no staging
directory is made. Outputs stay where the command left them, on the mount.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from wfrewrite.compiler.plan import Pass, TaskPlan
from wfrewrite.compiler.plan.passes import link_mode as link_mode_pass
from wfrewrite.compiler.plan.passes import stage_dir, stage_names

from ..job import Job
from .base import Transport

STAGE = "stage"  # the staging directory, under the task's directory


class MountedTransport(Transport):
    name = "mounted"
    mounts = True

    def gather(self, plan: TaskPlan, host_root: str) -> list[tuple[str, str]]:
        """(host source, name under the staging dir) of every input (no I/O)."""
        return stage_names(plan)

    def passes(self, *, isolated: bool, link_mode: str) -> list[Pass]:
        mode = link_mode_pass(self.options.link_mode or link_mode)
        return [mode, stage_dir(STAGE)] if isolated else [mode]

    def finish(self, job: Job, facts: Any) -> Job:
        if job.plan.layout.stage:
            for source, name in facts or ():
                materialize(source, os.path.join(job.host_root, STAGE, name))
        return job


def materialize(source: str, dest: str) -> None:
    """Put a host input under the staging dir: hard link where possible, else copy."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.lexists(dest):
        return
    if os.path.isdir(source):
        shutil.copytree(source, dest, symlinks=False, copy_function=link_or_copy)
    else:
        link_or_copy(source, dest)


def link_or_copy(source: str, dest: str) -> None:
    source = os.path.realpath(source)  # link(2) would link a symlink itself, not its target
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)
