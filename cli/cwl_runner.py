"""``wfrewrite-cwl-runner``: cwltool's calling convention, for cwltest and for people.

    wfrewrite-cwl-runner [--executor auto|local|podman|docker] [--default-container IMAGE]
                         --outdir DIR [--quiet] TOOL [JOB]

prints the CWL output object as JSON on stdout (as cwltool prints it), logs on stderr, and exits
0 on success, 33 for an unsupported feature, 2 for bad input (document, job, missing files) and
1 when the tool fails.
"""

from __future__ import annotations

import argparse
import logging
import sys

from wfrewrite.compiler.diagnostics import WfError, render
from wfrewrite.runtime.exec import begin_run

from . import args as shared
from .startup import started

EXAMPLES = """examples:
  wfrewrite-cwl-runner --outdir out/ tool.cwl job.yml          # the output object on stdout
  wfrewrite-cwl-runner --executor podman --parallel --outdir out/ workflow.cwl job.yml
  cwltest --test conformance_tests.yaml --tool wfrewrite-cwl-runner -- --executor podman
"""


def parser() -> argparse.ArgumentParser:
    ap = shared.parser(
        "wfrewrite-cwl-runner",
        "Run a CWL tool or workflow as cwltool would (cwltool's calling convention, for cwltest "
        "and for people), each CommandLineTool job as a compiled script in its own image.",
        EXAMPLES,
    )
    ap.add_argument("--outdir", default=".", help="where the outputs go (default: .)")
    ap.add_argument("--quiet", action="store_true", help="only warnings and errors on stderr")
    ap.add_argument("--debug", action="store_true", help="debug logging")
    ap.add_argument(
        "--leave-tmpdir", action="store_true", help="keep the task directories (for debugging)"
    )
    ap.add_argument(
        "--strict-path-checks",
        action="store_true",
        help="refuse file names with shell metacharacters (cwltool's default; wfrewrite quotes "
        "every value, so it relaxes the check by default)",
    )
    ap.add_argument(
        "--parallel",
        action="store_true",
        help="run independent jobs at once (cwltool's --parallel)",
    )
    shared.add_run_options(ap)
    ap.add_argument("tool", metavar="TOOL", help="a CWL document (file.cwl or file.cwl#id)")
    ap.add_argument("job", metavar="JOB", nargs="?", help="the job object (YAML or JSON)")
    return ap


def _setup_logging(quiet: bool, debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    for name in ("cwltool", "salad", "wfrewrite"):
        lg = logging.getLogger(name)
        lg.handlers = [handler]
        lg.setLevel(level)
        lg.propagate = False


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _setup_logging(args.quiet, args.debug)
    try:
        options = shared.run_options(args)
    except WfError as exn:
        print(render(exn), file=sys.stderr)
        return exn.exit_code
    # labelled with its output directory; its sweep runs while cwltool is imported
    options = begin_run(options, args.outdir)

    from wfrewrite.runtime.engines.cwltool import run as cwl_run  # cwltool sets up its logging

    _setup_logging(args.quiet, args.debug)  # over cwltool's
    opts = cwl_run.RunOptions(
        tool=args.tool,
        job=args.job,
        outdir=args.outdir,
        options=options,
        leave_tmpdir=args.leave_tmpdir,
        relax_path_checks=not args.strict_path_checks,
        parallel=args.parallel,
        swept=True,
        loaded=started,  # imports, CWL's schemas and the document made without a collection
    )
    try:
        outcome = cwl_run.run(opts)
    except WfError as exn:
        print(render(exn), file=sys.stderr)
        return cwl_run.exit_code(exn)
    except KeyboardInterrupt:
        print("wfrewrite-cwl-runner: interrupted", file=sys.stderr)
        return 130
    if outcome.output is not None:
        cwl_run.print_output(outcome.output)
    if outcome.status != "success":
        logging.getLogger("wfrewrite").warning("final process status is %s", outcome.status)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
