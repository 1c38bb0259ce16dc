"""The ``tes`` executor: each task is one GA4GH TES task (py-tes models) on a TES server such as
Funnel, running the compiled script in the task's own image.

    ex = select(Options(executor="tes", tes_url="http://127.0.0.1:8000",
                        store="s3://wfr-tests/runs", s3_endpoint="http://127.0.0.1:8333"))
    job = ex.prepare(plan, "/runs/t1")    # inputs put in the store, once (platform transport)
    ex.run(job)
        # POST /ga4gh/tes/v1/tasks
        #   {"name": "hello", "tags": {"wfrewrite/run": "r5f2c...", "wfrewrite/task": "hello",
        #                              "wfrewrite/job": "wfr-hello-5f2c...", "wfrewrite/driver": ...},
        #    "inputs": [{"url": "s3://wfr-tests/runs/in/ad55...",
        #                "path": "/mnt/wfr/stage/0/names.txt", "type": "FILE"}],
        #    "outputs": [{"url": "s3://wfr-tests/runs/out/wfr-hello-5f2c.../",
        #                 "path": "/mnt/wfr/wfrewrite/outbox", "type": "DIRECTORY"}],
        #    "volumes": ["/mnt/wfr"], "resources": {"cpu_cores": 1, "ram_gb": 0.5, ...},
        #    "executors": [{"image": "busybox:latest",
        #                   "command": ["/bin/sh", "-c", SCRIPT, "wfrewrite", "all", "outbox"]}]}
        # GET .../tasks/ID?view=MINIMAL, on a kept-open connection, until it ends; then the
        # outbox's wfrewrite/bundle.tar (the manifest and the small outputs) and the outputs it
        # lists that are not in it, from the store

What each end state means. COMPLETE: the manifest says what happened. With the platform
transport the script exits 0 once its manifest is in the outbox, because the server uploads
nothing of an executor that fails: so a failed command still brings its logs and partial
outputs home, and its rc is in the manifest. EXECUTOR_ERROR: the script could not deliver (no
/bin/sh in the image, an image the server does not have, killed), or with ``--tes-split`` the
command's own exit code; the executor's exit code and stderr tail say which. SYSTEM_ERROR: the
server's own log (an input it could not fetch). CANCELED: by us, or by someone else.

``--tes-split`` runs prologue and epilogue in a helper image (busybox) and the bare command in
the task's image, three executors sharing the task's volume, so that an argv command needs no
shell there. The command's environment then goes into the TES executor's ``env``, which Funnel
splices into a command line it splits on whitespace: a value with whitespace is refused by name.

Ctrl-C, a terminating engine or a driver that ends while waiting cancel the task; a driver killed
outright (Toil kills a worker's process group with SIGKILL) leaves it to the driver's reaper
(``base.reaper``), which runs ``wfrewrite cleanup --executor tes ... --job NAME``. Every task
carries its ``Job.labels`` as tags (run, task, job, driver): ``cancel(name)`` finds a job's task
by its job tag, ``sweep(run)`` cancels the tasks of a run whose driver is gone (their outboxes
leave the store). ``limits()`` is None: the server's capacity is not known here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import logging
import os
import posixpath
import re
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import tes

from wfrewrite.compiler.diagnostics import TaskFailed, Unsupported, WfError
from wfrewrite.compiler.emit.contract import EXIT_CODES
from wfrewrite.compiler.emit.tes import HELPER_IMAGE, split_command, tes_resources
from wfrewrite.compiler.plan import CONTAINER_ROOT, Facts, ImageFacts, Pass, TaskPlan
from wfrewrite.compiler.plan.passes import bind_entrypoint, choose_image, image_candidates

from ..job import LABEL_DRIVER, LABEL_JOB, LABEL_RUN, Job, RunResult, driver_alive
from ..manifest import STATUS_BY_EXIT, Manifest, read_manifest
from ..options import Options
from ..transport import Transport
from ..transport.platform import PlatformTransport
from .base import TIMEOUT_GRACE, Executor, Gate, Terminating, reaper, said

log = logging.getLogger("wfrewrite.executor.tes")

API = "/ga4gh/tes/v1"
# Seconds between polls of a task: every POLL_EARLY in the task's first POLL_EARLY_FOR seconds
# (where short tasks end: a trivial Funnel task takes ~0.2-0.25 s, and under a 0.1 s step one
# that ends just past a poll is seen ~0.1 s late, every task of a scatter again; a poll on a
# kept-open connection costs ~0.1 ms of CPU), then doubled up to POLL_MAX (a long task costs the
# server one request a second; ~45 requests in its first 5 s, as many as a 0.1 s step for 5 s).
POLL_FIRST, POLL_EARLY, POLL_EARLY_FOR, POLL_MAX = 0.05, 0.05, 2.0, 1.0
# A script travels inline up to this size (all executors together): a TES task of a megabyte
# or two poisons Funnel's task listings, and one argv word must stay under 128 KiB. A larger
# one goes as a TES input.
SCRIPT_INLINE_MAX = 100 * 1024
TERMINAL = ("COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED")
# Funnel logs this for every task (it asks `docker version` of podman): not an error of ours.
_NOISE = "failed to sync docker client API version"
_FIELD = re.compile(r"(\w+)='((?:[^'\\]|\\.)*)'")


class TesExecutor(Executor):
    name = "tes"
    transports = ("platform", "url")
    default_transport = "platform"

    def __init__(self, options: Options, transport: Transport) -> None:
        super().__init__(options, transport)
        assert options.tes_url  # Options.validate says so
        self.url = options.tes_url.rstrip("/")
        self.client = tes.HTTPClient(self.url, timeout=10)
        self._parts = urllib.parse.urlsplit(self.url)
        self._conns = threading.local()  # each waiting thread polls on a connection of its own
        self.split = options.tes_split
        self.platform = isinstance(transport, PlatformTransport)

    def container_root(self, host_root: str) -> str:
        return self.transport.container_root(CONTAINER_ROOT)

    def limits(self) -> dict[str, int] | None:
        return None

    # -- preparing ----------------------------------------------------------------------------

    def report(self, plan: TaskPlan, unsupported: Unsupported) -> None:
        if plan.resources.gpu:
            unsupported.report(plan.source, "GPUs", "TES resources have no GPUs")
        if self.split and plan.stdin:
            unsupported.report(
                plan.source,
                "stdin with --tes-split",
                "the command container has no shell to read it, and a TES executor's stdin "
                "would truncate the file (Funnel): run without --tes-split",
            )
        if self.split and plan.resources.time_limit:
            unsupported.report(
                plan.source,
                "a time limit with --tes-split",
                "the command container has no shell to enforce it and the server enforces none",
                hint=True,
            )

    def gather(self, plan: TaskPlan) -> Facts:
        """The image (the first candidate: the server's images are not known here) and, for an
        argv command that goes through its ENTRYPOINT, that ENTRYPOINT as this machine's engine
        knows it (the server applies it to the executor's command itself; with --tes-split that
        command is the argv, so nothing is added)."""
        image = image_candidates(plan, self.options.default_image)[0]
        if any(c.isspace() for c in image):
            raise WfError(f"task {plan.name}: the image name {image!r} has whitespace")
        entrypoint: tuple[str, ...] = ()
        if plan.command.entrypoint and not self.split and shutil.which("podman"):
            from .container import PodmanExecutor

            entrypoint = PodmanExecutor(self.options, self.transport).inspect(image).entrypoint
        return Facts(image=ImageFacts(image=image, entrypoint=entrypoint))

    def passes(self) -> list[Pass]:
        return [choose_image, bind_entrypoint]

    # -- the TES task ------------------------------------------------------------------------

    def task_of(self, job: Job) -> tes.Task:
        """``job`` as a TES task (py-tes models)."""
        plan = job.plan
        inputs: list[tes.Input] = []
        outputs: list[tes.Output] = []
        volumes = [plan.layout.root] if self.platform else []
        if self.platform and plan.layout.work_alias:
            volumes.append(plan.layout.work_alias)  # the work dir is a link to it
        if self.platform:
            assert isinstance(self.transport, PlatformTransport)
            for i in self.transport.inputs(job):
                inputs.append(tes.Input(url=i.url, path=i.path, type=i.kind.upper()))
            box, box_url = self.transport.outbox(job)
            outputs.append(tes.Output(url=box_url, path=box, type="DIRECTORY"))
        volumes += [m.path for m in plan.resources.mounts]
        check_mounts(plan, [*volumes, "/tmp", *(o.path for o in outputs)], [i.path for i in inputs])
        words = self.script_words(job, inputs)
        deliver = ["outbox"] if self.platform else []
        assert plan.image is not None  # choose_image bound it
        if not self.split:
            executors = [tes.Executor(image=plan.image, command=[*words, "all", *deliver])]
        else:
            executors = [
                tes.Executor(image=HELPER_IMAGE, command=[*words, "prologue"]),
                self.command_executor(plan),
                tes.Executor(image=HELPER_IMAGE, command=[*words, "epilogue", *deliver]),
            ]
        return tes.Task(
            name=plan.name,
            description=f"wfrewrite: {plan.lang} task {plan.name}",
            inputs=inputs or None,
            outputs=outputs or None,
            resources=tes_resources(plan),
            executors=executors,
            volumes=volumes or None,
            tags=dict(job.labels),  # run, task, job, driver: what cancel and sweep look for
        )

    def script_words(self, job: Job, inputs: list[tes.Input]) -> list[str]:
        """How the executors run the script: inline (``sh -c SCRIPT wfrewrite``), or, when it
        is too large, from a TES input of its own (content-keyed in the store)."""
        data = job.script.encode()
        if not self.platform or len(data) * (2 if self.split else 1) <= SCRIPT_INLINE_MAX:
            return ["/bin/sh", "-c", job.script, "wfrewrite"]
        assert isinstance(self.transport, PlatformTransport)
        path = posixpath.join(job.plan.layout.stage, "wfrewrite.sh")
        inputs.append(tes.Input(url=self.transport.put_blob(data), path=path, type="FILE"))
        return ["/bin/sh", path]

    def command_executor(self, plan: TaskPlan) -> tes.Executor:
        """--tes-split: the bare command in the task's image, its environment in the TES
        executor's (refused by name where a value has whitespace)."""
        lay = plan.layout
        argv = split_command(plan)
        env = {"HOME": lay.home, "TMPDIR": lay.tmp, **{e.name: e.value for e in plan.env}}
        for name, value in env.items():
            if any(c.isspace() for c in value) or not value:
                raise WfError(
                    f"task {plan.name}: with --tes-split the environment variable {name} goes on "
                    "the TES server's command line, which Funnel splits on whitespace, and its "
                    "value is empty or has whitespace: run without --tes-split",
                    plan.source,
                )
        assert plan.image is not None
        return tes.Executor(
            image=plan.image,
            command=argv,
            workdir=lay.work_alias or lay.work,
            stdout=plan.stdout,
            stderr=plan.stderr,
            env=env,
            ignore_error=True,  # the epilogue runs all the same (the url transport's uploads)
        )

    # -- running ------------------------------------------------------------------------------

    def run(self, job: Job, *, terminating: Terminating = None, gate: Gate = None) -> RunResult:
        self.write(job)
        # the reaper watches from before the POST: a driver killed during it leaves a task
        # that `cleanup --job` finds by its tag
        with reaper(self.reaper_argv(job)), gate or contextlib.nullcontext():
            try:
                task_id = self.submit(job, self.task_of(job))
            except BaseException as exn:
                self.discard(job)
                if not isinstance(exn, WfError):  # interrupted: the POST may have gone through
                    self.cancel(job.name)
                raise
            try:
                state = self.wait(task_id, terminating, job.plan.resources.time_limit)
            except BaseException:
                self.cancel_task(task_id)
                self.discard(job)
                raise
        log.info("TES task %s (%s): %s", task_id, job.plan.name, state)
        return self.outcome(job, task_id, state)

    def submit(self, job: Job, task: tes.Task) -> str:
        """POST the task once (py-tes's client would try other URL prefixes on a 5xx, and
        could submit it twice); an answer lost on the way is looked for by the job's tag."""
        body = task.as_json().encode()
        try:
            reply = self._call("POST", "/tasks", body)
            task_id = str(reply["id"])
        except (urllib.error.URLError, OSError) as exn:
            if isinstance(exn, urllib.error.HTTPError) and exn.code < 500:
                detail = exn.read().decode(errors="replace")[-600:]
                raise TaskFailed(
                    f"task {job.plan.name}: the TES server refused the task (HTTP {exn.code})"
                    f"{said(detail)}"
                ) from None
            found = self.list_tagged(LABEL_JOB, job.labels[LABEL_JOB])
            if not found:
                raise TaskFailed(
                    f"task {job.plan.name}: the TES server at {self.url} did not take the task: "
                    f"{exn}"
                ) from None
            task_id = found[0][0]
        with open(os.path.join(job.meta, "tes-task"), "w", encoding="utf-8") as f:
            f.write(task_id + "\n")
        log.debug("TES task %s: %s", task_id, job.plan.name)
        return task_id

    def wait(self, task_id: str, terminating: Terminating, time_limit: int | None = None) -> str:
        """Poll (view MINIMAL) with backoff until the task ends; its state. A terminating engine,
        a driver whose main thread has ended, or a task RUNNING ``TIMEOUT_GRACE`` seconds past
        its time limit (the script's own watchdog ends it sooner; a server that lost track of it,
        say by restarting, never would) cancels it (the caller does)."""
        delay = POLL_FIRST
        running_since: float | None = None
        since = time.monotonic()
        while True:
            state = self.state(task_id)
            if state in TERMINAL:
                return state
            if state == "RUNNING" and running_since is None:
                running_since = time.monotonic()
            if (
                time_limit
                and running_since is not None
                and time.monotonic() - running_since > time_limit + TIMEOUT_GRACE
            ):
                raise TaskFailed(
                    f"TES task {task_id}: still RUNNING {TIMEOUT_GRACE} s past its time limit "
                    f"({time_limit} s); cancelled"
                )
            if terminating is not None and terminating():
                raise TaskFailed(f"TES task {task_id}: cancelled (the run is terminating)")
            if not threading.main_thread().is_alive():
                raise TaskFailed(f"TES task {task_id}: cancelled (the driver is shutting down)")
            time.sleep(delay)
            delay = next_poll(delay, time.monotonic() - since)

    def state(self, task_id: str) -> str:
        for attempt in range(5):
            try:
                return str(self._get(f"/tasks/{task_id}?view=MINIMAL").get("state", "UNKNOWN"))
            except (OSError, http.client.HTTPException, ValueError) as exn:
                # the server restarting, a lost answer
                if attempt == 4:
                    raise TaskFailed(
                        f"TES task {task_id}: the server at {self.url} stopped answering: {exn}"
                    ) from None
                time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    def _get(self, path: str) -> Any:
        """GET ``API + path`` as JSON on this thread's kept-open connection to the server (a
        poll costs ~0.1 ms of CPU on it, ~1 ms on a new one, as py-tes makes); a kept connection
        the server has closed is opened again, once. A status other than 200 is an OSError."""
        conn = getattr(self._conns, "conn", None)
        reused = conn is not None
        while True:
            if conn is None:
                conn = self._conns.conn = self._connect()
            try:
                conn.request("GET", self._parts.path.rstrip("/") + API + path)
                reply = conn.getresponse()
                body = reply.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = self._conns.conn = None
                if not reused:
                    raise
                reused = False
                continue
            if reply.status != 200:
                raise OSError(f"GET {API + path}: HTTP {reply.status} {body[:200]!r}")
            return json.loads(body or b"{}")

    def _connect(self) -> http.client.HTTPConnection:
        parts = self._parts
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        return cls(parts.hostname or "localhost", parts.port, timeout=10)

    def full(self, task_id: str) -> tes.Task:
        return self.client.get_task(task_id, view="FULL")

    def cancel_task(self, task_id: str) -> None:
        try:
            self.client.cancel_task(task_id)
        except Exception as exn:
            log.warning("TES task %s: could not cancel it: %s", task_id, exn)

    def cancel(self, name: str) -> None:
        """Cancel whatever task of the job ``name`` the server has not seen end (found by the
        job's tag), and remove its outbox from the store."""
        try:
            for task_id, state in self.list_tagged(LABEL_JOB, name):
                if state not in TERMINAL:
                    self.cancel_task(task_id)
        except (urllib.error.URLError, OSError) as exn:
            log.warning("could not look for the TES task of %s: %s", name, exn)
        self.forget(name)

    def discard(self, job: Job) -> None:
        if isinstance(self.transport, PlatformTransport):
            self.transport.discard(job)

    def forget(self, name: str) -> None:
        """The outbox of the job ``name`` out of the store (a job no driver will fetch)."""
        if isinstance(self.transport, PlatformTransport) and self.options.store:
            try:
                self.transport.forget(name)
            except Exception as exn:  # the store unreachable: leftovers, not a failure
                log.warning("could not remove the outbox of %s from the store: %s", name, exn)

    # -- what it gave -------------------------------------------------------------------------

    def outcome(self, job: Job, task_id: str, state: str) -> RunResult:
        plan, log_path = job.plan, os.path.join(job.meta, "script.log")
        where = f"task {plan.name}: TES task {task_id}"
        full: tes.Task | None = None
        if state == "COMPLETE" or (state == "EXECUTOR_ERROR" and not self.platform):
            # the script delivered (platform), or uploaded what it could itself (url)
            manifest = self.fetch_manifest(job)
            if manifest is not None:
                if self.split or not manifest.succeeded:
                    full = self.full(task_id)
                    write_log(log_path, full)
                if self.split:
                    manifest = split_outcome(plan, manifest, state, full)
                return RunResult(exit_code=manifest.exit_code, manifest=manifest, log_path=log_path)
        else:
            self.discard(job)
        full = full or self.full(task_id)
        write_log(log_path, full)
        if state == "CANCELED":
            raise TaskFailed(f"{where} was cancelled (not by this run)")
        if state == "SYSTEM_ERROR":
            raise TaskFailed(f"{where} ended SYSTEM_ERROR{said(system_errors(full))}")
        if state == "COMPLETE":
            raise TaskFailed(f"{where} completed, but no manifest came back{said(tail_of(full))}")
        failed = failed_executor(full)
        if failed is None:
            raise TaskFailed(f"{where} ended {state}{said(system_errors(full))}")
        index, code, stderr = failed
        if self.split and index == 1:
            return self.command_failed(job, full, code)
        image = plan.image if index == 1 or not self.split else HELPER_IMAGE
        raise TaskFailed(f"{where}: {why_failed(image, code, stderr)}{said(stderr[-600:])}")

    def fetch_manifest(self, job: Job) -> Manifest | None:
        """The manifest and what it lists, brought home and checked (sizes and sha1s: by the
        transport as it fetches them, else here)."""
        keep: set[str] = set()
        try:
            self.transport.fetch(job.plan, job.host_root)
            manifest = read_manifest(job.host_root, job.meta, sha1=not self.transport.verifies)
            if manifest is not None:
                keep = {
                    os.path.realpath(os.path.join(job.host_root, f.path)) for f in manifest.files
                }
            return manifest
        finally:
            self.transport.release(job.plan, job.host_root, keep)

    def command_failed(self, job: Job, full: tes.Task, code: int) -> RunResult:
        """--tes-split, platform transport: the command exited ``code`` and the server kept
        nothing of the task; its stdout and stderr tails from the TES log are all there is."""
        plan = job.plan
        logs = executor_logs(full)
        for path, text in ((plan.stdout, logs[1].stdout), (plan.stderr, logs[1].stderr)):
            host = os.path.join(job.host_root, plan.layout.relative(path))
            os.makedirs(os.path.dirname(host), exist_ok=True)
            with open(host, "w", encoding="utf-8") as f:
                f.write(text or "")
        status = command_status(plan, code)
        if status is None:
            raise TaskFailed(
                f"task {plan.name}: the command exited {code}, a success code, but with "
                "--tes-split the TES server keeps no outputs of an executor that exits non-zero "
                "(use --transport url, or run without --tes-split)"
            )
        manifest = Manifest(
            task=plan.name,
            status=status,
            exit_code=EXIT_CODES[status],
            rc=code,
            shell="external",
            partial=True,
            mode="epilogue",
            message=f"the command exited with {code} (the server kept no outputs)",
        )
        return RunResult(
            exit_code=manifest.exit_code,
            manifest=manifest,
            log_path=os.path.join(job.meta, "script.log"),
        )

    # -- the server's lists -------------------------------------------------------------------

    def _call(self, method: str, path: str, body: bytes | None = None) -> Any:
        req = urllib.request.Request(
            self.url + API + path,
            data=body,
            method=method,
            headers={"Content-Type": "application/json"} if body is not None else {},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"{}")

    def list_tagged(self, key: str, value: str) -> list[tuple[str, str]]:
        """(id, state) of every task tagged ``key=value`` (view MINIMAL, every page)."""
        out: list[tuple[str, str]] = []
        token = ""
        while True:
            query = {"tag_key": key, "tag_value": value, "view": "MINIMAL", "page_size": "256"}
            if token:
                query["page_token"] = token
            reply = self._call("GET", "/tasks?" + urllib.parse.urlencode(query))
            out += [(t["id"], t.get("state", "UNKNOWN")) for t in reply.get("tasks") or []]
            token = reply.get("next_page_token") or ""
            if not token:
                return out

    def sweep(self, run: str, *, force: bool = False) -> list[str]:
        """Cancel every task of the run labelled ``run`` that has not ended and whose driver is
        gone (with ``force``, a live driver's too), and remove its outbox; their ids."""
        gone = []
        for task_id, state in self.list_tagged(LABEL_RUN, run):
            if state in TERMINAL:
                continue
            tags = self.tags_of(task_id)  # MINIMAL listings carry no tags
            if tags is None or (not force and driver_alive(tags.get(LABEL_DRIVER, ""))):
                continue
            self.cancel_task(task_id)
            if tags.get(LABEL_JOB):
                self.forget(tags[LABEL_JOB])
            gone.append(task_id)
        return gone

    def tags_of(self, task_id: str) -> dict[str, str] | None:
        """A task's tags (view BASIC; None if the server has no such task any more)."""
        try:
            return dict(self._call("GET", f"/tasks/{task_id}?view=BASIC").get("tags") or {})
        except (urllib.error.URLError, OSError) as exn:
            log.info("TES task %s: %s", task_id, exn)
            return None


# -- reading a TES task's logs ----------------------------------------------------------------


def next_poll(delay: float, waited: float) -> float:
    """The wait before the next poll of a task polled ``waited`` seconds, the last wait
    ``delay`` (see POLL_FIRST)."""
    return min(delay * 2, POLL_EARLY if waited < POLL_EARLY_FOR else POLL_MAX)


def executor_logs(task: tes.Task) -> list[tes.ExecutorLog]:
    return list(task.logs[-1].logs or []) if task.logs else []


def failed_executor(task: tes.Task) -> tuple[int, int, str] | None:
    """(index, exit code, stderr tail) of the last executor that exited non-zero."""
    for index, entry in reversed(list(enumerate(executor_logs(task)))):
        if entry.exit_code:
            return index, int(entry.exit_code), entry.stderr or ""
    return None


def system_errors(task: tes.Task) -> str:
    """The error lines of the server's own log, as ``msg: error (url)``."""
    lines = []
    for raw in (task.logs[-1].system_logs or []) if task.logs else []:
        fields = {k: v.replace("\\'", "'") for k, v in _FIELD.findall(raw)}
        if fields.get("level") != "error" or _NOISE in fields.get("msg", ""):
            continue
        text = fields.get("msg", raw)
        if fields.get("error"):
            text += ": " + fields["error"]
        if fields.get("url") and fields["url"] not in text:
            text += f" ({fields['url']})"
        if len(text) > 400:
            text = text[:200] + " ... " + text[-150:]
        if text not in lines:
            lines.append(text)
    return "; ".join(lines[-3:])


def tail_of(task: tes.Task) -> str:
    logs = executor_logs(task)
    return (logs[-1].stderr or "")[-600:].strip() if logs else ""


def write_log(path: str, task: tes.Task) -> None:
    """The executors' stderr and stdout tails and the server's errors, as the task's log."""
    with open(path, "w", encoding="utf-8") as f:
        for index, entry in enumerate(executor_logs(task)):
            f.write(f"-- executor {index}: exit {entry.exit_code}\n")
            f.write(entry.stderr or "")
            f.write(entry.stdout or "")
        errors = system_errors(task)
        if errors:
            f.write(f"-- the server: {errors}\n")


def why_failed(image: str | None, code: int, stderr: str) -> str:
    text = stderr.lower()
    if code == 125 or "image not known" in text or "manifest unknown" in text:
        return f"the server could not start a container of the image {image} (exit {code})"
    if code in (126, 127) and ("/bin/sh" in text or "not found" in text):
        return (
            f"the image {image} has no /bin/sh (exit {code}); wfrewrite scripts need a POSIX "
            "shell in the image: use an image with /bin/sh, or --tes-split for an argv command"
        )
    status = STATUS_BY_EXIT.get(code)
    if status is not None:
        return f"the script ended with {status.replace('_', ' ')} (exit {code}) before it could deliver its manifest"
    if code in (137, 143):
        return f"the container was killed (exit {code}: out of memory?) before the script finished"
    return f"the script did not finish (exit {code}, no manifest)"


def command_status(plan: TaskPlan, rc: int) -> str | None:
    """The outcome of the command's return code, as ``wf_run`` decides it (None: succeeded)."""
    if rc in plan.temporary_fail_codes:
        return "command_tempfail"
    if rc in plan.permanent_fail_codes:
        return "command_failed"
    if plan.success_codes is None or rc in plan.success_codes:
        return None
    return "command_failed"


def split_outcome(
    plan: TaskPlan, manifest: Manifest, state: str, full: tes.Task | None
) -> Manifest:
    """--tes-split: the epilogue's manifest knows no rc; the TES log has the command's."""
    logs = executor_logs(full) if full is not None else []
    rc = int(logs[1].exit_code or 0) if len(logs) > 1 else (0 if state == "COMPLETE" else None)
    if rc is None:
        return manifest
    status = manifest.status
    if status == "succeeded":
        status = command_status(plan, rc) or "succeeded"
    return dataclasses.replace(
        manifest,
        rc=rc,
        status=status,
        exit_code=EXIT_CODES[status],
        partial=manifest.partial or status != "succeeded",
        message=manifest.message
        or (f"the command exited with {rc}" if status != "succeeded" else ""),
    )


def check_mounts(plan: TaskPlan, writable: list[str], inputs: list[str]) -> None:
    """What the server mounts goes on a command line it splits on whitespace and reads ':' in
    (Funnel), and it takes one writable mount (a volume, /tmp, an output) to hold another by
    string prefix: refuse what it would get wrong."""
    for p in writable + inputs:
        if any(c.isspace() or c == ":" for c in p):
            raise WfError(
                f"task {plan.name}: the TES server cannot mount {p!r} (whitespace or ':')",
                plan.source,
            )
    for a in writable:
        for b in writable:
            if a != b and b.startswith(a) and not b.startswith(a.rstrip("/") + "/"):
                raise WfError(
                    f"task {plan.name}: the TES server would take {a} to hold {b}; give the "
                    "disk another mount point",
                    plan.source,
                )
