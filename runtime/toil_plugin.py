"""Toil, `--no-appliance`: each WDL task runs in its declared image through a wfrewrite executor.

    $ toil-wdl-runner wf.wdl inputs.json --no-appliance [--wfrewrite-executor podman] \\
          [--batchSystem slurm] --jobStore ./js --outputDirectory out

Toil's leader, job store, scheduling and retries stay as they are. What changes is inside each
worker process, at the moment Toil's WDL task job would start a container: instead of miniwdl's
Docker-swarm or Singularity backend (and Toil's resource monitor injected into the command), the
task becomes a wfrewrite plan and script and runs through a wfrewrite executor (podman by default,
or docker, local, slurm), so no Toil code enters the task's container.

How it gets there, with Toil's public plugin points:
1. The top-level module ``toil_batch_system_wfrewrite`` (found by Toil's plugin discovery)
   registers the batch system ``wfrewrite`` (Toil's single-machine batch system under another
   name); Toil calls ``add_options`` on every registered batch system, which is where
   ``--no-appliance`` and ``--wfrewrite-executor`` come from.
2. Given ``--no-appliance``, every batch system's ``getWorkerContexts()`` also returns a
   ``WorkerContext`` (picklable), which Toil runs around every job in every worker process.
3. ``WorkerContext.__enter__`` points ``toil.wdl.wdltoil``'s two container classes at
   ``WfrewriteFactory``: calling it builds a ``WfrewriteContainer``, which is *not* an instance of
   it, so Toil's backend-specific patches and injections are skipped. For CWL it gives Toil's
   ``ToilCommandLineTool`` wfrewrite's job layout and job class (``cwl_lower.wf_jobs``,
   ``cwl_job.WfrewriteJob``): Toil's path mapper still fetches the inputs from the job store,
   the job runs as a compiled script, and cwltool collects the outputs for Toil to upload.
4. Toil 9.6.0 evaluates WDL itself and knows nothing of WDL 1.2's ``task`` variable or of
   ``max_retries``/``maxRetries``: ``__enter__`` also wraps its ``evaluate_named_expression`` (the
   command) and ``evaluate_decls_to_bindings`` (the outputs) to bind ``task`` as miniwdl does, and
   the container retries a failed command within the job, re-evaluating it for ``task.attempt``.

Steps 2 to 4 touch Toil internals; they live here only, are checked against the Toil version
this was written for (``TOIL_VERSIONS``), and fail with a clear message on any other.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from types import TracebackType
from typing import Any

from wfrewrite.compiler.plan import DEFAULT_IMAGE

log = logging.getLogger("wfrewrite.toil")

TOIL_VERSIONS = ("9.6.0",)
_settings: dict[str, str] = {}
_installed = False


def check_toil_version() -> None:
    from toil.version import baseVersion

    if baseVersion not in TOIL_VERSIONS and not os.environ.get("WFREWRITE_ANY_TOIL"):
        raise RuntimeError(
            f"wfrewrite's --no-appliance hook supports Toil {', '.join(TOIL_VERSIONS)}, found {baseVersion} "
            "(set WFREWRITE_ANY_TOIL=1 to try anyway)"
        )


class _Setting(argparse.Action):
    """Records a wfrewrite option at parse time and, for --no-appliance, installs the hook."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        value = True if self.nargs == 0 else values
        setattr(namespace, self.dest, value)
        _settings[self.dest] = str(value)
        if self.dest == "no_appliance":
            install_leader_hook()
            # toil-cwl-runner would pre-pull the images with `docker` on the leader; the
            # wfrewrite executor runs (and finds) the images itself.
            namespace.no_prepull = True


def add_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--no-appliance",
        dest="no_appliance",
        nargs=0,
        action=_Setting,
        default=False,
        help="wfrewrite: run each WDL task / CWL tool in its own image through a wfrewrite "
        "executor; no Toil code enters the task's container",
    )
    parser.add_argument(
        "--wfrewrite-executor",
        dest="wfrewrite_executor",
        action=_Setting,
        default=None,
        choices=("auto", "local", "podman", "docker", "slurm"),
        help="wfrewrite: the executor for tasks under --no-appliance (default auto)",
    )
    parser.add_argument(
        "--wfrewrite-default-image",
        dest="wfrewrite_default_image",
        action=_Setting,
        default=None,
        help=f"wfrewrite: the image for tasks that declare none (default {DEFAULT_IMAGE})",
    )


def install_leader_hook() -> None:
    """Make every batch system hand a WorkerContext to its workers."""
    global _installed
    if _installed:
        return
    check_toil_version()
    from toil.batchSystems.abstractBatchSystem import AbstractBatchSystem

    original = AbstractBatchSystem.getWorkerContexts

    def getWorkerContexts(self: Any) -> list[Any]:
        return [*original(self), WorkerContext(dict(_settings))]

    AbstractBatchSystem.getWorkerContexts = getWorkerContexts
    _installed = True


