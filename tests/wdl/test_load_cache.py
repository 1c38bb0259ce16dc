"""compiler/wdl/kept.py and load.py: a document loaded before comes from the cache only while
it and every file it imports read as they did, and is the document miniwdl builds; JSON inputs
are read once (``read_inputs``), with what miniwdl's own reading gives and its messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import WDL
import WDL.CLI

from wfrewrite.compiler import wdl
from wfrewrite.compiler.diagnostics import InputError, SourceError
from wfrewrite.compiler.emit import emit
from wfrewrite.compiler.wdl import kept
from wfrewrite.compiler.wdl.load import exact_json

LIB = """version 1.0
task greet {
  input { String who }
  command <<< echo "hello ~{who}" > out.txt >>>
  output { File out = "out.txt" }
  runtime { docker: "busybox:latest" }
}
"""
MAIN = """version 1.0
import "lib/lib.wdl" as lib
workflow main {
  input { Array[String] names  Int n = 2 }
  scatter (who in names) { call lib.greet { input: who = who } }
  output { Array[File] outs = greet.out }
}
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "wfrewrite" / "wdl-documents"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "lib.wdl").write_text(LIB)
    (tmp_path / "main.wdl").write_text(MAIN)
    return tmp_path / "main.wdl"


def _script(doc: WDL.Tree.Document) -> str:
    task = doc.imports[0].doc.tasks[0]
    env = WDL.Env.Bindings().bind("who", WDL.Value.String("x"))
    return emit(wdl.compile_wdl(task, env, root="/mnt/wfr"))


def test_a_kept_document_is_the_one_miniwdl_builds(cache: Path, source: Path) -> None:
    assert kept.kept(str(source)) is None
    fresh = wdl.load(str(source))
    assert len(list(cache.iterdir())) == 1
    again = kept.kept(str(source))
    assert again is not None and again is not fresh
    assert wdl.load(str(source)).workflow.name == "main"
    assert again.pos == fresh.pos and again.source_text == fresh.source_text
    assert again.imports[0].doc.pos.abspath == str(source.parent / "lib" / "lib.wdl")
    assert [d.name for d in again.workflow.available_inputs] == ["names", "n"]
    assert _script(again) == _script(fresh)


def test_a_changed_document_or_import_is_parsed_again(cache: Path, source: Path) -> None:
    wdl.load(str(source))
    lib = source.parent / "lib" / "lib.wdl"
    lib.write_text(LIB.replace("hello", "bye"))
    assert kept.kept(str(source)) is None  # the import changed: a miss
    doc = wdl.load(str(source))
    assert "bye" in doc.imports[0].doc.source_text
    assert kept.kept(str(source)) is not None
    source.write_text(MAIN.replace("Int n = 2", "Int n = 3"))
    assert kept.kept(str(source)) is None  # the document itself: another key
    assert "n = 3" in wdl.load(str(source)).source_text
    lib.unlink()
    assert kept.kept(str(source)) is None  # an import gone
    with pytest.raises(SourceError, match=r"Failed to import lib/lib\.wdl"):
        wdl.load(str(source))


def test_a_document_is_kept_under_the_text_miniwdl_parsed(cache: Path, source: Path) -> None:
    doc = WDL.load(str(source), check_quant=True)
    source.write_text(MAIN.replace("Int n = 2", "Int n = 3"))  # changed while it was parsed
    kept.keep(str(source), doc)
    assert kept.kept(str(source)) is None  # the new text is not answered with the old document
    source.write_text(MAIN)
    assert kept.kept(str(source)).source_text == MAIN  # type: ignore[union-attr]


def test_the_uri_as_given_is_part_of_the_key(
    cache: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """miniwdl puts the URI as given in every position: a relative and an absolute name of the
    same file are two entries."""
    wdl.load(str(source))
    monkeypatch.chdir(source.parent)
    assert kept.kept("main.wdl") is None
    assert wdl.load("main.wdl").pos.uri == "main.wdl"
    assert kept.kept("main.wdl").pos.uri == "main.wdl"


def test_no_cache_where_others_may_write(cache: Path, source: Path) -> None:
    cache.mkdir(parents=True)
    os.chmod(cache, 0o777)
    wdl.load(str(source))
    assert list(cache.iterdir()) == [] and kept.kept(str(source)) is None


def test_the_newest_entries_stay(
    cache: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kept, "KEEP", 2)
    for n in range(4):
        source.write_text(MAIN.replace("Int n = 2", f"Int n = {n}"))
        wdl.load(str(source))
    assert len(list(cache.iterdir())) == 2
    assert kept.kept(str(source)) is not None


def test_json_inputs_read_once_as_miniwdl_reads_them(source: Path, tmp_path: Path) -> None:
    """The values miniwdl's own reading (its YAML parser, given the same text) gives."""
    doc = wdl.load(str(source))
    text = '{"main.names": ["a", "\\ud83d\\udca5", "c\\u0085d"], "main.n": 7}'
    parsed = exact_json(text)
    assert isinstance(parsed, str) and parsed.data["main.n"] == 7
    _, env = wdl.read_inputs(doc, None, text)
    _, theirs, _ = WDL.CLI.runner_input(doc, [], str(parsed), [], [], root="/")
    assert WDL.values_to_json(env) == WDL.values_to_json(theirs)
    assert WDL.values_to_json(env)["names"][1] == "\U0001f4a5"
    with pytest.raises(InputError, match="check JSON input;"):
        wdl.read_inputs(doc, None, '{"main.n": "seven", "main.names": []}')
    with pytest.raises(InputError, match="no_such"):
        wdl.read_inputs(doc, None, '{"main.no_such": 1, "main.names": []}')


def test_json_file_inputs_are_checked_as_miniwdl_checks_them(tmp_path: Path) -> None:
    src = tmp_path / "t.wdl"
    src.write_text(
        "version 1.0\ntask t {\n  input { File f }\n  command <<< cat ~{f} >>>\n"
        '  runtime { docker: "busybox:latest" }\n}\n'
    )
    doc = wdl.load(str(src))
    (tmp_path / "in.txt").write_text("x")
    inputs = tmp_path / "inputs.json"
    inputs.write_text(f'{{"t.f": "{tmp_path / "in.txt"}"}}')
    _, env = wdl.read_inputs(doc, None, str(inputs))
    assert WDL.values_to_json(env) == {"f": str(tmp_path / "in.txt")}
    inputs.write_text(f'{{"t.f": "{tmp_path / "missing.txt"}"}}')
    with pytest.raises(InputError, match=r"missing\.txt"):
        wdl.read_inputs(doc, None, str(inputs))
