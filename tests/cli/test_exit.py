"""The console scripts leave without the interpreter's teardown (cli/exit.py), but with all
that anyone sees of an exit: the exit code, every byte written to a pipe, non-daemon threads
run to their end, then the atexit handlers (logging's among them)."""

from __future__ import annotations

import subprocess
import sys

PROBE = r"""
import atexit, logging, sys, threading, time
from wfrewrite.cli.exit import exit_now

logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
atexit.register(print, "atexit ran")
threading.Thread(target=lambda: (time.sleep(0.3), print("thread ended"))).start()
sys.stdout.write("x" * 200000 + "\n")  # more than a pipe holds: written out before the exit
logging.info("logged")
exit_now(int(sys.argv[1]))
"""


def test_exit_now_keeps_what_an_exit_shows() -> None:
    for code in (0, 3):
        p = subprocess.run(
            [sys.executable, "-c", PROBE, str(code)], capture_output=True, text=True, check=False
        )
        assert p.returncode == code, p.stderr
        lines = p.stdout.splitlines()
        assert lines == ["x" * 200000, "thread ended", "atexit ran"], lines[1:]
        assert p.stderr == "logged\n"


def test_console_scripts_use_it() -> None:
    from importlib.metadata import entry_points

    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts["wfrewrite"] == "wfrewrite.cli.exit:wfrewrite"
    assert scripts["wfrewrite-cwl-runner"] == "wfrewrite.cli.exit:wfrewrite_cwl_runner"
