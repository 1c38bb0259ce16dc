"""The emitter: TaskPlan -> one self-contained POSIX sh script.

The script is the runtime's real ``.sh`` files (``wfrewrite.runtime/sh``) with a *data section*
in front of them; ``runtime/sh/contract.sh`` lists every name the data section defines. Python writes data only, quoted in exactly one place (``q``) or carried in
quoted heredocs; it never writes shell logic. For the plan in ``wfrewrite.compiler.plan``'s
docstring the data section reads

    WF_TASK=hello
    WF_ROOT=/mnt/wfr
    ...
    wf_plan_stage() {
    cat <<'WF_DATA'
    file	r	/data/names.txt	/mnt/wfr/work/_miniwdl_inputs/0/names.txt	-
    WF_DATA
    }
    wf_plan_command() {
        printf '%s' 'wc -l < /mnt/wfr/work/_miniwdl_inputs/0/names.txt > n.txt
    '
    }

followed by ``lib.sh``, the phase files, the transport's files (``TRANSPORT_FILES``) and
``wf_main "$@"``. Emitting twice is byte-identical. A plan with the ``url`` transport adds its
destinations and knobs as data, and its staging rows carry URLs and checksums:

    WF_URL_UPLOAD=put
    WF_URL_OUT=http://127.0.0.1:8089/wfr/5f2c/out/
    ...
    wf_plan_stage() {
    "$@" <<'WF_DATA'
    file	r	http://127.0.0.1:8089/wfr/5f2c/in/0/names.txt	/tmp/wfr/work/_miniwdl_inputs/0/names.txt	12	-
    WF_DATA
    }
"""

from __future__ import annotations

import functools
import shlex
import string
from importlib import resources
from typing import TYPE_CHECKING

from ..diagnostics import PlanError
from ..plan.ir import Capture, StageItem, TaskPlan

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

# Runtime files in the order they are inlined after the data section; the transport's own files
# (transport_<name>.sh: its probe, stage, unstage and commit hooks) follow stage.sh.
RUNTIME_FILES = ("lib.sh", "probe.sh", "stage.sh", "run.sh", "collect.sh", "main.sh")
TRANSPORT_FILES = {
    "mounted": ("transport_mounted.sh",),
    "url": ("url_clients.sh", "transport_url.sh"),
    "platform": ("transport_platform.sh",),
}

# Where the runtime's .sh files are (package data; loaded, never imported).
RUNTIME_PACKAGE = "wfrewrite.runtime"

_cache: dict[tuple[str, bool], str] = {}


@functools.cache
def _runtime_dir() -> Traversable:
    """The runtime's sh/ directory (found once: a lookup costs ~1 ms, one per file)."""
    return resources.files(RUNTIME_PACKAGE).joinpath("sh")


def runtime_source(name: str, *, comments: bool = True) -> str:
    """A runtime .sh file with its '##' template comments and shellcheck shell directives
    stripped; without ``comments``, every comment line but shellcheck's directives too."""
    key = (name, comments)
    if key not in _cache:
        text = _runtime_dir().joinpath(name).read_text(encoding="utf-8")
        lines = [
            ln
            for ln in text.splitlines()
            if not ln.lstrip().startswith("##")
            and not (ln.startswith("# shellcheck shell=") and name != "header.sh")
            and (comments or not ln.lstrip().startswith("# ") or "shellcheck" in ln)
        ]
        _cache[key] = "\n".join(lines).strip("\n") + "\n"
    return _cache[key]


def q(value: str) -> str:
    """The one function that quotes a value for the shell."""
    return shlex.quote(value)


def printf_format(content: bytes) -> str:
    """``content`` as a printf format that prints it back byte for byte: '%' and '\\' doubled,
    control bytes (but newline and tab) and invalid UTF-8 as ``\\ooo``, a leading '-' too (it
    would read as an option)."""
    fmt = _printf_format(content)
    return "\\055" + fmt[1:] if fmt.startswith("-") else fmt


