"""The kubernetes executor against the test bed's real single-node Kubernetes (../shared/testbed/
k8s.sh), through `wfrewrite run` as a user runs it: a Job per task, watched by its pod.

    what                                  how it must end
    WDL task, url transport, http store   outputs fetched, identical bytes
    CWL tool, url transport, s3:// store  the CWL output object (sha1, size)
    mounted on --k8s-host-path / --k8s-pvc  outputs in place on the shared directory
    a failing command                     exit 1: the task's name, rc, stderr tail
    out of memory                         exit 1: "OOMKilled", by name
    an image that is not there            exit 1 in seconds: the image and ErrImagePull
    an image without /bin/sh              exit 1: "has no /bin/sh"
    ToolTimeLimit                         stopped at the limit
    pod deleted / evicted mid-run         submitted again, the task still succeeds
    bigger than any node                  refused before anything is submitted
    Ctrl-C of the driver                  the Job and its pod deleted before it exits
    a killed driver                       sweep(run) deletes what it left
    --user 1000:1000                      uid 1000, read-only root, no capabilities

Every test runs under its own run label and store prefix; its teardown checks that the driver
left no Job or pod behind and removes the objects it put in the stores. The `kubernetes`
fixture starts the test bed, and fails (never skips) when it cannot."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, EXAMPLES, ROOT, ObjectStores, Result, wfrewrite

pytestmark = pytest.mark.kubernetes

NS = "default"
# Not the shared wfr-tests prefix and bucket: the objstore fixture of every pytest session (this
# worktree's or another's, on the same stores) empties those when it ends.
BUCKET = "wfr-k8s"


@dataclass
class Bed:
    """One test's view of the cluster and the stores: its run label, store prefixes, clients."""

    tmp: Path
    stores: ObjectStores
    label: str
    prefix: str
    core: Any
    batch: Any

    def http_store(self) -> list[str]:
        return ["--store", f"{self.stores.http}/{BUCKET}/{self.prefix}/"]

    def s3_store(self) -> list[str]:
        return ["--store", f"s3://{BUCKET}/{self.prefix}", "--s3-endpoint", self.stores.seaweed]

    def argv(self, source: Path | str, *args: str, inputs: dict | None = None) -> list[str]:  # type: ignore[type-arg]
        argv = ["run", str(source), "--executor", "kubernetes", "--run-label", self.label]
        argv += ["--dir", str(self.tmp / "runs"), *args]
        if "--transport" not in args:
            argv += ["--k8s-host-network", "--transport", "url", *self.http_store()]
        if inputs is not None:
            path = self.tmp / f"in-{uuid.uuid4().hex[:6]}.json"
            path.write_text(json.dumps(inputs))
            argv += ["-i", str(path)]
        return argv

    def run(self, source: Path | str, *args: str, inputs: dict | None = None) -> Result:  # type: ignore[type-arg]
        return wfrewrite(*self.argv(source, *args, inputs=inputs), cwd=ROOT)

    def start(self, source: Path | str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(BIN / "wfrewrite"), *self.argv(source, *args)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def selector(self) -> str:
        return f"wfrewrite/run={self.label}"

    def jobs(self) -> list[str]:
        return [
            j.metadata.name
            for j in self.batch.list_namespaced_job(NS, label_selector=self.selector()).items
        ]

    def pods(self) -> list[Any]:
        return self.core.list_namespaced_pod(NS, label_selector=self.selector()).items

    def running_pod(self, proc: subprocess.Popen[str], timeout: float = 60) -> Any:
        """The run's pod once its container runs (``proc``: the driver, still running)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"the driver ended ({proc.returncode}): {proc.stderr.read()}")  # type: ignore[union-attr]
            for pod in self.pods():
                for cs in pod.status.container_statuses or ():
                    if cs.state.running is not None and pod.metadata.deletion_timestamp is None:
                        return pod
            time.sleep(0.2)
        raise AssertionError(f"no running pod for {self.selector()} after {timeout} s")


@pytest.fixture
def bed(kubernetes: str, objstore: ObjectStores, tmp_path: Path) -> Iterator[Bed]:
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=kubernetes, client_configuration=cfg)
    api = client.ApiClient(cfg)
    label = f"t{uuid.uuid4().hex[:12]}"
    s3 = objstore.make_bucket(BUCKET)
    b = Bed(
        tmp=tmp_path,
        stores=objstore,
        label=label,
        prefix=label,
        core=client.CoreV1Api(api),
        batch=client.BatchV1Api(api),
    )
    try:
        yield b
        left = b.jobs() + [p.metadata.name for p in b.pods()]
        assert not left, f"the driver left these behind: {left}"
    finally:
        sel = b.selector()
        b.batch.delete_collection_namespaced_job(
            NS, label_selector=sel, propagation_policy="Background"
        )
        b.core.delete_collection_namespaced_pod(NS, label_selector=sel, grace_period_seconds=0)
        shutil.rmtree(objstore.www / BUCKET / b.prefix, ignore_errors=True)
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=b.prefix + "/"
        ):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=BUCKET, Key=obj["Key"])


def wdl(tmp: Path, body: str, version: str = "1.2") -> Path:
    src = tmp / f"t-{uuid.uuid4().hex[:6]}.wdl"
    src.write_text(f"version {version}\n{body}\n")
    return src


def cwl(tmp: Path, doc: dict) -> Path:  # type: ignore[type-arg]
    src = tmp / f"t-{uuid.uuid4().hex[:6]}.cwl"
    src.write_text(json.dumps({"cwlVersion": "v1.2", "class": "CommandLineTool", **doc}))
    return src


ROUND_TRIP = """task rt {{
  input {{ File f  File g }}
  command <<<
    set -e
    cat '~{{f}}' '~{{g}}' > both.txt
    mkdir -p out/sub && cp '~{{g}}' 'out/sub/copy of g.bin'
    id -u
    touch /should-fail 2>/dev/null && echo writable || echo read-only
    echo "$HOME"
    grep CapEff /proc/self/status | tr -d '\\t'
  >>>
  output {{
    File both = "both.txt"
    Directory out = "out"
    Array[String] said = read_lines(stdout())
  }}
  runtime {{ docker: "{image}" }}
}}"""


def inputs(tmp: Path) -> dict[str, str]:
    (tmp / "data").mkdir(exist_ok=True)
    f = tmp / "data" / "f e.txt"
    f.write_text("text with ünïcode\n")
    g = tmp / "data" / "g.bin"
    g.write_bytes(bytes(range(256)) * 500 + b"\x00end")
    return {"rt.f": str(f), "rt.g": str(g)}


def check_round_trip(r: Result, tmp: Path, uid: str, home: str) -> None:
    assert r.rc == 0, r.stderr
    out = r.json["outputs"]
    data = tmp / "data"
    both = (data / "f e.txt").read_bytes() + (data / "g.bin").read_bytes()
    assert Path(out["rt.both"]).read_bytes() == both
    copy = Path(out["rt.out"]) / "sub" / "copy of g.bin"
    assert copy.read_bytes() == (data / "g.bin").read_bytes()
    assert out["rt.said"] == [uid, "read-only", home, "CapEff:0000000000000000"]


# -- bytes in, bytes out ------------------------------------------------------------------------


@pytest.mark.parametrize("image", ["busybox:latest", "debian:bookworm-slim"])
def test_wdl_over_an_http_store(bed: Bed, image: str) -> None:
    r = bed.run(wdl(bed.tmp, ROUND_TRIP.format(image=image)), inputs=inputs(bed.tmp))
    check_round_trip(r, bed.tmp, "0", "/tmp/wfr/home")
    meta = Path(r.json["dir"]) / "wfrewrite"
    assert (meta / "k8s-job").read_text().startswith(f"{NS}/wfr-rt-")
    assert "url transport" in (meta / "script.log").read_text(), "the pod's log is kept"


def test_cwl_over_an_s3_store(bed: Bed) -> None:
    src = cwl(
        bed.tmp,
        {
            "requirements": {"DockerRequirement": {"dockerPull": "debian:bookworm-slim"}},
            "baseCommand": ["sed", "s/a/A/g"],
            "inputs": {"f": {"type": "File", "inputBinding": {"position": 1}}},
            "stdout": "out.txt",
            "outputs": {"out": {"type": "stdout"}},
        },
    )
    (bed.tmp / "in.txt").write_text("banana\n")
    job = bed.tmp / "job.json"
    job.write_text(json.dumps({"f": {"class": "File", "path": str(bed.tmp / "in.txt")}}))
    args = ["--k8s-host-network", "--transport", "url", *bed.s3_store(), "-i", str(job)]
    r = bed.run(src, *args)
    assert r.rc == 0, r.stderr
    out = r.json["outputs"]["out"]
    assert Path(out["path"]).read_text() == "bAnAnA\n"
    assert out["size"] == 7 and out["checksum"].startswith("sha1$")


def test_mounted_on_a_host_path(bed: Bed) -> None:
    """The task directories are under --k8s-host-path; each pod mounts its own at /mnt/wfr."""
    src = wdl(bed.tmp, ROUND_TRIP.format(image="busybox:latest"))
    args = ["--transport", "mounted", "--k8s-host-path", str(bed.tmp), "--user", "1000:1000"]
    r = bed.run(src, *args, inputs=inputs(bed.tmp))
    check_round_trip(r, bed.tmp, "1000", "/mnt/wfr/home")
    assert Path(r.json["outputs"]["rt.both"]).is_relative_to(bed.tmp / "runs")


def test_mounted_on_a_claim(bed: Bed) -> None:
    """--k8s-pvc CLAIM:DIR: a claim this machine has at DIR (here a PersistentVolume of the
    node's directory, bound to the claim by name)."""
    from kubernetes import client

    name = bed.label
    shared = bed.tmp / "shared"
    shared.mkdir()
    pv = client.V1PersistentVolume(
        metadata=client.V1ObjectMeta(name=name, labels={"wfrewrite/run": bed.label}),
        spec=client.V1PersistentVolumeSpec(
            capacity={"storage": "1Gi"},
            access_modes=["ReadWriteMany"],
            host_path=client.V1HostPathVolumeSource(path=str(shared), type="Directory"),
            storage_class_name="",
            claim_ref=client.V1ObjectReference(namespace=NS, name=name),
        ),
    )
    claim = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteMany"],
            resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}),
            storage_class_name="",
            volume_name=name,
        ),
    )
    bed.core.create_persistent_volume(pv)
    bed.core.create_namespaced_persistent_volume_claim(NS, claim)
    try:
        src = wdl(bed.tmp, ROUND_TRIP.format(image="busybox:latest"))
        args = ["--transport", "mounted", "--k8s-pvc", f"{name}:{shared}"]
        argv = bed.argv(src, *args, inputs=inputs(bed.tmp))
        argv[argv.index("--dir") + 1] = str(shared / "runs")
        r = wfrewrite(*argv, cwd=ROOT)
        check_round_trip(r, bed.tmp, "0", "/mnt/wfr/home")
    finally:
        bed.core.delete_namespaced_persistent_volume_claim(name, NS)
        bed.core.delete_persistent_volume(name)


