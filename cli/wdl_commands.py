"""``wfrewrite compile`` and ``wfrewrite run`` for a WDL document (``main`` dispatches here).

    wfrewrite compile hello.wdl -i in.json -o out/    # out/script.sh, out/plan.json
    wfrewrite run hello.wdl -i in.json --executor podman
        # {"outputs": {"hello.n": 3}, "dir": "/.../20261201_123000_hello"}

``run`` drives miniwdl's own runner (a workflow through miniwdl's workflow engine) with the
``wfrewrite`` container backend, whose ``[wfrewrite]`` section is the run options
(``runtime.options.to_config``). Errors exit 2, a task that fails exits 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from typing import Any

from wfrewrite.compiler.diagnostics import WfError, render
from wfrewrite.runtime.exec import begin_run, resolve, tail_lines
from wfrewrite.runtime.options import to_config

from .args import run_options, unsupported
from .results import print_result, write_compiled
from .startup import started


def cmd_compile(args: argparse.Namespace) -> int:
    from WDL import Tree

    from wfrewrite.compiler import wdl

    doc = wdl.load(args.source)
    tgt, inputs = wdl.read_inputs(doc, args.task, args.inputs)
    if not isinstance(tgt, Tree.Task):
        raise WfError(f"{tgt.name} is a workflow; compile takes a task (use --task NAME)")
    plan = wdl.compile_wdl(tgt, inputs, root=args.root, unsupported=unsupported(args))
    write_compiled(args, plan)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    options = run_options(args)  # before anything runs: options that do not fit together
    auto = options.executor == "auto"
    options = dataclasses.replace(options, executor=resolve(options.executor))
    # labelled with its run directory; its sweep runs while miniwdl is imported, the document
    # loaded
    options = begin_run(options, args.dir or ".")

    import WDL
    from WDL import Tree
    from WDL.runtime import config as wdl_config

    from wfrewrite.compiler import wdl
    from wfrewrite.runtime.engines.miniwdl import (
        cache_plugin_lookups,
        prepare_ahead,
        spare_docker_import,
        spare_realpaths,
        spare_version_scan,
    )

    doc = wdl.load(args.source)
    tgt, inputs = wdl.read_inputs(doc, args.task, args.inputs)
    if isinstance(tgt, Tree.Task):
        wdl.check_hints_section(tgt, unsupported(args))
    if auto:
        print(f"wfrewrite: executor {options.executor} (auto)", file=sys.stderr)
    overrides: dict[str, dict[str, Any]] = {
        **wdl.MINIWDL_OVERRIDES,
        "wfrewrite": to_config(options),
    }
    cfg = wdl_config.Loader(
        logging.getLogger("wfrewrite.miniwdl"), [args.cfg] if args.cfg else None
    )
    cfg.override(overrides)
    prepare_ahead(cfg)
    cache_plugin_lookups()
    spare_docker_import()
    spare_version_scan()
    spare_realpaths()
    started()
    try:
        if isinstance(tgt, Tree.Task):
            run_dir, outputs = WDL.runtime.run_local_task(cfg, tgt, inputs, run_dir=args.dir)
        else:
            run_dir, outputs = WDL.runtime.run_local_workflow(cfg, tgt, inputs, run_dir=args.dir)
    except WDL.runtime.RunFailed as exn:
        print(failure_text(exn), file=sys.stderr)
        return 1
    except WDL.Error.RuntimeError as exn:
        print(f"error: {exn}", file=sys.stderr)
        return 1
    result = {"outputs": WDL.values_to_json(outputs, namespace=tgt.name), "dir": run_dir}
    print_result(args, json.dumps(result, indent=2))
    return 0


def failure_text(exn: BaseException) -> str:
    """The failing task's name, what failed, and the tail of its stderr."""
    import WDL

    lines = [f"error: {exn}"]
    cause: BaseException | None = exn
    while cause is not None and isinstance(cause, WDL.runtime.RunFailed):
        cause = cause.__cause__
    if isinstance(cause, WDL.runtime.CommandFailed):
        lines.append(f"  the command exited with {cause.exit_status}")
        tail = tail_lines(cause.stderr_file)
        if tail:
            lines.append("  stderr (last lines):\n" + "\n".join("    " + ln for ln in tail))
    elif isinstance(cause, WfError):
        lines.append("  " + render(cause))
    elif cause is not None:
        lines.append(f"  {type(cause).__name__}: {cause}")
    run_dir = getattr(exn, "run_dir", None)
    if run_dir:
        lines.append(f"  run dir: {run_dir}")
    return "\n".join(lines)
