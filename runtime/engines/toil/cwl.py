"""Toil's CWL runner, with each CommandLineTool job run as a wfrewrite script (Toil internals).

    restore = patch(options)   # in each worker, around each job (WorkerContext)

Toil's ``ToilCommandLineTool`` gets wfrewrite's job layout and job class
(``compiler.cwl.wf_jobs``, ``engines.cwltool.job.WfrewriteJob``): Toil's path mapper still
fetches the inputs from the job store, the job runs as a compiled script through a wfrewrite
executor, and cwltool collects the outputs for Toil to upload. File names are checked as
wfrewrite-cwl-runner checks them (relaxed: every value reaches the script quoted).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

from ...options import Options


def patch(options: Options) -> Callable[[], None]:
    """Install the CWL patches (a no-op without Toil's cwl extra); returns what undoes them."""
    try:
        from toil.cwl.cwltoil import ToilCommandLineTool
    except ImportError:  # Toil without its cwl extra
        return lambda: None

    from cwltool.command_line_tool import PathCheckingMode

    from wfrewrite.compiler.cwl import wf_jobs
    from wfrewrite.compiler.diagnostics import Unsupported

    from ..cwltool.job import WfrewriteJob
    from ..cwltool.run import select_executor, task_dirs

    original_job = ToilCommandLineTool.job
    original_runner = ToilCommandLineTool.make_job_runner
    state: dict[str, Any] = {}

    def executor() -> Any:
        if "executor" not in state:
            state["executor"] = select_executor(options)
        return state["executor"]

    def job(tool: Any, job_order: Any, output_callbacks: Any, runtimeContext: Any) -> Any:
        # file names with shell metacharacters (a '#', a space) are fine: every value reaches
        # the script quoted; wfrewrite-cwl-runner relaxes the same check by default
        tool.path_check_mode = PathCheckingMode.RELAXED
        rc = runtimeContext.copy()
        ex = executor()
        base_dir = os.path.dirname(rc.tmpdir_prefix) if rc.tmpdir_prefix else None
        scratch = os.path.realpath(tempfile.mkdtemp(prefix="wfrewrite-", dir=base_dir))
        rc.wf_executor = ex
        rc.wf_job_class = WfrewriteJob
        rc.wf_unsupported = Unsupported(level=options.unsupported)  # type: ignore[arg-type]
        rc.wf_place = task_dirs(scratch, ex)
        rc.default_container = rc.default_container or ex.options.default_image

        def base(order: Any, callbacks: Any, context: Any) -> Any:
            return original_job(tool, order, callbacks, context)

        yield from wf_jobs(tool, base, job_order, output_callbacks, rc)

    ToilCommandLineTool.job = job
    ToilCommandLineTool.make_job_runner = lambda tool, rc: WfrewriteJob

    def restore() -> None:
        ToilCommandLineTool.job = original_job
        ToilCommandLineTool.make_job_runner = original_runner

    return restore
