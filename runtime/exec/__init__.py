"""Executors: where a task's script runs. One module per platform behind ``base.Executor``
(prepare, run, launch_argv, report, limits), chosen by name:

    local.py      the host's /bin/sh, in the task's directory (no image)
    container.py  podman, docker: the declared image, the task's directory mounted (or nothing)
    slurm.py      sbatch --wait around any of those
    tes.py        a GA4GH TES server (py-tes)
    kubernetes.py a Job per task (the official kubernetes client)

    ex = select(Options(executor="podman", transport="url", store="s3://bucket/runs"))

``select`` builds the executor and the transport it is given; a new executor is a module here
with an ``Executor`` subclass, a line in ``_CLASSES`` and a name in
``wfrewrite.runtime.options.EXECUTORS``. A platform's client library is imported in its own
module, only when that executor is chosen.
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib
import logging
import shutil
import subprocess
import threading

from wfrewrite.compiler.diagnostics import WfError

from ..job import run_label_of
from ..options import EXECUTORS, Options
from ..transport import for_options
from .base import Executor, host_limits, tail, tail_lines

log = logging.getLogger("wfrewrite.executor")

# executor name -> (module, class), imported when chosen
_CLASSES = {
    "local": ("local", "LocalExecutor"),
    "podman": ("container", "PodmanExecutor"),
    "docker": ("container", "DockerExecutor"),
    "slurm": ("slurm", "SlurmExecutor"),
    "tes": ("tes", "TesExecutor"),
    "kubernetes": ("kubernetes", "KubernetesExecutor"),
}

_docker_ok: bool | None = None
_said_auto: set[str] = set()  # the executors ``auto`` chose, logged


def _docker_answers() -> bool:
    global _docker_ok
    if _docker_ok is None:
        _docker_ok = (
            bool(shutil.which("docker"))
            and subprocess.run(
                ["docker", "version", "--format", "{{.Server.Version}}"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=5,
                check=False,
            ).returncode
            == 0
        )
    return _docker_ok


def resolve(name: str) -> str:
    """``auto`` as the executor it stands for here: podman, else docker (if its daemon
    answers), else local."""
    if name != "auto":
        return name
    if shutil.which("podman"):
        return "podman"
    return "docker" if _docker_answers() else "local"


def executor_class(name: str) -> type[Executor]:
    if name not in _CLASSES:
        raise WfError(f"unknown executor {name!r} (choose from {', '.join(EXECUTORS)})")
    module, cls = _CLASSES[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def select(options: Options) -> Executor:
    """The executor ``options.executor`` names, given the transport ``options`` ask for (or
    its own default); ``auto`` says which it chose."""
    name = resolve(options.executor)
    if options.executor == "auto":
        if name == "local" and not options.auto_local:
            raise WfError(
                "executor auto: no container engine (podman, docker) answers here, so tasks "
                "cannot run in their images; name an executor (--wfrewrite-executor podman, "
                "slurm, tes, kubernetes; or local to run them on this host)"
            )
        if name not in _said_auto:  # once a process, however many ask
            _said_auto.add(name)
            log.info("executor: %s (auto)", name)
    if name in ("podman", "docker") and not shutil.which(name):
        raise WfError(f"executor {name}: '{name}' is not on PATH")
    cls = executor_class(name)
    return cls(options, for_options(options, cls.default_transport, cls.transports, name))


SWEEP_WAIT = 30.0  # seconds a run's end waits for its sweep at most


def sweep_at_start(options: Options) -> threading.Thread | None:
    """What earlier, killed drivers of the same run left running (their drivers gone), removed
    in the background while this run starts (a run is labelled by its run directory or job
    store: ``options.run_label``). The front ends call it as soon as their options are known,
    before they import their engine and load the document: the sweep's one listing (``podman
    ps``, a TES or Kubernetes list) then runs beside that work, not beside the first tasks'
    containers. The executor is built here, in the caller's thread (its imports are the
    caller's); the thread only lists and removes."""
    if not options.run_label or resolve(options.executor) == "local":
        return None
    try:
        executor = select(options)
    except Exception as exn:  # the run reports bad options itself; a sweep never stops it
        log.info("sweep of run %s: %s", options.run_label, exn)
        return None

    def sweep() -> None:
        try:
            for name in executor.sweep(options.run_label or ""):
                log.warning("removed %s, left running by a killed run", name)
        except Exception as exn:  # a sweep never stops a run
            log.info("sweep of run %s: %s", options.run_label, exn)

    thread = threading.Thread(target=sweep, name="wfrewrite-sweep", daemon=True)
    thread.start()
    atexit.register(thread.join, SWEEP_WAIT)  # a short run does not cut its sweep short
    return thread


def begin_run(options: Options, directory: str) -> Options:
    """``options`` labelled with the run's directory (its run directory or output directory:
    everything the run starts carries the label, ``wfrewrite cleanup --run``) unless they carry
    a label already, and the sweep of that label started (``sweep_at_start``). The command
    lines call it first, before they import their engine."""
    if not options.run_label:
        options = dataclasses.replace(options, run_label=run_label_of(directory))
    sweep_at_start(options)
    return options


__all__ = [
    "Executor",
    "begin_run",
    "host_limits",
    "resolve",
    "select",
    "sweep_at_start",
    "tail",
    "tail_lines",
]
