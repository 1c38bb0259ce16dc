"""A cwltool job that runs as a compiled script, and collects its outputs the way cwltool does.

cwltool keeps doing what it does (binding, path maps, ``runtime.*``, the workflow engine); at the
moment it would start a process or a container, ``WfrewriteJob.run``

    plan   = self.plan(ctx, unsupported)               # lowered from cwltool's job (compiler.cwl)
    job    = executor.prepare(plan, host_root)         # default image, entrypoint, staging dir
    result = executor.run(job)                         # script.sh in the image; manifest.json
    relink_initialworkdir(...)                         # cwltool's: IWD inputs point at sources
    outputs = self.collect_outputs(host_outdir, rc)    # cwltool's collect_output_ports

and hands cwltool the output object and the process status (``success``, ``temporaryFail``,
``permanentFail``) through the job's output callback, exactly as cwltool's own jobs do.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from typing import Any

from cwltool.context import RuntimeContext
from cwltool.errors import UnsupportedRequirement, WorkflowException
from cwltool.job import relink_initialworkdir
from cwltool.utils import bytes2str_in_dicts, visit_files_directories
from schema_salad.ref_resolver import uri_file_path

from wfrewrite.compiler.cwl import PlanningJob, WfRuntimeContext
from wfrewrite.compiler.diagnostics import Unsupported, UnsupportedError, WfError, render
from wfrewrite.compiler.plan import TaskPlan, within

from ... import exec as executors

log = logging.getLogger("wfrewrite.cwl")

# Manifest status -> cwltool process status (a run that produced no outputs is a failure).
STATUS = {
    "succeeded": "success",
    "command_failed": "permanentFail",
    "command_tempfail": "temporaryFail",
}


class RunContext(WfRuntimeContext):
    """The runtime context of a wfrewrite run: the executor every job runs on."""

    def __init__(self, kwargs: dict[str, Any] | None = None) -> None:
        self.wf_executor: executors.Executor | None = None
        super().__init__(kwargs)


def fit_resources(plan: TaskPlan, limits: dict[str, int] | None) -> TaskPlan:
    """CWL resources are requests (min..max), not limits a run may fail on: the cpu limit is at
    most what the executor can give one task (where it runs it; no bound where that is not
    known here)."""
    cpu = plan.resources.cpu
    if limits is not None and cpu is not None and cpu > limits["cpu"]:
        log.info("task %s asks for %g cores; the executor has %d", plan.name, cpu, limits["cpu"])
        return plan.replace(resources=dataclasses.replace(plan.resources, cpu=float(limits["cpu"])))
    return plan


class WfrewriteJob(PlanningJob):
    def run(
        self, runtimeContext: RuntimeContext, tmpdir_lock: threading.Lock | None = None
    ) -> None:
        settings = self.wf_context or runtimeContext
        executor: executors.Executor | None = getattr(settings, "wf_executor", None)
        unsupported: Unsupported | None = getattr(settings, "wf_unsupported", None)
        if executor is None or unsupported is None:
            raise WorkflowException(
                "wfrewrite: a CWL job runs with a wfrewrite executor in its context"
            )
        host_root = self.wf_place.host_root
        try:
            plan = self.plan(runtimeContext, unsupported)
            for warning in unsupported.warnings:
                log.warning("%s", warning)
            unsupported.warnings.clear()
            try:
                limits = executor.limits()
                job = executor.prepare(fit_resources(plan, limits), host_root, unsupported)
            finally:
                for warning in unsupported.warnings:
                    log.warning("%s", warning)
                unsupported.warnings.clear()
            unsupported.finish()  # level "collect": everything unsupported, at once
            plan = job.plan
            log.info(
                "[job %s] %s executor, image %s, in %s",
                self.name,
                executor.name,
                plan.image if executor.name != "local" else "(host)",
                host_root,
            )
            result = executor.run(job)
        except UnsupportedError as exn:
            raise UnsupportedRequirement(render(exn)) from exn
        except WfError as exn:
            raise WorkflowException(render(exn)) from exn
        manifest = result.manifest
        assert manifest is not None
        status = STATUS.get(manifest.status, "permanentFail")
        outputs: Any = {}
        if manifest.status not in STATUS:
            log.error("[job %s] %s: %s", self.name, manifest.status, manifest.message)
            _log_tail(self.name, result.log_path)
        else:
            if status != "success":
                log.warning("[job %s] %s", self.name, manifest.message)
                _log_tail(self.name, plan_stderr(plan, host_root))
            if self.generatemapper is not None:
                relink_initialworkdir(
                    self.generatemapper,
                    self.outdir,
                    self.builder.outdir,
                    inplace_update=self.inplace_update,
                )
            rc = manifest.rc if manifest.rc is not None else result.exit_code
            try:
                outputs = bytes2str_in_dicts(self.collect_outputs(self.outdir, rc))
                self.refuse_outside(outputs)
            except WorkflowException as exn:
                log.error("[job %s] collecting the outputs: %s", self.name, exn)
                outputs, status = {}, "permanentFail"
        if status == "success":
            log.info("[job %s] completed %s", self.name, status)
        else:
            log.warning("[job %s] completed %s", self.name, status)
        if runtimeContext.workflow_eval_lock is None:
            raise WorkflowException("runtimeContext.workflow_eval_lock must not be None")
        if self.output_callback:
            with runtimeContext.workflow_eval_lock:
                self.output_callback(outputs, status)

    def refuse_outside(self, outputs: Any) -> None:
        """An output in the output dir that resolves outside it (a symlink to $TMPDIR, /tmp...)
        is not an output, unless it resolves to one of the inputs."""
        outdir = os.path.realpath(self.outdir)
        allowed = [outdir]
        for mapper in (self.builder.pathmapper, self.generatemapper):
            for _, ent in mapper.items() if mapper is not None else ():
                if not ent.resolved.startswith("_:") and os.path.isabs(ent.resolved):
                    allowed.append(os.path.realpath(ent.resolved))

        def check(obj: Any) -> None:
            loc = str(obj.get("location", ""))
            if not loc.startswith("file://"):
                return
            path = uri_file_path(loc)
            if not within(path, self.outdir) and not within(path, outdir):
                return
            real = os.path.realpath(path)
            if not any(within(real, a) for a in allowed):
                raise WorkflowException(
                    f"output {obj.get('basename', path)!r} resolves to {real}, outside the "
                    "output directory"
                )

        visit_files_directories(outputs, check)


def plan_stderr(plan: TaskPlan, host_root: str) -> str:
    return os.path.join(host_root, plan.layout.relative(plan.stderr))


def _log_tail(name: str, path: str) -> None:
    tail = executors.tail_lines(path)
    if tail:
        log.warning("[job %s] %s (last lines):\n%s", name, path, "\n".join("  " + t for t in tail))
