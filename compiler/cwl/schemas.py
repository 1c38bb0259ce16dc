"""cwltool's CWL schemas parsed once per machine, not once per process.

    with parsed_schemas():                   # compiler/cwl/load.py wraps cwltool's loading in it
        tool = load_tool("cat.cwl", ctx)     # get_schema("v1.2"): ~0.2 s, not ~0.5-0.7 s

Before it reads a document, cwltool builds the loaders of its CWL schemas
(``cwltool.process.get_schema``, schema-salad's ``get_metaschema``) afresh in every process, and
about three quarters of that is ruamel's pure-Python round-trip parse of the ~15 YAML files that
ship inside the two packages (``https://w3id.org/cwl/*.yml`` in schema-salad's loader, and the
metaschema's own text). Inside ``parsed_schemas()`` the parse of one of *those* texts is read
from a pickle in the user's cache (compiler/cache.py), written the first time: the key is
the text's sha256 with the versions of ruamel.yaml, schema-salad and Python, so a cached tree is
the tree the parser would build. Each read is a fresh copy (schema-salad changes what it gets).
Everything schema-salad does with the documents (resolving, validating, the Avro names) runs
as before, and any other text is parsed as usual. A cache that cannot be read or written, or a
directory that is not the user's own (or that others may write to: ``private_dir``), is no
cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import threading
from collections.abc import Iterator
from importlib import metadata, resources
from typing import Any

from ..cache import private_dir, write_entry

SCHEMA_URLS = "https://w3id.org/cwl/"  # where schema-salad's loader names the packaged schemas

_lock = threading.Lock()
_active = 0  # how many parsed_schemas() are open, in any thread
_installed = False
_metaschema: str | None = None  # schema-salad's metaschema.yml, parsed from a string
_versions = ""  # what a cached tree depends on besides its text


@contextlib.contextmanager
def parsed_schemas() -> Iterator[None]:
    """Within it, the CWL schema files are parsed from the file cache (see the module)."""
    global _active
    with _lock:
        if not _installed:
            _install()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1


def _install() -> None:
    """Wrap ruamel's ``YAML.load``/``load_all`` once; the wrappers pass everything through
    unless a ``parsed_schemas()`` is open and the text is a packaged schema."""
    global _installed, _metaschema, _versions
    from ruamel.yaml.main import YAML

    _installed = True
    try:
        _versions = "\0".join(
            (metadata.version("ruamel.yaml"), metadata.version("schema-salad"), sys.version)
        )
        _metaschema = (
            resources.files("schema_salad").joinpath("metaschema/metaschema.yml").read_text("UTF-8")
        )
    except Exception:  # no cache then
        _metaschema = None
    load, load_all = YAML.load, YAML.load_all

    def cached_load(self: Any, stream: Any) -> Any:
        if _active and isinstance(stream, str) and stream == _metaschema:
            return _parsed(stream, lambda: [load(self, stream)])[0]
        return load(self, stream)

    def cached_load_all(self: Any, stream: Any) -> Any:
        name = getattr(stream, "name", None)
        if (
            _active
            and isinstance(name, str)
            and name.startswith(SCHEMA_URLS)
            and hasattr(stream, "getvalue")
        ):
            return iter(_parsed(stream.getvalue(), lambda: list(load_all(self, stream))))
        return load_all(self, stream)

    YAML.load, YAML.load_all = cached_load, cached_load_all  # type: ignore[method-assign]


def _parsed(text: str, parse: Any) -> list[Any]:
    """The documents ``parse()`` builds from ``text``, from the cache when it holds them."""
    path = _cache_path(text)
    if path:
        try:
            with open(path, "rb") as f:
                docs = pickle.load(f)
            if isinstance(docs, list):
                return docs
        except Exception:  # missing, partly written by an older version, unreadable
            pass
    docs = parse()
    if path:
        with contextlib.suppress(Exception):  # a cache that cannot be written is no cache
            write_entry(path, pickle.dumps(docs, protocol=pickle.HIGHEST_PROTOCOL))
    return docs


def _cache_path(text: str) -> str:
    cache = private_dir("cwl-schemas") if _versions else ""
    if not cache:
        return ""
    key = hashlib.sha256(f"{_versions}\0{text}".encode()).hexdigest()[:32]
    return os.path.join(cache, f"{key}.pickle")
