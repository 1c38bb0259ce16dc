"""Run a CWL document with cwltool's own executor and wfrewrite jobs; print what cwltool prints.

    out = run(RunOptions(tool="cat.cwl", job="job.yml", outdir="out",
                         options=Options(executor="podman")))

cwltool loads the document and the job, binds the job, drives the process (a CommandLineTool, or
a Workflow with its steps, through ``SingleJobExecutor``), and moves the outputs into ``outdir``
(``relocateOutputs``); each CommandLineTool job is a ``WfrewriteJob`` (``cwl_job``) that runs as a
compiled script in its own task directory under a scratch directory, removed at the end. The
output object is printed as ``cwltool`` prints it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from cwltool.errors import UnsupportedRequirement, WorkflowException
from cwltool.executors import MultithreadedJobExecutor, SingleJobExecutor
from cwltool.mutation import MutationManager
from cwltool.utils import visit_files, visit_files_directories
from schema_salad.exceptions import SchemaSaladException
from schema_salad.ref_resolver import uri_file_path
from schema_salad.utils import json_dump

from wfrewrite.compiler import cwl
from wfrewrite.compiler.cwl import Placement, salad_position
from wfrewrite.compiler.diagnostics import (
    EXIT_UNSUPPORTED,
    InputError,
    TaskFailed,
    Unsupported,
    UnsupportedError,
    WfError,
)

from ... import exec as executors
from ...options import Options
from .job import RunContext, WfrewriteJob

log = logging.getLogger("wfrewrite.cwl")


@dataclass
class RunOptions:
    tool: str
    job: str | None = None
    outdir: str = "."
    options: Options = field(default_factory=Options)  # the executor, its transport...
    leave_tmpdir: bool = False
    relax_path_checks: bool = True
    parallel: bool = False  # run independent jobs at once (cwltool's --parallel)
    # the caller began the run itself (``exec.begin_run``: its label, its sweep), before it
    # imported cwltool (the command lines do)
    swept: bool = False
    # called once the document is loaded and the job bound, before anything runs (a command
    # line turns its garbage collector back on there: cli/startup.py)
    loaded: Callable[[], None] | None = None


@dataclass
class Outcome:
    output: Any
    status: str


def run(opts: RunOptions) -> Outcome:
    """Load, bind and run; raise a WfError for bad input, an unsupported feature or an error in
    cwltool's engine; a task that fails is ``Outcome(status != "success")``."""
    ctx = cwl.loading_context(relax_path_checks=opts.relax_path_checks)
    job = cwl.read_job(opts.job, opts.tool, ctx)
    tool = cwl.load(opts.tool, ctx, images=lambda images: prefetch(opts.options, images))
    order = cwl.bind_job(tool, job, opts.tool)
    if opts.loaded is not None:
        opts.loaded()
    options = opts.options
    if not opts.swept:
        options = executors.begin_run(options, opts.outdir)
    executor = select_executor(options)
    scratch = os.path.realpath(tempfile.mkdtemp(prefix="wfrewrite-cwl-"))
    try:
        rc = RunContext()
        rc.basedir = job.basedir
        rc.outdir = os.path.abspath(opts.outdir)
        rc.tmpdir_prefix = os.path.join(scratch, "tmp")
        rc.tmp_outdir_prefix = os.path.join(scratch, "out")
        rc.default_container = opts.options.default_image
        rc.move_outputs = "move"
        rc.wf_executor = executor
        rc.wf_job_class = WfrewriteJob
        rc.wf_place = task_dirs(scratch, executor)
        rc.wf_unsupported = Unsupported(level=opts.options.unsupported)  # type: ignore[arg-type]
        where = opts.tool.split("#")[0]
        try:
            engine = MultithreadedJobExecutor() if opts.parallel else SingleJobExecutor()
            out, status = engine(tool, order, rc, logger=logging.getLogger("cwltool"))
        except (UnsupportedRequirement, WorkflowException, SchemaSaladException) as exn:
            raise _as_wf_error(exn, where) from None
        return Outcome(out, status)
    finally:
        if opts.leave_tmpdir:
            log.warning("task directories left in %s", scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def prefetch(options: Options, images: list[str]) -> None:
    """What the run's tasks will ask the executor about ``images``, asked now (``prefetch``);
    options that name no executor are left for the run to report."""
    with contextlib.suppress(WfError):
        executors.select(options).prefetch(images)


def select_executor(options: Options) -> executors.Executor:
    """The executor CWL jobs run on: in a container, inputs are real files and directories (as
    cwltool's bind mounts are), unless a link mode is given: a tool may copy them (`cp -r`),
    which would copy a relative symlink as a dangling one."""
    if options.link_mode is None and executors.resolve(options.executor) != "local":
        options = dataclasses.replace(options, link_mode="hardlink")
    return executors.select(options)


def task_dirs(scratch: str, executor: executors.Executor) -> Callable[[], Placement]:
    """Makes one task directory under ``scratch`` per job, placed for ``executor``."""

    def place() -> Placement:
        host = tempfile.mkdtemp(prefix="task-", dir=scratch)
        return Placement(
            host_root=host,
            root=executor.container_root(host),
            container=executor.name != "local",
        )

    return place


def _as_wf_error(exn: BaseException, where: str) -> WfError:
    """The WfError behind a cwltool error (a job raises one with its cause), or one made of it."""
    cause: BaseException | None = exn
    while cause is not None:
        if isinstance(cause, WfError):
            return cause
        cause = cause.__cause__
    pos, msg = salad_position(exn)
    if isinstance(exn, UnsupportedRequirement):
        return UnsupportedError(msg, pos)
    if "Invalid job input record" in str(exn):
        return InputError(f"the job does not match the tool's inputs: {msg}", pos)
    if isinstance(exn, SchemaSaladException):  # an input that fails validation, a missing file
        return InputError(msg, pos)
    return TaskFailed(msg, pos)


def exit_code(err: WfError) -> int:
    """The runner's exit code: 33 for an unsupported feature (cwltest's convention), else the
    error's own (2 for bad input, 1 for a failed task)."""
    return EXIT_UNSUPPORTED if isinstance(err, UnsupportedError) else err.exit_code


def output_object(out: Any) -> Any:
    """The output object as ``cwltool`` shows it: ``path`` beside ``location``, no ``nameext``,
    ``nameroot``, ``dirname`` or generation marks."""

    def loc_to_path(obj: Any) -> None:
        for key in ("path", "nameext", "nameroot", "dirname"):
            obj.pop(key, None)
        if obj["location"].startswith("file://"):
            obj["path"] = uri_file_path(obj["location"])

    visit_files_directories(out, loc_to_path)
    visit_files(out, MutationManager().unset_generation)
    return out


def print_output(out: Any, stdout: IO[str] = sys.stdout) -> None:
    """The output object printed exactly as ``cwltool`` prints it."""
    json_dump(output_object(out), stdout, indent=4, ensure_ascii=False, default=str)
    stdout.flush()
