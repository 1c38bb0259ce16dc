"""The console scripts' way in and out: no garbage collection while they start (``startup``),
and everything the interpreter does at exit that anyone can see, without its teardown of every
module and object.

    # pyproject.toml: wfrewrite = "wfrewrite.cli.exit:wfrewrite"
    starting()         # start-up: the collector off until the run begins (startup.started)
    exit_now(main())   # threads joined, atexit handlers run, stdout/stderr flushed, os._exit

After a run, with miniwdl's (or cwltool's) modules, a parsed document and its thread pools in
memory, the interpreter's own finalization takes 0.08-0.15 s on this machine: it frees what the
process is about to give back anyway. The entry points only: ``main()`` stays callable (tests
call it in-process).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

from .startup import starting


def exit_now(code: int | None) -> NoReturn:
    """Exit with ``code`` as ``sys.exit`` would, minus the interpreter's teardown: non-daemon
    threads are waited for (and the pools' exit hooks run) as at shutdown, then the atexit
    handlers (logging's flush among them), then stdout and stderr are flushed."""
    shutdown = getattr(threading, "_shutdown", None)  # what the interpreter calls first
    if shutdown is None:  # an interpreter without it exits the usual way
        sys.exit(code)
    try:
        shutdown()
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    except BaseException:  # interrupted on the way out (or a closed pipe): the usual way
        sys.exit(code)
    os._exit(code or 0)


def wfrewrite() -> NoReturn:
    starting()
    from wfrewrite.cli.main import main

    exit_now(main())


def wfrewrite_cwl_runner() -> NoReturn:
    starting()
    from wfrewrite.cli.cwl_runner import main

    exit_now(main())
