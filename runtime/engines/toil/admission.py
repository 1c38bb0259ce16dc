"""What a task job holds of the leader's machine in the leader mode (a remote executor).

    admitted(job_desc, remote=True)   # a WDLTaskJob asking 16 cores and 64 GiB: 0.1 core, 64 MiB

A task job with a remote executor (tes, kubernetes, slurm) only waits here while its task runs
elsewhere, so it holds a token of this machine whatever it asks; its task's own cpu, memory,
disk and GPUs go with the task to the platform, which checks them against what it has.
"""

from __future__ import annotations

from typing import Any

REMOTE = ("tes", "kubernetes", "slurm")  # executors whose tasks run elsewhere than here
# What a task job waiting for a remote task holds of this machine (cores, bytes).
ADMITTED = {"cores": 0.1, "memory": 64 << 20, "disk": 16 << 20}
# Toil's job classes that run one task (a WDL task's command, a CWL tool)
TASK_JOBS = ("WDLTaskJob", "CWLJob")


def admitted(job_desc: Any, remote: bool) -> Any:
    """``job_desc`` as the leader machine admits it (a copy where it changes)."""
    if not remote or job_desc.jobName not in TASK_JOBS:
        return job_desc
    small = job_desc.scale("cores", 1)  # a copy
    small.cores = ADMITTED["cores"]
    small.memory = ADMITTED["memory"]
    small.disk = ADMITTED["disk"]
    small.accelerators = []
    return small
