"""Object stores as the driver sees them: it holds the credentials, the script only gets URLs.

    store = open_store(Options(store="s3://wfr-tests/runs", s3_endpoint="http://127.0.0.1:8333"))
    size, sha1 = store.put_file("run1/in/0/names.txt", "/data/names.txt")
    url = store.key_url("run1/in/0/names.txt")     # a presigned GET (X-Amz-Signature=...)
    method, url, prefix, fields = store.upload_spec("run1/out/")   # one POST policy for the outputs

``HttpStore`` is a plain HTTP/WebDAV prefix taking GET and PUT (nginx's dav module); ``S3Store``
an S3 bucket or S3-compatible server reached with boto3 and its usual credential chain (boto3 is
imported only when an s3:// store is opened). The driver's own transfers are retried with
backoff (``retrying``); the script's are the script's (``runtime/sh/transport_url.sh``).

A platform that moves the bytes itself (a TES server: the ``platform`` transport) reads and
writes the store on its own, at ``platform_url(key)``: ``s3://bucket/key`` for S3, or
``file:///shared/dir/key`` for a ``FileStore``, a directory the platform shares with this
machine (no URL for a script there). ``head`` says what is at a key already (size, and the sha1
this driver recorded when it put it there), so that content-keyed inputs go up once.

    store = open_store(Options(store="file:///var/tmp/wfr"))
    store.put_file("in/ad55...", "/data/names.txt")     # a hard link where it can be
    store.platform_url("in/ad55...") == "file:///var/tmp/wfr/in/ad55..."
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import importlib.util
import logging
import os
import shutil
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

from wfrewrite.compiler.diagnostics import TaskFailed, WfError
from wfrewrite.compiler.plan.ir import FormField, UrlSpec

from ..options import Options

# S3 SigV4 presigned URLs live at most 7 days.
MAX_EXPIRY = 7 * 24 * 3600
CHUNK = 1 << 20
# S3Store.get: one GET up to this size, s3transfer's ranged GETs above it; a body that breaks
# off is read again, this many times in all.
ONE_GET_MAX = 8 * CHUNK
BODY_ATTEMPTS = 3

# (path under the task's root, file to write) -> False if there is no such object
Reader = Callable[[str, BinaryIO], bool]

log = logging.getLogger("wfrewrite.transport")


@dataclass(frozen=True, slots=True)
class Head:
    """What is at a key: its size, and its sha1 where the store keeps one."""

    size: int
    sha1: str | None


class Store:
    """An object store as the driver sees it: it holds the credentials, the script gets URLs."""

    # key_url gives URLs a script can GET (False: only a platform reads this store)
    serves_urls = True
    # a platform reads a directory of it as one input whatever its names (Funnel's S3 client
    # takes a key that begins another key for a directory)
    takes_directories = False

    def key_url(self, key: str) -> str:
        """A URL the script may GET ``key`` from (presigned where the store needs it)."""
        raise NotImplementedError

    def put_file(self, key: str, path: str, sha1: str | None = None) -> tuple[int, str]:
        """Upload a local file; its size and sha1 (``sha1``: known already)."""
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
            return uri, head_size(uri, self.ssl_context())
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

    # -- for a platform that reads and writes the store itself (TES) ------------------------

    def platform_url(self, key: str) -> str:
        """Where a platform that moves the bytes itself reads or writes ``key``."""
        raise WfError("this store cannot be reached by the platform itself (give s3:// or file://)")

    def head(self, key: str) -> Head | None:
        """What is at ``key`` (None: nothing)."""
        raise NotImplementedError

    def fetch_file(
        self, key: str, dest: str, size: int | None, sha1: str | None, verify: Verify | None = None
    ) -> bool:
        """Put the object ``key`` at the local path ``dest`` once its size and sha1 match and
        ``verify`` finds nothing wrong (False: no such object)."""
        return get_checked(lambda _rel, f: self.get(key, f), key, dest, size, sha1, verify)

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under ``prefix``; how many there were."""
        raise NotImplementedError

    def delete_keys(self, prefix: str, rels: list[str]) -> None:
        """Remove ``prefix`` + each of ``rels``, all there is under ``prefix`` (a store that
        cannot do it in fewer requests than ``delete_prefix`` removes the prefix)."""
        self.delete_prefix(prefix)

    def copy_from(self, bucket: str, key: str, dest: str) -> None:
        """Copy s3://bucket/key to ``dest`` in this store, server-side."""
        raise WfError(f"this store cannot copy s3://{bucket}/{key} (give an s3:// store)")


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

    def put_file(self, key: str, path: str, sha1: str | None = None) -> tuple[int, str]:
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

        retrying(once, f"PUT {self.key_url(key)}")
        return size, digest[0].hexdigest()

    def put_bytes(self, key: str, data: bytes) -> None:
        req = urllib.request.Request(self.key_url(key), data=data, method="PUT")
        retrying(lambda: self._open(req).read(), f"PUT {self.key_url(key)}")

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
                    copy_body(r, dest)
            except urllib.error.HTTPError as e:
                if e.code == 404:
                    return False
                raise
            return True

        return bool(retrying(once, f"GET {url.partition('?')[0]}"))


