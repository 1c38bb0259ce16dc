"""Options: how tasks run, as one frozen value, defined once for every place that sets them.

    opts = Options(executor="podman", transport="url", store="http://127.0.0.1:8089/wfr/")
    opts = from_namespace(parser.parse_args())         # wfrewrite run, wfrewrite-cwl-runner
    opts = from_namespace(toil_args, prefix="wfrewrite_")   # Toil: --wfrewrite-executor ...
    opts = from_config(lambda key: cfg.get("wfrewrite", key, None))   # miniwdl's [wfrewrite]
    section = to_config(opts)      # {"executor": "podman", "transport": "url", ...}: for miniwdl

Each field's metadata (``Opt``) says its command-line flag, its group, its choices and its help,
so that ``add_arguments`` builds the same options for ``wfrewrite run``, ``wfrewrite-cwl-runner``
and Toil (``--wfrewrite-OPTION``), and miniwdl's config section uses the field names as keys
(also as ``MINIWDL__WFREWRITE__KEY`` variables). The choices (executors, transports, levels)
are defined here and imported everywhere else. An ``Options`` value is never changed once an
executor is built from it; ``dataclasses.replace`` makes another. This module imports nothing
heavy: Toil builds its option parser from it on every command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wfrewrite.compiler.diagnostics import LEVELS, WfError
from wfrewrite.compiler.plan.ir import DEFAULT_IMAGE, LINK_MODES

EXECUTORS: tuple[str, ...] = ("auto", "local", "podman", "docker", "slurm", "tes", "kubernetes")
TRANSPORTS: tuple[str, ...] = ("mounted", "url", "platform")
RESOURCE_POLICIES: tuple[str, ...] = ("deny", "clamp")
SLURM_CONTAINERS: tuple[str, ...] = ("podman", "docker", "none")

# Option groups, in the order --help shows them.
GROUPS = {
    "run": "how tasks run",
    "container": "containers (podman, docker, and inside Slurm jobs)",
    "slurm": "the slurm executor",
    "transport": "transports: how inputs and outputs travel (mounted, url, platform)",
    "tes": "the tes executor (a GA4GH TES server, e.g. Funnel)",
    "kubernetes": "the kubernetes executor",
}


@dataclass(frozen=True, slots=True)
class Opt:
    """How one option is offered: ``--flag`` (or ``flags``), its group, choices and help."""

    help: str
    group: str
    kind: str = "str"  # str | int | bool | path (made absolute) | words (comma-separated)
    choices: tuple[str, ...] | None = None
    flags: tuple[str, ...] = ()  # default: --<name with dashes>
    metavar: str | None = None
    cli: bool = True  # offered on command lines (else set by the engines only)


def _opt(default: Any, help: str, group: str, **kw: Any) -> Any:
    return field(default=default, metadata={"opt": Opt(help, group, **kw)})


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    # -- run
    executor: str = _opt(
        "auto",
        "where tasks run: auto (podman, else docker, else local), local (the host's /bin/sh), "
        "podman, docker, slurm (sbatch), tes (a TES server), kubernetes (a Job per task)",
        "run",
        choices=EXECUTORS,
    )
    default_image: str = _opt(
        DEFAULT_IMAGE,
        f"the image of tasks that declare none (default {DEFAULT_IMAGE})",
        "run",
        flags=("--default-image", "--default-container"),
        metavar="IMAGE",
    )
    unsupported: str = _opt(
        "error",
        "what a feature wfrewrite cannot honour is: error (default), collect (report them all, "
        "then fail), warning, ignore",
        "run",
        choices=LEVELS,
    )
    resources: str = _opt(
        "deny",
        "a task asking for more cpu/memory than the executor has: fail (deny) or run with what "
        "there is (clamp, miniwdl's behaviour)",
        "run",
        choices=RESOURCE_POLICIES,
    )
    # -- container
    link_mode: str | None = _opt(
        None, "how the mounted transport stages inputs", "container", choices=LINK_MODES
    )
    read_only: bool = _opt(False, "a read-only root filesystem", "container", kind="bool")
    user: str | None = _opt(None, "run as this uid[:gid]", "container", metavar="UID[:GID]")
    network: str | None = _opt(
        None, "the network mode (for CWL, of the tools that ask for one)", "container"
    )
    extra_args: tuple[str, ...] = _opt(
        (), "more `run` arguments for the engine, comma-separated", "container", kind="words"
    )
    # -- slurm
    slurm_container: str = _opt(
        "podman",
        "what each Slurm job runs its task with: podman, docker, or none (the node's sh)",
        "slurm",
        choices=SLURM_CONTAINERS,
    )
    # -- transport
    transport: str | None = _opt(
        None,
        "mounted: the task's directory is mounted (local, podman, docker, slurm); url: nothing "
        "is mounted, the script downloads its inputs and uploads its outputs (needs --store); "
        "platform: the platform moves them (tes). Default: the executor's",
        "transport",
        choices=TRANSPORTS,
    )
    store: str | None = _opt(
        None,
        "where objects go: an http(s) prefix taking PUT (WebDAV, nginx), e.g. "
        "http://127.0.0.1:8089/wfr/, or s3://bucket/prefix (presigned with boto3)",
        "transport",
        metavar="URL",
    )
    s3_endpoint: str | None = _opt(
        None, "an S3-compatible endpoint for s3:// stores", "transport", metavar="URL"
    )
    store_ca: str | None = _opt(
        None, "a CA certificate for an https store", "transport", kind="path", metavar="PEM"
    )
    url_expires: int = _opt(
        86400, "seconds the presigned URLs live", "transport", kind="int", metavar="SECONDS"
    )
    url_parallel: int = _opt(4, "transfers at a time", "transport", kind="int", metavar="N")
    url_retries: int = _opt(5, "attempts per transfer", "transport", kind="int", metavar="N")
    url_backoff_ms: int = _opt(
        1000, "first backoff between attempts (doubled each time)", "transport", kind="int"
    )
    url_stall: int = _opt(
        60,
        "seconds without progress before a transfer is abandoned",
        "transport",
        kind="int",
        metavar="SECONDS",
    )

    # -- tes
    tes_url: str | None = _opt(
        None,
        "the TES server, e.g. http://127.0.0.1:8000 (its /ga4gh/tes/v1/ API)",
        "tes",
        metavar="URL",
    )
    tes_split: bool = _opt(
        False,
        "run prologue, command and epilogue as three executors in a row, so that the task's "
        "own image needs no shell for an argv command",
        "tes",
        kind="bool",
    )
    # -- kubernetes
    kubeconfig: str | None = _opt(
        None, "the kubeconfig (default: $KUBECONFIG, ~/.kube/config)", "kubernetes", kind="path"
    )
    namespace: str | None = _opt(
        None, "the namespace of the Jobs (default: the kubeconfig's, else default)", "kubernetes"
    )
    k8s_host_network: bool = _opt(
        False,
        "run the pods in the node's network (stores on the node's loopback, as in the test bed)",
        "kubernetes",
        kind="bool",
    )
    k8s_pvc: str | None = _opt(
        None,
        "mounted transport: the PersistentVolumeClaim holding the task directories (shared "
        "storage at the same path on this machine)",
        "kubernetes",
        metavar="CLAIM",
    )
    k8s_host_path: str | None = _opt(
        None,
        "mounted transport on one node: the task directories are under this host directory",
        "kubernetes",
        kind="path",
        metavar="DIR",
    )
    k8s_preemptible: str | None = _opt(
        None,
        "where preemptible tasks go: a node label KEY=VALUE (a node selector and a toleration "
        "of the same key)",
        "kubernetes",
        metavar="KEY=VALUE",
    )
    k8s_resubmits: int = _opt(
        2,
        "times a task whose pod was evicted or lost its node is submitted again (not counted as "
        "the task's retries)",
        "kubernetes",
        kind="int",
        metavar="N",
    )
    auto_local: bool = _opt(
        True,
        "let `--executor auto` fall back to local where no container engine answers (Toil "
        "--no-appliance says no: a task that cannot get its image fails by name)",
        "run",
        kind="bool",
        cli=False,
    )
    # -- what a run's leftovers are found by
    run_label: str | None = _opt(
        None,
        "the label of everything this run starts (containers, Slurm jobs, TES tasks, Jobs), "
        "for `wfrewrite cleanup` (default: made from the run directory or job store)",
        "run",
        metavar="LABEL",
    )

    def validate(self) -> Options:
        """Self, or a WfError naming what does not fit together."""
        if self.transport == "url" and not self.store:
            raise WfError(
                "the url transport needs a store (--store / [wfrewrite] store: an http(s) PUT "
                "prefix or s3://bucket/prefix)"
            )
        if self.store and not self.store.startswith(("http://", "https://", "s3://", "file://")):
            raise WfError(
                f"--store {self.store!r}: give an http(s):// prefix (WebDAV, nginx PUT), "
                "s3://bucket/prefix or file:///shared/dir"
            )
        if self.executor == "tes" and not self.tes_url:
            raise WfError("the tes executor needs a server (--tes-url http://host:8000)")
        if self.k8s_pvc and self.k8s_host_path:
            raise WfError("give --k8s-pvc or --k8s-host-path, not both")
        if self.k8s_preemptible and "=" not in self.k8s_preemptible:
            raise WfError(
                f"--k8s-preemptible {self.k8s_preemptible!r}: give a node label KEY=VALUE"
            )
        return self


def _fields() -> list[tuple[dataclasses.Field[Any], Opt]]:
    return [(f, f.metadata["opt"]) for f in dataclasses.fields(Options)]


def flags_of(name: str, opt: Opt, prefix: str = "") -> list[str]:
    """The command-line flags of a field (``prefix``: "wfrewrite-" for Toil)."""
    flags = opt.flags or ("--" + name.replace("_", "-"),)
    return ["--" + prefix + f[2:] for f in flags]


def add_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    groups: tuple[str, ...] | None = None,
    *,
    prefix: str = "",
    only: tuple[str, ...] | None = None,
    action: type[argparse.Action] | None = None,
) -> None:
    """Add the options of ``groups`` (all by default) to ``parser``, each in its group. With a
    ``prefix`` (Toil), flags read ``--<prefix><flag>`` and destinations ``<prefix>_<name>``;
    ``only`` limits them to those fields; ``action`` records each value as it is parsed
    (Toil's hook)."""
    made: dict[str, Any] = {}
    dest_prefix = prefix.replace("-", "_")
    for f, opt in _fields():
        if (groups is not None and opt.group not in groups) or (only and f.name not in only):
            continue
        if not opt.cli:
            continue
        if opt.group not in made:
            made[opt.group] = (
                parser.add_argument_group(GROUPS[opt.group])
                if isinstance(parser, argparse.ArgumentParser)
                else parser
            )
        kw: dict[str, Any] = {"dest": dest_prefix + f.name, "help": opt.help}
        if opt.kind == "bool":
            kw.update(nargs=0 if action else None, default=None if prefix else False)
            if not action:
                kw["action"] = "store_true"
                kw.pop("nargs")
        else:
            kw.update(default=None, metavar=opt.metavar)
            if opt.choices:
                kw["choices"] = opt.choices
            if opt.kind == "int":
                kw["type"] = int
        if action is not None:
            kw["action"] = action
        made[opt.group].add_argument(*flags_of(f.name, opt, prefix), **kw)


def _coerce(f: dataclasses.Field[Any], opt: Opt, value: Any) -> Any:
    """A value from argparse or a config string, as the field's type (None: the default)."""
    if value is None or (isinstance(value, str) and value == "" and opt.kind != "str"):
        return f.default
    if opt.kind == "bool":
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "yes", "on")
    if opt.kind == "int":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise WfError(f"option {f.name}: {value!r} is not a number") from None
    if opt.kind == "words":
        if isinstance(value, (list, tuple)):
            return tuple(str(v) for v in value)
        return tuple(w for w in str(value).split(",") if w)
    text = str(value)
    if text == "" and f.default is None:
        return None
    if opt.choices and text not in opt.choices:
        raise WfError(f"option {f.name}: {text!r} is not one of {', '.join(opt.choices)}")
    if opt.kind == "path":
        return os.path.abspath(text)
    return text


