"""A plan as a Kubernetes Job (the official client's ``V1Job`` model): the one builder, for
``wfrewrite compile --emit k8s`` and for the ``kubernetes`` executor.

    $ wfrewrite compile hello.wdl -i in.json -o out/ --emit k8s
    plan (transport "platform")  ->  out/k8s-job.json: a Job whose one container runs
                                     ["/bin/sh", "-c", SCRIPT, "wfrewrite"] in the task's image

    k8s_job(plan, JobSettings(name="wfr-hello-5f2c0e1a2b3c", labels=(("wfrewrite/run", "r1"),),
                              volumes=(Volume(name="tmp", mounts=(("/tmp", ""),)),),
                              host_network=True, run_as=(1000, 1000)))
        # the executor's Job: backoffLimit 0, the pod's own activeDeadlineSeconds, cpu, memory,
        # ephemeral-storage and GPUs as requests and limits, read-only root, no capabilities,
        # uid 1000, no service account token, an emptyDir at /tmp (the url transport's /tmp/wfr)

The pod needs no privilege: ``readOnlyRootFilesystem`` (unless the settings say the task writes
into the image's filesystem), no privilege escalation, every capability dropped, the runtime's
seccomp profile, non-root when a uid is given. Every ``$`` of the command is doubled
(``literal``): Kubernetes expands ``$(VAR)`` in a container's command and turns ``$$`` into
``$``, and the script must reach ``sh -c`` byte for byte. The deadline is the *pod's*
``activeDeadlineSeconds`` (the Job's would delete the pod, and its logs with it). With
``--emit k8s`` Kubernetes moves no bytes itself: whoever prepares the volume (an init container,
a pre-filled claim) puts the inputs where the annotation ``wfrewrite/inputs`` says (source ->
path); the script checks they are there. Tests check the Job against the kubernetes models.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from ..plan.ir import DEFAULT_IMAGE, TaskPlan
from .script import emit

CONTAINER = "task"  # the name of the pod's one container
GPU = "nvidia.com/gpu"  # the extended resource a GPU is asked for by
MIN_MEMORY = 6 * 1024 * 1024  # less and the container cannot start

VolumeKind = Literal["empty_dir", "pvc", "host_path"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Volume:
    """A volume of the pod and where the container mounts it: (container path, sub path)."""

    name: str
    kind: VolumeKind = "empty_dir"
    source: str = ""  # the claim, or the host directory
    size: int | None = None  # an emptyDir's sizeLimit, bytes
    mounts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSettings:
    """How the Job runs, beyond what the plan says. The defaults are ``--emit k8s``'s."""

    name: str = ""  # default: wfr-<task>
    namespace: str | None = None
    labels: tuple[tuple[str, str], ...] = ()  # on the Job and on its pod
    command: tuple[str, ...] = ()  # default: /bin/sh -c SCRIPT wfrewrite
    working_dir: str | None = None  # default: the plan's root, when the area is mounted there
    volumes: tuple[Volume, ...] = ()  # default: an emptyDir at the plan's root
    host_network: bool = False
    run_as: tuple[int, int | None] | None = None  # uid, gid
    writable_root: bool = False  # the task writes into the image's filesystem
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerate: str = ""  # a taint key the pod tolerates (preemptible nodes)
    deadline: int | None = None  # the pod's activeDeadlineSeconds; default: the time limit
    backoff_limit: int | None = None  # default: the plan's retries
    grace: int | None = None  # terminationGracePeriodSeconds
    ttl: int | None = None  # ttlSecondsAfterFinished


def job_name(plan: TaskPlan) -> str:
    return re.sub(r"[^a-z0-9-]", "-", f"wfr-{plan.name}".lower())[:52].strip("-")


def amounts(plan: TaskPlan) -> dict[str, str]:
    """The plan's resources as Kubernetes quantities (requests = limits)."""
    r = plan.resources
    out: dict[str, str] = {}
    if r.cpu:
        out["cpu"] = f"{r.cpu:g}"
    if r.memory:
        out["memory"] = str(max(r.memory, MIN_MEMORY))
    if r.disk:
        out["ephemeral-storage"] = str(r.disk)
    if r.gpu:
        out[GPU] = str(r.gpu)
    return out


