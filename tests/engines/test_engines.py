"""Engines drive wfrewrite: miniwdl's own CLI with `container_backend = wfrewrite` runs a real
multi-step workflow (scatter + gather, Files and a Directory passed between steps), and its
outputs match miniwdl's own podman backend's."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, EXAMPLES, ROOT, need_podman

WORKFLOW = EXAMPLES / "workflows" / "scatter_gather.wdl"
INPUTS = EXAMPLES / "workflows" / "scatter_gather.inputs.json"


def miniwdl(tmp: Path, cfg: str, env: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    p = subprocess.run(
        [
            str(BIN / "miniwdl"),
            "run",
            str(WORKFLOW),
            "-i",
            str(INPUTS),
            "--cfg",
            cfg,
            "--dir",
            str(tmp),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout)


def summary(result: dict) -> dict:  # type: ignore[type-arg]
    out = result["outputs"]
    chunks = Path(out["scatter_gather.chunks"])
    return {
        "total": out["scatter_gather.total_words"],
        "n": out["scatter_gather.chunk_count"],
        "report": Path(out["scatter_gather.report"]).read_text(),
        "chunks": {p.name: p.read_text() for p in sorted(chunks.iterdir())},
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    """miniwdl's own podman backend on the same workflow."""
    need_podman()
    tmp = tmp_path_factory.mktemp("miniwdl-podman")
    return summary(
        miniwdl(
            tmp,
            "/var/tmp/testbed/miniwdl-podman.cfg",
            {"MINIWDL__TASK_RUNTIME__COMMAND_SHELL": "/bin/sh"},
        )
    )


@pytest.mark.parametrize("executor", ["local", "podman", "slurm"])
def test_miniwdl_with_the_wfrewrite_backend(tmp_path: Path, executor: str, reference: dict) -> None:  # type: ignore[type-arg]
    if (
        executor == "slurm"
        and subprocess.run(["sinfo", "-h"], capture_output=True, check=False).returncode != 0
    ):
        if os.environ.get("WFREWRITE_REQUIRE_SLURM") == "1":
            pytest.fail("Slurm is required here")
        pytest.skip("no Slurm cluster")
    cfg = tmp_path / "wfrewrite.cfg"
    cfg.write_text(
        f"[scheduler]\ncontainer_backend = wfrewrite\n[wfrewrite]\nexecutor = {executor}\n"
    )
    result = miniwdl(tmp_path / "runs", str(cfg))
    assert summary(result) == reference
    run = Path(result["dir"])
    scripts = sorted(run.glob("call-*/wfrewrite/script.sh"))
    assert len(scripts) == 4, "split, two counts and gather each ran as a compiled script"


def test_wfrewrite_run_drives_the_workflow(tmp_path: Path, reference: dict) -> None:  # type: ignore[type-arg]
    p = subprocess.run(
        [
            str(BIN / "wfrewrite"),
            "run",
            str(WORKFLOW),
            "-i",
            str(INPUTS),
            "--executor",
            "podman",
            "--dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert summary(json.loads(p.stdout)) == reference


def test_tasks_asking_at_once_share_one_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    """miniwdl's task threads ask for their executor at the same moment: they get one, and so
    share its transport's uploads (an input put in the store once). The executor is a stand-in
    that takes a while to make, to widen the window."""
    import logging
    import threading
    import time

    from WDL.runtime import config

    from wfrewrite.runtime.engines import miniwdl
    from wfrewrite.runtime.options import Options, to_config

    made: list[object] = []

    def slow_select(options: Options) -> object:
        time.sleep(0.05)
        made.append(object())
        return made[-1]

    monkeypatch.setattr(miniwdl.executors, "select", slow_select)
    monkeypatch.setattr(miniwdl, "_executor_cache", {})
    cfg = config.Loader(logging.getLogger("test"), [])
    cfg.override({"wfrewrite": to_config(Options(executor="local", run_label="at-once"))})
    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(miniwdl.executor_for(cfg))) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and got == made * 6
