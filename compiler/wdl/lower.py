"""WDL lowering: miniwdl's evaluated task state -> TaskPlan.

miniwdl does the WDL work: it maps input files to container paths (``add_paths``), evaluates the
inputs, the runtime section and the command with ``task.*``, and post-processes the runtime keys
(``process_runtime``). ``PlanningContainer`` is a miniwdl ``TaskContainer`` that records that
state instead of running anything, and ``lower()`` turns it into a plan:

    container.input_path_map = {"/data/a.txt": "/mnt/wfr/work/_miniwdl_inputs/0/a.txt"}
    container.runtime_values = {"docker": "ubuntu:22.04", "cpu": 2, "env": {}}
    command = "wc -l /mnt/wfr/work/_miniwdl_inputs/0/a.txt"
        ->
    TaskPlan(image="ubuntu:22.04", resources=Resources(cpu=2.0),
             stage=(StageItem(source="/data/a.txt", path="/mnt/wfr/work/_miniwdl_inputs/0/a.txt"),),
             command=Command(script="wc -l /mnt/wfr/work/_miniwdl_inputs/0/a.txt\\n"), ...)

The runtime (``wfrewrite.runtime.engines.miniwdl``) subclasses ``PlanningContainer`` to run the
plan; ``wfrewrite compile`` uses it as is.
"""

from __future__ import annotations

import hashlib
import logging
import os
from typing import Any

from WDL import Env, Tree, Type, Value
from WDL.runtime.task_container import TaskContainer

from ..diagnostics import LEVELS, Level, Pos, Unsupported
from ..plan.ir import (
    CONTAINER_ROOT,
    Capture,
    Command,
    EnvVar,
    LiteralFile,
    Mount,
    Resources,
    StageItem,
    TaskPlan,
)
from ..plan.ir import Layout as PlanLayout
from .outputs import INPUTS_DIR, captures, static_env
from .runtime_keys import disks, report_keys, runtime_positions

INLINE_MAX = 64 * 1024  # write_* results up to this size travel inside the script
WORK_OUTPUT = "_work"  # the output name of the whole-work-dir capture when the task is unknown


def pos_of(node: Any) -> Pos | None:
    p = getattr(node, "pos", None)
    if p is None:
        return None
    return Pos(uri=p.abspath or p.uri, line=p.line, column=p.column)


def host_limits() -> dict[str, int]:
    cpu = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        mem = 1 << 30
    return {"cpu": cpu, "mem_bytes": mem}


