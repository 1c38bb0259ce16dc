"""Hostile values through the WDL front end (miniwdl) and the compiled script, run under dash,
busybox ash and bash (tests/hostile/hostile.py has the values, the sandbox and the budget).

WDL interpolates values into the command *textually*, by design: ``printf '%s' ~{s}`` is not
safe in any engine, and wfrewrite does not pretend otherwise. What wfrewrite guarantees, and what
these properties check, is every channel that carries values as *data*:

- ``write_lines``/``write_json``/``write_map`` results (literal files in the script): the
  command reads exactly the bytes miniwdl's function wrote (``write_lines``: each value and a
  newline; the JSON files: the same values back);
- the command text itself: a quoted heredoc *in the user's command* gets the values verbatim,
  i.e. the command wfrewrite runs is byte for byte the one miniwdl interpolated, whatever
  heredoc delimiters (``WF_COMMAND``, ``WF_DATA``) or ``%`` and ``\\`` sequences it holds;
- WDL 1.2 ``env`` inputs: the command's environment holds exactly the value;
- input files and directories: staged under their own basenames at the paths the plan gives
  (and ``write_lines(files)`` names), with byte-identical content;
- outputs named by values, found by glob and inside a Directory output: listed in the manifest
  under exactly their names, with their sizes and sha1s.

Where a value cannot be carried (a control character in a path or an output's name, a NUL in
the command or an environment value, a tab in a ``write_map`` key), the properties require a
clear refusal that names it (a WfError from the front end or the plan checker, or the script's
``collection_failed`` naming the output), never a crash or a silent change.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hostile import (
    LINK_MODES,
    PLACEMENTS,
    Refused,
    Sandbox,
    budget,
    compile_wdl,
    content,
    has_control,
    mentions,
    name,
    names,
    root_name,
    run_everywhere,
    source_file,
    succeeded,
    tally,
    text,
)
from hypothesis import given
from hypothesis import strategies as st

from wfrewrite.compiler.plan import TaskPlan


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-wdl")


def placements() -> st.SearchStrategy[tuple[str, str]]:
    return st.tuples(st.sampled_from(PLACEMENTS), st.sampled_from(LINK_MODES))


def must_compile(plan: TaskPlan | Refused) -> TaskPlan:
    assert not isinstance(plan, Refused), f"refused: {plan.message}"
    return plan


def must_refuse(plan: TaskPlan | Refused, value: str, *fields: str) -> str:
    """The compile was refused with a message naming ``value`` and one of ``fields``."""
    assert isinstance(plan, Refused), f"{value!r} was not refused"
    msg = plan.message
    assert mentions(msg, value), f"the refusal does not name {value!r}: {msg}"
    assert any(f in msg for f in fields), f"the refusal does not name {fields}: {msg}"
    return msg


# -- write_lines / write_json / write_map: values as literal files --------------------------------

DATA = """\
version 1.1

