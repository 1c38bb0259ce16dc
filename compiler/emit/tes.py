"""A plan as a GA4GH TES task (py-tes's model), for TES servers such as Funnel.

    $ wfrewrite compile hello.wdl -i in.json -o out/ --emit tes --outputs-url s3://bucket/run1/

    plan (transport "platform": the platform moves the bytes)      ->  out/tes-task.json
    StageItem(source="s3://bucket/in/a.txt",                           "inputs": [{"url": "s3://bucket/in/a.txt",
              path="/mnt/wfr/work/_miniwdl_inputs/0/a.txt")                       "path": "/mnt/wfr/work/_miniwdl_inputs/0/a.txt",
                                                                                  "type": "FILE"}],
    Capture(kind="glob", pattern="*.txt")                              "outputs": [{"path": "/mnt/wfr/work/*.txt",
                                                                                   "path_prefix": "/mnt/wfr/work/",
                                                                                   "url": "s3://bucket/run1/work/", ...},
                                                                                  {"path": "/mnt/wfr/wfrewrite/manifest.json", ...}],
    image + script                                                     "executors": [{"image": "busybox:latest",
                                                                                     "command": ["/bin/sh", "-c", SCRIPT, "wfrewrite"]}]

The script's prologue only checks that the platform put every input in place. ``--tes-split``
gives "several containers in a row" sharing the task's volume: the prologue in a helper image,
the bare command in the task's own image (so an argv command needs no shell there), the epilogue
in the helper image again; the command's exit code is then in the TES task log, not the manifest.
The task is built with py-tes's models and checked in tests against the TES OpenAPI schema.
"""

from __future__ import annotations

import math
import posixpath
import re
from typing import Any

from ..plan.ir import TaskPlan
from .script import emit, runtime_source

HELPER_IMAGE = "busybox:latest"
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_WILDCARD = re.compile(r"[*?\[]")


def as_url(source: str) -> str:
    return source if _SCHEME.match(source) else "file://" + source


def _join_url(base: str, rel: str) -> str:
    return base.rstrip("/") + "/" + rel.lstrip("/")


def tes_outputs(plan: TaskPlan, outputs_url: str) -> list[dict[str, Any]]:
    """TES outputs for every capture rule, plus the manifest; URLs mirror the task's layout."""
    root = plan.layout.root
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(name: str, path: str, kind: str, wildcard: bool = False) -> None:
        if path in seen:
            return
        seen.add(path)
        rel = posixpath.relpath(path, root)
        entry: dict[str, Any] = {"name": name, "path": path, "type": kind}
        if wildcard:
            prefix = path[: path.rfind("/", 0, _WILDCARD.search(path).start()) + 1]  # type: ignore[union-attr]
            entry["path_prefix"] = prefix
            entry["url"] = _join_url(outputs_url, posixpath.relpath(prefix, root) + "/")
        else:
            entry["url"] = _join_url(outputs_url, rel)
        out.append(entry)

    for cap in plan.captures:
        if cap.kind in ("stdout", "stderr"):
            add(cap.output, plan.stdout if cap.kind == "stdout" else plan.stderr, "FILE")
        elif cap.kind in ("tree", "cwl_output_json"):
            # cwl.output.json may name any file of the output dir: all of it goes
            add(cap.output or "outdir", plan.layout.work, "DIRECTORY")
        else:
            path = (
                cap.pattern
                if cap.pattern.startswith("/")
                else posixpath.join(plan.layout.work, cap.pattern)
            )
            kind = "DIRECTORY" if cap.kind == "directory" else "FILE"
            add(
                cap.output, path, kind, wildcard=cap.kind == "glob" and bool(_WILDCARD.search(path))
            )
    add("wfrewrite-manifest", posixpath.join(plan.layout.meta, "manifest.json"), "FILE")
    add("wfrewrite-stdout", plan.stdout, "FILE")
    add("wfrewrite-stderr", plan.stderr, "FILE")
    return out


def tes_resources(plan: TaskPlan) -> Any:
    """The plan's resources as TES ``Resources`` (py-tes model): cpu, memory and disk (the
    plan's disk and its disks at mount points), preemptible; the time limit, which TES has no
    field for, as the backend parameter ``time_limit_seconds`` (the script enforces it)."""
    import tes

    r = plan.resources
    disk = (r.disk or 0) + sum(m.size or 0 for m in r.mounts)
    return tes.Resources(
        cpu_cores=max(1, math.ceil(r.cpu)) if r.cpu else None,
        ram_gb=round(r.memory / 1e9, 3) if r.memory else None,
        disk_gb=round(disk / 1e9, 3) if disk else None,
        preemptible=True if r.preemptible else None,
        backend_parameters={"time_limit_seconds": str(r.time_limit)} if r.time_limit else None,
    )


def tes_task(
    plan: TaskPlan, outputs_url: str, *, split: bool = False, helper_image: str = HELPER_IMAGE
) -> Any:
    """The plan (transport `platform`) as a ``tes.Task`` (py-tes model)."""
    import tes

    if plan.transport != "platform":
        raise ValueError(
            "tes_task needs a plan with transport 'platform' (passes.platform_transport)"
        )
    script = emit(plan)
    image = plan.image or helper_image
    inputs = [
        tes.Input(
            name=posixpath.basename(s.path),
            url=as_url(s.source),
            path=s.path,
            type="DIRECTORY" if s.kind == "directory" else "FILE",
        )
        for s in plan.stage
    ]
    outputs = [tes.Output(**o) for o in tes_outputs(plan, outputs_url)]
    resources = tes_resources(plan)
    if not split:
        executors = [tes.Executor(image=image, command=["/bin/sh", "-c", script, "wfrewrite"])]
    else:
        argv = split_command(plan)
        executors = [
            tes.Executor(
                image=helper_image, command=["/bin/sh", "-c", script, "wfrewrite", "prologue"]
            ),
            tes.Executor(
                image=image,
                command=argv,
                workdir=plan.layout.work,
                stdin=plan.stdin,
                stdout=plan.stdout,
                stderr=plan.stderr,
                env={e.name: e.value for e in plan.env} or None,
                ignore_error=True,
            ),
            tes.Executor(
                image=helper_image, command=["/bin/sh", "-c", script, "wfrewrite", "epilogue"]
            ),
        ]
    return tes.Task(
        name=plan.name,
        description=f"wfrewrite: {plan.lang} task {plan.name}",
        inputs=inputs or None,
        outputs=outputs,
        resources=resources,
        executors=executors,
        volumes=[plan.layout.root, *([plan.layout.work_alias] if plan.layout.work_alias else [])],
        tags={"wfrewrite": "1", "lang": plan.lang},
    )


def tes_json(task: Any) -> str:
    return str(task.as_json(indent=2)) + "\n"


def submit_tes(task: Any, server_url: str) -> str:
    """Submit to a TES server (py-tes); returns the task id."""
    import tes

    return str(tes.HTTPClient(server_url, timeout=30).create_task(task))


def split_command(plan: TaskPlan) -> list[str]:
    """--tes-split: the argv of the executor that runs the bare command in the task's image (an
    argv command as it is; a shell command through ``exec_command.sh``, which runs the command
    file the prologue wrote with the plan's shell)."""
    cmd = plan.command
    if cmd.shell == "none":
        return list(cmd.argv)
    command_file = posixpath.join(plan.layout.meta, "command")
    return ["/bin/sh", "-c", runtime_source("exec_command.sh"), "wfrewrite", command_file,
            cmd.shell]  # fmt: skip
