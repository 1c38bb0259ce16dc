"""The ``url`` transport, driver side: put the inputs where the script can GET them, tell it
where to send the outputs, and bring the results back once its manifest is there.

    store = open_store(StoreOptions(store="http://127.0.0.1:8089/wfr/"))
    plan = bind(plan, store, StoreOptions(...))       # uploads /data/names.txt, presigns
    ... the executor runs emit(plan) with nothing mounted ...
    fetch(plan, store, "/runs/t1")                    # manifest first, then what it lists

For the task of ``wfrewrite.compiler.plan``'s docstring (input ``/data/names.txt``, output
``n.txt``) and ``--store http://127.0.0.1:8089/wfr/``, ``bind`` uploads the input once and turns
the plan's staging list and destinations into URLs (run key ``5f2c...``):

    StageItem(source="http://127.0.0.1:8089/wfr/5f2c/in/0/names.txt",
              path="/tmp/wfr/work/_miniwdl_inputs/0/names.txt", size=12, checksum="sha1$...")
    UrlSpec(upload="put", upload_url="http://127.0.0.1:8089/wfr/5f2c/out/")

and the script's epilogue sends ``PUT http://127.0.0.1:8089/wfr/5f2c/out/work/n.txt``, then
``PUT .../out/wfrewrite/manifest.json``. With ``--store s3://bucket/runs`` the input URL is a
presigned GET (``X-Amz-Expires``, ``X-Amz-Signature``) and the outputs go out as below.

How outputs are named, and why. Output names are not known before the command has run (globs,
Directory outputs), so the driver never mints one URL per output; it hands the script a *prefix*
under which it may write, and each output is named by its path relative to the task's root:

- an HTTP or WebDAV store (nginx with ``dav_methods PUT``): a PUT prefix. Work file ``a b.txt``
  goes to ``PUT <prefix>work/a%20b.txt``. Clients: curl, GNU wget, python3; over plain http also
  perl, bash's /dev/tcp and BusyBox nc (BusyBox wget cannot PUT).
- an S3 store: one presigned POST policy (``generate_presigned_post``) with the condition
  ``["starts-with", "$key", "runs/5f2c/out/"]`` and the same expiry as the GET URLs; the script
  POSTs a multipart form: the policy's fields, ``key=runs/5f2c/out/work/a b.txt``, the file. A
  presigned PUT names exactly one key, and a POST policy is S3's only credential-free way to let
  the uploader choose names under a prefix (SeaweedFS checks the signature, the expiry and the
  prefix). Clients: curl -F, python3; over plain http perl, bash and BusyBox nc with a hand-built
  form, GNU wget from a body file.

Not taken: a tar of the outputs to one presigned PUT (needs tar in the image, one stream instead
of parallel transfers, S3's 5 GiB single-PUT limit), and a pool of presigned PUT URLs for
"slots" (the count is unknown, and each URL is half a kilobyte of script). The manifest goes
last under the same prefix (``wfrewrite/manifest.json``); ``fetch`` reads it and only then the
objects it lists, checking each one's size and sha1, so an object that was not fully uploaded is
never taken for an output. No credential ever enters the script: the driver holds them (boto3's
usual chain) and hands out presigned URLs that expire.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import re
import shutil
import ssl
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from wfrewrite.compiler.check import check
from wfrewrite.compiler.diagnostics import TaskFailed, WfError
from wfrewrite.compiler.emit import emit, stage_list
from wfrewrite.compiler.plan import FormField, LiteralFile, StageItem, TaskPlan, UrlSpec

# The script must fit in one argv word (Linux MAX_ARG_STRLEN, 128 KiB with the NUL) so that it
# can be passed as `sh -c SCRIPT` where nothing is mounted.
SCRIPT_MAX = 128 * 1024 - 1
# A staging list longer than this travels as one more download instead of inside the script.
STAGE_INLINE_MAX = 32 * 1024
# S3 SigV4 presigned URLs live at most 7 days.
MAX_EXPIRY = 7 * 24 * 3600
CHUNK = 1 << 20

# (path under the task's root, file to write) -> False if there is no such object
Reader = Callable[[str, BinaryIO], bool]

# Inputs given as URIs (s3://, http(s)://) reach miniwdl as empty local placeholders (see
# wfrewrite.runtime.miniwdl_backend.remote_placeholders): placeholder's real path -> the URI.
REMOTE_INPUTS: dict[str, str] = {}
_URI = re.compile(r"(s3|gs|https?)://")


def remote_placeholder(uri: str, run_dir: str, n: int, directory: bool) -> str:
    """An empty local stand-in for the input ``uri`` (bound to the URI itself, not uploaded)."""
    base = posixpath.basename(urllib.parse.urlparse(uri).path.rstrip("/")) or "input"
    path = os.path.join(run_dir, "_wfr_remote", str(n), urllib.parse.unquote(base))
    if directory:
        os.makedirs(path, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").close()
    REMOTE_INPUTS[os.path.realpath(path)] = uri
    return path


def is_uri(value: str) -> bool:
    return bool(_URI.match(value))


@dataclass(frozen=True)
class StoreOptions:
    """Where the ``url`` transport keeps objects, and the knobs handed to the script."""

    store: str  # http(s)://host/prefix/ or s3://bucket/prefix
    s3_endpoint: str | None = None
    expires: int = 24 * 3600  # seconds the presigned URLs live
    ca_file: str | None = None  # PEM the driver and the script trust (a private https store)
    parallel: int = 4
    retries: int = 5
    backoff_ms: int = 1000
    stall: int = 60


class Store:
    """An object store as the driver sees it: it holds the credentials, the script gets URLs."""

    def key_url(self, key: str) -> str:
        """A URL the script may GET ``key`` from (presigned where the store needs it)."""
        raise NotImplementedError

    def put_file(self, key: str, path: str) -> tuple[int, str]:
        """Upload a local file; its size and sha1."""
        raise NotImplementedError

    def put_bytes(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def upload_spec(self, prefix: str) -> tuple[str, str, str, tuple[FormField, ...]]:
        """(method, url, key prefix, form fields) for writing any key under ``prefix``."""
        raise NotImplementedError

    def get(self, key: str, dest: BinaryIO) -> bool:
        """Write ``key`` to ``dest``; False if there is no such object."""
        raise NotImplementedError

    def output_reader(self, spec: UrlSpec) -> Reader:
        """Reads what the script wrote under ``spec``'s prefix, by path under the task's root."""
        raise NotImplementedError

    def resolve(self, uri: str) -> tuple[str, int | None]:
        """A URL the script can GET for an input given as a URI (http(s)://, s3://), and its
        size if known."""
        if uri.startswith(("http://", "https://")):
            return uri, _head_size(uri, self.ssl_context())
        raise WfError(
            f"input {uri}: this store cannot reach it (use an s3:// store for s3:// URIs)"
        )

    def list_dir(self, uri: str) -> list[tuple[str, int]]:
        """(relative path, size) of every object under a directory URI."""
        raise WfError(
            f"input directory {uri}: only local directories and s3:// prefixes can be staged"
        )

    def ssl_context(self) -> ssl.SSLContext | None:
        return None


class HttpStore(Store):
    """A plain HTTP/WebDAV store taking GET and PUT under a prefix (nginx's dav module)."""

    def __init__(self, base: str, ca_file: str | None = None) -> None:
        self.base = base if base.endswith("/") else base + "/"
        self._ctx = ssl.create_default_context()
        if ca_file:
            self._ctx.load_verify_locations(ca_file)

    def ssl_context(self) -> ssl.SSLContext | None:
        return self._ctx

    def key_url(self, key: str) -> str:
        return self.base + urllib.parse.quote(key, safe="/")

    def _open(self, req: urllib.request.Request) -> Any:
        return urllib.request.urlopen(req, timeout=120, context=self._ctx)

    def put_file(self, key: str, path: str) -> tuple[int, str]:
        size = os.path.getsize(path)
        digest = [hashlib.sha1()]

        def body() -> Iterator[bytes]:
            digest[0] = hashlib.sha1()
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    digest[0].update(chunk)
                    yield chunk

        def once() -> None:
            req = urllib.request.Request(
                self.key_url(key), data=body(), method="PUT", headers={"Content-Length": str(size)}
            )
            self._open(req).read()

        _retrying(once, f"PUT {self.key_url(key)}")
        return size, digest[0].hexdigest()

    def put_bytes(self, key: str, data: bytes) -> None:
        req = urllib.request.Request(self.key_url(key), data=data, method="PUT")
        _retrying(lambda: self._open(req).read(), f"PUT {self.key_url(key)}")

    def upload_spec(self, prefix: str) -> tuple[str, str, str, tuple[FormField, ...]]:
        return "put", self.key_url(prefix), "", ()

    def get(self, key: str, dest: BinaryIO) -> bool:
        return self._get_url(self.key_url(key), dest)

    def output_reader(self, spec: UrlSpec) -> Reader:
        return lambda rel, dest: self._get_url(
            spec.upload_url + urllib.parse.quote(rel, safe="/"), dest
        )

    def _get_url(self, url: str, dest: BinaryIO) -> bool:
        def once() -> bool:
            dest.seek(0)
            dest.truncate()
            try:
                with self._open(urllib.request.Request(url)) as r:
                    while chunk := r.read(CHUNK):
                        dest.write(chunk)
            except urllib.error.HTTPError as e:
                if e.code == 404:
                    return False
                raise
            return True

        return bool(_retrying(once, f"GET {url.partition('?')[0]}"))


class S3Store(Store):
    """An S3 bucket (or an S3-compatible server) reached with boto3 and the usual credential
    chain; the script only ever sees presigned URLs."""

    def __init__(self, bucket: str, endpoint: str | None, expires: int) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise WfError(
                "an s3:// store needs boto3 on the driver's side (pip install 'wfrewrite[s3]')"
            ) from None
        self.bucket = bucket
        self.expires = min(expires, MAX_EXPIRY)
        cfg = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 5, "mode": "standard"},
        )
        self.s3 = boto3.client("s3", endpoint_url=endpoint, config=cfg)

    def key_url(self, key: str) -> str:
        return self._presign(self.bucket, key)

    def _presign(self, bucket: str, key: str) -> str:
        return str(
            self.s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=self.expires
            )
        )

    def put_file(self, key: str, path: str) -> tuple[int, str]:
        digest = hashlib.sha1()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        self.s3.upload_file(path, self.bucket, key)
        return os.path.getsize(path), digest.hexdigest()

    def put_bytes(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)

    def upload_spec(self, prefix: str) -> tuple[str, str, str, tuple[FormField, ...]]:
        post = self.s3.generate_presigned_post(
            self.bucket,
            prefix + "${filename}",
            Conditions=[["starts-with", "$key", prefix]],
            ExpiresIn=self.expires,
        )
        fields = tuple(FormField(name=k, value=v) for k, v in post["fields"].items() if k != "key")
        return "post", post["url"], prefix, fields

    def get(self, key: str, dest: BinaryIO) -> bool:
        from botocore.exceptions import ClientError

        dest.seek(0)
        dest.truncate()
        try:
            self.s3.download_fileobj(self.bucket, key, dest)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise
        return True

    def output_reader(self, spec: UrlSpec) -> Reader:
        return lambda rel, dest: self.get(spec.key_prefix + rel, dest)

    def resolve(self, uri: str) -> tuple[str, int | None]:
        if not uri.startswith("s3://"):
            return super().resolve(uri)
        bucket, _, key = uri[5:].partition("/")
        try:
            size = int(self.s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
        except Exception as e:
            raise WfError(f"input {uri}: {e}") from None
        return self._presign(bucket, key), size

    def list_dir(self, uri: str) -> list[tuple[str, int]]:
        if not uri.startswith("s3://"):
            return super().list_dir(uri)
        bucket, _, prefix = uri[5:].partition("/")
        prefix = prefix.rstrip("/") + "/"
        out = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if not obj["Key"].endswith("/"):
                    out.append((obj["Key"][len(prefix) :], int(obj["Size"])))
        return out


def open_store(opts: StoreOptions) -> Store:
    if opts.store.startswith("s3://"):
        bucket, _, prefix = opts.store[5:].partition("/")
        store: Store = S3Store(bucket, opts.s3_endpoint, opts.expires)
        return _Prefixed(store, prefix.strip("/")) if prefix.strip("/") else store
    if opts.store.startswith(("http://", "https://")):
        return HttpStore(opts.store, opts.ca_file)
    raise WfError(
        f"--store {opts.store!r}: give an http(s):// prefix (WebDAV, nginx PUT) or s3://bucket/prefix"
    )


class _Prefixed(Store):
    """A store whose keys all live under a fixed prefix (s3://bucket/prefix)."""

    def __init__(self, inner: Store, prefix: str) -> None:
        self.inner, self.prefix = inner, prefix + "/"

    def key_url(self, key: str) -> str:
        return self.inner.key_url(self.prefix + key)

    def put_file(self, key: str, path: str) -> tuple[int, str]:
        return self.inner.put_file(self.prefix + key, path)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.inner.put_bytes(self.prefix + key, data)

    def upload_spec(self, prefix: str) -> tuple[str, str, str, tuple[FormField, ...]]:
        return self.inner.upload_spec(self.prefix + prefix)

    def get(self, key: str, dest: BinaryIO) -> bool:
        return self.inner.get(self.prefix + key, dest)

    def output_reader(self, spec: UrlSpec) -> Reader:
        return self.inner.output_reader(spec)

    def resolve(self, uri: str) -> tuple[str, int | None]:
        return self.inner.resolve(uri)

    def list_dir(self, uri: str) -> list[tuple[str, int]]:
        return self.inner.list_dir(uri)


# -- binding a plan ------------------------------------------------------------------------------


class Binder:
    """Binds plans to one store, uploading each local input once per process (a scatter's tasks
    share their inputs)."""

    def __init__(self, store: Store, opts: StoreOptions) -> None:
        self.store = store
        self.opts = opts
        self._uploaded: dict[tuple[str, int, int], tuple[str, int, str]] = {}
        # bound URL of a remote input -> its local placeholder (see restore_placeholders)
        self.placeholder_of: dict[str, str] = {}
        self._ca_pem = ""
        if opts.ca_file:
            with open(opts.ca_file, encoding="ascii") as f:
                self._ca_pem = f.read()

    def bind(self, plan: TaskPlan, run_key: str | None = None) -> TaskPlan:
        """``plan`` with the ``url`` transport: every input an http(s) URL the script can GET,
        the outputs' destination, and (when long) the staging list as one more download."""
        run = run_key or new_run_key(plan.name)
        items: list[StageItem] = []
        for n, item in enumerate(plan.stage):
            items += self._items(item, f"{run}/in/{n}")
        method, url, key_prefix, fields = self.store.upload_spec(f"{run}/out/")
        o = self.opts
        spec = UrlSpec(
            upload=method,  # type: ignore[arg-type]
            upload_url=url,
            key_prefix=key_prefix,
            fields=fields,
            ca_pem=self._ca_pem,
            expires=int(time.time()) + o.expires,
            parallel=o.parallel,
            retries=o.retries,
            backoff_ms=o.backoff_ms,
            stall=o.stall,
        )
        plan = check(plan.replace(transport="url", url=spec, stage=tuple(items)))
        listing = stage_list(plan).encode()
        if len(listing) > STAGE_INLINE_MAX:
            key = f"{run}/wfrewrite/stage.tsv"
            self.store.put_bytes(key, listing)
            spec = replace(
                spec,
                stage_list=self.store.key_url(key),
                stage_list_size=len(listing),
                stage_list_sha1=hashlib.sha1(listing).hexdigest(),
            )
            plan = plan.replace(url=spec)
        return check(self._fit(plan, run))

    def _items(self, item: StageItem, key: str) -> list[StageItem]:
        src = item.source
        remote = REMOTE_INPUTS.get(os.path.realpath(src)) if src.startswith("/") else None
        if remote is not None:
            out = self._items(replace(item, source=remote, size=None), key)
            if item.kind == "file":
                self.placeholder_of[out[0].source] = src
            return out
        if src.startswith("/"):
            if item.kind == "directory":
                return self._local_dir(item, key)
            url, size, sha1 = self._upload(src, f"{key}/{posixpath.basename(src)}")
            return [replace(item, source=url, size=size, checksum=f"sha1${sha1}")]
        if item.kind == "directory":
            out = [replace(item, source=src)]
            for rel, size in self.store.list_dir(src):
                url, _ = self.store.resolve(src.rstrip("/") + "/" + rel)
                out.append(
                    StageItem(
                        source=url, path=f"{item.path}/{rel}", size=size, writable=item.writable
                    )
                )
            return out
        if src.startswith(("http://", "https://")) and item.size is not None:
            return [item]  # a URL whose size the front end knew already
        url, known = self.store.resolve(src)
        return [replace(item, source=url, size=known if known is not None else item.size)]

    def _local_dir(self, item: StageItem, key: str) -> list[StageItem]:
        top = item.source.rstrip("/")
        base = f"{key}/{posixpath.basename(top)}"
        out = [replace(item, source=self.store.key_url(base + "/"))]
        for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, top)
            rel_dir = "" if rel_dir == "." else rel_dir + "/"
            for d in dirnames:
                out.append(
                    StageItem(
                        source=self.store.key_url(f"{base}/{rel_dir}{d}/"),
                        path=f"{item.path}/{rel_dir}{d}",
                        kind="directory",
                        writable=item.writable,
                    )
                )
            for name in sorted(filenames):
                url, size, sha1 = self._upload(
                    os.path.join(dirpath, name), f"{base}/{rel_dir}{name}"
                )
                out.append(
                    StageItem(
                        source=url,
                        path=f"{item.path}/{rel_dir}{name}",
                        size=size,
                        checksum=f"sha1${sha1}",
                        writable=item.writable,
                    )
                )
        return out

    def _upload(self, path: str, key: str) -> tuple[str, int, str]:
        st = os.stat(path)
        ident = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
        if ident not in self._uploaded:
            size, sha1 = self.store.put_file(key, path)
            self._uploaded[ident] = (key, size, sha1)
        key, size, sha1 = self._uploaded[ident]
        return self.store.key_url(key), size, sha1

    def _fit(self, plan: TaskPlan, run: str) -> TaskPlan:
        """Keep the script within one argv word: literal files move out to the store, largest
        first, while it does not fit."""
        literals = sorted(plan.literals, key=lambda lit: len(lit.content), reverse=True)
        while len(emit(plan).encode()) > SCRIPT_MAX:
            movable = [lit for lit in literals if lit.kind == "file" and len(lit.content) > 256]
            if not movable:
                raise WfError(
                    f"task {plan.name}: the script is {len(emit(plan).encode())} bytes, more than "
                    f"the {SCRIPT_MAX} that fit in `sh -c` (is the command itself that long?)",
                    plan.source,
                )
            lit = movable[0]
            literals.remove(lit)
            plan = self._literal_to_stage(plan, lit, run)
        return plan

    def _literal_to_stage(self, plan: TaskPlan, lit: LiteralFile, run: str) -> TaskPlan:
        key = f"{run}/lit/{hashlib.sha1(lit.path.encode()).hexdigest()[:12]}"
        self.store.put_bytes(key, lit.content)
        item = StageItem(
            source=self.store.key_url(key),
            path=lit.path,
            size=len(lit.content),
            checksum="sha1$" + hashlib.sha1(lit.content).hexdigest(),
        )
        if lit.executable:
            raise WfError(f"task {plan.name}: an executable literal file too large to inline")
        return plan.replace(
            literals=tuple(x for x in plan.literals if x is not lit), stage=(*plan.stage, item)
        )


