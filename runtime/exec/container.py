"""The ``podman`` and ``docker`` executors: the declared image, /bin/sh as its entrypoint, one
bind mount (the task's directory at /mnt/wfr), or nothing mounted at all (the url transport).

    ex = select(Options(executor="podman"))
    job = ex.prepare(plan, "/runs/t1")
    ex.launch_argv(job) == ["podman", "run", "--rm", "--name", "wfr-hello-5f2c0e1a2b3c",
                            "--entrypoint", "/bin/sh", "-v", "/runs/t1:/mnt/wfr", "-w", "/mnt/wfr",
                            "--log-driver", "none", "--cpus", "1", "busybox:latest",
                            "/mnt/wfr/wfrewrite/script.sh"]

Facts come from the engine before the passes run: which of a task's candidate images it has
(WDL ``container: [a, b]``), the image's ENTRYPOINT (for a CWL argv command, which goes through
it as ``docker run`` would), and, where nothing is mounted, whether /bin/sh runs in it at all
(checked before anything is uploaded). They are cached per process, the shell check also on
this machine by the image's ID (each Toil worker is a process of its own). The work dir is also
mounted at ``layout.work_alias`` when the plan asks (CWL dockerOutputDirectory), each disk at a
mount point gets a scratch directory, cpu/memory become limits, and a plan's ``network: false``
becomes ``--network none``. Nothing else of the host is visible.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import threading
from typing import ClassVar

from wfrewrite.compiler.cache import cache_root, write_entry
from wfrewrite.compiler.diagnostics import TaskFailed, Unsupported
from wfrewrite.compiler.plan import CONTAINER_ROOT, Facts, ImageFacts, Pass, TaskPlan
from wfrewrite.compiler.plan.passes import bind_entrypoint, choose_image, image_candidates

from ..job import LABEL_DRIVER, LABEL_RUN, Job, driver_alive
from .base import TIMEOUT_GRACE, Executor, Terminating, said, tail, wait_for

log = logging.getLogger("wfrewrite.executor")


def shell_cache(image_id: str, value: bool | None = None) -> bool | None:
    """Whether /bin/sh runs in the image ``image_id``, as found before on this machine (None:
    not known); with ``value``, record it. An image's ID names its content, so the answer
    never goes stale. Kept in the user's cache (``cache_root``); a cache that cannot be read or
    written is no cache."""
    if not image_id:
        return None
    path = os.path.join(cache_root(), "shell", image_id)
    try:
        if value is None:
            with open(path, encoding="ascii") as f:
                return {"yes": True, "no": False}.get(f.read().strip())
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_entry(path, b"yes\n" if value else b"no\n", mode=0o666)
    except OSError:
        pass
    return value


MIN_MEMORY = 6 * 1024 * 1024  # podman refuses less
_inspect_lock = threading.Lock()  # guards ContainerExecutor._inspecting
PREFETCH_MAX = 8  # images asked ahead at most; a task asks about any other itself


class ContainerExecutor(Executor):
    """podman or docker (``binary``): the same command line for both."""

    binary_name: ClassVar[str] = "podman"
    # (engine binary, image) -> its facts; shared by every executor of this process
    _images: ClassVar[dict[tuple[str, str], ImageFacts]] = {}

    def __init__(self, options, transport) -> None:  # type: ignore[no-untyped-def]
        super().__init__(options, transport)
        self.binary = shutil.which(self.binary_name) or self.binary_name

    def container_root(self, host_root: str) -> str:
        return self.transport.container_root(CONTAINER_ROOT)

    def report(self, plan: TaskPlan, unsupported: Unsupported) -> None:
        r = plan.resources
        if r.gpu:
            unsupported.report(
                plan.source, "GPUs", f"the {self.name} executor passes no GPU to containers"
            )
        if r.preemptible:
            unsupported.report(
                plan.source,
                "runtime key 'preemptible'",
                f"the {self.name} executor has no preemptible machines; the task runs on this one",
                hint=True,
            )

    # -- facts ----------------------------------------------------------------------------

    def gather(self, plan: TaskPlan) -> Facts:
        candidates = image_candidates(plan, self.options.default_image)
        chosen = candidates[0]
        if len(candidates) > 1:  # the first candidate this engine has (else the first)
            chosen = next((c for c in candidates if self.inspect(c).present), candidates[0])
        facts = self.inspect(chosen) if plan.command.entrypoint else ImageFacts(image=chosen)
        if not self.transport.mounts:  # before anything is uploaded
            facts = ImageFacts(
                image=chosen,
                present=facts.present,
                entrypoint=facts.entrypoint,
                shell=self.has_shell(chosen),
            )
        return Facts(image=facts)

    def passes(self) -> list[Pass]:
        return [choose_image, bind_entrypoint, require_shell]

    _ids: ClassVar[dict[tuple[str, str], str]] = {}

    _inspecting: ClassVar[dict[tuple[str, str], threading.Lock]] = {}

    def inspect(self, image: str) -> ImageFacts:
        """Whether the engine has ``image``, and its ENTRYPOINT (cached; its ID too, for
        ``image_id``). One ``image inspect`` an image: the scatter's first tasks, starting
        together, wait for the one that runs."""
        key = (self.binary, image)
        if key in self._images:
            return self._images[key]
        with _inspect_lock:
            lock = self._inspecting.setdefault(key, threading.Lock())
        with lock:
            if key not in self._images:
                self._images[key] = self._inspect(key)
        return self._images[key]

    def prefetch(self, images: list[str]) -> None:
        """Each image's ``inspect`` started in a thread of its own: a CWL run names its images
        before cwltool validates the document, which takes longer than podman answers, so its
        first tasks find the facts there (or wait for the one ``image inspect`` under way). A
        failure is left to the task's own ``inspect`` to meet and report."""
        for image in images[:PREFETCH_MAX]:
            if (self.binary, image) not in self._images:
                threading.Thread(
                    target=self._prefetch, args=(image,), name="wfrewrite-inspect", daemon=True
                ).start()

    def _prefetch(self, image: str) -> None:
        with contextlib.suppress(Exception):
            self.inspect(image)

    def _inspect(self, key: tuple[str, str]) -> ImageFacts:
        image = key[1]
        probe = subprocess.run(
            [self.binary, "image", "inspect", "--format",
             "{{.Id}} {{json .Config.Entrypoint}}", image],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        image_id, _, entrypoint = probe.stdout.strip().partition(" ")
        words: tuple[str, ...] = ()
        if probe.returncode == 0:
            try:
                found = json.loads(entrypoint or "null")
            except ValueError:
                found = None
            if isinstance(found, list) and all(isinstance(w, str) for w in found):
                words = tuple(found)
            elif isinstance(found, str) and found:
                words = (found,)
        present = probe.returncode == 0
        self._ids[key] = image_id if present and image_id.isalnum() else ""
        return ImageFacts(image=image, present=present, entrypoint=words)

    _shells: ClassVar[dict[tuple[str, str], bool]] = {}

    def has_shell(self, image: str) -> bool:
        """Whether /bin/sh runs in ``image`` (one quick run, cached: in this process by name,
        on this machine by the image's ID, so that each Toil worker does not run it again)."""
        key = (self.binary, image)
        if key not in self._shells:
            image_id = self.image_id(image)
            known = shell_cache(image_id)
            if known is not None:
                self._shells[key] = known
                return known
            check_argv = [self.binary, "run", "--rm", "--network=none", "--entrypoint=/bin/sh"]
            probe = subprocess.run(
                [*check_argv, image, "-c", ":"],
                capture_output=True,
                text=True,
                check=False,
            )
            if probe.returncode == 125:
                raise TaskFailed(
                    f"{self.name} could not start the container for image {image}"
                    f"{said(probe.stderr.strip()[-600:])}"
                )
            self._shells[key] = probe.returncode == 0
            if image_id:
                shell_cache(image_id, self._shells[key])
        return self._shells[key]

    def image_id(self, image: str) -> str:
        """The engine's ID of ``image`` (its content's digest), or "" if it has no such image
        (from the same ``image inspect`` as the image's facts)."""
        self.inspect(image)
        return self._ids[(self.binary, image)]

    # -- running --------------------------------------------------------------------------

    def write(self, job: Job) -> str:
        script = super().write(job)
        if self.transport.mounts:
            # the task's directories (under its root: compiler/plan/check.py), so that the
            # script forks no mkdir in the container
            lay = job.plan.layout
            for d in (lay.work, lay.tmp, lay.home):
                os.makedirs(os.path.join(job.host_root, lay.relative(d)), exist_ok=True)
            if self.options.user:
                open_up(job.host_root)
        return script

    def launch_argv(self, job: Job) -> list[str]:
        plan, o = job.plan, self.options
        host_root = os.path.realpath(job.host_root)
        args = [self.binary, "run", "--rm", "--name", job.name, "--entrypoint", "/bin/sh"]
        for key, value in job.labels.items():
            args += ["--label", f"{key}={value}"]
        if plan.resources.time_limit and self.name == "podman":
            # a backstop to the script's own watchdog: never longer than the task's limit
            args += ["--timeout", str(plan.resources.time_limit + TIMEOUT_GRACE)]
        if self.transport.mounts:
            args += ["-v", f"{host_root}:{CONTAINER_ROOT}", "-w", CONTAINER_ROOT]
            # the inputs: read-only, whatever the link mode
            lay = plan.layout
            for d in (*lay.readonly, *((lay.stage,) if lay.stage else ())):
                host = os.path.join(host_root, lay.relative(d))
                if not os.path.lexists(host):
                    os.makedirs(host)
                args += ["-v", f"{host}:{d}:ro"]
            if plan.layout.work_alias:
                work = os.path.join(host_root, plan.layout.relative(plan.layout.work))
                os.makedirs(work, exist_ok=True)
                args += ["-v", f"{work}:{plan.layout.work_alias}"]
        for n, mount in enumerate(plan.resources.mounts):
            if self.transport.mounts:  # a scratch directory beside the task's own
                disk = os.path.join(host_root, "disks", str(n))
                os.makedirs(disk, exist_ok=True)
                args += ["-v", f"{disk}:{mount.path}"]
            else:  # nothing of the host: an anonymous volume, removed with the container
                args += ["-v", mount.path]
        args += ["--log-driver", "none" if self.name == "podman" else "json-file"]
        if plan.resources.cpu:
            args += ["--cpus", f"{plan.resources.cpu:g}"]
        if plan.resources.memory:
            args += ["--memory", str(max(plan.resources.memory, MIN_MEMORY))]
        if o.read_only:
            args.append("--read-only")
        if o.user:
            args += ["--user", o.user]
        if o.network:
            args += ["--network", o.network]
        elif plan.network is False and self.transport.mounts:
            args += ["--network", "none"]
        args += o.extra_args
        assert plan.image is not None  # choose_image bound it
        if not self.transport.mounts:
            # nothing mounted: the script travels as one argv word (the transport made it fit)
            return [*args, plan.image, "-c", job.script, "wfrewrite"]
        return [*args, plan.image, os.path.join(CONTAINER_ROOT, "wfrewrite", "script.sh")]

    def execute(self, job: Job, terminating: Terminating) -> tuple[int, str]:
        log_path = os.path.join(job.meta, "script.log")
        argv = self.launch_argv(job)
        log.debug("%s", " ".join(argv[:-3] if not self.transport.mounts else argv))
        with open(os.path.join(job.meta, "container"), "w", encoding="utf-8") as f:
            f.write(job.name + "\n")
        with open(log_path, "wb") as logf:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            code = wait_for(proc, terminating, lambda: self.remove(job.name))
        return code, log_path

    def remove(self, *names: str) -> None:
        """Stop and remove the containers ``names`` (2 s to end, then killed)."""
        subprocess.run(
            self.remove_argv(*names),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )

    def remove_argv(self, *names: str) -> list[str]:
        return [self.binary, "rm", "-f", "-t", "2", *names]

    def reaper_argv(self, job: Job) -> list[str]:
        return self.remove_argv(job.name)

    def cancel(self, name: str) -> None:
        self.remove(name)

    def sweep(self, run: str, *, force: bool = False) -> list[str]:
        """Containers of the run labelled ``run`` whose driver is gone (killed), removed."""
        p = subprocess.run(
            [self.binary, "ps", "-a", "--filter", f"label={LABEL_RUN}={run}", "--format",
             f'{{{{.Names}}}} {{{{index .Labels "{LABEL_DRIVER}"}}}}'],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        names = [
            name
            for name, _, driver in (line.partition(" ") for line in p.stdout.splitlines())
            if name and (force or not driver_alive(driver.strip()))
        ]
        if names:
            self.remove(*names)
        return names

    def why_no_manifest(self, plan: TaskPlan, code: int, log_path: str) -> str:
        text = tail(log_path)
        if code in (126, 127) or (
            "no such file or directory" in text.lower() and "/bin/sh" in text
        ):
            return (
                f"the image {plan.image} has no /bin/sh (exit {code}); wfrewrite scripts need a POSIX "
                f"shell in the image: use an image with /bin/sh{said(text)}"
            )
        if code == 125:
            return f"{self.name} could not start the container for image {plan.image}{said(text)}"
        if code in (137, 143):
            return f"the container was killed (exit {code}) before the script finished{said(text)}"
        return super().why_no_manifest(plan, code, log_path)


def require_shell(plan: TaskPlan, facts: Facts) -> TaskPlan:
    """A task whose image has no /bin/sh cannot run any script: fail before any transfer."""
    if facts.image is not None and facts.image.shell is False:
        raise TaskFailed(
            f"the image {facts.image.image} has no /bin/sh; wfrewrite scripts need a POSIX shell "
            "in the image: use an image with /bin/sh (nothing was transferred)"
        )
    return plan


def open_up(host_root: str) -> None:
    """Let an arbitrary container uid write the task's directory."""
    for dirpath, dirnames, _ in os.walk(host_root):
        os.chmod(dirpath, 0o777)
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o777)


class PodmanExecutor(ContainerExecutor):
    name = "podman"
    binary_name = "podman"


class DockerExecutor(ContainerExecutor):
    name = "docker"
    binary_name = "docker"
