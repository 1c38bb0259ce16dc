"""Platform specs (`wfrewrite compile --emit tes|k8s`): the TES task validates against the GA4GH
OpenAPI schema of ../shared/schemas/tes, the Job through the kubernetes client's models, and both
really run: their executors/containers are started with podman exactly as the spec says, on a
volume prepared the way the platform would prepare it."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES, ROOT, SHARED, wfrewrite

TES_SCHEMA = SHARED / "schemas" / "tes" / "task_execution_service.openapi.yaml"


def tes_validator() -> Any:
    from openapi_schema_validator import OAS30Validator

    spec = yaml.safe_load(TES_SCHEMA.read_text())
    schema = {"$ref": "#/components/schemas/tesTask", "components": spec["components"]}
    return OAS30Validator(schema)


def compile_tes(
    tmp: Path, *extra: str, source: Path | None = None, inputs: str | None = None
) -> dict[str, Any]:
    src = source or EXAMPLES / "wordcount.wdl"
    argv = [
        "compile",
        str(src),
        "-o",
        str(tmp / "out"),
        "--emit",
        "tes",
        "--outputs-url",
        "s3://bucket/run1/",
        *extra,
    ]
    if inputs is not None or source is None:
        argv += ["-i", inputs or "examples/wordcount.inputs.json"]
    r = wfrewrite(*argv, cwd=ROOT)
    assert r.rc == 0, r.stderr
    return json.loads((tmp / "out" / "tes-task.json").read_text())


@pytest.mark.parametrize("split", [False, True])
def test_tes_task_validates_against_the_openapi_schema(tmp_path: Path, split: bool) -> None:
    task = compile_tes(tmp_path, *(["--tes-split"] if split else []))
    errors = sorted(tes_validator().iter_errors(task), key=str)
    assert not errors, errors[0]
    assert len(task["executors"]) == (3 if split else 1)
    paths = {o["path"]: o for o in task["outputs"]}
    assert (
        paths["/mnt/wfr/work/books.counts.tsv"]["url"] == "s3://bucket/run1/work/books.counts.tsv"
    )
    assert "/mnt/wfr/wfrewrite/manifest.json" in paths
    assert task["resources"] == {"cpu_cores": 1, "ram_gb": 0.268}
    assert next(i["path"] for i in task["inputs"]) == "/mnt/wfr/work/_miniwdl_inputs/0/alice.txt"
    assert task["volumes"] == ["/mnt/wfr"]


def test_glob_outputs_use_wildcards_with_a_prefix(tmp_path: Path) -> None:
    task = compile_tes(
        tmp_path,
        source=EXAMPLES / "split_dir.wdl",
        inputs='{"split_dir.text": "examples/data/alice.txt"}',
    )
    glob = next(o for o in task["outputs"] if "*" in o["path"])
    assert glob == {
        "name": "parts",
        "path": "/mnt/wfr/work/chunks/*.txt",
        "path_prefix": "/mnt/wfr/work/chunks/",
        "url": "s3://bucket/run1/work/chunks/",
        "type": "FILE",
    }
    assert not list(tes_validator().iter_errors(task))


class _FakeTes(http.server.BaseHTTPRequestHandler):
    """A stand-in TES server (no real one — Funnel — can run on this machine): it validates the
    posted task against the OpenAPI schema, as a TES server would, and returns an id."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        errors = list(tes_validator().iter_errors(body))
        self.received.append(body)
        status, reply = (400, {"error": str(errors[0])}) if errors else (200, {"id": "task-0001"})
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_submittable_with_py_tes(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeTes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        r = wfrewrite(
            "compile",
            "examples/wordcount.wdl",
            "-i",
            "examples/wordcount.inputs.json",
            "-o",
            str(tmp_path / "o"),
            "--emit",
            "tes",
            "--tes-server",
            url,
            cwd=ROOT,
        )
        assert r.rc == 0, r.stderr
        assert "submitted: task-0001" in r.stdout
        assert _FakeTes.received[-1]["name"] == "wordcount"
    finally:
        server.shutdown()


def _stage_like_a_platform(task: dict[str, Any], volume: Path) -> None:
    for i in task.get("inputs", []):
        dest = volume / Path(i["path"]).relative_to("/mnt/wfr")
        dest.parent.mkdir(parents=True, exist_ok=True)
        src = Path(i["url"].removeprefix("file://"))
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest)