def new_run_key(task: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in task)[:40]
    return f"{safe}-{uuid.uuid4().hex[:12]}"


# -- fetching the results ------------------------------------------------------------------------


def fetch(plan: TaskPlan, store: Store, host_root: str) -> bool:
    """Bring the manifest, then every file it lists, into ``host_root``; each file's size and
    sha1 are checked against the manifest. False if there is no manifest (the script did not
    finish or could not upload it). Logs (stdout/stderr) come along when they are there."""
    assert plan.url is not None
    read = store.output_reader(plan.url)
    meta_rel = plan.layout.relative(plan.layout.meta)
    manifest = os.path.join(host_root, meta_rel, "manifest.json")
    if not _get_to(read, f"{meta_rel}/manifest.json", manifest):
        for rel in _logs(plan):
            _get_to(read, rel, os.path.join(host_root, rel))
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
        if not _get_to(read, rel, dest, entry.get("size"), entry.get("sha1")):
            raise TaskFailed(f"{manifest} lists {rel}, but the store has no such object")
    for rel in _logs(plan):
        if rel not in seen:
            _get_to(read, rel, os.path.join(host_root, rel))
    return True


def fill_placeholder(store: Store, path: str) -> None:
    """If ``path`` is (a link to) the empty placeholder of a remote file input, download the
    input into it."""
    real = os.path.realpath(path)
    uri = REMOTE_INPUTS.get(real)
    if uri is None or os.path.getsize(real) > 0:
        return
    url, _ = store.resolve(uri)
    ctx = store.ssl_context()

    def read(_rel: str, f: BinaryIO) -> bool:
        _retrying(lambda: _download(url, f, ctx), f"GET {url.partition('?')[0]}")
        return True

    _get_to(read, uri, real)