class WfrewriteFactory:
    """Stands in for Toil's container classes: calling it makes a WfrewriteContainer."""

    toil_initialized__ = True

    def __new__(cls, cfg: Any, run_id: str, host_dir: str) -> Any:
        import WDL

        container = _toil_container_class()(cfg, run_id, host_dir)
        # The calling WDLTaskJob knows the task (for names, positions, capture rules).
        task = getattr(sys._getframe(1).f_locals.get("self"), "_task", None)
        if isinstance(task, WDL.Tree.Task):
            container.attach(task, None)
        return container

    @classmethod
    def global_init(cls, cfg: Any, logger: logging.Logger) -> None:
        _toil_container_class().global_init(cfg, logger)

    @classmethod
    def detect_resource_limits(cls, cfg: Any, logger: logging.Logger) -> dict[str, int]:
        return dict(_toil_container_class().detect_resource_limits(cfg, logger))


_current: dict[str, Any] = {}  # the task whose command this worker process evaluated last


def _toil_container_class() -> type[Any]:
    """WfrewriteContainer plus what Toil 9.6.0's WDL interpreter leaves out: ``max_retries``
    (1.2) / ``maxRetries`` within the job, re-evaluating the command for ``task.attempt`` as
    miniwdl does (Toil's own job retries still come on top, with the attempt counted afresh)."""
    global _ToilContainer
    if _ToilContainer is not None:
        return _ToilContainer
    from WDL.runtime.error import Terminated

    from .miniwdl_backend import WfrewriteContainer

    class ToilContainer(WfrewriteContainer):
        command_for_attempt: Any = None  # set where Toil evaluates the command (WDL 1.2)

        def process_runtime(self, logger: logging.Logger, runtime_eval: dict[str, Any]) -> None:
            if "max_retries" in runtime_eval and "maxRetries" not in runtime_eval:
                runtime_eval = {**runtime_eval, "maxRetries": runtime_eval["max_retries"]}
            super().process_runtime(logger, runtime_eval)

        def run(self, logger: logging.Logger, command: str) -> None:
            max_retries = int(self.runtime_values.get("maxRetries", 0))
            retries = 0
            while True:
                try:
                    super().run(logger, command)
                    return
                except Terminated:
                    raise
                except Exception as exn:
                    if retries >= max_retries:
                        raise
                    retries += 1
                    logger.error(
                        "failed task will be retried (%d of %d): %s: %s",
                        retries,
                        max_retries,
                        exn.__class__.__name__,
                        exn,
                    )
                self.reset(logger)
                if self.command_for_attempt is not None:
                    command = self.command_for_attempt(self.try_counter - 1)

    _ToilContainer = ToilContainer
    return ToilContainer


_ToilContainer: type[Any] | None = None


def _wdl_1_2(task: Any) -> bool:
    from WDL._util import WDLVersion, wdl_version_geq

    return bool(wdl_version_geq(task.effective_wdl_version, WDLVersion.V1_2))


def _with_task_in_command(evaluate: Any) -> Any:
    """Toil's evaluation of a WDL 1.2 command, with the ``task`` variable miniwdl binds
    (name, container, cpu, memory, attempt...) from the wfrewrite container's runtime."""
    import WDL

    def evaluate_named_expression(
        context: Any, name: str, expected_type: Any, expression: Any, environment: Any, stdlib: Any
    ) -> Any:
        container: Any = getattr(stdlib, "container", None)
        if (
            name != "command"
            or not isinstance(context, WDL.Tree.Task)
            or not isinstance(container, _toil_container_class())
            or environment.has_binding("task")
            or not _wdl_1_2(context)
        ):
            return evaluate(context, name, expected_type, expression, environment, stdlib)
        container.build_task_runtime_info_struct(log, container.run_id, context)

        def for_attempt(attempt: int) -> str:
            container.update_task_runtime_info_struct(attempt=WDL.Value.Int(attempt))
            env = environment.bind("task", container.task_runtime_info_struct)
            value = evaluate(context, name, expected_type, expression, env, stdlib)
            return str(value.coerce(WDL.Type.String()).value)

        container.command_for_attempt = for_attempt
        _current.update(task=context, container=container)
        return WDL.Value.String(for_attempt(0))

    return evaluate_named_expression


def _with_task_in_outputs(evaluate: Any) -> Any:
    """Toil's evaluation of a WDL 1.2 output section, with ``task`` (incl. ``return_code``)."""
    import WDL

    def evaluate_decls_to_bindings(decls: Any, bindings: Any, *args: Any, **kwargs: Any) -> Any:
        task, container = _current.get("task"), _current.get("container")
        if (
            task is not None
            and container is not None
            and decls is task.outputs
            and container.last_exit_code is not None
            and not bindings.has_binding("task")
        ):
            container.update_task_runtime_info_struct(
                task,
                output_section=True,
                attempt=WDL.Value.Int(container.try_counter - 1),
                return_code=WDL.Value.Int(container.last_exit_code),
            )
            bindings = bindings.bind("task", container.task_runtime_info_struct)
            _current.clear()
        return evaluate(decls, bindings, *args, **kwargs)

    return evaluate_decls_to_bindings


