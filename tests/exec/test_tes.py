"""The tes executor against the test bed's real Funnel (funnel.sh: TES at 127.0.0.1:8000, local
compute with podman) and its stores: SeaweedFS S3 (which Funnel reads and writes itself) and
file:// under /var/tmp (which it shares). Tasks run through `wfrewrite run` and
`wfrewrite-cwl-runner` as a user would run them. The `funnel` fixture fails, never skips, when
Funnel cannot be reached. Every test tags its TES tasks with a run label of its own and, when it
ends, cancels whatever of that run is left (a sweep with force) and removes its S3 prefix and
file store."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, EXAMPLES, NO_AWS, ROOT, ObjectStores, Result, wfrewrite

from wfrewrite.compiler.diagnostics import TaskFailed
from wfrewrite.runtime.job import LABEL_DRIVER, LABEL_JOB, LABEL_RUN, LABEL_TASK, driver_id
from wfrewrite.runtime.options import Options

S3 = "http://127.0.0.1:8333"
# A bucket of these tests' own: the objstore fixture of every test session (other checkouts'
# too) empties wfr-tests when it ends, which would pull objects from under a running task.
BUCKET = "wfr-tes"
TERMINAL = ("COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED")


@dataclass
class Bed:
    """One test's corner of the test bed: its run label, S3 prefix and file store."""

    tes: str
    objstore: ObjectStores
    tmp: Path
    run: str
    prefix: str  # under s3://wfr-tes/
    files: Path  # a file:// store Funnel may read (under /var/tmp)

    @property
    def s3_store(self) -> list[str]:
        return ["--store", f"s3://{BUCKET}/{self.prefix}", "--s3-endpoint", S3]

    @property
    def file_store(self) -> list[str]:
        return ["--store", f"file://{self.files}"]

    def tes_args(self, *store: str) -> list[str]:
        return ["--executor", "tes", "--tes-url", self.tes, "--run-label", self.run, *store]

    def wdl(self, source: Path | str, *args: str, inputs: dict[str, Any] | None = None) -> Result:
        argv = ["run", str(source), "--dir", str(self.tmp / "runs"), *args]
        if inputs is not None:
            (self.tmp / "in.json").write_text(json.dumps(inputs))
            argv += ["-i", str(self.tmp / "in.json")]
        return wfrewrite(*argv, cwd=ROOT)

    def cwl(
        self, tool: Path | str, job: Path | str | None, *args: str
    ) -> subprocess.CompletedProcess[str]:
        argv = [
            str(BIN / "wfrewrite-cwl-runner"),
            *args,
            "--outdir",
            str(self.tmp / "out"),
            str(tool),
        ]
        return subprocess.run(
            [*argv, *([str(job)] if job else [])],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=ROOT,
        )

    def objects(self, sub: str = "") -> list[str]:
        s3 = self.objstore.s3()
        out = []
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=f"{self.prefix}/{sub}"
        ):
            out += [o["Key"][len(self.prefix) + 1 :] for o in page.get("Contents", [])]
        return out

    def tasks(self) -> list[dict[str, Any]]:
        """This test's TES tasks (view FULL)."""
        q = f"tag_key=wfrewrite/run&tag_value={self.run}&view=FULL"
        with urllib.request.urlopen(f"{self.tes}/ga4gh/tes/v1/tasks?{q}") as r:
            return json.load(r).get("tasks") or []


