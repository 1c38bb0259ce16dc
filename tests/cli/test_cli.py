"""The `wfrewrite` command as a user runs it, on the embedded `local` executor."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import EXAMPLES, ROOT, wfrewrite


def test_run_wordcount_local(tmp_path: Path) -> None:
    out = tmp_path / "outputs.json"
    r = wfrewrite(
        "run",
        "examples/wordcount.wdl",
        "-i",
        "examples/wordcount.inputs.json",
        "--executor",
        "local",
        "--dir",
        str(tmp_path),
        "-o",
        str(out),
        cwd=ROOT,
    )
    assert r.rc == 0, r.stderr
    result = r.json
    assert set(result) == {"outputs", "dir"}
    outputs = result["outputs"]
    assert outputs["wordcount.total_words"] == 137
    assert outputs["wordcount.top5"][0].split() == ["8", "the"]
    counts = Path(outputs["wordcount.counts"]).read_text().splitlines()
    assert counts == ["alice.txt\t4\t57", "hamlet.txt\t5\t39", "moby dick.txt\t3\t41"]
    assert json.loads(out.read_text()) == result
    manifest = json.loads((Path(result["dir"]) / "wfrewrite" / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"


def test_inputs_without_task_prefix_and_directory_output(tmp_path: Path) -> None:
    inputs = tmp_path / "in.json"
    inputs.write_text(json.dumps({"text": str(EXAMPLES / "data" / "alice.txt"), "lines": 3}))
    r = wfrewrite(
        "run",
        str(EXAMPLES / "split_dir.wdl"),
        "-i",
        str(inputs),
        "--executor",
        "local",
        "--dir",
        str(tmp_path),
    )
    assert r.rc == 0, r.stderr
    out = r.json["outputs"]
    assert out["split_dir.summary"] == {
        "name": "alice.txt",
        "chunks": 2,
        "lines_per_chunk": {"part-000.txt": 3, "part-001.txt": 1},
    }
    chunks = Path(out["split_dir.chunks"])
    assert sorted(p.name for p in chunks.iterdir()) == ["part-000.txt", "part-001.txt"]


def test_failure_reports_name_rc_and_stderr(tmp_path: Path) -> None:
    r = wfrewrite(
        "run", str(EXAMPLES / "fail_on_purpose.wdl"), "--executor", "local", "--dir", str(tmp_path)
    )
    assert r.rc == 1
    assert "fail_on_purpose" in r.stderr
    assert "the command exited with 3" in r.stderr
    assert "fatal: the reference genome is missing" in r.stderr
    assert r.stdout == ""


def test_auto_says_which_executor(tmp_path: Path) -> None:
    r = wfrewrite(
        "run",
        str(EXAMPLES / "hello_busybox.wdl"),
        "--dir",
        str(tmp_path),
        env={"PATH": "/usr/bin:/bin"},
    )
    assert "wfrewrite: executor " in r.stderr and "(auto)" in r.stderr


def test_compile_then_run_the_script_by_hand(tmp_path: Path) -> None:
    """compile --root <dir> gives a script that runs on this host with nothing but sh."""
    root = tmp_path / "task"
    r = wfrewrite(
        "compile",
        "examples/wordcount.wdl",
        "-i",
        "examples/wordcount.inputs.json",
        "-o",
        str(tmp_path / "c"),
        "--root",
        str(root),
        cwd=ROOT,
    )
    assert r.rc == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["plan.json", "script.sh"]
    p = subprocess.run(
        ["sh", str(tmp_path / "c" / "script.sh")], capture_output=True, text=True, check=False
    )
    assert p.returncode == 0, p.stderr
    assert (root / "work" / "total.txt").read_text() == "137\n"
    manifest = json.loads((root / "wfrewrite" / "manifest.json").read_text())
    assert {f["output"] for f in manifest["files"]} >= {"counts", "total_words", "top5"}


def test_retries_use_task_attempt(tmp_path: Path) -> None:
    src = tmp_path / "retry.wdl"
    src.write_text("""version 1.2