task hostile_data {
  input {
    Array[String] xs
    Map[String, String] m
  }
  command <<<
  cat ~{write_lines(xs)} > lines.txt
  cat ~{write_json(xs)} > xs.json
  cat ~{write_map(m)} > map.tsv
  cat ~{write_json(m)} > m.json
  >>>
  output {
    File lines = "lines.txt"
    File xs_json = "xs.json"
    File map = "map.tsv"
    File m_json = "m.json"
  }
}
"""
DATA_BATCH = 32


_map_text = text(long=300, newline=False, controls=False)


def _map_refused(k: str, v: str) -> bool:
    return any(c in k + v for c in "\t\n")


@budget(share=0.14, batch=DATA_BATCH)
@given(
    xs=st.lists(text(nul=True), min_size=DATA_BATCH // 2, max_size=DATA_BATCH // 2),
    pairs=st.lists(  # about one pair in four may hold a tab or a newline
        st.tuples(
            st.tuples(_map_text, _map_text),
            st.tuples(text(long=300), text(long=300)),
            st.integers(1, 4),
        ).map(lambda t: t[1] if t[2] == 2 else t[0]),
        min_size=DATA_BATCH // 2,
        max_size=DATA_BATCH // 2,
    ),
    root=root_name(plain=True),
)
def test_write_functions_carry_values_exactly(
    xs: list[str], pairs: list[tuple[str, str]], root: str, base: Path, busybox_bin: Path
) -> None:
    """write_lines/write_json of an Array[String] and write_map/write_json of a Map: the
    command reads back exactly what the function wrote, byte for byte (NULs included); a tab or
    newline in a write_map key or value is refused by miniwdl, naming write_map()."""
    sb = Sandbox.make(base, root)
    try:
        src = source_file(base, "hostile_data.wdl", DATA)
        m = {}
        for k, v in pairs:
            if _map_refused(k, v):
                refused = compile_wdl(sb, src, {"xs": [], "m": {k: v}})
                msg = must_refuse(refused, "write_map()", "write_map")
                tally.refused("wdl.write_map", msg)
            else:
                m[k] = v
        filled_xs, filled_m = sb.fill(xs), sb.fill(m)
        plan = must_compile(compile_wdl(sb, src, {"xs": xs, "m": m}))
        for run in run_everywhere(sb, plan, busybox_bin):
            succeeded(run)
            lines = b"".join(x.encode() + b"\n" for x in filled_xs)
            assert run.read("work/lines.txt") == lines, run.shell
            assert json.loads(run.read("work/xs.json")) == filled_xs, run.shell
            tsv = b"".join(f"{k}\t{v}\n".encode() for k, v in filled_m.items())
            assert run.read("work/map.tsv") == tsv, run.shell
            assert json.loads(run.read("work/m.json")) == filled_m, run.shell
            run.check_listed("lines", {"work/lines.txt": lines})
            run.check_listed("map", {"work/map.tsv": tsv})
        tally.passed("wdl.write_lines+json", len(xs))
        tally.passed("wdl.write_map+json", len(m))
    finally:
        sb.remove()


# -- the command text: a quoted heredoc of the user's own -----------------------------------------

HEREDOC = """\
version 1.1

