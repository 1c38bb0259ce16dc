"""The platform transport's bundle, without a platform: the script (run for real under dash,
busybox sh with a busybox-only PATH, and bash) in outbox mode puts the manifest and the small
files in the outbox as one ``wfrewrite/bundle.tar``, or one by one where there is no tar; the
driver (``fetch.open_bundle``, ``fetch.from_bundle``, ``fetch.fetch_listed``) reads them back by
name, sizes and sha1s checked, and refuses a damaged tar. Funnel's own uploads of a bundle are in
tests/exec/test_tes.py."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import IO, BinaryIO

import pytest
from conftest import shells

from wfrewrite.compiler.diagnostics import TaskFailed
from wfrewrite.compiler.emit import emit
from wfrewrite.compiler.plan import Capture, Command, Layout, TaskPlan, check
from wfrewrite.runtime.transport.fetch import fetch_listed, from_bundle, open_bundle
from wfrewrite.runtime.transport.stores import get_checked

SHELLS = dict(shells())
BIG = 2 << 20  # above the script's WF_BUNDLE_FILE_MAX (1 MiB): it goes on its own

# names a shell or a tar could take for something else; GNU tar reads escapes in the names it
# is given, so a name with a backslash goes on its own
ODD = ("sp ace.txt", "\u00e9.txt", "-n.txt", "a\\b.txt")
COMMAND = f"""echo hi > small.txt
ln small.txt same.txt
for f in 'sp ace.txt' \u00e9.txt -n.txt 'a\\b.txt'; do echo odd > "./$f"; done
mkdir -p ../wfrewrite/outbox && echo stray > ../wfrewrite/outbox/stray.txt
head -c {BIG} /dev/zero > big.bin
: > empty.txt
echo said >&2
"""


def bundle_plan(root: Path) -> TaskPlan:
    lay = Layout.under(str(root))
    outputs = {"small": "small.txt", "same": "same.txt", "big": "big.bin", "empty": "empty.txt"}
    outputs.update((f"odd{i}", name) for i, name in enumerate(ODD))
    return check(
        TaskPlan(
            name="t",
            lang="wdl",
            layout=lay,
            transport="platform",
            command=Command(script=COMMAND),
            stdout=f"{lay.root}/stdout.txt",
            stderr=f"{lay.root}/stderr.txt",
            outputs=tuple(outputs),
            captures=tuple(Capture(output=k, kind="path", pattern=v) for k, v in outputs.items()),
        )
    )


def run_outbox(plan: TaskPlan, shell: str, path: str, tmp: Path) -> Path:
    """Run ``plan``'s script as a platform does (``all outbox``); its outbox."""
    script = tmp / "script.sh"
    script.write_text(emit(plan))
    argv = [shutil.which(SHELLS[shell][0]) or SHELLS[shell][0], *SHELLS[shell][1:]]
    p = subprocess.run(
        [*argv, str(script), "all", "outbox"],
        env=dict(os.environ, PATH=path),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    return Path(plan.layout.meta) / "outbox"


def listing(top: Path) -> list[str]:
    return sorted(str(p.relative_to(top)) for p in top.rglob("*") if p.is_file())


def outbox_getter(outbox: Path, asked: list[str]):  # type: ignore[no-untyped-def]
    """A fetch.Getter reading the outbox as a platform would have put it in a store; what it
    is asked for goes in ``asked``."""

    def read(rel: str, f: IO[bytes]) -> bool:
        asked.append(rel)
        try:
            f.write((outbox / rel).read_bytes())
        except FileNotFoundError:
            return False
        return True

    return lambda rel, dest, size, sha1, verify: get_checked(read, rel, dest, size, sha1, verify)


def fetch_home(plan: TaskPlan, outbox: Path, home: Path) -> list[str]:
    """Bring the task's files home from ``outbox``; what was asked of the store."""
    bundle_path = outbox / "wfrewrite" / "bundle.tar"

    def get_bundle(f: BinaryIO) -> bool:
        if not bundle_path.exists():
            return False
        f.write(bundle_path.read_bytes())
        return True

    asked: list[str] = []
    with open_bundle(get_bundle, str(bundle_path), INDEX) as bundle:
        got = from_bundle(bundle, outbox_getter(outbox, asked))
        assert fetch_listed(got, plan, str(home), empty_logs_out=True)
        if bundle_path.exists():
            assert bundle.left_out() == ["work/a\\b.txt", "work/big.bin"]
    return asked


def check_home(home: Path) -> None:
    work = home / "work"
    assert (work / "small.txt").read_text() == "hi\n" == (work / "same.txt").read_text()
    assert (work / "big.bin").stat().st_size == BIG and (work / "empty.txt").read_bytes() == b""
    assert (home / "stderr.txt").read_text() == "said\n"
    assert (home / "stdout.txt").read_bytes() == b""
    assert all((work / name).read_text() == "odd\n" for name in ODD)


@pytest.fixture(params=list(SHELLS))
def shell(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_small_files_go_as_one_tar(shell: str, busybox_bin: Path, tmp_path: Path) -> None:
    """The manifest, the outbox's index, the small outputs (one a hard link of another: a link
    member in the tar), names with a space, a non-ASCII letter or a leading dash, and the stderr
    go as one tar; the big output and the name with a backslash on their own, the empty ones
    (and what the command left in the outbox) not at all. The driver asks the store for those
    two only: the index says the empty stdout is not there."""
    plan = bundle_plan(tmp_path / "task")
    path = str(busybox_bin) if shell == "busybox" else os.environ["PATH"]
    outbox = run_outbox(plan, shell, path, tmp_path)
    assert listing(outbox) == ["wfrewrite/bundle.tar", "work/a\\b.txt", "work/big.bin"]
    with tarfile.open(outbox / "wfrewrite" / "bundle.tar") as tar:
        kinds = {m.name.removeprefix("./"): m.type for m in tar.getmembers()}
    assert set(kinds) == {
        "wfrewrite/manifest.json",
        "wfrewrite/outbox.list",
        "work/small.txt",
        "work/same.txt",
        "stderr.txt",
        *(f"work/{name}" for name in ODD[:3]),
    }
    assert tarfile.LNKTYPE in (kinds["work/small.txt"], kinds["work/same.txt"])
    home = tmp_path / "home"
    assert sorted(fetch_home(plan, outbox, home)) == ["work/a\\b.txt", "work/big.bin"]
    check_home(home)


def test_without_tar_the_files_go_one_by_one(busybox_bin: Path, tmp_path: Path) -> None:
    """An image without tar (dash and busybox's other tools: busybox sh would run its own tar
    applet whatever the PATH): the outbox holds the files as they are, and they come home."""
    bare = tmp_path / "no-tar"
    shutil.copytree(busybox_bin, bare, symlinks=True)
    (bare / "tar").unlink()
    plan = bundle_plan(tmp_path / "task")
    outbox = run_outbox(plan, "dash", str(bare), tmp_path)
    assert listing(outbox) == sorted(
        [
            "stderr.txt",
            "wfrewrite/manifest.json",
            "work/big.bin",
            "work/same.txt",
            "work/small.txt",
            *(f"work/{name}" for name in ODD),
        ]
    )
    home = tmp_path / "home"
    assert "stdout.txt" in fetch_home(plan, outbox, home)  # asked for: nothing says it is empty
    check_home(home)


INDEX = "wfrewrite/outbox.list"
WHERE = "s3://b/out/j/wfrewrite/bundle.tar"


def tar_of(members: list[tuple[tarfile.TarInfo, bytes]], *, outbox: tuple[str, ...] = ()) -> bytes:
    """A bundle of ``members`` and an index that says it holds its regular files and hard
    links, and that the outbox held those and ``outbox``."""
    held = [i.name.removeprefix("./") for i, _ in members if i.isreg() or i.islnk()]
    lines = [*held, *outbox] + [f"tar\t./{n}" for n in held]
    index = tarfile.TarInfo(f"./{INDEX}")
    lines += [f"tar\t./{INDEX}"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in [*members, (index, "".join(f"{ln}\n" for ln in lines).encode())]:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def bundle_of(*raws: bytes):  # type: ignore[no-untyped-def]
    """A bundle read from a store that answers ``raws`` in turn (the last one for ever)."""
    answers = list(raws)

    def get(f: BinaryIO) -> bool:
        f.write(answers.pop(0) if len(answers) > 1 else answers[0])
        return True

    return open_bundle(get, WHERE, INDEX)


def test_only_regular_files_and_hard_links_are_read(tmp_path: Path) -> None:
    """A symlink, a directory or a device in the tar is never read, whatever its name; a
    hard link reads the member it names, inside the tar."""
    link = tarfile.TarInfo("./work/link.txt")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("./work/hard.txt")
    hard.type, hard.linkname = tarfile.LNKTYPE, "./work/a.txt"
    dev = tarfile.TarInfo("work/dev")
    dev.type = tarfile.CHRTYPE
    members = [(tarfile.TarInfo("./work/a.txt"), b"a\n"), (link, b""), (hard, b""), (dev, b"")]
    with bundle_of(tar_of(members, outbox=("work/big.bin",))) as bundle:
        assert bundle.tarred == {"work/a.txt", "work/hard.txt", INDEX}
        assert bundle.left_out() == ["work/big.bin"]
        dest = tmp_path / "hard.txt"
        sha1 = hashlib.sha1(b"a\n").hexdigest()
        assert get_checked(bundle.read, "work/hard.txt", str(dest), 2, sha1)
        assert dest.read_bytes() == b"a\n"
        assert not bundle.read("work/link.txt", io.BytesIO())


def test_a_damaged_bundle_is_read_again_then_fails_the_task(tmp_path: Path) -> None:
    """Not a tar at all, one cut short, one without the members its index lists, or a member
    spoiled: the bundle is read from the store again, three times in all; still wrong, a
    TaskFailed naming it, and nothing put in place."""
    good = tar_of([(tarfile.TarInfo("work/a.txt"), b"x" * 5000)])
    spoiled = good.replace(b"x" * 5000, b"x" * 4999 + b"y")
    less = tar_of([])  # its index says it holds nothing: another tar's index then
    cut = good[:2048]
    dest = tmp_path / "a.txt"
    sha1 = hashlib.sha1(b"x" * 5000).hexdigest()
    for raws in [(b"\x01" * 700, good), (cut, cut, good), (spoiled, good)]:
        with bundle_of(*raws) as bundle:
            assert get_checked(bundle.read, "work/a.txt", str(dest), 5000, sha1)
        assert dest.read_bytes() == b"x" * 5000
        dest.unlink()
    for raws, wrong in [
        ((b"\x01" * 700,), r"not a whole tar .* \(read 3 times\)"),
        ((cut,), r"not a whole tar"),
        ((less.replace(b"tar\t./wfrewrite/outbox.list", b"tar\t./work/gone.txt/xxxx"),), "gone"),
        ((spoiled,), r"work/a\.txt: sha1"),
    ]:
        with pytest.raises(TaskFailed, match=wrong), bundle_of(*raws) as bundle:
            get_checked(bundle.read, "work/a.txt", str(dest), 5000, sha1)
        assert not list(tmp_path.iterdir())
