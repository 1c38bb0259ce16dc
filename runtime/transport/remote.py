"""Inputs given as URIs (s3://, gs://, http(s)://) that never pass through this machine.

    t.placeholder("s3://bucket/in/names.txt", run_dir, 1, directory=False)
        # -> <run_dir>/_wfr_remote/1/names.txt, empty: miniwdl gets this local path, and the
        #    transport binds it back to the URI (url: a presigned GET; platform: the URI itself)
    t.fill_placeholder(path)   # an output that *is* that input: only then is it downloaded

The ``url`` and ``platform`` transports both take remote inputs this way (``RemoteInputs``);
miniwdl's task plugin makes the placeholders (``wfrewrite.runtime.engines.miniwdl``).
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import ssl
import urllib.parse
import urllib.request
from typing import BinaryIO

from wfrewrite.compiler.plan import TaskPlan

from .stores import CHUNK, Store, get_checked, retrying

_URI = re.compile(r"(s3|gs|https?)://")


def is_uri(value: str) -> bool:
    return bool(_URI.match(value))


class RemoteInputs:
    """Placeholders for remote inputs: the local stand-in's real path -> its URI."""

    store: Store

    def __init__(self) -> None:
        # local placeholder (real path) -> the URI of a remote input (see placeholder)
        self.remote: dict[str, str] = {}

    def placeholder(self, uri: str, run_dir: str, n: int, directory: bool) -> str:
        """An empty local stand-in for the input ``uri`` (bound to the URI itself, never
        uploaded)."""
        base = posixpath.basename(urllib.parse.urlparse(uri).path.rstrip("/")) or "input"
        path = os.path.join(run_dir, "_wfr_remote", str(n), urllib.parse.unquote(base))
        if directory:
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "wb").close()
        self.remote[os.path.realpath(path)] = uri
        return path

    def remote_uri(self, source: str) -> str | None:
        """The URI a staging source stands for, if it is a placeholder."""
        return self.remote.get(os.path.realpath(source)) if source.startswith("/") else None

    def fill_placeholder(self, path: str) -> None:
        """If ``path`` is (a link to) the empty placeholder of a remote file input, download the
        input into it."""
        real = os.path.realpath(path)
        uri = self.remote.get(real)
        if uri is None or os.path.getsize(real) > 0:
            return
        url, _ = self.store.resolve(uri)
        ctx = self.store.ssl_context()

        def read(_rel: str, f: BinaryIO) -> bool:
            retrying(lambda: _download(url, f, ctx), f"GET {url.partition('?')[0]}")
            return True

        get_checked(read, uri, real)

    def restore_placeholders(
        self, plan: TaskPlan, host_root: str, placeholders: dict[str, str]
    ) -> None:
        """A remote input that is also an output: the fetched content goes into its
        placeholder too (miniwdl resolves the output to the placeholder). ``placeholders``:
        the plan's bound staging source -> the placeholder it stands for."""
        for item in plan.stage:
            placeholder = placeholders.get(item.source)
            fetched = os.path.join(host_root, plan.layout.relative(item.path))
            if (
                placeholder
                and os.path.isfile(fetched)
                and not os.path.samefile(fetched, placeholder)
            ):
                shutil.copyfile(fetched, placeholder)


def _download(url: str, f: BinaryIO, ctx: ssl.SSLContext | None) -> None:
    f.seek(0)
    f.truncate()
    with urllib.request.urlopen(url, timeout=120, context=ctx) as r:
        while chunk := r.read(CHUNK):
            f.write(chunk)
