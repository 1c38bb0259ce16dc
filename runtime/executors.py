"""Executors: submit image + script, wait, hand back the manifest.

    ex = select("auto")                        # podman, docker (if its daemon answers), else local
    root = ex.container_root("/runs/t1")       # "/mnt/wfr" in a container, the host dir locally
    plan = ex.prepare(plan, "/runs/t1")        # default image, staging dir, link mode
    result = ex.run(plan, "/runs/t1")          # writes wfrewrite/script.sh, runs it, reads manifest

``local`` runs the script with the host's /bin/sh in the task's directory (no image: the embedded
default on a machine without a container engine). ``podman``/``docker`` run the declared image
with one bind mount (the task's directory at /mnt/wfr; the work dir also at ``layout.work_alias``
when the plan asks), its entrypoint replaced by /bin/sh (an argv command that asks for the image's
ENTRYPOINT gets it in front), cpu/memory passed as limits and no network when the plan says
``network: false``; nothing else of the host is visible.

With ``Options(transport="url", store=StoreOptions(...))`` the container gets no mount at all:
``prepare`` uploads or presigns the inputs (``wfrewrite.runtime.transport_url``), the script is
passed as ``/bin/sh -c SCRIPT`` and works in /tmp/wfr inside the container, and after the run the
executor fetches the manifest and the files it lists into the task's directory on the host, so
that what reads them (miniwdl's output section) sees what it would have seen with a mount. (The
url transport needs the network, so a plan's ``network: false`` cannot be enforced with it.)
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wfrewrite.compiler.diagnostics import TaskFailed, UnsupportedError, WfError
from wfrewrite.compiler.emit import emit
from wfrewrite.compiler.passes import (
    bind_default_image,
    bind_entrypoint,
    bind_stage_dir,
    run_passes,
    set_link_mode,
)
from wfrewrite.compiler.plan import CONTAINER_ROOT, TaskPlan
from wfrewrite.compiler.plan import DEFAULT_IMAGE as DEFAULT_IMAGE  # re-exported

from . import transport_url
from .manifest import STATUS_BY_EXIT, Manifest, read_manifest

# The task's directory inside a container when nothing is mounted (the url transport): /tmp is
# writable in every image, for any uid, and stays writable under --read-only (a tmpfs).
URL_CONTAINER_ROOT = "/tmp/wfr"
TRANSPORTS = ("mounted", "url")
EXECUTORS = ("auto", "local", "podman", "docker", "slurm")

log = logging.getLogger("wfrewrite.executor")


@dataclass(frozen=True, slots=True)
class RunResult:
    exit_code: int
    manifest: Manifest | None
    log_path: str


@dataclass
class Options:
    default_image: str = DEFAULT_IMAGE
    link_mode: str | None = None  # None: the executor's default
    read_only: bool = False  # container: read-only root filesystem
    user: str | None = None  # container: --user
    network: str | None = None  # container: --network (None: the engine's default)
    extra_args: list[str] = field(default_factory=list)
    slurm_container: str = "podman"  # slurm: what the job runs the task with (podman, docker, none)
    transport: str = "mounted"  # or "url": nothing mounted, inputs and outputs over HTTP
    store: transport_url.StoreOptions | None = None  # where the url transport keeps objects


def host_meta(host_root: str) -> str:
    return os.path.join(host_root, "wfrewrite")


def write_script(plan: TaskPlan, host_root: str) -> str:
    meta = host_meta(host_root)
    os.makedirs(meta, exist_ok=True)
    script = os.path.join(meta, "script.sh")
    with open(os.path.join(meta, "plan.json"), "w", encoding="utf-8") as f:
        f.write(plan.dumps())
    with open(script, "w", encoding="utf-8") as f:
        f.write(emit(plan))
    return script


def _wait(
    proc: subprocess.Popen[Any], terminating: Callable[[], bool] | None, stop: Callable[[], None]
) -> int:
    """Wait for ``proc`` (blocking, 1 s at a time to notice ``terminating``)."""
    try:
        while True:
            try:
                return proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                if terminating is not None and terminating():
                    stop()
    except BaseException:
        stop()
        proc.wait()
        raise


class Executor:
    name = "base"

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        o = self.options
        if o.transport not in TRANSPORTS:
            raise WfError(
                f"unknown transport {o.transport!r} (choose from {', '.join(TRANSPORTS)})"
            )
        self._binder: transport_url.Binder | None = None
        if o.transport == "url":
            if o.store is None:
                raise WfError("the url transport needs a store (--store http://... or s3://...)")
            self._binder = transport_url.Binder(transport_url.open_store(o.store), o.store)

    @property
    def url(self) -> bool:
        return self._binder is not None

    def bind_url(self, plan: TaskPlan) -> TaskPlan:
        """The url transport: inputs uploaded or presigned, outputs' destination set."""
        assert self._binder is not None
        return self._binder.bind(plan)

    def fetch(self, plan: TaskPlan, host_root: str) -> None:
        """The url transport: the manifest and the files it lists, into ``host_root``."""
        b = self._binder
        if (
            b is not None
            and plan.transport == "url"
            and transport_url.fetch(plan, b.store, host_root)
        ):
            transport_url.restore_placeholders(plan, b, host_root)

    def container_root(self, host_root: str) -> str:
        raise NotImplementedError

    def prepare(self, plan: TaskPlan, host_root: str) -> TaskPlan:
        raise NotImplementedError

    def run(
        self, plan: TaskPlan, host_root: str, *, terminating: Callable[[], bool] | None = None
    ) -> RunResult:
        raise NotImplementedError

    def allowed_outside(self, plan: TaskPlan) -> tuple[str, ...]:
        """Host paths an output may resolve to outside the task's directory (staged inputs)."""
        return ()

    def finish(self, plan: TaskPlan, host_root: str, code: int, log_path: str) -> RunResult:
        self.fetch(plan, host_root)
        manifest = read_manifest(host_root, host_meta(host_root), self.allowed_outside(plan))
        if manifest is None:
            raise TaskFailed(self.why_no_manifest(plan, code, log_path))
        return RunResult(exit_code=code, manifest=manifest, log_path=log_path)

    def why_no_manifest(self, plan: TaskPlan, code: int, log_path: str) -> str:
        status = STATUS_BY_EXIT.get(code)
        if plan.transport == "url" and status is not None:
            return (
                f"the script ended with {status.replace('_', ' ')} (exit {code}) and no manifest "
                f"reached the store{_said(_tail(log_path))}"
            )
        return f"the script did not finish (exit {code}, no manifest){_said(_tail(log_path))}"


