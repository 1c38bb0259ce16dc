"""Object stores as the driver sees them: it holds the credentials, the script only gets URLs.

    store = open_store(Options(store="s3://wfr-tests/runs", s3_endpoint="http://127.0.0.1:8333"))
    size, sha1 = store.put_file("run1/in/0/names.txt", "/data/names.txt")
    url = store.key_url("run1/in/0/names.txt")     # a presigned GET (X-Amz-Signature=...)
    method, url, prefix, fields = store.upload_spec("run1/out/")   # one POST policy for the outputs

``HttpStore`` is a plain HTTP/WebDAV prefix taking GET and PUT (nginx's dav module); ``S3Store``
an S3 bucket or S3-compatible server reached with boto3 and its usual credential chain (boto3 is
imported only when an s3:// store is opened). The driver's own transfers are retried with
backoff (``retrying``); the script's are the script's (``runtime/sh/transport_url.sh``).
"""

from __future__ import annotations

import hashlib
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from wfrewrite.compiler.diagnostics import WfError
from wfrewrite.compiler.plan.ir import FormField, UrlSpec

from ..options import Options

# S3 SigV4 presigned URLs live at most 7 days.
MAX_EXPIRY = 7 * 24 * 3600
CHUNK = 1 << 20

# (path under the task's root, file to write) -> False if there is no such object
Reader = Callable[[str, BinaryIO], bool]


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
                    while chunk := r.read(CHUNK):
                        dest.write(chunk)
            except urllib.error.HTTPError as e:
                if e.code == 404:
                    return False
                raise
            return True

        return bool(retrying(once, f"GET {url.partition('?')[0]}"))


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


def open_store(opts: Options) -> Store:
    """The store ``opts.store`` names: ``http(s)://prefix/`` or ``s3://bucket/prefix``."""
    url = opts.store or ""
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


def retrying(fn: Any, what: str, attempts: int = 5) -> Any:
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


def head_size(url: str, ctx: ssl.SSLContext | None) -> int | None:
    try:
        req = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
            n = r.headers.get("Content-Length")
            return int(n) if n is not None else None
    except (urllib.error.URLError, OSError, ValueError):
        return None
