"""The ``wfrewrite`` command.

    wfrewrite compile SOURCE.wdl|SOURCE.cwl [-i INPUTS] [--task NAME] -o DIR [--root /mnt/wfr]
        writes DIR/script.sh and DIR/plan.json (nothing at all on error)
    wfrewrite run SOURCE.wdl|SOURCE.cwl [-i INPUTS] [--task NAME] [--executor auto|local|podman|docker]
                  [-o OUTPUTS.json] [--dir RUN_DIR] [--transport mounted|url --store URL]
        compiles, executes and collects; prints {"outputs": {...}, "dir": RUN_DIR}

A CWL document (``.cwl``, or a file that starts like one) goes to the CWL front end: INPUTS is its
job object (YAML or JSON), ``--task ID`` picks ``SOURCE#ID`` in a packed file, and ``run`` moves
the outputs into RUN_DIR (default: the current directory, as cwltool does).

Errors print ``file:line:col: error: message`` (with the source line and a caret) and exit 2;
a task that runs and fails exits 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import tempfile
from typing import Any

from wfrewrite import __version__
from wfrewrite.compiler.diagnostics import Unsupported, WfError, die, render
from wfrewrite.compiler.plan import CONTAINER_ROOT, LINK_MODES
from wfrewrite.runtime.executors import (
    DEFAULT_IMAGE,
    EXECUTORS,
    TRANSPORTS,
    Options,
    select,
    tail_lines,
)

log = logging.getLogger("wfrewrite")


def _add_source_args(p: argparse.ArgumentParser) -> None:
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
    p.add_argument(
        "--unsupported",
        choices=("error", "warning", "ignore"),
        default="error",
        help="what an unsupported feature is (default: error)",
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log (twice: debug)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="wfrewrite", description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", action="version", version=f"wfrewrite {__version__}")
    sub = ap.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("compile", help="compile a task into DIR/script.sh and DIR/plan.json")
    _add_source_args(c)
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
        "run", help="compile, execute and collect a task (or a workflow, via miniwdl)"
    )
    _add_source_args(r)
    r.add_argument("--executor", choices=EXECUTORS, default="auto")
    r.add_argument("-o", "--outputs", metavar="OUTPUTS.json", help="also write the outputs here")
    r.add_argument("--dir", metavar="RUN_DIR", help="run directory (miniwdl's rules; default: .)")
    r.add_argument(
        "--default-image", default=DEFAULT_IMAGE, help=f"for tasks without one ({DEFAULT_IMAGE})"
    )
    add_container_options(r)
    r.add_argument(
        "--slurm-container",
        choices=("podman", "docker", "none"),
        default="podman",
        help="slurm: run each job's task with this engine, or with none (the node's sh)",
    )
    r.add_argument(
        "--resources",
        choices=("deny", "clamp"),
        default="deny",
        help="a task asking for more cpu/memory than there is: fail (deny) or run with what "
        "there is (clamp, miniwdl's behaviour)",
    )
    r.add_argument("--cfg", metavar="FILE", help="a miniwdl configuration file")
    add_url_options(r)
    return ap


def add_container_options(parser: argparse.ArgumentParser) -> None:
    """How inputs are staged and how containers run (wfrewrite run, wfrewrite-cwl-runner)."""
    parser.add_argument("--link-mode", choices=LINK_MODES, help="how inputs are staged")
    parser.add_argument(
        "--read-only", action="store_true", help="container: read-only root filesystem"
    )
    parser.add_argument("--user", help="container: run as this uid[:gid]")
    parser.add_argument(
        "--network", help="container: network mode (for CWL, of the tools that ask for one)"
    )


def executor_options(args: argparse.Namespace) -> Options:
    """``executors.Options`` from the container and url transport options (a WfError if the
    url transport's are incomplete)."""
    return Options(
        link_mode=args.link_mode,
        read_only=args.read_only,
        user=args.user,
        network=args.network,
        **url_executor_options(args),
    )


def add_url_options(parser: argparse.ArgumentParser) -> None:
    """--transport and the url transport's store options (wfrewrite run, wfrewrite-cwl-runner)."""
    u = parser.add_argument_group(
        "the url transport (nothing mounted; inputs and outputs over HTTP)"
    )
    u.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default="mounted",
        help="mounted (default): the task's directory is mounted; url: nothing is mounted, the "
        "script downloads its inputs and uploads its outputs (needs --store)",
    )
    u.add_argument(
        "--store",
        metavar="URL",
        help="where objects go: an http(s) prefix taking PUT (WebDAV, nginx), e.g. "
        "http://127.0.0.1:8089/wfr/, or s3://bucket/prefix (presigned with boto3)",
    )
    u.add_argument(
        "--s3-endpoint", metavar="URL", help="an S3-compatible endpoint for s3:// stores"
    )
    u.add_argument("--store-ca", metavar="PEM", help="a CA certificate for an https store")
    u.add_argument("--url-expires", type=int, default=86400, metavar="SECONDS")
    u.add_argument("--url-parallel", type=int, default=4, metavar="N", help="transfers at a time")
    u.add_argument("--url-retries", type=int, default=5, metavar="N", help="attempts per transfer")
    u.add_argument("--url-stall", type=int, default=60, metavar="SECONDS")


