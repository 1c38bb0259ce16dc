"""Tasks in real podman containers from the test bed's images (../shared/testbed): each image as
hostile as the ones users meet. Needs podman-setup.sh and build-images.sh."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, wfrewrite

pytestmark = [pytest.mark.podman, pytest.mark.usefixtures("podman")]


def run(tmp: Path, source: Path | str, *args: str, inputs: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
    argv = ["run", str(source), "--executor", "podman", "--dir", str(tmp / "runs"), *args]
    if inputs is not None:
        (tmp / "in.json").write_text(json.dumps(inputs))
        argv += ["-i", str(tmp / "in.json")]
    return wfrewrite(*argv, cwd=ROOT)


def manifest(result_dir: str) -> dict:  # type: ignore[type-arg]
    return json.loads((Path(result_dir) / "wfrewrite" / "manifest.json").read_text())


def task(tmp: Path, body: str, version: str = "1.0") -> Path:
    src = tmp / "t.wdl"
    src.write_text(f"version {version}\n{body}\n")
    return src


def test_busybox_has_no_bash(tmp_path: Path) -> None:
    r = run(tmp_path, EXAMPLES / "hello_busybox.wdl")
    assert r.rc == 0, r.stderr
    assert r.json["outputs"]["hello_busybox.count"] == 6
    m = manifest(r.json["dir"])
    assert m["shell"] == "sh"
    log = (Path(r.json["dir"]) / "wfrewrite" / "script.log").read_text()
    assert "no bash in this image; running the command under /bin/sh" in log


def test_debian_slim_with_directory_output(tmp_path: Path) -> None:
    r = run(
        tmp_path, EXAMPLES / "split_dir.wdl", inputs={"text": str(EXAMPLES / "data" / "hamlet.txt")}
    )
    assert r.rc == 0, r.stderr
    out = r.json["outputs"]
    assert out["split_dir.summary"]["chunks"] == 3
    assert sorted(p.name for p in Path(out["split_dir.chunks"]).iterdir()) == [
        "part-000.txt",
        "part-001.txt",
        "part-002.txt",
    ]
    assert manifest(r.json["dir"])["shell"] == "bash"


def test_wordcount_in_ubuntu_matches_local(tmp_path: Path) -> None:
    r = run(tmp_path, "examples/wordcount.wdl", "-i", "examples/wordcount.inputs.json")
    assert r.rc == 0, r.stderr
    local = wfrewrite(
        "run",
        "examples/wordcount.wdl",
        "-i",
        "examples/wordcount.inputs.json",
        "--executor",
        "local",
        "--dir",
        str(tmp_path / "local"),
        cwd=ROOT,
    )
    assert (
        r.json["outputs"]["wordcount.total_words"]
        == local.json["outputs"]["wordcount.total_words"]
        == 137
    )
    assert (
        Path(r.json["outputs"]["wordcount.counts"]).read_text()
        == Path(local.json["outputs"]["wordcount.counts"]).read_text()
    )


@pytest.mark.parametrize("image", ["busybox:latest", "debian:bookworm-slim"])
def test_read_only_root_and_arbitrary_uid(tmp_path: Path, image: str) -> None:
    src = task(
        tmp_path,
        f"""task ro {{
  input {{ File f }}
  command <<<
    id -u > uid.txt
    touch /should-fail 2>/dev/null && echo writable || echo read-only
    cp '~{{f}}' copy.txt && echo "$HOME" && mktemp > /dev/null
  >>>
  output {{
    Array[String] lines = read_lines(stdout())
    String uid = read_string("uid.txt")
    File copy = "copy.txt"
  }}
  runtime {{ docker: "{image}" }}
}}""",
    )
    r = run(
        tmp_path,
        src,
        "--read-only",
        "--user",
        "1000:1000",
        inputs={"ro.f": str(EXAMPLES / "data" / "alice.txt")},
    )
    assert r.rc == 0, r.stderr
    out = r.json["outputs"]
    assert out["ro.uid"] == "1000"
    assert out["ro.lines"] == ["read-only", "/mnt/wfr/home"]
    assert Path(out["ro.copy"]).read_text() == (EXAMPLES / "data" / "alice.txt").read_text()


def test_image_without_a_shell_fails_clearly(tmp_path: Path) -> None:
    src = task(
        tmp_path,
        'task noshell {\n  command <<< echo hi >>>\n  runtime { docker: "gcr.io/distroless/static-debian12" }\n}',
    )
    t0 = time.monotonic()
    r = run(tmp_path, src)
    assert time.monotonic() - t0 < 60
    assert r.rc == 1
    assert "has no /bin/sh" in r.stderr and "distroless" in r.stderr


def test_missing_image_fails_clearly(tmp_path: Path) -> None:
    src = task(
        tmp_path,
        'task nope {\n  command <<< echo hi >>>\n  runtime { docker: "no.such/image:1" }\n}',
    )
    r = run(tmp_path, src)
    assert r.rc == 1 and "could not start the container for image no.such/image:1" in r.stderr


def test_limits_reach_the_container(tmp_path: Path) -> None:
    src = task(
        tmp_path,
        """task limits {
  command <<<
    cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes
    if [ -f /sys/fs/cgroup/cpu.max ]; then cut -d' ' -f1 /sys/fs/cgroup/cpu.max; else cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us; fi
  >>>
  output { Array[String] v = read_lines(stdout()) }
  runtime { docker: "busybox:latest"  cpu: 1  memory: "64 MiB" }
}""",
    )
    r = run(tmp_path, src)
    assert r.rc == 0, r.stderr
    assert r.json["outputs"]["limits.v"] == [str(64 * 1024 * 1024), "100000"]


def test_only_the_task_dir_is_visible(tmp_path: Path) -> None:
    src = task(
        tmp_path,
        """task iso {
  command <<<
    echo $(ls /mnt/wfr)
    test -e /work && echo host-visible || echo ok
  >>>
  output { Array[String] v = read_lines(stdout()) }
  runtime { docker: "busybox:latest" }
}""",
    )
    r = run(tmp_path, src)
    assert r.rc == 0, r.stderr
    listing, visible = r.json["outputs"]["iso.v"]
    assert "work" in listing.split() and "wfrewrite" in listing.split()
    assert visible == "ok"


def test_failure_in_container(tmp_path: Path) -> None:
    r = run(tmp_path, EXAMPLES / "fail_on_purpose.wdl")
    assert r.rc == 1
    assert "the command exited with 3" in r.stderr and "reference genome is missing" in r.stderr


def test_container_candidates_pick_one_that_exists(tmp_path: Path) -> None:
    src = task(
        tmp_path,
        """task cands {
  command <<< cat /etc/os-release | head -1 >>>
  output { String v = read_string(stdout()) }
  requirements { container: ["no.such/image:1", "busybox:latest"] }
}""",
        version="1.2",
    )
    r = run(tmp_path, src)
    assert r.rc == 0, r.stderr
    plan = json.loads((Path(r.json["dir"]) / "wfrewrite" / "plan.json").read_text())
    assert plan["image"] == "busybox:latest"


def test_ctrl_c_removes_the_container(tmp_path: Path) -> None:
    import signal
    import subprocess

    from conftest import BIN

    name = f"sleepy{os.getpid()}"
    src = task(
        tmp_path,
        f'task {name} {{\n  command <<< echo started; sleep 300 >>>\n  runtime {{ docker: "busybox:latest" }}\n}}',
    )
    proc = subprocess.Popen(
        [
            str(BIN / "wfrewrite"),
            "run",
            str(src),
            "--executor",
            "podman",
            "--dir",
            str(tmp_path / "r"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    started = False
    while time.monotonic() < deadline and not started:
        started = any(p.read_text() == "started\n" for p in (tmp_path / "r").glob("*/stdout.txt"))
        time.sleep(0.2)
    assert started, "the task never started"
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    name = next((tmp_path / "r").glob("*/wfrewrite/container")).read_text().strip()
    left = subprocess.run(
        ["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, check=True
    )
    assert name not in left.stdout.split(), left.stdout
