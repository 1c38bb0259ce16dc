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

from .check import check, within
from .facts import Facts
from .ir import LINK_MODES, TaskPlan

Pass = Callable[[TaskPlan, Any], TaskPlan]


def run_passes(plan: TaskPlan, facts: Any, passes: Sequence[Pass]) -> TaskPlan:
    """Apply ``passes`` in order, checking the plan before and after every one (a pass that
    returns the plan it was given has nothing new to check)."""
    check(plan)
    for p in passes:
        given, plan = plan, p(plan, facts)
        if plan is not given:
            check(plan)
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


# At most this many inputs get a read-only mount of their own (beyond that, the staging dir).
MAX_SINGLE_MOUNTS = 64


def readonly_areas(plan: TaskPlan) -> tuple[str, ...]:
    """The paths of a plan's inputs that can be mounted read-only: each input's grandparent
    (miniwdl's ``work/_miniwdl_inputs``, cwltool's ``inputs``: ``<area>/<n>/<name>``) where
    nothing else is written, else the input itself (a CWL InitialWorkDir entry in the work dir;
    at most ``MAX_SINGLE_MOUNTS`` of those); never the root or the work dir, never where the
    script writes, never a writable input. Outermost areas first, then the single inputs."""
    lay = plan.layout
    writes = [lay.work, lay.meta, lay.tmp, lay.home, plan.stdout, plan.stderr]
    writes += [lit.path for lit in plan.literals]
    writes += [s.path for s in plan.stage if s.writable]

    def free(path: str) -> bool:
        return (
            path not in (lay.root, lay.work)
            and within(path, lay.root)
            and not lay.work_alias  # the work dir is mounted twice: no mounts inside it
            and not any(within(w, path) or (within(path, w) and w != lay.work) for w in writes)
        )

    areas: set[str] = set()
    singles: list[str] = []
    for item in plan.stage:
        if item.writable or not item.source.startswith("/") or item.source == item.path:
            continue
        area = posixpath.dirname(posixpath.dirname(item.path))
        if free(area):
            areas.add(area)
        elif free(item.path):
            singles.append(item.path)
    outer = sorted(a for a in areas if not any(a != b and within(a, b) for b in areas))
    singles = [p for p in singles if not any(within(p, a) for a in outer)]
    return tuple(outer + singles[:MAX_SINGLE_MOUNTS])


def readonly_inputs(plan: TaskPlan, facts: Any) -> TaskPlan:
    """Inputs in read-only areas (``readonly_areas``): the executor puts each at its path and
    mounts the area read-only, so the task can read its inputs and never change them; the
    script only checks they are there (their source becomes their own path)."""
    areas = readonly_areas(plan)
    if not areas:
        return plan
    items = tuple(
        dataclasses.replace(item, source=item.path)
        if not item.writable and any(within(item.path, a) for a in areas)
        else item
        for item in plan.stage
    )
    layout = dataclasses.replace(plan.layout, readonly=plan.layout.readonly + areas)
    return plan.replace(stage=items, layout=layout)


def placed_inputs(plan: TaskPlan) -> list[tuple[str, str]]:
    """(host source, container path) of the inputs ``readonly_inputs`` would place."""
    areas = readonly_areas(plan)
    return [
        (item.source, item.path)
        for item in plan.stage
        if not item.writable and any(within(item.path, a) for a in areas)
    ]


def stage_names(plan: TaskPlan) -> list[tuple[str, str]]:
    """(host source, name under the staging dir) for every absolute staging source. Names are
    ``<n>/<basename>``: one subdirectory per source directory, so inputs with the same basename
    never collide, inputs that sit side by side stay side by side, and names stay readable.
    Inputs already placed at their path (``readonly_inputs``) are not staged."""
    out: list[tuple[str, str]] = []
    by_parent: dict[str, str] = {}
    for item in plan.stage:
        if not item.source.startswith("/") or item.source == item.path:
            continue
        parent, base = posixpath.split(item.source.rstrip("/"))
        sub = by_parent.setdefault(parent, str(len(by_parent)))
        out.append((item.source, f"{sub}/{base}"))
    return out


def stage_dir(directory: str) -> Pass:
    """Every absolute staging source, renamed into one staging dir at ``directory`` (relative:
    under the plan's root; the mounted transport materializes ``stage_names(plan)`` there)."""

    def bind_stage_dir(plan: TaskPlan, facts: Any) -> TaskPlan:
        names = {src: name for src, name in stage_names(plan)}
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
    "placed_inputs",
    "platform_transport",
    "readonly_areas",
    "readonly_inputs",
    "run_passes",
    "stage_dir",
    "stage_names",
]