def url_executor_options(args: argparse.Namespace) -> dict[str, Any]:
    """``executors.Options`` fields from --transport/--store... (a WfError if incomplete)."""
    if args.transport != "url":
        return {}
    if not args.store:
        raise WfError("--transport url needs --store (an http(s) PUT prefix or s3://bucket/prefix)")
    from wfrewrite.runtime.transport_url import StoreOptions

    store = StoreOptions(
        store=args.store,
        s3_endpoint=args.s3_endpoint,
        expires=args.url_expires,
        ca_file=os.path.abspath(args.store_ca) if args.store_ca else None,
        parallel=args.url_parallel,
        retries=args.url_retries,
        stall=args.url_stall,
    )
    return {"transport": "url", "store": store}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        if _is_cwl(args.source):
            from wfrewrite import cwl_cli

            return cwl_cli.cmd_compile(args) if args.cmd == "compile" else cwl_cli.cmd_run(args)
        if args.cmd == "compile":
            return cmd_compile(args)
        return cmd_run(args)
    except WfError as exn:
        return die(exn)
    except KeyboardInterrupt:
        print("wfrewrite: interrupted", file=sys.stderr)
        return 130


def _is_cwl(source: str) -> bool:
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
    """Task logs (miniwdl's task.log) get everything from INFO; the console what -v asks for."""
    import WDL._util  # noqa: F401  (adds miniwdl's NOTICE and VERBOSE levels)

    console = logging.StreamHandler(sys.stderr)
    console.setLevel(
        logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    )
    console.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(console)
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


def _unsupported(args: argparse.Namespace) -> Unsupported:
    return Unsupported(level=args.unsupported, sink=lambda text: print(text, file=sys.stderr))


def cmd_compile(args: argparse.Namespace) -> int:
    from WDL import Tree

    from wfrewrite.compiler import wdl
    from wfrewrite.compiler.check import check

    doc = wdl.load(args.source)
    tgt, inputs = wdl.read_inputs(doc, args.task, args.inputs)
    if not isinstance(tgt, Tree.Task):
        raise WfError(f"{tgt.name} is a workflow; compile takes a task (use --task NAME)")
    plan = check(wdl.compile_task(tgt, inputs, root=args.root, unsupported=_unsupported(args)))
    write_compiled(args, plan)
    return 0


