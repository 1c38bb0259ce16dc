"""WDL documents kept parsed and type-checked in the user's cache, keyed by their text.

    doc = kept("hello.wdl")     # None: never kept, or it or a file it imports has changed
    doc = WDL.load("hello.wdl", check_quant=True)
    keep("hello.wdl", doc)      # for the next process; nothing where it cannot be kept

miniwdl parses (lark) and type-checks a document afresh in every process: 50-60 ms for
bench/scatter24.wdl in a fresh process on this project's 2-core machine, most of it lark
compiling the regular expressions of its lexers, against ~0.3 ms to unpickle the same document.
An entry is keyed by miniwdl's and Python's versions, the URI as given (miniwdl puts it in every
position), the absolute path and the text; it holds the document and, for every document it
imports at any depth, the path miniwdl read and that text's sha256. Each of those files is read
again and compared whenever the entry is used: an import that changed is a miss, as is any
entry that cannot be read. miniwdl resolves a relative import against the importing document's
directory only (``load`` passes no search path), so the same paths and texts make the same
document. A document read from stdin or importing over http(s) is not kept.

The entries are pickles, so they live only in a ``private_dir`` (compiler/cache.py); the
newest ``KEEP`` stay.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
from collections.abc import Iterator
from typing import Any

from ..cache import private_dir, prune, write_entry

KEEP = 256  # entries in the cache directory after each write
_FORMAT = 1  # what an entry holds; a change here is a new key


def kept(uri: str) -> Any | None:
    """The document ``keep`` kept for ``uri``, if that file and every file it imports still
    read as they did; None otherwise."""
    path = _entry(uri)
    if not path:
        return None
    try:
        with open(path, "rb") as f:
            imports, doc = pickle.load(f)
        if all(_digest(_read(abspath)) == digest for abspath, digest in imports):
            return doc
    except Exception:  # missing, unreadable, an import gone: parse as usual
        pass
    return None


def keep(uri: str, doc: Any) -> None:
    """Keep ``doc`` (just loaded from ``uri``) for the next process, if it can be kept: keyed
    by the text miniwdl parsed, not by a second reading that could meet a newer file."""
    path = _entry(uri, doc.source_text)
    if not path:
        return
    with contextlib.suppress(Exception):  # an import over http, a document pickle refuses
        imports = [(d.pos.abspath, _digest(d.source_text)) for d in _imported(doc)]
        if any(not os.path.isabs(abspath) for abspath, _ in imports):
            return
        write_entry(path, pickle.dumps((imports, doc), protocol=pickle.HIGHEST_PROTOCOL))
        prune(os.path.dirname(path), ".pickle", KEEP)


def _entry(uri: str, text: str | None = None) -> str:
    """The cache file for ``uri`` whose text is ``text`` (by default, as it reads now); ""
    where no document is kept (stdin, a URL, a file that cannot be read, no private cache)."""
    if uri in ("-", "/dev/stdin") or uri.startswith(("http://", "https://")):
        return ""
    abspath = os.path.abspath(uri[7:] if uri.startswith("file:///") else uri)
    if text is None:
        try:
            text = _read(abspath)
        except (OSError, UnicodeDecodeError):
            return ""
    cache = private_dir("wdl-documents")
    if not cache:
        return ""
    try:
        from WDL._version import __version__ as miniwdl
    except ImportError:
        return ""
    key = hashlib.sha256(
        "\0".join((str(_FORMAT), miniwdl, sys.version, uri, abspath, text)).encode(
            "utf-8", "surrogateescape"
        )
    )
    return os.path.join(cache, key.hexdigest()[:32] + ".pickle")


def _read(abspath: str) -> str:
    with open(abspath, encoding=None) as f:  # as miniwdl reads it (its read_source_default)
        return f.read()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _imported(doc: Any) -> Iterator[Any]:
    """Every document ``doc`` imports, at any depth."""
    for imp in doc.imports:
        if imp.doc is not None:
            yield imp.doc
            yield from _imported(imp.doc)
