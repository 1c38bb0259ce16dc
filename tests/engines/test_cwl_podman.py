"""CWL tools in real podman containers from the test bed's images (../shared/testbed): an image's
ENTRYPOINT (bash:4.4), dockerOutputDirectory, no network unless asked for, the default image,
real input directories, a read-only root and an arbitrary uid, and the golden cases giving the
same outputs as with `local`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, ObjectStores
from test_cwl import runner

pytestmark = [pytest.mark.podman, pytest.mark.usefixtures("podman")]

CASES = ROOT / "tests" / "cases"


def tool(tmp: Path, body: str, name: str = "t.cwl") -> Path:
    path = tmp / name
    path.write_text("cwlVersion: v1.2\nclass: CommandLineTool\n" + body)
    return path


def run(tmp: Path, path: Path, *args: str) -> dict:  # type: ignore[type-arg]
    r = runner("--outdir", str(tmp / "out"), *args, str(path), executor="podman", cwd=tmp)
    assert r.rc == 0, r.stderr
    return r.json  # type: ignore[no-any-return]


def test_argv_goes_through_the_image_entrypoint(tmp_path: Path) -> None:
    """bash:4.4's ENTRYPOINT hands option-first argv to bash, as `docker run` would."""
    t = tool(
        tmp_path,
        "requirements:\n  DockerRequirement:\n    dockerPull: docker.io/bash:4.4\n"
        'baseCommand: ["-c", "echo moo > cow"]\ninputs: []\n'
        "outputs:\n  cow: {type: File, outputBinding: {glob: cow}}\n",
    )
    out = run(tmp_path, t)
    assert Path(out["cow"]["path"]).read_text() == "moo\n"


DOCKER_OUTPUT_DIR = (
    "requirements:\n  DockerRequirement:\n    dockerPull: docker.io/debian:stable-slim\n"
    "    dockerOutputDirectory: /other\n"
    "baseCommand: [sh, -c, 'pwd > /other/where; echo $HOME >> where']\ninputs: []\n"
    "outputs:\n  where: {type: File, outputBinding: {glob: where}}\n"
)


def test_docker_output_directory(tmp_path: Path) -> None:
    """Mounted: the work dir is mounted a second time, at the tool's output directory."""
    out = run(tmp_path, tool(tmp_path, DOCKER_OUTPUT_DIR))
    assert Path(out["where"]["path"]).read_text() == "/other\n/other\n"


def test_docker_output_directory_with_url(objstore: ObjectStores, tmp_path: Path) -> None:
    """Nothing mounted: the script links the work dir at the tool's output directory, or (a
    read-only root) says it cannot, before the command runs."""
    store = ["--transport", "url", "--store", f"{objstore.http}/wfr-cwl/"]
    out = run(tmp_path, tool(tmp_path, DOCKER_OUTPUT_DIR), *store)
    assert Path(out["where"]["path"]).read_text() == "/other\n/other\n"
    r = runner(
        "--outdir", str(tmp_path / "ro"), *store, "--read-only", "t.cwl",
        executor="podman", cwd=tmp_path,
    )  # fmt: skip
    assert r.rc != 0 and "cannot link the work dir at /other" in r.stderr, r.stderr


def test_initial_work_dir_entry_at_an_absolute_path(tmp_path: Path) -> None:
    """An InitialWorkDir entry at an absolute path (DockerRequirement required) is put in the
    image's filesystem; the local executor reports it unsupported."""
    (tmp_path / "in.txt").write_text("abc\n")
    t = tool(
        tmp_path,
        "requirements:\n  DockerRequirement:\n    dockerPull: docker.io/debian:stable-slim\n"
        "  InitialWorkDirRequirement:\n    listing:\n"
        "      - {entryname: /ref/in.txt, entry: $(inputs.f)}\n"
        "baseCommand: [cat, /ref/in.txt]\nstdout: out.txt\n"
        "inputs:\n  f: File\noutputs:\n  out: {type: File, outputBinding: {glob: out.txt}}\n",
    )
    job = tmp_path / "job.yml"
    job.write_text("f: {class: File, path: in.txt}\n")
    r = runner("--outdir", str(tmp_path / "p"), str(t), str(job), executor="podman", cwd=tmp_path)
    assert r.rc == 0, r.stderr
    assert Path(r.json["out"]["path"]).read_text() == "abc\n"
    r = runner("--outdir", str(tmp_path / "l"), str(t), str(job), executor="local", cwd=tmp_path)
    assert r.rc == 33 and "absolute paths outside the output directory" in r.stderr, r.stderr


