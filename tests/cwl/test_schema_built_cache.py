"""cwltool's CWL schemas as ``get_schema`` builds them (document loader, Avro names, metadata,
metaschema loader) are kept in the user's cache and read back by the next process
(compiler/cwl/schemas.py ``_built``): ~0.1 s of every CWL run's start here. Read back, they
load and validate every CWL document of the tests and examples (good and bad) exactly as the
schemas built afresh do, and their loaders hold the same state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PROBE = r"""
import json, re, sys
import wfrewrite.compiler.cwl.schemas as S
from wfrewrite.compiler import cwl
from wfrewrite.compiler.diagnostics import WfError

built = []
original = S._built
def spy(ref, cache, build):
    def counted():
        built.append(ref)
        return build()
    return original(ref, cache, counted)
S._built = spy

out = {}
for doc in sys.argv[1:]:
    try:
        tool = cwl.load(doc)
        text = json.dumps(tool.tool, default=str, sort_keys=True)
        out[doc] = re.sub(r"_:[0-9a-f-]{36}", "_:ID", text)  # cwltool's blank ids: random
    except WfError as exn:
        out[doc] = "error: " + str(exn)
import cwltool.process as P
state = {}
for version, schema in P.SCHEMA_CACHE.items():
    loaders = {}
    for i in (0, 3):
        ld = schema[i]
        loaders[i] = {
            n: repr(sorted(getattr(ld, n).items()) if isinstance(getattr(ld, n), dict)
                    else sorted(getattr(ld, n)) if isinstance(getattr(ld, n), (set, list))
                    else type(getattr(ld, n)).__name__)
            for n in type(ld).__mypyc_attrs__
            if n not in ("session", "fetcher", "fetch_text", "check_exists")
        }
    names = schema[1]
    state[version] = {
        "loaders": loaders,
        "names": sorted(names.names),
        "types": sorted(type(v).__name__ + ":" + k for k, v in names.names.items()),
        "metadata": json.dumps(schema[2], default=str, sort_keys=True),
    }
print(json.dumps({"built": built, "docs": out, "state": state}))
"""


def documents() -> list[str]:
    found = [
        *sorted((ROOT / "tests" / "cwl").glob("*.cwl")),
        *sorted((ROOT / "tests" / "errors").glob("*.cwl")),
        *sorted((ROOT / "examples" / "workflows" / "cwl").glob("*.cwl")),
        ROOT / "bench" / "scatter24.cwl",
    ]
    return [str(p) for p in found]


def probe(cache: Path) -> dict:  # type: ignore[type-arg]
    p = subprocess.run(
        [sys.executable, "-c", PROBE, *documents()],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, XDG_CACHE_HOME=str(cache)),
        cwd=ROOT,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_schemas_read_back_load_every_document_as_built_ones_do(tmp_path: Path) -> None:
    fresh = probe(tmp_path)
    assert fresh["built"], "the first process builds the schemas"
    assert list((tmp_path / "wfrewrite" / "cwl-schemas").glob("built-*.pickle"))
    again = probe(tmp_path)
    assert again["built"] == [], "the second reads them back"
    assert again["docs"] == fresh["docs"]
    assert again["state"] == fresh["state"]
    assert any(v.startswith("error: ") for v in fresh["docs"].values())  # bad ones too
    assert sum(not v.startswith("error: ") for v in fresh["docs"].values()) >= 8


def test_an_unreadable_entry_is_built_again(tmp_path: Path) -> None:
    fresh = probe(tmp_path)
    for entry in (tmp_path / "wfrewrite" / "cwl-schemas").glob("built-*.pickle"):
        entry.write_bytes(b"not a pickle")
    again = probe(tmp_path)
    assert again["built"] and again["docs"] == fresh["docs"]