def tes_task(tes_url: str, task_id: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{tes_url}/ga4gh/tes/v1/tasks/{task_id}?view=FULL") as r:
        return json.load(r)  # type: ignore[no-any-return]


def task_id_of(run_dir: str | Path) -> str:
    return (Path(run_dir) / "wfrewrite" / "tes-task").read_text().strip()


def executor(bed: Bed, **kw: Any):  # type: ignore[no-untyped-def]
    from wfrewrite.runtime.exec import select

    opts = dict(executor="tes", tes_url=bed.tes, run_label=bed.run, s3_endpoint=S3)
    opts.update(kw)
    return select(Options(**opts))  # type: ignore[arg-type]


@pytest.fixture
def bed(funnel: str, objstore: ObjectStores, tmp_path: Path) -> Iterator[Bed]:
    tag = uuid.uuid4().hex[:10]
    objstore.make_bucket(BUCKET)
    files = Path("/var/tmp") / f"wfr-tes-test-{tag}"
    b = Bed(funnel, objstore, tmp_path, f"test-{tag}", f"tes-{tag}", files)
    try:
        yield b
    finally:
        executor(b, store=f"file://{files}").sweep(b.run, force=True)
        s3 = objstore.s3()
        for key in b.objects():
            s3.delete_object(Bucket=BUCKET, Key=f"{b.prefix}/{key}")
        shutil.rmtree(files, ignore_errors=True)


def task(tmp: Path, body: str, version: str = "1.0") -> Path:
    src = tmp / "t.wdl"
    src.write_text(f"version {version}\n{body}\n")
    return src


def sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


WORDCOUNT = (
    EXAMPLES / "wordcount.wdl",
    json.loads((EXAMPLES / "wordcount.inputs.json").read_text()),
)


def check_wordcount(r: Result) -> dict[str, Any]:
    assert r.rc == 0, r.stderr
    out = r.json["outputs"]
    assert out["wordcount.total_words"] == 137
    assert out["wordcount.top5"][0].split() == ["8", "the"]
    counts = Path(out["wordcount.counts"]).read_text().splitlines()
    assert [c.split("\t")[0] for c in counts] == ["alice.txt", "hamlet.txt", "moby dick.txt"]
    manifest = json.loads((Path(r.json["dir"]) / "wfrewrite" / "manifest.json").read_text())
    for f in manifest["files"]:  # what came home is what the script recorded
        host = Path(r.json["dir"]) / f["path"]
        assert host.stat().st_size == f["size"] and sha1(host) == f["sha1"], f
    return manifest


# -- the platform transport: Funnel moves the bytes ---------------------------------------------


def test_wdl_task_through_s3(bed: Bed) -> None:
    """Inputs (one named with a space) go into S3 by content and Funnel fetches them itself; the
    outputs come back through one DIRECTORY output, checked, and leave the store."""
    src, inputs = WORDCOUNT
    inputs["wordcount.texts"] = [str(ROOT / p) for p in inputs["wordcount.texts"]]
    r = bed.wdl(src, *bed.tes_args(*bed.s3_store), inputs=inputs)
    check_wordcount(r)
    t = tes_task(bed.tes, task_id_of(r.json["dir"]))
    assert t["state"] == "COMPLETE"
    assert t["tags"]["wfrewrite/run"] == bed.run and t["tags"]["wfrewrite/task"] == "wordcount"
    want = {f"s3://{BUCKET}/{bed.prefix}/in/{sha1(ROOT / p)}" for p in inputs["wordcount.texts"]}
    assert {i["url"] for i in t["inputs"]} == want
    assert all(" " not in i["path"] for i in t["inputs"])
    assert [(o["type"], o["path"]) for o in t["outputs"]] == [
        ("DIRECTORY", "/mnt/wfr/wfrewrite/outbox")
    ]
    assert t["resources"]["cpu_cores"] == 1 and t["resources"]["ram_gb"] == pytest.approx(0.268)
    assert sorted(bed.objects()) == sorted(u.split(f"{bed.prefix}/")[1] for u in want)


@pytest.mark.parametrize("store", ["s3", "file"])
def test_empty_files_stay_out_of_the_outbox(bed: Bed, tmp_path: Path, store: str) -> None:
    """Funnel uploads an outbox's files one after the other: the empty ones (an output, the
    empty stdout) stay out, and the driver makes them from the manifest, empty, in place; the
    small ones go as one tar, read back by name."""
    body = """task t {
  command <<< : > empty.txt; echo hi > full.txt; echo said >&2; : >&1 >>>
  output { File empty = "empty.txt"
           File full = "full.txt"
           String err = read_string(stderr()) }
  runtime { docker: "busybox:latest" }
}"""
    args = bed.s3_store if store == "s3" else bed.file_store
    r = bed.wdl(task(tmp_path, body), *bed.tes_args(*args))
    assert r.rc == 0, r.stderr
    out = r.json["outputs"]
    assert Path(out["t.empty"]).read_bytes() == b""
    assert Path(out["t.full"]).read_text() == "hi\n" and out["t.err"] == "said"
    run = Path(r.json["dir"])
    assert (run / "stdout.txt").read_bytes() == b"" and (run / "stderr.txt").exists()
    # the manifest, stderr.txt and work/full.txt went in one tar (busybox has tar): one upload
    sent = tes_task(bed.tes, task_id_of(run))["logs"][0]["outputs"]
    assert sorted(o["path"].split("/outbox/")[1] for o in sent) == ["wfrewrite/bundle.tar"]


def test_wdl_task_through_a_shared_directory(bed: Bed) -> None:
    """A file:// store: inputs go in as hard links (no copy), outputs come out by rename."""
    src, inputs = WORDCOUNT
    inputs["wordcount.texts"] = [str(ROOT / p) for p in inputs["wordcount.texts"]]
    r = bed.wdl(src, *bed.tes_args(*bed.file_store), inputs=inputs)
    check_wordcount(r)
    for p in inputs["wordcount.texts"]:
        stored = bed.files / "in" / sha1(Path(p))
        if stored.stat().st_dev == Path(p).stat().st_dev:
            assert stored.stat().st_ino == Path(p).stat().st_ino
    assert not list((bed.files / "out").rglob("*.*")), "the outputs stayed in the store"


def test_cwl_tool_through_s3(bed: Bed) -> None:
    """cwltool's output collection on what came back: a success code that is not 0, secondary
    files, a Directory, an optional output that is missing (no FILE output fails the task)."""
    p = bed.cwl(
        ROOT / "tests" / "cwl" / "outputs.cwl",
        None,
        *bed.tes_args(*bed.s3_store),
        "--default-container",
        "busybox:latest",
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["code"] == 3 and out["n"] == 42 and out["absent"] is None
    assert [s["basename"] for s in out["main"]["secondaryFiles"]] == ["main.dat.idx", "main.extra"]
    assert out["main"]["checksum"] == "sha1$" + hashlib.sha1(b"main").hexdigest()
    assert sorted(x["basename"] for x in out["dir"]["listing"]) == ["a.txt", "sub"]
    assert [f["basename"] for f in out["parts"]] == ["B1.part", "a10.part", "a2.part", "b10.part"]


def test_cwl_tool_through_a_shared_directory(bed: Bed, tmp_path: Path) -> None:
    text = tmp_path / "a text.txt"
    text.write_text("one two three\n")
    (tmp_path / "job.yml").write_text(json.dumps({"text": {"class": "File", "path": str(text)}}))
    tool = tmp_path / "wc.cwl"
    tool.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\n"
        "requirements: {DockerRequirement: {dockerPull: 'debian:bookworm-slim'}}\n"
        "baseCommand: [wc, -w]\nstdin: $(inputs.text.path)\nstdout: n.txt\n"
        "inputs: {text: File}\noutputs: {n: {type: stdout}}\n"
    )
    p = bed.cwl(tool, tmp_path / "job.yml", *bed.tes_args(*bed.file_store))
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert Path(out["n"]["path"]).read_text().strip() == "3"
    assert text.read_text() == "one two three\n"  # stdin never went through Funnel's executor


def test_scatter_shares_its_inputs(bed: Bed, tmp_path: Path) -> None:
    """Three tasks read the same file: it goes into the store once; a Directory one task made
    goes to the next as a tree."""
    src = tmp_path / "wf.wdl"
    shutil.copy(EXAMPLES / "workflows" / "scatter_gather.wdl", src)
    text = str(EXAMPLES / "data" / "hamlet.txt")
    r = bed.wdl(src, "-v", *bed.tes_args(*bed.s3_store), inputs={"text": text})
    assert r.rc == 0, r.stderr
    assert r.json["outputs"]["scatter_gather.chunk_count"] == 3
    puts = [ln for ln in r.stderr.splitlines() if "put in the store at in/" in ln]
    assert len([ln for ln in puts if f"in/{sha1(Path(text))}" in ln]) == 1, puts
    # the Directory split made reaches gather as its files, each where the directory has it
    gather = next(t for t in bed.tasks() if t["name"] == "gather")
    chunks = sorted(Path(i["path"]).name for i in gather["inputs"] if "/chunks/" in i["path"])
    assert chunks == ["part-000.txt", "part-001.txt", "part-002.txt"], gather["inputs"]

    # the same scatter over one input: the tasks share its upload, and the run leaves nothing
    body = """workflow w {
  input { File f }
  scatter (i in [1, 2, 3]) { call c { input: f = f, i = i } }
  output { Array[Int] n = c.n }
}
task c {
  input { File f
          Int i }
  command <<< echo $(( $(wc -l < ~{f}) + ~{i} )) >>>
  output { Int n = read_int(stdout()) }
  runtime { docker: "busybox:latest" }
}"""
    big = tmp_path / "lines.txt"
    big.write_text("x\n" * 10000)
    r = bed.wdl(task(tmp_path, body), "-v", *bed.tes_args(*bed.s3_store), inputs={"f": str(big)})
    assert r.rc == 0, r.stderr
    assert r.json["outputs"]["w.n"] == [10001, 10002, 10003]
    puts = [ln for ln in r.stderr.splitlines() if f"in/{sha1(big)}" in ln and "put in" in ln]
    assert len(puts) == 1, puts
    assert not bed.objects("out/")


def test_remote_s3_input_goes_to_funnel_by_url(bed: Bed, tmp_path: Path) -> None:
    """An s3:// input is handed to the server as its URI: its bytes never pass through here."""
    s3 = bed.objstore.s3()
    data = b"alpha\nbeta\ngamma\n"
    key = f"{bed.prefix}/remote/lines.txt"
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    src = task(
        tmp_path,
        "task lines {\n  input { File f }\n  command <<< wc -l < ~{f} >>>\n"
        "  output { Int n = read_int(stdout())\n  File same = f }\n"
        '  runtime { docker: "busybox:latest" }\n}',
    )
    r = bed.wdl(src, *bed.tes_args(*bed.s3_store), inputs={"f": f"s3://{BUCKET}/{key}"})
    assert r.rc == 0, r.stderr
    assert r.json["outputs"]["lines.n"] == 3
    assert Path(r.json["outputs"]["lines.same"]).read_bytes() == data
    t = tes_task(bed.tes, task_id_of(r.json["dir"]))
    assert [i["url"] for i in t["inputs"]] == [f"s3://{BUCKET}/{key}"]
    assert not bed.objects("in/"), "the remote input was copied into the store"


def test_directory_inputs_with_names_that_begin_others(bed: Bed, tmp_path: Path) -> None:
    """x.bam beside x.bam.bai (Funnel's S3 client takes x.bam for a directory), an empty
    directory, a name with a space: a Directory input arrives as it is, and so does a remote
    s3:// file whose key begins another (copied within the store by the S3 server)."""
    d = tmp_path / "reads"
    (d / "sub" / "empty").mkdir(parents=True)
    (d / "x.bam").write_text("bam\n")
    (d / "x.bam.bai").write_text("index\n")
    (d / "sub" / "a b.txt").write_text("spaced\n")
    s3 = bed.objstore.s3()
    for name, body in (("y.bam", b"remote bam\n"), ("y.bam.bai", b"remote index\n")):
        s3.put_object(Bucket=BUCKET, Key=f"{bed.prefix}/remote/{name}", Body=body)
    src = task(
        tmp_path,
        "task ls {\n  input { Directory d\n  File bam }\n"
        "  command <<< cd ~{d} && find . | sort && cat x.bam x.bam.bai 'sub/a b.txt' ~{bam} >>>\n"
        '  output { Array[String] out = read_lines(stdout()) }\n  runtime { docker: "busybox:latest" }\n}',
        version="1.2",
    )
    remote = f"s3://{BUCKET}/{bed.prefix}/remote/y.bam"
    r = bed.wdl(src, *bed.tes_args(*bed.s3_store), inputs={"d": str(d), "bam": remote})
    assert r.rc == 0, r.stderr
    assert r.json["outputs"]["ls.out"] == [
        ".", "./sub", "./sub/a b.txt", "./sub/empty", "./x.bam", "./x.bam.bai",
        "bam", "index", "spaced", "remote bam",
    ]  # fmt: skip


def test_url_transport(bed: Bed, tmp_path: Path) -> None:
    """--transport url: the script moves the bytes itself over presigned URLs; the TES task has
    no inputs or outputs of its own."""
    src, inputs = WORDCOUNT
    inputs["wordcount.texts"] = [str(ROOT / p) for p in inputs["wordcount.texts"]]
    r = bed.wdl(src, *bed.tes_args("--transport", "url", *bed.s3_store), inputs=inputs)
    check_wordcount(r)
    t = tes_task(bed.tes, task_id_of(r.json["dir"]))
    assert not t.get("inputs") and not t.get("outputs")
    assert "X-Amz-Signature" in t["executors"][0]["command"][2]
    p = bed.cwl(
        ROOT / "tests" / "cwl" / "outputs.cwl",
        None,
        *bed.tes_args("--transport", "url", *bed.s3_store),
        "--default-container",
        "busybox:latest",
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["code"] == 3


# -- failures -----------------------------------------------------------------------------------


@pytest.mark.parametrize("store", ["s3", "url"])
def test_failing_command_names_task_rc_and_stderr(bed: Bed, tmp_path: Path, store: str) -> None:
    src = task(
        tmp_path,
        'task broken {\n  command <<< echo partial > part.txt; echo "it went wrong" >&2; exit 3 >>>\n'
        '  output { File p = "part.txt" }\n  runtime { docker: "busybox:latest" }\n}',
    )
    args = bed.s3_store if store == "s3" else ["--transport", "url", *bed.s3_store]
    r = bed.wdl(src, *bed.tes_args(*args))
    assert r.rc == 1
    assert "task broken" in r.stderr and "exited with 3" in r.stderr
    assert "it went wrong" in r.stderr
    run_dir = next((bed.tmp / "runs").glob("*_broken"))
    manifest = json.loads((run_dir / "wfrewrite" / "manifest.json").read_text())
    assert manifest["status"] == "command_failed" and manifest["rc"] == 3
    assert (run_dir / "stderr.txt").read_text() == "it went wrong\n"  # logs came home
    assert (run_dir / "work" / "part.txt").read_text() == "partial\n"  # and partial outputs
    t = tes_task(bed.tes, task_id_of(run_dir))
    assert t["state"] == ("COMPLETE" if store == "s3" else "EXECUTOR_ERROR")


def test_no_aws_credentials_is_said_clearly(bed: Bed, tmp_path: Path) -> None:
    """A run through an s3:// store without AWS credentials fails saying what to set, without
    boto3's traceback, and exits non-zero."""
    src = task(
        tmp_path,
        'task t {\n  command <<< echo hi > o.txt >>>\n  output { File o = "o.txt" }\n'
        '  runtime { docker: "busybox:latest" }\n}',
    )
    argv = ["run", str(src), "--dir", str(bed.tmp / "runs"), *bed.tes_args(*bed.s3_store)]
    r = wfrewrite(*argv, cwd=ROOT, env=NO_AWS)
    assert r.rc == 1, r.stderr
    assert "no AWS credentials" in r.stderr and "AWS_ACCESS_KEY_ID" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "NoCredentialsError" not in r.stderr, r.stderr


def test_missing_image(bed: Bed, tmp_path: Path) -> None:
    src = task(
        tmp_path, 'task t {\n  command <<< echo hi >>>\n  runtime { docker: "nosuch/image:9" }\n}'
    )
    r = bed.wdl(src, *bed.tes_args(*bed.s3_store))
    assert r.rc == 1
    assert "could not start a container of the image nosuch/image:9" in r.stderr
    assert "image not known" in r.stderr


def test_image_without_a_shell(bed: Bed, tmp_path: Path) -> None:
    src = task(
        tmp_path,
        'task t {\n  command <<< echo hi >>>\n  runtime { docker: "gcr.io/distroless/static-debian12" }\n}',
    )
    r = bed.wdl(src, *bed.tes_args(*bed.s3_store))
    assert r.rc == 1
    assert "has no /bin/sh" in r.stderr and "--tes-split" in r.stderr


DISTROLESS_TOOL = """cwlVersion: v1.2
class: CommandLineTool
requirements: {DockerRequirement: {dockerPull: gcr.io/distroless/static-debian12}}
inputs: {tool: File, text: File}
arguments: [$(inputs.tool.path), wc, -w, $(inputs.text.path)]
stdout: n.txt
outputs: {n: {type: stdout}}
"""


def test_tes_split_runs_an_argv_command_in_an_image_without_a_shell(
    bed: Bed, tmp_path: Path
) -> None:
    """The distroless image has no program at all; the tool brings a static busybox as an input
    (executable: a file:// store hands Funnel the host's file). Prologue and epilogue run in the
    helper image; without --tes-split the task fails, saying why."""
    busybox = shutil.which("busybox")
    assert busybox
    text = tmp_path / "some words.txt"
    text.write_text("a b c d\n")
    (tmp_path / "tool.cwl").write_text(DISTROLESS_TOOL)
    job = {
        "tool": {"class": "File", "path": os.path.realpath(busybox)},
        "text": {"class": "File", "path": str(text)},
    }
    (tmp_path / "job.yml").write_text(json.dumps(job))
    p = bed.cwl(
        tmp_path / "tool.cwl", tmp_path / "job.yml", *bed.tes_args(*bed.file_store), "--tes-split"
    )
    assert p.returncode == 0, p.stderr
    assert Path(json.loads(p.stdout)["n"]["path"]).read_text().split()[0] == "4"
    t = bed.tasks()[-1]
    assert [e["image"] for e in t["executors"]] == [
        "busybox:latest",
        "gcr.io/distroless/static-debian12",
        "busybox:latest",
    ]
    p = bed.cwl(tmp_path / "tool.cwl", tmp_path / "job.yml", *bed.tes_args(*bed.file_store))
    assert p.returncode != 0
    assert "has no /bin/sh" in p.stderr


def test_tes_split_failing_command(bed: Bed, tmp_path: Path) -> None:
    """--tes-split: the command's own exit code is the TES executor's; Funnel keeps nothing of a
    failed task, so its stderr comes from the TES log."""
    src = task(
        tmp_path,
        'task t {\n  command <<< echo "bad news" >&2; exit 4 >>>\n  runtime { docker: "busybox:latest" }\n}',
    )
    r = bed.wdl(src, *bed.tes_args(*bed.s3_store), "--tes-split")
    assert r.rc == 1
    assert "exited with 4" in r.stderr and "bad news" in r.stderr


def test_tes_split_refuses_env_values_with_whitespace(bed: Bed, tmp_path: Path) -> None:
    """Funnel splits its podman command line on whitespace: an env value with a space would
    become podman flags (`--volume=/etc:/hostetc`)."""
    (tmp_path / "tool.cwl").write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\n"
        "requirements:\n  DockerRequirement: {dockerPull: busybox:latest}\n"
        "  EnvVarRequirement: {envDef: {EVIL: 'x --volume=/etc:/hostetc:ro'}}\n"
        "baseCommand: [env]\ninputs: []\noutputs: []\n"
    )
    p = bed.cwl(tmp_path / "tool.cwl", None, *bed.tes_args(*bed.s3_store), "--tes-split")
    assert p.returncode != 0
    assert "EVIL" in p.stderr and "whitespace" in p.stderr
    assert not bed.tasks(), "the task was submitted"
    # without --tes-split the value stays in the script: it runs, and the value is intact
    p = bed.cwl(tmp_path / "tool.cwl", None, *bed.tes_args(*bed.s3_store))
    assert p.returncode == 0, p.stderr


def test_system_error_says_what_the_server_said(bed: Bed, tmp_path: Path) -> None:
    """A file:// store Funnel may not read (outside its allowed dirs): SYSTEM_ERROR, and why."""
    store = Path("/root") / f"wfr-tes-outside-{uuid.uuid4().hex[:8]}"
    try:
        text = tmp_path / "t.txt"
        text.write_text("x\n")
        src = task(
            tmp_path,
            'task t {\n  input { File f }\n  command <<< cat ~{f} >>>\n  runtime { docker: "busybox:latest" }\n}',
        )
        r = bed.wdl(src, *bed.tes_args("--store", f"file://{store}"), inputs={"f": str(text)})
        assert r.rc == 1
        assert "SYSTEM_ERROR" in r.stderr and "not in allowed directories" in r.stderr, r.stderr
    finally:
        shutil.rmtree(store, ignore_errors=True)


def test_outputs_are_checked_against_the_manifest(bed: Bed, tmp_path: Path) -> None:
    """What the store holds must be what the manifest says (size and sha1), or it is refused."""
    from wfrewrite.compiler.plan import Command, Layout, TaskPlan, check
    from wfrewrite.runtime.job import Job

    ex = executor(bed, store=f"s3://{BUCKET}/{bed.prefix}")
    lay = Layout.under("/mnt/wfr")
    plan = check(
        TaskPlan(
            name="t", lang="wdl", layout=lay, image="busybox:latest",
            command=Command(script="true\n"), stdout=f"{lay.root}/stdout.txt",
            stderr=f"{lay.root}/stderr.txt",
        )
    )  # fmt: skip
    job: Job = ex.prepare(plan, str(tmp_path / "t"))
    s3 = bed.objstore.s3()
    box = f"{bed.prefix}/out/{job.name}/"
    files = [
        {
            "output": "o",
            "type": "file",
            "path": "work/o.txt",
            "size": 3,
            "sha1": hashlib.sha1(b"abc").hexdigest(),
        }
    ]
    manifest = {"manifest_version": 1, "task": "t", "status": "succeeded", "exit_code": 0, "rc": 0,
                "shell": "sh", "partial": False, "message": "", "files": files}  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key=box + "wfrewrite/manifest.json", Body=json.dumps(manifest))
    s3.put_object(Bucket=BUCKET, Key=box + "work/o.txt", Body=b"abd")
    os.makedirs(job.meta, exist_ok=True)
    with pytest.raises(TaskFailed, match="sha1"):
        ex.transport.fetch(job.plan, job.host_root)
    assert not (tmp_path / "t" / "work" / "o.txt").exists()
    assert not bed.objects("out/")


