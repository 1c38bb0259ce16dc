"""Inputs files read exactly: miniwdl and cwltool read JSON with a YAML parser (ruamel.yaml),
which misreads some of it (wfrewrite.compiler.jsonyaml says what); these properties hold the
rewrite to "YAML reads back exactly what JSON says", and the front ends to using it. No script
runs here: these are the cheap, pure properties (tests/hostile/hostile.py has the budget)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hostile import budget, tally, text
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from wfrewrite.compiler import cwl, wdl
from wfrewrite.compiler.diagnostics import InputError, PlanError
from wfrewrite.compiler.jsonyaml import json_for_yaml, yaml_flow


def yaml_readers() -> list[YAML]:
    """miniwdl's reader (safe, pure) and schema-salad's (round trip)."""
    return [YAML(typ="safe", pure=True), YAML(typ="rt")]


def test_yaml_reads_back_what_json_says() -> None:
    value = {"k" * 1500: ["x\U0001f4a5", "a\x85b\u2028c", "\x7f\x9b\ufffe", "\\ud83d\\ude00"]}
    for ascii_only in (True, False):
        doc = json.dumps(value, ensure_ascii=ascii_only)
        for reader in yaml_readers():
            assert reader.load(yaml_flow(value)) == value
            short = json.dumps({"v": value["k" * 1500]}, ensure_ascii=ascii_only)
            assert reader.load(json_for_yaml(short)) == {"v": value["k" * 1500]}
        assert json_for_yaml(doc).count("\n") == doc.count("\n")


KEYS = st.one_of(text(long=0), text(long=1500))
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        text(nul=True, long=300),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)


@budget(share=0.03, batch=1)
@given(value=JSON_VALUES, ascii_only=st.booleans())
def test_yaml_reads_back_any_json(value: Any, ascii_only: bool) -> None:
    """json_for_yaml keeps the lines of JSON text and YAML reads it as JSON does (but keys over
    1024 characters, which only yaml_flow writes readably); yaml_flow's text reads back too."""
    doc = json.dumps({"v": value}, ensure_ascii=ascii_only)
    fixed = json_for_yaml(doc)
    assert fixed.count("\n") == doc.count("\n")
    flow = yaml_flow({"v": value})
    for reader in yaml_readers():
        assert reader.load(flow) == {"v": value}
        if "? " not in flow:
            assert reader.load(fixed) == {"v": value}
    tally.passed("inputs.json_for_yaml", scripted=False)


def test_yaml_is_left_alone() -> None:
    assert json_for_yaml("a: \\ud83d\n") == "a: \\ud83d\n"
    assert json_for_yaml('{"a": "\\\\ud83d\\\\ude00"}') == '{"a": "\\\\ud83d\\\\ude00"}'


WDL = """\
version 1.1

task t {
  input {
    Array[String] xs
    Map[String, String] m
  }
  command <<<
  cat ~{write_lines(xs)} ~{write_map(m)}
  >>>
}
"""
EXACT = ["x\U0001f4a5y", "a\x85b", "\x7f\x9b\ufffe", "\\ud83d\\ude00", "\u2028\ufeff"]


@pytest.mark.parametrize("ascii_only", [True, False])
def test_wdl_inputs_are_read_exactly(tmp_path: Path, ascii_only: bool) -> None:
    """An inputs file as Python's json writes it: astral characters (as surrogate pairs, with
    ensure_ascii), a NEL, DEL and C1 controls (raw, without), a Map key over 1024 characters.
    miniwdl alone gave lone surrogates, a space for the NEL, or a YAML error (a traceback)."""
    src = tmp_path / "t.wdl"
    src.write_text(WDL)
    key = "k\U0001f600" * 600
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"t.xs": EXACT, "t.m": {key: "v"}}, ensure_ascii=ascii_only))
    task, env = wdl.read_inputs(wdl.load(str(src)), None, str(inputs))
    plan = wdl.compile_wdl(task, env, root="/mnt/wfr")
    contents = {lit.content for lit in plan.literals}
    assert "".join(x + "\n" for x in EXACT).encode() in contents
    assert f"{key}\tv\n".encode() in contents


CWL = {
    "cwlVersion": "v1.2",
    "class": "CommandLineTool",
    "baseCommand": ["echo"],
    "inputs": {"words": {"type": "string[]", "inputBinding": {"position": 1}}, "f": "File?"},
    "outputs": {},
}


def compile_cwl(tmp_path: Path, job_text: str) -> Any:
    tool = tmp_path / "t.cwl"
    tool.write_text(json.dumps(CWL))
    job = tmp_path / "job.json"
    job.write_text(job_text, encoding="utf-8")
    ctx = cwl.loading_context()
    loaded = cwl.read_job(str(job), str(tool), ctx)
    proc = cwl.load(str(tool), ctx)
    order = cwl.bind_job(proc, loaded, str(tool))
    return cwl.compile_cwl(proc, order, loaded.basedir, root="/mnt/wfr")


@pytest.mark.parametrize("ascii_only", [True, False])
def test_cwl_jobs_are_read_exactly(tmp_path: Path, ascii_only: bool) -> None:
    """The same for a CWL job object: cwltool alone gave lone surrogates (then a crash writing
    the script), a space for the NEL, or a ruamel ReaderError (a traceback)."""
    plan = compile_cwl(tmp_path, json.dumps({"words": EXACT}, ensure_ascii=ascii_only))
    assert list(plan.command.argv[1:]) == EXACT


def test_cwl_job_errors_are_refusals(tmp_path: Path) -> None:
    """What cannot be read exactly is refused by name, never a traceback: a raw DEL in a YAML
    job (YAML refuses it), a '#' in a File's path (a URI fragment to cwltool, whose path mapper
    then failed with a KeyError), a lone surrogate (no script can hold it)."""
    with pytest.raises(InputError, match="unacceptable character #x007f"):
        compile_cwl(tmp_path, 'words: ["a\x7fb"]\n')
    hashed = tmp_path / "a#b.txt"
    hashed.write_text("x")
    with pytest.raises(InputError, match=r"a#b.txt.*'#' in a job's path"):
        compile_cwl(
            tmp_path, json.dumps({"words": [], "f": {"class": "File", "path": str(hashed)}})
        )
    plan = compile_cwl(
        tmp_path, json.dumps({"words": [], "f": {"class": "File", "location": hashed.as_uri()}})
    )
    assert [s.source for s in plan.stage] == [str(hashed)]
    with pytest.raises(PlanError, match=r"command.argv\[1\] is not valid Unicode"):
        compile_cwl(tmp_path, '{"words": ["\\ud800"]}')
