"""The kubernetes executor's two pure halves: what a pod's status means (``kubernetes_cluster.
classify``, fed the client's own models shaped as the test bed's kubelet reports them), and the
Job it submits (``spec``: security, resources, placement, deadline, labels), checked against the
client's models. Only ``test_job_spec`` needs the cluster (the executor lists its nodes)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from wfrewrite.compiler.plan import Command, Layout, Mount, Resources, TaskPlan
from wfrewrite.runtime.exec.kubernetes_cluster import classify


def pod(
    *,
    phase: str = "Running",
    reason: str | None = None,
    message: str | None = None,
    waiting: str | None = None,
    terminated: tuple[int, str] | None = None,
    conditions: tuple[tuple[str, str, str], ...] = (),
    deleting: bool = False,
) -> Any:
    state = client.V1ContainerState()
    if waiting:
        state.waiting = client.V1ContainerStateWaiting(reason=waiting, message=f"{waiting}!")
    elif terminated:
        code, why = terminated
        state.terminated = client.V1ContainerStateTerminated(
            exit_code=code, reason=why, message=message
        )
    else:
        state.running = client.V1ContainerStateRunning()
    statuses = [
        client.V1ContainerStatus(
            name="task", image="busybox", image_id="", ready=False, restart_count=0, state=state
        )
    ]
    return client.V1Pod(
        metadata=client.V1ObjectMeta(
            name="p",
            deletion_timestamp=datetime.datetime.now(datetime.timezone.utc) if deleting else None,
        ),
        status=client.V1PodStatus(
            phase=phase,
            reason=reason,
            message=message,
            container_statuses=statuses,
            conditions=[
                client.V1PodCondition(type=t, status=s, reason=r) for t, s, r in conditions
            ],
        ),
    )


def test_running_and_waiting() -> None:
    assert classify(pod()).kind == "waiting"
    v = classify(pod(phase="Pending", waiting="ContainerCreating"))
    assert (v.kind, v.reason) == ("waiting", "ContainerCreating")


@pytest.mark.parametrize("why", ["ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError"])
def test_fail_fast(why: str) -> None:
    v = classify(pod(phase="Pending", waiting=why))
    assert (v.kind, v.reason) == ("failed", why) and f"{why}!" in v.message


def test_the_exit_code_decides() -> None:
    """Terminated: ended with the script's code, even where phase still says Running."""
    v = classify(pod(terminated=(82, "Error")))
    assert (v.kind, v.code) == ("ended", 82)
    v = classify(pod(phase="Failed", terminated=(137, "OOMKilled")))
    assert (v.kind, v.code, v.reason) == ("ended", 137, "OOMKilled")
    v = classify(pod(phase="Succeeded", terminated=(0, "OOMKilled")))  # a child's OOM, cgroup v1
    assert (v.kind, v.code, v.reason) == ("ended", 0, "OOMKilled")
    v = classify(
        pod(phase="Failed", terminated=(128, "StartError"), message="stat /bin/sh: no such file")
    )
    assert (v.kind, v.reason) == ("ended", "StartError") and "/bin/sh" in v.message


def test_deadline() -> None:
    v = classify(
        pod(
            phase="Failed", reason="DeadlineExceeded", message="too long", terminated=(143, "Error")
        )
    )
    assert (v.kind, v.code, v.reason) == ("ended", 143, "DeadlineExceeded")


def test_disruptions_are_lost_once_the_pod_is_gone() -> None:
    evicting = (("DisruptionTarget", "True", "EvictionByEvictionAPI"),)
    v = classify(pod(conditions=evicting, deleting=True))
    assert (v.kind, v.reason, v.gone) == ("lost", "EvictionByEvictionAPI", False)
    v = classify(pod(conditions=evicting, deleting=True, terminated=(86, "Error")), deleted=True)
    assert (v.kind, v.gone) == ("lost", True)
    v = classify(pod(deleting=True, terminated=(86, "Error")))  # kubectl delete pod
    assert (v.kind, v.reason) == ("lost", "Deleted")
    v = classify(pod(deleting=True, terminated=(0, "Completed")))  # it had finished
    assert (v.kind, v.code) == ("ended", 0)
    v = classify(pod(phase="Failed", reason="Evicted", message="The node was low on memory."))
    assert (v.kind, v.gone) == ("lost", True)
    v = classify(pod(phase="Failed", reason="NodeLost"))
    assert (v.kind, v.gone) == ("lost", True)


