"""Facts: what an executor found out with I/O before the passes run, as plain data.

    facts = Facts(image=ImageFacts(image="bash:4.4", present=True,
                                   entrypoint=("docker-entrypoint.sh",), shell=True))
    plan = run_passes(plan, facts, [choose_image, bind_entrypoint])
    # plan.image == "bash:4.4"; an argv command that goes through the ENTRYPOINT now starts
    # with "docker-entrypoint.sh"

The executor gathers them (``podman image inspect``, a probe run, a cache); the passes
(``wfrewrite.compiler.plan.passes``) only read them, so that every pass is a pure function of the
plan and the facts and can be tested without a container engine.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageFacts:
    """The image a task runs in, as the container engine knows it."""

    image: str  # the candidate chosen: the first the engine has (else the first, to fail clearly)
    present: bool = True
    entrypoint: tuple[str, ...] = ()  # its ENTRYPOINT (() if none, or unknown)
    shell: bool | None = None  # whether /bin/sh runs in it (None: not checked)


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """Everything the passes of one executor may read. ``image`` is None where no image runs
    (the ``local`` executor)."""

    image: ImageFacts | None = None


NO_FACTS = Facts()
