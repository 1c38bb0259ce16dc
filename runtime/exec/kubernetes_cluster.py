"""What the cluster says, for the kubernetes executor: what a task's pod says, as one verdict
(still going, ended with the script's exit code, failed for good by name, or lost to the cluster
and resubmitted, not the task's fault); the one watch that brings every pod's events; and
whether any node can hold a task at all.

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
(or the user's) to fix and fail at once. ``classify`` is pure (no client call, unit-tested with
the client's models), and so are the nodes' sums (``shortfall``); ``PodWatch`` holds the one
connection.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from ..job import LABEL_JOB

log = logging.getLogger("wfrewrite.executor.kubernetes")

WATCH_SECONDS = 60  # one watch request; then the pods are listed again

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


Allocatable = dict[str, Decimal]  # a node's allocatable resources, by name (cpu, memory...)


def quantity(text: Any) -> Decimal:
    """A Kubernetes quantity ("2", "1500m", "24581684Ki") as a number."""
    from kubernetes.utils import parse_quantity

    return Decimal(parse_quantity(text))


def allocatable(nodes: Any) -> list[tuple[str, Allocatable]]:
    """(name, allocatable) of the V1Nodes that take pods (not cordoned)."""
    return [
        (n.metadata.name, {k: quantity(v) for k, v in (n.status.allocatable or {}).items()})
        for n in nodes
        if not (n.spec and n.spec.unschedulable)
    ]


def largest(nodes: list[tuple[str, Allocatable]]) -> tuple[str, Allocatable]:
    return max(nodes, key=lambda n: (n[1].get("cpu", 0), n[1].get("memory", 0)))


def shortfall(
    want: dict[str, str], nodes: list[tuple[str, Allocatable]]
) -> tuple[str, Allocatable, list[str]] | None:
    """None if some node can hold ``want`` (quantities by resource) or nothing is known; else
    the largest node, its allocatable, and what it has too little of."""
    need = {k: quantity(v) for k, v in want.items()}
    if not nodes or not need:
        return None
    if any(all(v <= alloc.get(k, 0) for k, v in need.items()) for _, alloc in nodes):
        return None
    node, alloc = largest(nodes)
    return node, alloc, [k for k, v in need.items() if v > alloc.get(k, 0)]


def show(resource: str, amount: Decimal) -> str:
    """An amount of a resource as people read it (GiB, MiB, cores)."""
    if resource not in ("memory", "ephemeral-storage"):
        return f"{float(amount):g}"
    gib = float(amount) / (1 << 30)
    return f"{gib:.4g} GiB" if gib >= 1 else f"{gib * 1024:.4g} MiB"


class PodWatch:
    """One watch over every pod carrying the label wfrewrite/job in the namespace, each event
    handed to the task waiting for that Job: one connection for any number of tasks. Listed
    again after each WATCH_SECONDS (and at once on 410 Gone); it ends when nobody waits."""

    def __init__(self, core: Any, namespace: str) -> None:
        self.core, self.namespace = core, namespace
        self._queues: dict[str, queue.Queue[tuple[str, Any]]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def subscribe(self, job: str) -> queue.Queue[tuple[str, Any]]:
        q: queue.Queue[tuple[str, Any]] = queue.Queue()
        with self._lock:
            self._queues[job] = q
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="k8s-watch", daemon=True)
                self._thread.start()
        return q

    def unsubscribe(self, job: str) -> None:
        with self._lock:
            self._queues.pop(job, None)

    def _dispatch(self, kind: str, pod: Any) -> None:
        with self._lock:
            q = self._queues.get((pod.metadata.labels or {}).get(LABEL_JOB, ""))
        if q is not None:
            q.put((kind, pod))

    def _loop(self) -> None:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        while True:
            with self._lock:
                if not self._queues:
                    self._thread = None
                    return
            try:
                listed = self.core.list_namespaced_pod(self.namespace, label_selector=LABEL_JOB)
                for pod in listed.items:
                    self._dispatch("LISTED", pod)
                stream = watch.Watch().stream(
                    self.core.list_namespaced_pod,
                    self.namespace,
                    label_selector=LABEL_JOB,
                    resource_version=listed.metadata.resource_version,
                    timeout_seconds=WATCH_SECONDS,
                )
                for event in stream:
                    if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                        self._dispatch(event["type"], event["object"])
            except ApiException as exn:
                if exn.status != 410:  # 410: too old a resourceVersion; list again at once
                    log.debug("pod watch: %s", exn)
                    time.sleep(1)
            except Exception as exn:  # the API went away for a moment: list again
                log.debug("pod watch: %s", exn)
                time.sleep(1)