class S3Store(Store):
    """An S3 bucket (or an S3-compatible server) reached with boto3 and the usual credential
    chain; the script only ever sees presigned URLs.

    The boto3 client (~0.2 s to import boto3 and build it) is made on a thread of its own from
    the moment the store is opened, and every use waits for it (``s3``): a task that needs only
    ``platform_url`` (a TES task without local inputs: its outbox is an s3:// URL) is submitted
    meanwhile, and the client is there when its outputs come home."""

    def __init__(self, bucket: str, endpoint: str | None, expires: int) -> None:
        if importlib.util.find_spec("boto3") is None:
            raise WfError(
                "an s3:// store needs boto3 on the driver's side (pip install 'wfrewrite[s3]')"
            )
        self.bucket = bucket
        self.expires = min(expires, MAX_EXPIRY)
        self._endpoint = endpoint
        self._client: Any = None
        self._error: str | None = None  # no credentials: said at every use
        self._client_lock = threading.Lock()
        threading.Thread(target=self._warm, name="wfrewrite-s3-client", daemon=True).start()

    @property
    def s3(self) -> Any:
        """The boto3 client, made once (by the warm-up thread, or by the first use that
        comes before it)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    if self._error is not None:
                        raise WfError(self._error)
                    with s3_errors(f"s3://{self.bucket}"):  # a profile that is not there
                        session = boto3.session.Session()
                        credentials = session.get_credentials()  # what the client signs with
                    if credentials is None:
                        self._error = (
                            f"s3://{self.bucket}: no AWS credentials (the driver presigns every "
                            "URL the tasks use and fetches their outputs): set AWS_ACCESS_KEY_ID "
                            "and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or write "
                            "~/.aws/credentials"
                        )
                        raise WfError(self._error)
                    cfg = Config(
                        signature_version="s3v4",
                        s3={"addressing_style": "path"},
                        retries={"max_attempts": 5, "mode": "standard"},
                    )
                    self._client = session.client("s3", endpoint_url=self._endpoint, config=cfg)
        return self._client

    def _warm(self) -> None:
        with contextlib.suppress(Exception):  # a use then meets the error itself
            self.s3  # noqa: B018

    def key_url(self, key: str) -> str:
        return self._presign(self.bucket, key)

    def _presign(self, bucket: str, key: str) -> str:
        return str(
            self.s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=self.expires
            )
        )

    def put_file(self, key: str, path: str, sha1: str | None = None) -> tuple[int, str]:
        """Upload ``path`` (its sha1 also kept as the object's metadata, for ``head``)."""
        sha1 = sha1 or file_sha1(path)
        with s3_errors(f"PUT s3://{self.bucket}/{key}"):
            self.s3.upload_file(path, self.bucket, key, ExtraArgs={"Metadata": {"sha1": sha1}})
        return os.path.getsize(path), sha1

    def put_bytes(self, key: str, data: bytes) -> None:
        with s3_errors(f"PUT s3://{self.bucket}/{key}"):
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
        """One GET streamed into ``dest`` (~1 ms of CPU, against ~4 ms for s3transfer's HEAD and
        thread pool); an object above ONE_GET_MAX goes through s3transfer's ranged GETs. A body
        that breaks off is read again, BODY_ATTEMPTS times in all."""
        from botocore.exceptions import BotoCoreError, ClientError

        with s3_errors(f"GET s3://{self.bucket}/{key}"):
            for attempt in range(1, BODY_ATTEMPTS + 1):
                dest.seek(0)
                dest.truncate()
                try:
                    got = self.s3.get_object(Bucket=self.bucket, Key=key)
                except ClientError as e:
                    if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                        return False
                    raise
                body = got["Body"]
                try:
                    if int(got.get("ContentLength") or 0) > ONE_GET_MAX:
                        body.close()
                        dest.seek(0)
                        self.s3.download_fileobj(self.bucket, key, dest)
                        return True
                    for chunk in body.iter_chunks(CHUNK):
                        dest.write(chunk)
                    return True
                except BotoCoreError:
                    if attempt == BODY_ATTEMPTS:
                        raise
                    log.info("GET s3://%s/%s: the body broke off; again", self.bucket, key)
                finally:
                    body.close()
        raise AssertionError("unreachable")

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
        with s3_errors(f"LIST {uri}"):
            pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for page in pages:
                for obj in page.get("Contents", []):
                    if not obj["Key"].endswith("/"):
                        out.append((obj["Key"][len(prefix) :], int(obj["Size"])))
        return out

    def platform_url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def head(self, key: str) -> Head | None:
        return self.head_uri(self.bucket, key)

    def head_uri(self, bucket: str, key: str) -> Head | None:
        from botocore.exceptions import ClientError

        try:
            got = self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise WfError(f"s3://{bucket}/{key}: {e}") from None
        return Head(int(got["ContentLength"]), (got.get("Metadata") or {}).get("sha1"))

    def begins_another(self, bucket: str, key: str) -> bool:
        """Whether some other key of the bucket begins with ``key``."""
        got = self.s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=2)
        return any(o["Key"] != key for o in got.get("Contents", []))

    def etag(self, bucket: str, key: str) -> str:
        return str(self.s3.head_object(Bucket=bucket, Key=key)["ETag"]).strip('"').replace("-", "m")

    def copy_from(self, bucket: str, key: str, dest: str) -> None:
        self.s3.copy_object(Bucket=self.bucket, Key=dest, CopySource={"Bucket": bucket, "Key": key})

    def delete_keys(self, prefix: str, rels: list[str]) -> None:
        """One DELETE request per 1000 keys, no listing."""
        keys = [{"Key": prefix + rel} for rel in rels]
        for i in range(0, len(keys), 1000):
            with s3_errors(f"DELETE in s3://{self.bucket}/{prefix}"):
                self.s3.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": keys[i : i + 1000], "Quiet": True}
                )

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``, a page (up to 1000 keys) at a time; how many."""
        gone = 0
        extra: dict[str, str] = {}
        while True:
            with s3_errors(f"LIST s3://{self.bucket}/{prefix}"):
                page = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, **extra)
            keys = [obj["Key"] for obj in page.get("Contents", [])]
            self.delete_keys("", keys)
            gone += len(keys)
            if not page.get("IsTruncated"):
                return gone
            extra = {"ContinuationToken": page["NextContinuationToken"]}


class FileStore(Store):
    """A directory this machine shares with the platform (``file:///shared/dir``): the platform
    reads inputs from it and writes outputs into it itself; nothing in it has a URL a script
    could GET. Files go in as hard links where they can (no copy), and come out by rename."""

    serves_urls = False
    takes_directories = True

    def __init__(self, base: str) -> None:
        if not base.startswith("/") or any(c.isspace() or c == ":" for c in base):
            raise WfError(
                f"--store file://{base}: give an absolute directory without spaces or ':' "
                "(the platform names it on a command line)"
            )
        self.base = os.path.normpath(base)
        os.makedirs(self.base, exist_ok=True)

    def path(self, key: str) -> str:
        return os.path.join(self.base, key)

    def key_url(self, key: str) -> str:
        raise WfError(
            f"file://{self.base}: a file:// store gives a script no URLs (use it with the "
            "platform transport, or give an http(s):// or s3:// store)"
        )

    def platform_url(self, key: str) -> str:
        return "file://" + self.path(key)

    def put_file(self, key: str, path: str, sha1: str | None = None) -> tuple[int, str]:
        """A hard link to ``path`` at ``key`` (a copy across filesystems), replacing what was
        there: a link always has the content ``path`` has now."""
        sha1 = sha1 or file_sha1(path)
        dest = self.path(key)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = f"{dest}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            os.link(os.path.realpath(path), tmp)
        except OSError:
            shutil.copyfile(path, tmp)
        os.replace(tmp, dest)
        return os.path.getsize(dest), sha1

    def put_bytes(self, key: str, data: bytes) -> None:
        dest = self.path(key)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = f"{dest}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)

    def get(self, key: str, dest: BinaryIO) -> bool:
        try:
            with open(self.path(key), "rb") as f:
                dest.seek(0)
                dest.truncate()
                shutil.copyfileobj(f, dest, CHUNK)
        except FileNotFoundError:
            return False
        return True

    def head(self, key: str) -> Head | None:
        try:
            return Head(os.path.getsize(self.path(key)), None)
        except OSError:
            return None

    def fetch_file(
        self, key: str, dest: str, size: int | None, sha1: str | None, verify: Verify | None = None
    ) -> bool:
        """Checked where it is, then moved (renamed: the bytes are not copied again)."""
        src = self.path(key)
        try:
            f = open(src, "rb")  # noqa: SIM115
        except FileNotFoundError:
            return False
        with f:
            f.seek(0, os.SEEK_END)
            check_file(f, key, size, sha1)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        try:
            put_in_place(src, dest)
        except OSError:  # another filesystem
            return super().fetch_file(key, dest, size, sha1, verify)
        return True

    def delete_prefix(self, prefix: str) -> int:
        top = self.path(prefix)
        n = sum(len(files) for _, _, files in os.walk(top))
        shutil.rmtree(top, ignore_errors=True)
        return n


def open_store(opts: Options) -> Store:
    """The store ``opts.store`` names: ``http(s)://prefix/``, ``s3://bucket/prefix`` or
    ``file:///shared/dir``."""
    url = opts.store or ""
    if url.startswith("file://"):
        return FileStore(urllib.parse.unquote(url[len("file://") :]))
    if url.startswith("s3://"):
        bucket, _, prefix = url[5:].partition("/")
        store: Store = S3Store(bucket, opts.s3_endpoint, opts.url_expires)
        return Prefixed(store, prefix.strip("/")) if prefix.strip("/") else store
    if url.startswith(("http://", "https://")):
        return HttpStore(url, opts.store_ca)
    raise WfError(
        f"--store {url!r}: give an http(s):// prefix (WebDAV, nginx PUT) or s3://bucket/prefix"
    )


class Prefixed(Store):
    """A store whose keys all live under a fixed prefix (s3://bucket/prefix)."""

    def __init__(self, inner: Store, prefix: str) -> None:
        self.inner, self.prefix = inner, prefix + "/"

    def key_url(self, key: str) -> str:
        return self.inner.key_url(self.prefix + key)

    def put_file(self, key: str, path: str, sha1: str | None = None) -> tuple[int, str]:
        return self.inner.put_file(self.prefix + key, path, sha1)

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

    @property
    def serves_urls(self) -> bool:  # type: ignore[override]
        return self.inner.serves_urls

    @property
    def takes_directories(self) -> bool:  # type: ignore[override]
        return self.inner.takes_directories

    def platform_url(self, key: str) -> str:
        return self.inner.platform_url(self.prefix + key)

    def head(self, key: str) -> Head | None:
        return self.inner.head(self.prefix + key)

    def fetch_file(
        self, key: str, dest: str, size: int | None, sha1: str | None, verify: Verify | None = None
    ) -> bool:
        return self.inner.fetch_file(self.prefix + key, dest, size, sha1, verify)

    def delete_prefix(self, prefix: str) -> int:
        return self.inner.delete_prefix(self.prefix + prefix)

    def delete_keys(self, prefix: str, rels: list[str]) -> None:
        self.inner.delete_keys(self.prefix + prefix, rels)

    def copy_from(self, bucket: str, key: str, dest: str) -> None:
        self.inner.copy_from(bucket, key, self.prefix + dest)

    def ssl_context(self) -> ssl.SSLContext | None:
        return self.inner.ssl_context()


@contextlib.contextmanager
def s3_errors(what: str) -> Iterator[None]:
    """boto3's errors (after its own retries) as a WfError naming the transfer."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError
    from s3transfer.exceptions import RetriesExceededError

    try:
        yield
    except (BotoCoreError, ClientError, Boto3Error, RetriesExceededError) as e:
        raise WfError(f"{what}: {type(e).__name__}: {e}") from None


class ShortRead(OSError):
    """A response body that ended before its Content-Length."""


def copy_body(r: Any, dest: BinaryIO) -> int:
    """Copy the body of the response ``r`` to ``dest``; ShortRead if it ends before its
    Content-Length (http.client's read(n) returns short data at EOF without a word)."""
    got = 0
    while chunk := r.read(CHUNK):
        dest.write(chunk)
        got += len(chunk)
    length = r.headers.get("Content-Length")
    if length is not None and length.isdigit() and got != int(length):
        raise ShortRead(f"the body ended after {got} of {length} bytes")
    return got


def retrying(fn: Any, what: str, attempts: int = 5) -> Any:
    """The driver's own transfers: retried on connection errors, broken or short answers and
    5xx, with backoff."""
    delay = 0.5
    for n in range(1, attempts + 1):
        try:
            return fn()
        except urllib.error.HTTPError as e:
            if e.code < 500 and e.code not in (408, 429):
                raise WfError(f"{what}: HTTP {e.code} {e.reason}") from None
            err: Exception = e
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            err = e
        if n == attempts:
            raise WfError(f"{what}: {err} (after {attempts} attempts)") from None
        time.sleep(delay)
        delay *= 2
    return None


def file_sha1(path: str) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def head_size(url: str, ctx: ssl.SSLContext | None) -> int | None:
    try:
        req = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
            n = r.headers.get("Content-Length")
            return int(n) if n is not None else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


# -- fetching, checked ---------------------------------------------------------------------------


# A fetched object that does not check out (its size, sha1, ``verify``) is read again, up to
# this many times in all, before the driver gives up on it: a body spoiled on the way is read
# whole the next time, an object spoiled in the store never is.
VERIFY_ATTEMPTS = 3

# what is wrong with a file just read (None: nothing)
Verify = Callable[[IO[bytes]], "str | None"]


def get_checked(
    read: Reader,
    rel: str,
    dest: str,
    size: int | None = None,
    sha1: str | None = None,
    verify: Verify | None = None,
) -> bool:
    """Download ``rel`` next to ``dest`` and rename it into place once it checks out (its size
    and sha1, ``verify``); read again while it does not, then TaskFailed naming it. False if
    there is no such object."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".wfr-fetch.")
    try:
        with os.fdopen(fd, "w+b") as f:
            for n in range(1, VERIFY_ATTEMPTS + 1):
                if not read(rel, f):
                    return False
                f.flush()
                f.seek(0, os.SEEK_END)
                wrong = wrong_with(f, rel, size, sha1) or (verify(f) if verify else None)
                if wrong is None:
                    break
                if n == VERIFY_ATTEMPTS:
                    raise TaskFailed(f"{wrong} (read {n} times)")
                log.warning("%s; reading it again", wrong)
        put_in_place(tmp, dest)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def check_file(f: IO[bytes], rel: str, size: int | None, sha1: str | None) -> None:
    """``f`` (an open binary file, at its end) has ``size`` bytes and the ``sha1`` (where
    given), else TaskFailed naming ``rel``."""
    wrong = wrong_with(f, rel, size, sha1)
    if wrong:
        raise TaskFailed(wrong)


def wrong_with(f: IO[bytes], rel: str, size: int | None, sha1: str | None) -> str | None:
    """What is wrong with ``f`` (an open binary file, at its end) as the object ``rel`` of
    ``size`` bytes and the ``sha1`` (where given); None: nothing."""
    got = f.tell()
    if size is not None and got != size:
        return f"output {rel}: the store has {got} bytes, the manifest says {size}"
    if sha1:
        f.seek(0)
        digest = hashlib.sha1()
        while chunk := f.read(CHUNK):
            digest.update(chunk)
        if digest.hexdigest() != sha1:
            return f"output {rel}: sha1 {digest.hexdigest()}, the manifest says {sha1}"
    return None


def put_in_place(tmp: str, dest: str) -> None:
    """Rename the checked file ``tmp`` to ``dest`` (a link or directory there gives way)."""
    if os.path.islink(dest) or os.path.isdir(dest):
        remove(dest)
    os.chmod(tmp, 0o644)
    os.replace(tmp, dest)


def remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)