# -- cancelling ------------------------------------------------------------------------------


def _start_sleeper(bed: Bed, tmp_path: Path, *store: str) -> subprocess.Popen[str]:
    src = task(
        tmp_path,
        'task sleepy {\n  command <<< echo started; sleep 300 >>>\n  runtime { docker: "busybox:latest" }\n}',
    )
    argv = [
        str(BIN / "wfrewrite"),
        "run",
        str(src),
        "--dir",
        str(tmp_path / "r"),
        *bed.tes_args(*(store or bed.s3_store)),
    ]
    return subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, killed as one (as Toil kills a job)
    )


def _running_task(bed: Bed, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = [t["id"] for t in bed.tasks() if t["state"] == "RUNNING"]
        if running:
            return running[0]
        time.sleep(0.2)
    raise AssertionError("the task never started")


def _containers_of(task_id: str) -> list[str]:
    p = subprocess.run(
        ["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, check=True
    )
    return [n for n in p.stdout.split() if n.startswith(task_id)]


def _gone(bed: Bed, task_id: str, timeout: float = 30) -> None:
    """The task is CANCELED and its container is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tes_task(bed.tes, task_id)["state"] == "CANCELED" and not _containers_of(task_id):
            return
        time.sleep(0.5)
    raise AssertionError(
        f"{tes_task(bed.tes, task_id)['state']}, containers {_containers_of(task_id)}"
    )


def test_ctrl_c_cancels_the_task(bed: Bed, tmp_path: Path) -> None:
    proc = _start_sleeper(bed, tmp_path)
    task_id = _running_task(bed)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    _gone(bed, task_id)


def test_a_killed_driver_leaves_nothing_running(bed: Bed, tmp_path: Path) -> None:
    """SIGKILL to the driver's whole process group (how Toil kills a job): the task's reaper
    runs `wfrewrite cleanup --executor tes ... --job NAME`, which finds the task by its job tag
    and cancels it; nothing of the job is left in the store."""
    proc = _start_sleeper(bed, tmp_path, *bed.file_store)
    task_id = _running_task(bed)
    tags = tes_task(bed.tes, task_id)["tags"]
    assert tags[LABEL_JOB].startswith("wfr-sleepy-") and tags[LABEL_TASK] == "sleepy"
    assert tags[LABEL_DRIVER].rsplit(".", 2)[1] == str(proc.pid)  # the driver: the run itself
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    _gone(bed, task_id)
    assert not (bed.files / "out" / tags[LABEL_JOB]).exists()


DEAD = f"{driver_id().rsplit('.', 2)[0]}.1.0"  # this host's pid 1 did not start at tick 0: gone


def _leftover(bed: Bed, driver: str, job: str = "", run: str = "") -> str:
    """A TES task as a driver of ``run`` (the test's) would have left it: labelled, asleep."""
    import tes

    tags = {LABEL_RUN: run or bed.run, LABEL_TASK: "left", LABEL_DRIVER: driver}
    if job:
        tags[LABEL_JOB] = job
    t = tes.Task(
        name="left",
        executors=[tes.Executor(image="busybox:latest", command=["sleep", "300"])],
        tags=tags,
    )
    return str(tes.HTTPClient(bed.tes, timeout=10).create_task(t))


def test_sweep_cancels_what_dead_drivers_left_of_a_run(bed: Bed) -> None:
    """sweep(run) cancels the tasks of the run whose driver is gone; a live driver's only with
    force; another run's never."""
    dead = [_leftover(bed, DEAD), _leftover(bed, DEAD)]
    alive = _leftover(bed, driver_id())
    theirs = _leftover(bed, DEAD, run=f"{bed.run}-other")
    ex = executor(bed, store=f"file://{bed.files}")
    try:
        assert sorted(ex.sweep(bed.run)) == sorted(dead)
        for task_id in dead:
            _gone(bed, task_id)
        assert tes_task(bed.tes, alive)["state"] not in TERMINAL
        assert tes_task(bed.tes, theirs)["state"] not in TERMINAL
        assert ex.sweep(bed.run) == []
        assert ex.sweep(bed.run, force=True) == [alive]
        _gone(bed, alive)
    finally:
        ex.cancel_task(theirs)


def test_cleanup_and_the_next_run_sweep_what_a_dead_driver_left(bed: Bed, tmp_path: Path) -> None:
    """`wfrewrite cleanup --job` cancels one job's task (a live driver's too), `--label` what
    dead drivers left of a run; the next run of that label sweeps it at its start."""
    tes_args = ["--executor", "tes", "--tes-url", bed.tes]
    one = _leftover(bed, driver_id(), job="wfr-left-0123456789ab")
    left = _leftover(bed, DEAD)
    r = wfrewrite("cleanup", *tes_args, "--job", "wfr-left-0123456789ab", "--label", bed.run)
    assert r.rc == 0, r.stderr
    assert f"tes: removed {left}" in r.stdout and one not in r.stdout
    _gone(bed, one)
    _gone(bed, left)
    left = _leftover(bed, DEAD)
    src = task(
        tmp_path,
        'task quick {\n  command <<< echo hi >>>\n  runtime { docker: "busybox:latest" }\n}',
    )
    r = bed.wdl(src, *bed.tes_args(*bed.file_store))
    assert r.rc == 0, r.stderr
    _gone(bed, left)


def test_a_tes_task_cannot_change_its_input(bed: Bed, tmp_path: Path) -> None:
    """The server mounts every input read-only: appending, truncating, chmod and rm are all
    refused, and the user's file keeps its bytes and mode (through S3: its link count too)."""
    from test_inputs_protected import ATTACK, state, user_file

    f = user_file(tmp_path)
    before = state(f)
    src = tmp_path / "attack.wdl"
    src.write_text(ATTACK)
    for store in (bed.s3_store, bed.file_store):
        r = bed.wdl(src, *bed.tes_args(*store), inputs={"f": str(f)})
        assert r.rc == 0, r.stderr
        assert r.json["outputs"]["attack.said"] == [
            "append: refused", "truncate: refused", "chmod: refused", "rm: refused",
            "line1", "line2",
        ], store  # fmt: skip
        now = state(f)
        assert now[:2] == before[:2], store
        if store == bed.s3_store:
            assert now == before


# -- what reaches the TES task --------------------------------------------------------------------


def test_resources_and_a_large_script(bed: Bed, tmp_path: Path) -> None:
    """cpu, memory, disk, preemptible and the time limit reach the TES task's resources; a
    script too large to travel inline goes as a TES input of its own."""
    words = " ".join(f"w{i}" for i in range(30000))  # ~200 KB of command
    src = task(
        tmp_path,
        "task big {\n  command <<<\n    for w in " + words + "; do :; done; echo done\n  >>>\n"
        "  output { String s = read_string(stdout()) }\n"
        '  runtime { docker: "busybox:latest"  cpu: 2  memory: "1 GB"  disks: "local-disk 3 SSD"\n'
        "            preemptible: 2  maxRetries: 0 }\n}",
    )
    r = bed.wdl(src, *bed.tes_args(*bed.s3_store), "--unsupported", "warning")
    assert r.rc == 0, r.stderr
    assert r.json["outputs"]["big.s"] == "done"
    t = tes_task(bed.tes, task_id_of(r.json["dir"]))
    res = t["resources"]
    assert res["cpu_cores"] == 2 and res["ram_gb"] == 1.0 and res["preemptible"] is True
    assert res["disk_gb"] == pytest.approx(3.0, abs=0.25)
    assert len(json.dumps(t)) < 50_000
    assert [i["path"] for i in t["inputs"]] == ["/mnt/wfr/stage/wfrewrite.sh"]
    assert t["executors"][0]["command"][:2] == ["/bin/sh", "/mnt/wfr/stage/wfrewrite.sh"]


def test_a_task_the_server_keeps_running_past_its_time_limit_is_given_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A TES server that lost track of a task (Funnel, restarted, leaves it RUNNING for ever)
    would hold its driver for ever; past the task's time limit and the grace, ``wait`` gives it
    up. No real server can be made to lose a task on purpose: ``state`` is a stand-in here,
    always RUNNING."""
    from wfrewrite.runtime.exec import select
    from wfrewrite.runtime.exec import tes as tes_exec

    ex = select(Options(executor="tes", tes_url="http://127.0.0.1:9"))
    assert isinstance(ex, tes_exec.TesExecutor)
    monkeypatch.setattr(tes_exec, "TIMEOUT_GRACE", 0.2)
    monkeypatch.setattr(tes_exec, "POLL_MAX", 0.05)
    monkeypatch.setattr(tes_exec, "POLL_EARLY", 0.05)
    monkeypatch.setattr(ex, "state", lambda task_id: "RUNNING")
    start = time.monotonic()
    with pytest.raises(TaskFailed, match="past its time limit"):
        ex.wait("t-1", None, time_limit=1)
    assert time.monotonic() - start < 10
    monkeypatch.setattr(ex, "state", lambda task_id: "QUEUED")  # queued: no time limit yet
    with pytest.raises(TaskFailed, match="terminating"):
        ex.wait("t-2", lambda: time.monotonic() - start > 3, time_limit=1)


def test_polls_keep_their_connection_and_open_another_when_it_is_closed() -> None:
    """``state`` asks on a connection it keeps open, and opens a new one, without a word, when
    the server has closed it. A stand-in server (http.server) closes it on purpose, which Funnel
    does only when it restarts."""
    import http.server
    import threading

    from wfrewrite.runtime.exec import select

    seen: list[tuple[int, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            seen.append((self.client_address[1], self.path))
            body = json.dumps({"id": "t-1", "state": "RUNNING" if len(seen) < 4 else "COMPLETE"})
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            if len(seen) == 2:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ex = select(Options(executor="tes", tes_url=f"http://127.0.0.1:{server.server_port}/"))
        assert [ex.state("t-1") for _ in range(4)] == ["RUNNING"] * 3 + ["COMPLETE"]
    finally:
        server.shutdown()
        server.server_close()
    assert {p for _, p in seen} == {"/ga4gh/tes/v1/tasks/t-1?view=MINIMAL"}
    ports = [port for port, _ in seen]
    assert ports[0] == ports[1] != ports[2] == ports[3]


def test_poll_schedule_is_fine_while_short_tasks_end_and_sparse_after() -> None:
    """A task is polled every 50 ms in its first 2 s (a trivial Funnel task ends after
    ~0.2-0.25 s; under a 0.1 s step one that ends just past a poll is seen ~0.1 s late), then
    ever less often, up to once a second: over its first 5 s no more requests than a 0.1 s
    step would make (50), and a long task costs the server one request a second."""
    from wfrewrite.runtime.exec.tes import POLL_FIRST, POLL_MAX, next_poll

    def polls(until: float) -> list[float]:
        at, delay, out = 0.0, POLL_FIRST, [0.0]  # the first poll right after the POST
        while at < until:
            at += delay
            out.append(at)
            delay = next_poll(delay, at)
        return out

    early = polls(2.0)
    assert max(b - a for a, b in itertools.pairwise(early)) <= 0.05 + 1e-9
    assert len([t for t in polls(5.0) if t <= 5.0]) <= 50
    late = polls(60.0)
    assert late[-1] - late[-2] == POLL_MAX
