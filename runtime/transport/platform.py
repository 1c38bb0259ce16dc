"""The ``platform`` transport: the platform (a TES server) moves the bytes between a store and the
container itself; the driver puts the inputs in the store once and brings the outputs home.

    t = PlatformTransport(Options(store="s3://wfr-tests/runs", s3_endpoint="http://127.0.0.1:8333"))
    facts = t.gather(plan, "/runs/t1")
        # /data/names.txt -> s3://wfr-tests/runs/in/ad55... (content-keyed: a HEAD first, and one
        # upload per content and process, however many tasks read it)
    plan = run_passes(plan, facts, t.passes(isolated=True, link_mode="symlink"))
        # StageItem(source="s3://wfr-tests/runs/in/ad55...",
        #           path="/mnt/wfr/work/_miniwdl_inputs/0/names.txt", size=12, checksum="sha1$ad55...")
    job = t.finish(job, facts)
    t.inputs(job) == [PlatformInput(url="s3://wfr-tests/runs/in/ad55...",
                                    path="/mnt/wfr/work/_miniwdl_inputs/0/names.txt", kind="file")]
    t.outbox(job) == ("/mnt/wfr/wfrewrite/outbox", "s3://wfr-tests/runs/out/wfr-hello-5f2c.../")
    ... the platform puts each input at its path, runs `sh -c SCRIPT wfrewrite all outbox`, and
        uploads the outbox directory ...
    t.fetch(job.plan, "/runs/t1")    # the manifest first, then what it lists, sizes and sha1s
                                     # checked; then the outbox leaves the store

Where inputs go. A TES server mounts every input read-only, one file at a time, so an input it
puts at its own path is a real file there, as a bind mount is (no link, no copy); the script
checks it is there, with its size. But Funnel splices the mounts into a command line it splits
on whitespace and reads ':' in, so an input named ``moby dick.txt`` cannot be mounted at its
path, and nothing mounted read-only can be written or have anything put inside it: such an
input goes to a safe name under ``stage/`` and the script links it to its path, or copies it
where it must be writable (``runtime/sh/transport_platform.sh``). A local directory goes as its
files, each by content (Funnel's S3 client takes a key that begins another key, ``x.bam`` beside
``x.bam.bai``, for a directory, and keeps no empty directories: those the script makes).

Why an outbox: the server uploads no outputs of an executor that failed, and a missing FILE
output fails the whole task, so the outputs go as one DIRECTORY (the script links every file
the manifest lists into it and exits 0; its outcome is in the manifest). Where the image has
tar, the manifest and the small files go in it as one ``wfrewrite/bundle.tar`` (Funnel pays a
PUT, a GET and a listing of the whole bucket for each file it uploads); ``fetch`` reads the
files the manifest lists from it by name (``fetch.open_bundle``), the others from the store.

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
from wfrewrite.compiler.plan import LiteralFile, Pass, StageItem, TaskPlan
from wfrewrite.compiler.plan.passes import link_mode as link_mode_pass
from wfrewrite.compiler.plan.passes import platform_transport

from ..job import Job
from ..options import Options
from .base import Transport
from .fetch import fetch_listed, from_bundle, open_bundle
from .remote import RemoteInputs
from .stores import Head, S3Store, Store, file_sha1, head_size, open_store

log = logging.getLogger("wfrewrite.transport.platform")

STAGE = "stage"  # the staging dir under the task's root, where the platform puts the inputs
OUTBOX = "outbox"  # under the meta dir: the one DIRECTORY output
BUNDLE = "bundle.tar"  # under the meta dir in the outbox: the manifest and the small files
INDEX = "outbox.list"  # in the bundle: every file the script put in the outbox
_UNSAFE = re.compile(r"[^A-Za-z0-9._+@%=,-]")
# A local directory of more files than this goes as one DIRECTORY input (a tree in the store)
# rather than one input per file: the TES task stays small (a task of a megabyte or two
# poisons Funnel's task listings).
DIR_FILES_MAX = 2000


@dataclass(frozen=True, slots=True)
class PlatformInput:
    """One input as the platform takes it: from ``url`` to the container path ``path``."""

    url: str
    path: str
    kind: str  # "file" | "directory"


@dataclass(frozen=True, slots=True)
class PlatformFacts:
    """What binding found out with I/O: where the platform finds each input and where it puts
    it, its size and sha1 (where known), and the placeholders of remote ones."""

    # sources: the platform's URL for an input put at its own path, else its name under the
    # staging dir (the script links or copies it from there)
    stage: tuple[StageItem, ...]
    urls: tuple[str, ...]  # the platform's URL of each, in the same order
    paths: tuple[str, ...]  # where the platform puts each
    literals: tuple[LiteralFile, ...] = ()  # the empty directories of directory inputs
    placeholders: dict[str, str] = field(default_factory=dict)  # bound source -> placeholder


def bind_platform(plan: TaskPlan, facts: PlatformFacts) -> TaskPlan:
    """The pass: the inputs as the platform puts them (a staging dir for those it cannot put
    at their own paths)."""
    layout = replace(plan.layout, stage=posixpath.join(plan.layout.root, STAGE))
    # with a work alias the work dir is a link to where the platform mounts the alias, and a
    # relative link made in it would resolve from there
    link = "hardlink" if layout.work_alias and plan.link_mode == "symlink" else plan.link_mode
    return plan.replace(
        transport="platform",
        stage=facts.stage,
        literals=(*plan.literals, *facts.literals),
        layout=layout,
        link_mode=link,
    )


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
    verifies = True  # fetch checks every file's size and sha1 as it brings it home

    def __init__(self, options: Options, store: Store | None = None) -> None:
        Transport.__init__(self, options)
        RemoteInputs.__init__(self)
        self._store = store
        self._open_lock = threading.Lock()
        self._lock = threading.Lock()
        # (real path, size, mtime) -> (size, sha1): each local input read once
        self._sums: dict[tuple[str, int, int], tuple[int, str]] = {}
        # keys known to be in the store (put or found by this process), and a lock per key
        self._present: set[str] = set()
        self._key_locks: dict[str, threading.Lock] = {}
        self._jobs: dict[str, _Bound] = {}  # real task directory -> its job's binding

    @property
    def store(self) -> Store:  # type: ignore[override]
        """The store, opened once (the first tasks ask for it together: a boto3 client costs
        ~0.1 s of CPU)."""
        if self._store is not None:
            return self._store
        with self._open_lock:
            if self._store is None:
                opts = self.options
                if not opts.store or opts.store.startswith(("http://", "https://")):
                    raise WfError(
                        "the platform transport needs a store the platform reads and writes "
                        "itself: --store s3://bucket/prefix (with --s3-endpoint) or "
                        "file:///shared/dir"
                    )
                self._store = open_store(opts)
            return self._store

    # -- binding -------------------------------------------------------------------------------

    def gather(self, plan: TaskPlan, host_root: str) -> PlatformFacts:
        """Put every local input in the store (unless it is there), find the size of remote
        ones, and say where the platform puts each: at its own path where it can (a real file,
        as a bind mount is: no link, no copy), else under a safe name in the staging dir. A
        local directory goes as its files (each by content, shared with every other input of
        that content) and its empty directories as literal ones, up to DIR_FILES_MAX files."""
        entries: list[tuple[StageItem, str, str | None]] = []  # (item, URL, placeholder)
        literals: list[LiteralFile] = []
        for item in plan.stage:
            uri = self.remote_uri(item.source)
            if uri is not None or not item.source.startswith("/"):
                url, size = self._remote(uri or item.source, item.kind)
                sized = replace(item, size=size if size is not None else item.size)
                entries.append((sized, url, item.source if uri is not None else None))
            elif item.kind == "file":
                entries.append(self._file_entry(item, item.source, item.path))
            else:
                files, empty = _walk(item.source, item.path)
                if len(files) > DIR_FILES_MAX:
                    entries.append((item, self._local_dir(item.source, files), None))
                    continue
                for source, path in files:
                    entries.append(self._file_entry(item, source, path))
                literals += [LiteralFile(path=p, kind="directory") for p in empty]
        expanded = plan.replace(
            stage=tuple(e[0] for e in entries), literals=(*plan.literals, *literals)
        )
        names = stage_names(expanded, self.remote_uri)
        direct = placed_directly(expanded)
        where = posixpath.join(plan.layout.root, STAGE)
        stage: list[StageItem] = []
        paths: list[str] = []
        placeholders: dict[str, str] = {}
        for n, ((item, url, placeholder), name) in enumerate(zip(entries, names, strict=True)):
            source = url if n in direct else name
            if placeholder is not None:
                placeholders[source] = placeholder
            stage.append(replace(item, source=source))
            paths.append(item.path if n in direct else posixpath.join(where, name))
        return PlatformFacts(
            stage=tuple(stage),
            urls=tuple(e[1] for e in entries),
            paths=tuple(paths),
            literals=tuple(literals),
            placeholders=placeholders,
        )

    def _file_entry(
        self, item: StageItem, source: str, path: str
    ) -> tuple[StageItem, str, str | None]:
        key, size, sha1 = self._local_file(source)
        one = replace(item, source=source, path=path, kind="file", size=size)
        return replace(one, checksum=f"sha1${sha1}"), self.store.platform_url(key), None

    def passes(self, *, isolated: bool, link_mode: str) -> list[Pass]:
        mode = link_mode_pass(self.options.link_mode or link_mode)
        return [platform_transport, mode, bind_platform]

    def finish(self, job: Job, facts: PlatformFacts) -> Job:
        inputs = tuple(
            PlatformInput(url=url, path=path, kind=item.kind)
            for item, url, path in zip(job.plan.stage, facts.urls, facts.paths, strict=True)
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
            try:
                self.store.put_file(key, path, sha1)
            except WfError as e:  # the key is a sha1: say which input it is
                raise WfError(f"input {path}: {e.message}") from None
            log.info("input %s: put in the store at %s", path, key)

        self._once(key, lambda: _has(self.store.head(key), size, sha1), put)
        return key, size, sha1

    def _local_dir(self, top: str, files: list[tuple[str, str]]) -> str:
        """A large local directory as one tree in the store, ``in/<tree sha1>/`` (put there
        unless its marker is found), for one DIRECTORY input; the platform's URL of it."""
        rels = [os.path.relpath(src, top).replace(os.sep, "/") for src, _ in files]
        if not self.store.takes_directories and any(
            b.startswith(a) for a, b in zip(sorted(rels), sorted(rels)[1:], strict=False)
        ):
            raise WfError(
                f"input directory {top}: more than {DIR_FILES_MAX} files, and a name that begins "
                "another one (Funnel's S3 directory download takes such a file for a directory): "
                "use a file:// store or --transport url"
            )
        body = "".join(
            f"{rel}\t{'/'.join(map(str, self._sum(src)))}\n"
            for rel, (src, _) in zip(rels, files, strict=True)
        ).encode()
        tree = hashlib.sha1(body).hexdigest()
        base, marker = f"in/{tree}/", f"trees/{tree}"

        def put() -> None:
            for rel, (src, _) in zip(rels, files, strict=True):
                self.store.put_file(base + rel, src, self._sum(src)[1])
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
            key = urllib.parse.unquote(key)
            head = s3.head_uri(bucket, key)
            if head is None:
                raise WfError(f"input {uri}: there is no such object")
            if s3.begins_another(bucket, key):
                # Funnel would take it for a directory (x.bam beside x.bam.bai): the store
                # gets a copy, made by the S3 server itself, under a name that begins none
                copy = f"in/r{s3.etag(bucket, key)}"
                self._once(
                    copy,
                    lambda: self.store.head(copy) is not None,
                    lambda: self.store.copy_from(bucket, key, copy),
                )
                return self.store.platform_url(copy), head.size
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
        meta_rel = plan.layout.relative(plan.layout.meta)
        bundle_rel = f"{meta_rel}/{BUNDLE}"
        left: list[str] | None = None  # what the outbox holds, where the bundle says
        failed = True
        try:
            with open_bundle(
                lambda f: store.get(prefix + bundle_rel, f),
                store.platform_url(prefix + bundle_rel),
                f"{meta_rel}/{INDEX}",
            ) as bundle:
                if (left_out := bundle.left_out()) is not None:  # one DELETE, no listing
                    left = [bundle_rel, *left_out]
                get = from_bundle(
                    bundle,
                    lambda rel, dest, size, sha1, verify: store.fetch_file(
                        prefix + rel, dest, size, sha1, verify
                    ),
                )
                fetched = fetch_listed(get, plan, host_root, empty_logs_out=True)
            if fetched:
                self.restore_placeholders(plan, host_root, bound.placeholders)
            failed = False
            return fetched
        finally:
            try:
                if left is None:
                    store.delete_prefix(prefix)
                else:
                    store.delete_keys(prefix, left)
            except WfError as exn:
                if not failed:
                    raise
                # the fetch's own error is the one to tell (the store refuses both, often)
                log.warning("the outbox %s was left in the store: %s", prefix, exn.message)

    def discard(self, job: Job) -> None:
        """Forget ``job`` (it did not run to its end) and remove what it left in the store."""
        with self._lock:
            bound = self._jobs.pop(os.path.realpath(job.host_root), None)
        if bound is not None:
            self.forget(bound.job)

    def forget(self, job_name: str) -> None:
        """Remove the outbox of the job ``job_name`` from the store (a job no driver will
        fetch: cancelled, or swept after its driver died)."""
        self.store.delete_prefix(outbox_key(job_name))