def _printf_format(content: bytes) -> str:
    try:
        text = content.decode("utf-8")
        chars: list[str] = []
        for ch in text:
            o = ord(ch)
            if ch == "%":
                chars.append("%%")
            elif ch == "\\":
                chars.append("\\\\")
            elif ch in "\n\t" or (o >= 0x20 and o != 0x7F):
                chars.append(ch)
            else:
                chars.append(f"\\{o:03o}")
        return "".join(chars)
    except UnicodeDecodeError:
        out = []
        for b in content:
            c = chr(b)
            if c == "%":
                out.append("%%")
            elif c == "\\":
                out.append("\\\\")
            elif c in "\n\t" or 0x20 <= b < 0x7F:
                out.append(c)
            else:
                out.append(f"\\{b:03o}")
        return "".join(out)


# First letters of a fallback delimiter (a heredoc delimiter is a plain word).
_FIRST = string.ascii_uppercase + string.ascii_lowercase + string.digits + "_"


def _delimiter(body: str, tag: str) -> str:
    """A heredoc delimiter for ``body``: ``tag``, else ``tag_1``, ``tag_2``..., the first that
    is no line of the body and that no line begins to spell out with a non-ASCII byte next:
    dash drops that byte (with the delimiter EOF, a line "E\\xc3\\xa9" reads as "E\\xa9").
    Where lines starting with the tag's own first letters rule all of those out, the tag behind
    a letter no line starts with."""
    lines = body.encode("utf-8").split(b"\n")
    whole = set(body.splitlines())

    def safe(delim: str) -> bool:
        if delim in whole:
            return False
        d = delim.encode()
        for line in lines:
            if line[:1] != d[:1]:
                continue
            n = 0
            while n < len(line) and n < len(d) and line[n] == d[n]:
                n += 1
            if n < len(line) and line[n] >= 0x80:
                return False
        return True

    for n in range(len(lines) + 1):
        delim = f"{tag}_{n}" if n else tag
        if safe(delim):
            return delim
    starts = {line[:1] for line in lines}
    for c in _FIRST:
        if c.encode() not in starts:
            return c + tag
    raise PlanError(
        "no heredoc delimiter is safe for this text: its lines start with every letter and "
        "digit, and with the delimiter's first letters followed by non-ASCII characters"
    )


def heredoc(fn: str, body: str, tag: str = "WF_DATA") -> str:
    """A function printing ``body`` through a quoted heredoc whose delimiter is not a line of it."""
    if not body:
        return f"{fn}() {{\n    :\n}}\n"
    delim = _delimiter(body, tag)
    if not body.endswith("\n"):
        body += "\n"
    return f"{fn}() {{\ncat <<'{delim}'\n{body}{delim}\n}}\n"


def printer(fn: str, body: str) -> str:
    """A function printing ``body`` with the shell's own ``printf`` (a builtin in dash, BusyBox
    ash and bash: no fork, where a heredoc needs ``cat``), ``body`` one word quoted by ``q``."""
    if not body:
        return f"{fn}() {{\n    :\n}}\n"
    if not body.endswith("\n"):
        body += "\n"
    return f"{_SC2016}{fn}() {{\n    printf '%s' {q(body)}\n}}\n"


_SC2016 = "# shellcheck disable=SC2016  # '$' in quoted data is data\n"


def data_feed(fn: str, rows: list[str]) -> str:
    """A function that runs its arguments as a command with ``rows`` on its stdin (a quoted
    heredoc: no fork to produce the data, and the data never becomes code)."""
    if not rows:
        return f'{fn}() {{\n    "$@" </dev/null\n}}\n'
    body = "\n".join(rows) + "\n"
    delim = _delimiter(body, "WF_DATA")
    return f"{fn}() {{\n\"$@\" <<'{delim}'\n{body}{delim}\n}}\n"


def calls(fn: str, rows: list[list[str]]) -> str:
    """A function whose body is one call per row, every argument quoted."""
    if not rows:
        return f"{fn}() {{\n    :\n}}\n"
    body = "".join(
        "    " + " ".join(q(a) if i else a for i, a in enumerate(r)) + "\n" for r in rows
    )
    return f"{_SC2016}{fn}() {{\n{body}}}\n"


def _word(value: str) -> str:
    """A value quoted by ``q``, in quotes even when it needs none (``WF_SHELL='sh'``: a bare
    command name on the right of an assignment reads like a mistake to shellcheck)."""
    quoted = q(value)
    return f"'{quoted}'" if quoted == value else quoted


