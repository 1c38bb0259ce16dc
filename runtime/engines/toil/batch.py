"""The ``wfrewrite`` batch system: Toil's single-machine one, plus wfrewrite's options and the
leader mode.

    $ toil-wdl-runner wf.wdl in.json --batchSystem wfrewrite --no-appliance \\
          --wfrewrite-executor tes --wfrewrite-tes-url http://127.0.0.1:8000 ...

With a remote executor (tes, kubernetes, slurm) Toil's leader and all its jobs run on this
machine, and a task job only waits here while its task runs elsewhere: such a job is admitted
with a token of this machine's cores and memory (``ADMITTED``), whatever it asks, since its real
cpu, memory, disk and GPUs go with the task to the platform, which checks them against what it
has (a task bigger than this machine is fine; one bigger than any TES/Kubernetes/Slurm node
fails there, by name): see ``admission``. Killing such a job (Toil's --maxJobDuration, a failed workflow) kills
its worker, whose reaper removes the remote task; shutting down does the same for them all.
"""

from __future__ import annotations

from typing import Any

from .admission import admitted
from .hook import add_options, remote


def batch_system_class() -> type:
    """The `wfrewrite` batch system class (Toil is imported only when it is asked for)."""
    from toil.batchSystems.singleMachine import SingleMachineBatchSystem

    class WfrewriteBatchSystem(SingleMachineBatchSystem):
        @classmethod
        def add_options(cls, parser: Any) -> None:
            add_options(parser)  # only ours: Toil adds single_machine's under its own name

        def check_resource_request(self, requirer: Any) -> None:
            super().check_resource_request(admitted(requirer, remote()))

        def issueBatchJob(
            self, command: str, job_desc: Any, job_environment: dict[str, str] | None = None
        ) -> int:
            return int(
                super().issueBatchJob(command, admitted(job_desc, remote()), job_environment)
            )

    return WfrewriteBatchSystem
