"""Golden cases: tests/cases/<name>/ holds source.wdl + inputs.json (WDL) or source.cwl + job.yml
(CWL), data, and the expected plan.json, script.sh and warnings.txt. Regenerate them with
`make goldens` (WFREWRITE_UPDATE_GOLDENS=1).

Goldens are machine-independent: the case's own directory is written as /cases/<name> and the
task's root is /mnt/wfr. A case with a transport.json is bound to that transport as a driver
would bind it (the url transport: its store at a fixed address, the uploads recorded, not sent).
Besides equality, every golden must round-trip (plan.json -> TaskPlan -> plan.json, and
emit(plan) == script.sh), pass shellcheck, and *run*: each script is executed with dash, busybox
sh (in a busybox-only PATH) and bash, and its manifest checked against expect.json (default:
status "succeeded"); a url case runs against a real HTTP store on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, ROOT, shells
from httpstore import HttpObjectStore

from wfrewrite.compiler import wdl
from wfrewrite.compiler.diagnostics import Unsupported
from wfrewrite.compiler.emit import emit
from wfrewrite.compiler.plan import TaskPlan, check
from wfrewrite.runtime.options import Options
from wfrewrite.runtime.transport.stores import HttpStore
from wfrewrite.runtime.transport.url import URL_CONTAINER_ROOT, UrlTransport

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


class RecordingStore(HttpStore):
    """An HTTP store whose uploads are kept here (a golden is compiled without a server)."""

    def __init__(self, base: str) -> None:
        super().__init__(base)
        self.objects: dict[str, bytes] = {}

    def put_file(self, key: str, path: str) -> tuple[int, str]:
        import hashlib

        data = Path(path).read_bytes()
        self.objects[key] = data
        return len(data), hashlib.sha1(data).hexdigest()

    def put_bytes(self, key: str, data: bytes) -> None:
        self.objects[key] = data


def transport_of(name: str) -> dict[str, Any]:
    path = CASES_DIR / name / "transport.json"
    return json.loads(path.read_text()) if path.exists() else {}


def root_of(name: str) -> str:
    return URL_CONTAINER_ROOT if transport_of(name).get("transport") == "url" else ROOT_IN_GOLDEN


def compile_case(name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, str, dict]:  # type: ignore[type-arg]
    """The case's plan.json and script.sh as wfrewrite now emits them, the warnings it gave,
    and what a url case uploaded (store key -> bytes)."""
    case = CASES_DIR / name
    monkeypatch.chdir(case)
    unsupported = Unsupported(level="warning")
    if (case / "source.cwl").exists():
        plan = compile_cwl_case(unsupported, root_of(name))
    else:
        doc = wdl.load("source.wdl")
        task, inputs = wdl.read_inputs(doc, None, "inputs.json")
        plan = wdl.compile_wdl(task, inputs, root=root_of(name), unsupported=unsupported)
    uploads: dict[str, bytes] = {}
    spec = transport_of(name)
    if spec.get("transport") == "url":
        store = RecordingStore(spec["store"])
        opts = Options(transport="url", store=spec["store"], url_expires=86400)
        plan = UrlTransport(opts, store).bind(plan, run_key="golden")
        assert plan.url is not None
        plan = plan.replace(url=dataclasses.replace(plan.url, expires=None))  # not a time
        uploads = store.objects
    text = plan.dumps().replace(str(case.resolve()), placeholder(name))
    warnings = "".join(
        w.replace(str(case.resolve()), placeholder(name)) + "\n" for w in unsupported.warnings
    )
    return text, emit(TaskPlan.loads(text)), warnings, uploads


def compile_cwl_case(unsupported: Unsupported, root: str) -> TaskPlan:
    from wfrewrite.compiler import cwl

    ctx = cwl.loading_context()
    job = cwl.read_job("job.yml", "source.cwl", ctx)
    tool = cwl.load("source.cwl", ctx)
    order = cwl.bind_job(tool, job, "source.cwl")
    return cwl.compile_cwl(tool, order, job.basedir, root=root, unsupported=unsupported)


def compare_golden(case: Path, files: dict[str, str]) -> None:
    """Each of ``files`` against the case's committed file (written instead with `make goldens`;
    an empty warnings.txt is not kept)."""
    for fname, got in files.items():
        path = case / fname
        if UPDATE:
            if got or fname != "warnings.txt":
                path.write_text(got)
            elif path.exists():
                path.unlink()
        if fname == "warnings.txt" and not got and not path.exists():
            continue
        assert path.exists(), f"{path} is missing: run `make goldens` to create it"
        assert got == path.read_text(), (
            f"{path} differs from what wfrewrite now emits; if the change is intended, run "
            "`make goldens` (WFREWRITE_UPDATE_GOLDENS=1) and review the diff"
        )


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_text, script, warnings, _ = compile_case(name, monkeypatch)
    compare_golden(
        CASES_DIR / name, {"plan.json": plan_text, "script.sh": script, "warnings.txt": warnings}
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
    again = compile_case(name, monkeypatch)[0]
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
def test_golden_runs(
    name: str, shell: str, tmp_path: Path, busybox_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The committed script itself, with its machine paths (and a url case's store) pointed at
    this machine."""
    case = CASES_DIR / name
    root = tmp_path / "task"
    script = (case / "script.sh").read_text()
    script = script.replace(root_of(name), str(root)).replace(
        placeholder(name), str(case.resolve())
    )
    spec = transport_of(name)
    uploads = compile_case(name, monkeypatch)[3] if spec else {}
    prefix = spec.get("store", "").split("/", 3)[-1]  # "wfr/"
    objects = {f"/{prefix}{key}": data for key, data in uploads.items()}
    path = tmp_path / "script.sh"
    env = dict(os.environ)
    if shell == "busybox":
        env["PATH"] = str(busybox_bin)
    expect = (
        json.loads((case / "expect.json").read_text()) if (case / "expect.json").exists() else {}
    )
    with HttpObjectStore(objects) as store:
        if spec:
            script = script.replace(spec["store"], f"{store.url}/{prefix}")
        path.write_text(script)
        argv = [shutil.which(a) or a for a in dict(SHELLS)[shell]] + [str(path)]
        p = subprocess.run(
            argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
        )
    manifest_path = root / "wfrewrite" / "manifest.json"
    assert manifest_path.exists(), f"no manifest; the script said:\n{p.stderr}"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["status"] == expect.get("status", "succeeded"), (manifest, p.stderr)
    if "rc" in expect:
        assert manifest["rc"] == expect["rc"]
    if "message" in expect:
        assert expect["message"] in manifest["message"]
    for rel in expect.get("uploaded", ()):
        got = store.objects.get(f"/{prefix}golden/out/{rel}")
        assert got is not None, f"{rel} was not uploaded ({sorted(store.objects)})"
        assert got == (root / rel).read_bytes(), f"{rel} did not arrive byte for byte"
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
        argv_cmd = TaskPlan.loads((case / "plan.json").read_text()).command.shell == "none"
        assert manifest["shell"] == ("none" if argv_cmd else "sh"), (
            "busybox has no bash: the command must run under sh (an argv command under none)"
        )
