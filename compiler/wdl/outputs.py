"""Capture rules for a WDL task's outputs, found by evaluating the output section *statically*.

    output {
      File counts = "~{prefix}.counts"          ->  Capture(kind="path", pattern="sample.counts")
      Array[File] parts = glob("part-*.txt")    ->  Capture(kind="glob", pattern="part-*.txt")
      Int n = read_int(stdout())                 ->  Capture(kind="stdout")
      File chosen = read_string("which.txt")     ->  Capture(kind="path", pattern="which.txt",
                                                               required=False),
                                                      Capture(kind="tree", pattern=".")
    }

Each output expression is evaluated by miniwdl against the inputs with a standard library in which
``glob()``, ``stdout()`` and ``stderr()`` return markers and every file read raises. What comes
out names the files to capture; what cannot be known before the command runs (a path read from
a file) falls back to capturing the whole work dir (``tree``). The script then finds exactly
these files, and miniwdl evaluates the real output section host-side against them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from WDL import Env, Expr, StdLib, Tree, Type, Value

from ..plan.ir import Capture

INPUTS_DIR = "_miniwdl_inputs"  # where miniwdl maps input files, under the work dir

_GLOB = "\x00glob\x00"
_STREAM = "\x00stream\x00"


class _NotStatic(Exception):
    """The expression needs something only the finished command can provide."""


class StaticStdLib(StdLib.Base):
    """miniwdl's standard library minus every function that touches a file."""

    def __init__(self, wdl_version: str, globs: list[str], streams: list[str]) -> None:
        super().__init__(wdl_version, write_dir="/nonexistent")

        def _glob(pattern: Value.String) -> Value.Array:
            globs.append(pattern.coerce(Type.String()).value)
            return Value.Array(Type.File(), [Value.File(_GLOB + str(len(globs) - 1))])

        def _stream(name: str) -> StdLib.StaticFunction:
            def f() -> Value.File:
                streams.append(name)
                return Value.File(_STREAM + name)

            return StdLib.StaticFunction(name, [], Type.File(), f)

        self.glob = StdLib.StaticFunction("glob", [Type.String()], Type.Array(Type.File()), _glob)
        self.stdout = _stream("stdout")
        self.stderr = _stream("stderr")

    def _devirtualize_filename(self, filename: str) -> str:
        raise _NotStatic(filename)

    def _virtualize_filename(self, filename: str) -> str:
        raise _NotStatic(filename)

    def _resolve_source_relative_path(self, filename: str) -> str:
        raise _NotStatic(filename)


def static_env(
    task: Tree.Task,
    inputs: Env.Bindings[Value.Base] | None,
    extra: dict[str, Value.Base] | None = None,
) -> Env.Bindings[Value.Base]:
    """The task's inputs plus every declaration that evaluates without touching a file (used
    where miniwdl's own evaluated environment is not at hand). With ``inputs=None`` (the caller's
    values are unknown) no input declaration is bound, not even to its default: an expression
    that needs one is not static."""
    env: Env.Bindings[Value.Base] = inputs if inputs is not None else Env.Bindings()
    for name, value in (extra or {}).items():
        env = env.bind(name, value)
    candidates = (task.inputs or []) + task.postinputs if inputs is not None else task.postinputs
    for decl in candidates:  # an optional input the caller left out is None
        if decl.expr is None and decl.type.optional and not env.has_binding(decl.name):
            env = env.bind(decl.name, Value.Null())
    decls = [d for d in candidates if d.expr is not None and not env.has_binding(d.name)]
    lib = StaticStdLib(task.effective_wdl_version, [], [])
    progress = True
    while decls and progress:
        progress = False
        for decl in list(decls):
            assert decl.expr is not None
            try:
                v = decl.expr.eval(env, lib).coerce(decl.type)
            except Exception:
                continue
            env = env.bind(decl.name, v)
            decls.remove(decl)
            progress = True
    return env


def _paths(v: Value.Base) -> Iterator[tuple[str, bool]]:
    """(path, is_directory) for every File/Directory inside a value."""
    if isinstance(v, Value.File):
        yield v.value, False
    elif isinstance(v, Value.Directory):
        yield v.value, True
    for child in v.children:
        yield from _paths(child)


