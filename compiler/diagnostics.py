"""One error hierarchy, one way to print it, one channel for what is not supported.

    >>> err = SourceError("unknown type Flie", Pos(uri="t.wdl", line=3, column=5))
    >>> print(render(err, source_text="version 1.0\\ntask t {\\n    Flie f\\n}\\n"))
    t.wdl:3:5: error: unknown type Flie
        Flie f
        ^

Front ends report unsupported input through ``Unsupported.report(pos, feature)``: at level
``error`` (the default) it raises ``UnsupportedError``; at ``warning`` it records a warning that
the driver prints. Nothing a target can't express is dropped silently.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .plan import Pos

EXIT_USAGE = 2  # bad input: source, inputs, options
EXIT_UNSUPPORTED = 33  # the CWL runners' "unsupported feature" code


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
    ``EXIT_UNSUPPORTED`` for it, as cwltest expects; the wfrewrite CLI exits 2.)"""

    def __init__(self, feature: str, pos: Pos | None = None, detail: str = "") -> None:
        super().__init__(f"unsupported: {feature}" + (f" ({detail})" if detail else ""), pos)
        self.feature = feature


class PlanError(WfError):
    """A plan violates an invariant (a bug in a front end or pass, or a hand-edited plan)."""


class TaskFailed(WfError):
    """The task ran and failed (staging, command or collection)."""

    exit_code = 1


Level = Literal["error", "warning", "ignore"]


@dataclass
class Unsupported:
    """The single channel for unsupported features, governed by ``level``."""

    level: Level = "error"
    warnings: list[str] = field(default_factory=list)
    sink: Callable[[str], None] | None = None

    def report(
        self, pos: Pos | None, feature: str, detail: str = "", *, hint: bool = False
    ) -> None:
        """Report ``feature``. ``hint=True`` marks something the spec lets an engine ignore (a
        runtime hint): it is then a warning unless the level is ``ignore``."""
        err = UnsupportedError(feature, pos, detail)
        if self.level == "error" and not hint:
            raise err
        if self.level == "ignore":
            return
        text = render(err, severity="warning")
        self.warnings.append(text)
        if self.sink:
            self.sink(text)


def location(pos: Pos | None) -> str:
    return f"{pos.uri}:{pos.line}:{pos.column}: " if pos else ""


def render(err: WfError, *, severity: str = "error", source_text: str | None = None) -> str:
    """``file:line:col: error: message``, then the source line and a caret where known."""
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
