"""miniwdl container backend ``wfrewrite``: every task runs as a compiled script.

    [scheduler]
    container_backend = wfrewrite
    [wfrewrite]
    executor = podman          # auto | local | podman | docker
    default_image = ubuntu:22.04
    transport = url            # mounted (the default) | url: nothing mounted, inputs and outputs over HTTP
    store = http://127.0.0.1:8089/wfr/    # url: an http(s) PUT prefix, or s3://bucket/prefix
    s3_endpoint =              # url with s3://: the S3 endpoint (default: AWS)

miniwdl keeps doing what it does (inputs, call cache, retries and ``task.attempt``, the output
section); at the moment it would start a container, ``WfrewriteContainer._run`` lowers the
interpolated command to a plan, emits the script, runs it through a wfrewrite executor and reads
the manifest. The task's run dir is the script's root: ``work/``, ``stdout.txt``,
``stderr.txt`` where miniwdl expects them, the script's own files in ``wfrewrite/``.

The companion task plugin (``task_plugin``, entry point group ``miniwdl.plugin.task``) hands the
task and its inputs to the container so that the outputs can be captured precisely.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable, Generator
from typing import Any

from WDL import Error, Type, Value
from WDL._util import parse_byte_size
from WDL.runtime.error import OutputError

from wfrewrite.compiler.diagnostics import WfError, render
from wfrewrite.compiler.wdl_lower import PlanningContainer

from . import executors, transport_url

_executor_cache: dict[tuple[Any, ...], executors.Executor] = {}
# run dir -> (task, inputs), left by task_plugin for the container miniwdl creates next
_pending: dict[str, tuple[Any, Any]] = {}
_pending_lock = threading.Lock()


def executor_for(cfg: Any) -> executors.Executor:
    def opt(key: str, default: str = "") -> str:
        # [wfrewrite] may come from a file, overrides or MINIWDL__WFREWRITE__* variables
        return str(cfg.get("wfrewrite", key, default))

    transport = opt("transport", "mounted") or "mounted"
    store = None
    if transport == "url":
        if not opt("store"):
            raise TaskError(
                "[wfrewrite] transport = url needs a store (store = http://... or s3://...)"
            )
        store = transport_url.StoreOptions(
            store=opt("store"),
            s3_endpoint=opt("s3_endpoint") or None,
            expires=int(opt("url_expires", "86400")),
            ca_file=opt("store_ca") or None,
            parallel=int(opt("url_parallel", "4")),
            retries=int(opt("url_retries", "5")),
            backoff_ms=int(opt("url_backoff_ms", "1000")),
            stall=int(opt("url_stall", "60")),
        )
    options = executors.Options(
        default_image=opt("default_image", executors.DEFAULT_IMAGE),
        link_mode=opt("link_mode") or None,
        read_only=opt("read_only", "false").lower() == "true",
        user=opt("user") or None,
        network=opt("network") or None,
        slurm_container=opt("slurm_container", "podman"),
        transport=transport,
        store=store,
    )
    key = (
        opt("executor", "auto"),
        options.default_image,
        options.link_mode,
        options.read_only,
        options.user,
        options.network,
        options.slurm_container,
        transport,
        store,
    )
    if key not in _executor_cache:
        _executor_cache[key] = executors.select(key[0], options)
    return _executor_cache[key]


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
        """Refuse a task that asks for more cpu or memory than the executor can ever give it,
        unless ``[wfrewrite] resources = clamp`` (miniwdl's behaviour: run with what there is)."""
        if self.cfg.get("wfrewrite", "resources", "deny") != "clamp":
            limits = self.detect_resource_limits(self.cfg, logger)
            if "cpu" in runtime_eval:
                cpu = runtime_eval["cpu"].coerce(Type.Float()).value
                if cpu > limits["cpu"]:
                    raise TaskError(
                        f"task requires at least {cpu:g} CPUs; the {self.executor.name} "
                        f"executor has {limits['cpu']} (--resources clamp runs it with those)"
                    )
            if "memory" in runtime_eval:
                try:
                    mem = parse_byte_size(runtime_eval["memory"].coerce(Type.String()).value)
                except ValueError:
                    mem = 0
                if mem > limits["mem_bytes"]:
                    raise TaskError(
                        f"task requires at least {mem} bytes of memory; the {self.executor.name} "
                        f"executor has {limits['mem_bytes']} (--resources clamp runs it with those)"
                    )
        try:
            super().process_runtime(logger, runtime_eval)
        except WfError as exn:
            raise TaskError(render(exn)) from None

    def _run(self, logger: logging.Logger, terminating: Callable[[], bool], command: str) -> int:
        try:
            plan = self.executor.prepare(self.lower(command), self.host_dir)
            for warning in self.unsupported.warnings:
                logger.warning(warning)
            self.unsupported.warnings.clear()
            logger.info(
                "wfrewrite: %s executor, image %s", self.executor.name, plan.image or "(host)"
            )
            with self.task_running_context():
                result = self.executor.run(plan, self.host_dir, terminating=terminating)
        except WfError as exn:
            raise TaskError(render(exn)) from None
        m = result.manifest
        assert m is not None
        if m.status in ("succeeded", "command_failed", "command_tempfail"):
            self.failure_info = {"wfrewrite_status": m.status, "message": m.message}
            return int(m.rc if m.rc is not None else result.exit_code)
        tail = _tail(result.log_path)
        if m.status == "collection_failed":
            raise OutputError(m.message)
        raise TaskError(
            f"task {plan.name}: {m.status.replace('_', ' ')}: {m.message}"
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
    with the url transport, inputs given as URIs become placeholders the driver binds to them."""
    if _url_transport(cfg):
        recv = {**recv, "inputs": remote_placeholders(recv["inputs"], run_dir)}
    inputs = recv["inputs"]
    with _pending_lock:
        _pending[os.path.realpath(run_dir)] = (task, inputs)
    try:
        recv = yield recv
        container = recv.get("container")
        if isinstance(container, PlanningContainer) and container.wf_task is None:
            container.attach(task, inputs)
        recv = yield recv
        if _url_transport(cfg):
            _fill_remote_outputs(cfg, recv["outputs"])
        yield recv
    finally:
        with _pending_lock:
            _pending.pop(os.path.realpath(run_dir), None)


def _url_transport(cfg: Any) -> bool:
    return (
        cfg.has_section("wfrewrite")
        and str(cfg.get("scheduler", "container_backend", "")) == "wfrewrite"
        and str(cfg.get("wfrewrite", "transport", "mounted")) == "url"
    )


def remote_placeholders(inputs: Any, run_dir: str) -> Any:
    """File and Directory inputs given as s3://, gs:// or http(s):// URIs, each replaced by an
    empty local placeholder: miniwdl then neither downloads them (it would need a downloader
    task and its image) nor refuses them, and the url transport's driver turns each placeholder
    back into its URI (presigned for s3://) when it binds the plan."""
    counter = [0]

    def swap(v: Value.File | Value.Directory) -> str | None:
        if not transport_url.is_uri(v.value):
            return v.value
        counter[0] += 1
        return transport_url.remote_placeholder(
            v.value, run_dir, counter[0], isinstance(v, Value.Directory)
        )

    return Value.rewrite_env_paths(inputs, swap)


def _fill_remote_outputs(cfg: Any, outputs: Any) -> None:
    """An output that is a remote input (``File same = f``) resolves to its placeholder: only
    then is the input downloaded to the host, into the placeholder."""
    ex = executor_for(cfg)
    binder = getattr(ex, "_binder", None)
    if binder is None:
        return

    def fill(v: Value.File | Value.Directory) -> str | None:
        if isinstance(v, Value.File):
            transport_url.fill_placeholder(binder.store, v.value)
        return v.value

    Value.rewrite_env_paths(outputs, fill)
