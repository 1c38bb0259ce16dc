"""``spare_realpaths``: the permissions miniwdl adds to a task's run directory at the end of every
task (``chmod_R_plus``) are added the same way without resolving each entry's path: on a tree
with links to files and directories inside and outside it, dangling links, and a directory
reached through a link, miniwdl's own function and ``add_permissions`` leave the same modes,
and nothing outside the tree changes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from WDL._util import chmod_R_plus

from wfrewrite.runtime.engines.miniwdl import add_permissions, spare_realpaths


def tree(base: Path, outside: Path) -> Path:
    top = base / "run"
    (top / "work" / "sub").mkdir(parents=True)
    (top / "wfrewrite").mkdir()
    for i, p in enumerate(["work/a.txt", "work/sub/b.txt", "wfrewrite/script.sh", "stdout.txt"]):
        (top / p).write_text(p)
        (top / p).chmod([0o600, 0o644, 0o700, 0o400][i])
    (top / "work" / "sub").chmod(0o700)
    (top / "work" / "to_outside_file").symlink_to(outside / "secret.txt")
    (top / "work" / "to_outside_dir").symlink_to(outside)
    (top / "work" / "to_inside").symlink_to(top / "work" / "a.txt")
    (top / "work" / "dangling").symlink_to(base / "nowhere")
    (top / "linked_dir").symlink_to(top / "work" / "sub")
    return top


def modes(top: Path) -> dict[str, int]:
    out = {}
    for root, dirs, files in os.walk(top):
        for name in [*dirs, *files, "."]:
            p = os.path.join(root, name)
            out[os.path.relpath(p, top)] = os.lstat(p).st_mode
    return out


@pytest.mark.parametrize("through_link", [False, True])
def test_the_same_modes_as_miniwdls_own(tmp_path: Path, through_link: bool) -> None:
    results = []
    for name, fn in (("miniwdl", chmod_R_plus), ("wfrewrite", add_permissions)):
        base = tmp_path / name
        outside = base / "outside"
        outside.mkdir(parents=True)
        (outside / "secret.txt").write_text("x")
        (outside / "secret.txt").chmod(0o600)
        outside.chmod(0o700)
        top = tree(base, outside)
        target = top
        if through_link:
            (base / "link_to_run").symlink_to(top)
            target = base / "link_to_run"
        fn(str(target), file_bits=0o660, dir_bits=0o770)
        results.append(
            (modes(top), os.lstat(outside / "secret.txt").st_mode, os.lstat(outside).st_mode)
        )
    assert results[0] == results[1]
    theirs = results[1]
    assert stat.S_IMODE(theirs[1]) == 0o600 and stat.S_IMODE(theirs[2]) == 0o700  # untouched
    assert stat.S_IMODE(theirs[0]["work/a.txt"]) == 0o660


def test_a_file_and_a_missing_path(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    f.chmod(0o600)
    add_permissions(str(f), file_bits=0o060)
    assert stat.S_IMODE(f.stat().st_mode) == 0o660
    with pytest.raises(FileNotFoundError):
        chmod_R_plus(str(tmp_path / "missing"), file_bits=0o660)
    with pytest.raises(FileNotFoundError):
        add_permissions(str(tmp_path / "missing"), file_bits=0o660)


def test_spare_realpaths_puts_it_where_a_task_ends() -> None:
    import WDL.runtime.task as task

    before = task.chmod_R_plus
    try:
        spare_realpaths()
        assert task.chmod_R_plus is add_permissions
        spare_realpaths()  # once is enough
        assert task.chmod_R_plus is add_permissions
    finally:
        task.chmod_R_plus = before