def test_eviction_for_the_tasks_own_disk_limit_fails() -> None:
    message = 'Usage of EmptyDir volume "tmp" exceeds the limit "1Mi".'
    v = classify(pod(phase="Failed", reason="Evicted", message=message))
    assert (v.kind, v.reason) == ("failed", "Evicted") and "exceeds the limit" in v.message


def test_unschedulable_waits() -> None:
    p = pod(phase="Pending")
    p.status.container_statuses = None
    p.status.conditions = [
        client.V1PodCondition(
            type="PodScheduled", status="False", reason="Unschedulable", message="Insufficient cpu"
        )
    ]
    v = classify(p)
    assert (v.kind, v.reason, v.message) == ("waiting", "Unschedulable", "Insufficient cpu")


def test_job_spec(kubernetes: str, tmp_path: Path) -> None:
    """The Job of a task asking for everything, with the options that shape it."""
    from wfrewrite.runtime.exec import select
    from wfrewrite.runtime.options import Options

    lay = Layout.under("/tmp/wfr")
    plan = TaskPlan(
        name="everything",
        lang="wdl",
        image="busybox:latest",
        layout=lay,
        command=Command(script="echo hi\n"),
        stdout=f"{lay.root}/stdout.txt",
        stderr=f"{lay.root}/stderr.txt",
        resources=Resources(
            cpu=0.5,
            memory=64 << 20,
            disk=1 << 30,
            time_limit=30,
            preemptible=1,
            mounts=(Mount(path="/scratch", size=1 << 20),),
        ),
        max_retries=3,
    )
    ex = select(
        Options(
            executor="kubernetes",
            kubeconfig=kubernetes,
            transport="url",
            store="http://127.0.0.1:8089/wfr-tests/k8s-spec/",
            k8s_host_network=True,
            k8s_preemptible="pool=spot",
            user="1000:1000",
            run_label="spec",
        )
    )
    job = ex.prepare(plan, str(tmp_path / "t"))
    spec = ex.spec(job)
    data = client.ApiClient().sanitize_for_serialization(spec)
    assert client.ApiClient()._ApiClient__deserialize(data, "V1Job") == spec  # the models agree
    assert spec.spec.backoff_limit == 0, "retries are the engine's, resubmits the executor's"
    assert spec.spec.ttl_seconds_after_finished > 0
    labels = spec.spec.template.metadata.labels
    assert labels["wfrewrite/run"] == "spec" and labels["wfrewrite/task"] == "everything"
    assert labels["wfrewrite/job"] == job.name == spec.metadata.name
    p = spec.spec.template.spec
    assert p.active_deadline_seconds == 30 + 600, "the pod's own deadline, past the script's"
    assert p.host_network is True and p.automount_service_account_token is False
    assert p.node_selector == {"pool": "spot"}
    assert [(t.key, t.operator) for t in p.tolerations] == [("pool", "Exists")]
    c = p.containers[0]
    assert c.image_pull_policy == "IfNotPresent"
    assert c.command[:2] == ["/bin/sh", "-c"] and c.command[2] == job.script.replace("$", "$$")
    want = {"cpu": "0.5", "memory": str(64 << 20), "ephemeral-storage": str(1 << 30)}
    assert c.resources.requests == want and c.resources.limits == want
    sc = c.security_context
    assert sc.read_only_root_filesystem is True and sc.allow_privilege_escalation is False
    assert sc.capabilities.drop == ["ALL"] and sc.seccomp_profile.type == "RuntimeDefault"
    assert (sc.run_as_user, sc.run_as_group, sc.run_as_non_root) == (1000, 1000, True)
    mounts = {m.mount_path: m.name for m in c.volume_mounts}
    assert mounts == {"/tmp": "tmp", "/scratch": "disk0"}
    volumes = {v.name: v.empty_dir.size_limit for v in p.volumes}
    assert volumes == {"tmp": str(1 << 30), "disk0": str(1 << 20)}
