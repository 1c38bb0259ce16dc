"""The WDL front end: source + inputs -> TaskPlan, with miniwdl doing all the WDL work.

    $ wfrewrite compile hello.wdl -i inputs.json -o out/
    doc   = load("hello.wdl")                     # miniwdl parses and type-checks (1.0, 1.1, 1.2)
    task  = target(doc, None)                     # the lone task, or --task NAME
    env   = read_inputs(doc, task, "inputs.json") # miniwdl's JSON input rules
    plan  = compile_task(task, env, root="/mnt/wfr")

``compile_task`` runs miniwdl's own evaluation steps (inputs and private declarations, the
runtime section, ``task.*``, the command) against a ``PlanningContainer`` and lowers the result.
Every miniwdl error becomes a ``SourceError``/``InputError`` carrying the source position.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import WDL
from WDL import Env, Error, Tree, Value
from WDL.runtime import config as wdl_config

from .diagnostics import InputError, SourceError, Unsupported, WfError
from .plan import CONTAINER_ROOT, Pos, TaskPlan
from .wdl_lower import PlanningContainer, pos_of

# miniwdl's task-evaluation steps are internal API; they are used from this one module, for the
# versions this release was tested with.
SUPPORTED_MINIWDL = ("1.15.", "1.16.")


def _check_version() -> None:
    found = importlib.metadata.version("miniwdl")
    if not found.startswith(SUPPORTED_MINIWDL) and not os.environ.get("WFREWRITE_ANY_MINIWDL"):
        raise WfError(
            f"wfrewrite supports miniwdl {', '.join(v + 'x' for v in SUPPORTED_MINIWDL)}, "
            f"found {found} (set WFREWRITE_ANY_MINIWDL=1 to try anyway)"
        )


def _pos(p: Any) -> Pos | None:
    if p is None:
        return None
    return Pos(uri=getattr(p, "abspath", None) or p.uri, line=p.line, column=p.column)


def _warm_parser(uri: str) -> None:
    """Give miniwdl a parser whose LALR tables come from a file cache.

    miniwdl builds lark's LALR tables afresh in every process (0.2-0.5 s, most of a small run's
    startup); lark can keep them in a file. This fills miniwdl's own memo (``_parser._lark_cache``,
    same construction arguments plus ``cache=``) for the document's version. Any failure leaves
    miniwdl to build the parser as usual.
    """
    try:
        import hashlib

        import lark
        from WDL import _grammar, _parser

        with open(uri, encoding="utf-8") as f:
            head = f.read(4096)
        version = "draft-2"
        for line in head.split("\n"):
            line = line.strip()
            if line and line[0] != "#":
                if line.startswith("version "):
                    version = line[8:]
                break
        grammar, _ = _grammar.get(version)
        key = (grammar, "document")
        cache_dir = os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "wfrewrite"
        )
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        if os.stat(cache_dir).st_uid != os.getuid():
            return
        digest = hashlib.sha256(f"{lark.__version__}\0{grammar}".encode()).hexdigest()[:24]
        with _parser._lark_lock:
            if key not in _parser._lark_cache:
                _parser._lark_cache[key] = lark.Lark(
                    grammar,
                    start="document",
                    parser="lalr",
                    maybe_placeholders=False,
                    propagate_positions=True,
                    lexer_callbacks={"COMMENT": _parser._lark_comments_buffer.append},
                    cache=os.path.join(cache_dir, f"lark-{digest}.pickle"),
                )
    except Exception:  # an optimisation only
        return


def load(uri: str) -> Tree.Document:
    """Parse and type-check a WDL document; errors carry ``file:line:col``."""
    if importlib.metadata.version("miniwdl").startswith(SUPPORTED_MINIWDL):
        _warm_parser(uri)
    try:
        return WDL.load(uri, check_quant=True)
    except Error.MultipleValidationErrors as multi:
        errs = sorted(
            multi.exceptions, key=lambda e: (e.pos.line, e.pos.column) if e.pos else (0, 0)
        )
        first = errs[0]
        more = "".join(f"\n{_pos(e.pos) and _loc(e.pos)}error: {e}" for e in errs[1:])
        raise SourceError(f"{first}{more}", _pos(first.pos)) from None
    except (Error.SyntaxError, Error.ValidationError) as exn:
        raise SourceError(str(exn).split("\n")[0], _pos(getattr(exn, "pos", None))) from None
    except Error.ImportError as exn:
        raise SourceError(str(exn), _pos(getattr(exn, "pos", None))) from None
    except FileNotFoundError as exn:
        raise InputError(f"cannot read {uri}: {exn.strerror}") from None


def _loc(p: Any) -> str:
    return f"{p.abspath or p.uri}:{p.line}:{p.column}: "


def target(doc: Tree.Document, task_name: str | None) -> Tree.Task | Tree.Workflow:
    """--task NAME, else the workflow, else the lone task (miniwdl's rule)."""
    try:
        return WDL.CLI.runner_exe(doc, task_name)
    except Error.InputError as exn:
        raise InputError(str(exn), pos_of(doc)) from None


def read_inputs(
    doc: Tree.Document, task_name: str | None, inputs: str | None
) -> tuple[Any, Env.Bindings[Value.Base]]:
    """Inputs from a JSON file (or JSON text), with or without the ``task.`` prefix, as miniwdl
    reads them: relative paths resolve against the current directory and must exist."""
    import WDL.CLI

    try:
        tgt, env, _ = WDL.CLI.runner_input(
            doc, [], inputs, [], [], task=task_name, root="/", downloadable=_downloadable_uri
        )
    except Error.InputError as exn:
        raise InputError(str(exn).replace("\n", " "), None) from None
    except Error.RuntimeError as exn:
        raise InputError(str(exn), None) from None
    except FileNotFoundError as exn:
        raise InputError(f"cannot read inputs {inputs}: {exn.strerror}") from None
    return tgt, env


def _downloadable_uri(uri: str, directory: bool) -> bool:
    return bool(re.match(r"^(https?|s3|gs)://", uri))


def check_hints_section(task: Tree.Task, unsupported: Unsupported) -> None:
    """miniwdl 1.15 discards WDL 1.2 ``hints {}``; say so rather than drop them silently."""
    try:
        with open(task.pos.abspath, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return
    for i in range(task.pos.line - 1, min(task.pos.end_line, len(lines))):
        m = re.match(r"\s*hints\s*\{", lines[i])
        if m:
            unsupported.report(
                Pos(uri=task.pos.abspath, line=i + 1, column=lines[i].index("hints") + 1),
                "the hints {} section",
                "miniwdl discards it; its keys are ignored",
                hint=True,
            )


# miniwdl's own default image would hide "no image declared" from the plan; wfrewrite's
# executors bind their default (--default-image) instead.
MINIWDL_OVERRIDES: dict[str, dict[str, Any]] = {
    "scheduler": {"container_backend": "wfrewrite"},
    "task_runtime": {"defaults": {}},
    # wfrewrite is the only container backend `wfrewrite run` uses: don't import the others
    # (miniwdl loads every enabled one; its Docker backend alone costs ~0.1 s of imports).
    "plugins": {"disable_patterns": ["miniwdl_task_omnibus_example:*", "WDL.runtime.backend.*"]},
}


def cache_plugin_lookups() -> None:
    """miniwdl looks its plugins up in the installed packages' entry points for every task
    (~7 ms each with Toil's dependencies installed); within one `wfrewrite run` the answer never
    changes, so keep it. Only for the miniwdl versions this release supports."""
    if not importlib.metadata.version("miniwdl").startswith(SUPPORTED_MINIWDL):
        return
    from WDL.runtime import config as cfg_module

    original = cfg_module.load_all_plugins
    if getattr(original, "_wfrewrite_cached", False):
        return
    cache: dict[tuple[str, str, str], list[Any]] = {}

    def load_all_plugins(cfg: Any, group: str) -> Any:
        key = (group, cfg["plugins"]["enable_patterns"], cfg["plugins"]["disable_patterns"])
        if key not in cache:
            cache[key] = list(original(cfg, group))
        return iter(cache[key])

    load_all_plugins._wfrewrite_cached = True  # type: ignore[attr-defined]
    cfg_module.load_all_plugins = load_all_plugins


def miniwdl_config(
    logger: logging.Logger, overrides: dict[str, dict[str, Any]] | None = None
) -> wdl_config.Loader:
    cfg = wdl_config.Loader(logger)
    base: dict[str, dict[str, Any]] = dict(MINIWDL_OVERRIDES)
    for section, values in (overrides or {}).items():
        base.setdefault(section, {}).update(values)
    cfg.override(base)
    return cfg


@contextmanager
def _miniwdl_errors() -> Iterator[None]:
    try:
        yield
    except Error.EvalError as exn:
        raise SourceError(str(exn), _pos(exn.pos)) from None
    except (Error.InputError, Error.RuntimeError) as exn:
        raise InputError(str(exn), _pos(getattr(exn, "pos", None))) from None


def compile_task(
    task: Tree.Task,
    inputs: Env.Bindings[Value.Base],
    *,
    root: str = CONTAINER_ROOT,
    cfg: wdl_config.Loader | None = None,
    unsupported: Unsupported | None = None,
) -> TaskPlan:
    """Evaluate ``task`` with ``inputs`` exactly as miniwdl would before running it, and lower."""
    _check_version()
    from WDL._util import WDLVersion, wdl_version_geq
    from WDL.runtime import task as wdl_task

    logger = logging.getLogger("wfrewrite.wdl")
    cfg = cfg or miniwdl_config(logger)
    with tempfile.TemporaryDirectory(prefix="wfrewrite-compile-") as host_dir, _miniwdl_errors():
        container = PlanningContainer(cfg, task.name, host_dir, container_dir=root)
        if unsupported is not None:
            container.unsupported = unsupported
        container.wf_inline_all = True
        container.attach(task, inputs)
        check_hints_section(task, container.unsupported)
        cache_paths = wdl_task.CallCacheAddPaths()
        env = wdl_task._eval_task_inputs(logger, task, inputs, container, cache_paths)
        stdlib = wdl_task.TaskInputStdLib(
            task.effective_wdl_version,
            logger,
            container,
            source_dir=task.source_dir,
            cache_add_paths=cache_paths,
        )
        wdl_task._eval_task_runtime(cfg, logger, task.name, task, inputs, container, env, stdlib)
        if wdl_version_geq(task.effective_wdl_version, WDLVersion.V1_2):
            container.build_task_runtime_info_struct(logger, task.name, task)
            assert container.task_runtime_info_struct is not None
            env = env.bind("task", container.task_runtime_info_struct)
        command = wdl_task._eval_task_command(
            cfg, task, logger, container, env, attempt=0, cache_add_paths=cache_paths
        )
        container.attach(task, inputs, env)
        return container.lower(command)
