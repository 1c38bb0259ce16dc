"""Slots: at most N tasks running at once, while their engine prepares more of them ahead.

    slots = Slots(2)
    job = ex.prepare(plan, "/runs/t3")          # emitted, staged: before any slot is free
    ex.run(job, gate=slots.gate(terminating))   # the container starts the moment one frees

An engine that runs tasks N at a time (miniwdl's task pool, cwltool's --parallel) holds a
slot for the whole of each task, its preparing and its bookkeeping included, so a container
that ends leaves its slot idle while the next task is set up. Given twice as many workers and
``Slots(N)`` as the gate of ``Executor.run``, N tasks still run at a time, and what the driver
does for a task (miniwdl's set-up, planning, emitting, staging, reading the manifest) happens
beside the running ones instead of between them.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from .base import Terminating


class Terminated(Exception):
    """The engine was terminating while the task waited for a slot."""


class Slots:
    def __init__(self, n: int) -> None:
        self.n = max(1, n)
        self._free = threading.BoundedSemaphore(self.n)

    @contextlib.contextmanager
    def gate(
        self, terminating: Terminating = None, on_wait: Callable[[], None] | None = None
    ) -> Iterator[None]:
        """Hold a slot while the block runs; wait for one first (1 s at a time to notice
        ``terminating``, raising ``Terminated``); ``on_wait`` is called once if it must."""
        if not self._free.acquire(blocking=False):
            if on_wait is not None:
                on_wait()
            while not self._free.acquire(timeout=1.0):
                if terminating is not None and terminating():
                    raise Terminated("terminating while the task waited for a slot")
        try:
            yield
        finally:
            self._free.release()