class LocalExecutor(Executor):
    """The script runs on the host, in the task's directory, with the host's /bin/sh."""

    name = "local"

    def container_root(self, host_root: str) -> str:
        return os.path.realpath(host_root)

    def prepare(self, plan: TaskPlan, host_root: str) -> TaskPlan:
        if plan.layout.work_alias:
            raise UnsupportedError(
                f"a work dir at {plan.layout.work_alias}",
                plan.source,
                "the local executor runs on the host; use a container executor",
            )
        mode = self.options.link_mode or "symlink"
        staging = self.bind_url if self.url else (lambda p: set_link_mode(p, mode))
        return run_passes(plan, [staging, lambda p: bind_entrypoint(p, ())])

    def allowed_outside(self, plan: TaskPlan) -> tuple[str, ...]:
        return tuple(s.source for s in plan.stage if s.source.startswith("/"))

    def run(
        self, plan: TaskPlan, host_root: str, *, terminating: Callable[[], bool] | None = None
    ) -> RunResult:
        script = write_script(plan, host_root)
        log_path = os.path.join(host_meta(host_root), "script.log")
        env = dict(os.environ)
        with open(log_path, "wb") as logf:
            proc = subprocess.Popen(
                ["/bin/sh", script],
                cwd=host_root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

            def stop() -> None:
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.killpg(proc.pid, sig)
                        proc.wait(timeout=5)
                        return
                    except (ProcessLookupError, subprocess.TimeoutExpired):
                        continue

            code = _wait(proc, terminating, stop)
        return self.finish(plan, host_root, code, log_path)


class ContainerExecutor(Executor):
    """podman or docker: the declared image, one bind mount, /bin/sh as the entrypoint."""

    def __init__(self, binary: str, options: Options | None = None) -> None:
        super().__init__(options)
        self.name = binary
        self.binary = shutil.which(binary) or binary
        self._entrypoints: dict[str, tuple[str, ...]] = {}

    def container_root(self, host_root: str) -> str:
        return URL_CONTAINER_ROOT if self.url else CONTAINER_ROOT

    def prepare(self, plan: TaskPlan, host_root: str) -> TaskPlan:
        if plan.resources.gpu:
            raise UnsupportedError(
                "GPUs", plan.source, f"the {self.name} executor passes no GPU to containers"
            )
        plan = run_passes(
            plan,
            [
                lambda p: bind_default_image(p, self.options.default_image),
                lambda p: (
                    p.replace(image=self.pick_image(p), image_alternatives=())
                    if p.image_alternatives
                    else p
                ),
                lambda p: (
                    bind_entrypoint(p, self.entrypoint(p.image or ""))
                    if p.command.entrypoint
                    else p
                ),
            ],
        )
        if self.url:
            assert plan.image is not None
            # before anything is uploaded: an image without a shell cannot run any script
            self.require_shell(plan.image)
            return run_passes(plan, [self.bind_url])
        moves: list[tuple[str, str]] = []

        def stage_dir(p: TaskPlan) -> TaskPlan:
            p, found = bind_stage_dir(p, os.path.join(CONTAINER_ROOT, "stage"))
            moves.extend(found)
            return p

        mode = self.options.link_mode or "symlink"
        plan = run_passes(plan, [lambda p: set_link_mode(p, mode), stage_dir])
        for source, name in moves:
            _materialize(source, os.path.join(host_root, "stage", name))
        return plan

    def pick_image(self, plan: TaskPlan) -> str:
        """The first candidate image this engine has locally (or the first, to fail clearly)."""
        candidates = [plan.image or self.options.default_image, *plan.image_alternatives]
        for image in candidates:
            probe = subprocess.run(
                [self.binary, "image", "inspect", "--format", "{{.Id}}", image],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            if probe.returncode == 0:
                return image
        return candidates[0]

    def entrypoint(self, image: str) -> tuple[str, ...]:
        """The image's ENTRYPOINT (``()`` if it has none or the engine cannot say)."""
        if image not in self._entrypoints:
            probe = subprocess.run(
                [self.binary, "image", "inspect", "--format", "{{json .Config.Entrypoint}}", image],
                capture_output=True,
                text=True,
                check=False,
            )
            words: tuple[str, ...] = ()
            if probe.returncode == 0:
                try:
                    found = json.loads(probe.stdout.strip() or "null")
                except ValueError:
                    found = None
                if isinstance(found, list) and all(isinstance(w, str) for w in found):
                    words = tuple(found)
                elif isinstance(found, str) and found:
                    words = (found,)
            self._entrypoints[image] = words
        return self._entrypoints[image]

    _shell_ok: dict[str, bool] = {}

    def require_shell(self, image: str) -> None:
        """Fail before any transfer if ``image`` has no /bin/sh (one quick run, cached)."""
        if image not in self._shell_ok:
            probe = subprocess.run(
                [
                    self.binary,
                    "run",
                    "--rm",
                    "--network=none",
                    "--entrypoint=/bin/sh",
                    image,
                    "-c",
                    ":",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if probe.returncode == 125:
                raise TaskFailed(
                    f"{self.name} could not start the container for image {image}"
                    f"{_said(probe.stderr.strip()[-600:])}"
                )
            self._shell_ok[image] = probe.returncode == 0
        if not self._shell_ok[image]:
            raise TaskFailed(
                f"the image {image} has no /bin/sh; wfrewrite scripts need a POSIX shell in the "
                "image: use an image with /bin/sh (nothing was transferred)"
            )

    def command(self, plan: TaskPlan, host_root: str, name: str) -> list[str]:
        o = self.options
        args = [self.binary, "run", "--rm", "--name", name, "--entrypoint", "/bin/sh"]
        if plan.transport == "mounted":
            args += ["-v", f"{os.path.realpath(host_root)}:{CONTAINER_ROOT}", "-w", CONTAINER_ROOT]
            if plan.layout.work_alias:
                work = os.path.join(
                    os.path.realpath(host_root), plan.layout.relative(plan.layout.work)
                )
                os.makedirs(work, exist_ok=True)
                args += ["-v", f"{work}:{plan.layout.work_alias}"]
        args += ["--log-driver", "none" if self.name == "podman" else "json-file"]
        if plan.resources.cpu:
            args += ["--cpus", f"{plan.resources.cpu:g}"]
        if plan.resources.memory:
            args += ["--memory", str(max(plan.resources.memory, 6 * 1024 * 1024))]
        if o.read_only:
            args.append("--read-only")
        if o.user:
            args += ["--user", o.user]
        if o.network:
            args += ["--network", o.network]
        elif plan.network is False and plan.transport != "url":
            args += ["--network", "none"]
        args += o.extra_args
        assert plan.image is not None  # prepare() bound the default image
        if plan.transport == "url":
            # nothing mounted: the script travels as one argv word (it fits, see transport_url)
            return [*args, plan.image, "-c", emit(plan), "wfrewrite"]
        args += [plan.image, os.path.join(CONTAINER_ROOT, "wfrewrite", "script.sh")]
        return args

    def run(
        self, plan: TaskPlan, host_root: str, *, terminating: Callable[[], bool] | None = None
    ) -> RunResult:
        write_script(plan, host_root)
        if self.options.user and plan.transport == "mounted":
            _open_up(host_root)
        log_path = os.path.join(host_meta(host_root), "script.log")
        name = f"wfr-{uuid.uuid4().hex[:12]}"
        argv = self.command(plan, host_root, name)
        log.debug("%s", " ".join(argv))
        with open(os.path.join(host_meta(host_root), "container"), "w", encoding="utf-8") as f:
            f.write(name + "\n")
        with open(log_path, "wb") as logf:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

            def stop() -> None:
                subprocess.run(
                    [self.binary, "rm", "-f", "-t", "2", name],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    check=False,
                )

            code = _wait(proc, terminating, stop)
        return self.finish(plan, host_root, code, log_path)

    def why_no_manifest(self, plan: TaskPlan, code: int, log_path: str) -> str:
        tail = _tail(log_path)
        if code in (126, 127) or (
            "no such file or directory" in tail.lower() and "/bin/sh" in tail
        ):
            return (
                f"the image {plan.image} has no /bin/sh (exit {code}); wfrewrite scripts need a POSIX "
                f"shell in the image: use an image with /bin/sh{_said(tail)}"
            )
        if code == 125:
            return f"{self.name} could not start the container for image {plan.image}{_said(tail)}"
        if code in (137, 143):
            return f"the container was killed (exit {code}) before the script finished{_said(tail)}"
        return super().why_no_manifest(plan, code, log_path)


def _said(tail: str) -> str:
    return f"; it said: {tail}" if tail else ""


def tail_lines(path: str, n: int = 10) -> list[str]:
    """The last ``n`` lines of a text file ([] if it cannot be read)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()[-n:]
    except OSError:
        return []


def _tail(path: str, limit: int = 600) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - limit))
            return f.read().decode("utf-8", errors="replace").strip()
    except OSError:
        return ""


def _materialize(source: str, dest: str) -> None:
    """Put a host input under the staging dir: hard link where possible, else copy."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.lexists(dest):
        return
    if os.path.isdir(source):
        shutil.copytree(source, dest, symlinks=False, copy_function=_link_or_copy)
    else:
        _link_or_copy(source, dest)


def _link_or_copy(source: str, dest: str) -> None:
    source = os.path.realpath(source)  # link(2) would link a symlink itself, not its target
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def _open_up(host_root: str) -> None:
    """Let an arbitrary container uid write the task's directory."""
    for dirpath, dirnames, _ in os.walk(host_root):
        os.chmod(dirpath, 0o777)
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o777)


_docker_ok: bool | None = None


def _docker_answers() -> bool:
    global _docker_ok
    if _docker_ok is None:
        _docker_ok = (
            bool(shutil.which("docker"))
            and subprocess.run(
                ["docker", "version", "--format", "{{.Server.Version}}"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=5,
                check=False,
            ).returncode
            == 0
        )
    return _docker_ok


def select(name: str, options: Options | None = None) -> Executor:
    """An executor by name; ``auto`` picks podman, then docker, then local, and says which."""
    if name == "auto":
        if shutil.which("podman"):
            name = "podman"
        elif _docker_answers():
            name = "docker"
        else:
            name = "local"
        log.info("executor: %s (auto)", name)
    if name == "local":
        return LocalExecutor(options)
    if name == "slurm":
        from .slurm import SlurmExecutor

        return SlurmExecutor(options)
    if name in ("podman", "docker"):
        if not shutil.which(name):
            raise WfError(f"executor {name}: '{name}' is not on PATH")
        return ContainerExecutor(name, options)
    raise WfError(f"unknown executor {name!r} (choose from {', '.join(EXECUTORS)})")
