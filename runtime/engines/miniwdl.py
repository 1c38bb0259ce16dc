"""miniwdl container backend ``wfrewrite``: every task runs as a compiled script.

    [scheduler]
    container_backend = wfrewrite
    [wfrewrite]
    executor = podman          # auto | local | podman | docker | slurm | tes | kubernetes
    default_image = ubuntu:22.04
    transport = url            # mounted | url: nothing mounted, inputs and outputs over HTTP
    store = http://127.0.0.1:8089/wfr/    # url: an http(s) PUT prefix, or s3://bucket/prefix
    s3_endpoint =              # url with s3://: the S3 endpoint (default: AWS)

The keys are the fields of ``wfrewrite.runtime.options.Options`` (every option of
``wfrewrite run``, with underscores), also as ``MINIWDL__WFREWRITE__KEY`` variables.

miniwdl keeps doing what it does (inputs, call cache, retries and ``task.attempt``, the output
section); at the moment it would start a container, ``WfrewriteContainer._run`` lowers the
interpolated command to a plan, emits the script, runs it through a wfrewrite executor and reads
the manifest. The task's run dir is the script's root: ``work/``, ``stdout.txt``,
``stderr.txt`` where miniwdl expects them, the script's own files in ``wfrewrite/``.

The companion task plugin (``task_plugin``, entry point group ``miniwdl.plugin.task``) hands the
task and its inputs to the container so that the outputs can be captured precisely.

`wfrewrite run` also trims what miniwdl does in every run and task that wfrewrite never needs:
``prepare_ahead`` (tasks set up ahead of their slots), ``cache_plugin_lookups`` (one scan of the
installed packages for plugins), ``spare_docker_import`` (no docker SDK for a BuildError),
``spare_version_scan`` (miniwdl's version without a scan of the installed packages) and
``spare_realpaths`` (a task's run directory made group-writable without resolving each path).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
import stat
import sys
import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from WDL import Error, Type, Value
from WDL._util import parse_byte_size
from WDL.runtime.error import OutputError, Terminated

from wfrewrite.compiler.cache import private_dir, prune, write_entry
from wfrewrite.compiler.diagnostics import WfError, render
from wfrewrite.compiler.wdl import PlanningContainer
from wfrewrite.compiler.wdl.load import miniwdl_version, supported_miniwdl

from .. import exec as executors
from ..exec import host_limits
from ..exec.slots import Slots
from ..exec.slots import Terminated as SlotTerminated
from ..options import Options, from_config
from .standin import StandIn, put_in

if TYPE_CHECKING:  # imported where a run takes remote inputs: a mounted run needs no urllib or ssl
    from ..transport.remote import RemoteInputs

_executor_cache: dict[Options, executors.Executor] = {}
_executor_lock = threading.Lock()
# run dir -> (task, inputs), left by task_plugin for the container miniwdl creates next
_pending: dict[str, tuple[Any, Any]] = {}
_pending_lock = threading.Lock()
# the tasks' slots when `wfrewrite run` prepares tasks ahead of them (prepare_ahead)
_slots: Slots | None = None


def prepare_ahead(cfg: Any) -> None:
    """Let miniwdl's task pool set up as many tasks again as may run (``[scheduler]
    task_concurrency``, or the cpus, as miniwdl counts them), while only that many run at a
    time (exec/slots.py)."""
    global _slots
    n = cfg["scheduler"].get_int("task_concurrency") or os.cpu_count() or 1
    _slots = Slots(n)
    cfg.override({"scheduler": {"task_concurrency": 2 * n}})


def options_of(cfg: Any) -> Options:
    """The options of miniwdl's ``[wfrewrite]`` section (from a file, overrides or
    ``MINIWDL__WFREWRITE__*`` variables); read once for each distinct section text (each task
    asks, twice)."""
    key = _section_text(cfg)
    if key is not None and key in _options_read:
        return _options_read[key]
    try:
        options = from_config(lambda key: cfg.get("wfrewrite", key, "") or None)
    except WfError as exn:
        raise TaskError(f"[wfrewrite]: {exn.message}") from None
    if key is not None:
        _options_read[key] = options
    return options


# the [wfrewrite] section's text (_section_text) -> its options
_options_read: dict[tuple[Any, ...], Options] = {}
_ENV_PREFIX = "MINIWDL__WFREWRITE__"


def _section_text(cfg: Any) -> tuple[Any, ...] | None:
    """Everything miniwdl reads ``[wfrewrite]`` from (its overrides, the config file, the
    defaults, the ``MINIWDL__WFREWRITE__*`` variables), as raw text; None (read it afresh) for
    a loader this release does not know, or where a value names a variable ($VAR expands to
    what the environment says at the time)."""
    if not supported_miniwdl():
        return None
    try:
        parts = tuple(
            tuple(sorted(p.items("wfrewrite", raw=True))) if p.has_section("wfrewrite") else ()
            for p in (cfg._overrides, cfg._options, cfg._defaults)
        )
    except AttributeError:
        return None
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_ENV_PREFIX)))
    if any("$" in v for part in (*parts, env) for _, v in part):
        return None
    return (parts, env)


def executor_for(cfg: Any) -> executors.Executor:
    """The executor the config asks for, one per distinct set of options in this process."""
    options = options_of(cfg)
    with _executor_lock:  # the tasks' threads ask at once: one executor (and its uploads) each
        if options not in _executor_cache:
            try:
                _executor_cache[options] = executors.select(options)
            except WfError as exn:
                raise TaskError(render(exn)) from None
        return _executor_cache[options]


class TaskError(Error.RuntimeError):
    """A wfrewrite failure as miniwdl reports it (task.log, error.json, retries)."""


class WfrewriteContainer(PlanningContainer):
    def __init__(self, cfg: Any, run_id: str, host_dir: str) -> None:
        super().__init__(cfg, run_id, host_dir)
        with _pending_lock:
            pending = _pending.pop(os.path.realpath(host_dir), None)
        if pending is not None:
            self.attach(*pending)

    def default_container_dir(self, cfg: Any, host_dir: str) -> str:
        self.executor = executor_for(cfg)
        return self.executor.container_root(host_dir)

    def process_runtime(self, logger: logging.Logger, runtime_eval: dict[str, Value.Base]) -> None:
        """Refuse a task that asks for more cpu or memory than the executor can ever give it
        (where it runs the task, not on this machine), unless ``[wfrewrite] resources = clamp``
        (miniwdl's behaviour: run with what there is)."""
        cpu = runtime_eval["cpu"].coerce(Type.Float()).value if "cpu" in runtime_eval else 0
        mem = 0
        if "memory" in runtime_eval:
            try:
                mem = parse_byte_size(runtime_eval["memory"].coerce(Type.String()).value)
            except ValueError:
                mem = 0
        limits = self.executor.limits()
        if limits is not None and self.executor.options.resources != "clamp":
            if cpu > limits["cpu"]:
                raise TaskError(
                    f"task requires at least {cpu:g} CPUs; the {self.executor.name} "
                    f"executor has {limits['cpu']} (--resources clamp runs it with those)"
                )
            if mem > limits["mem_bytes"]:
                raise TaskError(
                    f"task requires at least {mem} bytes of memory; the {self.executor.name} "
                    f"executor has {limits['mem_bytes']} (--resources clamp runs it with those)"
                )
        # miniwdl clamps to (and defaults task.cpu/memory to) these: where the task runs, or,
        # where that is not known here, what the task asks with this machine's as the default
        host = host_limits()
        where = limits or {
            "cpu": max(host["cpu"], math.ceil(cpu)),
            "mem_bytes": max(host["mem_bytes"], mem),
        }
        self.detect_resource_limits = lambda cfg, logger: where  # type: ignore[method-assign]
        try:
            super().process_runtime(logger, runtime_eval)
        except WfError as exn:
            raise TaskError(render(exn)) from None

    def _run(self, logger: logging.Logger, terminating: Callable[[], bool], command: str) -> int:
        try:
            try:
                job = self.executor.prepare(self.lower(command), self.host_dir, self.unsupported)
            finally:
                for warning in self.unsupported.warnings:
                    logger.warning(warning)
                self.unsupported.warnings.clear()
            self.unsupported.finish()  # level "collect": everything unsupported, at once
            logger.info(
                "wfrewrite: %s executor, image %s", self.executor.name, job.plan.image or "(host)"
            )
            gate = None
            if _slots is not None:
                gate = _slots.gate(
                    terminating, lambda: logger.info("wfrewrite: waiting for a slot")
                )
            with self.task_running_context():
                result = self.executor.run(job, terminating=terminating, gate=gate)
        except WfError as exn:
            raise TaskError(render(exn)) from None
        except SlotTerminated:
            raise Terminated() from None
        m = result.manifest
        assert m is not None
        if m.status in ("succeeded", "command_failed", "command_tempfail"):
            self.failure_info = {"wfrewrite_status": m.status, "message": m.message}
            return int(m.rc if m.rc is not None else result.exit_code)
        tail = _tail(result.log_path)
        if m.status == "collection_failed":
            raise OutputError(m.message)
        raise TaskError(
            f"task {job.plan.name}: {m.status.replace('_', ' ')}: {m.message}"
            + (f"\n{tail}" if tail and m.message not in tail else "")
        )

    def reset(self, logger: logging.Logger) -> None:
        """Keep the failed attempt's files in attempt<N>/ and start the next one afresh."""
        keep = os.path.join(self.host_dir, f"attempt{self.try_counter}")
        os.makedirs(keep, exist_ok=True)
        for name in ("work", "stdout.txt", "stderr.txt", "wfrewrite"):
            src = os.path.join(self.host_dir, name)
            if os.path.lexists(src):
                shutil.move(src, os.path.join(keep, name))
        super().reset(logger)


def _tail(path: str) -> str:
    return "\n".join(executors.tail_lines(path, 5))


def task_plugin(
    cfg: Any, logger: logging.Logger, run_id: Any, run_dir: str, task: Any, **recv: Any
) -> Generator[dict[str, Any], dict[str, Any], None]:
    """miniwdl task plugin: give a wfrewrite container its task and inputs (a no-op otherwise);
    with the url and platform transports, inputs given as URIs become placeholders the driver
    binds to them."""
    url = _remote_transport(cfg)
    if url is not None:
        recv = {**recv, "inputs": remote_placeholders(recv["inputs"], run_dir, url)}
    inputs = recv["inputs"]
    with _pending_lock:
        _pending[os.path.realpath(run_dir)] = (task, inputs)
    try:
        recv = yield recv
        container = recv.get("container")
        if isinstance(container, PlanningContainer) and container.wf_task is None:
            container.attach(task, inputs)
        recv = yield recv
        if url is not None:
            _fill_remote_outputs(url, recv["outputs"])
        yield recv
    finally:
        with _pending_lock:
            _pending.pop(os.path.realpath(run_dir), None)


def _remote_transport(cfg: Any) -> RemoteInputs | None:
    """The transport of a wfrewrite run that takes remote inputs by URI (url, platform; None
    for any other backend or transport)."""
    if str(cfg.get("scheduler", "container_backend", "")) != "wfrewrite" or not cfg.has_section(
        "wfrewrite"
    ):
        return None
    transport = executor_for(cfg).transport
    if transport.name == "mounted":  # the common case, without importing urllib and ssl
        return None
    from ..transport.remote import RemoteInputs

    return transport if isinstance(transport, RemoteInputs) else None


def remote_placeholders(inputs: Any, run_dir: str, transport: RemoteInputs) -> Any:
    """File and Directory inputs given as s3://, gs:// or http(s):// URIs, each replaced by an
    empty local placeholder: miniwdl then neither downloads them (it would need a downloader
    task and its image) nor refuses them, and the transport turns each placeholder back into
    its URI (url: presigned for s3://; platform: the URI, which the platform reads itself) when
    it binds the plan."""
    from ..transport.remote import is_uri

    counter = [0]

    def swap(v: Value.File | Value.Directory) -> str | None:
        if not is_uri(v.value):
            return v.value
        counter[0] += 1
        return transport.placeholder(v.value, run_dir, counter[0], isinstance(v, Value.Directory))

    return Value.rewrite_env_paths(inputs, swap)


def _fill_remote_outputs(transport: RemoteInputs, outputs: Any) -> None:
    """An output that is a remote input (``File same = f``) resolves to its placeholder: only
    then is the input downloaded to the host, into the placeholder."""

    def fill(v: Value.File | Value.Directory) -> str | None:
        if isinstance(v, Value.File):
            transport.fill_placeholder(v.value)
        return v.value

    Value.rewrite_env_paths(outputs, fill)


class _DockerErrors(StandIn):
    """``docker.errors`` until something needs the real one (``spare_docker_import``)."""

    class BuildError(Exception):
        """miniwdl's docker backends' image-build error: no wfrewrite task raises it."""


def spare_docker_import() -> None:
    """miniwdl 1.15 runs ``from docker.errors import BuildError`` before every task, for the
    image builds of its own docker backends, which `wfrewrite run` disables; the import of the
    docker SDK (and requests) it starts is ~0.06-0.1 s before the first task. Until something
    imports docker itself, ``docker.errors`` is a stand-in whose ``BuildError`` no task raises;
    the first other name asked of it (``import docker`` asks several) puts the real module in
    its place and answers from it. Nothing changes where docker is imported already (Toil's
    workers)."""
    if not supported_miniwdl() or "docker" in sys.modules or "docker.errors" in sys.modules:
        return
    put_in(_DockerErrors("docker.errors"))


def spare_version_scan() -> None:
    """miniwdl logs its own version at the start of every workflow run, asked of
    ``importlib_metadata.version("miniwdl")``: a scan of every installed package's metadata
    (~25 ms with Toil's dependencies). The answer is the version miniwdl's build wrote into
    ``WDL._version`` (``miniwdl_version``), so for that one name it is answered from there;
    every other name (and miniwdl's name, where this release does not know miniwdl) is looked
    up as before."""
    if not supported_miniwdl():
        return
    import importlib_metadata  # miniwdl's own import (its plugins' EntryPoint objects)

    original = importlib_metadata.version
    if getattr(original, "_wfrewrite_spared", False):
        return

    def version(distribution_name: str) -> str:
        if distribution_name == "miniwdl":
            return miniwdl_version()
        return original(distribution_name)

    version._wfrewrite_spared = True  # type: ignore[attr-defined]
    importlib_metadata.version = version


def spare_realpaths() -> None:
    """At the end of every task miniwdl adds group read and write to everything in the task's
    run directory (``chmod_R_plus``, as ``WDL.runtime.task`` imported it from ``WDL._util``)
    and first makes sure each entry is within the directory by resolving both paths, component
    by component (``path_really_within``: ~14 ``lstat`` an entry, the directory's own path again
    each time; ~1 ms of a trivial task's ~15 ms of CPU in the driver). A walk that follows no
    symbolic link meets nothing outside the directory but through a link, and links are
    skipped, so ``add_permissions`` (below) makes the same changes from one ``lstat`` an entry;
    miniwdl's own function stays what its other callers use."""
    if not supported_miniwdl():
        return
    import WDL.runtime.task as task

    if getattr(task.chmod_R_plus, "_wfrewrite_spared", False):
        return
    task.chmod_R_plus = add_permissions


def add_permissions(path: str, file_bits: int = 0, dir_bits: int = 0) -> None:
    """miniwdl's ``chmod_R_plus(path, file_bits, dir_bits)``: ``file_bits`` added to every file
    and ``dir_bits`` to every directory at or under ``path`` (``path`` itself through a link
    too, as ``os.walk`` lists it), never through a symbolic link, never to a link's target."""

    def add(entry: str, bits: int) -> None:
        st = os.lstat(entry)
        if not stat.S_ISLNK(st.st_mode):
            mode = stat.S_IMODE(st.st_mode)
            if mode | bits != mode:
                os.chmod(entry, mode | bits)

    def raiser(exc: OSError) -> None:
        raise exc

    if not os.path.isdir(path):
        add(path, file_bits)
        return
    add(path, dir_bits)
    for root, subdirs, files in os.walk(path, onerror=raiser, followlinks=False):
        for name in subdirs:
            add(os.path.join(root, name), dir_bits)
        for name in files:
            add(os.path.join(root, name), file_bits)


add_permissions._wfrewrite_spared = True  # type: ignore[attr-defined]


def cache_plugin_lookups(scan_now: bool = False) -> None:
    """miniwdl looks its plugins up in the installed packages' entry points for every task, one
    scan of every package per group (~10 ms each with Toil's dependencies installed, more when
    the task threads do it at once); within one `wfrewrite run` the answer never changes, so the
    packages are scanned once, for every group (and that scan kept for the next run:
    ``miniwdl_entry_points``), and each group's answer kept. miniwdl's own
    ``load_all_plugins`` otherwise (its default plugins first; enabled as its enable and
    disable patterns say), for the miniwdl versions this release supports only. ``scan_now``:
    the scan is made at once (Toil's zygote: every worker forked from it has it), not at the
    first lookup."""
    if not supported_miniwdl():
        return
    from fnmatch import fnmatchcase

    from WDL.runtime import config as cfg_module

    original = cfg_module.load_all_plugins
    if getattr(original, "_wfrewrite_cached", False):
        if scan_now:
            original._wfrewrite_scan()  # type: ignore[attr-defined]
        return
    cache: dict[tuple[str, str, str], list[Any]] = {}
    scanned: list[Any] = []
    lock = threading.Lock()

    def scan() -> None:
        with lock:
            if not scanned:
                scanned.append(miniwdl_entry_points())

    def load_all_plugins(cfg: Any, group: str) -> Any:
        key = (group, cfg["plugins"]["enable_patterns"], cfg["plugins"]["disable_patterns"])
        scan()
        with lock:
            if key not in cache:
                enable = cfg["plugins"].get_list("enable_patterns")
                disable = cfg["plugins"].get_list("disable_patterns")
                found = [ep for ep in scanned[0] if ep.group == f"miniwdl.plugin.{group}"]
                cache[key] = [
                    (
                        any(fnmatchcase(p.value, pat) for pat in enable)
                        and not any(fnmatchcase(p.value, pat) for pat in disable),
                        p,
                    )
                    for p in cfg_module.default_plugins()[group] + found
                ]
        return iter(cache[key])

    load_all_plugins._wfrewrite_cached = True  # type: ignore[attr-defined]
    load_all_plugins._wfrewrite_scan = scan  # type: ignore[attr-defined]
    cfg_module.load_all_plugins = load_all_plugins
    if scan_now:
        scan()


def warm_toil_worker() -> None:
    """What Toil's zygote does once so that no worker forked from it does it per task: the
    plugin lookups of miniwdl's call cache (Toil's WDL task jobs make one each), scanned now
    (``cache_plugin_lookups``); without it each worker imported ``importlib_metadata`` and
    scanned every installed package, ~0.13 s of CPU a task here."""
    cache_plugin_lookups(scan_now=True)


def miniwdl_entry_points() -> list[Any]:
    """The installed packages' miniwdl plugins (entry points of the ``miniwdl.plugin.*``
    groups), as ``importlib_metadata`` finds them: a scan of every installed package (~23 ms
    with Toil's dependencies), kept in the user's cache (``plugin-scans/``) under a key that
    changes whenever a package is installed, removed or has its entry points rewritten
    (``_installed_key``); any doubt is a scan."""
    import importlib_metadata  # miniwdl's own (its EntryPoint objects)

    where = _installed_key()
    path = os.path.join(private_dir("plugin-scans"), where + ".json") if where else ""
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                return [importlib_metadata.EntryPoint(*ep) for ep in json.load(f)]
        except (OSError, ValueError, TypeError):
            pass
    found = [
        ep for ep in importlib_metadata.entry_points() if ep.group.startswith("miniwdl.plugin.")
    ]
    if path:
        with contextlib.suppress(OSError):
            write_entry(path, json.dumps([[ep.name, ep.value, ep.group] for ep in found]).encode())
            prune(os.path.dirname(path), ".json", keep=8)  # one per environment in use
    return found


def _installed_key() -> str:
    """A digest of what says which packages are installed where Python looks for them: the
    names of the metadata directories and ``.pth`` files in each ``sys.path`` directory (one
    added or removed changes it), and their mtimes and their entry_points.txt's (rewritten in
    place); a path entry that is a file (a zip), by its mtime. "" if a directory cannot be
    listed."""
    h = hashlib.sha256(sys.version.encode())
    for entry in sys.path:
        where = entry or "."
        if not os.path.isdir(where):
            try:
                stamp = os.stat(where).st_mtime_ns
            except OSError:
                stamp = -1
            h.update(f"{entry}\0{stamp}\n".encode())
            continue
        h.update(f"{entry}\0dir\n".encode())
        try:
            names = sorted(os.listdir(where))
        except OSError:
            return ""
        for name in names:
            if name.endswith((".dist-info", ".egg-info", ".egg-link", ".pth")):
                for sub in (name, os.path.join(name, "entry_points.txt")):
                    try:
                        mtime = os.stat(os.path.join(where, sub)).st_mtime_ns
                    except OSError:
                        mtime = 0
                    h.update(f"{sub}\0{mtime}\n".encode())
    return h.hexdigest()[:32]
