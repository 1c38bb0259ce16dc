"""The manifest: what a finished script says it did, read and verified host-side.

    {"manifest_version": 1, "task": "hello", "status": "succeeded", "exit_code": 0, "rc": 0,
     "shell": "bash", "partial": false, "message": "",
     "files": [{"output": "n", "type": "file", "path": "work/n.txt", "size": 3, "sha1": "ad55..."}]}

``read_manifest`` checks every listed file against the disk (inside the task's area, same size
and sha1),
so a manifest that lists an object that is not all there is an error, never an output.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

from wfrewrite.compiler.diagnostics import TaskFailed
from wfrewrite.compiler.emit.contract import EXIT_CODES, STATUS_BY_EXIT

__all__ = ["EXIT_CODES", "STATUS_BY_EXIT", "Manifest", "ManifestFile", "read_manifest"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ManifestFile:
    output: str
    type: str  # "file" | "directory"
    path: str  # relative to the task's root
    size: int | None
    sha1: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    task: str
    status: str
    exit_code: int
    rc: int | None
    shell: str
    partial: bool
    mode: str  # "all", or "epilogue" when another container ran the command (rc then unknown)
    message: str
    files: tuple[ManifestFile, ...] = field(default_factory=tuple)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


def manifest_path(host_meta: str) -> str:
    return os.path.join(host_meta, "manifest.json")


def read_manifest(
    host_root: str, host_meta: str, allowed: tuple[str, ...] = (), *, sha1: bool = True
) -> Manifest | None:
    """The manifest under ``host_meta``, verified against the files under ``host_root``; None if
    the script did not finish (no manifest). A listed file must resolve inside ``host_root`` or
    to one of the ``allowed`` host paths (staged inputs), and have the size and (``sha1``,
    unless whoever brought it checked it already) the sha1 the manifest says."""
    path = manifest_path(host_meta)
    try:
        # a file name that is not UTF-8 is in it byte for byte (wf_json escapes only what JSON
        # needs): kept as Python keeps such names, so that os gives the same bytes back
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exn:
        raise TaskFailed(f"unreadable manifest {path}: {exn}") from None
    if data.get("manifest_version") != 1:
        raise TaskFailed(f"{path}: unknown manifest_version {data.get('manifest_version')!r}")
    files = tuple(
        ManifestFile(
            output=f["output"], type=f["type"], path=f["path"], size=f["size"], sha1=f["sha1"]
        )
        for f in data.get("files", [])
    )
    root = os.path.realpath(host_root)
    real_allowed = tuple(os.path.realpath(a) for a in allowed)
    for entry in files:
        _verify(root, real_allowed, entry, path, sha1)
    return Manifest(
        task=data["task"],
        status=data["status"],
        exit_code=int(data["exit_code"]),
        rc=data["rc"],
        shell=data["shell"],
        mode=data.get("mode", "all"),
        partial=bool(data["partial"]),
        message=data["message"],
        files=files,
    )


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _verify(
    root: str, allowed: tuple[str, ...], entry: ManifestFile, where: str, sha1: bool
) -> None:
    if entry.path.startswith("/") or ".." in entry.path.split("/"):
        raise TaskFailed(f"{where}: refusing the path {entry.path!r} (absolute or climbing out)")
    host = os.path.join(root, entry.path)
    real = os.path.realpath(host)
    if not _inside(real, root) and not any(_inside(real, a) for a in allowed):
        raise TaskFailed(
            f"{where}: output {entry.output!r}: {entry.path} resolves to {real}, "
            "outside the task's directory"
        )
    if entry.type == "directory":
        if not os.path.isdir(host):
            raise TaskFailed(f"{where}: output directory {entry.path} is missing on the host")
        return
    try:
        size = os.path.getsize(host)
    except OSError:
        raise TaskFailed(f"{where}: output file {entry.path} is missing on the host") from None
    if entry.size is not None and size != entry.size:
        raise TaskFailed(
            f"{where}: output file {entry.path} has {size} bytes, the manifest says {entry.size}"
        )
    if sha1 and entry.sha1:
        digest = hashlib.sha1()
        with open(host, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() != entry.sha1:
            raise TaskFailed(
                f"{where}: output file {entry.path} has sha1 {digest.hexdigest()}, the manifest "
                f"says {entry.sha1}"
            )
