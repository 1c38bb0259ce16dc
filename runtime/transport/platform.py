"""The ``platform`` transport: the platform (a TES server's inputs and outputs) moves the bytes;
the script only checks that every input is in place (``runtime/sh/transport_platform.sh``).

    passes(...) == [platform_transport]     # the plan's transport becomes "platform"

Where the platform puts the outputs and how the driver gets them back is the executor's (the
tes executor names the store in the TES task's outputs and fetches from it).
"""

from __future__ import annotations

from wfrewrite.compiler.plan import Pass
from wfrewrite.compiler.plan.passes import platform_transport

from .base import Transport


class PlatformTransport(Transport):
    name = "platform"
    mounts = False

    def passes(self, *, isolated: bool, link_mode: str) -> list[Pass]:
        return [platform_transport]
