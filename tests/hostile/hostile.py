"""Hostile values for the property tests of tests/hostile/: hypothesis strategies, a sandbox that
proves nothing is created outside the task's directory, the runner that executes a compiled
script under dash, busybox ash (a busybox-only PATH) and bash, and the tally of cases.

    values = st.lists(text(), min_size=BATCH, max_size=BATCH)   # drawn by hypothesis
    sb = Sandbox.make(base, root)                                # base/sb-*/r/<root>/task
    plan = compile_wdl(sb, source_file(base, "t.wdl", SOURCE), {"xs": values})  # miniwdl
    for run in run_everywhere(sb, plan, busybox_bin): ...        # one ShellRun per shell
    tally.passed("wdl.write_lines", len(values))

**Budget.** ``WFREWRITE_HOSTILE_CASES`` (default ``CI_CASES``) is the number of generated cases
the whole suite aims at; each test takes its ``share`` of it in batches of ``batch`` values, so
one script run checks many cases. Without the variable the examples are derandomized (the same
cases on every run, so CI is reproducible); with it (``make test-hostile``) every run draws new
ones. A *case* is one generated value through one channel: it either passed (the command saw
exactly the value, under every shell) or was refused by name (the reason is tallied).
``pytest_terminal_summary`` in tests/conftest.py prints the tally;
``WFREWRITE_HOSTILE_REPORT=FILE`` also writes it as JSON; ``WFREWRITE_HOSTILE_SHRINK=0`` skips
shrinking a failure (a long campaign reports its first falsifying batch as drawn).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import shells
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from wfrewrite.compiler.diagnostics import WfError
from wfrewrite.compiler.emit.contract import EXIT_CODES
from wfrewrite.compiler.plan import TaskPlan
from wfrewrite.runtime.exec.local import LocalExecutor
from wfrewrite.runtime.job import Job
from wfrewrite.runtime.manifest import Manifest, read_manifest
from wfrewrite.runtime.options import Options
from wfrewrite.runtime.transport.mounted import MountedTransport

# -- budget ---------------------------------------------------------------------------------------

CI_CASES = 800
CAMPAIGN = bool(os.environ.get("WFREWRITE_HOSTILE_CASES"))
CASES = int(os.environ.get("WFREWRITE_HOSTILE_CASES") or CI_CASES)


def budget(share: float, batch: int) -> settings:
    """Hypothesis settings for a test that checks about ``share`` of the cases, ``batch`` a run."""
    phases = list(Phase)
    if os.environ.get("WFREWRITE_HOSTILE_SHRINK") == "0":
        phases = [Phase.explicit, Phase.reuse, Phase.generate]
    return settings(
        max_examples=max(2, math.ceil(CASES * share / batch)),
        phases=phases,
        deadline=None,
        derandomize=not CAMPAIGN,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


# -- the values -----------------------------------------------------------------------------------

# Where a payload names a path outside the task's directory: the sandbox's `outside` dir, which
# must still be empty after the run. SENTINEL is the name every payload tries to create.
OUT = "@OUT@"
SENTINEL = "wfr_pwned"

METACHARS = list("$`\\\"';&|<>(){}*?[]~#!=,:@^+% \t\n")
PAYLOADS = [
    f"$(touch {OUT}/{SENTINEL})",
    f"`touch {OUT}/{SENTINEL}`",
    f";touch {OUT}/{SENTINEL}",
    f"&& touch {OUT}/{SENTINEL} &&",
    f"| touch {OUT}/{SENTINEL}",
    f"> {OUT}/{SENTINEL}",
    f"'; touch {OUT}/{SENTINEL}; '",
    f'"; touch {OUT}/{SENTINEL}; "',
    f"\ntouch {OUT}/{SENTINEL}\n",
    f"$(touch {SENTINEL})",
    f"`touch {SENTINEL}`",
    f";touch {SENTINEL};",
    f">{SENTINEL}",
    f"${{IFS}}touch${{IFS}}{SENTINEL}",
    f"$(IFS=_;x=touch_{SENTINEL};$x)",
    "${HOME}",
    "$HOME",
    "$0",
    "$@",
    "$*",
    "$1",
    "$((1+1))",
    "${x:-default}",
    "$'\\n'",
    "WF_DATA",
    "WF_COMMAND",
    "WF_DATA_1",
    "WF_COMMAND_1",
    "WF_PEM",
    "EOF",
    "\nWF_DATA\n",
    "\nWF_COMMAND\n",
    # a line that begins to spell a heredoc delimiter, then a non-ASCII byte (dash dropped it)
    "\nWé",
    "\nWF_\u0094",
    "\nWF_COMMAND\U0001f4a5",
    "\nWF_DATA_1é",
    "%s",
    "%d",
    "%n",
    "%%",
    "%b",
    "%c",
    "%1$s",
    "\\n",
    "\\0",
    "\\000",
    "\\\\",
    "\\c",
    "\\x41",
    "\\101",
    "\\",
    "-n",
    "-e",
    "--",
    "-",
    "--help",
    "-rf",
    "-E",
    "!",
    "!!",
    "#",
    "~",
    "~root",
    "*",
    "?",
    "[a-z]",
    "[!a]",
    "{a,b}",
    "{1..3}",
    " ",
    "  ",
    "\r",
    "\r\n",
]
UNICODE = [
    "é",
    "e\u0301",  # e + combining acute
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u200b",  # zero-width space
    "\u2066",  # left-to-right isolate
    "\ufeff",  # BOM / zero-width no-break space
    "\u00a0",  # no-break space
    "\u0085",  # NEL (a C1 control, printable to the shell)
    "\u2028",  # line separator (not a line break to the shell)
    "Ω",
    "ﬁ",
    "日本語",
    "עברית",
    "العربية",
    "💥",
    "\U0001f600",
    "\U0010fffd",
    # UTF-8 with the bytes 0x81-0x88 that dash uses internally (CTLESC, CTLVAR...)
    "Ёсл",
    "\u01c1",
    "₁₂₃₄₅₆₇₈",
    "\u3081\u3082",
]
CONTROLS = [chr(c) for c in range(1, 32)] + ["\x7f"]
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _pieces(*, slash: bool, newline: bool, controls: bool, nul: bool) -> st.SearchStrategy[str]:
    def ok(s: str) -> bool:
        if not slash and "/" in s:
            return False
        if not nul and "\x00" in s:
            return False
        if not controls and CONTROL.search(s.replace("\n", "")):
            return False
        return newline or "\n" not in s

    excluded = "\x00" + ("" if slash else "/") + ("" if newline else "\n")
    if not controls:
        excluded += "".join(c for c in CONTROLS if c != "\n")
    options = [
        st.sampled_from([p for p in PAYLOADS if ok(p)]),
        st.sampled_from([c for c in METACHARS if ok(c)]),
        st.sampled_from(UNICODE),
        st.text(
            alphabet=st.characters(codec="utf-8", exclude_characters=excluded),
            min_size=1,
            max_size=6,
        ),
    ]
    if controls:
        options.append(st.sampled_from([c for c in CONTROLS if ok(c)]))
    if nul:
        options.append(st.just("\x00"))
    return st.one_of(options)


def _fill(piece: str, size: int) -> str:
    """``piece`` repeated to ``size`` bytes of UTF-8 (cut at a character boundary)."""
    data = (piece * (size // max(1, len(piece.encode())) + 1)).encode()[:size]
    return data.decode("utf-8", "ignore")


def text(
    *,
    slash: bool = True,
    newline: bool = True,
    controls: bool = True,
    nul: bool = False,
    long: int = 4000,
) -> st.SearchStrategy[str]:
    """A hostile string: payloads, metacharacters, quotes, unicode, '%' and '\\' sequences,
    heredoc delimiters, leading dashes, control characters, sometimes very long (``long``
    bytes at most; 0: never)."""
    if nul:  # about one value in eight holds a NUL (a refusal wherever it cannot be carried)
        with_nul = text(slash=slash, newline=newline, controls=controls, long=long)
        return st.tuples(with_nul, with_nul, st.integers(0, 7)).map(
            lambda t: t[0] + "\x00" + t[1] if t[2] == 4 else t[0]
        )
    pieces = _pieces(slash=slash, newline=newline, controls=controls, nul=False)
    short = st.lists(pieces, min_size=0, max_size=8).map("".join)
    if not long:
        return short
    longer = st.builds(
        _fill, st.lists(pieces, min_size=1, max_size=4).map("".join), st.integers(256, long)
    )
    return st.one_of(short, short, short, longer)


def _name_ok(name: str) -> bool:
    return name not in ("", ".", "..") and len(name.encode()) <= 255


def name(*, controls: bool = False) -> st.SearchStrategy[str]:
    """A hostile file or directory name: no '/' or NUL, not '.' or '..', at most 255 bytes
    (often exactly at or near the limit). ``controls``: with at least one control character
    (newline, tab, ESC, DEL...), which wfrewrite must refuse by name wherever it is a path."""
    pieces = _pieces(slash=False, newline=controls, controls=controls, nul=False)
    short = st.lists(pieces, min_size=1, max_size=6).map("".join)
    longest = st.builds(
        _fill,
        st.lists(pieces, min_size=1, max_size=3).map("".join),
        st.sampled_from([255, 254, 253, 200]),
    )
    base = st.one_of(short, short, short, longest)
    if controls:
        base = st.builds(
            lambda s, c, at: _cut(s[:at] + c + s[at:]),
            base,
            st.sampled_from(CONTROLS),
            st.integers(0, 300),
        )
    return base.filter(_name_ok)


def _cut(s: str) -> str:
    return s.encode()[:255].decode("utf-8", "ignore")


def names(n: int, *, refused_one_in: int = 8) -> st.SearchStrategy[list[str]]:
    """``n`` names, about one in ``refused_one_in`` with a control character."""
    # (a middle value picks the refused name: hypothesis favours the ends of a range)
    pick = refused_one_in // 2
    either = st.tuples(name(), name(controls=True), st.integers(1, refused_one_in)).map(
        lambda t: t[1] if t[2] == pick else t[0]
    )
    return st.lists(either, min_size=n, max_size=n)


def root_name(*, plain: bool = False) -> st.SearchStrategy[str]:
    """A directory name in the task's root path: hostile (quoted everywhere the script uses it;
    an argv command takes any), or ``plain`` (ASCII letters, digits, ``@%+=:,.-_`` and
    non-ASCII characters: what the plan checker accepts for a command a shell runs, whose text
    WDL and CWL's ``shellQuote: false`` paste paths into)."""
    if plain:
        pieces = st.one_of(
            st.text(alphabet="abcXYZ019_@%+=:,.-", min_size=1, max_size=8),
            st.sampled_from(UNICODE),
        )
    else:
        pieces = _pieces(slash=False, newline=False, controls=False, nul=False)
    return (
        st.lists(pieces, min_size=1, max_size=4)
        .map(lambda p: _cut("".join(p))[:60])
        .filter(lambda s: s not in ("", ".", ".."))
    )


def content() -> st.SearchStrategy[bytes]:
    """File contents: hostile text, binary (NULs too), or both; often with no final newline."""
    binary = st.binary(max_size=300)
    textual = text(nul=True).map(str.encode)
    return st.one_of(textual, binary, st.tuples(textual, binary).map(lambda t: t[0] + t[1]))


def has_control(s: str) -> bool:
    return bool(CONTROL.search(s))


# -- the sandbox ----------------------------------------------------------------------------------


@dataclass
class Sandbox:
    """A fresh directory for one example: the task's root at ``r/<hostile name>/task``, the
    inputs, the script's cwd and ``outside`` (which the payloads aim at) beside it. Everything
    but the root is snapshotted before a run and compared after it."""

    base: Path
    root: Path
    inputs: Path
    outside: Path
    cwd: Path

    @staticmethod
    def make(parent: Path, root_dir: str = "task-root") -> Sandbox:
        base = Path(tempfile.mkdtemp(prefix="sb-", dir=parent))
        for d in ("inputs", "outside", "cwd"):
            (base / d).mkdir()
        (base / "r" / root_dir).mkdir(parents=True)
        root = base / "r" / root_dir / "task"
        return Sandbox(
            base=base,
            root=root,
            inputs=base / "inputs",
            outside=base / "outside",
            cwd=base / "cwd",
        )

    def fill(self, value: Any) -> Any:
        """``value`` (a string, or lists/dicts of them) with the payloads' @OUT@ made real."""
        if isinstance(value, str):
            return value.replace(OUT, str(self.outside))
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {self.fill(k): self.fill(v) for k, v in value.items()}
        return value

    def snapshot(self) -> dict[str, tuple[Any, ...]]:
        """Every path under the sandbox but the task's root: type, mode, size, mtime, content."""
        out: dict[str, tuple[Any, ...]] = {}
        for dirpath, dirnames, filenames in os.walk(self.base):
            d = Path(dirpath)
            dirnames[:] = [n for n in dirnames if d / n != self.root]
            for n in [*dirnames, *filenames]:
                p = d / n
                if p == self.root:
                    continue
                s = p.lstat()
                entry: tuple[Any, ...] = (s.st_mode, s.st_size, s.st_mtime_ns)
                if p.is_symlink():
                    entry += (os.readlink(p),)
                elif p.is_file():
                    entry += (hashlib.sha1(p.read_bytes()).hexdigest(),)
                out[str(p.relative_to(self.base))] = entry
        return out

    def sentinels(self) -> list[str]:
        """Files a payload managed to create, anywhere in the sandbox (the root included)."""
        found = []
        for dirpath, dirnames, filenames in os.walk(self.base):
            found += [os.path.join(dirpath, n) for n in dirnames + filenames if n == SENTINEL]
        return found

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


# -- compiling ------------------------------------------------------------------------------------


@dataclass
class Refused:
    """The front end or the plan checker refused the inputs (a WfError: never a crash)."""

    error: WfError

    @property
    def message(self) -> str:
        return self.error.message


_SOURCES: dict[str, Path] = {}
_WDL_DOCS: dict[str, Any] = {}


def source_file(parent: Path, filename: str, text_: str) -> Path:
    """A source document written once per session (its path is its identity)."""
    key = f"{filename}\0{text_}"
    if key not in _SOURCES:
        d = Path(tempfile.mkdtemp(prefix="src-", dir=parent))
        (d / filename).write_text(text_, encoding="utf-8")
        _SOURCES[key] = d / filename
    return _SOURCES[key]


_written = itertools.count()


def write_json(path: Path, value: Any) -> None:
    """``value`` as JSON, the way Python's json writes it: every other file with non-ASCII
    characters escaped (astral ones as surrogate pairs), the others as raw UTF-8."""
    ascii_only = next(_written) % 2 == 0
    try:
        text_ = json.dumps(value, ensure_ascii=ascii_only)
        data = text_.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only an escape can write it
        data = json.dumps(value).encode("utf-8")
    path.write_bytes(data)


def compile_wdl(sb: Sandbox, source: Path, inputs: dict[str, Any]) -> TaskPlan | Refused:
    """``source`` with ``inputs`` through miniwdl (wfrewrite's WDL front end), rooted at the
    sandbox's task root."""
    from wfrewrite.compiler import wdl

    path = sb.inputs / "inputs.json"
    write_json(path, sb.fill(inputs))
    started = time.monotonic()
    try:
        if str(source) not in _WDL_DOCS:
            _WDL_DOCS[str(source)] = wdl.load(str(source))
        task, env = wdl.read_inputs(_WDL_DOCS[str(source)], None, str(path))
        return wdl.compile_wdl(task, env, root=str(sb.root))
    except WfError as exn:
        return Refused(exn)
    finally:
        tally.compile_seconds += time.monotonic() - started


def compile_cwl(sb: Sandbox, tool: Path, job: dict[str, Any]) -> TaskPlan | Refused:
    """``tool`` with the job object ``job`` through cwltool (wfrewrite's CWL front end)."""
    from wfrewrite.compiler import cwl

    path = sb.inputs / "job.json"
    write_json(path, sb.fill(job))
    started = time.monotonic()
    try:
        ctx = cwl.loading_context()
        loaded = cwl.read_job(str(path), str(tool), ctx)
        proc = cwl.load(str(tool), ctx)
        order = cwl.bind_job(proc, loaded, str(tool))
        return cwl.compile_cwl(proc, order, loaded.basedir, root=str(sb.root))
    except WfError as exn:
        return Refused(exn)
    finally:
        tally.compile_seconds += time.monotonic() - started


# -- running --------------------------------------------------------------------------------------

SHELLS = shells()
PLACEMENTS = ("local", "staged")
LINK_MODES = ("symlink", "hardlink", "copy")


class StagedLocal(LocalExecutor):
    """The local executor with the staging layout of the container executors (isolated: every
    input materialized under <root>/stage, the script links or copies it from there). No
    container runs here: this exercises the same plan and script on the host."""

    isolated = True


@dataclass
class ShellRun:
    shell: str
    rc: int
    stderr: str
    manifest: Manifest
    root: Path
    job: Job

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def files(self, output: str) -> list[str]:
        """The manifest's paths for ``output``, in its order."""
        return [f.path for f in self.manifest.files if f.output == output]

    def check_listed(self, output: str, expected: dict[str, bytes]) -> None:
        """The manifest lists exactly ``expected`` (path -> content) for ``output`` (files
        only), each with its size and sha1, and the files hold that content."""
        listed = {f.path: f for f in self.manifest.files if f.output == output and f.type == "file"}
        assert set(listed) == set(expected), (self.shell, output, set(listed) ^ set(expected))
        for path, data in expected.items():
            f = listed[path]
            assert f.size == len(data), (self.shell, path)
            assert f.sha1 == hashlib.sha1(data).hexdigest(), (self.shell, path)
            assert self.read(path) == data, (self.shell, path)


def executor(placement: str, link_mode: str) -> LocalExecutor:
    """The local executor as ``wfrewrite run --executor local --link-mode MODE`` builds it
    (``staged``: with the container executors' staging dir)."""
    opts = Options(executor="local", link_mode=link_mode)
    cls = StagedLocal if placement == "staged" else LocalExecutor
    return cls(opts, MountedTransport(opts))


def run_everywhere(
    sb: Sandbox,
    plan: TaskPlan,
    busybox_bin: Path,
    *,
    placement: str = "local",
    link_mode: str = "symlink",
) -> Iterator[ShellRun]:
    """Run the plan's script under every shell, each time in a fresh task root (prepared by
    the executor: the plan bound, its inputs materialized, the script emitted and written), and
    check what holds whatever the values: nothing outside the root changed, no payload created
    its sentinel, the manifest is there, verified by the runtime's own reader, and the exit code
    is its status's."""
    ex = executor(placement, link_mode)
    for shell, argv in SHELLS:
        shutil.rmtree(sb.root, ignore_errors=True)
        job = ex.prepare(plan, str(sb.root))
        script = ex.write(job)
        before = sb.snapshot()
        env = dict(os.environ, HOME=str(sb.base / "host-home"), TMPDIR=str(sb.base / "host-tmp"))
        if shell == "busybox":
            env["PATH"] = str(busybox_bin)
        exe = [shutil.which(argv[0]) or argv[0], *argv[1:], script]
        started = time.monotonic()
        p = subprocess.run(exe, env=env, cwd=sb.cwd, capture_output=True, timeout=120, check=False)
        tally.runs[shell] += 1
        tally.run_seconds += time.monotonic() - started
        stderr = p.stderr.decode("utf-8", "replace")
        after = sb.snapshot()
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        assert not changed, (
            f"{shell}: the script changed paths outside the task's root: {sorted(changed)}"
        )
        assert not sb.sentinels(), f"{shell}: a value ran as code: {sb.sentinels()}"
        manifest = read_manifest(str(sb.root), job.meta, ex.allowed_outside(job.plan))
        assert manifest is not None, f"{shell}: no manifest; the script said:\n{stderr}"
        assert p.returncode == EXIT_CODES[manifest.status], (shell, p.returncode, manifest)
        yield ShellRun(
            shell=shell, rc=p.returncode, stderr=stderr, manifest=manifest, root=sb.root, job=job
        )


def succeeded(run: ShellRun) -> None:
    assert run.manifest.status == "succeeded", (run.shell, run.manifest.message, run.stderr[-3000:])


# -- refusals -------------------------------------------------------------------------------------


def mentions(message: str, value: str) -> bool:
    """True if ``message`` names ``value``: as is, or as Python's repr writes it inside a
    quoted path (either quote style), or as the script's messages write it (control
    characters as spaces or left out)."""
    forms = {
        value,
        repr(value)[1:-1],
        repr(value + "'\"")[1:-4],
        repr(value + '"')[1:-2],
        CONTROL.sub(" ", value),
        CONTROL.sub("", value),
    }
    return any(f in message for f in forms)


_REASONS = [
    (
        r"contains a control character|has a control character|has a newline",
        "a control character in a name",
    ),
    (r"contains a NUL byte", "a NUL byte"),
    (r"not valid Unicode|surrogate", "not valid Unicode (a lone surrogate)"),
    (r"not a shell identifier", "an environment variable name that is not a shell identifier"),
    (r"is not a plain shell word", "a task root a shell would read as code"),
    (
        r"keys & values must not contain tab or newline",
        "write_map(): a tab or newline in a key or value",
    ),
    (r"cannot write|cannot create the directory", "a name longer than the file system allows"),
    (r"outside|climbs out", "a path outside the task's directory"),
]


def reason(message: str) -> str:
    """A refusal's message as a short reason, for the tally."""
    for pattern, short in _REASONS:
        if re.search(pattern, message):
            return short
    return message[:80]


# -- the tally ------------------------------------------------------------------------------------


class Tally:
    """Cases by channel and outcome: passed, or refused (by reason). A channel is "scripted"
    when its cases ran through a compiled script (under every shell), else it is a pure
    property of the front ends (reading inputs)."""

    def __init__(self) -> None:
        self.cases: Counter[tuple[str, str, str]] = Counter()
        self.pure: set[str] = set()
        self.runs: Counter[str] = Counter()
        self.run_seconds = 0.0
        self.compile_seconds = 0.0
        self.started = time.monotonic()

    def passed(self, channel: str, n: int = 1, *, scripted: bool = True) -> None:
        self.cases[(channel, "passed", "")] += n
        if not scripted:
            self.pure.add(channel)

    def refused(self, channel: str, message: str, n: int = 1) -> None:
        self.cases[(channel, "refused", reason(message))] += n

    def total(self) -> int:
        return sum(self.cases.values())

    def report(self) -> dict[str, Any]:
        channels: dict[str, dict[str, Any]] = {}
        refused: Counter[str] = Counter()
        for (channel, outcome, why), n in sorted(self.cases.items()):
            c = channels.setdefault(
                channel, {"passed": 0, "refused": {}, "scripted": channel not in self.pure}
            )
            if outcome == "passed":
                c["passed"] += n
            else:
                c["refused"][why] = c["refused"].get(why, 0) + n
                refused[why] += n
        passed = sum(c["passed"] for c in channels.values())
        return {
            "cases": self.total(),
            "passed": passed,
            "passed_through_scripts": sum(c["passed"] for c in channels.values() if c["scripted"]),
            "refused": dict(refused.most_common()),
            "shells": [s for s, _ in SHELLS],
            "script_runs": dict(self.runs),
            "script_seconds": round(self.run_seconds, 1),
            "compile_seconds": round(self.compile_seconds, 1),
            "seconds": round(time.monotonic() - self.started, 1),
            "budget": CASES,
            "campaign": CAMPAIGN,
            "channels": channels,
        }

    def lines(self) -> list[str]:
        r = self.report()
        out = [
            f"hostile values: {r['cases']} cases (budget {r['budget']}, "
            f"{'random' if r['campaign'] else 'derandomized'}): {r['passed']} passed "
            f"({r['passed_through_scripts']} through compiled scripts, each under "
            f"{', '.join(r['shells'])}), {sum(r['refused'].values())} refused by name; "
            f"{sum(r['script_runs'].values())} script runs ({r['script_seconds']} s), "
            f"compiling {r['compile_seconds']} s, {r['seconds']} s in all",
        ]
        for why, n in r["refused"].items():
            out.append(f"  refused {n:6d}  {why}")
        for channel, c in r["channels"].items():
            ref = sum(c["refused"].values())
            kind = "" if c["scripted"] else "  (no script)"
            out.append(f"  {channel:30s} passed {c['passed']:6d}  refused {ref:6d}{kind}")
        return out

    def write(self) -> None:
        path = os.environ.get("WFREWRITE_HOSTILE_REPORT")
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(json.dumps(self.report(), indent=2) + "\n")


tally = Tally()


def terminal_summary(write_line: Callable[[str], None]) -> None:
    """The tally, at the end of the session (called from tests/conftest.py)."""
    if tally.total():
        for line in tally.lines():
            write_line(line)
        tally.write()
