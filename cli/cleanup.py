"""``wfrewrite cleanup``: remove what a killed driver left running (containers, Slurm jobs, TES
tasks, Kubernetes Jobs), found by the labels every one of them carries.

    wfrewrite cleanup --run runs/          # leftovers of `wfrewrite run --dir runs/` whose
                                           # driver is gone, on every executor usable here
    wfrewrite cleanup --job wfr-hello-5f2c0e1a2b3c --executor slurm    # one job, at once
    wfrewrite cleanup --label r3c1f... --force    # everything of that run, live drivers too

A driver that dies, even by SIGKILL, has its reaper remove its tasks at once (``exec.base.reaper``);
every run also sweeps its own label when it starts. This command is for everything else.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys

from wfrewrite.runtime import exec as executors
from wfrewrite.runtime.job import run_label_of
from wfrewrite.runtime.options import Options

from .args import run_options


def here(options: Options) -> list[str]:
    """The executors to look in: the one named, else every one usable from this machine."""
    if options.executor != "auto":
        return [options.executor]
    engine = executors.resolve("auto")  # podman, else docker if its daemon answers
    names = [engine] if engine != "local" else []
    if shutil.which("squeue"):
        names.append("slurm")
    if options.tes_url:
        names.append("tes")
    if options.kubeconfig:
        names.append("kubernetes")
    return names


def cmd_cleanup(args: argparse.Namespace) -> int:
    options = run_options(args)
    label = args.label or (run_label_of(args.run) if args.run else None)
    if not label and not args.job:
        raise SystemExit("wfrewrite cleanup: give --run DIR, --label LABEL or --job NAME")
    removed = 0
    for name in here(options):
        ex = executors.select(dataclasses.replace(options, executor=name))
        if args.job:
            ex.cancel(args.job)
            print(f"{name}: {args.job} cancelled (if it was there)")
        if label:
            for what in ex.sweep(label, force=args.force):
                print(f"{name}: removed {what}")
                removed += 1
    if label:
        print(f"{removed} left over from run {label}", file=sys.stderr)
    return 0
