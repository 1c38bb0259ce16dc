"""Bringing a task's results home from a store: the manifest first, then only what it lists.

    fetch_listed(get, plan, "/runs/t1")
        # get("wfrewrite/manifest.json", "/runs/t1/wfrewrite/manifest.json", None, None)
        # then, for {"path": "work/n.txt", "size": 3, "sha1": "ad55..."} in its "files":
        # get("work/n.txt", "/runs/t1/work/n.txt", 3, "ad55...")
        # and the command's stdout and stderr, listed or not
        # a file listed with size 0 is made here, never read: the platform's outbox leaves
        # it out (so does a log that is empty)

The manifest is the commit point: an object it does not list is never taken for an output, and
every file it lists must come with the size and sha1 it records (``stores.get_checked`` checks
them before the file takes its name). The ``url`` transport reads what the script uploaded, the
``platform`` transport what the platform (a TES server) put in the store.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import IO, Any

from wfrewrite.compiler.diagnostics import TaskFailed
from wfrewrite.compiler.plan import TaskPlan

from .stores import get_checked

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
