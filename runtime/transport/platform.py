"""The ``platform`` transport: the platform (a TES server) moves the bytes between a store and the
container itself; the driver puts the inputs in the store once and brings the outputs home.

    t = PlatformTransport(Options(store="s3://wfr-tests/runs", s3_endpoint="http://127.0.0.1:8333"))
    facts = t.gather(plan, "/runs/t1")
        # /data/names.txt -> s3://wfr-tests/runs/in/ad55... (content-keyed: a HEAD first, and one
        # upload per content and process, however many tasks read it)
    plan = run_passes(plan, facts, t.passes(isolated=True, link_mode="symlink"))
        # StageItem(source="0/names.txt", path="/mnt/wfr/work/_miniwdl_inputs/0/names.txt",
        #           size=12, checksum="sha1$ad55..."); layout.stage == "/mnt/wfr/stage"
    job = t.finish(job, facts)
    t.inputs(job) == [PlatformInput(url="s3://wfr-tests/runs/in/ad55...",
                                    path="/mnt/wfr/stage/0/names.txt", kind="file")]
    t.outbox(job) == ("/mnt/wfr/wfrewrite/outbox", "s3://wfr-tests/runs/out/wfr-hello-5f2c.../")
    ... the platform puts each input at its path, runs `sh -c SCRIPT wfrewrite all outbox`, and
        uploads the outbox directory ...
    t.fetch(job.plan, "/runs/t1")    # the manifest first, then what it lists, sizes and sha1s
                                     # checked; then the outbox leaves the store

Why a staging dir: a TES server mounts every input read-only, one file at a time, on a command
line it splits on whitespace (Funnel), so an input named ``moby dick.txt`` cannot be mounted at
its path, and nothing mounted read-only can be written. The platform puts each input at a safe
name under ``stage/`` and the script links it to its path, or copies it where it must be
writable (``runtime/sh/transport_platform.sh``). Why an outbox: the server uploads no outputs
of an executor that failed, and a missing FILE output fails the whole task, so the outputs go
as one DIRECTORY (the script links every file the manifest lists into it and exits 0; its
outcome is in the manifest).

Stores: ``s3://bucket/prefix`` (``--s3-endpoint``), which the server reads and writes itself,
or ``file:///shared/dir``, a directory it shares with this machine (inputs go in as hard links,
outputs come out by rename). An input given as an ``s3://`` URI is handed to the server as that
URI (its size checked with a HEAD), an ``http(s)://`` one as its URL: their bytes never pass
through this machine. Inputs stay in the store for the next task and run (``in/<sha1>``);
outputs are removed once fetched.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import re
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from wfrewrite.compiler.diagnostics import WfError
from wfrewrite.compiler.plan import Pass, StageItem, TaskPlan
from wfrewrite.compiler.plan.passes import platform_transport

from ..job import Job
from ..options import Options
from .base import Transport
from .fetch import fetch_listed
from .remote import RemoteInputs
from .stores import Head, S3Store, Store, file_sha1, head_size, open_store

log = logging.getLogger("wfrewrite.transport.platform")

STAGE = "stage"  # the staging dir under the task's root, where the platform puts the inputs
OUTBOX = "outbox"  # under the meta dir: the one DIRECTORY output
_UNSAFE = re.compile(r"[^A-Za-z0-9._+@%=,-]")


@dataclass(frozen=True, slots=True)
class PlatformInput:
    """One input as the platform takes it: from ``url`` to the container path ``path``."""

    url: str
    path: str
    kind: str  # "file" | "directory"


@dataclass(frozen=True, slots=True)
class PlatformFacts:
    """What binding found out with I/O: each input's name under the staging dir, where the
    platform finds it, its size and sha1 (where known), and the placeholders of remote ones."""

    stage: tuple[StageItem, ...]  # sources are names under the staging dir
    urls: tuple[str, ...]  # the platform's URL of each, in the same order
    placeholders: dict[str, str] = field(default_factory=dict)  # name -> local placeholder


def bind_platform(plan: TaskPlan, facts: PlatformFacts) -> TaskPlan:
    """The pass: inputs come from the staging dir, under the names the platform uses."""
    layout = replace(plan.layout, stage=posixpath.join(plan.layout.root, STAGE))
    return plan.replace(transport="platform", stage=facts.stage, layout=layout)


@dataclass(frozen=True, slots=True)
class _Bound:
    job: str
    inputs: tuple[PlatformInput, ...]
    placeholders: dict[str, str]


class PlatformTransport(RemoteInputs, Transport):
    """Binds plans to one store, each local input put there once per process (by content), and
    fetches what the platform left in each job's outbox."""

    name = "platform"
    mounts = False

    def __init__(self, options: Options, store: Store | None = None) -> None:
        Transport.__init__(self, options)
        RemoteInputs.__init__(self)
        self._store = store
        self._lock = threading.Lock()
        # (real path, size, mtime) -> (size, sha1): each local input read once
        self._sums: dict[tuple[str, int, int], tuple[int, str]] = {}
        # keys known to be in the store (put or found by this process), and a lock per key
        self._present: set[str] = set()
        self._key_locks: dict[str, threading.Lock] = {}
        self._jobs: dict[str, _Bound] = {}  # real task directory -> its job's binding

    @property
    def store(self) -> Store:  # type: ignore[override]
        if self._store is None:
            if not self.options.store or self.options.store.startswith(("http://", "https://")):
                raise WfError(
                    "the platform transport needs a store the platform reads and writes itself: "
                    "--store s3://bucket/prefix (with --s3-endpoint) or file:///shared/dir"
                )
            self._store = open_store(self.options)
        return self._store

    # -- binding -------------------------------------------------------------------------------

    def gather(self, plan: TaskPlan, host_root: str) -> PlatformFacts:
        """Put every local input in the store (unless it is there), find the size of remote
        ones, and name each under the staging dir."""
        names = stage_names(plan, self.remote_uri)
        stage: list[StageItem] = []
        urls: list[str] = []
        placeholders: dict[str, str] = {}
        for item, name in zip(plan.stage, names, strict=True):
            uri = self.remote_uri(item.source)
            if uri is not None:
                placeholders[name] = item.source
                url, size = self._remote(uri, item.kind)
                checksum = None
            elif item.source.startswith("/"):
                if item.kind == "directory":
                    url, size, checksum = self._local_dir(item.source), None, None
                else:
                    key, size, sha1 = self._local_file(item.source)
                    url, checksum = self.store.platform_url(key), f"sha1${sha1}"
            else:
                url, size = self._remote(item.source, item.kind)
                checksum = item.checksum
            stage.append(replace(item, source=name, size=size, checksum=checksum))
            urls.append(url)
        return PlatformFacts(stage=tuple(stage), urls=tuple(urls), placeholders=placeholders)

    def passes(self, *, isolated: bool, link_mode: str) -> list[Pass]:
        return [platform_transport, bind_platform]

    def finish(self, job: Job, facts: PlatformFacts) -> Job:
        where = job.plan.layout.stage
        inputs = tuple(
            PlatformInput(url=url, path=posixpath.join(where, item.source), kind=item.kind)
            for item, url in zip(job.plan.stage, facts.urls, strict=True)
        )
        with self._lock:
            self._jobs[os.path.realpath(job.host_root)] = _Bound(
                job.name, inputs, facts.placeholders
            )
        return job

    def inputs(self, job: Job) -> tuple[PlatformInput, ...]:
        """Where the platform finds each input of ``job``, and where it puts it."""
        return self._bound(job.host_root).inputs

    def outbox(self, job: Job) -> tuple[str, str]:
        """The container path of ``job``'s outbox, and where the platform uploads it."""
        return (
            posixpath.join(job.plan.layout.meta, OUTBOX),
            self.store.platform_url(outbox_key(job.name)),
        )

    def put_blob(self, data: bytes) -> str:
        """``data`` in the store by its sha1 (once); the platform's URL of it (a script too
        large to travel inline)."""
        key = "in/" + hashlib.sha1(data).hexdigest()
        head = self.store.head(key)
        if head is None or head.size != len(data):
            self.store.put_bytes(key, data)
        return self.store.platform_url(key)

    def _bound(self, host_root: str) -> _Bound:
        with self._lock:
            return self._jobs[os.path.realpath(host_root)]

    def _sum(self, path: str) -> tuple[int, str]:
        """A local file's size and sha1, read once per process (while it does not change)."""
        st = os.stat(path)
        ident = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
        with self._lock:
            known = self._sums.get(ident)
        if known is None:
            known = (st.st_size, file_sha1(path))
            with self._lock:
                self._sums[ident] = known
        return known

    def _once(self, key: str, present: Callable[[], bool], put: Callable[[], None]) -> None:
        """``put`` what goes at ``key`` unless ``present`` says it is there: once per process,
        however many tasks (threads) ask at the same time."""
        with self._lock:
            if key in self._present:
                return
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            if key in self._present:
                return
            if not present():
                put()
            with self._lock:
                self._present.add(key)

    def _local_file(self, path: str) -> tuple[str, int, str]:
        """A local file in the store at ``in/<sha1>``, put there unless a HEAD finds it (same
        size and sha1); (key, size, sha1)."""
        size, sha1 = self._sum(path)
        key = f"in/{sha1}"

        def put() -> None:
            self.store.put_file(key, path, sha1)
            log.info("input %s: put in the store at %s", path, key)

        self._once(key, lambda: _has(self.store.head(key), size, sha1), put)
        return key, size, sha1

    def _local_dir(self, top: str) -> str:
        """A local directory in the store under ``in/<tree sha1>/``, its files put there unless
        the tree's marker is found; the platform's URL of it. (S3 keeps no empty
        directories.)"""
        listing: list[str] = []
        files: list[tuple[str, str]] = []
        for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, top)
            for d in dirnames:
                listing.append(f"d\t{posixpath.normpath(posixpath.join(rel_dir, d))}\n")
            for name in sorted(filenames):
                path, rel = os.path.join(dirpath, name), posixpath.join(rel_dir, name)
                size, sha1 = self._sum(path)
                listing.append(f"f\t{posixpath.normpath(rel)}\t{size}\t{sha1}\n")
                files.append((posixpath.normpath(rel), path))
        body = "".join(listing).encode()
        tree = hashlib.sha1(body).hexdigest()
        base, marker = f"in/{tree}/", f"trees/{tree}"

        def put() -> None:
            for rel, path in files:
                self.store.put_file(base + rel, path, self._sum(path)[1])
            self.store.put_bytes(marker, body)  # last: the tree is all there
            log.info("input directory %s: put in the store at %s", top, base)

        self._once(marker, lambda: self.store.head(marker) is not None, put)
        return self.store.platform_url(base)

    def _remote(self, uri: str, kind: str) -> tuple[str, int | None]:
        """A remote input as the platform reads it itself: the URI, and its size (a HEAD)."""
        if kind == "directory" or not uri.startswith(("s3://", "http://", "https://")):
            return uri, None
        if uri.startswith("s3://"):
            s3 = _s3_of(self.store)
            if s3 is None:
                return uri, None
            bucket, _, key = uri[5:].partition("/")
            head = s3.head_uri(bucket, urllib.parse.unquote(key))
            if head is None:
                raise WfError(f"input {uri}: there is no such object")
            return uri, head.size
        return uri, head_size(uri, None)

    # -- results ------------------------------------------------------------------------------

    def fetch(self, plan: TaskPlan, host_root: str) -> bool:
        """The manifest in the job's outbox, then every file it lists (size and sha1 checked;
        from a file:// store they are moved, not copied); the outbox then leaves the store.
        False if there is no manifest."""
        with self._lock:
            bound = self._jobs.pop(os.path.realpath(host_root), None)
        if bound is None:
            return True
        prefix = outbox_key(bound.job)
        store = self.store
        try:
            if not fetch_listed(
                lambda rel, dest, size, sha1: store.fetch_file(prefix + rel, dest, size, sha1),
                plan,
                host_root,
            ):
                return False
            self.restore_placeholders(plan, host_root, bound.placeholders)
            return True
        finally:
            store.delete_prefix(prefix)

    def discard(self, job: Job) -> None:
        """Forget ``job`` (it did not run to its end) and remove what it left in the store."""
        with self._lock:
            bound = self._jobs.pop(os.path.realpath(job.host_root), None)
        if bound is not None:
            self.store.delete_prefix(outbox_key(bound.job))


