"""The ``kubernetes`` executor: one Job per task through the official client, watched by its pod.

    ex = select(Options(executor="kubernetes", transport="url", k8s_host_network=True,
                        store="http://127.0.0.1:8089/wfr/"))
    job = ex.prepare(plan, "/runs/t1")   # refused here if no node can hold it; inputs uploaded
    ex.run(job)
        # creates Job wfr-hello-5f2c0e1a2b3c (labels wfrewrite/run, /task, /job; backoffLimit 0):
        #   busybox:latest  /bin/sh -c SCRIPT   read-only root, no capabilities, an emptyDir at
        #   /tmp (the script's root is /tmp/wfr), cpu/memory/ephemeral-storage/GPUs as requests
        #   and limits, the pod's activeDeadlineSeconds from the time limit, hostNetwork
        # then: the pod's container terminated with exit 0 -> its log into wfrewrite/script.log,
        # the Job deleted, the manifest and the outputs fetched from the store

Bytes travel by the url transport (the default: nothing mounted, the script GETs and PUTs), or
by the mounted transport on a volume the pods and this machine share: ``--k8s-host-path DIR``
(one node: the task directories are under DIR, each mounted at /mnt/wfr with its subPath) or
``--k8s-pvc CLAIM:DIR`` (a claim this machine has mounted at DIR).

One watch per executor follows every pod it starts (``PodWatch``); each task waits for its own
pod's events and ``kubernetes_cluster.classify`` says what they mean: ended (the manifest then says
how), failed for good (an image that cannot be pulled, fails in seconds, by name), or lost to the
cluster (evicted, deleted, its node gone): submitted again, at most ``--k8s-resubmits`` times,
not counted as the task's retries. Ctrl-C, the engine's ``terminating()`` and the driver's exit
delete the Job and its pod; ``sweep(run)`` deletes whatever a killed driver left of a run.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import logging
import os
import posixpath
import queue
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from wfrewrite.compiler.diagnostics import TaskFailed, Unsupported, WfError
from wfrewrite.compiler.emit.k8s import (
    CONTAINER,
    GPU,
    JobSettings,
    Volume,
    VolumeKind,
    amounts,
    k8s_job,
)
from wfrewrite.compiler.plan import CONTAINER_ROOT, Facts, ImageFacts, Pass, TaskPlan
from wfrewrite.compiler.plan.passes import bind_entrypoint, choose_image, image_candidates

from ..job import (
    LABEL_DRIVER,
    LABEL_JOB,
    LABEL_RUN,
    Job,
    RunResult,
    driver_alive,
    job_name,
    label_value,
)
from ..options import Options
from ..transport import Transport
from .base import Executor, Gate, Terminating, reaper, said, tail_lines
from .container import DockerExecutor, PodmanExecutor, open_up
from .kubernetes_cluster import (
    PodWatch,
    Verdict,
    allocatable,
    classify,
    largest,
    quantity,
    shortfall,
    show,
)

log = logging.getLogger("wfrewrite.executor.kubernetes")

GRACE = 10  # seconds a deleted pod's script has to stop its command and send its manifest
DEADLINE_SLACK = 600  # the pod's deadline: the time limit (the script's own) plus staging time
TTL = 86400  # a finished Job the driver could not delete goes away after a day
POLL = 1.0  # seconds between looks at terminating()
RELOOK = 15.0  # seconds without an event before a task reads its pods and Job itself
LOG_LINES = 2000  # of the script's own log, read before the pod is deleted
NODES_TTL = 30.0  # seconds the nodes' allocatable resources are cached
API_MISSES = 8  # relooks in a row the API may fail (each retried 4 times) before the task does
SERVICE_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"  # in a pod


class KubernetesExecutor(Executor):
    name = "kubernetes"
    transports = ("url", "mounted")
    default_transport = "url"

    def __init__(self, options: Options, transport: Transport) -> None:
        super().__init__(options, transport)
        self.area: tuple[VolumeKind, str, str] = area_of(options, transport)
        from kubernetes import client, config

        cfg = client.Configuration()
        path = options.kubeconfig
        try:
            config.load_kube_config(config_file=path, client_configuration=cfg)
            _, active = config.list_kube_config_contexts(config_file=path)
            namespace = (active or {}).get("context", {}).get("namespace", "")
        except (config.ConfigException, OSError) as exn:
            if path is not None or "KUBERNETES_SERVICE_HOST" not in os.environ:
                raise WfError(f"executor kubernetes: no usable kubeconfig ({exn})") from None
            config.load_incluster_config(client_configuration=cfg)  # the driver runs in a pod
            namespace = read_text(SERVICE_NAMESPACE)
        self.server = cfg.host
        self.namespace = options.namespace or namespace or "default"
        self.api = client.ApiClient(cfg)  # this executor's own, not the global default
        self.core = client.CoreV1Api(self.api)
        self.batch = client.BatchV1Api(self.api)
        self.watch = PodWatch(self.core, self.namespace)
        self._active: set[str] = set()  # Jobs created and not deleted yet
        self._lock = threading.Lock()
        self._nodes: tuple[float, list[tuple[str, dict[str, Decimal]]]] | None = None
        atexit.register(self.shutdown)

    # -- preparing ------------------------------------------------------------------------

    def container_root(self, host_root: str) -> str:
        return self.transport.container_root(CONTAINER_ROOT)

    def report(self, plan: TaskPlan, unsupported: Unsupported) -> None:
        if plan.resources.preemptible and not self.options.k8s_preemptible:
            unsupported.report(
                plan.source,
                "runtime key 'preemptible'",
                "the kubernetes executor places preemptible tasks where --k8s-preemptible "
                "KEY=VALUE says; without it the task runs on any node",
                hint=True,
            )

    def gather(self, plan: TaskPlan) -> Facts:
        """The image (the first candidate: the cluster's registries are not known here) and,
        for an argv command that goes through it, its ENTRYPOINT as a local podman or docker
        knows it (the cluster cannot say)."""
        image = image_candidates(plan, self.options.default_image)[0]
        entrypoint: tuple[str, ...] = ()
        if plan.command.entrypoint:
            found = self.local_entrypoint(image)
            if found is None:
                log.warning(
                    "task %s: the ENTRYPOINT of %s is not known here (no local podman or docker "
                    "has the image); the command runs without it",
                    plan.name,
                    image,
                )
            entrypoint = found or ()
        return Facts(image=ImageFacts(image=image, entrypoint=entrypoint))

    def local_entrypoint(self, image: str) -> tuple[str, ...] | None:
        for cls in (PodmanExecutor, DockerExecutor):
            engine = cls(self.options, self.transport)
            if os.path.isabs(engine.binary):
                facts = engine.inspect(image)
                if facts.present:
                    return facts.entrypoint
        return None

    def passes(self) -> list[Pass]:
        return [choose_image, bind_entrypoint]

    def prepare(
        self, plan: TaskPlan, host_root: str, unsupported: Unsupported | None = None
    ) -> Job:
        return super().prepare(self.fit(plan), host_root, unsupported)

    def fit(self, plan: TaskPlan) -> TaskPlan:
        """``plan`` if some node can hold it; else refused, by name, before anything is
        uploaded or submitted (``--resources clamp``: cut to the largest node's)."""
        want = amounts(plan)
        short = shortfall(want, self.nodes())
        if short is None:
            return plan
        node, alloc, over = short
        if self.options.resources == "clamp" and all(k in CLAMPED for k in over):
            cut: dict[str, Any] = {CLAMPED[k]: int(alloc[k]) for k in over}
            if "cpu" in over:
                cut["cpu"] = float(alloc["cpu"])
            log.warning("task %s: %s cut to what node %s has", plan.name, ", ".join(over), node)
            return plan.replace(resources=dataclasses.replace(plan.resources, **cut))
        asks = ", ".join(f"{k} {show(k, quantity(want[k]))}" for k in over)
        has = ", ".join(f"{k} {show(k, alloc.get(k, Decimal(0)))}" for k in over)
        raise TaskFailed(
            f"task {plan.name} asks for {asks}: no node of the cluster can hold it (the largest, "
            f"{node}, has {has} allocatable); nothing was submitted"
            + ("" if GPU in over else " (--resources clamp runs it with what that node has)")
        )

    def nodes(self) -> list[tuple[str, dict[str, Decimal]]]:
        """(name, allocatable) of every node that takes pods (cached for NODES_TTL s)."""
        with self._lock:
            if self._nodes is not None and time.monotonic() - self._nodes[0] < NODES_TTL:
                return self._nodes[1]
        found = allocatable(self.call("list the nodes", self.core.list_node).items)
        with self._lock:
            self._nodes = (time.monotonic(), found)
        return found

    def limits(self) -> dict[str, int] | None:
        """The largest node's allocatable cpu and memory (None: no node, nothing refused)."""
        nodes = self.nodes()
        if not nodes:
            return None
        _, alloc = largest(nodes)
        return {"cpu": max(1, int(alloc.get("cpu", 1))), "mem_bytes": int(alloc.get("memory", 0))}

    # -- running --------------------------------------------------------------------------

    def write(self, job: Job) -> str:
        script = super().write(job)
        if self.transport.mounts:
            self.sub_path(job.host_root)  # under the shared directory, or refused
            os.makedirs(os.path.join(job.host_root, "work"), exist_ok=True)
            if self.options.user:
                open_up(job.host_root)
        return script

    def launch_argv(self, job: Job) -> list[str]:
        raise WfError("the kubernetes executor runs no command on this host (it submits Jobs)")

    def execute(self, job: Job, terminating: Terminating) -> tuple[int, str]:
        verdict, _ = self.attempts(job, terminating)
        return (verdict.code if verdict.code is not None else -1), self.log_path(job)

    def run(self, job: Job, *, terminating: Terminating = None, gate: Gate = None) -> RunResult:
        self.write(job)
        with contextlib.ExitStack() as slot:
            if gate is not None:
                slot.enter_context(gate)
            # the slot frees once the pod has ended: reading its log and deleting its Job
            # happen beside the next task's pod
            verdict, last = self.attempts(job, terminating, slot.close)
        return self.result(last, verdict)

    def log_path(self, job: Job) -> str:
        return os.path.join(job.meta, "script.log")

    def attempts(
        self, job: Job, terminating: Terminating, ended: Callable[[], None] | None = None
    ) -> tuple[Verdict, Job]:
        """Submit ``job`` until its pod ends or fails; a lost pod is submitted again (as a new
        Job) up to ``--k8s-resubmits`` times. ``ended`` is called once the last pod has ended
        (before its log is read and its Job deleted)."""
        lost: list[str] = []
        attempt = job
        while True:
            verdict = self.attempt(attempt, terminating, ended)
            if verdict.kind != "lost":
                return verdict, attempt
            lost.append(verdict.said() or "lost")
            if len(lost) > self.options.k8s_resubmits:
                raise TaskFailed(
                    f"task {job.plan.name}: its pod was lost {len(lost)} times, more than "
                    f"--k8s-resubmits {self.options.k8s_resubmits} allows (last: {lost[-1]})"
                )
            attempt = job.replace(name=job_name(job.plan.name))
            log.warning(
                "task %s: pod lost (%s); submitted again as %s (%d of %d)",
                job.plan.name,
                lost[-1],
                attempt.name,
                len(lost),
                self.options.k8s_resubmits,
            )
            if self.transport.mounts:
                set_aside(job, len(lost))

    def attempt(
        self, job: Job, terminating: Terminating, ended: Callable[[], None] | None = None
    ) -> Verdict:
        """One Job: create it, wait for its pod's verdict, keep its log, delete it (a reaper
        deletes it if this process is killed meanwhile); ``ended``: called when the pod has
        ended (not when it was lost)."""
        events = self.watch.subscribe(job.name)
        try:
            with reaper(self.reaper_argv(job)):
                self.create(job)
                verdict, pod = self.wait(job, events, terminating)
                if verdict.kind != "lost" and ended is not None:
                    ended()
            if pod and verdict.kind != "lost":
                self.keep_log(pod, self.log_path(job))
        except BaseException:  # Ctrl-C, terminating(), an API failure: nothing left running
            self.delete(job.name, GRACE, wait=True)
            raise
        finally:
            self.watch.unsubscribe(job.name)
        # a pod deleted with its Job is a cancellation (by someone else), not a loss
        cancelled = verdict.reason == "Deleted" and self.job_named(job.name) is None
        self.delete(job.name, 0)  # its container has stopped
        if cancelled:
            raise TaskFailed(f"task {job.plan.name}: its Job {job.name} was deleted")
        return verdict

    def create(self, job: Job) -> None:
        with open(os.path.join(job.meta, "k8s-job"), "w", encoding="utf-8") as f:
            f.write(f"{self.namespace}/{job.name}\n")
        with self._lock:
            self._active.add(job.name)
        self.call(
            "create the Job", self.batch.create_namespaced_job, self.namespace, self.spec(job)
        )
        log.info("task %s: Job %s/%s created", job.plan.name, self.namespace, job.name)

    def spec(self, job: Job) -> Any:
        """The Job of ``job`` (``compiler.emit.k8s`` builds it from these settings)."""
        plan, o = job.plan, self.options
        lay, r = plan.layout, plan.resources
        volumes = [Volume(name="tmp", size=r.disk, mounts=(("/tmp", ""),))]
        command: tuple[str, ...] = ("/bin/sh", "-c", job.script, "wfrewrite")
        workdir = None
        if self.transport.mounts:
            kind, source, _ = self.area
            sub = self.sub_path(job.host_root)
            mounts = [(CONTAINER_ROOT, sub)]
            if lay.work_alias:
                mounts.append((lay.work_alias, posixpath.join(sub, lay.relative(lay.work))))
            volumes.append(Volume(name="task", kind=kind, source=source, mounts=tuple(mounts)))
            command, workdir = ("/bin/sh", f"{CONTAINER_ROOT}/wfrewrite/script.sh"), CONTAINER_ROOT
        for n, m in enumerate(r.mounts):
            volumes.append(Volume(name=f"disk{n}", size=m.size, mounts=((m.path, ""),)))
        # the task writes into the image's own filesystem: CWL InitialWorkDir entries at
        # absolute paths, or (nothing mounted) the link to the work dir at its alias
        writes_image = bool(lay.outside) or (bool(lay.work_alias) and not self.transport.mounts)
        placement: tuple[tuple[str, str], ...] = ()
        if r.preemptible and o.k8s_preemptible:
            key, _, value = o.k8s_preemptible.partition("=")
            placement = ((key, value),)
        settings = JobSettings(
            name=job.name,
            namespace=self.namespace,
            labels=tuple({**job.labels, LABEL_JOB: job.name}.items()),
            command=command,
            working_dir=workdir,
            volumes=tuple(volumes),
            host_network=o.k8s_host_network,
            run_as=uid_gid(o.user),
            writable_root=writes_image and not o.read_only,
            node_selector=placement,
            tolerate=placement[0][0] if placement else "",
            deadline=r.time_limit + DEADLINE_SLACK if r.time_limit else None,
            backoff_limit=0,
            grace=GRACE,
            ttl=TTL,
        )
        return k8s_job(plan, settings)

    def wait(
        self, job: Job, events: queue.Queue[tuple[str, Any]], terminating: Terminating
    ) -> tuple[Verdict, str]:
        """The first verdict that ends the attempt, and the pod's name. The API may be away
        for a while (RELOOK x API_MISSES); a pod being taken away gets GRACE + 60 s to go."""
        seen = ""  # the last waiting reason said
        last = time.monotonic()
        misses = 0
        losing: float | None = None
        while True:
            if terminating is not None and terminating():
                raise TaskFailed(f"task {job.plan.name}: cancelled; its Job {job.name} deleted")
            try:
                kind, pod = events.get(timeout=POLL)
            except queue.Empty:
                if time.monotonic() - last > RELOOK:
                    last = time.monotonic()
                    try:
                        verdict = self.relook(job, events)
                        misses = 0
                    except TaskFailed:
                        misses += 1
                        if misses >= API_MISSES:
                            raise
                        continue
                    if verdict is not None:
                        return verdict, ""
                continue
            last = time.monotonic()
            verdict = classify(pod, deleted=kind == "DELETED")
            if verdict.kind == "lost" and not verdict.gone:
                losing = losing or time.monotonic()
                if time.monotonic() - losing > GRACE + 60:  # it does not go: take it as gone
                    verdict = dataclasses.replace(verdict, gone=True)
            if verdict.kind in ("ended", "failed") or (verdict.kind == "lost" and verdict.gone):
                return verdict, pod.metadata.name
            if verdict.reason != seen and verdict.reason in ("Unschedulable", "Deleted"):
                log.warning("task %s: pod %s: %s", job.plan.name, pod.metadata.name, verdict.said())
            seen = verdict.reason

    def relook(self, job: Job, events: queue.Queue[tuple[str, Any]]) -> Verdict | None:
        """No event for a while: read the pods (a missed event), or, where there is none, the
        Job (it failed, or the API refuses to create its pod)."""
        pods = self.pods(f"{LABEL_JOB}={job.name}")
        for pod in pods:
            events.put(("LISTED", pod))
        if pods:
            return None
        found = self.job_named(job.name)
        if found is None:
            return Verdict("failed", reason="JobDeleted", message=f"its Job {job.name} was deleted")
        for c in found.status.conditions or ():
            if c.type == "Failed" and c.status == "True":
                return Verdict("failed", reason=c.reason or "Failed", message=c.message or "")
        refused = self.call(
            "read the Job's events",
            self.core.list_namespaced_event,
            self.namespace,
            field_selector=f"involvedObject.name={job.name}",
        )
        for ev in refused.items:
            message = ev.message or ""
            if ev.reason == "FailedCreate" and "forbidden" in message and "quota" not in message:
                return Verdict("failed", reason="FailedCreate", message=message)
        return None

    def keep_log(self, pod: str, path: str) -> None:
        """The script's own log (stdout and stderr merged), before the pod goes."""
        from kubernetes.client.exceptions import ApiException

        try:
            text = self.core.read_namespaced_pod_log(
                pod, self.namespace, container=CONTAINER, tail_lines=LOG_LINES
            )
        except (ApiException, OSError) as exn:
            log.debug("pod %s: no log (%s)", pod, exn)
            return
        with open(path, "w", encoding="utf-8") as f:
            f.write(text or "")

    def result(self, job: Job, verdict: Verdict) -> RunResult:
        """The run's result, or a TaskFailed that names what the pod said."""
        plan = job.plan
        log_path = self.log_path(job)
        if verdict.kind == "failed":
            what = f"image {plan.image}: " if verdict.reason in IMAGE_REASONS else "the pod "
            if verdict.reason == "Evicted":
                what = f"the pod was evicted (disk limit {size(plan.resources.disk)}): "
            raise TaskFailed(f"task {plan.name}: {what}{verdict.said()}; its Job was deleted")
        if verdict.reason == "StartError":
            if "/bin/sh" in verdict.message:
                raise TaskFailed(
                    f"task {plan.name}: the image {plan.image} has no /bin/sh; wfrewrite scripts need "
                    f"a POSIX shell in the image: use an image with /bin/sh ({verdict.message})"
                )
            raise TaskFailed(f"task {plan.name}: the container could not start: {verdict.said()}")
        code = verdict.code if verdict.code is not None else -1
        ended = f"the pod ended ({verdict.said()}, exit {code})"
        if verdict.reason == "OOMKilled":
            ended = f"the container was OOMKilled (memory limit {size(plan.resources.memory)})"
        elif verdict.reason == "DeadlineExceeded":
            ended = f"the pod exceeded its deadline ({verdict.message or 'DeadlineExceeded'})"
        try:
            result = self.finish(job, code, log_path)
        except TaskFailed as exn:
            raise TaskFailed(f"task {plan.name}: {ended}: {exn.message}") from None
        m = result.manifest
        assert m is not None
        if verdict.reason in ("OOMKilled", "DeadlineExceeded") and not m.succeeded:
            raise TaskFailed(f"task {plan.name}: {ended}; {m.message or m.status}{stderr_of(job)}")
        if verdict.reason == "OOMKilled":
            log.warning(
                "task %s: a process of the task was OOMKilled; the script still finished", plan.name
            )
        return result

    # -- removing -------------------------------------------------------------------------

    def delete(self, name: str, grace: int, *, wait: bool = False) -> None:
        """Delete the Job ``name`` and its pods; ``wait``: until no pod of it is left (bounded)."""
        from kubernetes.client.exceptions import ApiException

        selector = f"{LABEL_JOB}={name}"
        try:
            self.batch.delete_namespaced_job(
                name, self.namespace, propagation_policy="Background", grace_period_seconds=grace
            )
        except ApiException as exn:
            if exn.status != 404:
                log.warning("Job %s: not deleted (%s)", name, exn.reason)
        except OSError as exn:
            log.warning("Job %s: not deleted (%s)", name, exn)
        try:
            self.core.delete_collection_namespaced_pod(
                self.namespace, label_selector=selector, grace_period_seconds=grace
            )
            deadline = time.monotonic() + grace + 15
            while wait and time.monotonic() < deadline:
                if not self.core.list_namespaced_pod(self.namespace, label_selector=selector).items:
                    break
                time.sleep(0.25)
        except (ApiException, OSError) as exn:
            log.warning("Job %s: its pods not deleted (%s)", name, exn)
        with self._lock:
            self._active.discard(name)

    def pods(self, selector: str) -> list[Any]:
        return self.call(
            "list the pods", self.core.list_namespaced_pod, self.namespace, label_selector=selector
        ).items

    def job_named(self, name: str) -> Any:
        found = self.call(
            "read the Job",
            self.batch.list_namespaced_job,
            self.namespace,
            field_selector=f"metadata.name={name}",
        ).items
        return found[0] if found else None

    def cancel(self, name: str) -> None:
        self.delete(name, 2)

    def sweep(self, run: str, *, force: bool = False) -> list[str]:
        """Delete the Jobs (and their pods) labelled with the run ``run`` whose driver is gone
        (``force``: every one of them), waiting (bounded) until their pods are gone too (the Job
        controller's finalizer keeps a deleted pod listed a moment); their names."""
        ns, sel = self.namespace, f"{LABEL_RUN}={label_value(run)}"
        jobs = self.call("list the Jobs", self.batch.list_namespaced_job, ns, label_selector=sel)
        gone = [
            j.metadata.name
            for j in jobs.items
            if force or not driver_alive((j.metadata.labels or {}).get(LABEL_DRIVER, ""))
        ]
        removed = []
        for name in gone:
            removed += [f"pod/{p.metadata.name}" for p in self.pods(f"{LABEL_JOB}={name}")]
            self.delete(name, 0, wait=True)
            removed.append(f"job/{name}")
        return removed

    def shutdown(self) -> None:
        """At the driver's exit: delete every Job still running (without waiting)."""
        with self._lock:
            names = list(self._active)
        for name in names:
            self.delete(name, 2)

    # -- helpers --------------------------------------------------------------------------

    def sub_path(self, host_root: str) -> str:
        """The task directory's path within the shared volume (mounted transport)."""
        _, _, top = self.area
        real, top = os.path.realpath(host_root), os.path.realpath(top)
        if os.path.commonpath([real, top]) != top or real == top:
            raise WfError(
                f"the task directory {real} is not under {top}, which the pods mount; run "
                f"with --dir under it"
            )
        return os.path.relpath(real, top)

    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """An API call; its failure as an error that says what was asked, of which server."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        for attempt in range(4):
            try:
                return fn(*args, **kwargs)
            except ApiException as exn:
                if exn.status == 409 and fn == self.batch.create_namespaced_job and attempt:
                    return None  # an earlier attempt created it
                if exn.status not in (429, 500, 502, 503, 504) or attempt == 3:
                    raise TaskFailed(
                        f"Kubernetes ({self.server}): could not {what}: {exn.status} "
                        f"{exn.reason}{said(api_message(exn))}"
                    ) from None
            except (HTTPError, OSError) as exn:
                if attempt == 3:
                    raise TaskFailed(
                        f"Kubernetes ({self.server}): could not {what}: {exn}"
                    ) from None
            time.sleep(0.5 * 2**attempt)
        return None


# -- the pieces -------------------------------------------------------------------------------

CLAMPED = {"cpu": "cpu", "memory": "memory", "ephemeral-storage": "disk"}
IMAGE_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")


def area_of(options: Options, transport: Transport) -> tuple[VolumeKind, str, str]:
    """(volume kind, claim or host dir, where this machine has it) of the mounted transport."""
    if not transport.mounts:
        if options.k8s_pvc or options.k8s_host_path:
            raise WfError(
                "--k8s-pvc and --k8s-host-path are for the mounted transport: add "
                "--transport mounted"
            )
        return ("empty_dir", "", "")
    if options.k8s_host_path:
        if not os.path.isdir(options.k8s_host_path):
            raise WfError(f"--k8s-host-path {options.k8s_host_path}: no such directory")
        return ("host_path", options.k8s_host_path, options.k8s_host_path)
    if options.k8s_pvc and ":" in options.k8s_pvc:
        claim, _, here = options.k8s_pvc.partition(":")
        return ("pvc", claim, here)
    raise WfError(
        "the kubernetes executor's mounted transport needs a volume the pods and this machine "
        "share: --k8s-pvc CLAIM:DIR (the claim, and where this machine has it mounted) or "
        "--k8s-host-path DIR (one node); or use --transport url"
    )


def set_aside(job: Job, n: int) -> None:
    """Move a lost attempt's files out of the way of the next (mounted transport)."""
    keep = os.path.join(job.meta, f"lost{n}")
    os.makedirs(keep, exist_ok=True)
    for name in ("work", "tmp", "home", "stdout.txt", "stderr.txt"):
        src = os.path.join(job.host_root, name)
        if os.path.lexists(src):
            os.replace(src, os.path.join(keep, name))
    os.makedirs(os.path.join(job.host_root, "work"), exist_ok=True)


def stderr_of(job: Job) -> str:
    """The last lines of the task's stderr, as the end of a message."""
    lines = tail_lines(os.path.join(job.host_root, job.plan.layout.relative(job.plan.stderr)), 5)
    return "; stderr (last lines):\n" + "\n".join("    " + ln for ln in lines) if lines else ""


def uid_gid(user: str | None) -> tuple[int, int | None] | None:
    if not user:
        return None
    uid, _, gid = user.partition(":")
    if not (uid.isdigit() and (gid.isdigit() or not gid)):
        raise WfError(f"--user {user!r}: the kubernetes executor takes a numeric UID[:GID]")
    return int(uid), int(gid) if gid else None


def size(n: int | None) -> str:
    return show("memory", Decimal(n)) if n else "none"


def api_message(exn: Any) -> str:
    try:
        return str(json.loads(exn.body).get("message", ""))
    except (TypeError, ValueError, AttributeError):
        return ""


def read_text(path: str) -> str:
    with contextlib.suppress(OSError), open(path, encoding="utf-8") as f:
        return f.read().strip()
    return ""
