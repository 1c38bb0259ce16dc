"""The script contract (runtime/sh/contract.sh): the emitter defines exactly the names it lists,
the runtime files read no other WF_* name than those and their own, the shell and Python tables
of outcomes and exit codes agree, and every external tool the runtime runs is probed."""

from __future__ import annotations

import dataclasses
import re

import pytest
from conftest import ROOT

from wfrewrite.compiler.emit import data_section, tools_needed
from wfrewrite.compiler.emit.contract import EXIT_CODES
from wfrewrite.compiler.plan import (
    Capture,
    Command,
    FormField,
    Layout,
    LiteralFile,
    Resources,
    StageItem,
    TaskPlan,
    UrlSpec,
    check,
)

SH = ROOT / "runtime" / "sh"
CONTRACT = (SH / "contract.sh").read_text()
RUNTIME = {p.name: p.read_text() for p in sorted(SH.glob("*.sh")) if p.name != "contract.sh"}

_VAR = re.compile(r"^(WF_[A-Z0-9_]+)=\S*\s+# (always|optional|url):", re.M)
_FN = re.compile(r"^# (always|url): .*\n(?:#.*\n)*(wf_plan_[a-z_]+)\(\)", re.M)


def contract() -> dict[str, str]:
    """name -> when (always | optional | url), variables and functions alike."""
    names = {m.group(1): m.group(2) for m in _VAR.finditer(CONTRACT)}
    names.update({m.group(2): m.group(1) for m in _FN.finditer(CONTRACT)})
    return names


def defined(text: str) -> set[str]:
    return set(re.findall(r"^(WF_[A-Z0-9_]+)=", text, re.M)) | set(
        re.findall(r"^(wf_plan_[a-z_]+)\(\)", text, re.M)
    )


LAY = Layout.under("/mnt/wfr")
BASE = TaskPlan(
    name="t",
    lang="wdl",
    layout=LAY,
    stage=(StageItem(source="/d/a.txt", path="/mnt/wfr/work/a.txt"),),
    literals=(LiteralFile(path="/mnt/wfr/work/x.sh", content=b"echo\n", executable=True),),
    command=Command(script="cat a.txt\n"),
    stdout="/mnt/wfr/stdout.txt",
    stderr="/mnt/wfr/stderr.txt",
    outputs=("o",),
    captures=(Capture(output="o", kind="directory", pattern="d"),),
    resources=Resources(time_limit=5),
)
URL = BASE.replace(
    transport="url",
    url=UrlSpec(
        upload="post",
        upload_url="https://s3.example/b",
        key_prefix="r/out/",
        fields=(FormField(name="policy", value="x"),),
    ),
    stage=(StageItem(source="https://s3.example/b/a", path="/mnt/wfr/work/a.txt"),),
)
PLANS = {
    "mounted": BASE,
    "platform": BASE.replace(transport="platform"),
    "url": URL,
    "url, work dir linked": URL.replace(layout=dataclasses.replace(LAY, work_alias="/out")),
    "argv": BASE.replace(command=Command(argv=("ls", "-l"), shell="none")),
}


def test_the_contract_lists_names() -> None:
    names = contract()
    assert len([n for n in names if n.startswith("WF_")]) >= 30
    assert {n for n in names if n.startswith("wf_plan_")} == {
        "wf_plan_env", "wf_plan_stage", "wf_plan_fields", "wf_plan_ca", "wf_plan_tools",
        "wf_plan_literals", "wf_plan_captures", "wf_plan_argv", "wf_plan_command",
    }  # fmt: skip


@pytest.mark.parametrize("name", list(PLANS))
def test_the_emitter_defines_exactly_the_contract(name: str) -> None:
    plan = check(PLANS[name])
    got = defined(data_section(plan))
    names = contract()
    must = {n for n, when in names.items() if when == "always"}
    if plan.transport == "url":
        must |= {n for n, when in names.items() if when == "url"}
    may = must | {n for n, when in names.items() if when == "optional"}
    assert must <= got, f"the data section lacks {sorted(must - got)}"
    assert got <= may, f"the data section defines {sorted(got - may)}, which contract.sh lacks"
    if name == "url, work dir linked":
        assert "WF_WORK_LINK" in got


def test_runtime_files_read_only_known_names() -> None:
    """Every WF_* name a runtime file reads is the contract's or assigned by a runtime file."""
    known = set(contract())
    for text in RUNTIME.values():
        known |= set(re.findall(r"\b(WF_[A-Z0-9_]+)=", text))
    for name, text in RUNTIME.items():
        used = set(re.findall(r"\$\{?(WF_[A-Z0-9_]+)", text))
        assert used <= known, f"{name} reads {sorted(used - known)}, defined nowhere"


def test_the_runtime_files_no_longer_disable_sc2154() -> None:
    for name, text in RUNTIME.items():
        assert "SC2154" not in text, name