def k8s_job(plan: TaskPlan, settings: JobSettings | None = None, *, pvc: str | None = None) -> Any:
    """The plan as a ``kubernetes.client.V1Job``. ``pvc``: ``--emit k8s``'s claim holding the
    task's area (at the plan's root)."""
    from kubernetes import client

    s = settings or JobSettings()
    name = s.name or job_name(plan)
    area = Volume(
        name="task",
        kind="pvc" if pvc else "empty_dir",
        source=pvc or "",
        mounts=((plan.layout.root, ""),),
    )
    volumes = s.volumes or (area,)
    quantities = amounts(plan)
    run_as = s.run_as
    container = client.V1Container(
        name=CONTAINER,
        image=plan.image or DEFAULT_IMAGE,
        image_pull_policy="IfNotPresent",
        command=[literal(w) for w in s.command or ("/bin/sh", "-c", emit(plan), "wfrewrite")],
        working_dir=s.working_dir if s.volumes else plan.layout.root,
        resources=client.V1ResourceRequirements(
            requests=quantities or None, limits=quantities or None
        ),
        security_context=client.V1SecurityContext(
            read_only_root_filesystem=not s.writable_root,
            allow_privilege_escalation=False,
            capabilities=client.V1Capabilities(drop=["ALL"]),
            seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
            run_as_user=run_as[0] if run_as else None,
            run_as_group=run_as[1] if run_as else None,
            run_as_non_root=True if run_as and run_as[0] != 0 else None,
        ),
        volume_mounts=[
            client.V1VolumeMount(name=v.name, mount_path=path, sub_path=sub or None)
            for v in volumes
            for path, sub in v.mounts
        ],
    )
    selector = dict(s.node_selector) or None
    pod = client.V1PodSpec(
        restart_policy="Never",
        containers=[container],
        volumes=[_volume(client, v) for v in volumes],
        host_network=s.host_network or None,
        automount_service_account_token=False,
        enable_service_links=False,
        active_deadline_seconds=s.deadline or plan.resources.time_limit,
        termination_grace_period_seconds=s.grace,
        node_selector=selector,
        tolerations=[client.V1Toleration(key=s.tolerate, operator="Exists")]
        if s.tolerate
        else None,
    )
    labels = {"app": "wfrewrite", **dict(s.labels)}
    spec = client.V1JobSpec(
        backoff_limit=plan.max_retries if s.backoff_limit is None else s.backoff_limit,
        ttl_seconds_after_finished=s.ttl,
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={**labels, "task": name}), spec=pod
        ),
    )
    annotations = None
    if plan.transport == "platform":
        inputs = json.dumps([{"source": i.source, "path": i.path} for i in plan.stage])
        annotations = {"wfrewrite/inputs": inputs}
    meta = client.V1ObjectMeta(
        name=name, namespace=s.namespace, labels=labels, annotations=annotations
    )
    return client.V1Job(api_version="batch/v1", kind="Job", metadata=meta, spec=spec)


def literal(word: str) -> str:
    """``word`` as a container's command word that Kubernetes passes on unchanged: it expands
    ``$(VAR)`` there and reduces ``$$`` to ``$`` (a script's ``echo $$`` would lose its PID)."""
    return word.replace("$", "$$")


def _volume(client: Any, v: Volume) -> Any:
    if v.kind == "pvc":
        claim = client.V1PersistentVolumeClaimVolumeSource(claim_name=v.source)
        return client.V1Volume(name=v.name, persistent_volume_claim=claim)
    if v.kind == "host_path":
        return client.V1Volume(
            name=v.name, host_path=client.V1HostPathVolumeSource(path=v.source, type="Directory")
        )
    size = str(v.size) if v.size else None
    return client.V1Volume(name=v.name, empty_dir=client.V1EmptyDirVolumeSource(size_limit=size))


def k8s_json(job: Any) -> str:
    from kubernetes import client

    return json.dumps(client.ApiClient().sanitize_for_serialization(job), indent=2) + "\n"
