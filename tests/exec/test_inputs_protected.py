"""No task can change a user's input, on any executor, in any link mode.

A WDL task appends to, truncates, chmods and removes its File input (each in a subshell, saying
what happened); a CWL tool does the same to an input staged into its work dir by InitialWorkDir
and to a writable copy. Afterwards the user's file has the same bytes and the same mode and
link count, and the task succeeds or fails as its command says: in a container every write is
refused (the inputs are on read-only mounts), with ``local`` the task changes its own copy.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from conftest import BIN, need_podman, need_slurm, wfrewrite

ATTACK = """version 1.0
task attack {
  input { File f }
  command <<<
    (echo appended >> ~{f}) 2>/dev/null && echo "append: changed" || echo "append: refused"
    (: > ~{f}) 2>/dev/null && echo "truncate: changed" || echo "truncate: refused"
    (chmod 777 ~{f}) 2>/dev/null && echo "chmod: changed" || echo "chmod: refused"
    (rm -f ~{f}) 2>/dev/null && echo "rm: done" || echo "rm: refused"
    test ! -e ~{f} || cat ~{f}
  >>>
  output { Array[String] said = read_lines(stdout()) }
  runtime { docker: "busybox:latest" }
}
"""

CWL_ATTACK = """cwlVersion: v1.2
class: CommandLineTool
requirements:
  ShellCommandRequirement: {}
  DockerRequirement: {dockerPull: "busybox:latest"}
  InitialWorkDirRequirement:
    listing:
      - entry: $(inputs.f)
      - entry: $(inputs.g)
        writable: true
inputs:
  f: File
  g: File
arguments:
  - shellQuote: false
    valueFrom: >
      (echo x >> $(inputs.f.basename)) 2>/dev/null && echo f-changed || echo f-refused;
      (echo x >> $(inputs.g.basename)) 2>/dev/null && echo g-changed || echo g-refused;
      (echo x >> $(inputs.f.path)) 2>/dev/null && echo path-changed || echo path-refused
stdout: said.txt
outputs:
  said:
    type: string
    outputBinding:
      glob: said.txt
      loadContents: true
      outputEval: $(self[0].contents)
"""

CASES = [
    ("local", "symlink"),
    ("local", "hardlink"),
    ("local", "copy"),
    ("podman", "symlink"),
    ("podman", "hardlink"),
    ("podman", "copy"),
    ("slurm", "symlink"),
    ("slurm", "hardlink"),
    ("slurm-none", "copy"),
]


def user_file(tmp: Path, name: str = "in.txt") -> Path:
    f = tmp / "data" / name
    f.parent.mkdir(exist_ok=True)
    f.write_bytes(b"line1\nline2\n")
    os.chmod(f, 0o640)
    return f


def state(f: Path) -> tuple[str, int, int]:
    st = f.stat()
    return hashlib.sha1(f.read_bytes()).hexdigest(), st.st_mode & 0o7777, st.st_nlink


def executor_args(executor: str) -> list[str]:
    if executor.startswith("slurm"):
        need_slurm()
    if executor != "local" and executor != "slurm-none":
        need_podman()
    if executor == "slurm-none":
        return ["--executor", "slurm", "--slurm-container", "none"]
    return ["--executor", executor]


@pytest.mark.parametrize(("executor", "link_mode"), CASES)
def test_a_wdl_task_cannot_change_its_input(tmp_path: Path, executor: str, link_mode: str) -> None:
    f = user_file(tmp_path)
    before = state(f)
    src = tmp_path / "attack.wdl"
    src.write_text(ATTACK)
    r = wfrewrite(
        "run", str(src), "-i", json.dumps({"f": str(f)}), *executor_args(executor),
        "--link-mode", link_mode, "--dir", str(tmp_path / "runs"),
    )  # fmt: skip
    assert r.rc == 0, r.stderr
    said = r.json["outputs"]["attack.said"]
    assert state(f) == before, f"the user's input changed ({executor}, {link_mode}): {said}"
    if executor.endswith("local") or executor == "slurm-none":
        # on the host nothing can be mounted read-only: the task changed its own copy
        assert said[:4] == ["append: changed", "truncate: changed", "chmod: changed", "rm: done"]
    else:
        assert said == [
            "append: refused", "truncate: refused", "chmod: refused", "rm: refused",
            "line1", "line2",
        ]  # fmt: skip


@pytest.mark.parametrize("executor", ["local", "podman"])
def test_a_cwl_tool_cannot_change_its_inputs(tmp_path: Path, executor: str) -> None:
    """An InitialWorkDir entry is read-only in a container; a writable one is a copy."""
    f, g = user_file(tmp_path, "f.txt"), user_file(tmp_path, "g.txt")
    before = state(f), state(g)
    tool = tmp_path / "attack.cwl"
    tool.write_text(CWL_ATTACK)
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"f": {"class": "File", "path": str(f)},
                               "g": {"class": "File", "path": str(g)}}))  # fmt: skip
    import subprocess

    p = subprocess.run(
        [str(BIN / "wfrewrite-cwl-runner"), *executor_args(executor), "--quiet",
         "--outdir", str(tmp_path / "out"), str(tool), str(job)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    said = json.loads(p.stdout)["said"].split()
    assert (state(f), state(g)) == before, said
    assert "g-changed" in said, "a writable entry is the task's own copy"
    if executor == "podman":
        assert said == ["f-refused", "g-changed", "path-refused"]


def test_a_task_under_toil_cannot_change_its_input(tmp_path: Path) -> None:
    """toil-wdl-runner --no-appliance: the input comes from Toil's job store, on a read-only
    mount in the task's container."""
    import subprocess

    need_podman()
    f = user_file(tmp_path)
    before = state(f)
    src = tmp_path / "attack.wdl"
    src.write_text(ATTACK)
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    p = subprocess.run(
        [str(BIN / "toil-wdl-runner"), str(src), json.dumps({"attack.f": str(f)}),
         "--no-appliance", "--wfrewrite-executor", "podman", "--jobStore", str(tmp_path / "js"),
         "--outputDirectory", str(tmp_path / "out"), "--logLevel", "WARNING"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    said = json.loads(p.stdout)["attack.said"]
    assert state(f) == before
    assert said[:4] == ["append: refused", "truncate: refused", "chmod: refused", "rm: refused"]
