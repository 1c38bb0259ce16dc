"""CWL end to end with the `local` executor: wfrewrite-cwl-runner against cwltool itself (the same
output object, byte for byte), `wfrewrite compile/run` on .cwl, packed documents, v1.0, a
workflow through cwltool's engine, failures and refusals. Tools are in tests/cwl/."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, ROOT, Result, wfrewrite

CWL = ROOT / "tests" / "cwl"


def runner(*args: str, cwd: Path = CWL, executor: str = "local", timeout: float = 300) -> Result:
    p = subprocess.run(
        [str(BIN / "wfrewrite-cwl-runner"), "--executor", executor, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(p.returncode, p.stdout, p.stderr)


def cwltool(*args: str, cwd: Path = CWL) -> Result:
    p = subprocess.run(
        [str(BIN / "cwltool"), "--no-container", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Result(p.returncode, p.stdout, p.stderr)


@pytest.mark.parametrize(
    ("tool", "job"),
    [("outputs.cwl", None), ("workflow.cwl", "words.yml"), ("cwl_output_json.cwl", None)],
)
def test_output_object_is_what_cwltool_prints(tool: str, job: str | None, tmp_path: Path) -> None:
    """Files with size and sha1, secondary files, listings, loadContents, outputEval with
    runtime.exitCode, cwltool's glob order, cwl.output.json: the same bytes as cwltool's."""
    jobs = [job] if job else []
    ours = runner("--quiet", "--outdir", str(tmp_path / "ours"), tool, *jobs)
    assert ours.rc == 0, ours.stderr
    ref = cwltool("--quiet", "--outdir", str(tmp_path / "ref"), tool, *jobs)
    assert ref.rc == 0, ref.stderr
    assert ours.stdout == ref.stdout.replace(str(tmp_path / "ref"), str(tmp_path / "ours"))
    for entry in (tmp_path / "ref").rglob("*"):
        twin = tmp_path / "ours" / entry.relative_to(tmp_path / "ref")
        assert twin.exists(), twin
        if entry.is_file():
            assert twin.read_bytes() == entry.read_bytes()


def test_outputs_details(tmp_path: Path) -> None:
    r = runner("--quiet", "--outdir", str(tmp_path), "outputs.cwl")
    out = r.json
    assert out["code"] == 3 and out["n"] == 42 and out["absent"] is None
    names = [p["basename"] for p in out["parts"]]
    assert sorted(names) == ["B1.part", "a10.part", "a2.part", "b10.part"]  # order: cwltool's
    assert [s["basename"] for s in out["main"]["secondaryFiles"]] == ["main.dat.idx", "main.extra"]
    assert out["main"]["checksum"] == "sha1$b28b7af69320201d1cf206ebf28373980add1451"
    assert Path(out["main"]["path"]).read_text() == "main"


def test_packed_graph_main_and_fragment(tmp_path: Path) -> None:
    main = runner("--quiet", "--outdir", str(tmp_path / "a"), "packed.cwl")
    assert main.rc == 0, main.stderr
    r = wfrewrite("compile", "packed.cwl", "-o", str(tmp_path / "m"), cwd=CWL)
    assert json.loads((tmp_path / "m" / "plan.json").read_text())["network"] is False
    assert Path(main.json["out"]["path"]).read_text() == "main\n"
    other = runner("--quiet", "--outdir", str(tmp_path / "b"), "packed.cwl#other")
    assert other.rc == 0, other.stderr
    assert Path(other.json["out"]["path"]).read_text() == "other\n"
    r = wfrewrite("compile", "packed.cwl", "--task", "other", "-o", str(tmp_path / "c"), cwd=CWL)
    assert r.rc == 0, r.stderr
    plan = json.loads((tmp_path / "c" / "plan.json").read_text())
    assert plan["command"]["argv"] == ["echo", "other"] and plan["name"] == "other"


def test_cwl_v1_0_document(tmp_path: Path) -> None:
    r = runner("--quiet", "--outdir", str(tmp_path), "v10.cwl", "text.yml")
    assert r.rc == 0, r.stderr
    assert Path(r.json["copy"]["path"]).read_text() == "some text\n"


def test_workflow_steps_run_as_scripts(tmp_path: Path) -> None:
    r = runner("--outdir", str(tmp_path), "workflow.cwl", "words.yml")
    assert r.rc == 0, r.stderr
    assert r.json == {"counts": [2, 3, 6]}
    assert r.stderr.count("] local executor") == 6, "every step is a wfrewrite job"


def test_wfrewrite_compile_and_run_accept_cwl(tmp_path: Path) -> None:
    c = wfrewrite("compile", "v10.cwl", "-i", "text.yml", "-o", str(tmp_path / "c"), cwd=CWL)
    assert c.rc == 0, c.stderr
    script = (tmp_path / "c" / "script.sh").read_text()
    assert script.startswith("#!/bin/sh") and "exec cat /mnt/wfr/inputs/stg0/text.txt" in script
    plan = json.loads((tmp_path / "c" / "plan.json").read_text())
    assert plan["lang"] == "cwl"
    assert plan["network"] is True, "CWL v1.0 tools have network access (cwltool's upgrade)"
    assert plan["command"]["entrypoint"] is True and plan["command"]["shell"] == "none"
    assert plan["stdout"] == "/mnt/wfr/work/copy.txt"
    assert plan["stage"][0]["source"] == str(CWL / "text.txt")
    r = wfrewrite(
        "run", "v10.cwl", "-i", "text.yml", "--executor", "local", "--dir", str(tmp_path / "r"),
        cwd=CWL,
    )  # fmt: skip
    assert r.rc == 0, r.stderr
    out = r.json
    assert out["dir"] == str(tmp_path / "r")
    assert Path(out["outputs"]["copy"]["path"]).read_text() == "some text\n"


def test_compiled_cwl_script_runs_by_hand(tmp_path: Path) -> None:
    """The compiled script is self-contained: /bin/sh runs it with its root pointed here."""
    root = tmp_path / "task"
    c = wfrewrite(
        "compile", "v10.cwl", "-i", "text.yml", "-o", str(tmp_path / "c"), "--root", str(root),
        cwd=CWL,
    )  # fmt: skip
    assert c.rc == 0, c.stderr
    p = subprocess.run(["/bin/sh", str(tmp_path / "c" / "script.sh")], capture_output=True)
    assert p.returncode == 0, p.stderr
    assert (root / "work" / "copy.txt").read_text() == "some text\n"
    manifest = json.loads((root / "wfrewrite" / "manifest.json").read_text())
    assert manifest["status"] == "succeeded" and manifest["shell"] == "none"


def test_failures(tmp_path: Path) -> None:
    slow = runner("--quiet", "--outdir", str(tmp_path / "s"), "sleeper.cwl", timeout=60)
    assert slow.rc == 1 and "time limit of 1 s" in slow.stderr
    outside = runner("--quiet", "--outdir", str(tmp_path / "o"), "outside.cwl")
    assert outside.rc == 1 and "outside the output directory" in outside.stderr
    missing = runner("--quiet", "--outdir", str(tmp_path / "m"), "absent.cwl")
    assert missing.rc == 2 and "absent.cwl" in missing.stderr and "Traceback" not in missing.stderr


def test_local_refuses_docker_output_directory(tmp_path: Path) -> None:
    tool = tmp_path / "t.cwl"
    tool.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nrequirements:\n  DockerRequirement:\n"
        "    dockerPull: debian:stable-slim\n    dockerOutputDirectory: /other\n"
        "baseCommand: [touch, /other/x]\ninputs: []\noutputs: []\n"
    )
    r = runner("--quiet", "--outdir", str(tmp_path / "o"), str(tool))
    assert r.rc == 33, r.stderr
    assert (
        f"{tool}:6:5: error: unsupported: CWL DockerRequirement.dockerOutputDirectory" in r.stderr
    )


def test_unsupported_hint_is_a_warning(tmp_path: Path) -> None:
    tool = tmp_path / "t.cwl"
    tool.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nhints:\n  SoftwareRequirement:\n"
        "    packages: [{package: samtools}]\nbaseCommand: [echo, hi]\ninputs: []\n"
        "outputs: []\n"
    )
    r = runner("--outdir", str(tmp_path / "o"), str(tool))
    assert r.rc == 0, r.stderr
    assert "warning: unsupported: CWL SoftwareRequirement" in r.stderr


def test_scratch_is_removed(tmp_path: Path) -> None:
    env_tmp = tmp_path / "tmp"
    env_tmp.mkdir()
    p = subprocess.run(
        [
            str(BIN / "wfrewrite-cwl-runner"),
            *("--executor", "local", "--quiet", "--outdir", str(tmp_path / "o")),
            *("v10.cwl", "text.yml"),
        ],
        cwd=CWL,
        env={**os.environ, "TMPDIR": str(env_tmp)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    assert list(env_tmp.iterdir()) == []
    assert sorted(x.name for x in (tmp_path / "o").iterdir()) == ["copy.txt"]


def test_loaded_is_called_once_after_the_load_and_before_any_job(tmp_path: Path) -> None:
    """``RunOptions.loaded`` (where wfrewrite-cwl-runner turns its collector back on) comes once
    the document is loaded and the job bound, before the first job; a document that does not
    load never gets there."""
    from wfrewrite.compiler.diagnostics import WfError
    from wfrewrite.runtime.engines.cwltool.run import RunOptions, run
    from wfrewrite.runtime.options import Options

    wf = ROOT / "examples" / "workflows" / "cwl"
    calls: list[list[str]] = []
    out = run(
        RunOptions(
            tool=str(wf / "scatter_gather.cwl"),
            job=str(wf / "scatter_gather.job.yml"),
            outdir=str(tmp_path / "out"),
            options=Options(executor="local"),
            loaded=lambda: calls.append(sorted(os.listdir(tmp_path))),
        )
    )
    assert out.status == "success"
    assert calls == [[]]  # once, and nothing of the run existed yet
    bad = tmp_path / "bad.cwl"
    bad.write_text("cwlVersion: v1.2\nclass: CommandLineTool\ninputs: 3\n")
    with pytest.raises(WfError):
        run(RunOptions(tool=str(bad), outdir=str(tmp_path / "o2"), loaded=lambda: calls.append([])))
    assert len(calls) == 1
