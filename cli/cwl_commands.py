"""``wfrewrite compile`` and ``wfrewrite run`` for a CWL document (``main`` dispatches here).

    wfrewrite compile cat.cwl -i job.yml -o out/      # out/script.sh, out/plan.json
    wfrewrite run cat.cwl -i job.yml --dir results/   # {"outputs": {...CWL output object}, "dir": ...}

Errors exit 2 (an unsupported feature too: this is the wfrewrite CLI, not the CWL runner), a
tool that fails exits 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from wfrewrite.runtime.exec import begin_run

from . import args as shared
from .args import run_options
from .results import print_result, write_compiled


def _tool_path(args: argparse.Namespace) -> str:
    return f"{args.source}#{args.task}" if args.task and "#" not in args.source else args.source


def _quiet_cwltool(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    for name in ("cwltool", "salad"):
        logging.getLogger(name).setLevel(level)


def cmd_compile(args: argparse.Namespace) -> int:
    from wfrewrite.compiler import cwl

    _quiet_cwltool(args.verbose)
    source = _tool_path(args)
    ctx = cwl.loading_context()
    job = cwl.read_job(args.inputs, source, ctx)
    tool = cwl.load(source, ctx)
    order = cwl.bind_job(tool, job, source)
    unsupported = shared.unsupported(args)
    plan = cwl.compile_cwl(tool, order, job.basedir, root=args.root, unsupported=unsupported)
    write_compiled(args, plan)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    run_dir = os.path.abspath(args.dir or ".")
    # labelled with its run directory; its sweep runs while cwltool is imported
    options = begin_run(run_options(args), run_dir)

    from wfrewrite.runtime.engines.cwltool import run as cwl_run

    _quiet_cwltool(args.verbose)
    opts = cwl_run.RunOptions(
        tool=_tool_path(args), job=args.inputs, outdir=run_dir, options=options, swept=True
    )
    outcome = cwl_run.run(opts)
    if outcome.status != "success":
        print(f"error: the CWL process finished with status {outcome.status}", file=sys.stderr)
        return 1
    output = cwl_run.output_object(outcome.output)
    print_result(
        args, json.dumps({"outputs": output, "dir": run_dir}, indent=2, ensure_ascii=False)
    )
    return 0
