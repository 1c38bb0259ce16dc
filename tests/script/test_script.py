"""The generated script's behaviour, run for real under dash, busybox sh (busybox-only PATH) and
bash: outcomes and exit codes, quoting, staging modes, capture rules and their safety checks."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import string
import subprocess
import time
from pathlib import Path

import pytest
from conftest import shells

from wfrewrite.compiler.emit import emit, printf_format
from wfrewrite.compiler.emit.contract import EXIT_CODES
from wfrewrite.compiler.plan import (
    Capture,
    Command,
    EnvVar,
    Layout,
    LiteralFile,
    Resources,
    StageItem,
    TaskPlan,
    check,
)

SHELLS = dict(shells())


def make_plan(root: Path, **kw: object) -> TaskPlan:
    lay = Layout.under(str(root))
    base: dict[str, object] = dict(
        name="t",
        lang="wdl",
        layout=lay,
        command=Command(script="echo hi\n"),
        stdout=f"{lay.root}/stdout.txt",
        stderr=f"{lay.root}/stderr.txt",
    )
    base.update(kw)
    return check(TaskPlan(**base))  # type: ignore[arg-type]


def run(plan: TaskPlan, shell: str, bb: Path, tmp: Path, *, background: bool = False):  # type: ignore[no-untyped-def]
    script = tmp / "script.sh"
    script.write_text(emit(plan))
    env = dict(os.environ, HOME=str(tmp / "host-home"), TMPDIR=str(tmp / "host-tmp"))
    if shell == "busybox":
        env["PATH"] = str(bb)
    argv = [shutil.which(SHELLS[shell][0]) or SHELLS[shell][0], *SHELLS[shell][1:], str(script)]
    if background:
        return subprocess.Popen(
            argv, env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    p = subprocess.run(
        argv, env=env, cwd=tmp, capture_output=True, text=True, timeout=60, check=False
    )
    return p, manifest(plan)


def manifest(plan: TaskPlan) -> dict:  # type: ignore[type-arg]
    path = Path(plan.layout.meta) / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


@pytest.fixture(params=list(SHELLS))
def shell(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_success_records_everything(shell: str, busybox_bin: Path, tmp_path: Path) -> None:
    root = tmp_path / "task"
    plan = make_plan(
        root,
        command=Command(script='echo "$HOME $TMPDIR"; mkdir d; echo x > d/y; echo z > z.txt\n'),
        outputs=("d", "z", "s"),
        captures=(
            Capture(output="d", kind="directory", pattern="d"),
            Capture(output="z", kind="path", pattern="z.txt"),
            Capture(output="s", kind="stdout"),
        ),
    )
    p, m = run(plan, shell, busybox_bin, tmp_path)
    assert p.returncode == 0, p.stderr
    assert m["status"] == "succeeded" and m["rc"] == 0 and m["partial"] is False
    assert (root / "stdout.txt").read_text() == f"{root}/home {root}/tmp\n"
    paths = {(f["output"], f["path"]) for f in m["files"]}
    assert paths == {("d", "work/d"), ("d", "work/d/y"), ("z", "work/z.txt"), ("s", "stdout.txt")}
    z = next(f for f in m["files"] if f["output"] == "z")
    assert z["size"] == 2 and z["sha1"] == "3a710d2a84f856bc4e1c0bbb93ca517893c48691"
    assert not (tmp_path / "host-home").exists() and not (tmp_path / "host-tmp").exists()
    assert not list(Path(plan.layout.meta).glob("*.tmp"))


@pytest.mark.parametrize(
    ("command", "codes", "status"),
    [
        ("exit 3\n", {}, "command_failed"),
        ("exit 75\n", {"temporary_fail_codes": (75,)}, "command_tempfail"),
        ("exit 0\n", {"permanent_fail_codes": (0,)}, "command_failed"),
        ("exit 9\n", {"success_codes": None}, "succeeded"),
        ("exit 2\n", {"success_codes": (0, 2)}, "succeeded"),
    ],
)
def test_outcomes(
    shell: str, busybox_bin: Path, tmp_path: Path, command: str, codes: dict, status: str
) -> None:  # type: ignore[type-arg]
    plan = make_plan(tmp_path / "task", command=Command(script=command), **codes)
    p, m = run(plan, shell, busybox_bin, tmp_path)
    assert m["status"] == status
    assert p.returncode == EXIT_CODES[status]
    assert m["rc"] == int(command.split()[1])
    assert (tmp_path / "task" / "wfrewrite" / "rc").read_text().strip() == str(m["rc"])


def test_missing_input_fails_staging(shell: str, busybox_bin: Path, tmp_path: Path) -> None:
    root = tmp_path / "task"
    plan = make_plan(
        root, stage=(StageItem(source=str(tmp_path / "nope.txt"), path=f"{root}/work/in/nope.txt"),)
    )
    p, m = run(plan, shell, busybox_bin, tmp_path)
    assert p.returncode == EXIT_CODES["staging_failed"] and m["status"] == "staging_failed"
    assert "nope.txt" in m["message"] and m["rc"] is None
    assert (root / "stdout.txt").read_text() == ""  # the command never ran


def test_missing_output_names_it(shell: str, busybox_bin: Path, tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path / "task",
        outputs=("report",),
        captures=(Capture(output="report", kind="path", pattern="report.txt"),),
    )
    p, m = run(plan, shell, busybox_bin, tmp_path)
    assert p.returncode == EXIT_CODES["collection_failed"]
    assert "output 'report'" in m["message"] and "report.txt" in m["message"]


def test_failed_command_still_collects_partially(
    shell: str, busybox_bin: Path, tmp_path: Path
) -> None:
    plan = make_plan(
        tmp_path / "task",
        command=Command(script="echo partial > a.txt; echo oops >&2; exit 4\n"),
        outputs=("a", "b"),
        captures=(
            Capture(output="a", kind="path", pattern="a.txt"),
            Capture(output="b", kind="path", pattern="b.txt"),
        ),
    )
    _p, m = run(plan, shell, busybox_bin, tmp_path)
    assert m["status"] == "command_failed" and m["partial"] is True and m["rc"] == 4
    assert [f["path"] for f in m["files"]] == ["work/a.txt"]
    assert (tmp_path / "task" / "stderr.txt").read_text() == "oops\n"


@pytest.mark.parametrize(
    ("command", "capture"),
    [
        ("ln -s /etc/passwd out.txt\n", Capture(output="o", kind="path", pattern="out.txt")),
        ("ln -s /etc d\n", Capture(output="o", kind="glob", pattern="d/passwd")),
        ("mkdir d; ln -s /etc/hostname d/h\n", Capture(output="o", kind="directory", pattern="d")),
        ("ln -s ../../.. up\n", Capture(output="o", kind="directory", pattern="up")),
    ],
)
def test_escapes_are_refused(
    shell: str, busybox_bin: Path, tmp_path: Path, command: str, capture: Capture
) -> None:
    plan = make_plan(
        tmp_path / "task", command=Command(script=command), outputs=("o",), captures=(capture,)
    )
    _p, m = run(plan, shell, busybox_bin, tmp_path)
    assert m["status"] == "collection_failed", m
    assert "outside" in m["message"] and m["partial"] is True
    assert all(f["type"] == "directory" for f in m["files"]), "the escaping file must not be listed"


@pytest.mark.parametrize(
    "capture",
    [
        Capture(output="o", kind="directory", pattern="d"),
        Capture(output="o", kind="tree", pattern=".", required=False, exclude="_inputs"),
        Capture(output="o", kind="glob", pattern="d", required=False, files_only=False),
    ],
)
def test_a_newline_in_a_directory_output_is_refused_by_name(
    shell: str, busybox_bin: Path, tmp_path: Path, capture: Capture
) -> None:
    """``find`` lists a name a line: a file named "a<newline>b" (and a file "a" beside it)
    used to read as "a" twice and a relative "b", and failed as a dangling symlink or listed
    the wrong files. It is refused, naming the output and the newline; a newline under the
    excluded dir (the staged inputs) is no output and no matter."""
    script = "mkdir -p d _inputs; : > d/a; : > \"$(printf 'd/a\\nb')\"\n"
    plan = make_plan(
        tmp_path / "task", command=Command(script=script), outputs=("o",), captures=(capture,)
    )
    _p, m = run(plan, shell, busybox_bin, tmp_path)
    assert m["status"] == "collection_failed", m
    assert "output 'o'" in m["message"] and "has a newline" in m["message"], m["message"]
    assert [f["path"] for f in m["files"] if f["type"] == "file"].count("work/d/a") <= 1
    excluded = make_plan(
        tmp_path / "task2",
        command=Command(script="mkdir _inputs; : > \"$(printf '_inputs/a\\nb')\"; : > ok\n"),
        outputs=("o",),
        captures=(capture,) if capture.kind == "tree" else (),
    )
    _p, m = run(excluded, shell, busybox_bin, tmp_path)
    assert m["status"] == "succeeded", m["message"]


def test_glob_semantics(shell: str, busybox_bin: Path, tmp_path: Path) -> None:
    """Files only, sorted bytewise, no hidden files, spaces kept, no match is not an error."""
    plan = make_plan(
        tmp_path / "task",
        command=Command(script="touch 'b c.txt' a.txt B.txt .h.txt; mkdir dir.txt\n"),
        outputs=("g", "none"),
        captures=(
            Capture(output="g", kind="glob", pattern="*.txt", required=False),
            Capture(output="none", kind="glob", pattern="*.bam", required=False),
        ),
    )
    p, m = run(plan, shell, busybox_bin, tmp_path)
    assert m["status"] == "succeeded", p.stderr
    assert [f["path"] for f in m["files"]] == ["work/B.txt", "work/a.txt", "work/b c.txt"]


HOSTILE = [
    "it's",
    'say "hi"',
    "$(touch pwned)",
    "`touch pwned`",
    "back\\slash \\n",
    "100% %s %d",
    "line1\nline2",
    "tab\there",
    "WF_COMMAND",
    "ünïcødé ✓",
    "-n",
    "",
]


def test_values_never_become_code(shell: str, busybox_bin: Path, tmp_path: Path) -> None:
    root = tmp_path / "task"
    env = tuple(EnvVar(name=f"V{i}", value=v) for i, v in enumerate(HOSTILE))
    script = (
        "".join(f'printf "%s|" "$V{i}" >> env.out\n' for i in range(len(HOSTILE)))
        + "WF_COMMAND=1\n"
    )
    contents = [v.encode() for v in HOSTILE] + [bytes(range(256)), b"no newline at end"]
    literals = tuple(
        LiteralFile(path=f"{root}/work/lit{i}", content=c) for i, c in enumerate(contents)
    )
    plan = make_plan(root, env=env, literals=literals, command=Command(script=script))
    p, m = run(plan, shell, busybox_bin, tmp_path)
    assert m["status"] == "succeeded", p.stderr
    assert (root / "work" / "env.out").read_text() == "".join(v + "|" for v in HOSTILE)
    for i, c in enumerate(contents):
        assert (root / "work" / f"lit{i}").read_bytes() == c, i
    assert not list(tmp_path.rglob("pwned"))


def test_lines_that_begin_like_the_delimiter_keep_their_bytes(
    shell: str, busybox_bin: Path, tmp_path: Path
) -> None:
    """dash (0.5.12) drops the byte after a heredoc line's first characters when they spell
    the start of the delimiter and that byte is not ASCII: the command line "W\\xc3\\xa9" read
    as "W\\xa9" (delimiter WF_COMMAND). The emitter picks a delimiter no line begins to spell
    out so."""
    root = tmp_path / "task"
    lines = ["Wé", "WF_é", "WF_COMMANDé", "WF_COMMAND", "WF_COMMAND_1\u0094", "W\U0001f4a5", "é"]
    script = "cat <<'END' > out.txt\n" + "\n".join(lines) + "\nEND\n"
    plan = make_plan(
        root,
        command=Command(script=script),
        stage=(StageItem(source=str(tmp_path / "Wé.txt"), path=f"{root}/work/in/Wé.txt"),),
    )
    (tmp_path / "Wé.txt").write_text("x")
    p, m = run(plan, shell, busybox_bin, tmp_path)
    assert m["status"] == "succeeded", p.stderr
    assert (root / "wfrewrite" / "command").read_bytes() == script.encode()
    assert (root / "work" / "out.txt").read_text() == "\n".join(lines) + "\n"
    assert (root / "work" / "in" / "Wé.txt").read_text() == "x"


def test_argv_command_needs_no_shell(shell: str, busybox_bin: Path, tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path / "task",
        command=Command(argv=("printf", "%s\\n", "a b", "$HOME", "'q'"), shell="none"),
    )
    p, m = run(plan, shell, busybox_bin, tmp_path)
    assert m["status"] == "succeeded", p.stderr
    assert (tmp_path / "task" / "stdout.txt").read_text() == "a b\n$HOME\n'q'\n"


@pytest.mark.parametrize("mode", ["symlink", "hardlink", "copy"])
def test_link_modes(shell: str, busybox_bin: Path, tmp_path: Path, mode: str) -> None:
    root = tmp_path / "task"
    src = tmp_path / "src"
    (src / "dir").mkdir(parents=True)
    (src / "a.txt").write_text("A")
    (src / "dir" / "f").write_text("F")
    (root / "stage" / "0").mkdir(parents=True)
    (root / "stage" / "0" / "s.txt").write_text("S")
    plan = make_plan(
        root,
        link_mode=mode,
        layout=Layout.under(str(root), stage=str(root / "stage")),
        stage=(
            StageItem(source=str(src / "a.txt"), path=f"{root}/work/in/a.txt", size=1),
            StageItem(source=str(src / "dir"), path=f"{root}/work/in/dir", kind="directory"),
            StageItem(source="0/s.txt", path=f"{root}/work/in/s.txt"),
            StageItem(source=str(src / "a.txt"), path=f"{root}/work/w.txt", writable=True),
        ),
        command=Command(script="cat in/a.txt in/dir/f in/s.txt; echo changed > w.txt\n"),
    )
    p, m = run(plan, shell, busybox_bin, tmp_path)
    assert m["status"] == "succeeded", p.stderr
    assert (root / "stdout.txt").read_text() == "AFS"
    assert (src / "a.txt").read_text() == "A", "a writable input must be a copy"
    s = root / "work" / "in" / "s.txt"
    if mode == "symlink":
        assert os.readlink(s) == "../../stage/0/s.txt", "links inside the task's area are relative"
        assert os.readlink(root / "work" / "in" / "a.txt") == str(src / "a.txt")
    else:
        assert not s.is_symlink()


def test_probe_fails_fast_naming_the_tool(busybox_bin: Path, tmp_path: Path) -> None:
    plan = make_plan(tmp_path / "task", command=Command(script="echo hi\n", shell="bash"))
    p, m = run(plan, "busybox", busybox_bin, tmp_path)
    assert p.returncode == EXIT_CODES["probe_failed"]
    assert "'bash'" in m["message"] and m["rc"] is None


def test_sigterm_is_recorded(shell: str, busybox_bin: Path, tmp_path: Path) -> None:
    plan = make_plan(tmp_path / "task", command=Command(script="echo started; sleep 30\n"))
    proc = run(plan, shell, busybox_bin, tmp_path, background=True)
    out = tmp_path / "task" / "stdout.txt"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (out.exists() and out.read_text()):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == EXIT_CODES["terminated"]
    assert manifest(plan)["status"] == "terminated"


def test_time_limit_stops_the_command(shell: str, busybox_bin: Path, tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path / "task",
        command=Command(argv=("sleep", "20"), shell="none"),
        resources=Resources(time_limit=1),
        success_codes=None,
    )
    started = time.monotonic()
    p, m = run(plan, shell, busybox_bin, tmp_path)
    assert time.monotonic() - started < 10
    assert m["status"] == "command_failed", "over the limit is a failure, whatever the codes"
    assert p.returncode == EXIT_CODES["command_failed"]
    assert "time limit of 1 s" in m["message"] and m["rc"] != 0


def test_time_limit_not_reached(shell: str, busybox_bin: Path, tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path / "task",
        command=Command(script="echo quick\n"),
        resources=Resources(time_limit=30),
    )
    started = time.monotonic()
    p, m = run(plan, shell, busybox_bin, tmp_path)
    assert m["status"] == "succeeded", p.stderr
    assert time.monotonic() - started < 10, "the watchdog must not hold the script"
    assert not (tmp_path / "task" / "wfrewrite" / "timed_out").exists()


def test_command_runs_in_the_work_alias(shell: str, busybox_bin: Path, tmp_path: Path) -> None:
    """With a work alias the command's directory is the alias (the executor mounts the work dir
    there; here a symlink stands in for the mount)."""
    root = tmp_path / "task"
    alias = tmp_path / "alias"
    (root / "work").mkdir(parents=True)
    alias.symlink_to(root / "work")
    plan = make_plan(
        root,
        layout=dataclasses.replace(Layout.under(str(root)), work_alias=str(alias)),
        command=Command(script="pwd > where.txt\n"),
        outputs=("w",),
        captures=(Capture(output="w", kind="path", pattern="where.txt"),),
    )
    p, m = run(plan, shell, busybox_bin, tmp_path)
    assert m["status"] == "succeeded", p.stderr
    assert (root / "work" / "where.txt").read_text().strip() == str(alias)
    assert [f["path"] for f in m["files"]] == ["work/where.txt"]


def test_printf_format_escapes() -> None:
    assert printf_format(b"50% \\") == "50%% \\\\"
    assert printf_format(b"\x01\n\t") == "\\001\n\t"
    assert printf_format(b"\xff") == "\\377"
    assert printf_format(b"-n x") == "\\055n x"


def test_delimiter_choice() -> None:
    from wfrewrite.compiler.diagnostics import PlanError
    from wfrewrite.compiler.emit.script import _delimiter

    assert _delimiter("echo\n", "WF_COMMAND") == "WF_COMMAND"
    assert _delimiter("WF_COMMAND\n", "WF_COMMAND") == "WF_COMMAND_1"
    assert _delimiter("WF_COMMAND_1é\nWF_COMMAND\n", "WF_COMMAND") == "WF_COMMAND_2"
    assert _delimiter("Wé\n", "WF_COMMAND") == "AWF_COMMAND"
    assert _delimiter("Wé\nA\n", "WF_COMMAND") == "BWF_COMMAND"
    every = "".join(f"{c}é\n" for c in string.ascii_letters + string.digits + "_")
    with pytest.raises(PlanError, match="no heredoc delimiter is safe"):
        _delimiter(every, "WF_COMMAND")
