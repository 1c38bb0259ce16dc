"""The leader's rests after its last job: its helper threads stop when asked (Toil 9.6.0
internals).

    quicken_leader()     # in the leader, once (hook.install_leader_hook, under --no-appliance)

When Toil's leader has run its last job it stops three helper threads, and each stop waited out
a rest the thread was taking, ~1.3 s in all on every run here:

    ServiceManager       its loop is paced by ``throttle(1.0)``, slept out even after
                         ``shutdown`` asked it to stop (1.7 s in one run)
    StatsAndLogging      its loop sleeps 0.5 s when no job has logged (0.29 s)
    RealtimeLogger       its UDP server's ``serve_forever`` looks for a shutdown every 0.5 s
                         (0.50 s; Toil starts it on every run, real-time logging asked or not)

Here the first two rest on an event that their ``shutdown`` sets (``rest``), and the third looks
every 0.05 s. What the threads do, their pace while they run, and everything else stay Toil's.
The batch system's side of the leader's waits (``getUpdatedBatchJob`` while the leader has work)
is in ``batch``.
"""

from __future__ import annotations

import socketserver
import threading
import time
import types
from collections.abc import Callable
from typing import Any

SERVER_POLL = 0.05  # seconds between the real-time log server's looks for a shutdown

# a helper thread (its ident) -> what ends its rest early
_wakeups: dict[int, threading.Event] = {}
_lock = threading.Lock()


def _wakeup(ident: int) -> threading.Event:
    with _lock:
        return _wakeups.setdefault(ident, threading.Event())


def rest(seconds: float) -> None:
    """``time.sleep`` for a helper thread of the leader: over at once when its shutdown asks."""
    _wakeup(threading.get_ident()).wait(seconds)


class PacedPass:
    """``toil.lib.throttle.throttle`` as the service manager uses it (``with throttle(1.0):``
    around each pass of its loop): a pass takes at least ``min_interval`` seconds, unless it
    raised or its thread was asked to stop."""

    def __init__(self, min_interval: float) -> None:
        self.min_interval = min_interval
        self.start = 0.0

    def __enter__(self) -> PacedPass:
        self.start = time.monotonic()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            left = self.min_interval - (time.monotonic() - self.start)
            if left > 0:
                rest(left)


class QuickUDPServer(socketserver.ThreadingUDPServer):
    """The real-time log server, which sees a shutdown within ``SERVER_POLL`` seconds."""

    def serve_forever(self, poll_interval: float = SERVER_POLL) -> None:
        super().serve_forever(poll_interval)


def _waking(
    shutdown: Callable[[Any], None], parts: Callable[[Any], tuple[Any, threading.Event]]
) -> Callable[..., None]:
    """``shutdown``, which first raises the stop flag of the thread it will join (``parts``:
    the thread and its flag; ``shutdown`` raises it again) and then wakes that thread from its
    rest, so that the thread sees the flag as it wakes."""

    def wrapped(self: Any) -> None:
        thread, stop = parts(self)
        stop.set()
        ident = thread.ident
        if ident is not None:
            _wakeup(ident).set()
        try:
            shutdown(self)
        finally:
            if ident is not None:
                with _lock:
                    _wakeups.pop(ident, None)

    wrapped._wfrewrite_waking = True  # type: ignore[attr-defined]
    return wrapped


def quicken_leader() -> None:
    """Install the three changes above (once per process)."""
    import toil.realtimeLogger as rt
    import toil.serviceManager as sm
    import toil.statsAndLogging as sl

    if getattr(sm.ServiceManager.shutdown, "_wfrewrite_waking", False):
        return
    sm.throttle = PacedPass
    sm.ServiceManager.shutdown = _waking(
        sm.ServiceManager.shutdown,
        lambda self: (self._ServiceManager__service_starter, self._ServiceManager__terminate),
    )
    # its module's `time`, with the loop's one sleep a rest
    clock = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if k[0] != "_"})
    clock.sleep = rest
    sl.time = clock
    sl.StatsAndLogging.shutdown = _waking(
        sl.StatsAndLogging.shutdown, lambda self: (self._worker, self._stop)
    )
    rt.SocketServer = types.SimpleNamespace(ThreadingUDPServer=QuickUDPServer)