# -- failures, by name ------------------------------------------------------------------------


def test_dollars_reach_the_script_unchanged(bed: Bed) -> None:
    """Kubernetes expands $(VAR) and turns $$ into $ in a container's command: the executor's
    Job doubles every $, so the command runs as written."""
    src = wdl(
        bed.tmp,
        """task dollars {
  command <<<
    echo '$$ $$$ $(HOME) $$(HOME)'
    test "$$" -gt 0 && echo pid
  >>>
  output { Array[String] v = read_lines(stdout()) }
  runtime { docker: "busybox:latest" }
}""",
    )
    r = bed.run(src)
    assert r.rc == 0, r.stderr
    assert r.json["outputs"]["dollars.v"] == ["$$ $$$ $(HOME) $$(HOME)", "pid"]


def test_failing_command(bed: Bed) -> None:
    r = bed.run(EXAMPLES / "fail_on_purpose.wdl")
    assert r.rc == 1
    assert "task fail_on_purpose" in r.stderr and "the command exited with 3" in r.stderr
    assert "fatal: the reference genome is missing" in r.stderr


def test_out_of_memory_is_named(bed: Bed) -> None:
    src = wdl(
        bed.tmp,
        """task hog {
  command <<< head -c 300000000 /dev/zero | tail > /dev/null >>>
  runtime { docker: "debian:bookworm-slim"  memory: "64 MiB" }
}""",
    )
    r = bed.run(src)
    assert r.rc == 1
    assert "task hog" in r.stderr and "OOMKilled (memory limit 64 MiB)" in r.stderr
    assert "the command exited with 137" in r.stderr