class WorkerContext:
    """Entered by Toil around every job in a worker process (pickled by the leader)."""

    def __init__(self, settings: dict[str, str]) -> None:
        self.settings = settings
        self._saved: dict[str, Any] = {}
        self._env: dict[str, str | None] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"])  # type: ignore[misc]

    def __enter__(self) -> WorkerContext:
        check_toil_version()
        import toil.wdl.wdltoil as wdltoil

        for name in ("SwarmContainer", "SingularityContainer"):
            self._saved[name] = getattr(wdltoil, name)
            setattr(wdltoil, name, WfrewriteFactory)
        for name, wrap in (
            ("evaluate_named_expression", _with_task_in_command),
            ("evaluate_decls_to_bindings", _with_task_in_outputs),
        ):
            self._saved[name] = getattr(wdltoil, name)
            setattr(wdltoil, name, wrap(self._saved[name]))
        self._patch_cwl()
        # miniwdl's config loader (which Toil creates per task) reads MINIWDL__SECTION__KEY.
        env = {
            "MINIWDL__WFREWRITE__EXECUTOR": self.settings.get("wfrewrite_executor") or "auto",
            "MINIWDL__WFREWRITE__DEFAULT_IMAGE": self.settings.get("wfrewrite_default_image") or "",
        }
        for key, value in env.items():
            if value:
                self._env[key] = os.environ.get(key)
                os.environ[key] = value
        log.info(
            "wfrewrite: tasks run through the %s executor", env["MINIWDL__WFREWRITE__EXECUTOR"]
        )
        return self

    def _patch_cwl(self) -> None:
        """Toil's CommandLineTool lays its jobs out for wfrewrite and runs them as scripts."""
        try:
            from toil.cwl.cwltoil import ToilCommandLineTool
        except ImportError:  # Toil without its cwl extra
            return
        import tempfile

        from wfrewrite.compiler.cwl_lower import wf_jobs
        from wfrewrite.compiler.diagnostics import Unsupported

        from .cwl_job import WfrewriteJob
        from .cwl_run import _allocator, select_executor
        from .executors import Options

        settings = self.settings
        original_job = ToilCommandLineTool.job
        state: dict[str, Any] = {}

        def executor() -> Any:
            if "executor" not in state:
                options = Options(
                    default_image=settings.get("wfrewrite_default_image") or DEFAULT_IMAGE
                )
                state["executor"] = select_executor(
                    settings.get("wfrewrite_executor") or "auto", options
                )
            return state["executor"]

        def job(tool: Any, job_order: Any, output_callbacks: Any, runtimeContext: Any) -> Any:
            rc = runtimeContext.copy()
            ex = executor()
            base_dir = os.path.dirname(rc.tmpdir_prefix) if rc.tmpdir_prefix else None
            scratch = os.path.realpath(tempfile.mkdtemp(prefix="wfrewrite-", dir=base_dir))
            rc.wf_executor = ex
            rc.wf_job_class = WfrewriteJob
            rc.wf_unsupported = Unsupported()
            rc.wf_place = _allocator(scratch, ex)
            rc.default_container = rc.default_container or ex.options.default_image

            def base(order: Any, callbacks: Any, context: Any) -> Any:
                return original_job(tool, order, callbacks, context)

            yield from wf_jobs(tool, base, job_order, output_callbacks, rc)

        self._saved_cwl = {
            "job": original_job,
            "make_job_runner": ToilCommandLineTool.make_job_runner,
        }
        ToilCommandLineTool.job = job
        ToilCommandLineTool.make_job_runner = lambda tool, rc: WfrewriteJob

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        import toil.wdl.wdltoil as wdltoil

        for name, value in self._saved.items():
            setattr(wdltoil, name, value)
        _current.clear()
        saved_cwl = getattr(self, "_saved_cwl", None)
        if saved_cwl:
            from toil.cwl.cwltoil import ToilCommandLineTool

            for name, value in saved_cwl.items():
                setattr(ToilCommandLineTool, name, value)
        for key, old in self._env.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def batch_system_class() -> type:
    """The `wfrewrite` batch system: Toil's single-machine one, plus wfrewrite's options."""
    from toil.batchSystems.singleMachine import SingleMachineBatchSystem

    class WfrewriteBatchSystem(SingleMachineBatchSystem):
        @classmethod
        def add_options(cls, parser: Any) -> None:
            add_options(parser)  # only ours: Toil adds single_machine's under its own name

    return WfrewriteBatchSystem