def _run_executor(ex: dict[str, Any], volume: Path) -> int:
    argv = [
        "podman",
        "run",
        "--rm",
        "--read-only",
        "-v",
        f"{volume}:/mnt/wfr",
        "--entrypoint",
        ex["command"][0],
    ]
    if ex.get("workdir"):
        argv += ["-w", ex["workdir"]]
    for k, v in (ex.get("env") or {}).items():
        argv += ["-e", f"{k}={v}"]
    streams = {}
    for name in ("stdin", "stdout", "stderr"):
        if ex.get(name):
            host = volume / Path(ex[name]).relative_to("/mnt/wfr")
            streams[name] = open(host, "rb" if name == "stdin" else "wb")  # noqa: SIM115
    try:
        p = subprocess.run(
            [*argv, ex["image"], *ex["command"][1:]],
            check=False,
            timeout=120,
            stdin=streams.get("stdin", subprocess.DEVNULL),
            stdout=streams.get("stdout"),
            stderr=streams.get("stderr"),
        )
    finally:
        for f in streams.values():
            f.close()
    return p.returncode


@pytest.mark.parametrize("split", [False, True])
def test_tes_executors_really_run(tmp_path: Path, podman: None, split: bool) -> None:
    """The TES task's executors, run in a row with podman on one shared volume, inputs staged as
    the TES server would: the manifest says every output is there."""
    task = compile_tes(tmp_path, *(["--tes-split"] if split else []))
    volume = tmp_path / "volume"
    volume.mkdir()
    _stage_like_a_platform(task, volume)
    codes = [_run_executor(ex, volume) for ex in task["executors"]]
    assert codes == [0] * len(codes)
    manifest = json.loads((volume / "wfrewrite" / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"
    assert manifest["mode"] == ("epilogue" if split else "all")
    assert (volume / "work" / "total.txt").read_text() == "137\n"
    for out in task["outputs"]:
        if "*" not in out["path"]:
            assert (volume / Path(out["path"]).relative_to("/mnt/wfr")).exists(), out["path"]


def test_missing_platform_input_fails_before_the_command(tmp_path: Path, podman: None) -> None:
    task = compile_tes(tmp_path)
    volume = tmp_path / "volume"
    volume.mkdir()
    assert _run_executor(task["executors"][0], volume) == 81
    manifest = json.loads((volume / "wfrewrite" / "manifest.json").read_text())
    assert manifest["status"] == "staging_failed" and "did not stage" in manifest["message"]
    assert manifest["rc"] is None


def test_k8s_job_through_the_client_models(tmp_path: Path, podman: None) -> None:
    from kubernetes import client

    r = wfrewrite(
        "compile",
        "examples/wordcount.wdl",
        "-i",
        "examples/wordcount.inputs.json",
        "-o",
        str(tmp_path / "o"),
        "--emit",
        "k8s",
        cwd=ROOT,
    )
    assert r.rc == 0, r.stderr
    data = json.loads((tmp_path / "o" / "k8s-job.json").read_text())
    job = client.ApiClient()._ApiClient__deserialize(data, "V1Job")  # the client's own model check
    assert isinstance(job, client.V1Job) and job.kind == "Job"
    c = job.spec.template.spec.containers[0]
    assert c.security_context.read_only_root_filesystem is True
    assert c.resources.limits == {"cpu": "1", "memory": "268435456"}
    assert job.spec.template.spec.restart_policy == "Never"
    assert client.ApiClient().sanitize_for_serialization(job) == data
    # Run the container as the Job says, on an emptyDir prepared per the inputs annotation.
    volume = tmp_path / "emptydir"
    volume.mkdir()
    for i in json.loads(job.metadata.annotations["wfrewrite/inputs"]):
        dest = volume / Path(i["path"]).relative_to("/mnt/wfr")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(i["source"], dest)
    p = subprocess.run(
        [
            "podman",
            "run",
            "--rm",
            "--read-only",
            "-v",
            f"{volume}:{c.volume_mounts[0].mount_path}",
            "-w",
            c.working_dir,
            "--entrypoint",
            c.command[0],
            c.image,
            *(w.replace("$$", "$") for w in c.command[1:]),  # as Kubernetes passes them on
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads((volume / "wfrewrite" / "manifest.json").read_text())["status"] == "succeeded"
