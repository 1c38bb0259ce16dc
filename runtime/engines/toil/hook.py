"""Toil's command line: ``--no-appliance`` and every wfrewrite option as ``--wfrewrite-OPTION``.

    $ toil-wdl-runner wf.wdl inputs.json --no-appliance --wfrewrite-executor podman \\
          --wfrewrite-transport url --wfrewrite-store http://127.0.0.1:8089/wfr/ ...

Toil calls ``add_options`` on every registered batch system (the top-level module
``toil_batch_system_wfrewrite`` registers ours), so these options come with every batch system.
Each is recorded as it is parsed; ``--no-appliance`` also makes every batch system hand a
``WorkerContext`` (with the recorded options, and the run label of the job store) to its
workers, and refuses the batch systems that would run the worker in Toil's appliance image
(nested containers are what --no-appliance does away with). The options are those of
``wfrewrite.runtime.options`` (one definition); this module stays cheap to import because
Toil builds its parser on every command line.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from ...options import add_arguments
from .admission import REMOTE
from .version import check_toil_version

PREFIX = "wfrewrite-"
# Toil's batch systems that run every worker in its appliance image, and what to use instead
APPLIANCE_BATCH_SYSTEMS = {"kubernetes": "kubernetes", "aws_batch": None, "mesos": None}
_settings: dict[str, str] = {}  # option name -> value, as parsed on this command line
_installed = False
_held = contextlib.ExitStack()  # what stays open for the leader's life


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
        if self.dest == "no_appliance":
            install_leader_hook()
            from .zygote import start_early

            start_early(languages())
            # toil-cwl-runner would pre-pull the images with `docker` on the leader; the
            # wfrewrite executor runs (and finds) the images itself.
            namespace.no_prepull = True
        else:
            name = self.dest[len(PREFIX.replace("-", "_")) :]
            _settings[name] = "true" if value is True else str(value)


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
    add_arguments(parser, prefix=PREFIX, action=_Setting)


def settings() -> dict[str, str]:
    """The wfrewrite options given on this command line (option name -> value)."""
    return dict(_settings)


def languages() -> tuple[str, ...]:
    """Which of Toil's runners this leader is (its workers patch only that one: a WDL worker
    never imports cwltool, nor a CWL worker Toil's WDL interpreter)."""
    import sys

    found = tuple(lang for lang in ("wdl", "cwl") if f"toil.{lang}.{lang}toil" in sys.modules)
    return found or ("wdl", "cwl")


def remote() -> bool:
    """Tasks run elsewhere than the leader's machine (the leader mode): only a waiting job of
    Toil's stays here."""
    return _settings.get("executor") in REMOTE


def refuse_appliance_batch_system(name: str) -> None:
    """--no-appliance with a batch system that runs Toil's worker in its appliance image."""
    if name in APPLIANCE_BATCH_SYSTEMS:
        instead = APPLIANCE_BATCH_SYSTEMS[name]
        hint = (
            f"--batchSystem single_machine (or wfrewrite) --wfrewrite-executor {instead}"
            if instead
            else "--batchSystem single_machine (or wfrewrite) with --wfrewrite-executor tes, "
            "kubernetes or slurm"
        )
        msg = (
            f"--no-appliance runs every task in its own image, but Toil's {name} batch system "
            f"runs each worker in Toil's appliance, so the task's container would be nested in "
            f"it; use the leader mode instead: {hint} (Toil's leader and jobs stay on this "
            "machine, each task runs there in its own image)"
        )
        print(f"error: {msg}", file=sys.stderr)
        raise SystemExit(2)


def install_leader_hook() -> None:
    """Make every batch system hand a WorkerContext to its workers (with the job store's run
    label, and after a sweep of what a killed earlier leader of it left), and refuse those that
    would nest the task's container in Toil's appliance; the leader ends when its last job has
    (``leader``). A CWL leader parses CWL's schemas from the file cache
    (compiler/cwl/schemas.py)."""
    global _installed
    if _installed:
        return
    check_toil_version()
    from toil.batchSystems.abstractBatchSystem import AbstractBatchSystem
    from toil.common import Config

    from ...job import run_label_of
    from .leader import quicken_leader
    from .worker import WorkerContext

    original = AbstractBatchSystem.getWorkerContexts
    started: list[bool] = []

    def getWorkerContexts(self: Any) -> list[Any]:
        if not started:
            started.append(True)
            config = getattr(self, "config", None)
            if config is not None and "run_label" not in _settings:
                _settings["run_label"] = run_label_of(str(config.jobStore).split(":")[-1])
            from ...exec import sweep_at_start
            from ...options import from_mapping

            sweep_at_start(from_mapping(_settings))
        return [*original(self), WorkerContext(settings(), languages())]

    original_set = Config.setOptions

    def setOptions(config: Any, options: Any) -> None:  # before the job store is made
        original_set(config, options)
        refuse_appliance_batch_system(str(config.batchSystem))
        if config.batchSystem == "single_machine":
            # the same, with warm workers (and, in the leader mode, admission by token)
            config.batchSystem = "wfrewrite"
        if config.batchSystem in ("single_machine", "wfrewrite"):
            # every job runs on this machine anyway: a WDL call's task job may then chain into
            # the worker of its call (one worker a call, not two), where its needs fit
            config.run_local_jobs_on_workers = True
        else:  # no zygote for another batch system's workers
            from .zygote import drop_early

            drop_early()

    AbstractBatchSystem.getWorkerContexts = getWorkerContexts
    Config.setOptions = setOptions
    quicken_leader()
    if "toil.cwl.cwltoil" in sys.modules:  # toil-cwl-runner: it loads its schemas next
        from wfrewrite.compiler.cwl.schemas import parsed_schemas

        _held.enter_context(parsed_schemas())
    _installed = True