def _download(url: str, f: BinaryIO, ctx: ssl.SSLContext | None) -> None:
    f.seek(0)
    f.truncate()
    with urllib.request.urlopen(url, timeout=120, context=ctx) as r:
        while chunk := r.read(CHUNK):
            f.write(chunk)


def restore_placeholders(plan: TaskPlan, binder: Binder, host_root: str) -> None:
    """A remote input that is also an output: miniwdl maps it back to its local placeholder, so
    the placeholder gets the fetched content."""
    for item in plan.stage:
        placeholder = binder.placeholder_of.get(item.source)
        fetched = os.path.join(host_root, plan.layout.relative(item.path))
        if placeholder and os.path.isfile(fetched) and not os.path.samefile(fetched, placeholder):
            shutil.copyfile(fetched, placeholder)


def _logs(plan: TaskPlan) -> list[str]:
    return [plan.layout.relative(p) for p in (plan.stdout, plan.stderr)]


def _get_to(
    read: Reader, rel: str, dest: str, size: int | None = None, sha1: str | None = None
) -> bool:
    """Download ``rel`` next to ``dest`` and rename it into place once its size and sha1 match."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".wfr-fetch.")
    try:
        with os.fdopen(fd, "w+b") as f:
            if not read(rel, f):
                return False
            f.flush()
            got = f.tell()
            if size is not None and got != size:
                raise TaskFailed(
                    f"output {rel}: the store has {got} bytes, the manifest says {size}"
                )
            if sha1:
                f.seek(0)
                digest = hashlib.sha1()
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
                if digest.hexdigest() != sha1:
                    raise TaskFailed(
                        f"output {rel}: sha1 {digest.hexdigest()}, the manifest says {sha1}"
                    )
        if os.path.islink(dest) or os.path.isdir(dest):
            _remove(dest)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _retrying(fn: Any, what: str, attempts: int = 5) -> Any:
    """The driver's own transfers: retried on connection errors and 5xx, with backoff."""
    delay = 0.5
    for n in range(1, attempts + 1):
        try:
            return fn()
        except urllib.error.HTTPError as e:
            if e.code < 500 and e.code not in (408, 429):
                raise WfError(f"{what}: HTTP {e.code} {e.reason}") from None
            err: Exception = e
        except (urllib.error.URLError, OSError) as e:
            err = e
        if n == attempts:
            raise WfError(f"{what}: {err} (after {attempts} attempts)") from None
        time.sleep(delay)
        delay *= 2
    return None


def _head_size(url: str, ctx: ssl.SSLContext | None) -> int | None:
    try:
        req = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
            n = r.headers.get("Content-Length")
            return int(n) if n is not None else None
    except (urllib.error.URLError, OSError, ValueError):
        return None
