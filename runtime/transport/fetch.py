"""Bringing a task's results home from a store: the manifest first, then only what it lists.

    fetch_listed(get, plan, "/runs/t1")
        # get("wfrewrite/manifest.json", "/runs/t1/wfrewrite/manifest.json", None, None)
        # then, for {"path": "work/n.txt", "size": 3, "sha1": "ad55..."} in its "files":
        # get("work/n.txt", "/runs/t1/work/n.txt", 3, "ad55...")
        # and the command's stdout and stderr, listed or not

The manifest is the commit point: an object it does not list is never taken for an output, and
every file it lists must come with the size and sha1 it records (``stores.get_checked`` checks
them before the file takes its name). The ``url`` transport reads what the script uploaded, the
``platform`` transport what the platform (a TES server) put in the store.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from wfrewrite.compiler.diagnostics import TaskFailed
from wfrewrite.compiler.plan import TaskPlan

# (path under the task's root, destination, size, sha1) -> False if there is no such object
Getter = Callable[[str, str, int | None, str | None], bool]


def fetch_listed(get: Getter, plan: TaskPlan, host_root: str) -> bool:
    """Bring the manifest, then every file it lists, into ``host_root`` with ``get`` (which
    checks each file's size and sha1). False if there is no manifest (the script did not finish
    or it never reached the store). The logs (stdout/stderr) come along when they are there."""
    meta_rel = plan.layout.relative(plan.layout.meta)
    manifest = os.path.join(host_root, meta_rel, "manifest.json")
    if not get(f"{meta_rel}/manifest.json", manifest, None, None):
        for rel in logs_of(plan):
            get(rel, os.path.join(host_root, rel), None, None)
        return False
    with open(manifest, encoding="utf-8") as f:
        data = json.load(f)
    seen = set()
    for entry in data.get("files", []):
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
        if not get(rel, dest, entry.get("size"), entry.get("sha1")):
            raise TaskFailed(f"{manifest} lists {rel}, but the store has no such object")
    for rel in logs_of(plan):
        if rel not in seen:
            get(rel, os.path.join(host_root, rel), None, None)
    return True


def logs_of(plan: TaskPlan) -> list[str]:
    """The command's stdout and stderr, relative to the task's root."""
    return [plan.layout.relative(p) for p in (plan.stdout, plan.stderr)]
