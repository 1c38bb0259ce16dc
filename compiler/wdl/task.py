"""A WDL task and its inputs -> TaskPlan, with miniwdl doing all the WDL work.

    $ wfrewrite compile hello.wdl -i inputs.json -o out/
    doc        = load("hello.wdl")
    task, env  = read_inputs(doc, None, "inputs.json")
    plan       = compile_wdl(task, env, root="/mnt/wfr")

``compile_wdl`` runs miniwdl's own evaluation steps (inputs and private declarations, the runtime
section, ``task.*``, the command) against a ``PlanningContainer`` and lowers the result.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from WDL import Env, Error, Tree, Value
from WDL.runtime import config as wdl_config

from ..diagnostics import InputError, SourceError, Unsupported
from ..plan.check import check
from ..plan.ir import CONTAINER_ROOT, TaskPlan
from .load import check_hints_section, check_miniwdl_version, source_pos
from .lower import PlanningContainer

# miniwdl's own default image would hide "no image declared" from the plan; wfrewrite's
# executors bind their default (--default-image) instead.
MINIWDL_OVERRIDES: dict[str, dict[str, Any]] = {
    "scheduler": {"container_backend": "wfrewrite"},
    "task_runtime": {"defaults": {}},
    # wfrewrite is the only container backend `wfrewrite run` uses: don't import the others
    # (miniwdl loads every enabled one; its Docker backend alone costs ~0.1 s of imports).
    "plugins": {"disable_patterns": ["miniwdl_task_omnibus_example:*", "WDL.runtime.backend.*"]},
}


def miniwdl_config(
    logger: logging.Logger, overrides: dict[str, dict[str, Any]] | None = None
) -> wdl_config.Loader:
    cfg = wdl_config.Loader(logger)
    base: dict[str, dict[str, Any]] = dict(MINIWDL_OVERRIDES)
    for section, values in (overrides or {}).items():
        base.setdefault(section, {}).update(values)
    cfg.override(base)
    return cfg


@contextmanager
def _miniwdl_errors() -> Iterator[None]:
    try:
        yield
    except Error.EvalError as exn:
        raise SourceError(str(exn), source_pos(exn.pos)) from None
    except (Error.InputError, Error.RuntimeError) as exn:
        raise InputError(str(exn), source_pos(getattr(exn, "pos", None))) from None


def compile_wdl(
    task: Tree.Task,
    inputs: Env.Bindings[Value.Base],
    *,
    root: str = CONTAINER_ROOT,
    cfg: wdl_config.Loader | None = None,
    unsupported: Unsupported | None = None,
) -> TaskPlan:
    """Evaluate ``task`` with ``inputs`` exactly as miniwdl would before running it, and lower."""
    check_miniwdl_version()
    from WDL._util import WDLVersion, wdl_version_geq
    from WDL.runtime import task as wdl_task

    logger = logging.getLogger("wfrewrite.wdl")
    cfg = cfg or miniwdl_config(logger)
    with tempfile.TemporaryDirectory(prefix="wfrewrite-compile-") as host_dir, _miniwdl_errors():
        container = PlanningContainer(cfg, task.name, host_dir, container_dir=root)
        if unsupported is not None:
            container.unsupported = unsupported
        container.wf_inline_all = True
        container.attach(task, inputs)
        check_hints_section(task, container.unsupported)
        cache_paths = wdl_task.CallCacheAddPaths()
        env = wdl_task._eval_task_inputs(logger, task, inputs, container, cache_paths)
        stdlib = wdl_task.TaskInputStdLib(
            task.effective_wdl_version,
            logger,
            container,
            source_dir=task.source_dir,
            cache_add_paths=cache_paths,
        )
        wdl_task._eval_task_runtime(cfg, logger, task.name, task, inputs, container, env, stdlib)
        if wdl_version_geq(task.effective_wdl_version, WDLVersion.V1_2):
            container.build_task_runtime_info_struct(logger, task.name, task)
            assert container.task_runtime_info_struct is not None
            env = env.bind("task", container.task_runtime_info_struct)
        command = wdl_task._eval_task_command(
            cfg, task, logger, container, env, attempt=0, cache_add_paths=cache_paths
        )
        container.attach(task, inputs, env)
        plan = check(container.lower(command))
        container.unsupported.finish()  # level "collect": everything unsupported, at once
        return plan