def test_missing_image_fails_fast(bed: Bed) -> None:
    src = wdl(
        bed.tmp,
        'task nope {\n  command <<< echo hi >>>\n  runtime { docker: "no.such/image:1" }\n}',
    )
    t0 = time.monotonic()
    r = bed.run(src)
    took = time.monotonic() - t0
    assert r.rc == 1
    assert "image no.such/image:1" in r.stderr and "ErrImagePull" in r.stderr
    assert took < 30, f"{took:.1f} s: a missing image must fail in seconds"


def test_image_without_a_shell(bed: Bed) -> None:
    src = wdl(
        bed.tmp,
        'task noshell {\n  command <<< echo hi >>>\n  runtime { docker: "gcr.io/distroless/static-debian12" }\n}',
    )
    r = bed.run(src)
    assert r.rc == 1
    assert "the image gcr.io/distroless/static-debian12 has no /bin/sh" in r.stderr


def test_time_limit(bed: Bed) -> None:
    src = cwl(
        bed.tmp,
        {
            "requirements": {
                "ToolTimeLimit": {"timelimit": 3},
                "DockerRequirement": {"dockerPull": "busybox:latest"},
            },
            "baseCommand": ["sleep", "120"],
            "inputs": {},
            "outputs": {},
        },
    )
    t0 = time.monotonic()
    r = bed.run(src)
    assert time.monotonic() - t0 < 60
    assert r.rc != 0
    assert "exceeded its time limit of 3 s" in r.stderr


