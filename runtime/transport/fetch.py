"""Bringing a task's results home from a store: the manifest first, then only what it lists.

    fetch_listed(get, plan, "/runs/t1")
        # get("wfrewrite/manifest.json", "/runs/t1/wfrewrite/manifest.json", None, None)
        # then, for {"path": "work/n.txt", "size": 3, "sha1": "ad55..."} in its "files":
        # get("work/n.txt", "/runs/t1/work/n.txt", 3, "ad55...")
        # and the command's stdout and stderr, listed or not
        # a file listed with size 0 is made here, never read: the platform's outbox leaves
        # it out (so does a log that is empty)

A platform's outbox may hold one tar, ``wfrewrite/bundle.tar``, in place of the manifest, an
index of the outbox and the small files (``runtime/sh/transport_platform.sh`` wf_bundle):
``open_bundle`` reads it, and its members are read by the names the manifest lists, checked the
same way (a tar that does not check out is read from the store again); nothing in it is
unpacked, and a name the index has and the tar does not is read from the store as before.

    with open_bundle(lambda f: store.get(prefix + "wfrewrite/bundle.tar", f), prefix,
                     "wfrewrite/outbox.list") as bundle:
        # bundle.tarred == {"wfrewrite/manifest.json", "wfrewrite/outbox.list", "work/n.txt",
        # "stderr.txt"} (regular files and hard links only: a symlink or device in it is never
        # read); bundle.left_out() == ["work/big.bam"], what the index has and the tar not
        fetch_listed(from_bundle(bundle, get), plan, "/runs/t1")
        # work/n.txt from the tar, size and sha1 checked; work/big.bam with get; stdout.txt,
        # in neither, not asked for (it was empty)

The manifest is the commit point: an object it does not list is never taken for an output, and
every file it lists must come with the size and sha1 it records (``stores.get_checked`` checks
them before the file takes its name). The ``url`` transport reads what the script uploaded, the
``platform`` transport what the platform (a TES server) put in the store.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any, BinaryIO

from wfrewrite.compiler.diagnostics import TaskFailed
from wfrewrite.compiler.plan import TaskPlan

from .stores import VERIFY_ATTEMPTS, get_checked

log = logging.getLogger("wfrewrite.transport")

# (path under the task's root, destination, size, sha1, verify) -> False if there is no such
# object; ``verify`` says what is wrong with what was read (a getter that reads again may use it)
Getter = Callable[[str, str, int | None, str | None, Callable[[IO[bytes]], str | None]], bool]


def fetch_listed(
    get: Getter, plan: TaskPlan, host_root: str, *, empty_logs_out: bool = False
) -> bool:
    """Bring the manifest, then every file it lists, into ``host_root`` with ``get`` (which
    checks each file's size and sha1). False if there is no manifest (the script did not finish
    or it never reached the store). The logs (stdout/stderr) come along when they are there;
    with ``empty_logs_out`` (the platform's outbox leaves empty files out) one that is not
    is made empty."""
    meta_rel = plan.layout.relative(plan.layout.meta)
    manifest = os.path.join(host_root, meta_rel, "manifest.json")
    if not get(f"{meta_rel}/manifest.json", manifest, None, None, manifest_error):
        for rel in logs_of(plan):
            get(rel, os.path.join(host_root, rel), None, None, no_check)
        return False
    with open(manifest, "rb") as f:
        data, wrong = parse_manifest(f.read())
    if data is None:
        raise TaskFailed(f"{manifest}: {wrong}")
    seen = set()
    for entry in data["files"]:
        rel = entry["path"]
        if rel.startswith("/") or ".." in rel.split("/"):
            raise TaskFailed(f"{manifest}: refusing the path {rel!r}")
        dest = os.path.join(host_root, rel)
        if entry["type"] == "directory":
            os.makedirs(dest, exist_ok=True)
            continue
        if rel in seen:
            continue
        seen.add(rel)
        if entry.get("size") == 0:  # its sha1 checked all the same
            get_checked(nothing, rel, dest, 0, entry.get("sha1"))
        elif not get(rel, dest, entry.get("size"), entry.get("sha1"), no_check):
            raise TaskFailed(f"{manifest} lists {rel}, but the store has no such object")
    for rel in logs_of(plan):
        dest = os.path.join(host_root, rel)
        if rel not in seen and not get(rel, dest, None, None, no_check) and empty_logs_out:
            get_checked(nothing, rel, dest, 0)  # the command wrote nothing there
    return True


def nothing(_rel: str, _f: IO[bytes]) -> bool:
    """A reader of an empty file."""
    return True


def manifest_error(f: IO[bytes]) -> str | None:
    """Why the manifest just read into ``f`` cannot be used (None: it can)."""
    f.seek(0)
    return parse_manifest(f.read())[1]


def parse_manifest(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """The manifest ``raw`` holds, or why it cannot be used: not whole JSON, or no well-formed
    list of files (a body cut short or spoiled on the way)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as e:  # UnicodeDecodeError too
        return None, f"the manifest in the store is not whole JSON ({e})"
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list) or not all(
        isinstance(e, dict) and isinstance(e.get("path"), str) and e.get("type") in TYPES
        for e in files
    ):
        return None, "the manifest in the store has no well-formed list of files"
    return data, None


