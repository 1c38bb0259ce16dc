"""One error hierarchy, one way to print it, one channel for what is not supported.

    >>> err = SourceError("unknown type Flie", Pos(uri="t.wdl", line=3, column=5))
    >>> print(render(err, source_text="version 1.0\\ntask t {\\n    Flie f\\n}\\n"))
    t.wdl:3:5: error: unknown type Flie
        Flie f
        ^

Front ends and executors report what they cannot honour through ``Unsupported.report(pos,
feature)``, governed by a level: ``error`` (the default) raises ``UnsupportedError`` at once;
``collect`` records every report and ``Unsupported.finish()`` then raises one error listing them
all (a task's every unsupported feature in one go); ``warning`` records a warning that the driver
prints; ``ignore`` drops it. Nothing a target can't express is dropped silently.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

EXIT_USAGE = 2  # bad input: source, inputs, options
EXIT_UNSUPPORTED = 33  # the CWL runners' "unsupported feature" code

Level = Literal["error", "collect", "warning", "ignore"]
LEVELS: tuple[str, ...] = ("error", "collect", "warning", "ignore")


@dataclass(frozen=True, slots=True, kw_only=True)
class Pos:
    """A position in a source document (1-based line and column)."""

    uri: str
    line: int
    column: int


class WfError(Exception):
    """Base of every error wfrewrite reports to a user."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, pos: Pos | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class SourceError(WfError):
    """The source document does not parse or type-check."""


class InputError(WfError):
    """The inputs do not match the task, or name files that do not exist."""


class UnsupportedError(WfError):
    """The source uses a feature wfrewrite does not implement. (The CWL runner exits with
    ``EXIT_UNSUPPORTED`` for it, as cwltest expects; the wfrewrite CLI exits 2.) ``also`` holds
    the other features a ``collect`` level found in the same task."""

    def __init__(self, feature: str, pos: Pos | None = None, detail: str = "") -> None:
        super().__init__(f"unsupported: {feature}" + (f" ({detail})" if detail else ""), pos)
        self.feature = feature
        self.also: list[UnsupportedError] = []


class PlanError(WfError):
    """A plan violates an invariant (a bug in a front end or pass, or a hand-edited plan)."""


class TaskFailed(WfError):
    """The task ran and failed (staging, command or collection)."""

    exit_code = 1


@dataclass
class Unsupported:
    """The single channel for unsupported features, governed by ``level``."""

    level: Level = "error"
    warnings: list[str] = field(default_factory=list)
    sink: Callable[[str], None] | None = None
    collected: list[UnsupportedError] = field(default_factory=list)

    def report(
        self, pos: Pos | None, feature: str, detail: str = "", *, hint: bool = False
    ) -> None:
        """Report ``feature``. ``hint=True`` marks something the spec lets an engine ignore (a
        runtime hint): it is then a warning unless the level is ``ignore``."""
        err = UnsupportedError(feature, pos, detail)
        if not hint and self.level == "error":
            raise err
        if not hint and self.level == "collect":
            self.collected.append(err)
            return
        if self.level == "ignore":
            return
        text = render(err, severity="warning")
        self.warnings.append(text)
        if self.sink:
            self.sink(text)

    def finish(self) -> None:
        """At the end of a task's lowering: with level ``collect``, one error for everything
        that was reported (the first, with the others in ``also``)."""
        if self.collected:
            first, *rest = self.collected
            self.collected = []
            first.also = rest
            raise first


def location(pos: Pos | None) -> str:
    return f"{pos.uri}:{pos.line}:{pos.column}: " if pos else ""


def render(err: WfError, *, severity: str = "error", source_text: str | None = None) -> str:
    """``file:line:col: error: message``, then the source line and a caret where known (and
    so for each further unsupported feature a ``collect`` level gathered)."""
    parts = [_render_one(err, severity, source_text)]
    for more in getattr(err, "also", ()):
        parts.append(_render_one(more, severity, source_text))
    if len(parts) > 1:
        parts.append(f"{len(parts)} unsupported features in all")
    return "\n".join(parts)


def _render_one(err: WfError, severity: str, source_text: str | None) -> str:
    head = f"{location(err.pos)}{severity}: {err.message}"
    line = _source_line(err.pos, source_text)
    if line is None or err.pos is None:
        return head
    caret = " " * (max(err.pos.column, 1) - 1) + "^"
    return f"{head}\n    {line}\n    {caret}"


def _source_line(pos: Pos | None, source_text: str | None) -> str | None:
    if pos is None or pos.line < 1:
        return None
    if source_text is None:
        try:
            with open(pos.uri, encoding="utf-8", errors="replace") as f:
                source_text = f.read()
        except OSError:
            return None
    lines = source_text.splitlines()
    if pos.line > len(lines):
        return None
    return lines[pos.line - 1].expandtabs(1)


def die(err: WfError) -> int:
    """Print ``err`` to stderr; return its exit code."""
    print(render(err), file=sys.stderr)
    return err.exit_code
