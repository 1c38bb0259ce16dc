"""The ``mounted`` transport: the task's directory is mounted into the container (or is simply
there, with ``local``), and the inputs are where the task can read them and never change them.

    passes(isolated=True, link_mode="symlink")
        == [link_mode("symlink"), readonly_inputs, stage_dir("stage")]
    finish(job, facts): /data/a.txt is hard-linked (or copied) to
        <task dir>/work/_miniwdl_inputs/0/a.txt, and the executor mounts
        <task dir>/work/_miniwdl_inputs at /mnt/wfr/work/_miniwdl_inputs read-only

In a container every input is on a read-only mount whatever the link mode: inputs in their own
directories (miniwdl's ``_miniwdl_inputs``, cwltool's ``inputs``) are placed there by the
executor and that directory is mounted read-only; any other (a CWL InitialWorkDir entry in the
work dir) comes from the staging directory, also mounted read-only, by a symlink (a write through
it fails), a copy, or a hard link that becomes a copy across the mounts; writable inputs are
copies. With ``local`` (not isolated) nothing can be mounted: inputs are copied (sharing blocks
where the filesystem can), so the task cannot change the user's files either. Outputs stay where
the command left them, on the mount.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from wfrewrite.compiler.plan import Pass, TaskPlan
from wfrewrite.compiler.plan.passes import link_mode as link_mode_pass
from wfrewrite.compiler.plan.passes import (
    placed_inputs,
    readonly_inputs,
    stage_dir,
    stage_names,
)

from ..job import Job
from .base import Transport

STAGE = "stage"  # the staging directory, under the task's directory


class MountedTransport(Transport):
    name = "mounted"
    mounts = True

    def gather(self, plan: TaskPlan, host_root: str) -> list[tuple[str, str]]:
        """(host source, where under the task's directory) of every input the executor puts in
        place before the run: in a read-only area, or in the staging dir (no I/O)."""
        out = [(src, plan.layout.relative(path)) for src, path in placed_inputs(plan)]
        rest = stage_names(readonly_inputs(plan, None))
        return out + [(src, os.path.join(STAGE, name)) for src, name in rest]

    def passes(self, *, isolated: bool, link_mode: str) -> list[Pass]:
        if not isolated:  # nothing can be mounted read-only: copies protect the user's files
            return [link_mode_pass("copy")]
        mode = link_mode_pass(self.options.link_mode or link_mode)
        return [mode, readonly_inputs, stage_dir(STAGE)]

    def finish(self, job: Job, facts: Any) -> Job:
        lay = job.plan.layout
        if lay.stage or lay.readonly:
            for source, rel in facts or ():
                materialize(source, os.path.join(job.host_root, rel))
        return job

    def release(self, plan: TaskPlan, host_root: str, keep: set[str]) -> None:
        """The inputs put in place are hard links to the users' files: once the task is done
        they go (an engine may chmod the task's directory, as miniwdl does), but for those an
        output resolves to, which become copies of their own."""
        lay = plan.layout
        dirs = [*lay.readonly, *((lay.stage,) if lay.stage else ())]
        for d in dirs:
            top = os.path.join(host_root, lay.relative(d))
            for dirpath, _, filenames in os.walk(top):
                for name in filenames:
                    path = os.path.join(dirpath, name)
                    if os.path.realpath(path) in keep:
                        unshare(path)
                    else:
                        os.unlink(path)


def unshare(path: str) -> None:
    """``path`` as a file of its own (a copy in place of a hard link)."""
    if os.stat(path).st_nlink > 1:
        tmp = path + ".wfr-copy"
        shutil.copy2(path, tmp)
        os.replace(tmp, path)


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
