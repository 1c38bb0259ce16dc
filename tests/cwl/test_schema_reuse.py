"""compiler/cwl/lower.py's ``reuse_loaded_schema``: cwltool's first Process takes its File,
Directory and Any records from the document's own schema instead of loading all of CWL v1.0's
(~0.4 s of every run)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_the_documents_schema_stands_in_for_v1_0s_records() -> None:
    """cwltool's first Process loads the whole v1.0 schema for its File, Directory and Any
    records; compiler/cwl/lower.py takes them from the document's own schema instead. They must
    make the same avro schema (docs and JSON-LD predicates aside) in every version, and a v1.2
    run must not load v1.0 at all."""
    code = r"""
import json
import cwltool.process as P
from schema_salad.ref_resolver import Loader
from schema_salad.schema import make_avro
from wfrewrite.compiler.cwl.lower import SCHEMA_RECORDS

def bare(o):
    if isinstance(o, dict):
        return {k: bare(v) for k, v in o.items() if k not in ("doc", "jsonldPredicate")}
    return [bare(x) for x in o] if isinstance(o, list) else o

def avro(version):
    idx = P.get_schema(version)[3].idx
    recs = [idx[r] for r in SCHEMA_RECORDS.values()]
    return json.dumps(bare(json.loads(json.dumps(make_avro(recs, Loader({})), default=str))),
                      sort_keys=True)

assert avro("v1.1") == avro("v1.0") == avro("v1.2")
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    only = r"""
import cwltool.process as P
from wfrewrite.compiler import cwl
ctx = cwl.loading_context()
cwl.load(SOURCE, ctx)
assert sorted(P.SCHEMA_CACHE) == ["v1.2"], sorted(P.SCHEMA_CACHE)
assert P.SCHEMA_FILE["name"] == "https://w3id.org/cwl/cwl#File"
""".replace("SOURCE", repr(str(ROOT / "bench" / "scatter24.cwl")))
    p = subprocess.run([sys.executable, "-c", only], capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr[-3000:]
