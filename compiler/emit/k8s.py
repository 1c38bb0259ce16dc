"""A plan as a Kubernetes Job (the official client's ``V1Job`` model).

    $ wfrewrite compile hello.wdl -i in.json -o out/ --emit k8s
    plan (transport "platform")  ->  out/k8s-job.json: a Job whose one container runs
                                     ["/bin/sh", "-c", SCRIPT, "wfrewrite"] in the task's image

The Job runs the script with a read-only root filesystem, the task's area as a volume (an
emptyDir, or a PersistentVolumeClaim), cpu/memory as requests and limits, ``backoffLimit`` from
the retries. Kubernetes moves no bytes itself: whoever prepares the volume (an init container, a
pre-filled claim) puts the inputs where the annotation ``wfrewrite/inputs`` says (source ->
path); the script checks they are there. Tests check the Job against the kubernetes models.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..plan.ir import DEFAULT_IMAGE, TaskPlan
from .script import emit


def k8s_job(plan: TaskPlan, *, pvc: str | None = None, namespace: str | None = None) -> Any:
    """The plan as a ``kubernetes.client.V1Job``: the script with ``sh -c`` in the task's image."""
    from kubernetes import client

    name = re.sub(r"[^a-z0-9-]", "-", f"wfr-{plan.name}".lower())[:52].strip("-")
    script = emit(plan)
    r = plan.resources
    amounts: dict[str, str] = {}
    if r.cpu:
        amounts["cpu"] = f"{r.cpu:g}"
    if r.memory:
        amounts["memory"] = str(r.memory)
    if r.disk:
        amounts["ephemeral-storage"] = str(r.disk)
    volume = (
        client.V1Volume(
            name="task",
            persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(claim_name=pvc),
        )
        if pvc
        else client.V1Volume(name="task", empty_dir=client.V1EmptyDirVolumeSource())
    )
    container = client.V1Container(
        name="task",
        image=plan.image or DEFAULT_IMAGE,
        command=["/bin/sh", "-c", script, "wfrewrite"],
        working_dir=plan.layout.root,
        resources=client.V1ResourceRequirements(requests=amounts or None, limits=amounts or None),
        security_context=client.V1SecurityContext(
            read_only_root_filesystem=True, allow_privilege_escalation=False
        ),
        volume_mounts=[client.V1VolumeMount(name="task", mount_path=plan.layout.root)],
    )
    pod = client.V1PodSpec(restart_policy="Never", containers=[container], volumes=[volume])
    spec = client.V1JobSpec(
        backoff_limit=plan.max_retries,
        active_deadline_seconds=r.time_limit,
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={"app": "wfrewrite", "task": name}), spec=pod
        ),
    )
    inputs = json.dumps([{"source": s.source, "path": s.path} for s in plan.stage])
    meta = client.V1ObjectMeta(
        name=name,
        namespace=namespace,
        labels={"app": "wfrewrite"},
        annotations={"wfrewrite/inputs": inputs},
    )
    return client.V1Job(api_version="batch/v1", kind="Job", metadata=meta, spec=spec)


def k8s_json(job: Any) -> str:
    from kubernetes import client

    return json.dumps(client.ApiClient().sanitize_for_serialization(job), indent=2) + "\n"