@pytest.mark.parametrize("access", [False, True])
def test_network_only_when_asked_for(tmp_path: Path, access: bool) -> None:
    t = tool(
        tmp_path,
        "requirements:\n  DockerRequirement:\n    dockerPull: docker.io/debian:stable-slim\n"
        f"  NetworkAccess:\n    networkAccess: {str(access).lower()}\n"
        "baseCommand: [cat, /proc/net/dev]\nstdout: dev.txt\ninputs: []\n"
        "outputs:\n  dev: stdout\n",
    )
    out = run(tmp_path, t)
    interfaces = {
        line.split(":")[0].strip() for line in Path(out["dev"]["path"]).read_text().splitlines()[2:]
    }
    if access:
        assert interfaces - {"lo"}, "networkAccess: true keeps the engine's network"
    else:
        assert interfaces == {"lo"}, "no network unless the tool asks for it"


def test_tool_without_image_runs_in_the_default_container(tmp_path: Path) -> None:
    t = tool(
        tmp_path,
        "baseCommand: [sh, -c, 'test -f /run/.containerenv && cat /etc/os-release']\n"
        "stdout: os.txt\ninputs: []\noutputs:\n  os: stdout\n",
    )
    r = runner(
        "--outdir", str(tmp_path / "o"), "--default-container", "debian:stable-slim", str(t),
        executor="podman", cwd=tmp_path,
    )  # fmt: skip
    assert r.rc == 0, r.stderr
    assert "image debian:stable-slim" in r.stderr
    assert "Debian" in Path(r.json["os"]["path"]).read_text()


def test_input_directory_is_real_in_the_container(tmp_path: Path) -> None:
    """A tool that copies its input directory gets the files, not a dangling link."""
    (tmp_path / "indir" / "sub").mkdir(parents=True)
    (tmp_path / "indir" / "a").write_text("A")
    (tmp_path / "indir" / "sub" / "b").write_text("B")
    t = tool(
        tmp_path,
        "requirements:\n  DockerRequirement:\n    dockerPull: docker.io/python:3-slim\n"
        "baseCommand: [cp, -r]\narguments: [{position: 2, valueFrom: $(runtime.outdir)}]\n"
        "inputs:\n  indir: {type: Directory, inputBinding: {position: 1}}\n"
        "outputs:\n  copied: {type: Directory, outputBinding: {glob: indir}}\n",
    )
    (tmp_path / "job.yml").write_text("indir: {class: Directory, location: indir}\n")
    r = runner(
        "--outdir", str(tmp_path / "out"), str(t), str(tmp_path / "job.yml"),
        executor="podman", cwd=tmp_path,
    )  # fmt: skip
    assert r.rc == 0, r.stderr
    listing = {e["basename"] for e in r.json["copied"]["listing"]}
    assert listing == {"a", "sub"}
    assert (tmp_path / "indir" / "a").read_text() == "A", "the input is untouched"


def test_read_only_root_and_arbitrary_uid(tmp_path: Path) -> None:
    t = tool(
        tmp_path,
        "requirements:\n  DockerRequirement:\n    dockerPull: docker.io/debian:stable-slim\n"
        "  ShellCommandRequirement: {}\n"
        "arguments: [{valueFrom: 'id -u > uid && touch $HOME/h $TMPDIR/t && "
        "(touch /x 2>/dev/null && echo writable || echo read-only) > root', shellQuote: false}]\n"
        "inputs: []\noutputs:\n  uid: {type: File, outputBinding: {glob: uid}}\n"
        "  root: {type: File, outputBinding: {glob: root}}\n",
    )
    out = run(tmp_path, t, "--read-only", "--user", "1000:1000")
    assert Path(out["uid"]["path"]).read_text() == "1000\n"
    assert Path(out["root"]["path"]).read_text() == "read-only\n"


@pytest.mark.parametrize("name", sorted(p.name for p in CASES.glob("cwl_*")))
def test_golden_cases_same_outputs_as_local(name: str, tmp_path: Path) -> None:
    case = CASES / name
    outputs = {}
    for executor in ("local", "podman"):
        r = runner(
            "--quiet", "--default-container", "debian:stable-slim",
            "--outdir", str(tmp_path / executor), "source.cwl", "job.yml",
            executor=executor, cwd=case,
        )  # fmt: skip
        assert r.rc == 0, r.stderr
        text = r.stdout.replace(str(tmp_path / executor), "OUT")
        outputs[executor] = json.loads(text)
    if name == "cwl_argv":  # it prints its input's path, which is where each executor staged it
        for out in outputs.values():
            out["words"][-1] = Path(out["words"][-1]).name
            out.pop("args")
    if name == "cwl_shell":  # it writes $HOME, which is where each executor put the work dir
        for out in outputs.values():
            out.pop("env_file")
    assert outputs["podman"] == outputs["local"]
