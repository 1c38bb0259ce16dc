"""TaskPlan: the intermediate representation between the front ends and the emitter.

A plan states, as plain data, everything the generated script has to do. Worked example, the WDL task

    task hello {
      input { File names }
      command <<< wc -l < ~{names} > n.txt >>>
      output { Int n = read_int("n.txt") }
      runtime { container: "busybox:latest" cpu: 1 }
    }

with ``names = /data/names.txt`` lowers (through miniwdl) to

    TaskPlan(name="hello", lang="wdl", image="busybox:latest",
             resources=Resources(cpu=1.0),
             layout=Layout(root="/mnt/wfr", ...),
             stage=(StageItem(source="/data/names.txt",
                              path="/mnt/wfr/work/_miniwdl_inputs/0/names.txt"),),
             command=Command(script="wc -l < /mnt/wfr/work/_miniwdl_inputs/0/names.txt > n.txt\\n",
                             shell="bash_or_sh"),
             captures=(Capture(output="n", kind="path", pattern="n.txt"),), ...)

and the emitter turns the staging list into a data block of the script:

    wf_plan_stage() {
    "$@" <<'WF_DATA'
    file	r	/data/names.txt	/mnt/wfr/work/_miniwdl_inputs/0/names.txt	-
    WF_DATA
    }

Every class is a frozen, slotted, keyword-only dataclass of plain values; no miniwdl or cwltool
object ever reaches a plan. ``to_json``/``from_json`` round-trip with ``plan_version``.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any, Literal

from ..diagnostics import Pos
from .serde import decode, encode

PLAN_VERSION = 1

Lang = Literal["wdl", "cwl"]
Kind = Literal["file", "directory"]
LinkMode = Literal["symlink", "hardlink", "copy"]
Transport = Literal["mounted", "url", "platform"]
UploadMethod = Literal["put", "post"]
Shell = Literal["bash_or_sh", "bash", "sh", "none"]
CaptureKind = Literal["path", "glob", "directory", "stdout", "stderr", "tree", "cwl_output_json"]

# The task's area inside a container, by default (two components, as miniwdl expects).
CONTAINER_ROOT = "/mnt/wfr"
# The image of a task that declares none, unless the user names another.
DEFAULT_IMAGE = "ubuntu:22.04"

LINK_MODES: tuple[str, ...] = ("symlink", "hardlink", "copy")
TRANSPORTS: tuple[str, ...] = ("mounted", "url", "platform")
UPLOAD_METHODS: tuple[str, ...] = ("put", "post")


@dataclass(frozen=True, slots=True, kw_only=True)
class Mount:
    """A disk at a container path outside the task's root, of ``size`` bytes if stated."""

    path: str
    size: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Resources:
    """What the task asks of the machine; None means "not stated"."""

    cpu: float | None = None
    memory: int | None = None  # bytes
    disk: int | None = None  # bytes
    gpu: int = 0
    time_limit: int | None = None  # seconds; the script stops the command when it is over
    # Attempts a scheduler may make on preemptible (spot) machines (WDL ``preemptible``); 0: none.
    preemptible: int = 0
    # Further disks the task asks for at container paths (WDL ``disks: "/mnt/data 10 GiB"``).
    mounts: tuple[Mount, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    """Container paths of the task's own area. Everything the script writes is under ``root``
    (or one of ``outside``, when a plan asks for it)."""

    root: str
    work: str
    tmp: str
    home: str
    meta: str  # the script's own files: stage.tsv, captures.tsv, rc, manifest.json
    # Where the `mounted` transport finds staging sources; "" means sources are absolute paths.
    stage: str = ""
    # A second container path where the executor mounts the work dir, and where the command runs
    # (CWL ``dockerOutputDirectory``); "" means none. The script still writes under ``work``.
    work_alias: str = ""
    # Paths outside ``root`` where the script also puts inputs, in the image's own filesystem
    # (CWL InitialWorkDir entries at absolute paths, which need a container); () means none.
    outside: tuple[str, ...] = ()
    # Directories under ``root`` that the executor fills with inputs and mounts read-only (the
    # mounted transport in a container); a staged item there has ``source == path``.
    readonly: tuple[str, ...] = ()

    def relative(self, path: str) -> str:
        """A container path under ``root``, relative to it: where the host has it in the task's
        directory."""
        return posixpath.relpath(path, self.root)

    @staticmethod
    def under(root: str, stage: str = "") -> Layout:
        """The standard layout: work/, tmp/, home/, wfrewrite/ (meta) under ``root``."""
        root = root.rstrip("/") or "/"
        return Layout(
            root=root,
            work=f"{root}/work",
            tmp=f"{root}/tmp",
            home=f"{root}/home",
            meta=f"{root}/wfrewrite",
            stage=stage,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StageItem:
    """One input to put at ``path`` before the command runs, fetched from ``source``."""

    source: str
    path: str
    kind: Kind = "file"
    writable: bool = False
    size: int | None = None
    checksum: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LiteralFile:
    """A file (or empty directory) whose content the plan carries inline."""

    path: str
    content: bytes = b""
    kind: Kind = "file"
    executable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvVar:
    name: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """The user's command: a script for a shell, or an argv run without one."""

    script: str = ""
    argv: tuple[str, ...] = ()
    shell: Shell = "bash_or_sh"
    # argv only: the words go to the image's ENTRYPOINT, as with ``docker run IMAGE ARGV...``
    # (CWL); an executor that runs the image puts the entrypoint in front (passes.bind_entrypoint).
    entrypoint: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Capture:
    """How to find the files behind one declared output.

    ``pattern`` is relative to the work dir (or absolute under the root). Kinds: ``path`` one file,
    ``glob`` a pattern, ``directory`` a directory and everything under it, ``stdout``/``stderr``
    the streams, ``tree`` the whole work dir (when the outputs cannot be known in advance),
    ``cwl_output_json`` the CWL ``cwl.output.json`` override.
    """

    output: str
    kind: CaptureKind
    pattern: str = ""
    required: bool = True
    # glob only: match regular files only (WDL) or files and directories (CWL)
    files_only: bool = True
    # tree only: a work-relative directory left out (e.g. where the inputs are staged)
    exclude: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FormField:
    """One field of an S3 presigned POST form (policy, signature, ...): data, not a credential."""

    name: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UrlSpec:
    """What the ``url`` transport needs besides the staging list (whose sources are then URLs).

    Outputs go where ``upload`` says, each named by its path relative to the task's root:
    ``put`` sends ``PUT <upload_url><that path, percent-encoded>`` (WebDAV, nginx, any store
    taking PUT under a prefix); ``post`` sends an S3 presigned POST to ``upload_url`` with
    ``fields`` and ``key=<key_prefix><that path>`` (one policy for every name under the prefix).
    ``wfrewrite/manifest.json`` goes last the same way. ``stage_list`` is the URL of the
    staging list when it does not travel inside the script (checked by size and sha1).
    """

    upload: UploadMethod = "put"
    upload_url: str
    key_prefix: str = ""
    fields: tuple[FormField, ...] = ()
    stage_list: str = ""
    stage_list_size: int | None = None
    stage_list_sha1: str | None = None
    ca_pem: str = ""  # CA certificates (PEM) the clients trust besides the image's own
    expires: int | None = None  # unix time the presigned URLs stop working (for messages)
    parallel: int = 4  # transfers at a time
    retries: int = 5  # attempts per transfer
    backoff_ms: int = 1000  # first backoff; doubled every attempt, full jitter
    stall: int = 60  # seconds without progress before a transfer is abandoned


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskPlan:
    plan_version: int = PLAN_VERSION
    name: str
    lang: Lang
    source: Pos | None = None
    # The declared image, or None for "no image declared" (a pass binds a default where needed).
    image: str | None = None
    # Further candidates, in order of preference (WDL `container: [a, b]`): an executor may
    # pick the first one it has.
    image_alternatives: tuple[str, ...] = ()
    resources: Resources = field(default_factory=Resources)
    # Network access: None is the executor's default, False none (CWL's default), True on.
    network: bool | None = None
    layout: Layout
    transport: Transport = "mounted"
    url: UrlSpec | None = None  # the `url` transport's destinations and knobs
    link_mode: LinkMode = "symlink"
    env: tuple[EnvVar, ...] = ()
    stage: tuple[StageItem, ...] = ()
    literals: tuple[LiteralFile, ...] = ()
    command: Command
    stdin: str | None = None
    stdout: str
    stderr: str
    # None: every exit code counts as success.
    success_codes: tuple[int, ...] | None = (0,)
    temporary_fail_codes: tuple[int, ...] = ()
    permanent_fail_codes: tuple[int, ...] = ()
    max_retries: int = 0
    outputs: tuple[str, ...] = ()
    captures: tuple[Capture, ...] = ()

    def replace(self, **changes: Any) -> TaskPlan:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return dict(encode(self))

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n"

    @staticmethod
    def from_json(data: dict[str, Any]) -> TaskPlan:
        version = data.get("plan_version")
        if version != PLAN_VERSION:
            raise ValueError(
                f"unsupported plan_version {version!r} (this wfrewrite reads {PLAN_VERSION})"
            )
        return decode(TaskPlan, data)

    @staticmethod
    def loads(text: str) -> TaskPlan:
        return TaskPlan.from_json(json.loads(text))
