"""What a task's pod says, as one verdict: still going, ended (with the script's exit code),
failed for good (by name), or lost to the cluster (resubmitted, not the task's fault).

    classify(pod)                 # a V1Pod of the client (or anything shaped like one)
    Verdict("waiting", reason="ContainerCreating")
    Verdict("ended", code=82, reason="Error")            # the manifest says what happened
    Verdict("ended", code=137, reason="OOMKilled")
    Verdict("failed", reason="ErrImagePull", message="... not found")     # fail fast
    Verdict("lost", reason="EvictionByEvictionAPI", gone=True)           # submit it again

Read from the *container's* state first (``state.terminated`` comes about 2 s before the Job's
Complete condition, and ``pod.status.phase`` is not to be trusted while it is there); a
terminated container is the end unless the pod was being disrupted (the ``DisruptionTarget``
condition, or a deletion that is not the driver's): then the script was stopped, the task is
lost and runs again once the pod is ``gone`` (deleted, or Failed: its container has stopped,
so two attempts never write at once). An image that cannot be pulled, a container that cannot
be configured, an eviction for the task's own disk limit and the pod's deadline are the task's
(or the user's) to fix and fail at once. Pure: no client call, unit-tested with the client's
models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

# Waiting reasons that never resolve by waiting (the kubelet retries a missing image forever).
FAIL_FAST = {
    "ErrImagePull": "the image could not be pulled",
    "ImagePullBackOff": "the image could not be pulled",
    "InvalidImageName": "the image name is invalid",
    "ErrImageNeverPull": "the image is not on the node and may not be pulled",
    "CreateContainerConfigError": "the container could not be configured",
}
# Pod reasons (phase Failed) of a node that went away or refused the pod: not the task's fault.
NODE_REASONS = (
    "NodeLost",
    "Shutdown",
    "Terminated",
    "NodeShutdown",
    "UnexpectedAdmissionError",
    "OutOfcpu",
    "OutOfmemory",
    "OutOfpods",
    "NodeAffinity",
)
# An eviction message about the pod's own limits (emptyDir sizeLimit, ephemeral-storage).
OWN_LIMIT = re.compile(r"exceeds the (total )?limit|exceeded its local ephemeral storage limit")


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Literal["waiting", "ended", "failed", "lost"]
    code: int | None = None  # ended: the container's exit code
    reason: str = ""
    message: str = ""
    gone: bool = False  # lost: the pod's container has stopped (safe to resubmit)

    def said(self) -> str:
        """``reason: message``, or whichever there is."""
        return ": ".join(x for x in (self.reason, self.message) if x)


def classify(pod: Any, deleted: bool = False) -> Verdict:
    """The verdict on ``pod`` (``deleted``: it came in a DELETED watch event)."""
    status = pod.status
    if status is None:
        return Verdict("lost", reason="Deleted", gone=True) if deleted else Verdict("waiting")
    phase = status.phase
    gone = deleted or phase in ("Failed", "Succeeded")
    disrupted = _disruption(pod, deleted)
    if phase == "Failed" and status.reason == "Evicted":
        message = status.message or ""
        if OWN_LIMIT.search(message):
            return Verdict("failed", reason="Evicted", message=message)
        return Verdict("lost", reason="Evicted", message=message, gone=True)
    state = _state(pod)
    done = state.terminated if state is not None else None
    if phase == "Failed" and status.reason == "DeadlineExceeded":
        code = done.exit_code if done is not None else None
        return Verdict("ended", code=code, reason="DeadlineExceeded", message=status.message or "")
    if done is not None:
        if disrupted is not None and done.exit_code != 0:
            return Verdict("lost", reason=disrupted[0], message=disrupted[1], gone=gone)
        return Verdict(
            "ended", code=done.exit_code, reason=done.reason or "", message=done.message or ""
        )
    if disrupted is not None:
        return Verdict("lost", reason=disrupted[0], message=disrupted[1], gone=gone)
    if phase == "Failed":
        reason = status.reason or ""
        kind: Literal["lost", "failed"] = "lost" if reason in NODE_REASONS else "failed"
        return Verdict(kind, reason=reason or "Failed", message=status.message or "", gone=True)
    if state is not None and state.waiting is not None:
        reason = state.waiting.reason or ""
        if reason in FAIL_FAST:
            message = f"{FAIL_FAST[reason]}: {state.waiting.message or reason}"
            return Verdict("failed", reason=reason, message=message)
        return Verdict("waiting", reason=reason, message=state.waiting.message or "")
    for c in status.conditions or ():
        if c.type == "PodScheduled" and c.status == "False":
            return Verdict("waiting", reason=c.reason or "Unscheduled", message=c.message or "")
    return Verdict("waiting", reason=phase or "")


def _state(pod: Any) -> Any:
    """The task container's state (None before the kubelet reports it)."""
    for cs in pod.status.container_statuses or ():
        if cs.state is not None:
            return cs.state
    return None


def _disruption(pod: Any, deleted: bool) -> tuple[str, str] | None:
    """(reason, message) if the pod is being taken away: a DisruptionTarget condition
    (eviction, preemption, a lost node's taint, the kubelet), or a deletion."""
    for c in pod.status.conditions or ():
        if c.type == "DisruptionTarget" and c.status == "True":
            return c.reason or "DisruptionTarget", c.message or ""
    if deleted or pod.metadata.deletion_timestamp is not None:
        return "Deleted", "the pod was deleted"
    return None
