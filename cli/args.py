"""The command-line arguments the commands share, defined once.

    p = argparse.ArgumentParser(...)
    add_source_args(p)              # SOURCE, -i INPUTS, --task NAME, -v
    add_run_options(p)              # every option of wfrewrite.runtime.options, in its group
    options = run_options(p.parse_args())    # one frozen Options

The run options themselves (their flags, choices, help) are defined in
``wfrewrite.runtime.options``; Toil offers the same ones as ``--wfrewrite-OPTION``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wfrewrite.compiler.diagnostics import Unsupported
from wfrewrite.runtime.options import Options, add_arguments, from_namespace


def version() -> str:
    """wfrewrite's version, from the installed package's metadata."""
    import importlib.metadata  # not at every start: ~25 ms of imports

    try:
        return importlib.metadata.version("wfrewrite")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return "unknown"


class VersionAction(argparse.Action):
    """``--version``, whose package metadata is read only when it is asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kw: Any):
        kw.setdefault("help", "show program's version number and exit")
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kw)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        sys.stdout.write(f"wfrewrite {version()}\n")
        parser.exit()


def parser(prog: str, doc: str, epilog: str = "") -> argparse.ArgumentParser:
    """A parser whose description is ``doc`` and whose epilog (examples) keeps its layout."""
    ap = argparse.ArgumentParser(
        prog=prog,
        description=doc,
        epilog=epilog or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--version", action=VersionAction)
    return ap


def add_source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SOURCE", help="a WDL or CWL document")
    p.add_argument(
        "-i",
        "--inputs",
        metavar="INPUTS",
        help="inputs (miniwdl's JSON forms; for CWL, the job object in YAML or JSON)",
    )
    p.add_argument(
        "--task", metavar="NAME", help="the task to use (default: the lone task; CWL: the #id)"
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log (twice: debug)")


def add_unsupported(p: argparse.ArgumentParser) -> None:
    """--unsupported alone (wfrewrite compile, which runs nothing)."""
    add_arguments(p, only=("unsupported",))


def unsupported(args: argparse.Namespace) -> Unsupported:
    """The unsupported channel of a command line (warnings printed to stderr as they come)."""
    level = args.unsupported or Options().unsupported
    return Unsupported(level=level, sink=lambda text: print(text, file=sys.stderr))  # type: ignore[arg-type]


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Every run option, in its group (wfrewrite run, wfrewrite-cwl-runner)."""
    add_arguments(p)


def run_options(args: argparse.Namespace, **overrides: Any) -> Options:
    """The one frozen Options of a command line (a WfError if they do not fit together)."""
    return from_namespace(args, **overrides)