def _codes(codes: tuple[int, ...] | None) -> str:
    return "*" if codes is None else " ".join(str(c) for c in codes)


def _time_limit(plan: TaskPlan) -> str:
    """Seconds the command may run, or "" for no limit (0 means none too, as in CWL)."""
    limit = plan.resources.time_limit
    return str(limit) if limit else ""


def _capture_row(c: Capture) -> str:
    return "\t".join(
        (
            c.kind,
            c.output,
            "1" if c.required else "0",
            "1" if c.files_only else "0",
            c.exclude or "-",
            c.pattern or "-",
        )
    )


def _links_work(plan: TaskPlan) -> bool:
    """Nothing mounts the work dir at its alias (``url``, ``platform``): the script links it."""
    return bool(plan.layout.work_alias) and plan.transport != "mounted"


def _from_stage_dir(s: StageItem) -> bool:
    """A platform input the script takes from the staging dir (its source is a name there, not
    a URL or path where the platform put it already)."""
    return not s.source.startswith("/") and "://" not in s.source


def tools_needed(plan: TaskPlan) -> list[tuple[str, str]]:
    """The utilities beyond the script's own (cat, mv, wc, mkdir) that this plan needs, and why:
    the probe checks them before any work is done. (The ``url`` transport's HTTP clients are
    chosen by its own probe, ``wf_url_probe``.)"""
    need: dict[str, str] = {}
    if plan.transport == "url":
        need["awk"] = "to list and name the outputs to upload (url transport)"
        need["rm"] = "to remove partial downloads (url transport)"
        need["sleep"] = "to back off between retries (url transport)"
    elif plan.stage and (
        plan.transport == "mounted" or any(_from_stage_dir(s) for s in plan.stage)
    ):
        # mounted, or platform inputs in a staging dir: the script links or copies them
        if plan.link_mode in ("symlink", "hardlink"):
            need["ln"] = f"to link inputs (link mode {plan.link_mode}; or choose link mode 'copy')"
        if plan.link_mode != "symlink" or any(s.writable for s in plan.stage):
            need["cp"] = "to copy inputs"
    if _links_work(plan):
        need["ln"] = f"to link the work dir at {plan.layout.work_alias}"
        need["rmdir"] = f"to replace an empty {plan.layout.work_alias} of the image"
    if plan.resources.time_limit:
        need["sleep"] = f"to stop the command after its time limit ({plan.resources.time_limit} s)"
    if any(lit.executable for lit in plan.literals):
        need["chmod"] = "to make a created file executable"
    if any(
        c.kind in ("directory", "tree") or (c.kind == "glob" and not c.files_only)
        for c in plan.captures
    ):
        need["find"] = "to list Directory outputs"
    return list(need.items())


def stage_row(plan: TaskPlan, s: StageItem) -> str:
    """One staging record: kind, r|w, source, destination, size or - (and, for the ``url``
    transport, the sha1 to check or -)."""
    cols = [s.kind, "w" if s.writable else "r", s.source, s.path]
    cols.append("-" if s.size is None else str(s.size))
    if plan.transport == "url":
        cols.append(s.checksum.partition("$")[2] if s.checksum else "-")
    return "\t".join(cols)


def stage_list(plan: TaskPlan) -> str:
    """The staging list as the script reads it (what a ``url`` plan's ``stage_list`` URL serves)."""
    return "".join(stage_row(plan, s) + "\n" for s in plan.stage)


def _url_variables(plan: TaskPlan) -> list[tuple[str, str]]:
    spec = plan.url
    if spec is None:
        return []
    https_in = any(s.kind == "file" and s.source.startswith("https:") for s in plan.stage)
    https_in = https_in or spec.stage_list.startswith("https:")
    return [
        ("WF_URL_UPLOAD", spec.upload),
        ("WF_URL_OUT", spec.upload_url),
        ("WF_URL_KEY", spec.key_prefix),
        ("WF_URL_LIST", spec.stage_list),
        ("WF_URL_LIST_SIZE", "-" if spec.stage_list_size is None else str(spec.stage_list_size)),
        ("WF_URL_LIST_SHA1", spec.stage_list_sha1 or "-"),
        ("WF_URL_EXPIRES", "" if spec.expires is None else str(spec.expires)),
        ("WF_URL_PARALLEL", str(spec.parallel)),
        ("WF_URL_RETRIES", str(spec.retries)),
        ("WF_URL_BACKOFF", str(spec.backoff_ms)),
        ("WF_URL_STALL", str(spec.stall)),
        ("WF_URL_HTTPS_GET", "1" if https_in else "0"),
        ("WF_URL_HTTPS_PUT", "1" if spec.upload_url.startswith("https:") else "0"),
    ]


