"""Hostile values through the CWL front end (cwltool) and the compiled script, run under dash,
busybox ash and bash (tests/hostile/hostile.py has the values, the sandbox and the budget).

What "the command sees exactly the value" means for each channel:

- argv words (``inputBinding``, ``prefix``, ``itemSeparator``, ``arguments`` with
  ``valueFrom``): cwltool builds the command line; every word of it reaches the command's
  ``"$@"`` byte for byte, with no shell in between (and, under ShellCommandRequirement, through
  cwltool's quoting and the script's /bin/sh, the same words);
- literal ``valueFrom``/``envValue``/``entry`` strings in the tool document: the word, variable
  or file is the literal, as CWL's interpolation reads it (``\\$(`` and ``\\\\`` escapes, the
  surrounding whitespace of an interpolated string stripped);
- EnvVarRequirement: the command's environment holds exactly the value;
- InitialWorkDir entries and File literals (``basename`` + ``contents``): a file at exactly that
  name holding exactly those bytes; real File inputs: staged under their basenames, the same
  bytes;
- output globs: the files the command made, listed in the manifest under exactly their names.

The task's root itself has a hostile name here (an argv command takes any; one a shell runs
needs a plain one, see the plan checker). Refusals must name what they refuse: a control
character in a path, a NUL in an argv word or a variable, a variable name that is not a shell
identifier.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hostile import (
    LINK_MODES,
    PLACEMENTS,
    Refused,
    Sandbox,
    budget,
    compile_cwl,
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

from wfrewrite.compiler.jsonyaml import json_for_yaml
from wfrewrite.compiler.plan import TaskPlan


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-cwl")


def tool(doc: dict[str, Any]) -> str:
    """A CWL document as JSON text (JSON is YAML; written as cwltool's loader reads it
    exactly)."""
    return json_for_yaml(json.dumps({"cwlVersion": "v1.2", "class": "CommandLineTool", **doc}))


def must_compile(plan: TaskPlan | Refused) -> TaskPlan:
    assert not isinstance(plan, Refused), f"refused: {plan.message}"
    return plan


def must_refuse(plan: TaskPlan | Refused, value: str, *fields: str) -> str:
    assert isinstance(plan, Refused), f"{value!r} was not refused"
    msg = plan.message
    assert mentions(msg, value), f"the refusal does not name {value!r}: {msg}"
    assert any(f in msg for f in fields), f"the refusal does not name {fields}: {msg}"
    return msg


def nul_words(words: list[str]) -> bytes:
    return b"".join(w.encode() + b"\0" for w in words)


PRINT_ARGV = 'for a; do printf "%s\\000" "$a"; done > argv.bin'


# -- argv words -----------------------------------------------------------------------------------

ARGV_BATCH = 24


def argv_tool(shell: bool) -> str:
    return tool(
        {
            **({"requirements": {"ShellCommandRequirement": {}}} if shell else {}),
            "baseCommand": ["sh", "-c", PRINT_ARGV, "wfr-argv"],
            "inputs": {
                "words": {"type": "string[]", "inputBinding": {"position": 1}},
                "opt": {
                    "type": "string",
                    "inputBinding": {"position": 2, "prefix": "--opt=", "separate": False},
                },
                "joined": {
                    "type": "string[]",
                    "inputBinding": {"position": 3, "itemSeparator": ","},
                },
            },
            "arguments": [
                {"position": 4, "valueFrom": "$(inputs.opt)"},
                {"position": 5, "prefix": "-p", "valueFrom": "x$(inputs.opt)y"},
            ],
            "outputs": {"argv": {"type": "File", "outputBinding": {"glob": "argv.bin"}}},
        }
    )


@budget(share=0.12, batch=ARGV_BATCH)
@given(
    words=st.lists(text(nul=True), min_size=ARGV_BATCH - 4, max_size=ARGV_BATCH - 4),
    opt=text(nul=True),
    joined=st.lists(text(), min_size=1, max_size=3),
    shell=st.booleans(),
    data=st.data(),
)
def test_argv_words_reach_the_command_exactly(
    words: list[str],
    opt: str,
    joined: list[str],
    shell: bool,
    data: st.DataObject,
    base: Path,
    busybox_bin: Path,
) -> None:
    """Every word cwltool binds (positional, prefixed, joined by itemSeparator, valueFrom
    ``$(inputs.opt)`` and ``x$(inputs.opt)y``) is exactly one argument of the command: the
    argv command runs with no shell in between; under ShellCommandRequirement cwltool quotes
    each word for the script's /bin/sh. A NUL cannot be an argument: refused, naming the
    command."""
    root = data.draw(root_name(plain=shell), label="root")
    sb = Sandbox.make(base, root)
    try:
        src = source_file(base, f"argv_{'shell' if shell else 'plain'}.cwl", argv_tool(shell))
        channel = "cwl.argv_shell" if shell else "cwl.argv"
        clean = []
        for w in [*words, opt]:
            if "\x00" in w:
                refused = compile_cwl(sb, src, {"words": [w], "opt": "", "joined": ["j"]})
                assert isinstance(refused, Refused), repr(w)
                assert "command contains a NUL byte" in refused.message, refused.message
                tally.refused(channel, refused.message)
            elif w is not opt:
                clean.append(w)
        opt = "" if "\x00" in opt else opt
        plan = must_compile(compile_cwl(sb, src, {"words": clean, "opt": opt, "joined": joined}))
        f = sb.fill
        expected = [
            *f(clean),
            "--opt=" + f(opt),
            ",".join(f(joined)),
            f(opt),
            "-p",
            "x" + f(opt) + "y",
        ]
        if not shell:
            assert list(plan.command.argv[4:]) == expected, "cwltool bound other words"
        for run in run_everywhere(sb, plan, busybox_bin):
            succeeded(run)
            assert run.read("work/argv.bin") == nul_words(expected), run.shell
            run.check_listed("argv", {"work/argv.bin": nul_words(expected)})
        tally.passed(channel, len(clean) + 1 + len(joined))
    finally:
        sb.remove()


PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./\-\u0080-\U0010ffff]*\Z")


@budget(share=0.01, batch=1)
@given(root=root_name().filter(lambda r: not PLAIN.match(r)))
def test_a_shell_command_refuses_a_root_a_shell_would_read(root: str, base: Path) -> None:
    """Under ShellCommandRequirement cwltool quotes each word, but ``shellQuote: false`` pastes
    paths under the root into the command's text as they are: a root a shell would read as
    code is refused, naming it; the same tool without the requirement (an argv command) runs
    in that root (test_argv_words_reach_the_command_exactly)."""
    sb = Sandbox.make(base, root)
    try:
        src = source_file(base, "argv_shell.cwl", argv_tool(True))
        refused = compile_cwl(sb, src, {"words": ["w"], "opt": "o", "joined": ["j"]})
        msg = must_refuse(refused, root, "layout.root")
        assert "is not a plain shell word" in msg, msg
        tally.refused("cwl.root", msg)
    finally:
        sb.remove()


# -- literals in the tool document ----------------------------------------------------------------

LITERAL_BATCH = 6


def cwl_literal(s: str) -> str:
    """``s`` written so that CWL's interpolation gives it back: only a string holding ``$(`` or
    ``${`` is interpolated, and then ``\\$(``, ``\\${`` and ``\\\\`` are its escapes."""
    if "$(" not in s and "${" not in s:
        return s
    return s.replace("\\", "\\\\").replace("$(", "\\$(").replace("${", "\\${")


def interpolated(s: str, *, strip: bool = True) -> str:
    """What CWL makes of ``cwl_literal(s)``: an interpolated argument or variable is stripped
    of its surrounding whitespace (cwltool); an InitialWorkDir entry is not."""
    return s.strip() if strip and ("$(" in s or "${" in s) else s


@budget(share=0.05, batch=LITERAL_BATCH)
@given(
    literals=st.lists(text(nul=False, long=500), min_size=LITERAL_BATCH, max_size=LITERAL_BATCH),
    root=root_name(),
)
def test_literal_value_froms_reach_the_command(
    literals: list[str], root: str, base: Path, busybox_bin: Path
) -> None:
    """Hostile literals written in the tool document itself (``arguments`` valueFrom,
    EnvVarRequirement envValue, an InitialWorkDir entry's contents): the command gets exactly
    what CWL's interpolation makes of them, as an argument, a variable and a file."""
    sb = Sandbox.make(base, root)
    try:
        lits = [x.replace("@OUT@", str(sb.outside)) for x in literals]
        doc = tool(
            {
                "requirements": {
                    "EnvVarRequirement": {
                        "envDef": {f"L{i}": cwl_literal(x) for i, x in enumerate(lits)}
                    },
                    "InitialWorkDirRequirement": {
                        "listing": [
                            {"entryname": f"lit{i}.txt", "entry": cwl_literal(x)}
                            for i, x in enumerate(lits)
                        ]
                    },
                },
                "baseCommand": [
                    "sh",
                    "-c",
                    PRINT_ARGV
                    + "; printf '%s\\000' "
                    + " ".join(f'"$L{i}"' for i in range(len(lits)))
                    + " > env.bin",
                    "wfr-literal",
                ],
                "arguments": [
                    {"position": i, "valueFrom": cwl_literal(x)} for i, x in enumerate(lits)
                ],
                "inputs": {},
                "outputs": {},
            }
        )
        src = source_file(base, "literals.cwl", doc)
        plan = compile_cwl(sb, src, {})
        if isinstance(plan, Refused):  # an InitialWorkDir entry may not be empty, say
            pytest.fail(f"refused: {plan.message}")
        expect = [interpolated(x) for x in lits]
        for run in run_everywhere(sb, plan, busybox_bin):
            succeeded(run)
            assert run.read("work/argv.bin") == nul_words(expect), run.shell
            assert run.read("work/env.bin") == nul_words(expect), run.shell
            for i, x in enumerate(lits):
                got = run.read(f"work/lit{i}.txt")
                assert got == interpolated(x, strip=False).encode(), (run.shell, i)
        tally.passed("cwl.literal_valueFrom", len(lits))
    finally:
        sb.remove()


# -- EnvVarRequirement ----------------------------------------------------------------------------

ENV_BATCH = 16
ENV_TOOL = tool(
    {
        "requirements": {
            "EnvVarRequirement": {
                "envDef": [
                    {"envName": f"E{i}", "envValue": f"$(inputs.env[{i}])"}
                    for i in range(ENV_BATCH)
                ]
            }
        },
        "baseCommand": [
            "sh",
            "-c",
            "printf '%s\\000' " + " ".join(f'"$E{i}"' for i in range(ENV_BATCH)) + " > env.bin",
        ],
        "inputs": {"env": "string[]"},
        "outputs": {"e": {"type": "File", "outputBinding": {"glob": "env.bin"}}},
    }
)


@budget(share=0.07, batch=ENV_BATCH)
@given(
    values=st.lists(text(nul=True), min_size=ENV_BATCH, max_size=ENV_BATCH),
    root=root_name(),
)
def test_env_values_reach_the_environment_exactly(
    values: list[str], root: str, base: Path, busybox_bin: Path
) -> None:
    """EnvVarRequirement values from inputs: the command's environment holds exactly each one;
    a NUL is refused, naming the variable."""
    sb = Sandbox.make(base, root)
    try:
        src = source_file(base, "env.cwl", ENV_TOOL)
        clean = list(values)
        for i, v in enumerate(values):
            if "\x00" in v:
                refused = compile_cwl(sb, src, {"env": [""] * i + [v] + [""] * (ENV_BATCH - i - 1)})
                assert isinstance(refused, Refused), repr(v)
                assert f"environment variable E{i} contains a NUL byte" in refused.message
                tally.refused("cwl.env", refused.message)
                clean[i] = ""
        plan = must_compile(compile_cwl(sb, src, {"env": clean}))
        for run in run_everywhere(sb, plan, busybox_bin):
            succeeded(run)
            assert run.read("work/env.bin") == nul_words(sb.fill(clean)), run.shell
        tally.passed("cwl.env", sum(1 for v in values if "\x00" not in v))
    finally:
        sb.remove()


@budget(share=0.01, batch=1)
@given(env_name=text(long=0).filter(lambda s: not s.isidentifier() or not s.isascii()))
def test_env_names_that_are_not_identifiers_are_refused(env_name: str, base: Path) -> None:
    """An envName that is no shell identifier cannot be exported: refused by name (by cwltool
    or the plan checker), never written into the script."""
    sb = Sandbox.make(base)
    try:
        doc = tool(
            {
                "requirements": {
                    "EnvVarRequirement": {"envDef": [{"envName": env_name, "envValue": "v"}]}
                },
                "baseCommand": ["true"],
                "inputs": {},
                "outputs": {},
            }
        )
        refused = compile_cwl(sb, source_file(base, "envname.cwl", doc), {})
        assert isinstance(refused, Refused), repr(env_name)
        tally.refused("cwl.env_name", refused.message)
    finally:
        sb.remove()


# -- InitialWorkDir entries, File literals and File inputs ----------------------------------------

IWD_BATCH = 6
SEEN = 'for f; do cat -- "$f"; printf "\\000"; done > seen.bin'
IWD_TOOL = tool(
    {
        "requirements": {
            "InitialWorkDirRequirement": {
                "listing": [
                    *(
                        {"entryname": f"$(inputs.names[{i}])", "entry": f"$(inputs.texts[{i}])"}
                        for i in range(IWD_BATCH)
                    ),
                    "$(inputs.files)",
                ]
            }
        },
        "baseCommand": ["sh", "-c", SEEN, "wfr-seen"],
        "inputs": {
            "names": {"type": "string[]", "inputBinding": {"position": 1}},
            "texts": "string[]",
            "filenames": {"type": "string[]", "inputBinding": {"position": 2}},
            "files": "File[]",
            "literals": {"type": "File[]", "inputBinding": {"position": 3}},
        },
        "outputs": {"seen": {"type": "File", "outputBinding": {"glob": "seen.bin"}}},
    }
)


@budget(share=0.10, batch=IWD_BATCH * 3)
@given(
    entry_names=names(IWD_BATCH),
    texts=st.lists(text(nul=True, long=2000), min_size=IWD_BATCH, max_size=IWD_BATCH),
    file_names=names(IWD_BATCH),
    file_contents=st.lists(content(), min_size=IWD_BATCH, max_size=IWD_BATCH),
    literal_names=names(IWD_BATCH),
    literal_texts=st.lists(text(nul=True, long=1000), min_size=IWD_BATCH, max_size=IWD_BATCH),
    root=root_name(),
    where=st.tuples(st.sampled_from(PLACEMENTS), st.sampled_from(LINK_MODES)),
)
def test_created_and_staged_files_have_their_names_and_bytes(
    entry_names: list[str],
    texts: list[str],
    file_names: list[str],
    file_contents: list[bytes],
    literal_names: list[str],
    literal_texts: list[str],
    root: str,
    where: tuple[str, str],
    base: Path,
    busybox_bin: Path,
) -> None:
    """InitialWorkDir entries named and filled from inputs, File inputs staged in the work dir
    (``$(inputs.files)``) and File literals of the job (``basename`` + ``contents``, staged
    under the inputs dir): each file is at exactly its name with exactly its bytes (NULs,
    leading dashes, '%' and '\\' sequences, 255-byte names), and the command reads it there. A
    control character in a name is refused by the plan checker, naming the path. (Real files
    are given by ``location``, a file URI: a job's ``path`` is a URI reference to cwltool,
    whose '%41', '?' and '#' would not name the file.)"""
    sb = Sandbox.make(base, root)
    reserved = {"seen.bin", *(f"pad{i}" for i in range(IWD_BATCH))}
    try:
        src = source_file(base, "iwd.cwl", IWD_TOOL)
        pads = [f"pad{i}" for i in range(IWD_BATCH)]
        empty: dict[str, Any] = {
            "names": pads,
            "texts": [""] * IWD_BATCH,
            "filenames": [],
            "files": [],
            "literals": [],
        }

        def refuse(n: str, job: dict[str, Any]) -> None:
            tally.refused(
                "cwl.file_names", must_refuse(compile_cwl(sb, src, empty | job), n, "path")
            )

        # InitialWorkDir entries (names unique: two entries may not share one)
        entries: dict[str, str] = {}
        for n, t in zip(entry_names, texts, strict=True):
            if n in reserved or n in entries:
                continue
            if has_control(n):
                refuse(n, {"names": [n, *pads[1:]]})
            else:
                entries[n] = t
        # real files staged in the work dir under their basenames
        files: dict[str, bytes] = {}
        paths: dict[str, Path] = {}
        for i, (n, data) in enumerate(zip(file_names, file_contents, strict=True)):
            if n in reserved or n in entries or n in files:
                continue
            path = sb.inputs / f"f{i}" / n
            path.parent.mkdir()
            path.write_bytes(data)
            if has_control(n):
                refuse(n, {"files": [{"class": "File", "location": path.as_uri()}]})
            else:
                files[n], paths[n] = data, path
        # File literals of the job
        literals: list[tuple[str, str]] = []
        for n, t in zip(literal_names, literal_texts, strict=True):
            lit = {"class": "File", "basename": n, "contents": t}
            if has_control(n):
                refuse(n, {"literals": [lit]})
            else:
                literals.append((n, t))
        job = {
            "names": list(entries),
            "texts": list(entries.values()) + [""] * (IWD_BATCH - len(entries)),
            "filenames": list(files),
            "files": [{"class": "File", "location": paths[n].as_uri()} for n in files],
            "literals": [{"class": "File", "basename": n, "contents": t} for n, t in literals],
        }
        job["names"] += [f"pad{i}" for i in range(IWD_BATCH - len(entries))]
        plan = must_compile(compile_cwl(sb, src, job))
        lit_paths = [a for a in plan.command.argv[4 + len(job["names"]) + len(files) :]]
        expected = b"".join(
            [
                *(sb.fill(t).encode() + b"\0" for t in job["texts"]),
                *(d + b"\0" for d in files.values()),
                *(sb.fill(t).encode() + b"\0" for _, t in literals),
            ]
        )
        for run in run_everywhere(sb, plan, busybox_bin, placement=where[0], link_mode=where[1]):
            succeeded(run)
            assert run.read("work/seen.bin") == expected, run.shell
            for n, t in zip(job["names"], job["texts"], strict=True):
                assert run.read(f"work/{n}") == sb.fill(t).encode(), (run.shell, n)
            for n, d in files.items():
                assert run.read(f"work/{n}") == d, (run.shell, n)
            for p, (n, t) in zip(lit_paths, literals, strict=True):
                assert p.rsplit("/", 1)[1] == n, (p, n)
                assert Path(p).read_bytes() == sb.fill(t).encode(), (run.shell, p)
        tally.passed("cwl.file_names", len(entries) + len(files) + len(literals))
    finally:
        sb.remove()


# -- output globs ---------------------------------------------------------------------------------

OUT_BATCH = 16
OUT_TOOL = tool(
    {
        "baseCommand": [
            "sh",
            "-c",
            'mkdir out && for n; do printf "%s" "$n" > "out/$n"; done',
            "wfr-out",
        ],
        "inputs": {"names": {"type": "string[]", "inputBinding": {"position": 1}}},
        "outputs": {
            "g": {"type": "File[]", "outputBinding": {"glob": "out/*"}},
            "d": {"type": "Directory", "outputBinding": {"glob": "out"}},
        },
    }
)


@budget(share=0.06, batch=OUT_BATCH)
@given(outnames=names(OUT_BATCH), root=root_name())
def test_glob_results_are_listed_under_their_names(
    outnames: list[str], root: str, base: Path, busybox_bin: Path
) -> None:
    """Files the command makes under hostile names (argv words, so control characters too):
    ``glob: out/*`` and the Directory ``out`` list exactly those names, with sizes and sha1s; a
    name with a control character fails collection, naming the output and the character."""
    sb = Sandbox.make(base, root)
    try:
        src = source_file(base, "out.cwl", OUT_TOOL)
        clean = [n for n in outnames if not has_control(n)] or ["pad"]
        for n in outnames:
            if n in clean:
                continue
            plan = must_compile(compile_cwl(sb, src, {"names": [n]}))
            for run in run_everywhere(sb, plan, busybox_bin):
                m = run.manifest
                assert m.status == "collection_failed", (run.shell, m)
                assert "output 'g'" in m.message or "output 'd'" in m.message, m.message
                assert "control character" in m.message or "newline" in m.message, m.message
            tally.refused("cwl.glob_names", m.message)
        plan = must_compile(compile_cwl(sb, src, {"names": clean}))
        for run in run_everywhere(sb, plan, busybox_bin):
            succeeded(run)
            globbed = sorted({n for n in clean if not n.startswith(".")}, key=str.encode)
            assert run.files("g") == [f"work/out/{n}" for n in globbed], run.shell
            run.check_listed("g", {f"work/out/{n}": n.encode() for n in globbed})
            run.check_listed("d", {f"work/out/{n}": n.encode() for n in clean})
        tally.passed("cwl.glob_names", len(set(clean)))
    finally:
        sb.remove()


# -- long paths, and names too long to be made ----------------------------------------------------

DEEP_TOOL = tool(
    {
        "requirements": {
            "InitialWorkDirRequirement": {
                "listing": [{"entryname": "$(inputs.dest)", "entry": "$(inputs.text)"}]
            }
        },
        "baseCommand": ["sh", "-c", 'cat -- "$1" > seen.bin', "wfr-deep"],
        # (not "path": schema-salad reads a job's "path" fields as URI references)
        "inputs": {"dest": {"type": "string", "inputBinding": {"position": 1}}, "text": "string"},
        "outputs": {"seen": {"type": "File", "outputBinding": {"glob": "seen.bin"}}},
    }
)


@budget(share=0.02, batch=1)
@given(
    parts=st.lists(
        name().filter(lambda n: n != "seen.bin"),
        min_size=1,
        max_size=40,
    ),
    too_long=st.tuples(st.integers(1, 4), st.integers(256, 400)).map(
        lambda t: t[1] if t[0] == 2 else None
    ),
    data=text(nul=True, long=500),
    root=root_name(),
)
def test_long_paths_are_made_and_names_too_long_refused(
    parts: list[str], too_long: int | None, data: str, root: str, base: Path, busybox_bin: Path
) -> None:
    """An InitialWorkDir entry at a deep hostile path (up to ~3,800 bytes, 40 levels) is made
    with exactly its bytes; a name over 255 bytes cannot be made by any file system here, and
    the script fails staging, naming the path, before the command runs."""
    sb = Sandbox.make(base, root)
    try:
        if too_long:
            parts = [*parts[:-1], "x" * too_long]
        while len("/".join(parts).encode()) + len(str(sb.root)) > 3800:
            parts = parts[1:] if len(parts) > 1 else [parts[0][:100]]
        path = "/".join(parts)
        plan = compile_cwl(
            sb, source_file(base, "deep.cwl", DEEP_TOOL), {"dest": path, "text": data}
        )
        plan = must_compile(plan)
        for run in run_everywhere(sb, plan, busybox_bin):
            if too_long:
                m = run.manifest
                assert m.status == "staging_failed", (run.shell, m)
                assert "x" * too_long in m.message and m.rc is None, m.message
            else:
                succeeded(run)
                assert run.read(f"work/{path}") == sb.fill(data).encode(), run.shell
                assert run.read("work/seen.bin") == sb.fill(data).encode(), run.shell
        if too_long:
            tally.refused("cwl.long_paths", m.message)
        else:
            tally.passed("cwl.long_paths")
    finally:
        sb.remove()