task retry {
  command <<<
    echo "attempt ~{task.attempt}"
    if [ ~{task.attempt} -lt 2 ]; then exit 1; fi
  >>>
  requirements { max_retries: 2 }
  output { String said = read_string(stdout()) }
}
""")
    r = wfrewrite("run", str(src), "--executor", "local", "--dir", str(tmp_path / "runs"))
    assert r.rc == 0, r.stderr
    assert r.json["outputs"]["retry.said"] == "attempt 2"
    run_dir = Path(r.json["dir"])
    assert (run_dir / "attempt1" / "stdout.txt").read_text() == "attempt 0\n"
    assert (run_dir / "attempt2" / "stdout.txt").read_text() == "attempt 1\n"


def test_unsatisfiable_resources_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "big.wdl"
    src.write_text(
        "version 1.2\ntask big {\n  command <<< echo >>>\n  requirements { cpu: 4200 }\n}\n"
    )
    r = wfrewrite("run", str(src), "--executor", "local", "--dir", str(tmp_path))
    assert r.rc == 1 and "at least 4200 CPUs" in r.stderr
    r = wfrewrite(
        "run", str(src), "--executor", "local", "--dir", str(tmp_path), "--resources", "clamp"
    )
    assert r.rc == 0, r.stderr


def test_cloud_runtime_keys_warn_by_name(tmp_path: Path) -> None:
    src = tmp_path / "cloud.wdl"
    src.write_text(
        'version 1.0\ntask cloud {\n  command <<< echo >>>\n  runtime {\n    zones: "us-east1-b"\n  }\n}\n'
    )
    r = wfrewrite("run", str(src), "--executor", "local", "--dir", str(tmp_path))
    assert r.rc == 0, r.stderr
    assert (
        "warning: unsupported: runtime key 'zones' (a cloud scheduler's key; ignored here)"
        in r.stderr
    )


def test_collect_reports_every_unsupported_feature_at_once(tmp_path: Path) -> None:
    """--unsupported collect: each feature by name and position, then one failure."""
    src = tmp_path / "many.wdl"
    src.write_text(
        "version 1.0\ntask many {\n  command <<< echo >>>\n  runtime {\n"
        '    inlineDockerfile: "FROM x"\n    privileged: true\n    zones: "z"\n  }\n}\n'
    )
    r = wfrewrite("compile", str(src), "-o", str(tmp_path / "out"), "--unsupported", "collect")
    assert r.rc == 2
    assert f"{src}:5:23: error: unsupported: runtime key 'inlineDockerfile'" in r.stderr
    assert f"{src}:6:17: error: unsupported: runtime key 'privileged: true'" in r.stderr
    assert "2 unsupported features in all" in r.stderr
    assert "warning: unsupported: runtime key 'zones'" in r.stderr  # a hint stays a warning
    assert not (tmp_path / "out").exists()


def test_what_the_executor_cannot_give_is_reported(tmp_path: Path) -> None:
    """GPUs and disks at mount points on the host are refused by name (they used to be
    dropped); preemptible machines are a warning on an executor that has none."""
    src = tmp_path / "needs.wdl"
    src.write_text(
        "version 1.0\ntask needs {\n  command <<< echo >>>\n  runtime {\n"
        '    gpu: true\n    disks: "/mnt/data 1 GiB"\n    preemptible: 2\n  }\n}\n'
    )
    r = wfrewrite(
        "run", str(src), "--executor", "local", "--dir", str(tmp_path), "--unsupported", "collect"
    )
    assert r.rc == 1, r.stderr
    assert "unsupported: GPUs (the local executor gives a task no GPU)" in r.stderr
    assert "unsupported: a disk at /mnt/data" in r.stderr
    assert "runtime key 'preemptible' (the local executor has no preemptible machines" in r.stderr