def _url_data(plan: TaskPlan) -> list[str]:
    spec = plan.url
    if spec is None:
        return []
    return [
        data_feed("wf_plan_fields", [f"{f.name}\t{f.value}" for f in spec.fields]),
        heredoc("wf_plan_ca", spec.ca_pem, tag="WF_PEM"),
    ]


def data_section(plan: TaskPlan) -> str:
    lay = plan.layout
    variables = [
        ("WF_TASK", plan.name),
        ("WF_ROOT", lay.root),
        ("WF_WORK", lay.work),
        ("WF_TMP", lay.tmp),
        ("WF_HOME", lay.home),
        ("WF_META", lay.meta),
        ("WF_STAGE_DIR", lay.stage),
        ("WF_WORK_ALIAS", lay.work_alias),
        # nothing mounts the work dir at its alias: the script links it there
        # nothing mounts the alias: the script links it to the work dir (1); the platform
        # mounts it: the script links the work dir to it (2)
        *(
            [("WF_WORK_LINK", "2" if plan.transport == "platform" else "1")]
            if _links_work(plan)
            else []
        ),
        ("WF_LINK_MODE", plan.link_mode),
        ("WF_SHELL", plan.command.shell),
        ("WF_STDIN", plan.stdin or ""),
        ("WF_STDOUT", plan.stdout),
        ("WF_STDERR", plan.stderr),
        ("WF_SUCCESS_CODES", _codes(plan.success_codes)),
        ("WF_TEMPFAIL_CODES", _codes(plan.temporary_fail_codes)),
        ("WF_PERMFAIL_CODES", _codes(plan.permanent_fail_codes)),
        ("WF_TIME_LIMIT", _time_limit(plan)),
        *_url_variables(plan),
    ]
    out = ["# ---- the plan: data only, quoted by wfrewrite.compiler.emit.q ----\n"]
    out += [f"{k}={_word(v)}\n" for k, v in variables]
    out.append(calls("wf_plan_env", [["wf_setenv", e.name, e.value] for e in plan.env]))
    # A `url` plan whose staging list is served from a URL carries none of it in the script.
    inline = plan.url is None or not plan.url.stage_list
    stage_rows = [stage_row(plan, s) for s in plan.stage] if inline else []
    out.append(data_feed("wf_plan_stage", stage_rows))
    out += _url_data(plan)
    out.append(calls("wf_plan_tools", [["wf_need", tool, why] for tool, why in tools_needed(plan)]))
    out.append(
        calls(
            "wf_plan_literals",
            [
                [
                    "wf_literal",
                    lit.path,
                    lit.kind,
                    "x" if lit.executable else "-",
                    printf_format(lit.content),
                ]
                for lit in plan.literals
            ],
        )
    )
    out.append(data_feed("wf_plan_captures", [_capture_row(c) for c in plan.captures]))
    if plan.command.shell == "none":
        out.append(calls("wf_plan_argv", [["exec", *plan.command.argv]]))
        out.append(printer("wf_plan_command", ""))
    else:
        out.append(calls("wf_plan_argv", []))
        out.append(printer("wf_plan_command", plan.command.script))
    return "".join(out)


def emit(plan: TaskPlan) -> str:
    """Render the script for ``plan`` (which should have passed ``check``). A script that
    travels as one argv word (nothing mounted: the url and platform transports) leaves the
    runtime's comments out: it must fit in 128 KiB, and nobody reads it in a file."""
    comments = plan.transport == "mounted"
    parts = [runtime_source("header.sh"), data_section(plan)]
    for name in RUNTIME_FILES:
        parts.append(runtime_source(name, comments=comments))
        if name == "stage.sh":
            parts += [runtime_source(t, comments=comments) for t in TRANSPORT_FILES[plan.transport]]
    parts.append('wf_main "$@"\n')
    return "\n".join(parts)
