"""Warm workers: every Toil worker forked from a process that has Toil imported already.

    start_early(["wdl"])              # as --no-appliance is parsed (hook): PRELOAD's imports
    zyg = take_zygote(["wdl"])        # the wfrewrite batch system: that zygote, or a new one
    zyg.wait_ready()                  # before its first job
    command = zyg.command("_toil_worker WDLTaskJob file:js kind-... --context ...")
    # command == "<python> -S -I .../zygote_client.py <socket> _toil_worker WDLTaskJob ..."

A fresh ``_toil_worker`` spends most of its second of CPU importing Toil and its WDL or CWL
interpreter. The zygote imports them once, then for each job forks a child that runs
``toil.worker.main`` with the job's arguments, environment, working directory and standard
streams (handed over with the request). The job still runs in a process of its own, as Toil
expects; what Toil starts and waits for is a small client (``zygote_client.py``, Python without
site packages) that asks for the fork, relays signals and exits with the worker's status. The
worker holds the read end of a pipe whose other end the client holds: when the client dies
(Toil killed the job, even with SIGKILL), the worker kills its own process group at once.
If the zygote is gone, or has more than one thread (forking would not be safe), the client runs
the real ``_toil_worker`` itself. Besides imports, ``PRELOAD`` names what every worker would
otherwise do for itself (``MODULE:FUNCTION``), done once before the forks.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import os
import random
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import Any

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zygote_client.py")
MAX_REQUEST = 1 << 20
READY_POLL = 0.01  # seconds between looks for the zygote's ready flag


class Zygote:
    """The batch system's handle on its zygote process and the directory it listens in."""

    def __init__(self, directory: str, socket_path: str, proc: subprocess.Popen[bytes]) -> None:
        self.directory = directory
        self.socket_path = socket_path
        self.proc = proc
        self._ready = False

    @classmethod
    def start(cls, preload: Sequence[str]) -> Zygote:
        """A zygote with ``preload`` imported (its own session), listening in a new directory."""
        directory = tempfile.mkdtemp(prefix="wfr-z-")
        path = os.path.join(directory, f"wfrewrite-zygote-{os.getpid()}.sock")
        proc = subprocess.Popen(
            [sys.executable, "-m", __name__, path, *preload],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return cls(directory, path, proc)

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Wait until the zygote serves (it binds its socket after its imports, which overlap
        the leader's own start-up), it has ended, or ``timeout`` has passed; True if it serves."""
        if self._ready:
            return True
        flag = self.socket_path + ".ready"
        for _ in range(int(timeout / READY_POLL)):
            if os.path.exists(flag):
                self._ready = True
                return True
            if self.proc.poll() is not None:
                return False
            select.select([], [], [], READY_POLL)
        return False

    def command(self, worker_command: str) -> str:
        """The shell command that runs ``worker_command`` (``_toil_worker ...``) as a fork."""
        client = shlex.join([sys.executable, "-S", "-I", CLIENT, self.socket_path])
        return f"{client} {worker_command}"

    def stop(self) -> None:
        """End the zygote (its workers are their own) and remove its directory."""
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        shutil.rmtree(self.directory, ignore_errors=True)


# What the zygote imports (MODULE) or does (MODULE:FUNCTION) before it forks workers, by runner
PRELOAD = {
    "common": [
        "toil.worker",
        "wfrewrite.runtime.engines.toil.worker:warm_zygote",
        "wfrewrite.runtime.exec.container",
        "wfrewrite.runtime.exec.local",
    ],
    "wdl": [
        "toil.wdl.wdltoil",
        # Toil's worker imports cwltool.main after every job, a WDL one too (~0.37 s of CPU):
        # a stand-in answers what it asks there
        "wfrewrite.runtime.engines.toil.worker:spare_cwltool_import",
        "wfrewrite.runtime.engines.toil.wdl",
        "wfrewrite.runtime.engines.miniwdl:warm_toil_worker",
    ],
    "cwl": [
        "toil.cwl.cwltoil",
        "wfrewrite.runtime.engines.toil.cwl",
        "wfrewrite.runtime.engines.cwltool.job",
        "wfrewrite.runtime.engines.cwltool.run",
    ],
}


def preload(languages: Sequence[str]) -> list[str]:
    """What a zygote preloads for these runners ("wdl", "cwl"): the common part and theirs."""
    return PRELOAD["common"] + [m for lang in languages for m in PRELOAD[lang]]


def forking() -> bool:
    """Workers are forked (WFREWRITE_TOIL_FORK is not 0)."""
    return os.environ.get("WFREWRITE_TOIL_FORK", "1") != "0"


_early: list[Zygote] = []  # started while Toil parses its options, not yet adopted


def start_early(languages: Sequence[str]) -> None:
    """Start the zygote as soon as --no-appliance is parsed, so that its imports (~1.3 s of CPU
    here) overlap the leader's own start-up (~0.5 s more of it than from the batch system's
    start); the batch system adopts it. One that no batch system adopts (another batch system
    was chosen, or workers are debugged) is stopped (``drop_early``, or at exit)."""
    if _early or not forking():
        return
    _early.append(Zygote.start(preload(languages)))
    atexit.register(drop_early)


def drop_early() -> None:
    while _early:
        _early.pop().stop()


def take_zygote(languages: Sequence[str]) -> Zygote:
    """The zygote started early, or a new one for these runners."""
    while _early:
        zygote = _early.pop()
        if zygote.proc.poll() is None:
            return zygote
        zygote.stop()
    return Zygote.start(preload(languages))


def serve(path: str, preload: Sequence[str]) -> None:
    """The zygote: import ``preload`` (and call the ``MODULE:FUNCTION`` entries), then fork a
    worker for each request until told to stop (SIGTERM) or its parent (the leader) is gone.
    Its garbage collector stays off and what it holds is frozen before each fork, as CPython
    advises for a process that forks without exec: a worker's first full collection no longer
    walks (and so copies, page by page) the zygote's whole heap, ~75 ms of each worker here."""
    gc.disable()
    for name in preload:  # MODULE, or MODULE:FUNCTION to call once imported
        module, _, call = name.partition(":")
        with contextlib.suppress(ImportError):
            loaded = importlib.import_module(module)
            if call:
                try:
                    getattr(loaded, call)()
                except Exception as exn:  # a warm-up that failed: the workers do it themselves
                    print(f"wfrewrite zygote: {name}: {exn}", file=sys.stderr)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    open(path + ".ready", "w").close()
    leader = os.getppid()
    clients: dict[int, socket.socket] = {}  # worker pid -> the client that asked for it
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # nothing to tear down: at once
    # a worker's end wakes the loop at once (SIGCHLD writes to the wakeup pipe)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        ready = select.select([server.fileno(), wake_r], [], [], 1.0)[0]
        if wake_r in ready:
            os.read(wake_r, 4096)
        for pid, conn in list(clients.items()):  # report the workers that ended
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                with contextlib.suppress(OSError):
                    conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
                conn.close()
                del clients[pid]
        if os.getppid() != leader:
            sys.exit(0)
        if server.fileno() not in ready:
            continue
        conn, _ = server.accept()
        try:
            msg, fds, _, _ = socket.recv_fds(conn, MAX_REQUEST, 4)
            request = json.loads(msg)
        except (OSError, ValueError):
            conn.close()
            continue
        if threading.active_count() > 1 or len(fds) != 4:
            conn.sendall(b"refused\n")  # the client runs the worker itself
            conn.close()
            for fd in fds:
                os.close(fd)
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            gc.enable()
            server.close()
            conn.close()
            signal.set_wakeup_fd(-1)
            os.close(wake_r)
            os.close(wake_w)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _worker(request, fds)  # never returns
        for fd in fds:
            os.close(fd)
        clients[pid] = conn
        conn.sendall(f"pid {pid}\n".encode())


def _worker(request: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: become the job's worker process."""
    code = 1
    try:
        os.setsid()
        for n, fd in enumerate(fds[:3]):
            os.dup2(fd, n)
        lifeline = fds[3]
        for fd in fds[:3]:
            if fd > 2:
                os.close(fd)
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        env = request["env"]
        assert isinstance(env, dict)
        os.environ.update(env)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        random.seed()  # not the zygote's sequence, shared by every worker

        def watch() -> None:  # the client died (Toil killed the job): so does the worker
            with contextlib.suppress(OSError):
                os.read(lifeline, 1)
            os.killpg(0, signal.SIGKILL)

        threading.Thread(target=watch, name="wfrewrite-lifeline", daemon=True).start()
        argv = [str(a) for a in request["argv"]]
        sys.argv = argv
        from toil.worker import main

        try:
            main(argv)
            code = 0
        except SystemExit as exn:
            code = exn.code if isinstance(exn.code, int) else (0 if exn.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