def write_compiled(args: argparse.Namespace, plan: Any) -> None:
    """DIR/plan.json and DIR/script.sh, and the platform spec --emit asks for (both front ends)."""
    from wfrewrite.compiler.check import check
    from wfrewrite.compiler.emit import emit

    files: dict[str, str] = {}
    task = None
    if args.emit in ("tes", "k8s"):
        from wfrewrite.compiler import platforms

        plan = check(platforms.to_platform(plan))
        if args.emit == "tes":
            url = (
                args.outputs_url
                or "file://" + os.path.join(os.path.abspath(args.output), "outputs") + "/"
            )
            task = platforms.tes_task(plan, url, split=args.tes_split)
            files["tes-task.json"] = platforms.tes_json(task)
        else:
            files["k8s-job.json"] = platforms.k8s_json(platforms.k8s_job(plan, pvc=args.k8s_pvc))
    files = {"plan.json": plan.dumps(), "script.sh": emit(plan), **files}
    write_atomically(args.output, files)
    for name in files:
        if name != "plan.json":
            print(os.path.join(args.output, name))
    if task is not None and args.tes_server:
        print(f"submitted: {platforms.submit_tes(task, args.tes_server)}")


def write_atomically(directory: str, files: dict[str, str]) -> None:
    os.makedirs(directory, exist_ok=True)
    tmps = []
    try:
        for name, text in files.items():
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
            tmps.append((tmp, os.path.join(directory, name)))
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
        for tmp, final in tmps:
            os.chmod(tmp, 0o755 if final.endswith(".sh") else 0o644)
            os.replace(tmp, final)
    finally:
        for tmp, _ in tmps:
            if os.path.exists(tmp):
                os.unlink(tmp)


def cmd_run(args: argparse.Namespace) -> int:
    import WDL
    from WDL import Tree
    from WDL.runtime import config as wdl_config

    from wfrewrite.compiler import wdl

    doc = wdl.load(args.source)
    tgt, inputs = wdl.read_inputs(doc, args.task, args.inputs)
    unsupported = _unsupported(args)
    if isinstance(tgt, Tree.Task):
        wdl.check_hints_section(tgt, unsupported)
    url_executor_options(args)  # --transport url needs --store: say so before anything runs
    executor = args.executor
    if executor == "auto":
        executor = select("auto").name
        print(f"wfrewrite: executor {executor} (auto)", file=sys.stderr)
    overrides: dict[str, dict[str, Any]] = {
        **wdl.MINIWDL_OVERRIDES,
        "wfrewrite": {
            "executor": executor,
            "default_image": args.default_image,
            "link_mode": args.link_mode or "",
            "read_only": "true" if args.read_only else "false",
            "user": args.user or "",
            "network": args.network or "",
            "slurm_container": args.slurm_container,
            "unsupported": args.unsupported,
            "resources": args.resources,
            "transport": args.transport,
            "store": args.store or "",
            "s3_endpoint": args.s3_endpoint or "",
            "store_ca": os.path.abspath(args.store_ca) if args.store_ca else "",
            "url_expires": str(args.url_expires),
            "url_parallel": str(args.url_parallel),
            "url_retries": str(args.url_retries),
            "url_stall": str(args.url_stall),
        },
    }
    cfg = wdl_config.Loader(
        logging.getLogger("wfrewrite.miniwdl"), [args.cfg] if args.cfg else None
    )
    cfg.override(overrides)
    wdl.cache_plugin_lookups()
    try:
        if isinstance(tgt, Tree.Task):
            run_dir, outputs = WDL.runtime.run_local_task(cfg, tgt, inputs, run_dir=args.dir)
        else:
            run_dir, outputs = WDL.runtime.run_local_workflow(cfg, tgt, inputs, run_dir=args.dir)
    except WDL.runtime.RunFailed as exn:
        print(_failure_text(exn), file=sys.stderr)
        return 1
    except WDL.Error.RuntimeError as exn:
        print(f"error: {exn}", file=sys.stderr)
        return 1
    result = {"outputs": WDL.values_to_json(outputs, namespace=tgt.name), "dir": run_dir}
    print_result(args, json.dumps(result, indent=2))
    return 0


def print_result(args: argparse.Namespace, text: str) -> None:
    """``wfrewrite run``'s result: written to ``-o`` (atomically) if given, and printed."""
    if args.outputs:
        write_atomically(
            os.path.dirname(os.path.abspath(args.outputs)),
            {os.path.basename(args.outputs): text + "\n"},
        )
    print(text)


def _failure_text(exn: BaseException) -> str:
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


if __name__ == "__main__":
    sys.exit(main())
