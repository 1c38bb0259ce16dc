"""compiler/cwl/schemas.py: the CWL schemas cwltool parses in every process come from a file
cache of parsed trees, and what cwltool builds from them is the same."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from wfrewrite.compiler.cwl import schemas

PROBE = r"""
import json, re, sys
import ruamel.yaml.composer as C
parses = 0
compose = C.Composer.compose_document
def counted(self, *a, **k):
    global parses
    parses += 1
    return compose(self, *a, **k)
C.Composer.compose_document = counted
import cwltool.process as P
from wfrewrite.compiler import cwl
tool = cwl.load(SOURCE, cwl.loading_context())
loader = P.get_schema("v1.2")[3]
schema = {k: loader.idx[k] for k in sorted(loader.idx)}
blank = lambda text: re.sub(r"_:[0-9a-f-]{36}", "_:ID", text)  # cwltool's random ids
print(json.dumps({"parses": parses,
                  "tool": blank(json.dumps(tool.tool, sort_keys=True, default=str)),
                  "schema": json.dumps(schema, sort_keys=True, default=str)}))
""".replace("SOURCE", repr(str(ROOT / "bench" / "scatter24.cwl")))


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cwl-schemas directory of a cache of the test's own, the wrappers installed (and with
    them the versions key)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with schemas.parsed_schemas():
        pass
    return tmp_path / "wfrewrite" / "cwl-schemas"


def _probe(cache_home: Path) -> dict[str, object]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    p = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=False
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_a_warm_cache_parses_only_the_users_document_and_changes_nothing(tmp_path: Path) -> None:
    """Three processes: no cache (XDG_CACHE_HOME is a file), a cold one (writes it) and a warm
    one (reads it). The warm one runs ruamel's composer only for the tool itself; all three
    load the same tool and the same schema documents."""
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    none, cold, warm = _probe(blocked), _probe(tmp_path), _probe(tmp_path)
    cached = list((tmp_path / "wfrewrite" / "cwl-schemas").iterdir())
    assert len(cached) >= 10, cached
    assert all(f.stat().st_mode & 0o077 == 0 for f in cached)  # the user's own, like the dir
    assert none["parses"] == cold["parses"] >= 10
    assert warm["parses"] == 1  # bench/scatter24.cwl
    assert none["tool"] == cold["tool"] == warm["tool"]
    assert none["schema"] == cold["schema"] == warm["schema"]


def test_each_read_is_a_fresh_tree_and_a_broken_entry_is_parsed_again(cache: Path) -> None:
    calls: list[int] = []

    def parse() -> list[object]:
        calls.append(1)
        return [{"a": [1, 2]}]

    text = "a: [1, 2]  # a test's text\n"
    first = schemas._parsed(text, parse)
    second = schemas._parsed(text, parse)
    assert len(calls) == 1 and first == second and first[0] is not second[0]
    second[0]["a"].append(3)  # schema-salad changes what it gets: the cache does not see it
    assert schemas._parsed(text, parse) == [{"a": [1, 2]}] and len(calls) == 1
    (entry,) = cache.iterdir()
    entry.write_bytes(b"\x80\x05 not a pickle")
    assert schemas._parsed(text, parse) == [{"a": [1, 2]}] and len(calls) == 2
    assert schemas._parsed(text, parse) == [{"a": [1, 2]}] and len(calls) == 2  # rewritten


def test_outside_parsed_schemas_ruamel_is_left_alone(cache: Path) -> None:
    """Only inside ``parsed_schemas()``, and only for a packaged schema's name."""
    from schema_salad.utils import yaml_no_ts

    def doc(name: str) -> object:
        stream = io.StringIO("x: 1\n")
        stream.name = name
        return next(iter(yaml_no_ts().load_all(stream)))

    assert doc(schemas.SCHEMA_URLS + "Test.yml") == {"x": 1}
    assert not cache.exists() or not list(cache.iterdir())
    with schemas.parsed_schemas():
        assert doc("file:///tmp/user.cwl") == {"x": 1}
        assert not cache.exists() or not list(cache.iterdir())
        assert doc(schemas.SCHEMA_URLS + "Test.yml") == {"x": 1}
    assert len(list(cache.iterdir())) == 1


def test_a_cache_others_may_write_to_is_no_cache(cache: Path) -> None:
    """The cache holds pickles: they are read only from a directory no one else can write."""
    cache.mkdir(parents=True)
    cache.chmod(0o777)
    calls: list[int] = []
    for _ in range(2):
        assert schemas._parsed("b: 2\n", lambda: calls.append(1) or [{"b": 2}]) == [{"b": 2}]
    assert len(calls) == 2 and not list(cache.iterdir())
