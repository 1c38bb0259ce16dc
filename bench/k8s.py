"""bench/k8s: what running a task through the kubernetes executor costs over a bare Job.

    bare       a Job of busybox:latest `sh -c 'echo hello > /dev/null'` (the executor's pod
               shape: hostNetwork, read-only root, no capabilities), created, its pod watched
               to its container's end, its log read, deleted: one at a time
    executor   the same task as a plan through KubernetesExecutor.prepare + run in this process
               (url transport: the script, its manifest uploaded and fetched), one at a time
    cli        `wfrewrite run trivial.wdl --executor kubernetes ...`: a whole driver per task
    scatter    bench/scatter24.wdl through `wfrewrite run` against 24 bare Jobs, J at a time

Usage: python bench/k8s.py [--rounds 5] [--jobs 2]   (needs ../shared/testbed/k8s.sh start and
object-store.sh start). Prints medians; a shared machine is noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
KUBECONFIG = os.environ.get("KUBECONFIG", "/var/tmp/testbed/k8s/state/admin.kubeconfig")
STORE = "http://127.0.0.1:8089/wfr-tests/bench-k8s/"
NS = "default"
TRIVIAL = 'version 1.0\ntask trivial {\n  command <<< echo hello >>>\n  runtime { docker: "busybox:latest" }\n}\n'


def clients():  # type: ignore[no-untyped-def]
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=KUBECONFIG, client_configuration=cfg)
    api = client.ApiClient(cfg)
    return client, client.CoreV1Api(api), client.BatchV1Api(api)


def bare_job(client, core, batch) -> float:  # type: ignore[no-untyped-def]
    from kubernetes import watch

    name = f"bench-{uuid.uuid4().hex[:10]}"
    sc = client.V1SecurityContext(
        read_only_root_filesystem=True,
        allow_privilege_escalation=False,
        capabilities=client.V1Capabilities(drop=["ALL"]),
    )
    c = client.V1Container(
        name="task",
        image="busybox:latest",
        image_pull_policy="IfNotPresent",
        command=["/bin/sh", "-c", "echo hello > /dev/null"],
        security_context=sc,
    )
    pod = client.V1PodSpec(restart_policy="Never", containers=[c], host_network=True)
    labels = {"bench": name}
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1JobSpec(
            backoff_limit=0,
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels), spec=pod
            ),
        ),
    )
    t0 = time.perf_counter()
    batch.create_namespaced_job(NS, job)
    w = watch.Watch()
    pod_name, exit_code = "", None
    for ev in w.stream(
        core.list_namespaced_pod, NS, label_selector=f"bench={name}", timeout_seconds=120
    ):
        p = ev["object"]
        pod_name = p.metadata.name
        cs = p.status.container_statuses or []
        if cs and cs[0].state.terminated is not None:
            exit_code = cs[0].state.terminated.exit_code
            w.stop()
    if exit_code != 0:
        raise SystemExit(f"bare Job {name}: exit code {exit_code}")
    core.read_namespaced_pod_log(pod_name, NS, container="task")
    batch.delete_namespaced_job(name, NS, propagation_policy="Background")
    core.delete_collection_namespaced_pod(
        NS, label_selector=f"bench={name}", grace_period_seconds=0
    )
    return time.perf_counter() - t0


def executor_task(ex, tmp: str) -> float:  # type: ignore[no-untyped-def]
    from wfrewrite.compiler.plan import Capture, Command, Layout, TaskPlan

    lay = Layout.under("/tmp/wfr")
    plan = TaskPlan(
        name="trivial",
        lang="wdl",
        image="busybox:latest",
        layout=lay,
        command=Command(script="echo hello > out.txt\n"),
        stdout=f"{lay.root}/stdout.txt",
        stderr=f"{lay.root}/stderr.txt",
        outputs=("out",),
        captures=(Capture(output="out", kind="path", pattern="out.txt"),),
    )
    t0 = time.perf_counter()
    job = ex.prepare(plan, os.path.join(tmp, uuid.uuid4().hex[:8]))
    result = ex.run(job)
    assert result.manifest is not None and result.manifest.succeeded
    return time.perf_counter() - t0


def cli(argv: list[str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KUBECONFIG": KUBECONFIG},
    )
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{p.stderr[-2000:]}")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    from wfrewrite.runtime.exec import select
    from wfrewrite.runtime.options import Options

    client, core, batch = clients()
    k8s = ["--executor", "kubernetes", "--k8s-host-network", "--transport", "url", "--store", STORE]
    ex = select(
        Options(
            executor="kubernetes",
            kubeconfig=KUBECONFIG,
            transport="url",
            store=STORE,
            k8s_host_network=True,
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        wdl = Path(tmp) / "trivial.wdl"
        wdl.write_text(TRIVIAL)
        bare_job(client, core, batch)  # warm up
        executor_task(ex, tmp)
        times: dict[str, list[float]] = {
            "bare": [],
            "executor": [],
            "cli": [],
            "scatter bare": [],
            "scatter cli": [],
        }
        for _ in range(args.rounds):
            times["bare"].append(bare_job(client, core, batch))
            times["executor"].append(executor_task(ex, tmp))
            times["cli"].append(cli([str(BIN / "wfrewrite"), "run", str(wdl), *k8s, "--dir", tmp]))
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.jobs) as pool:
                list(pool.map(lambda _: bare_job(client, core, batch), range(24)))
            times["scatter bare"].append(time.perf_counter() - t0)
            cfg = Path(tmp) / "miniwdl.cfg"
            cfg.write_text(f"[scheduler]\ncall_concurrency = {args.jobs}\n")
            scatter = [
                str(BIN / "wfrewrite"),
                "run",
                str(HERE / "scatter24.wdl"),
                *k8s,
                "--dir",
                tmp,
            ]
            times["scatter cli"].append(cli([*scatter, "--cfg", str(cfg)]))
    for name, ts in times.items():
        print(
            f"{name:14s} median {statistics.median(ts):6.2f} s   (min {min(ts):.2f}, max {max(ts):.2f})"
        )
    bare, scat = statistics.median(times["bare"]), statistics.median(times["scatter bare"])
    print(
        f"per task: executor over bare {statistics.median(times['executor']) - bare:+.2f} s; "
        f"scatter over bare {(statistics.median(times['scatter cli']) - scat) / 24 * 1000:+.0f} ms/task"
    )


if __name__ == "__main__":
    main()