def test_bigger_than_any_node_is_refused_before_submission(bed: Bed) -> None:
    big_wdl = wdl(
        bed.tmp,
        'task big {\n  command <<< echo hi >>>\n  runtime { docker: "busybox:latest"  cpu: 64 }\n}',
    )
    r = bed.run(big_wdl)
    assert r.rc == 1 and "64 CPUs" in r.stderr and "kubernetes executor has" in r.stderr
    big_cwl = cwl(
        bed.tmp,
        {
            "requirements": {
                "ResourceRequirement": {"ramMin": 10_000_000},
                "DockerRequirement": {"dockerPull": "busybox:latest"},
            },
            "baseCommand": ["true"],
            "inputs": {},
            "outputs": {},
        },
    )
    r = bed.run(big_cwl)
    assert r.rc != 0
    assert "task" in r.stderr and "no node of the cluster can hold it" in r.stderr
    assert "memory 9766 GiB" in r.stderr and "nothing was submitted" in r.stderr
    gpu = wdl(
        bed.tmp,
        'task gpu {\n  command <<< echo hi >>>\n  runtime { docker: "busybox:latest"  gpu: true }\n}',
    )
    r = bed.run(gpu)
    assert r.rc == 1 and "nvidia.com/gpu 1: no node of the cluster can hold it" in r.stderr
    assert bed.jobs() == []
    assert not (bed.stores.www / BUCKET / bed.prefix).exists(), "nothing was uploaded"


