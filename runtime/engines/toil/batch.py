"""The ``wfrewrite`` batch system: Toil's single-machine one, plus wfrewrite's options.

$ toil-wdl-runner wf.wdl in.json --batchSystem wfrewrite --no-appliance ...
"""

from __future__ import annotations

from typing import Any

from .hook import add_options


def batch_system_class() -> type:
    """The `wfrewrite` batch system class (Toil is imported only when it is asked for)."""
    from toil.batchSystems.singleMachine import SingleMachineBatchSystem

    class WfrewriteBatchSystem(SingleMachineBatchSystem):
        @classmethod
        def add_options(cls, parser: Any) -> None:
            add_options(parser)  # only ours: Toil adds single_machine's under its own name

    return WfrewriteBatchSystem
