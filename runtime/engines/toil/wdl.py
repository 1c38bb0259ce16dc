"""Toil's WDL interpreter, with each task run as a wfrewrite script (Toil 9.6.0 internals).

    restore = patch()        # in each worker, around each job (WorkerContext)
    ... Toil's WDLTaskJob makes "a Singularity container": it gets a WfrewriteContainer ...
    restore()

``patch`` points ``toil.wdl.wdltoil``'s two container classes at ``WfrewriteFactory``: calling it
builds a ``WfrewriteContainer``, which is *not* an instance of either, so Toil's
backend-specific patches and injections are skipped. ``WDLTaskJob.run`` is wrapped to note the
task it runs, which the factory hands to the container (its name, positions, capture rules).
Toil 9.6.0 knows nothing of WDL 1.2's ``task`` variable or of ``max_retries``: its
``evaluate_named_expression`` (the command) and ``evaluate_decls_to_bindings`` (the outputs) are
wrapped to bind ``task`` as miniwdl does, and the container retries a failed command within the
job, re-evaluating it for ``task.attempt``. Every Toil internal wfrewrite touches for WDL is
here, checked against ``version.TOIL_VERSIONS``.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("wfrewrite.toil")

# the task of the WDLTaskJob running in this worker now
_running_task: contextvars.ContextVar[Any] = contextvars.ContextVar("wfrewrite_task", default=None)


def patch(remote: bool = False) -> Callable[[], None]:
    """Install the WDL patches in ``toil.wdl.wdltoil``; returns what undoes them. ``remote``
    (the leader mode): a task job asks this machine for a token only (its task's own needs go
    with the task), so that it runs in the worker of its call."""
    import toil.wdl.wdltoil as wdltoil

    from .admission import ADMITTED

    saved: dict[str, Any] = {}
    for name in ("SwarmContainer", "SingularityContainer"):
        saved[name] = getattr(wdltoil, name)
        setattr(wdltoil, name, WfrewriteFactory)
    for name, wrap in (
        ("evaluate_named_expression", _with_task_in_command),
        ("evaluate_decls_to_bindings", _with_task_in_outputs),
    ):
        saved[name] = getattr(wdltoil, name)
        setattr(wdltoil, name, wrap(saved[name]))
    task_job = wdltoil.WDLTaskJob
    original_run = task_job.run

    def run(self: Any, file_store: Any) -> Any:
        token = _running_task.set(getattr(self, "_task", None))
        try:
            return original_run(self, file_store)
        finally:
            _running_task.reset(token)

    task_job.run = run
    original_init = task_job.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        if remote:
            kwargs.update(ADMITTED, accelerators=[])
        original_init(self, *args, **kwargs)

    task_job.__init__ = init

    def restore() -> None:
        for name, value in saved.items():
            setattr(wdltoil, name, value)
        task_job.run = original_run
        task_job.__init__ = original_init
        _current.clear()

    return restore


class WfrewriteFactory:
    """Stands in for Toil's container classes: calling it makes a WfrewriteContainer."""

    toil_initialized__ = True

    def __new__(cls, cfg: Any, run_id: str, host_dir: str) -> Any:
        import WDL

        container = _toil_container_class()(cfg, run_id, host_dir)
        # The WDLTaskJob running now knows the task (for names, positions, capture rules).
        task = _running_task.get()
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

    from ..miniwdl import WfrewriteContainer

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
