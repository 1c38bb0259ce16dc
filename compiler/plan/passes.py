"""Passes: small pure ``(TaskPlan, facts) -> TaskPlan`` rewrites, each followed by the checker.

    facts = Facts(image=ImageFacts(image="bash:4.4", entrypoint=("docker-entrypoint.sh",)))
    plan = run_passes(plan, facts, [choose_image, bind_entrypoint, link_mode("hardlink")])
    plan = run_passes(plan, facts, [stage_dir("stage")])     # /mnt/wfr/stage
    # stage_names(plan) == [("/data/a.txt", "0/a.txt")]: the mounted transport links each host
    # file to <host stage dir>/0/a.txt; the plan's StageItem.source becomes "0/a.txt"

An executor declares its passes as a list; what they need to know of the world (the image's
ENTRYPOINT, whether it exists) was gathered beforehand into the facts, so no pass does I/O.
A pass that needs a setting (a link mode, a directory) is made by a small factory.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable, Sequence
from typing import Any

from .check import check
from .facts import Facts
from .ir import LINK_MODES, TaskPlan

Pass = Callable[[TaskPlan, Any], TaskPlan]


def run_passes(plan: TaskPlan, facts: Any, passes: Sequence[Pass]) -> TaskPlan:
    """Apply ``passes`` in order, checking the plan before and after every one."""
    check(plan)
    for p in passes:
        plan = check(p(plan, facts))
    return plan


def image_candidates(plan: TaskPlan, default_image: str) -> list[str]:
    """The images a task may run in, in order: its own (or ``default_image``), then the
    alternatives it lists (WDL ``container: [a, b]``)."""
    return [plan.image or default_image, *plan.image_alternatives]


def choose_image(plan: TaskPlan, facts: Facts) -> TaskPlan:
    """The image the facts chose (the default for a task that declares none, the first present
    among alternatives)."""
    if facts.image is None:
        return plan
    return plan.replace(image=facts.image.image, image_alternatives=())


def bind_entrypoint(plan: TaskPlan, facts: Facts) -> TaskPlan:
    """An argv command that goes through the image's ENTRYPOINT gets it in front, as
    ``docker run IMAGE ARGV...`` would run it (none where the image has none, or no image runs)."""
    cmd = plan.command
    if not cmd.entrypoint:
        return plan
    entrypoint = facts.image.entrypoint if facts.image is not None else ()
    return plan.replace(
        command=dataclasses.replace(cmd, argv=tuple(entrypoint) + cmd.argv, entrypoint=False)
    )


def link_mode(mode: str) -> Pass:
    """How the mounted transport puts inputs in place: symlink, hardlink or copy."""
    if mode not in LINK_MODES:
        raise ValueError(f"link mode must be one of {', '.join(LINK_MODES)}, not {mode!r}")

    def set_link_mode(plan: TaskPlan, facts: Any) -> TaskPlan:
        return plan.replace(link_mode=mode)

    return set_link_mode


def stage_names(plan: TaskPlan) -> list[tuple[str, str]]:
    """(host source, name under the staging dir) for every absolute staging source. Names are
    ``<n>/<basename>``: one subdirectory per source directory, so inputs with the same basename
    never collide, inputs that sit side by side stay side by side, and names stay readable."""
    out: list[tuple[str, str]] = []
    by_parent: dict[str, str] = {}
    for item in plan.stage:
        if not item.source.startswith("/"):
            continue
        parent, base = posixpath.split(item.source.rstrip("/"))
        sub = by_parent.setdefault(parent, str(len(by_parent)))
        out.append((item.source, f"{sub}/{base}"))
    return out


def stage_dir(directory: str) -> Pass:
    """Every absolute staging source, renamed into one staging dir at ``directory`` (relative:
    under the plan's root; the mounted transport materializes ``stage_names(plan)`` there)."""

    def bind_stage_dir(plan: TaskPlan, facts: Any) -> TaskPlan:
        names = dict(stage_names(plan))
        where = posixpath.join(plan.layout.root, directory)
        items = tuple(
            dataclasses.replace(item, source=names[item.source]) if item.source in names else item
            for item in plan.stage
        )
        layout = dataclasses.replace(plan.layout, stage=where)
        return plan.replace(stage=items, layout=layout)

    return bind_stage_dir


def platform_transport(plan: TaskPlan, facts: Any) -> TaskPlan:
    """For platforms that move the bytes themselves (a TES server's inputs and outputs): the
    script only checks that the inputs are in place."""
    return plan.replace(transport="platform")


__all__ = [
    "Pass",
    "bind_entrypoint",
    "choose_image",
    "image_candidates",
    "link_mode",
    "platform_transport",
    "run_passes",
    "stage_dir",
    "stage_names",
]