# -- the cluster takes a pod away ---------------------------------------------------------------

MID_RUN = """task mid {
  command <<< sleep 8; echo done > out.txt >>>
  output { String s = read_string("out.txt") }
  runtime { docker: "busybox:latest" }
}"""


@pytest.mark.parametrize("how", ["delete", "evict"])
def test_lost_pod_is_submitted_again(bed: Bed, how: str) -> None:
    from kubernetes import client

    proc = bed.start(wdl(bed.tmp, MID_RUN))
    pod = bed.running_pod(proc)
    if how == "delete":
        bed.core.delete_namespaced_pod(pod.metadata.name, NS)
    else:
        eviction = client.V1Eviction(
            metadata=client.V1ObjectMeta(name=pod.metadata.name, namespace=NS)
        )
        bed.core.create_namespaced_pod_eviction(pod.metadata.name, NS, eviction)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert json.loads(out)["outputs"]["mid.s"] == "done"
    assert "pod lost" in err and "submitted again" in err


def test_ctrl_c_deletes_the_job(bed: Bed) -> None:
    src = wdl(
        bed.tmp,
        'task sleepy {\n  command <<< sleep 300 >>>\n  runtime { docker: "busybox:latest" }\n}',
    )
    proc = bed.start(src)
    bed.running_pod(proc)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "cancelled" in err
    assert time.monotonic() - t0 < 30
    assert bed.jobs() == [] and bed.pods() == [], "nothing may be left running"


def test_a_killed_drivers_reaper_deletes_its_job(bed: Bed) -> None:
    src = wdl(
        bed.tmp,
        'task killed {\n  command <<< sleep 300 >>>\n  runtime { docker: "busybox:latest" }\n}',
    )
    proc = bed.start(src)
    bed.running_pod(proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 60
    while (bed.jobs() or bed.pods()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert bed.jobs() == [] and bed.pods() == [], "the Job outlived its killed driver"


def test_sweep_removes_what_a_killed_driver_left(bed: Bed, kubernetes: str) -> None:
    """The driver and its reaper both killed outright (a lost machine): the Job stays, and a
    sweep of the run (as the next run does at its start, or ``wfrewrite cleanup``) deletes it."""
    from wfrewrite.runtime.exec import select
    from wfrewrite.runtime.options import Options

    src = wdl(
        bed.tmp,
        'task leftover {\n  command <<< sleep 300 >>>\n  runtime { docker: "busybox:latest" }\n}',
    )
    proc = bed.start(src)
    pod = bed.running_pod(proc)
    reapers = subprocess.run(
        ["pgrep", "-f", f"reaper.sh .*{bed.label}"], capture_output=True, text=True, check=False
    ).stdout.split()
    assert reapers, "each task has a reaper"
    for pid in reapers:
        os.kill(int(pid), signal.SIGKILL)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert bed.jobs(), "a driver killed with its reaper leaves its Job"
    ex = select(
        Options(
            executor="kubernetes",
            kubeconfig=kubernetes,
            transport="url",
            store=f"{bed.stores.http}/{BUCKET}/{bed.prefix}/",
        )
    )
    removed = ex.sweep(bed.label)
    assert any(n.startswith("job/wfr-leftover-") for n in removed)
    assert f"pod/{pod.metadata.name}" in removed
    assert bed.jobs() == [] and bed.pods() == []
    assert ex.sweep(bed.label) == []


def test_non_root_with_read_only_root(bed: Bed) -> None:
    src = wdl(bed.tmp, ROUND_TRIP.format(image="debian:bookworm-slim"))
    r = bed.run(src, "--user", "1000:1000", inputs=inputs(bed.tmp))
    check_round_trip(r, bed.tmp, "1000", "/tmp/wfr/home")