def no_check(_f: IO[bytes]) -> str | None:
    return None


TYPES = ("file", "directory")


def logs_of(plan: TaskPlan) -> list[str]:
    """The command's stdout and stderr, relative to the task's root."""
    return [plan.layout.relative(p) for p in (plan.stdout, plan.stderr)]


def from_bundle(bundle: Bundle, get: Getter) -> Getter:
    """``get``, but what ``bundle`` holds is read from it (checked the same way), and what its
    index says is not in the outbox is not asked for."""

    def got(
        rel: str,
        dest: str,
        size: int | None,
        sha1: str | None,
        verify: Callable[[IO[bytes]], str | None],
    ) -> bool:
        if rel in bundle.tarred:
            return get_checked(bundle.read, rel, dest, size, sha1, verify)
        if bundle.present and rel not in bundle.outbox:
            return False
        return get(rel, dest, size, sha1, verify)

    return got


class Bundle:
    """A task's bundle, read whole into a temporary file: its regular files (and hard links to
    them) by name, a leading ./ dropped; ``outbox``, every file the script put in the outbox,
    and ``tarred``, those the tar holds, from the index in it (``index_rel``: lines ``REL``, and
    ``tar<TAB>./REL`` for each member). A tar that does not hold what its index says, or a
    member read a second time (its first read did not check out), is read again from the
    store, VERIFY_ATTEMPTS times in all; then TaskFailed naming ``where``."""

    def __init__(self, get: Callable[[BinaryIO], bool], where: str, index_rel: str) -> None:
        self._get, self.where, self._index_rel = get, where, index_rel
        self._file: IO[bytes] | None = None
        self.tar: tarfile.TarFile | None = None
        self.members: dict[str, tarfile.TarInfo] = {}
        self.outbox: set[str] = set()
        self.tarred: set[str] = set()
        self._read: set[str] = set()
        self.present = self._load(first=True)

    def _load(self, *, first: bool = False) -> bool:
        wrong = ""
        for _ in range(VERIFY_ATTEMPTS):
            self.close()
            self._file = f = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
            if not self._get(f):
                if first:
                    self.close()
                    return False
                raise TaskFailed(f"{self.where}: gone from the store")
            f.seek(0)
            try:
                self.tar = tarfile.open(fileobj=f, mode="r:")  # noqa: SIM115 (as above)
                self.members = {
                    m.name.removeprefix("./"): m
                    for m in self.tar.getmembers()
                    if m.isreg() or m.islnk()
                }
                wrong = self._read_index()
            except (tarfile.TarError, OSError, KeyError, UnicodeDecodeError) as e:
                wrong = f"not a whole tar ({e})"
            if not wrong:
                return True
            log.warning("%s: %s; reading it again", self.where, wrong)
        raise TaskFailed(f"{self.where}: {wrong} (read {VERIFY_ATTEMPTS} times)")

    def _read_index(self) -> str:
        """What is wrong with the tar as its index describes it ("": nothing)."""
        member = self.members.get(self._index_rel)
        src = self.tar.extractfile(member) if self.tar and member else None
        if src is None:
            return f"no index ({self._index_rel}) in it"
        lines = src.read().decode("utf-8", "surrogateescape").splitlines()
        self.outbox = {ln for ln in lines if not ln.startswith("tar\t")}
        self.tarred = {ln[4:].removeprefix("./") for ln in lines if ln.startswith("tar\t")}
        missing = sorted(self.tarred - set(self.members))
        return f"{missing[0]} is not in it, though its index says so" if missing else ""

    def left_out(self) -> list[str] | None:
        """What the outbox held besides the tar (None: not known, there is no bundle)."""
        return sorted(self.outbox - self.tarred) if self.present else None

    def read(self, rel: str, dest: BinaryIO) -> bool:
        """A ``stores.Reader``: the member ``rel`` into ``dest`` (False: no such member); a
        member asked for again is read from the tar read again."""
        if rel in self._read:
            self._load()
        self._read.add(rel)
        member = self.members.get(rel)
        if member is None or self.tar is None:
            return False
        dest.seek(0)
        dest.truncate()
        try:
            src = self.tar.extractfile(member)
            if src is None:
                return False
            shutil.copyfileobj(src, dest)
        except (tarfile.TarError, KeyError, OSError) as e:
            raise TaskFailed(f"{self.where}: cannot read {rel} from it ({e})") from None
        return True

    def close(self) -> None:
        if self.tar is not None:
            self.tar.close()
        if self._file is not None:
            self._file.close()
        self.tar = self._file = None


@contextlib.contextmanager
def open_bundle(get: Callable[[BinaryIO], bool], where: str, index_rel: str) -> Iterator[Bundle]:
    """The bundle ``get`` writes to a file (False: there is none), as a Bundle (``present``
    False, no members, if there is none); closed on the way out."""
    bundle = Bundle(get, where, index_rel)
    try:
        yield bundle
    finally:
        bundle.close()