def outbox_key(job_name: str) -> str:
    return f"out/{job_name}/"


def _has(head: Head | None, size: int, sha1: str) -> bool:
    """The object is there with this content (a store that keeps no sha1, file://, is always
    written again: a hard link costs nothing and always has the content of now)."""
    return head is not None and head.size == size and head.sha1 == sha1


def _s3_of(store: Store) -> S3Store | None:
    inner = getattr(store, "inner", store)
    return inner if isinstance(inner, S3Store) else None


def safe_name(base: str) -> str:
    """A file name the platform can put on its command line: no whitespace, no ':'."""
    return _UNSAFE.sub("_", base) or "input"


def stage_names(plan: TaskPlan, remote_uri: Callable[[str], str | None] | None = None) -> list[str]:
    """A name under the staging dir for every input: ``<n>/<safe basename>``, one ``<n>`` per
    source directory (inputs side by side stay side by side), unique. ``remote_uri``: the URI a
    placeholder stands for."""
    lookup = remote_uri or (lambda _s: None)
    by_parent: dict[str, str] = {}
    used: set[str] = set()
    out = []
    for item in plan.stage:
        source = lookup(item.source) or item.source
        parent, base = posixpath.split(source.rstrip("/"))
        sub = by_parent.setdefault(parent, str(len(by_parent)))
        base = urllib.parse.unquote(base) if "://" in source else base
        name, n = f"{sub}/{safe_name(base)}", 0
        while name in used:
            n += 1
            name = f"{sub}/{n}-{safe_name(base)}"
        used.add(name)
        out.append(name)
    return out