def test_one_exit_code_table_in_shell_and_python() -> None:
    table = re.search(
        r"wf_exit_code\(\) \{\n    case \$1 in\n(.*?)\n    esac", RUNTIME["lib.sh"], re.S
    )
    assert table, "lib.sh has no wf_exit_code table"
    shell: dict[str, int] = {}
    for status, code in re.findall(r"^\s+([a-z_*]+)\) WF_CODE=(\d+) ;;", table.group(1), re.M):
        shell["internal_error" if status == "*" else status] = int(code)
    assert shell == EXIT_CODES
    # and nothing else in the runtime spells an exit code of its own
    for name, text in RUNTIME.items():
        rest = text.replace(table.group(0), "") if name == "lib.sh" else text
        assert not re.search(r"exit 8\d\b|CODE=8\d\b|_code=8\d\b", rest), name


# utilities a script could run; builtins of dash, busybox ash and bash (printf, kill, read...)
# are not listed: they are always there
UTILITIES = [
    "awk",
    "basename",
    "bash",
    "cat",
    "chmod",
    "cp",
    "curl",
    "cut",
    "date",
    "dd",
    "dirname",
    "env",
    "find",
    "grep",
    "head",
    "id",
    "ln",
    "ls",
    "md5sum",
    "mkdir",
    "mktemp",
    "mv",
    "nc",
    "od",
    "openssl",
    "perl",
    "python3",
    "readlink",
    "rm",
    "rmdir",
    "sed",
    "sha1sum",
    "sleep",
    "sort",
    "stat",
    "tail",
    "tee",
    "touch",
    "tr",
    "uname",
    "wc",
    "wget",
    "xargs",
]


def _code(text: str) -> str:
    """The runtime file with comments and quoted strings blanked (data, not commands): a small
    lexer for sh's quoting, and heredoc bodies (the embedded python and perl programs) dropped."""
    lines, kept, delim = text.splitlines(), [], None
    for line in lines:
        if delim is not None:
            if line.strip() == delim:
                delim = None
            kept.append("")
            continue
        m = re.search(r"<<-?\s*['\"]?([A-Za-z_]\w*)['\"]?", line)
        if m:
            delim = m.group(1)
        kept.append(line)
    assert delim is None, f"a heredoc that does not end: {delim}"
    text = "\n".join(kept)
    out: list[str] = []
    state, i, word_start = "", 0, True
    while i < len(text):
        c = text[i]
        if state == "'":
            state = "" if c == "'" else state
            out.append("\n" if c == "\n" else "")
        elif state == '"':
            if c == "\\":
                i += 1
            elif c == '"':
                state = ""
            out.append("\n" if c == "\n" else "")
        elif c == "\\":
            out.append("  ")
            i += 1
        elif c in "'\"":
            state = c
            out.append("''")
        elif c == "#" and word_start:
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        word_start = c in " \t\n;&|()"
        i += 1
    return "".join(out)


def tools_used() -> dict[str, set[str]]:
    before = r"(?:^|[;&|(){}!`]|\bthen|\bdo|\belse|\bif|\bwhile|\$\()\s*(?:exec\s+)?"
    out: dict[str, set[str]] = {}
    for name, text in RUNTIME.items():
        if name == "exec_command.sh":
            continue  # the split task's command container: not the script
        code = _code(text)
        for tool in UTILITIES:
            if re.search(before + re.escape(tool) + r"(?=\s|$|\))", code, re.M):
                out.setdefault(tool, set()).add(name)
    return out


def declared_tools() -> dict[str, set[str]]:
    section = CONTRACT[CONTRACT.index("# -- tools") :]
    kinds = {
        "always": r"probed always \(wf_probe\): ([^;\n]*); (\w+)",
        "plan": r"wf_plan_tools\):\n##\s+([^\n]*)",
        "optional": r"used only where present \(wf_have, or harmless if missing\): ([^\n]*)",
        "url": r"\(wf_url_probe\): ([^\n]*)\n##\s+([^\n]*)",
    }
    out: dict[str, set[str]] = {}
    for kind, pattern in kinds.items():
        m = re.search(pattern, section)
        assert m, f"contract.sh's tools section has no '{kind}' line"
        out[kind] = set(" ".join(m.groups()).split())
    return out


def test_every_tool_the_runtime_runs_is_probed() -> None:
    declared = declared_tools()
    everything = set().union(*declared.values())
    used = tools_used()
    assert set(used) <= everything, {t: used[t] for t in set(used) - everything}
    assert everything - set(used) <= {"sha1sum"}, "contract.sh lists tools nothing runs"  # $WF_SHA1
    probe = re.search(r"for _wp_t in ([a-z0-9 ]+); do", RUNTIME["probe.sh"])
    assert probe and set(probe.group(1).split()) | {"mkdir"} == declared["always"]
    assert "wf_need mkdir" in RUNTIME["main.sh"]
    for plan in PLANS.values():
        for tool, _ in tools_needed(check(plan)):
            assert tool in declared["plan"] | declared["always"], tool