def from_namespace(ns: argparse.Namespace, prefix: str = "", **overrides: Any) -> Options:
    """Options from parsed arguments (those the parser did not have keep their defaults)."""
    values: dict[str, Any] = {}
    dest_prefix = prefix.replace("-", "_")
    for f, opt in _fields():
        raw = getattr(ns, dest_prefix + f.name, None)
        values[f.name] = _coerce(f, opt, raw)
    values.update(overrides)
    return Options(**values).validate()


def from_config(get: Callable[[str], Any], **overrides: Any) -> Options:
    """Options from a config section (``get(key)`` gives a string, or None where not set)."""
    values = {f.name: _coerce(f, opt, get(f.name)) for f, opt in _fields()}
    values.update(overrides)
    return Options(**values).validate()


def to_config(options: Options) -> dict[str, str]:
    """The options as a config section of strings (``from_config`` reads it back)."""
    out: dict[str, str] = {}
    for f, opt in _fields():
        value = getattr(options, f.name)
        if value is None:
            out[f.name] = ""
        elif opt.kind == "bool":
            out[f.name] = "true" if value else "false"
        elif opt.kind == "words":
            out[f.name] = ",".join(value)
        else:
            out[f.name] = str(value)
    return out


def to_argv(options: Options, prefix: str = "") -> list[str]:
    """The options as command-line arguments (those that differ from the defaults)."""
    out: list[str] = []
    for f, opt in _fields():
        value = getattr(options, f.name)
        if value == f.default or not opt.cli:
            continue
        flag = flags_of(f.name, opt, prefix)[0]
        if opt.kind == "bool":
            out.append(flag)
        elif opt.kind == "words":
            out += [flag, ",".join(value)]
        else:
            out += [flag, str(value)]
    return out


def from_mapping(values: Mapping[str, Any]) -> Options:
    """Options from a mapping of field names (a pickled settings dict, a test)."""
    return from_config(values.get)
