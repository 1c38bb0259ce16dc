"""Passes: small pure ``TaskPlan -> TaskPlan`` rewrites, each followed by the checker.

plan = bind_default_image(plan, "ubuntu:22.04")   # image None -> the default
plan = bind_entrypoint(plan, ("docker-entrypoint.sh",))  # argv through the image's ENTRYPOINT
plan, moves = bind_stage_dir(plan, "/mnt/wfr/stage")
# moves == [("/data/a.txt", "0/a.txt")]: the executor links each host file to
# <host stage dir>/0/a.txt; the plan's StageItem.source becomes "0/a.txt"
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable

from .check import check
from .plan import LINK_MODES, StageItem, TaskPlan

Pass = Callable[[TaskPlan], TaskPlan]


def run_passes(plan: TaskPlan, passes: list[Pass]) -> TaskPlan:
    check(plan)
    for p in passes:
        plan = check(p(plan))
    return plan


def bind_default_image(plan: TaskPlan, image: str) -> TaskPlan:
    """A task that declares no image runs in ``image``."""
    return plan if plan.image is not None else plan.replace(image=image)


def bind_entrypoint(plan: TaskPlan, entrypoint: tuple[str, ...]) -> TaskPlan:
    """An argv command that goes through the image's ENTRYPOINT gets it in front, as
    ``docker run IMAGE ARGV...`` would run it (``()``: the image has none, or no image runs)."""
    cmd = plan.command
    if not cmd.entrypoint:
        return plan
    return plan.replace(
        command=dataclasses.replace(cmd, argv=tuple(entrypoint) + cmd.argv, entrypoint=False)
    )


def set_link_mode(plan: TaskPlan, mode: str) -> TaskPlan:
    if mode not in LINK_MODES:
        raise ValueError(f"link mode must be one of {', '.join(LINK_MODES)}, not {mode!r}")
    return plan.replace(link_mode=mode)


def bind_stage_dir(plan: TaskPlan, stage_dir: str) -> tuple[TaskPlan, list[tuple[str, str]]]:
    """Move every absolute staging source into one staging dir (the `mounted` transport).

    Returns the new plan and the (source, name under the staging dir) pairs the executor must
    materialize. Names are ``<n>/<basename>``: one subdirectory per source directory, so inputs
    with the same basename never collide and names stay readable.
    """
    moves: list[tuple[str, str]] = []
    by_parent: dict[str, str] = {}
    items: list[StageItem] = []
    for item in plan.stage:
        if not item.source.startswith("/"):
            items.append(item)
            continue
        parent, base = posixpath.split(item.source.rstrip("/"))
        sub = by_parent.setdefault(parent, str(len(by_parent)))
        name = f"{sub}/{base}"
        moves.append((item.source, name))
        items.append(
            StageItem(
                source=name,
                path=item.path,
                kind=item.kind,
                writable=item.writable,
                size=item.size,
                checksum=item.checksum,
            )
        )
    layout = dataclasses.replace(plan.layout, stage=stage_dir)
    return plan.replace(stage=tuple(items), layout=layout), moves
