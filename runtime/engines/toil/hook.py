"""Toil's command line: ``--no-appliance`` and every wfrewrite option as ``--wfrewrite-OPTION``.

    $ toil-wdl-runner wf.wdl inputs.json --no-appliance --wfrewrite-executor podman \\
          --wfrewrite-transport url --wfrewrite-store http://127.0.0.1:8089/wfr/ ...

Toil calls ``add_options`` on every registered batch system (the top-level module
``toil_batch_system_wfrewrite`` registers ours), so these options come with every batch system.
Each is recorded as it is parsed; ``--no-appliance`` also makes every batch system hand a
``WorkerContext`` (with the recorded options) to its workers. The options are those of
``wfrewrite.runtime.options`` (one definition); this module stays cheap to import because
Toil builds its parser on every command line.
"""

from __future__ import annotations

import argparse
from typing import Any

from ...options import add_arguments
from .version import check_toil_version

PREFIX = "wfrewrite-"
_settings: dict[str, str] = {}  # option name -> value, as parsed on this command line
_installed = False


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


def install_leader_hook() -> None:
    """Make every batch system hand a WorkerContext to its workers."""
    global _installed
    if _installed:
        return
    check_toil_version()
    from toil.batchSystems.abstractBatchSystem import AbstractBatchSystem

    from .worker import WorkerContext

    original = AbstractBatchSystem.getWorkerContexts

    def getWorkerContexts(self: Any) -> list[Any]:
        return [*original(self), WorkerContext(settings())]

    AbstractBatchSystem.getWorkerContexts = getWorkerContexts
    _installed = True
