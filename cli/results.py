"""What the commands write: compiled files and outputs, each file whole or not at all.

write_compiled(args, plan)    # DIR/plan.json, DIR/script.sh (+ tes-task.json | k8s-job.json)
print_result(args, text)      # the run's result, to -o (atomically) and to stdout
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

from wfrewrite.compiler.emit import emit
from wfrewrite.compiler.plan import NO_FACTS, TaskPlan, run_passes
from wfrewrite.compiler.plan.passes import platform_transport


def write_compiled(args: argparse.Namespace, plan: TaskPlan) -> None:
    """DIR/plan.json and DIR/script.sh, and the platform spec --emit asks for (both front ends)."""
    files: dict[str, str] = {}
    task: Any = None
    if args.emit in ("tes", "k8s"):
        plan = run_passes(plan, NO_FACTS, [platform_transport])
        if args.emit == "tes":
            from wfrewrite.compiler.emit import tes

            url = (
                args.outputs_url
                or "file://" + os.path.join(os.path.abspath(args.output), "outputs") + "/"
            )
            task = tes.tes_task(plan, url, split=args.tes_split)
            files["tes-task.json"] = tes.tes_json(task)
        else:
            from wfrewrite.compiler.emit import k8s

            files["k8s-job.json"] = k8s.k8s_json(k8s.k8s_job(plan, pvc=args.k8s_pvc))
    files = {"plan.json": plan.dumps(), "script.sh": emit(plan), **files}
    write_atomically(args.output, files)
    for name in files:
        if name != "plan.json":
            print(os.path.join(args.output, name))
    if task is not None and args.tes_server:
        from wfrewrite.compiler.emit import tes

        print(f"submitted: {tes.submit_tes(task, args.tes_server)}")


def write_atomically(directory: str, files: dict[str, str]) -> None:
    """Every file of ``files`` in ``directory``, all renamed into place at the end."""
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


def print_result(args: argparse.Namespace, text: str) -> None:
    """``wfrewrite run``'s result: written to ``-o`` (atomically) if given, and printed."""
    if args.outputs:
        write_atomically(
            os.path.dirname(os.path.abspath(args.outputs)),
            {os.path.basename(args.outputs): text + "\n"},
        )
    print(text)
