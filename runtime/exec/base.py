"""The executor interface: prepare a task (facts, passes, emit once), run it, read its manifest.

    ex = select(Options(executor="podman"))         # given its transport (mounted, here)
    job = ex.prepare(plan, "/runs/t1")              # Job: the bound plan and its script
    result = ex.run(job)                            # writes wfrewrite/script.sh, runs it in the
                                                    # image, reads wfrewrite/manifest.json

``prepare`` is the same for every executor: report what it cannot give (``report``, through the
one unsupported channel), gather the facts that take I/O (``gather``: the image, its ENTRYPOINT,
its shell), run its pure passes (``passes``), then the transport's (``gather``, ``passes``),
emit the script once, and let the transport finish (stage inputs, fit the script). ``run``
writes the script, calls ``execute`` (each executor's own: a process, a container, a Slurm job)
and ``finish`` (fetch, read and verify the manifest). ``launch_argv`` is the command that runs
a job on this host, public so that Slurm can wrap any executor in a batch job.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any, ClassVar

from wfrewrite.compiler.diagnostics import TaskFailed, Unsupported
from wfrewrite.compiler.emit import emit
from wfrewrite.compiler.emit.script import RUNTIME_PACKAGE
from wfrewrite.compiler.plan import NO_FACTS, Facts, Pass, TaskPlan, run_passes
from wfrewrite.compiler.plan.passes import bind_entrypoint

from ..job import (
    LABEL_DRIVER,
    LABEL_JOB,
    LABEL_RUN,
    LABEL_TASK,
    Job,
    RunResult,
    driver_id,
    job_name,
    label_value,
    run_label_of,
)
from ..manifest import STATUS_BY_EXIT, read_manifest
from ..options import Options, to_argv
from ..transport import Transport

log = logging.getLogger("wfrewrite.executor")


class NoManifest(TaskFailed):
    """The script left no manifest: it did not finish (or, where nothing is mounted, could not
    commit it). Other failures of ``finish`` (an output refused) say what was refused."""


Terminating = Callable[[], bool] | None
# Held while a task occupies one of its engine's slots (its container, job or task running): an
# engine that prepares tasks ahead of their slot passes one (runtime/exec/slots.py)
Gate = contextlib.AbstractContextManager[Any] | None
# Seconds past its time limit before the engine's backstop stops what runs a task (the script's
# own watchdog ends the command at the limit): a container's --timeout, a TES task still RUNNING
TIMEOUT_GRACE = 30


class Executor:
    name: ClassVar[str] = "base"
    # The transports this executor can run, and the one it uses unless told otherwise.
    transports: ClassVar[tuple[str, ...]] = ("mounted", "url")
    default_transport: ClassVar[str] = "mounted"
    # The task runs in a container that sees only what is mounted (not the host's paths).
    isolated: bool = True
    default_link_mode: ClassVar[str] = "symlink"

    def __init__(self, options: Options, transport: Transport) -> None:
        self.options = options
        self.transport = transport

    # -- preparing ------------------------------------------------------------------------

    def container_root(self, host_root: str) -> str:
        """Where the script sees the task's directory."""
        raise NotImplementedError

    def report(self, plan: TaskPlan, unsupported: Unsupported) -> None:
        """Report, by name, what the plan asks for that this executor cannot give."""

    def gather(self, plan: TaskPlan) -> Facts:
        """The facts this executor's passes need (I/O: the container engine, a cache)."""
        return NO_FACTS

    def passes(self) -> list[Pass]:
        return [bind_entrypoint]

    def prepare(
        self, plan: TaskPlan, host_root: str, unsupported: Unsupported | None = None
    ) -> Job:
        """The plan bound to this executor and its transport, and its script, emitted once."""
        self.report(plan, unsupported if unsupported is not None else Unsupported())
        plan = run_passes(plan, self.gather(plan), self.passes())
        facts = self.transport.gather(plan, host_root)
        t_passes = self.transport.passes(isolated=self.isolated, link_mode=self.link_mode())
        plan = run_passes(plan, facts, t_passes)
        return self.transport.finish(self.job_for(plan, host_root), facts)

    def labels_for(self, plan: TaskPlan, host_root: str) -> dict[str, str]:
        """The labels of what runs ``plan``: its run (the options', else made from the task
        directory's parent, where a run keeps its tasks), its task, and this driver."""
        run = self.options.run_label or run_label_of(os.path.dirname(os.path.abspath(host_root)))
        return {
            LABEL_RUN: label_value(run),
            LABEL_TASK: label_value(plan.name),
            LABEL_DRIVER: driver_id(),
        }

    def job_for(self, plan: TaskPlan, host_root: str) -> Job:
        """A Job for ``plan`` (emitted once), named and labelled."""
        name = job_name(plan.name)
        labels = {**self.labels_for(plan, host_root), LABEL_JOB: name}
        return Job(plan=plan, script=emit(plan), host_root=host_root, name=name, labels=labels)

    def link_mode(self) -> str:
        return self.options.link_mode or self.default_link_mode

    # -- running -----------------------------------------------------------------------------

    def run(self, job: Job, *, terminating: Terminating = None, gate: Gate = None) -> RunResult:
        """Write the job's files, run it (inside ``gate``: the task's slot), read its manifest."""
        self.write(job)
        with reaper(self.reaper_argv(job)), gate or contextlib.nullcontext():
            code, log_path = self.execute(job, terminating)
        return self.finish(job, code, log_path)

    def reaper_argv(self, job: Job) -> list[str] | None:
        """The command that removes what runs ``job`` if this process dies before it ends (even
        by SIGKILL: see ``reaper``): ``wfrewrite cleanup --job NAME`` with these options; None
        where nothing outlives this process."""
        if type(self).cancel is Executor.cancel:
            return None
        return [
            sys.executable, "-m", "wfrewrite.cli", "cleanup",
            *to_argv(self.options), "--job", job.name,
        ]  # fmt: skip

    def cancel(self, name: str) -> None:
        """Remove what runs the job ``name`` (its container, Slurm job, TES task, Job), if it is
        still there."""

    def write(self, job: Job) -> str:
        """wfrewrite/plan.json and wfrewrite/script.sh in the task's directory; the script's
        path."""
        os.makedirs(job.meta, exist_ok=True)
        script = os.path.join(job.meta, "script.sh")
        with open(os.path.join(job.meta, "plan.json"), "w", encoding="utf-8") as f:
            f.write(job.plan.dumps())
        with open(script, "w", encoding="utf-8") as f:
            f.write(job.script)
        return script

    def launch_argv(self, job: Job) -> list[str]:
        """The command that runs ``job`` on this host (its cwd: the task's directory)."""
        raise NotImplementedError

    def execute(self, job: Job, terminating: Terminating) -> tuple[int, str]:
        """Run the job to its end; its exit code and the path of its log."""
        raise NotImplementedError

    def finish(self, job: Job, code: int, log_path: str) -> RunResult:
        # no manifest in the store is no manifest at all, even where the script ran in the
        # task's directory and left its own copy there (local, Slurm without a container)
        keep: set[str] = set()
        try:
            committed = self.transport.fetch(job.plan, job.host_root)
            manifest = None
            if committed:
                manifest = read_manifest(
                    job.host_root,
                    job.meta,
                    self.allowed_outside(job.plan),
                    sha1=not self.transport.verifies,
                )
            if manifest is None:
                raise NoManifest(self.why_no_manifest(job.plan, code, log_path))
            keep = {os.path.realpath(os.path.join(job.host_root, f.path)) for f in manifest.files}
            return RunResult(exit_code=code, manifest=manifest, log_path=log_path)
        finally:
            self.transport.release(job.plan, job.host_root, keep)

    def allowed_outside(self, plan: TaskPlan) -> tuple[str, ...]:
        """Host paths an output may resolve to outside the task's directory (staged inputs)."""
        return ()

    def why_no_manifest(self, plan: TaskPlan, code: int, log_path: str) -> str:
        status = STATUS_BY_EXIT.get(code)
        if not self.transport.mounts and status is not None:
            return (
                f"the script ended with {status.replace('_', ' ')} (exit {code}) and no manifest "
                f"reached the store{said(tail(log_path))}"
            )
        return f"the script did not finish (exit {code}, no manifest){said(tail(log_path))}"

    def limits(self) -> dict[str, int] | None:
        """The most cpu and memory one task can get where this executor runs it (None: not
        known here, nothing is refused)."""
        return host_limits()

    def prefetch(self, images: list[str]) -> None:
        """Start learning what tasks will ask about ``images`` (a container engine's image
        facts), in the background; nothing to learn here."""

    def sweep(self, run: str, *, force: bool = False) -> list[str]:
        """Remove whatever this executor started for the run labelled ``run`` and is still
        there, whose driver is gone (a killed driver's containers, jobs, tasks; with ``force``,
        a live driver's too); what was removed, by name."""
        return []


