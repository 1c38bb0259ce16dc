"""cwltool's CWL schemas parsed and built once per machine, not once per process.

    with parsed_schemas():                   # compiler/cwl/load.py wraps cwltool's loading in it
        tool = load_tool("cat.cwl", ctx)     # get_schema("v1.2"): ~0.04 s, not ~0.5-0.7 s

Before it reads a document, cwltool builds the loaders of its CWL schemas
(``cwltool.process.get_schema``, schema-salad's ``get_metaschema``) afresh in every process.
About three quarters of that is ruamel's pure-Python round-trip parse of the ~15 YAML files that
ship inside the two packages (``https://w3id.org/cwl/*.yml`` in schema-salad's loader, and the
metaschema's own text). Inside ``parsed_schemas()`` the parse of one of *those* texts is read
from a pickle in the user's cache (compiler/cache.py), written the first time: the key is
the text's sha256 with the versions of ruamel.yaml, schema-salad and Python, so a cached tree is
the tree the parser would build. Each read is a fresh copy (schema-salad changes what it gets).
The rest (~0.1 s here) is schema-salad resolving and validating those trees and making the Avro
names (``load_schema``): its four results (document loader, names, metadata, metaschema loader)
are kept the same way (``_built``), keyed by every schema text it was given, the schema's URL
and the versions of cwltool, schema-salad, ruamel.yaml and Python; schema-salad's loaders are
kept as their state and made afresh around it (their HTTP session and fetcher new, as
``load_schema``'s were). tests/cwl/test_schema_built_cache.py holds a read-back to loading and
validating every CWL document of the tests as a fresh build does. Any other text is parsed as
usual. A cache that cannot be read or written, or a directory that is not the user's own (or
that others may write to: ``private_dir``), is no cache.
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
    _install_built()


def _install_built() -> None:
    """Wrap ``load_schema`` where cwltool's ``get_schema`` calls it: within a
    ``parsed_schemas()``, a schema it built before (the same texts, the same versions) is read
    back from the cache (``_built``)."""
    import cwltool.process as process
    from schema_salad.ref_resolver import Loader

    global _cwltool_version
    if not hasattr(Loader, "__mypyc_attrs__"):  # a schema-salad not compiled: no such cache
        return
    try:
        _cwltool_version = metadata.version("cwltool")
    except Exception:
        return
    load_schema = process.load_schema

    def cached_load_schema(schema_ref: Any, cache: Any = None) -> Any:
        if not _active or not isinstance(schema_ref, str) or not isinstance(cache, dict):
            return load_schema(schema_ref, cache)
        return _built(schema_ref, cache, lambda: load_schema(schema_ref, cache))

    process.load_schema = cached_load_schema


_cwltool_version = ""


def _built(schema_ref: str, cache: dict[str, Any], build: Any) -> Any:
    """``build()``'s (cwltool's ``get_schema``'s) four results, from the cache when it holds them
    for these schema texts: document loader, Avro names, metadata, metaschema loader."""
    texts = sorted(cache.items())
    if not all(isinstance(v, str) for _, v in texts):
        return build()
    digest = hashlib.sha256(f"{_versions}\0{_cwltool_version}\0{schema_ref}".encode())
    for url, text in texts:
        digest.update(f"\0{url}\0{text}".encode())
    return _kept(
        _entry("built-", digest),
        build,
        _dumps,
        lambda built: isinstance(built, tuple) and len(built) == 4,
    )


def _parsed(text: str, parse: Any) -> list[Any]:
    """The documents ``parse()`` builds from ``text``, from the cache when it holds them."""
    digest = hashlib.sha256(f"{_versions}\0{text}".encode())
    return _kept(
        _entry("", digest),
        parse,
        lambda docs: pickle.dumps(docs, protocol=pickle.HIGHEST_PROTOCOL),
        lambda docs: isinstance(docs, list),
    )


def _entry(prefix: str, digest: Any) -> str:
    """The cache file of ``digest`` (a sha256 of what the entry is made from), or "" where
    there is no cache (no versions to key it by, no private directory)."""
    cache = private_dir("cwl-schemas") if _versions else ""
    return os.path.join(cache, f"{prefix}{digest.hexdigest()[:32]}.pickle") if cache else ""


def _kept(path: str, make: Any, dumps: Any, fits: Any) -> Any:
    """What ``make()`` makes, read from ``path`` when it holds something that ``fits``; made and
    written there (``dumps``) otherwise. A missing, partly written or unreadable entry is made
    again; one that cannot be pickled or written is not kept."""
    if path:
        try:
            with open(path, "rb") as f:
                kept = pickle.load(f)
            if fits(kept):
                return kept
        except Exception:
            pass
    made = make()
    if path:
        with contextlib.suppress(Exception):
            write_entry(path, dumps(made))
    return made


# schema-salad's Loader and NormDict (compiled by mypyc) pickled as their state: a loader is
# made afresh (its HTTP session and fetcher, as load_schema's were) and given the rest back.
_FRESH = ("session", "fetcher", "fetch_text", "check_exists")


def _dumps(built: Any) -> bytes:
    import copyreg
    import io

    from schema_salad.ref_resolver import Loader, NormDict, _url_norm

    def loader_state(loader: Any) -> Any:
        attrs = Loader.__mypyc_attrs__  # type: ignore[attr-defined]
        names = [n for n in attrs if n not in _FRESH]
        return _loader_from, ({n: getattr(loader, n) for n in names},)

    def normdict_state(d: Any) -> Any:
        if d.normalize is not _url_norm:
            raise ValueError("a NormDict with another normalization")
        return _normdict_from, (dict(d),)

    class Pickler(pickle.Pickler):
        dispatch_table = copyreg.dispatch_table.copy()
        dispatch_table[Loader] = loader_state
        dispatch_table[NormDict] = normdict_state

    out = io.BytesIO()
    Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(built)
    return out.getvalue()


def _loader_from(state: dict[str, Any]) -> Any:
    from schema_salad.ref_resolver import Loader

    loader = Loader({}, cache=state["cache"], fetcher_constructor=state["fetcher_constructor"])
    for name, value in state.items():
        setattr(loader, name, value)
    return loader


def _normdict_from(items: dict[str, Any]) -> Any:
    from schema_salad.ref_resolver import NormDict, _url_norm

    d = NormDict(_url_norm)
    d.update(items)
    return d
