"""An image's facts (its ID, its ENTRYPOINT) are asked of the engine once a process: the first
tasks of a scatter start together, and one ``image inspect`` answers them all. The engine here
is a stand-in script that counts how often it is asked, and is slow to answer, which is the
point (what a real podman answers is tested with it in test_podman.py)."""

from __future__ import annotations

import threading
from pathlib import Path

from wfrewrite.runtime.exec import select
from wfrewrite.runtime.options import Options

ENGINE = """#!/bin/sh
echo "$@" >> {log}
sleep 0.3
echo 'abc123 ["/entry", "--"]'
"""


def test_tasks_starting_together_share_one_image_inspect(tmp_path: Path) -> None:
    log = tmp_path / "asked"
    engine = tmp_path / "engine"
    engine.write_text(ENGINE.format(log=log))
    engine.chmod(0o755)
    ex = select(Options(executor="podman"))
    ex.binary = str(engine)  # type: ignore[attr-defined]
    facts = []
    threads = [
        threading.Thread(target=lambda: facts.append(ex.inspect("img:1")))  # type: ignore[attr-defined]
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    asked = log.read_text().splitlines()
    assert len(asked) == 1 and asked[0].startswith("image inspect"), asked
    assert {f.entrypoint for f in facts} == {("/entry", "--")} and len(facts) == 4
    assert ex.image_id("img:1") == "abc123"  # type: ignore[attr-defined]
    ex.inspect("img:2")  # type: ignore[attr-defined]
    assert len(log.read_text().splitlines()) == 2  # another image: asked on its own


def test_prefetch_asks_in_the_background_and_the_task_finds_it(tmp_path: Path) -> None:
    import time

    log = tmp_path / "asked"
    engine = tmp_path / "engine"
    engine.write_text(ENGINE.format(log=log))
    engine.chmod(0o755)
    ex = select(Options(executor="podman"))
    ex.binary = str(engine)  # type: ignore[attr-defined]
    started = time.monotonic()
    ex.prefetch(["img:a", "img:a", "img:b"])
    assert time.monotonic() - started < 0.2  # nothing waited for
    facts = ex.inspect("img:a")  # type: ignore[attr-defined]  # waits for the one under way
    assert facts.entrypoint == ("/entry", "--")
    deadline = time.monotonic() + 5
    while len(log.read_text().splitlines()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.4)
    assert sorted(log.read_text().splitlines()) == ["image inspect --format {{.Id}} "
        "{{json .Config.Entrypoint}} img:a", "image inspect --format {{.Id}} "
        "{{json .Config.Entrypoint}} img:b"]  # fmt: skip


def test_a_prefetch_that_fails_leaves_the_task_to_ask_and_report(tmp_path: Path) -> None:
    ex = select(Options(executor="podman"))
    ex.binary = str(tmp_path / "no-such-engine")  # type: ignore[attr-defined]
    ex.prefetch(["img:x"])  # the thread meets the missing binary, quietly
    import time

    time.sleep(0.3)
    assert (ex.binary, "img:x") not in ex._images  # type: ignore[attr-defined]