@contextlib.contextmanager
def reaper(argv: list[str] | None) -> Iterator[None]:
    """While the block runs, ``argv`` removes what the block started if this process dies first,
    even by SIGKILL. ``argv``'s last word names the job; the command before it is held by this
    process's reaper for that command (``runtime/sh/reaper.sh``, in a session of its own), which
    waits on a pipe this process holds: the job is added to it as the block starts and taken
    off as the block ends (however it ends); if the pipe ends first (this process died), the
    reaper runs the command for every job still on it. One reaper serves every job of the
    command (a scatter's tasks, on one executor), not one process per task."""
    if not argv:
        yield
        return
    command, name = tuple(argv[:-1]), argv[-1]
    if not name or "\n" in name:
        raise ValueError(f"a reaper cannot hold the job name {name!r}")
    _REAPERS.tell(command, name, add=True)
    try:
        yield
    finally:
        _REAPERS.tell(command, name, add=False)


class _Reapers:
    """This process's reapers, one for each cleanup command, and the jobs each holds."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self.forget)

    def _reset(self) -> None:
        self.lock = threading.Lock()
        self.procs: dict[tuple[str, ...], subprocess.Popen[bytes]] = {}
        self.jobs: dict[tuple[str, ...], set[str]] = {}

    def forget(self) -> None:
        """In a forked child: its parent's reapers are the parent's. Its copy of each pipe
        becomes /dev/null (so that the parent's death still ends them, and the pipe's file
        object, when it goes, closes nothing else that took its number); the lock may be held
        by a thread that is not here."""
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            for proc in self.procs.values():
                with contextlib.suppress(OSError, ValueError):
                    os.dup2(null, proc.stdin.fileno())  # type: ignore[union-attr]
        finally:
            os.close(null)
        self._reset()

    def tell(self, command: tuple[str, ...], name: str, *, add: bool) -> None:
        with self.lock:
            jobs = self.jobs.setdefault(command, set())
            if add:
                jobs.add(name)
            else:
                jobs.discard(name)
            line = ("+" if add else "-") + name + "\n"
            for _ in range(2):  # a reaper that died (killed by hand) is started again
                proc = self.procs.get(command)
                if proc is None or proc.poll() is not None:
                    if not add and not jobs:
                        return  # nothing left to hold
                    proc = self.start(command)
                    line = "".join(f"+{j}\n" for j in sorted(jobs))
                try:
                    assert proc.stdin is not None
                    proc.stdin.write(line.encode("utf-8"))
                    proc.stdin.flush()
                    return
                except OSError:
                    self.procs.pop(command, None)
            log.warning("no reaper holds job %s: a killed driver would leave it running", name)

    def start(self, command: tuple[str, ...]) -> subprocess.Popen[bytes]:
        """A reaper for ``command``; reapers of other commands that hold no job end (a process
        that runs many executors, a test session, does not keep one for each)."""
        for other, proc in list(self.procs.items()):
            if not self.jobs.get(other):
                del self.procs[other]
                with contextlib.suppress(OSError):
                    proc.stdin.close()  # type: ignore[union-attr]
                wait_exit(proc, 5)
        script = resources.files(RUNTIME_PACKAGE).joinpath("sh", "reaper.sh")
        with resources.as_file(script) as path:
            proc = subprocess.Popen(
                ["/bin/sh", str(path), *command],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.procs[command] = proc
        return proc


_REAPERS = _Reapers()


def host_limits() -> dict[str, int]:
    cpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        mem = 1 << 30
    return {"cpu": cpu or 1, "mem_bytes": mem}


def wait_for(
    proc: subprocess.Popen[Any], terminating: Terminating, stop: Callable[[], None]
) -> int:
    """Wait for ``proc`` (1 s at a time to notice ``terminating``); ``stop`` it on the way out
    if anything (Ctrl-C, an engine's termination) interrupts."""
    try:
        while True:
            code = wait_exit(proc, 1.0)
            if code is not None:
                return code
            if terminating is not None and terminating():
                stop()
    except BaseException:
        stop()
        proc.wait()
        raise


def wait_exit(proc: subprocess.Popen[Any], timeout: float) -> int | None:
    """``proc``'s exit code once it ends, or None after ``timeout`` seconds. Woken by the exit
    itself (a pidfd, Linux 5.3 and later), where ``Popen.wait(timeout)`` polls with sleeps of up
    to 50 ms: under a scatter each task would wait 25 ms on average before its slot frees."""
    if proc.returncode is not None:
        return proc.returncode
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux, an old kernel, or already reaped
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if not poller.poll(timeout * 1000):
            return None
    finally:
        os.close(fd)
    return proc.wait()


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """TERM, then KILL, the process group ``proc`` leads."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=5)
            return
        except (ProcessLookupError, subprocess.TimeoutExpired):
            continue


def said(text: str) -> str:
    return f"; it said: {text}" if text else ""


def tail_lines(path: str, n: int = 10) -> list[str]:
    """The last ``n`` lines of a text file ([] if it cannot be read)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()[-n:]
    except OSError:
        return []


def tail(path: str, limit: int = 600) -> str:
    """The last ``limit`` bytes of a file, as text ("" if it cannot be read)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - limit))
            return f.read().decode("utf-8", errors="replace").strip()
    except OSError:
        return ""