def _has_path_type(ty: Type.Base) -> bool:
    if isinstance(ty, (Type.File, Type.Directory)):
        return True
    if isinstance(ty, Type.StructInstance):
        return any(_has_path_type(t) for t in (ty.members or {}).values())
    return any(_has_path_type(p) for p in ty.parameters)


def _file_args(expr: Expr.Base) -> Iterator[Expr.Base]:
    """Arguments of read_*()/size() calls: files the output section reads host-side."""
    if (
        isinstance(expr, Expr.Apply)
        and (expr.function_name.startswith("read_") or expr.function_name == "size")
        and expr.arguments
    ):
        yield expr.arguments[0]
    for child in expr.children:
        if isinstance(child, Expr.Base):
            yield from _file_args(child)


def captures(
    task: Tree.Task, env: Env.Bindings[Value.Base], container_dir: str, input_paths: set[str]
) -> tuple[Capture, ...]:
    """Capture rules for every output of ``task``; ``env`` binds the inputs (container paths)."""
    version = task.effective_wdl_version
    work = posixpath.join(container_dir, "work")
    rules: list[Capture] = []
    seen: set[tuple[str, str, str]] = set()

    def add(cap: Capture) -> None:
        key = (cap.output, cap.kind, cap.pattern)
        if key not in seen:
            seen.add(key)
            rules.append(cap)

    def rel(path: str) -> str | None:
        """Work-relative pattern for a path, or None for inputs and paths outside the work dir."""
        path = path.rstrip("/")
        if path.startswith((_GLOB, _STREAM)):
            return None
        if posixpath.isabs(path):
            if path in input_paths or path.startswith(posixpath.join(work, INPUTS_DIR) + "/"):
                return None
            if not path.startswith(work + "/"):
                return None
            path = path[len(work) + 1 :]
        path = posixpath.normpath(path)
        return None if path.startswith("..") or path == "." else path

    out_env = env
    for decl in task.outputs:
        assert decl.expr is not None  # output declarations always have one
        globs: list[str] = []
        streams: list[str] = []
        lib = StaticStdLib(version, globs, streams)
        value: Value.Base | None
        try:
            value = decl.expr.eval(out_env, stdlib=lib)
            if _has_path_type(decl.type):
                value = value.coerce(decl.type)
        except Exception:
            value = None
        for pattern in globs:
            add(Capture(output=decl.name, kind="glob", pattern=pattern, required=False))
        for stream in streams:
            add(Capture(output=decl.name, kind=stream))  # type: ignore[arg-type]
        if value is not None:
            out_env = out_env.bind(decl.name, value)
            required = not decl.type.optional
            for path, is_dir in _paths(value):
                found = rel(path)
                if found is not None:
                    add(
                        Capture(
                            output=decl.name,
                            kind="directory" if is_dir else "path",
                            pattern=found,
                            required=required and not _under_optional(decl.type),
                        )
                    )
            continue
        # Not static: capture what it reads, and where it may name a file, the whole work dir.
        globs_static = StaticStdLib(version, [], [])
        for arg in _file_args(decl.expr):
            try:
                fv = arg.eval(out_env, stdlib=globs_static)
            except Exception:
                continue
            for path, is_dir in _paths(
                fv.coerce(Type.File()) if isinstance(fv, Value.String) else fv
            ):
                found = rel(path)
                if found is not None:
                    add(
                        Capture(
                            output=decl.name,
                            kind="directory" if is_dir else "path",
                            pattern=found,
                            required=False,
                        )
                    )
        if _has_path_type(decl.type) or not _reads_only_known(decl.expr, out_env, version):
            add(
                Capture(
                    output=decl.name, kind="tree", pattern=".", required=False, exclude=INPUTS_DIR
                )
            )
    return tuple(rules)


def _under_optional(ty: Type.Base) -> bool:
    """True if some File inside the type may legitimately be missing (an optional member)."""
    if ty.optional:
        return True
    return any(_under_optional(p) for p in ty.parameters)


def _reads_only_known(expr: Expr.Base, env: Env.Bindings[Value.Base], version: str) -> bool:
    """True if every file the expression reads has a static name (so no tree capture is needed)."""
    lib = StaticStdLib(version, [], [])
    for arg in _file_args(expr):
        try:
            arg.eval(env, stdlib=lib)
        except Exception:
            return False
    return True
