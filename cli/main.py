"""``wfrewrite``: compile a WDL task or CWL tool into a self-contained POSIX sh script, or run it
(and whole workflows) with each task as such a script in its own image.

    wfrewrite compile SOURCE.wdl|SOURCE.cwl [-i INPUTS] [--task NAME] -o DIR [--emit tes|k8s]
        writes DIR/script.sh and DIR/plan.json (nothing at all on error)
    wfrewrite run SOURCE.wdl|SOURCE.cwl [-i INPUTS] [--task NAME] [--executor ...] [-o OUT.json]
        compiles, executes and collects; prints {"outputs": {...}, "dir": RUN_DIR}

A CWL document (``.cwl``, or a file that starts like one) goes to ``cwl_commands``, anything else
to ``wdl_commands``. Errors print ``file:line:col: error: message`` (with the source line and a
caret) and exit 2; a task that runs and fails exits 1.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys

from wfrewrite.compiler.diagnostics import WfError, die
from wfrewrite.compiler.plan import CONTAINER_ROOT

from . import args as shared

COMPILE_EXAMPLES = """examples:
  wfrewrite compile examples/wordcount.wdl -i examples/wordcount.inputs.json -o out/
      # out/script.sh runs anywhere /bin/sh does: sh out/script.sh (as root of /mnt/wfr)
  wfrewrite compile tool.cwl -i job.yml -o out/ --emit tes --outputs-url s3://bucket/run1/
      # also out/tes-task.json, a GA4GH TES task around the same script
"""

RUN_EXAMPLES = """examples:
  wfrewrite run examples/wordcount.wdl -i examples/wordcount.inputs.json --executor local
  wfrewrite run examples/workflows/scatter_gather.wdl -i inputs.json --executor podman
  wfrewrite run task.wdl -i in.json --executor podman --transport url \\
      --store s3://bucket/runs --s3-endpoint http://127.0.0.1:8333
  wfrewrite run tool.cwl -i job.yml --dir results/     # a CWL tool or workflow, via cwltool
"""


CLEANUP_EXAMPLES = """examples:
  wfrewrite cleanup --run runs/           # what `wfrewrite run --dir runs/` left, drivers gone
  wfrewrite cleanup --job wfr-hello-5f2c0e1a2b3c --executor slurm
"""


def parser() -> argparse.ArgumentParser:
    ap = shared.parser(
        "wfrewrite",
        "Compile a WDL task or CWL tool into a self-contained POSIX sh script that runs in the "
        "task's own image, or run tasks and workflows that way.",
    )
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    c = sub.add_parser(
        "compile",
        help="compile a task into DIR/script.sh and DIR/plan.json",
        description="Compile one WDL task (with its inputs) or CWL CommandLineTool (with its "
        "job) into DIR/script.sh and DIR/plan.json; nothing is written on error.",
        epilog=COMPILE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    shared.add_source_args(c)
    shared.add_unsupported(c)
    c.add_argument("-o", "--output", required=True, metavar="DIR")
    c.add_argument(
        "--root",
        default=CONTAINER_ROOT,
        help=f"the task's directory where the script will run (default {CONTAINER_ROOT})",
    )
    c.add_argument(
        "--emit",
        choices=("script", "tes", "k8s"),
        default="script",
        help="also write a platform spec: DIR/tes-task.json or DIR/k8s-job.json",
    )
    c.add_argument(
        "--outputs-url",
        help="tes: where the TES server puts the outputs (default file://DIR/outputs/)",
    )
    c.add_argument(
        "--tes-split",
        action="store_true",
        help="tes: prologue, command and epilogue as three executors in a row",
    )
    c.add_argument(
        "--tes-server", metavar="URL", help="tes: also submit the task to this TES server"
    )
    c.add_argument(
        "--k8s-pvc", metavar="CLAIM", help="k8s: the task's area is this PersistentVolumeClaim"
    )

    r = sub.add_parser(
        "run",
        help="compile, execute and collect a task (or a workflow, via miniwdl or cwltool)",
        description="Run a WDL task or workflow (miniwdl's engine) or a CWL tool or workflow "
        "(cwltool's engine), each task as a compiled script in its declared image on the "
        "chosen executor; print the outputs as JSON.",
        epilog=RUN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    shared.add_source_args(r)
    r.add_argument("-o", "--outputs", metavar="OUTPUTS.json", help="also write the outputs here")
    r.add_argument("--dir", metavar="RUN_DIR", help="run directory (miniwdl's rules; default: .)")
    r.add_argument("--cfg", metavar="FILE", help="a miniwdl configuration file")
    shared.add_run_options(r)

    k = sub.add_parser(
        "cleanup",
        help="remove what a killed run left running (containers, jobs, TES tasks, Jobs)",
        description="Remove, by their labels, the containers, Slurm jobs, TES tasks and "
        "Kubernetes Jobs a killed driver left behind.",
        epilog=CLEANUP_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = k.add_mutually_exclusive_group()
    what.add_argument("--run", metavar="DIR", help="the run directory (wfrewrite run --dir)")
    what.add_argument("--label", metavar="LABEL", help="the run label (the wfrewrite/run label)")
    k.add_argument("--job", metavar="NAME", help="one job, by name (wfr-<task>-<hex>)")
    k.add_argument("--force", action="store_true", help="also what a live driver runs")
    k.add_argument("-v", "--verbose", action="count", default=0, help="more log")
    shared.add_run_options(k)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        if args.cmd == "cleanup":
            from .cleanup import cmd_cleanup

            return cmd_cleanup(args)
        if is_cwl(args.source):
            from . import cwl_commands as commands
        else:
            from . import wdl_commands as commands  # type: ignore[no-redef]
        return commands.cmd_compile(args) if args.cmd == "compile" else commands.cmd_run(args)
    except WfError as exn:
        return die(exn)
    except KeyboardInterrupt:
        print("wfrewrite: interrupted", file=sys.stderr)
        return 130


def is_cwl(source: str) -> bool:
    """A CWL document, by name (``tool.cwl``, ``packed.cwl#main``) or by its first lines; the
    WDL path stays as it was for everything else."""
    base = source.split("#")[0]
    if base.endswith(".cwl"):
        return True
    if base.endswith(".wdl"):
        return False
    try:
        with open(base, encoding="utf-8", errors="replace") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.startswith("#!/usr/bin/env cwl-runner") or bool(
        re.search(r"^[\"']?cwlVersion[\"']?\s*:", head, re.M)
    )


def _setup_logging(verbose: int) -> None:
    """Task logs (miniwdl's task.log) get everything from INFO; the console what -v asks for.
    (miniwdl's NOTICE and VERBOSE levels are named when a WDL command imports miniwdl, before
    anything logs at them; a CWL command never imports it.)"""
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(
        logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    )
    console.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(console)
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


if __name__ == "__main__":
    sys.exit(main())