def outbox_key(job_name: str) -> str:
    return f"out/{job_name}/"


def _has(head: Head | None, size: int, sha1: str) -> bool:
    """The object is there with this content (a store that keeps no sha1, file://, is always
    written again: a hard link costs nothing and always has the content of now)."""
    return head is not None and head.size == size and head.sha1 == sha1


def _s3_of(store: Store) -> S3Store | None:
    inner = getattr(store, "inner", store)
    return inner if isinstance(inner, S3Store) else None


def _walk(top: str, dest: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The files of the local directory ``top`` as (local path, path under ``dest``), and the
    directories under ``dest`` that hold no file (``dest`` itself if it is empty)."""
    files: list[tuple[str, str]] = []
    empty: list[str] = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        dirnames.sort()
        rel = os.path.relpath(dirpath, top).replace(os.sep, "/")
        here = dest if rel == "." else f"{dest}/{rel}"
        if not dirnames and not filenames:
            empty.append(here)
        files += [(os.path.join(dirpath, f), f"{here}/{f}") for f in sorted(filenames)]
    return files, empty


def placed_directly(plan: TaskPlan) -> set[int]:
    """The inputs (by index) the platform can put at their own paths: read-only, a name its
    command line takes, no other input or literal file inside (a directory input is mounted
    read-only as a whole), and not inside a directory input."""
    inside: set[str] = set()  # paths with something else under them
    dirs = [s.path for s in plan.stage if s.kind == "directory"]
    for p in [*(s.path for s in plan.stage), *(lit.path for lit in plan.literals)]:
        parent = posixpath.dirname(p)
        while parent not in ("/", ""):
            inside.add(parent)
            parent = posixpath.dirname(parent)
    # with a work alias the work dir becomes a link to it: nothing may be mounted in it
    work = [plan.layout.work, plan.layout.work_alias] if plan.layout.work_alias else []
    out = set()
    for n, s in enumerate(plan.stage):
        if s.writable or _UNSAFE.search(s.path.replace("/", "")) or s.path in inside:
            continue
        if any(s.path.startswith(w.rstrip("/") + "/") for w in work):
            continue
        if any(s.path.startswith(d.rstrip("/") + "/") for d in dirs):
            continue
        out.add(n)
    return out


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