task hostile_heredoc {
  input {
    Array[String] xs
  }
  command <<<
cat > heredoc.txt <<'WFR_HOSTILE_END'
~{sep="\\n" xs}
WFR_HOSTILE_END
  >>>
  output {
    File h = "heredoc.txt"
  }
}
"""
HEREDOC_BATCH = 32


@budget(share=0.10, batch=HEREDOC_BATCH)
@given(
    xs=st.lists(text(nul=True), min_size=HEREDOC_BATCH, max_size=HEREDOC_BATCH),
    root=root_name(plain=True),
)
def test_command_text_reaches_the_shell_verbatim(
    xs: list[str], root: str, base: Path, busybox_bin: Path
) -> None:
    """Values interpolated into a quoted heredoc of the command come out verbatim: the command
    wfrewrite runs is byte for byte miniwdl's, whatever lines (``WF_COMMAND``, ``WF_DATA``...)
    it holds. (A value that is a line ``WFR_HOSTILE_END`` would end the *user's* heredoc: WDL's
    textual interpolation, not wfrewrite's business, so none is drawn.) A NUL cannot be in a
    shell script: refused as "command contains a NUL byte"."""
    xs = [x for x in xs if "WFR_HOSTILE_END" not in x.split("\n")]
    sb = Sandbox.make(base, root)
    try:
        src = source_file(base, "hostile_heredoc.wdl", HEREDOC)
        clean = []
        for x in xs:
            if "\x00" in x:
                refused = compile_wdl(sb, src, {"xs": [x]})
                assert isinstance(refused, Refused), repr(x)
                assert "command contains a NUL byte" in refused.message, refused.message
                tally.refused("wdl.command_text", refused.message)
            else:
                clean.append(x)
        plan = must_compile(compile_wdl(sb, src, {"xs": clean}))
        expected = ("\n".join(sb.fill(clean)) + "\n").encode()
        for run in run_everywhere(sb, plan, busybox_bin):
            succeeded(run)
            assert run.read("wfrewrite/command") == plan.command.script.encode(), run.shell
            assert run.read("work/heredoc.txt") == expected, run.shell
        tally.passed("wdl.command_text", len(clean))
    finally:
        sb.remove()


# -- WDL 1.2 env inputs ---------------------------------------------------------------------------

ENV_BATCH = 16
ENV = (
    "version 1.2\n\ntask hostile_env {\n  input {\n"
    + "".join(f"    env String E{i}\n" for i in range(ENV_BATCH))
    + "  }\n  command <<<\n  printf '%s\\000' "
    + " ".join(f'"$E{i}"' for i in range(ENV_BATCH))
    + ' > env.bin\n  >>>\n  output {\n    File e = "env.bin"\n  }\n}\n'
)


@budget(share=0.08, batch=ENV_BATCH)
@given(
    values=st.lists(text(nul=True), min_size=ENV_BATCH, max_size=ENV_BATCH),
    root=root_name(plain=True),
)
def test_env_inputs_reach_the_environment_exactly(
    values: list[str], root: str, base: Path, busybox_bin: Path
) -> None:
    """``env String E`` inputs (WDL 1.2): the command's environment holds exactly each value
    (wf_setenv; newlines, '=', quotes and all); a NUL cannot be in an environment: refused,
    naming the variable."""
    sb = Sandbox.make(base, root)
    try:
        src = source_file(base, "hostile_env.wdl", ENV)
        clean = list(values)
        for i, v in enumerate(values):
            if "\x00" in v:
                inputs = {f"E{j}": "" for j in range(ENV_BATCH)} | {f"E{i}": v}
                refused = compile_wdl(sb, src, inputs)
                assert isinstance(refused, Refused), repr(v)
                assert f"environment variable E{i} contains a NUL byte" in refused.message
                tally.refused("wdl.env", refused.message)
                clean[i] = ""
        plan = must_compile(compile_wdl(sb, src, {f"E{i}": v for i, v in enumerate(clean)}))
        expected = b"".join(v.encode() + b"\0" for v in sb.fill(clean))
        for run in run_everywhere(sb, plan, busybox_bin):
            succeeded(run)
            assert run.read("work/env.bin") == expected, run.shell
        tally.passed("wdl.env", sum(1 for v in values if "\x00" not in v))
    finally:
        sb.remove()


# -- input files: staged under their own names ----------------------------------------------------

FILES = """\
version 1.1

task hostile_files {
  input {
    Array[File] fs
  }
  command <<<
  while IFS= read -r f; do cat -- "$f"; printf '\\000'; done < ~{write_lines(fs)} > seen.bin
  cat ~{write_lines(fs)} > paths.txt
  >>>
  output {
    File seen = "seen.bin"
    File paths = "paths.txt"
  }
}
"""
FILES_BATCH = 16


@budget(share=0.12, batch=FILES_BATCH)
@given(
    basenames=names(FILES_BATCH),
    contents=st.lists(content(), min_size=FILES_BATCH, max_size=FILES_BATCH),
    root=root_name(plain=True),
    where=placements(),
)
def test_input_files_are_staged_under_their_names(
    basenames: list[str],
    contents: list[bytes],
    root: str,
    where: tuple[str, str],
    base: Path,
    busybox_bin: Path,
) -> None:
    """Array[File] inputs with hostile basenames (up to 255 bytes): each is staged under its own
    basename, the path the plan gives is the path ``write_lines(fs)`` names, and the command
    reads byte-identical content there (symlink, hardlink or copy; from the input's own path or
    from the container executors' staging dir). A control character in a name is refused by the
    plan checker, naming the path."""
    sb = Sandbox.make(base, root)
    try:
        src = source_file(base, "hostile_files.wdl", FILES)
        paths, datas = [], []
        for i, (n, data) in enumerate(zip(basenames, contents, strict=True)):
            (sb.inputs / str(i)).mkdir()
            p = sb.inputs / str(i) / n
            p.write_bytes(data)
            if has_control(n):
                msg = must_refuse(
                    compile_wdl(sb, src, {"fs": [str(p)]}), n, "staged path", "staging source"
                )
                tally.refused("wdl.input_file_names", msg)
            else:
                paths.append(str(p))
                datas.append(data)
        plan = must_compile(compile_wdl(sb, src, {"fs": paths}))
        by_source = {s.source: s.path for s in plan.stage}
        staged = [by_source[p] for p in paths]
        for p, s in zip(paths, staged, strict=True):
            assert s.rsplit("/", 1)[1] == p.rsplit("/", 1)[1], (p, s)
        for run in run_everywhere(sb, plan, busybox_bin, placement=where[0], link_mode=where[1]):
            succeeded(run)
            assert run.read("work/paths.txt") == "".join(s + "\n" for s in staged).encode()
            assert run.read("work/seen.bin") == b"".join(d + b"\0" for d in datas), run.shell
            for s, d in zip(staged, datas, strict=True):
                assert Path(s).read_bytes() == d, (run.shell, s)
        tally.passed("wdl.input_file_names", len(paths))
    finally:
        sb.remove()


DIRS = """\
version 1.2

task hostile_dirs {
  input {
    Array[Directory] ds
    Array[String] inner
  }
  command <<<
  while IFS= read -r d; do
    while IFS= read -r n; do cat -- "$d/$n"; printf '\\000'; done < ~{write_lines(inner)}
  done < ~{write_lines(ds)} > seen.bin
  >>>
  output {
    File seen = "seen.bin"
  }
}
"""
DIRS_BATCH = 6


@budget(share=0.05, batch=DIRS_BATCH)
@given(
    dirnames=names(DIRS_BATCH),
    inner=st.lists(
        name(controls=True).filter(lambda s: "\n" not in s) | name(),
        min_size=1,
        max_size=4,
        unique=True,
    ),
    root=root_name(plain=True),
    where=placements(),
)
def test_input_directories_keep_their_names(
    dirnames: list[str],
    inner: list[str],
    root: str,
    where: tuple[str, str],
    base: Path,
    busybox_bin: Path,
) -> None:
    """Array[Directory] inputs (WDL 1.2) with hostile names, holding files with hostile names
    (control characters too: wfrewrite stages the directory whole and never lists it): the
    command finds every file under its name with its content. A control character in the
    directory's own name is refused by the plan checker."""
    sb = Sandbox.make(base, root)
    try:
        src = source_file(base, "hostile_dirs.wdl", DIRS)
        dirs = []
        for i, n in enumerate(dirnames):
            d = sb.inputs / str(i) / n
            d.mkdir(parents=True)
            for j, f in enumerate(inner):
                (d / f).write_bytes(f"{i}.{j}:".encode() + f.encode())
            if has_control(n):
                msg = must_refuse(
                    compile_wdl(sb, src, {"ds": [str(d)], "inner": inner}),
                    n,
                    "staged path",
                    "staging source",
                )
                tally.refused("wdl.input_dir_names", msg)
            else:
                dirs.append(d)
        plan = must_compile(compile_wdl(sb, src, {"ds": [str(d) for d in dirs], "inner": inner}))
        expected = b"".join((d / f).read_bytes() + b"\0" for d in dirs for f in inner)
        for run in run_everywhere(sb, plan, busybox_bin, placement=where[0], link_mode=where[1]):
            succeeded(run)
            assert run.read("work/seen.bin") == expected, run.shell
        tally.passed("wdl.input_dir_names", len(dirs))
    finally:
        sb.remove()


# -- outputs named by values ----------------------------------------------------------------------

OUT_BATCH = 16


def outputs_source(n: int, outputs: str) -> str:
    return (
        "version 1.2\n\ntask hostile_outputs {\n  input {\n    Array[String] names\n"
        + "".join(f"    env String N{i}\n" for i in range(n))
        + "  }\n  command <<<\n  mkdir out\n  for n in "
        + " ".join(f'"$N{i}"' for i in range(n))
        + '; do printf \'%s\' "$n" > "out/$n"; printf \'%s\' "$n" > "$n"; done\n  >>>\n'
        + f"  output {{\n{outputs}  }}\n}}\n"
    )


OUTPUTS = outputs_source(
    OUT_BATCH,
    '    Array[File] by_name = names\n    Array[File] by_glob = glob("out/*")\n'
    '    Directory tree = "out"\n',
)
GLOB_ONLY = outputs_source(1, '    Array[File] by_glob = glob("out/*")\n')
TREE_ONLY = outputs_source(1, '    Directory tree = "out"\n')


@budget(share=0.10, batch=OUT_BATCH)
@given(
    outnames=names(OUT_BATCH).map(
        lambda ns: [n for n in ns if n not in ("out", "_miniwdl_inputs")]
    ),
    root=root_name(plain=True),
    control_source=st.sampled_from(["glob", "tree"]),
)
def test_outputs_are_listed_under_their_names(
    outnames: list[str], root: str, control_source: str, base: Path, busybox_bin: Path
) -> None:
    """Files the command creates under hostile names: an ``Array[File]`` output naming them,
    ``glob("out/*")`` and a ``Directory`` output list exactly those names in the manifest
    (the glob sorted bytewise and without hidden files, as the shell globs), each with its size
    and sha1. A name with a control character cannot go into the manifest: the checker refuses
    it as a capture pattern; found by a glob or inside a Directory, the script fails
    collection naming the output and the control character (newlines included)."""
    sb = Sandbox.make(base, root)
    try:
        clean = [n for n in outnames if not has_control(n)] or ["pad"]
        for n in outnames:
            if n in clean:
                continue
            refused = compile_wdl(
                sb, source_file(base, "hostile_outputs.wdl", OUTPUTS), {"names": [n]} | _env([n])
            )
            tally.refused("wdl.output_names", must_refuse(refused, n, "capture pattern"))
            src = GLOB_ONLY if control_source == "glob" else TREE_ONLY
            plan = must_compile(
                compile_wdl(
                    sb,
                    source_file(base, f"hostile_{control_source}.wdl", src),
                    _env([n], 1) | {"names": []},
                )
            )
            for run in run_everywhere(sb, plan, busybox_bin):
                m = run.manifest
                assert m.status == "collection_failed", (run.shell, m)
                output = "by_glob" if control_source == "glob" else "tree"
                assert f"output '{output}'" in m.message, (run.shell, m.message)
                assert "control character" in m.message or "newline" in m.message, m.message
            tally.refused("wdl.output_names_collected", m.message)
        src = source_file(base, "hostile_outputs.wdl", OUTPUTS)
        plan = must_compile(compile_wdl(sb, src, {"names": clean} | _env(clean)))
        for run in run_everywhere(sb, plan, busybox_bin):
            succeeded(run)
            run.check_listed("by_name", {f"work/{n}": n.encode() for n in clean})
            globbed = sorted({n for n in clean if not n.startswith(".")}, key=str.encode)
            assert run.files("by_glob") == [f"work/out/{n}" for n in globbed], run.shell
            run.check_listed("by_glob", {f"work/out/{n}": n.encode() for n in globbed})
            run.check_listed("tree", {f"work/out/{n}": n.encode() for n in clean})
            dirs = [f.path for f in run.manifest.files if f.type == "directory"]
            assert dirs == ["work/out"], (run.shell, dirs)
        tally.passed("wdl.output_names", len(clean))
    finally:
        sb.remove()


def _env(values: list[str], n: int = OUT_BATCH) -> dict[str, str]:
    """N0..N<n-1>: the names, padded by repeating the first (the same file twice is harmless)."""
    pad = values + [values[0] if values else "pad"] * (n - len(values))
    return {f"N{i}": v for i, v in enumerate(pad[:n])}


# -- what cannot be carried at all ----------------------------------------------------------------

PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./\-\u0080-\U0010ffff]*\Z")


@budget(share=0.01, batch=1)
@given(root=root_name().filter(lambda r: not PLAIN.match(r)))
def test_a_root_a_shell_would_read_as_code_is_refused(root: str, base: Path) -> None:
    """WDL pastes paths under the task's root into the command's text (``cat ~{f}``): a root
    with a space, a quote, ``$(...)`` in it is refused by the plan checker, naming it, before
    any script exists (the local executor's root is the user's run dir)."""
    sb = Sandbox.make(base, root)
    try:
        src = source_file(base, "hostile_data.wdl", DATA)
        refused = compile_wdl(sb, src, {"xs": ["x"], "m": {}})
        msg = must_refuse(refused, root, "layout.root")
        assert "is not a plain shell word" in msg, msg
        tally.refused("wdl.root", msg)
    finally:
        sb.remove()


@budget(share=0.01, batch=1)
@given(
    before=text(long=0),
    surrogate=st.integers(0xD800, 0xDFFF).map(chr),
    after=text(long=0),
)
def test_lone_surrogates_are_refused_by_field(
    before: str, surrogate: str, after: str, base: Path
) -> None:
    """A lone surrogate (JSON can escape one; no script can hold it) is refused naming where it
    is: by miniwdl's write_lines, or by the plan checker for the command text."""
    sb = Sandbox.make(base)
    try:
        value = before + surrogate + after
        data = compile_wdl(
            sb, source_file(base, "hostile_data.wdl", DATA), {"xs": [value], "m": {}}
        )
        assert isinstance(data, Refused) and "surrogates not allowed" in data.message, data
        text_ = compile_wdl(sb, source_file(base, "hostile_heredoc.wdl", HEREDOC), {"xs": [value]})
        assert isinstance(text_, Refused), text_
        assert "command.script is not valid Unicode: a lone surrogate" in text_.message
        tally.refused("wdl.unicode", text_.message, 2)
    finally:
        sb.remove()
