"""The plan checker: invariants every TaskPlan holds after lowering and after every pass.

    >>> check(plan)          # returns the plan, or raises PlanError naming the first violation

Invariants:
- container paths are absolute, normalized, free of control characters and ``..``;
- the root of a plan whose command a shell runs is a plain shell word (ASCII letters, digits,
  ``@%+=:,./-_`` and any non-ASCII character; no space, quote or other character a shell reads
  specially): paths under it are pasted into the command's text (WDL's ``~{file}``, CWL's
  ``shellQuote: false``), where ``$(...)`` in a directory's name would be read as shell code;
- everything the script writes (staged inputs, literal files, stdio) lies under ``layout.root``,
  or is one of ``layout.outside`` (absolute paths in the image's filesystem, outside the root);
- staged and literal paths are unique, and none lies inside another staged *file*;
- captures refer to declared outputs (a ``cwl_output_json`` capture may name none), and their
  patterns stay inside the work dir;
- environment variable names are shell identifiers;
- every string is valid Unicode (no lone surrogate, which no script can be written with);
- the image is a non-empty string or explicitly None ("no image declared");
- a script command has a shell, an argv command has words and no shell; only an argv command
  goes through the image's entrypoint;
- a read-only directory lies under the root, apart from everything the script writes, and holds
  exactly the staged items whose source is their own path (the executor placed them there);
- a work alias is an absolute normalized path; a time limit, preemptible attempts and GPUs are
  not negative; a disk mount point is absolute, normalized and apart from the root;
- the ``url`` transport has its ``UrlSpec`` (and the others none), every staged file comes from
  an http(s) URL, and uploads go to an http(s) URL (a PUT prefix ends with '/').
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Iterator
from typing import Any

from ..diagnostics import PlanError
from .ir import LINK_MODES, TRANSPORTS, UPLOAD_METHODS, TaskPlan
from .serde import field_names

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A word every shell reads as itself: the ASCII characters shlex.quote (emit.q) leaves unquoted,
# and any non-ASCII one (no shell gives those a meaning).
_PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./\-\u0080-\U0010ffff]*\Z")


def check(plan: TaskPlan) -> TaskPlan:
    problems = list(_problems(plan))
    if problems:
        raise PlanError(f"invalid plan for task {plan.name!r}: " + "; ".join(problems), plan.source)
    return plan


def _surrogates(obj: Any, where: str) -> Iterator[str]:
    """Strings of ``obj`` (a plan, its parts, tuples of them) that UTF-8 cannot encode: a lone
    surrogate, e.g. from JSON that escapes an astral character as a pair a reader split."""
    if isinstance(obj, str):
        if not obj.isascii():
            try:
                obj.encode("utf-8")
            except UnicodeEncodeError as exn:
                at = exn.start
                yield (
                    f"{where} is not valid Unicode: a lone surrogate {obj[at]!r} at character "
                    f"{at}, in {obj[max(0, at - 40) : at + 40]!r}"
                )
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj):
            yield from _surrogates(item, f"{where}[{i}]")
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _surrogates(getattr(obj, f.name), f"{where}.{f.name}" if where else f.name)


def within(path: str, root: str) -> bool:
    return root == "/" or path == root or path.startswith(root.rstrip("/") + "/")


def _path_problem(what: str, path: str) -> str | None:
    if not path.startswith("/"):
        return f"{what} {path!r} is not absolute"
    if _CONTROL.search(path):
        return f"{what} {path!r} contains a control character"
    if posixpath.normpath(path) != path and not (
        path.endswith("/") and posixpath.normpath(path) == path[:-1]
    ):
        return f"{what} {path!r} is not normalized"
    return None


def _unencodable(obj: Any) -> bool:
    """Whether a string of ``obj`` is one UTF-8 cannot encode (``_surrogates`` says where): the
    quick walk every check takes, without the paths."""
    if isinstance(obj, str):
        if obj.isascii():
            return False
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(obj, tuple):
        return any(_unencodable(item) for item in obj)
    return any(_unencodable(getattr(obj, n)) for n in field_names(type(obj)))


def _problems(plan: TaskPlan):  # type: ignore[no-untyped-def]
    if _unencodable(plan):  # nothing else can be checked, or written, reliably
        yield from _surrogates(plan, "")
        return
    lay = plan.layout
    for what, p in (
        ("layout.root", lay.root),
        ("layout.work", lay.work),
        ("layout.tmp", lay.tmp),
        ("layout.home", lay.home),
        ("layout.meta", lay.meta),
    ):
        if (msg := _path_problem(what, p)) is not None:
            yield msg
        elif what != "layout.root" and not within(p, lay.root):
            yield f"{what} {p!r} is outside layout.root {lay.root!r}"
    if plan.command.shell != "none" and not _PLAIN.match(lay.root):
        yield (
            f"layout.root {lay.root!r} is not a plain shell word, and this command runs under a "
            "shell that has paths under the root pasted into its text (WDL's ~{file}, CWL's "
            "shellQuote: false), where a space, a quote or $(...) would be read as shell code: "
            "use a task directory whose path has no space, quote or other shell metacharacter "
            "(only letters, digits, non-ASCII characters and @%+=:,./-_)"
        )
    if lay.stage and (msg := _path_problem("layout.stage", lay.stage)) is not None:
        yield msg
    if lay.work_alias and (msg := _path_problem("layout.work_alias", lay.work_alias)) is not None:
        yield msg
    for p in lay.outside:
        if (msg := _path_problem("layout.outside", p)) is not None:
            yield msg
        elif within(p, lay.root) or within(lay.root, p):
            yield f"layout.outside {p!r} overlaps layout.root {lay.root!r}"
    outside = set(lay.outside)
    yield from _readonly_problems(plan)
    if plan.image is not None and not plan.image.strip():
        yield "image is an empty string (use None for 'no image')"
    if plan.link_mode not in LINK_MODES:
        yield f"unknown link_mode {plan.link_mode!r}"
    if plan.transport not in TRANSPORTS:
        yield f"unknown transport {plan.transport!r}"
    yield from _url_problems(plan)

    seen: dict[str, str] = {}
    staged_files: list[str] = []
    for item in plan.stage:
        if (msg := _path_problem("staged path", item.path)) is not None:
            yield msg
            continue
        if not within(item.path, lay.root) and item.path not in outside:
            yield f"staged path {item.path!r} is outside layout.root"
        if not item.source or _CONTROL.search(item.source):
            yield f"staging source {item.source!r} for {item.path!r} is empty or has a control character"
        if item.path in seen:
            yield f"path {item.path!r} is staged twice"
        seen[item.path] = "stage"
        if item.kind == "file":
            staged_files.append(item.path)
    for lit in plan.literals:
        if (msg := _path_problem("literal path", lit.path)) is not None:
            yield msg
            continue
        if not within(lit.path, lay.root) and lit.path not in outside:
            yield f"literal path {lit.path!r} is outside layout.root"
        if lit.path in seen:
            yield f"path {lit.path!r} is both staged and literal, or literal twice"
        seen[lit.path] = "literal"
    files = set(staged_files)  # each path's parents looked up: linear in the list's length
    for p in seen:
        parent = posixpath.dirname(p)
        while parent not in ("/", ""):
            if parent in files:
                yield f"path {p!r} lies inside the staged file {parent!r}"
            parent = posixpath.dirname(parent)

    for what, p in (("stdout", plan.stdout), ("stderr", plan.stderr)):
        if (msg := _path_problem(what, p)) is not None:
            yield msg
        elif not within(p, lay.root):
            yield f"{what} {p!r} is outside layout.root"
    if plan.stdin is not None and (msg := _path_problem("stdin", plan.stdin)) is not None:
        yield msg

    for var in plan.env:
        if not _IDENT.match(var.name):
            yield f"environment variable name {var.name!r} is not a shell identifier"
        if "\x00" in var.value:
            yield f"environment variable {var.name} contains a NUL byte"

    cmd = plan.command
    if cmd.argv and cmd.script:
        yield "command has both argv and script"
    if cmd.argv and cmd.shell != "none":
        yield "an argv command must have shell 'none'"
    if not cmd.argv and cmd.shell == "none" and cmd.script:
        yield "a script command needs a shell"
    if any("\x00" in w for w in cmd.argv) or "\x00" in cmd.script:
        yield "command contains a NUL byte"
    if cmd.entrypoint and cmd.shell != "none":
        yield "only an argv command can go through the image's entrypoint"
    res = plan.resources
    if res.time_limit is not None and res.time_limit < 0:
        yield "the time limit is negative"
    if res.preemptible < 0 or res.gpu < 0:
        yield "preemptible and gpu must not be negative"
    for m in res.mounts:
        if (msg := _path_problem("disk mount point", m.path)) is not None:
            yield msg
        elif within(m.path, lay.root) or within(lay.root, m.path) or m.path == "/":
            yield f"disk mount point {m.path!r} overlaps layout.root {lay.root!r}"

    declared = set(plan.outputs)
    if len(declared) != len(plan.outputs):
        yield "an output name is declared twice"
    for cap in plan.captures:
        if cap.output not in declared and not (cap.kind == "cwl_output_json" and not cap.output):
            yield f"capture for {cap.output!r}, which is not a declared output"
        if cap.kind in ("path", "glob", "directory"):
            if not cap.pattern:
                yield f"capture for {cap.output!r} has an empty pattern"
            elif _CONTROL.search(cap.pattern):
                yield f"capture pattern {cap.pattern!r} contains a control character"
            elif cap.pattern.startswith("/"):
                if not within(posixpath.normpath(cap.pattern), lay.root):
                    yield f"capture pattern {cap.pattern!r} is outside layout.root"
            elif ".." in cap.pattern.split("/"):
                yield f"capture pattern {cap.pattern!r} climbs out of the work dir"
    for n in (plan.success_codes or ()) + plan.temporary_fail_codes + plan.permanent_fail_codes:
        if not 0 <= n <= 255:
            yield f"exit code {n} is outside 0..255"
    if plan.max_retries < 0:
        yield "max_retries is negative"


def _readonly_problems(plan: TaskPlan):  # type: ignore[no-untyped-def]
    lay = plan.layout
    writes = [lay.work, lay.meta, lay.tmp, lay.home, plan.stdout, plan.stderr]
    writes += [lit.path for lit in plan.literals]
    writes += [s.path for s in plan.stage if s.writable]
    for d in lay.readonly:
        if (msg := _path_problem("layout.readonly", d)) is not None:
            yield msg
        elif d == lay.root or not within(d, lay.root):
            yield f"layout.readonly {d!r} is not a directory under layout.root"
        elif any(within(w, d) or (within(d, w) and w != lay.work) for w in writes):
            yield f"layout.readonly {d!r} holds (or is inside) something the script writes"
    for item in plan.stage:
        placed = item.source == item.path
        inside = any(within(item.path, d) for d in lay.readonly)
        if placed and not inside:
            yield f"staged {item.path!r} has itself as its source outside layout.readonly"
        elif inside and not placed:
            yield f"staged {item.path!r} lies in a read-only directory but is not placed there"


_HTTP = re.compile(r"https?://[^/\s]+(/\S*)?\Z")


def _url_problems(plan: TaskPlan):  # type: ignore[no-untyped-def]
    spec = plan.url
    if plan.transport != "url":
        if spec is not None:
            yield f"a UrlSpec on a plan with transport {plan.transport!r}"
        return
    if spec is None:
        yield "transport 'url' needs a UrlSpec (where outputs go)"
        return
    if spec.upload not in UPLOAD_METHODS:
        yield f"unknown upload method {spec.upload!r}"
    if not _HTTP.match(spec.upload_url):
        yield f"upload URL {spec.upload_url!r} is not an http(s) URL"
    elif spec.upload == "put" and not spec.upload_url.endswith("/"):
        yield f"the PUT prefix {spec.upload_url!r} must end with '/'"
    if spec.upload == "put" and (spec.fields or spec.key_prefix):
        yield "form fields and a key prefix only go with upload 'post'"
    for f in spec.fields:
        if not f.name or _CONTROL.search(f.name + f.value):
            yield f"form field {f.name!r} is empty or has a control character"
    if _CONTROL.search(spec.key_prefix):
        yield "the key prefix has a control character"
    if spec.stage_list and not _HTTP.match(spec.stage_list):
        yield f"staging list URL {spec.stage_list!r} is not an http(s) URL"
    if spec.parallel < 1 or spec.retries < 1 or spec.stall < 1 or spec.backoff_ms < 0:
        yield "parallel, retries and stall must be at least 1, backoff_ms at least 0"
    for item in plan.stage:
        if item.kind == "file" and not _HTTP.match(item.source):
            yield f"staging source {item.source!r} for {item.path!r} is not an http(s) URL"
        if item.checksum is not None and not re.fullmatch(r"sha1\$[0-9a-f]{40}", item.checksum):
            yield f"checksum {item.checksum!r} for {item.path!r} is not sha1$<40 hex digits>"