class PlanningContainer(TaskContainer):
    """A miniwdl TaskContainer that lowers to a TaskPlan instead of running."""

    # Set by the driver (``attach``) so that outputs can be captured precisely.
    wf_task: Tree.Task | None = None
    wf_inputs: Env.Bindings[Value.Base] | None = None
    wf_env: Env.Bindings[Value.Base] | None = None
    wf_inline_all = False  # compile: every write_* result travels inside the script

    @classmethod
    def global_init(cls, cfg: Any, logger: logging.Logger) -> None:
        pass

    @classmethod
    def detect_resource_limits(cls, cfg: Any, logger: logging.Logger) -> dict[str, int]:
        return host_limits()

    def __init__(
        self, cfg: Any, run_id: str, host_dir: str, container_dir: str | None = None
    ) -> None:
        self._container_dir = container_dir or self.default_container_dir(cfg, host_dir)
        super().__init__(cfg, run_id, host_dir)
        self.container_dir = self._container_dir
        self.unsupported = Unsupported(level=self._level(cfg))

    # -- layout: miniwdl's convention, root = container_dir = the task's run dir when mounted ----

    def default_container_dir(self, cfg: Any, host_dir: str) -> str:
        return CONTAINER_ROOT

    @staticmethod
    def _level(cfg: Any) -> Level:
        # [wfrewrite] may come from a file, overrides or MINIWDL__WFREWRITE__* variables
        level = str(cfg.get("wfrewrite", "unsupported", "error"))
        return level if level in LEVELS else "error"  # type: ignore[return-value]

    def host_work_dir(self) -> str:
        return os.path.join(self.host_dir, "work")

    def host_stdout_txt(self) -> str:
        return os.path.join(self.host_dir, "stdout.txt")

    def host_stderr_txt(self) -> str:
        return os.path.join(self.host_dir, "stderr.txt")

    def add_paths(self, host_paths: Any) -> None:
        """miniwdl's mapping, except that write_* results (random temp names on the host) get a
        name from their content, so that compiling twice gives the same script."""
        write_dir = os.path.join(self.host_dir, "write_") + "/"
        paths = list(host_paths)
        super().add_paths([p for p in paths if not p.startswith(write_dir)])
        for p in paths:
            if not p.startswith(write_dir) or p in self.input_path_map:
                continue
            with open(p, "rb") as f:
                digest = hashlib.sha1(f.read()).hexdigest()[:16]
            base = os.path.join(self.container_dir, "work", INPUTS_DIR, "write_", digest)
            cpath, n = base, 1
            while cpath in self.input_path_map_rev:
                n += 1
                cpath = f"{base}-{n}"
            self.input_path_map[p] = cpath
            self.input_path_map_rev[cpath] = p

    def attach(
        self,
        task: Tree.Task,
        inputs: Env.Bindings[Value.Base] | None,
        env: Env.Bindings[Value.Base] | None = None,
    ) -> None:
        self.wf_task = task
        self.wf_inputs = inputs
        self.wf_env = env

    # -- runtime keys -------------------------------------------------------------------------

    def process_runtime(self, logger: logging.Logger, runtime_eval: dict[str, Value.Base]) -> None:
        report_keys(
            runtime_eval,
            runtime_positions(self.wf_task, list(runtime_eval), pos_of),
            self.unsupported,
        )
        cont = runtime_eval.pop("continueOnReturnCode", None)
        if cont is not None and "returnCodes" not in runtime_eval:
            if isinstance(cont, Value.Boolean):
                runtime_eval["returnCodes"] = Value.String("*") if cont.value else Value.Int(0)
            else:
                runtime_eval["returnCodes"] = cont
        disk_spec = runtime_eval.pop("disks", None) or runtime_eval.pop("disk", None)
        preemptible = runtime_eval.pop("preemptible", None)
        images = runtime_eval.get("container", runtime_eval.get("docker"))
        super().process_runtime(logger, runtime_eval)
        if isinstance(images, Value.Array) and len(images.value) > 1:
            self.runtime_values["image_alternatives"] = [
                v.coerce(Type.String()).value for v in images.value[1:]
            ]
        if disk_spec is not None:
            size, mounts = disks(disk_spec)
            self.runtime_values["disk_bytes"] = size
            # plain values: miniwdl logs runtime_values as JSON
            self.runtime_values["disk_mounts"] = [[m.path, m.size] for m in mounts]
        if isinstance(preemptible, Value.Int):
            self.runtime_values["preemptible"] = max(0, int(preemptible.value))

    # -- lowering -----------------------------------------------------------------------------

    def lower(self, command: str, *, layout: PlanLayout | None = None) -> TaskPlan:
        """The plan for running ``command`` (already interpolated by miniwdl) in this container."""
        task = self.wf_task
        layout = layout or PlanLayout.under(self.container_dir)
        rv = self.runtime_values
        write_dir = os.path.join(self.host_dir, "write_")
        stage: list[StageItem] = []
        literals: list[LiteralFile] = []
        for host_path, cpath in sorted(self.input_path_map.items(), key=lambda kv: kv[1]):
            is_dir = host_path.endswith("/")
            src, dst = host_path.rstrip("/"), cpath.rstrip("/")
            if (
                not is_dir
                and src.startswith(write_dir + "/")
                and (self.wf_inline_all or os.path.getsize(src) <= INLINE_MAX)
            ):
                with open(src, "rb") as f:
                    literals.append(LiteralFile(path=dst, content=f.read()))
                continue
            stage.append(StageItem(source=src, path=dst, kind="directory" if is_dir else "file"))
        codes = rv.get("returnCodes", 0)
        success = (
            None if codes == "*" else tuple(codes) if isinstance(codes, list) else (int(codes),)
        )
        memory = rv.get("memory_limit") or rv.get("memory_reservation")
        resources = Resources(
            cpu=float(rv["cpu"]) if "cpu" in rv else None,
            memory=int(memory) if memory else None,
            disk=rv.get("disk_bytes"),
            gpu=1 if rv.get("gpu") else 0,
            preemptible=int(rv.get("preemptible", 0)),
            mounts=tuple(Mount(path=p, size=n) for p, n in rv.get("disk_mounts", ())),
        )
        env = tuple(EnvVar(name=k, value=str(v)) for k, v in sorted(rv.get("env", {}).items()))
        # Without the task (an engine that drives miniwdl's TaskContainer directly, e.g. Toil),
        # the outputs are unknown before the run: the whole work dir is captured.
        outputs: tuple[str, ...] = (WORK_OUTPUT,)
        caps: tuple[Any, ...] = (
            Capture(
                output=WORK_OUTPUT, kind="tree", pattern=".", required=False, exclude=INPUTS_DIR
            ),
        )
        if task is not None:
            outputs = tuple(d.name for d in task.outputs)
            caps = captures(
                task,
                self._output_env(task),
                self.container_dir,
                {p.rstrip("/") for p in self.input_path_map.values()},
            )
        return TaskPlan(
            name=task.name if task else self.run_id,
            lang="wdl",
            source=pos_of(task) if task else None,
            image=rv.get("docker"),
            image_alternatives=tuple(rv.get("image_alternatives", ())),
            resources=resources,
            layout=layout,
            env=env,
            stage=tuple(stage),
            literals=tuple(literals),
            command=Command(
                script=command if command.endswith("\n") or not command else command + "\n"
            ),
            stdout=os.path.join(layout.root, "stdout.txt"),
            stderr=os.path.join(layout.root, "stderr.txt"),
            success_codes=success,
            max_retries=int(rv.get("maxRetries", 0)),
            outputs=outputs,
            captures=caps,
        )

    def _output_env(self, task: Tree.Task) -> Env.Bindings[Value.Base]:
        """The environment the output section sees, as far as it is known before the run."""
        extra: dict[str, Value.Base] = {}
        if self.task_runtime_info_struct is not None:
            extra["task"] = self.task_runtime_info_struct
        if self.wf_env is not None:
            env = self.wf_env
            for k, v in extra.items():
                env = env.bind(k, v)
            return env
        inputs: Env.Bindings[Value.Base] | None = None  # unknown (an engine such as Toil)
        if self.wf_inputs is not None:

            def to_container(v: Value.File | Value.Directory) -> str | None:
                p = v.value.rstrip("/") + ("/" if isinstance(v, Value.Directory) else "")
                return self.input_path_map.get(p, v.value)

            inputs = Value.rewrite_env_paths(self.wf_inputs, to_container)
        return static_env(task, inputs, extra)

    def _run(self, logger: logging.Logger, terminating: Any, command: str) -> int:
        raise NotImplementedError("PlanningContainer only plans; use the wfrewrite backend to run")
