"""WDL documents and inputs, read by miniwdl.

    doc = load("hello.wdl")                             # parsed and type-checked (1.0-1.2)
    task, env = read_inputs(doc, None, "inputs.json")   # the lone task (or --task), its inputs

Every miniwdl error becomes a ``SourceError``/``InputError`` carrying the source position.
"""

from __future__ import annotations

import functools
import json
import os
import re
from typing import Any

import WDL
from WDL import Env, Error, Tree, Value

from ..cache import private_dir
from ..diagnostics import InputError, Pos, SourceError, Unsupported, WfError
from ..jsonyaml import yaml_flow
from .kept import keep, kept
from .lower import pos_of

# miniwdl's task-evaluation steps are internal API; they are used from this one module, for the
# versions this release was tested with.
SUPPORTED_MINIWDL = ("1.15.", "1.16.")


@functools.cache
def miniwdl_version() -> str:
    """miniwdl's version, looked up once: from the module its build writes, else from the
    installed packages' metadata (~10 ms a lookup)."""
    try:
        from WDL._version import __version__

        return str(__version__)
    except ImportError:
        import importlib.metadata

        return importlib.metadata.version("miniwdl")


def supported_miniwdl() -> bool:
    """Whether this miniwdl is one whose internals wfrewrite was tested with."""
    return miniwdl_version().startswith(SUPPORTED_MINIWDL)


def check_miniwdl_version() -> None:
    found = miniwdl_version()
    if not found.startswith(SUPPORTED_MINIWDL) and not os.environ.get("WFREWRITE_ANY_MINIWDL"):
        raise WfError(
            f"wfrewrite supports miniwdl {', '.join(v + 'x' for v in SUPPORTED_MINIWDL)}, "
            f"found {found} (set WFREWRITE_ANY_MINIWDL=1 to try anyway)"
        )


def source_pos(p: Any) -> Pos | None:
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
        cache_dir = private_dir()
        if not cache_dir:
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
    """Parse and type-check a WDL document; errors carry ``file:line:col``. A document this
    user's processes loaded before, unchanged and its imports too, comes from the cache
    (``kept``)."""
    doc = kept(uri)
    if doc is not None:
        return doc
    if supported_miniwdl():
        _warm_parser(uri)
    try:
        doc = WDL.load(uri, check_quant=True)
    except Error.MultipleValidationErrors as multi:
        errs = sorted(
            multi.exceptions, key=lambda e: (e.pos.line, e.pos.column) if e.pos else (0, 0)
        )
        first = errs[0]
        more = "".join(f"\n{source_pos(e.pos) and _loc(e.pos)}error: {e}" for e in errs[1:])
        raise SourceError(f"{first}{more}", source_pos(first.pos)) from None
    except (Error.SyntaxError, Error.ValidationError) as exn:
        raise SourceError(str(exn).split("\n")[0], source_pos(getattr(exn, "pos", None))) from None
    except Error.ImportError as exn:
        raise SourceError(str(exn), source_pos(getattr(exn, "pos", None))) from None
    except FileNotFoundError as exn:
        raise InputError(f"cannot read {uri}: {exn.strerror}") from None
    keep(uri, doc)
    return doc


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

    _read_parsed_json()
    try:
        tgt, env, _ = WDL.CLI.runner_input(
            doc,
            [],
            exact_json(inputs),
            [],
            [],
            task=task_name,
            root="/",
            downloadable=_downloadable_uri,
        )
    except Error.InputError as exn:
        raise InputError(str(exn).replace("\n", " "), None) from None
    except Error.RuntimeError as exn:
        raise InputError(str(exn), None) from None
    except FileNotFoundError as exn:
        raise InputError(f"cannot read inputs {inputs}: {exn.strerror}") from None
    return tgt, env


class ParsedJson(str):
    """Inputs JSON parsed here (``data``), as YAML flow text (the text miniwdl reads back
    exactly) for a miniwdl whose reading of it this release does not shortcut."""

    data: dict[str, Any]


def exact_json(inputs: str | None) -> str | None:
    """``inputs`` (a file, or JSON text) as text miniwdl's YAML parser reads exactly: JSON is
    parsed here and handed on as YAML flow text (``wfrewrite.compiler.jsonyaml``: astral
    characters, NELs and long Map keys kept as they are), a ``ParsedJson`` that also holds what
    was parsed; anything else (YAML, a URL, a file that cannot be read) goes on as it is, for
    miniwdl's own reading and errors."""
    if not inputs or inputs.strip() == "-":
        return inputs
    text = inputs
    if not inputs.lstrip().startswith("{"):
        try:
            with open(inputs, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError):
            return inputs
    try:
        data = json.loads(text)
    except ValueError:
        return inputs
    if not isinstance(data, dict):
        return inputs
    parsed = ParsedJson(yaml_flow(data))
    parsed.data = data
    return parsed


def _read_parsed_json() -> None:
    """miniwdl reads an inputs file with ruamel's pure-Python YAML parser, whose import alone
    is ~30 ms of every `wfrewrite run -i`; JSON that ``exact_json`` parsed already (a
    ``ParsedJson``) is not parsed again. Its ``runner_input_json_file`` is wrapped, once and for
    the miniwdl versions this release supports: for a ``ParsedJson`` it does what miniwdl does
    with the object its parser returns (``values_from_json``, then each path checked by
    ``validate_input_path``, with miniwdl's messages); any other input goes to miniwdl's own."""
    import WDL.CLI

    original = WDL.CLI.runner_input_json_file
    if getattr(original, "_wfrewrite_parsed", False) or not supported_miniwdl():
        return

    def runner_input_json_file(
        available_inputs: Any, namespace: str, input_file: Any, downloadable: Any, root: str
    ) -> Env.Bindings[Value.Base]:
        if not isinstance(input_file, ParsedJson):
            return original(available_inputs, namespace, input_file, downloadable, root)
        try:
            env = WDL.values_from_json(input_file.data, available_inputs, namespace=namespace)
        except Error.InputError as exn:
            raise Error.InputError("check JSON input; " + exn.args[0]) from None
        return Value.rewrite_env_paths(
            env,
            lambda v: WDL.CLI.validate_input_path(
                v.value, isinstance(v, Value.Directory), downloadable, root
            ),
        )

    runner_input_json_file._wfrewrite_parsed = True  # type: ignore[attr-defined]
    WDL.CLI.runner_input_json_file = runner_input_json_file


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
