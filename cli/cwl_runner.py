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

from wfrewrite import __version__
from wfrewrite.compiler.diagnostics import WfError, render
from wfrewrite.main import add_container_options, add_url_options, executor_options
from wfrewrite.runtime.executors import DEFAULT_IMAGE, EXECUTORS


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="wfrewrite-cwl-runner", description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", action="version", version=f"wfrewrite {__version__}")
    ap.add_argument("--executor", choices=EXECUTORS, default="auto")
    ap.add_argument(
        "--default-container",
        default=DEFAULT_IMAGE,
        metavar="IMAGE",
        help=f"for tools that name no image (default {DEFAULT_IMAGE})",
    )
    ap.add_argument("--outdir", default=".", help="where the outputs go (default: .)")
    ap.add_argument("--quiet", action="store_true", help="only warnings and errors on stderr")
    ap.add_argument("--debug", action="store_true", help="debug logging")
    ap.add_argument(
        "--unsupported",
        choices=("error", "warning", "ignore"),
        default="error",
        help="what an unsupported feature is (default: error, exit 33)",
    )
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
    add_container_options(ap)
    add_url_options(ap)
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
    from wfrewrite.runtime import cwl_run  # imports cwltool, which sets up its own logging

    _setup_logging(args.quiet, args.debug)

    try:
        options = executor_options(args)
    except WfError as exn:
        print(render(exn), file=sys.stderr)
        return exn.exit_code
    opts = cwl_run.RunOptions(
        tool=args.tool,
        job=args.job,
        outdir=args.outdir,
        executor=args.executor,
        default_image=args.default_container,
        unsupported=args.unsupported,
        leave_tmpdir=args.leave_tmpdir,
        relax_path_checks=not args.strict_path_checks,
        parallel=args.parallel,
        executor_options=options,
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
