"""An image's facts (its ID, its ENTRYPOINT) are asked of the engine once a process: the first
tasks of a scatter start together, and one ``image inspect`` answers them all; a CWL run asks
for the images its document names while cwltool validates it (``prefetch``). The engine here
is a stand-in script that counts how often it is asked, and is slow to answer, which is the
point (what a real podman answers is tested with it in test_podman.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from wfrewrite.runtime.exec import select
from wfrewrite.runtime.options import Options

ENGINE = """#!/bin/sh
echo "$@" >> {log}
sleep 0.3
echo 'abc123 ["/entry", "--"]'
"""


def engine(tmp_path: Path) -> tuple[Any, Path]:
    """A podman executor whose engine is the stand-in; the file it logs each question to."""
    log = tmp_path / "asked"
    binary = tmp_path / "engine"
    binary.write_text(ENGINE.format(log=log))
    binary.chmod(0o755)
    ex: Any = select(Options(executor="podman"))
    ex.binary = str(binary)
    return ex, log


def asked(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_tasks_starting_together_share_one_image_inspect(tmp_path: Path) -> None:
    ex, log = engine(tmp_path)
    facts = []
    threads = [threading.Thread(target=lambda: facts.append(ex.inspect("img:1"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(asked(log)) == 1 and asked(log)[0].startswith("image inspect"), asked(log)
    assert {f.entrypoint for f in facts} == {("/entry", "--")} and len(facts) == 4
    assert ex.image_id("img:1") == "abc123"
    ex.inspect("img:2")
    assert len(asked(log)) == 2  # another image: asked on its own


def test_prefetch_asks_in_the_background_and_the_task_finds_it(tmp_path: Path) -> None:
    ex, log = engine(tmp_path)
    started = time.monotonic()
    ex.prefetch(["img:a", "img:b"])
    assert time.monotonic() - started < 0.2  # nothing waited for
    assert ex.inspect("img:a").entrypoint == ("/entry", "--")  # the one under way, waited for
    assert ex.inspect("img:b").entrypoint == ("/entry", "--")
    assert sorted(line.split()[-1] for line in asked(log)) == ["img:a", "img:b"]


def test_a_prefetch_that_fails_leaves_the_task_to_ask_and_report(tmp_path: Path) -> None:
    ex = select(Options(executor="podman"))
    ex.binary = str(tmp_path / "no-such-engine")  # type: ignore[attr-defined]
    ex.prefetch(["img:x"])  # the thread meets the missing binary, quietly
    time.sleep(0.3)
    assert (ex.binary, "img:x") not in ex._images  # type: ignore[attr-defined]
