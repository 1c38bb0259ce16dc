"""Golden cases: tests/cases/<name>/ holds source.wdl + inputs.json (WDL) or source.cwl + job.yml
(CWL), data, and the expected plan.json and script.sh. Regenerate them with `make goldens`
(WFREWRITE_UPDATE_GOLDENS=1).

Goldens are machine-independent: the case's own directory is written as /cases/<name> and the
task's root is /mnt/wfr. Besides equality, every golden must round-trip (plan.json -> TaskPlan ->
plan.json, and emit(plan) == script.sh), pass shellcheck, and *run*: each script is executed with
dash, busybox sh (in a busybox-only PATH) and bash, and its manifest checked against expect.json
(default: status "succeeded").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, ROOT, shells

from wfrewrite.compiler import wdl
from wfrewrite.compiler.check import check
from wfrewrite.compiler.emit import emit
from wfrewrite.compiler.plan import TaskPlan

CASES_DIR = ROOT / "tests" / "cases"
CASES = sorted(
    p.name
    for p in CASES_DIR.iterdir()
    if (p / "source.wdl").exists() or (p / "source.cwl").exists()
)
UPDATE = os.environ.get("WFREWRITE_UPDATE_GOLDENS") == "1"
ROOT_IN_GOLDEN = "/mnt/wfr"


def placeholder(name: str) -> str:
    return f"/cases/{name}"


def compile_case(name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    case = CASES_DIR / name
    monkeypatch.chdir(case)
    if (case / "source.cwl").exists():
        plan = check(compile_cwl_case())
    else:
        doc = wdl.load("source.wdl")
        task, inputs = wdl.read_inputs(doc, None, "inputs.json")
        plan = check(wdl.compile_task(task, inputs, root=ROOT_IN_GOLDEN, unsupported=_warnings()))
    text = plan.dumps().replace(str(case.resolve()), placeholder(name))
    golden_plan = TaskPlan.loads(text)
    return text, emit(golden_plan)


def compile_cwl_case() -> TaskPlan:
    from wfrewrite.compiler import cwl

    ctx = cwl.loading_context()
    job = cwl.read_job("job.yml", "source.cwl", ctx)
    tool = cwl.load("source.cwl", ctx)
    order = cwl.bind_job(tool, job, "source.cwl")
    return cwl.compile_tool(tool, order, job.basedir, root=ROOT_IN_GOLDEN, unsupported=_warnings())


def _warnings():  # type: ignore[no-untyped-def]
    from wfrewrite.compiler.diagnostics import Unsupported

    return Unsupported(level="warning")


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_text, script = compile_case(name, monkeypatch)
    case = CASES_DIR / name
    if UPDATE:
        (case / "plan.json").write_text(plan_text)
        (case / "script.sh").write_text(script)
    for fname, got in (("plan.json", plan_text), ("script.sh", script)):
        path = case / fname
        assert path.exists(), f"{path} is missing: run `make goldens` to create it"
        assert got == path.read_text(), (
            f"{path} differs from what wfrewrite now emits; if the change is intended, run "
            "`make goldens` (WFREWRITE_UPDATE_GOLDENS=1) and review the diff"
        )


@pytest.mark.parametrize("name", CASES)
def test_golden_properties(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Round trip, determinism and shellcheck, on the committed golden files."""
    case = CASES_DIR / name
    plan_text = (case / "plan.json").read_text()
    plan = check(TaskPlan.loads(plan_text))
    assert plan.dumps() == plan_text
    script = (case / "script.sh").read_text()
    assert emit(plan) == script == emit(TaskPlan.loads(plan.dumps()))
    again, _ = compile_case(name, monkeypatch)
    assert again == compile_case(name, monkeypatch)[0], "compiling twice gave different plans"
    sc = subprocess.run(
        [str(BIN / "shellcheck"), "-s", "sh", str(case / "script.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert sc.returncode == 0, sc.stdout


SHELLS = shells()


@pytest.mark.parametrize("shell", [s[0] for s in SHELLS])
@pytest.mark.parametrize("name", CASES)
def test_golden_runs(name: str, shell: str, tmp_path: Path, busybox_bin: Path) -> None:
    """The committed script itself, with its two machine paths pointed at this machine."""
    case = CASES_DIR / name
    root = tmp_path / "task"
    script = (case / "script.sh").read_text()
    script = script.replace(ROOT_IN_GOLDEN, str(root)).replace(
        placeholder(name), str(case.resolve())
    )
    path = tmp_path / "script.sh"
    path.write_text(script)
    argv = [shutil.which(a) or a for a in dict(SHELLS)[shell]] + [str(path)]
    env = dict(os.environ)
    if shell == "busybox":
        env["PATH"] = str(busybox_bin)
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    expect = (
        json.loads((case / "expect.json").read_text()) if (case / "expect.json").exists() else {}
    )
    manifest_path = root / "wfrewrite" / "manifest.json"
    assert manifest_path.exists(), f"no manifest; the script said:\n{p.stderr}"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["status"] == expect.get("status", "succeeded"), (manifest, p.stderr)
    if "rc" in expect:
        assert manifest["rc"] == expect["rc"]
    if "message" in expect:
        assert expect["message"] in manifest["message"]
    if manifest["status"] == "succeeded":
        assert p.returncode == 0
        for entry in manifest["files"]:
            f = root / entry["path"]
            assert f.exists() or f.is_symlink()
            if entry["type"] == "file":
                assert f.stat().st_size == entry["size"]
    else:
        assert p.returncode != 0
    if shell == "busybox":
        argv = TaskPlan.loads((case / "plan.json").read_text()).command.shell == "none"
        assert manifest["shell"] == ("none" if argv else "sh"), (
            "busybox has no bash: the command must run under sh (an argv command under none)"
        )


# -- the url transport: a plan as a driver binds it (no WDL source: the binding needs a store) ----

URL_CASE = CASES_DIR / "url_transport"


def url_golden_plan() -> TaskPlan:
    """The wordcount-like task of plan.py's docstring, bound to an S3 store: presigned GETs for
    the inputs, a presigned POST policy for the outputs (signatures made up, no credential)."""
    from wfrewrite.compiler.plan import (
        Capture,
        Command,
        FormField,
        Layout,
        StageItem,
        UrlSpec,
    )

    root = "/tmp/wfr"
    lay = Layout.under(root)
    sig = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
    return TaskPlan(
        name="hello",
        lang="wdl",
        image="busybox:latest",
        layout=lay,
        transport="url",
        url=UrlSpec(
            upload="post",
            upload_url="https://s3.example.org/bucket",
            key_prefix="runs/hello-5f2c0e/out/",
            fields=(
                FormField(name="x-amz-algorithm", value="AWS4-HMAC-SHA256"),
                FormField(
                    name="x-amz-credential",
                    value="AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request",
                ),
                FormField(name="x-amz-date", value="20260101T000000Z"),
                FormField(
                    name="policy", value="eyJleHBpcmF0aW9uIjogIjIwMjYtMDEtMDJUMDA6MDA6MDBaIn0="
                ),
                FormField(name="x-amz-signature", value="0" * 64),
            ),
            expires=1767312000,
        ),
        stage=(
            StageItem(
                source=f"https://s3.example.org/bucket/runs/hello-5f2c0e/in/0/names.txt?{sig}{'1' * 64}",
                path=f"{root}/work/_miniwdl_inputs/0/names.txt",
                size=12,
                checksum="sha1$22596363b3de40b06f981fb85d82312e8c0ed511",
            ),
        ),
        command=Command(script="wc -l < /tmp/wfr/work/_miniwdl_inputs/0/names.txt > n.txt\n"),
        stdout=f"{root}/stdout.txt",
        stderr=f"{root}/stderr.txt",
        outputs=("n",),
        captures=(Capture(output="n", kind="path", pattern="n.txt"),),
    )


def test_url_golden() -> None:
    plan = check(url_golden_plan())
    plan_text, script = plan.dumps(), emit(plan)
    if UPDATE:
        URL_CASE.mkdir(exist_ok=True)
        (URL_CASE / "plan.json").write_text(plan_text)
        (URL_CASE / "script.sh").write_text(script)
    for fname, got in (("plan.json", plan_text), ("script.sh", script)):
        path = URL_CASE / fname
        assert path.exists(), f"{path} is missing: run `make goldens` to create it"
        assert got == path.read_text(), (
            f"{path} differs from what wfrewrite now emits; if the change is intended, run "
            "`make goldens` (WFREWRITE_UPDATE_GOLDENS=1) and review the diff"
        )
    assert TaskPlan.loads(plan_text) == plan
    sc = subprocess.run(
        [str(BIN / "shellcheck"), "-s", "sh", str(URL_CASE / "script.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert sc.returncode == 0, sc.stdout
