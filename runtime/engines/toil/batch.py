"""The ``wfrewrite`` batch system: Toil's single-machine one, plus wfrewrite's options, warm
workers and the leader mode.

    $ toil-wdl-runner wf.wdl in.json --no-appliance --wfrewrite-executor tes \\
          --wfrewrite-tes-url http://127.0.0.1:8000 ...      # chosen for you under --no-appliance

Warm workers: each job's worker is forked from a zygote that has Toil and its WDL or CWL
interpreter imported (``zygote``), instead of a fresh ``_toil_worker`` importing them again;
each job still runs in a process of its own. ``WFREWRITE_TOIL_FORK=0`` starts them as Toil does.
The zygote is started as --no-appliance is parsed (``hook``) and adopted here.

No idle leader: Toil's leader polls its batch system with a 2-s wait right after a pass that
readied jobs it handles only on its next pass; this batch system hears that on Toil's message
bus (``JobUpdatedMessage``) and then answers at once. (The leader's other rests: ``leader``.)

The leader mode: with a remote executor (tes, kubernetes, slurm) Toil's leader and all its jobs
run on this machine, and a task job only waits here while its task runs elsewhere: such a job is
admitted with a token of this machine's cores and memory, whatever it asks, since its task's
own cpu, memory, disk and GPUs go with the task to the platform, which checks them against what
it has (see ``admission``). Killing such a job (Toil's --maxJobDuration, a failed workflow)
kills its worker, whose reaper removes the remote task; shutting down does the same for all.
"""

from __future__ import annotations

from typing import Any

from .admission import admitted
from .hook import add_options, languages, remote
from .zygote import Zygote, forking, take_zygote


def batch_system_class() -> type:
    """The `wfrewrite` batch system class (Toil is imported only when it is asked for)."""
    from toil.batchSystems.singleMachine import SingleMachineBatchSystem

    class WfrewriteBatchSystem(SingleMachineBatchSystem):
        @classmethod
        def add_options(cls, parser: Any) -> None:
            add_options(parser)  # only ours: Toil adds single_machine's under its own name

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.zygote: Zygote | None = None
            self.leader_has_updates = False
            if forking() and not self.debugWorker:
                # its imports overlap the leader's start-up; the first job waits for it
                self.zygote = take_zygote(languages())

        def set_message_bus(self, message_bus: Any) -> None:
            super().set_message_bus(message_bus)
            from toil.bus import JobUpdatedMessage

            # kept: the bus holds its listeners by weak reference
            self._updates_listener = message_bus.subscribe(JobUpdatedMessage, self._note_update)

        def _note_update(self, message: Any) -> None:
            self.leader_has_updates = True

        def getUpdatedBatchJob(self, maxWait: int) -> Any:
            # Toil's leader asks with maxWait=2 right after a pass that may have readied more
            # jobs (a gather, the workflow's outputs) and handles those only on its next pass:
            # it would sit out the 2 s with work in hand. Its bus said so; don't wait then.
            if self.leader_has_updates:
                self.leader_has_updates = False
                maxWait = 0
            return super().getUpdatedBatchJob(maxWait)

        def check_resource_request(self, requirer: Any) -> None:
            super().check_resource_request(admitted(requirer, remote()))

        def issueBatchJob(
            self, command: str, job_desc: Any, job_environment: dict[str, str] | None = None
        ) -> int:
            if (
                self.zygote is not None
                and self.zygote.wait_ready()
                and self.zygote.proc.poll() is None
            ):
                command = self.zygote.command(command)
            desc = admitted(job_desc, remote())
            return int(super().issueBatchJob(command, desc, job_environment))

        def shutdown(self) -> None:
            try:
                super().shutdown()
            finally:
                if self.zygote is not None:
                    self.zygote.stop()

    return WfrewriteBatchSystem
