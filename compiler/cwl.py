"""The CWL front end: tool + job -> TaskPlan, with cwltool doing all the CWL work.

    $ wfrewrite compile cat.cwl -i job.yml -o out/
    ctx   = loading_context()
    job   = read_job("job.yml", "cat.cwl", ctx)   # cwltool's job loading: $import, literals...
    tool  = load("cat.cwl", ctx)                   # schema-salad validation, v1.0-v1.2, $graph, #id
    order = bind_job(tool, job)                    # defaults, sizes, formats (cwltool's init)
    plan  = compile_tool(tool, order, job.basedir, root="/mnt/wfr")

``compile_tool`` lets cwltool build the job (``CommandLineTool.job``) against container paths
under ``root`` and lowers it (``cwl_lower``). Every cwltool/schema-salad error becomes a
``SourceError``/``InputError`` carrying the document position schema-salad recorded, and a
feature wfrewrite does not implement goes through ``Unsupported`` (the runner exits 33).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cwltool.context import LoadingContext
from cwltool.errors import UnsupportedRequirement, WorkflowException
from cwltool.load_tool import default_loader, load_tool, resolve_tool_uri
from cwltool.process import Process
from cwltool.resolver import tool_resolver
from cwltool.stdfsaccess import StdFsAccess
from schema_salad.exceptions import SchemaSaladException
from schema_salad.ref_resolver import uri_file_path

from .cwl_lower import (
    Placement,
    PlanningJob,
    WfRuntimeContext,
    make_tool,
    pos_of,
)
from .diagnostics import InputError, SourceError, Unsupported, UnsupportedError, WfError
from .plan import Pos, TaskPlan

CONTAINER_ROOT = "/mnt/wfr"
JOB_REQUIREMENTS = "https://w3id.org/cwl/cwl#requirements"
log = logging.getLogger("wfrewrite.cwl")

# Requirements cwltool accepts that wfrewrite cannot honour (an error in ``requirements``, a
# warning in ``hints``). DockerRequirement is checked field by field.
UNSUPPORTED = {
    "InplaceUpdateRequirement": "outputs that update their inputs in place",
    "SoftwareRequirement": "software packages are not resolved; use an image that has them",
    "http://commonwl.org/cwltool#MPIRequirement": "MPI launchers",
    "http://commonwl.org/cwltool#CUDARequirement": "GPUs",
    "http://commonwl.org/cwltool#Secrets": "secret inputs would be written into the script",
    "http://commonwl.org/cwltool#ShmSize": "the size of /dev/shm",
}


def loading_context(*, relax_path_checks: bool = True) -> LoadingContext:
    """cwltool's LoadingContext as its own command line sets it up, with wfrewrite's tools."""
    ctx = LoadingContext()
    ctx.loader = default_loader(None, enable_dev=False, doc_cache=True)
    ctx.construct_tool_object = make_tool
    ctx.resolver = tool_resolver
    ctx.do_update = True
    ctx.relax_path_checks = relax_path_checks
    return ctx


@dataclass
class Job:
    """A job object as cwltool loaded it (not yet bound to a tool) and its base directory."""

    order: Any
    basedir: str
    loader: Any


def read_job(job_path: str | None, tool_path: str, ctx: LoadingContext) -> Job:
    """The job file as ``cwltool`` reads it (``$import``, ``$include``, relative locations,
    ``cwltool:overrides``); no file means no inputs."""
    from cwltool.main import load_job_order

    if not os.path.exists(tool_path.split("#")[0]):
        raise InputError(f"cannot read {tool_path.split('#')[0]}: no such file")
    if job_path and not os.path.exists(job_path):
        raise InputError(f"cannot read the job {job_path}: no such file")
    args = argparse.Namespace(job_order=[job_path] if job_path else [], basedir=None)
    _, tool_file_uri = resolve_tool_uri(tool_path, resolver=ctx.resolver)
    with cwl_errors(job_path or tool_path, InputError):
        order, basedir, loader = load_job_order(
            args, io.StringIO(), None, ctx.overrides_list, tool_file_uri
        )
    return Job(order=order, basedir=basedir, loader=loader)


def load(tool_path: str, ctx: LoadingContext | None = None) -> Process:
    """Load and validate a CWL document (v1.0, v1.1, v1.2; ``$graph`` files; ``file#id``)."""
    base = tool_path.split("#")[0]
    if not os.path.exists(base):
        raise InputError(f"cannot read {base}: no such file")
    with cwl_errors(base, SourceError):
        return load_tool(tool_path, ctx or loading_context())


def bind_job(tool: Process, job: Job, tool_path: str) -> Any:
    """cwltool's ``init_job_order``: defaults, ``path`` to ``location``, sizes, formats."""
    from cwltool.main import init_job_order

    args = argparse.Namespace(workflow=tool_path, tool_help=False, job_order=[])
    with cwl_errors(tool_path, InputError):
        return init_job_order(
            job.order if job.order is not None else {},
            args,
            tool,
            job.loader,
            io.StringIO(),
            make_fs_access=StdFsAccess,
            input_basedir=job.basedir,
        )


def check_requirements(tool: Process, unsupported: Unsupported) -> None:
    """Report what wfrewrite cannot honour in the tool's requirements and hints, by name."""
    for reqs, is_hint in ((tool.requirements, False), (tool.hints, True)):
        for req in reqs:
            cls = str(req.get("class", ""))
            where = pos_of(req) or pos_of(tool.tool)
            short = cls.rsplit("#", 1)[-1]
            if cls == "DockerRequirement":
                if not req.get("dockerPull"):
                    fields = [k for k in req if k not in ("class", "dockerOutputDirectory")]
                    unsupported.report(
                        where,
                        f"CWL DockerRequirement.{fields[0] if fields else 'dockerPull'}",
                        "wfrewrite runs images it can pull by name (dockerPull)",
                        hint=is_hint,
                    )
            elif cls == "InplaceUpdateRequirement" and not req.get("inplaceUpdate"):
                continue
            elif cls in UNSUPPORTED:
                unsupported.report(where, f"CWL {short}", UNSUPPORTED[cls], hint=is_hint)


def runtime_context(
    basedir: str, place: Placement | None = None, tmp: str | None = None
) -> WfRuntimeContext:
    rc = WfRuntimeContext()
    rc.basedir = basedir
    rc.toplevel = True  # discover secondaryFiles of the inputs, as cwltool's executors do
    if tmp is not None:
        rc.tmpdir_prefix = os.path.join(tmp, "tmp")
        rc.tmp_outdir_prefix = os.path.join(tmp, "out")
    if place is not None:
        rc.wf_place = lambda: place
    return rc


def apply_job_requirements(tool: Process, order: Any) -> None:
    """``cwl:requirements`` in the job object (CWL v1.1+) add to the tool's requirements, as
    cwltool's executors do."""
    if isinstance(order, dict) and JOB_REQUIREMENTS in order:
        if tool.metadata.get("http://commonwl.org/cwltool#original_cwlVersion") == "v1.0":
            raise InputError("'cwl:requirements' in the job object is not part of CWL v1.0")
        for req in order[JOB_REQUIREMENTS]:
            tool.requirements.append(req)


def compile_tool(
    tool: Process,
    order: Any,
    basedir: str,
    *,
    root: str = CONTAINER_ROOT,
    unsupported: Unsupported | None = None,
) -> TaskPlan:
    """The plan cwltool's job for ``tool`` and ``order`` lowers to, under ``root``."""
    unsupported = unsupported or Unsupported()
    if tool.tool.get("class") != "CommandLineTool":
        unsupported.report(
            pos_of(tool.tool, "class"),
            f"CWL {tool.tool.get('class')}",
            "wfrewrite compiles CommandLineTools (run workflows with wfrewrite-cwl-runner)",
        )
    apply_job_requirements(tool, order)
    with tempfile.TemporaryDirectory(prefix="wfrewrite-cwl-") as tmp:
        host = os.path.join(tmp, "task")
        os.makedirs(host)
        rc = runtime_context(basedir, Placement(host_root=host, root=root, container=True), tmp)
        rc.wf_unsupported = unsupported
        uri = tool.tool.get("id", "")
        with cwl_errors(uri_file_path(uri) if uri.startswith("file://") else uri, InputError):
            for job in tool.job(order, lambda out, status: None, rc):
                if not isinstance(job, PlanningJob):
                    raise UnsupportedError("a CWL job that is not a CommandLineTool job")
                return job.plan(rc, unsupported)
    raise InputError("cwltool made no job for this tool and job object")


# -- errors: cwltool/schema-salad exceptions -> positions ----------------------------------------

_LOC = re.compile(r"^(?P<file>[^\s:][^:\n]*):(?P<line>\d+):(?P<col>\d+):\s*(?P<msg>.*)$", re.M)


def salad_position(exn: BaseException) -> tuple[Pos | None, str]:
    """The most precise position and message in a schema-salad error (its deepest leaf), or the
    last ``file:line:col:`` prefix in a cwltool message."""
    pos, msg = _salad_position(exn)
    missing = re.match(r"\[Errno 2\] No such file or directory: '(.*)'$", msg)
    return pos, f"input file not found: {missing.group(1)}" if missing else msg


def _salad_position(exn: BaseException) -> tuple[Pos | None, str]:
    chain: BaseException | None = exn
    while chain is not None:
        if isinstance(chain, SchemaSaladException):
            for path in _leaf_paths(chain):
                leaf = path[-1]
                if leaf.file and leaf.start:
                    uri = uri_file_path(leaf.file) if leaf.file.startswith("file:") else leaf.file
                    uri = os.path.abspath(uri)
                    msg = " ".join(str(leaf.detailed_message or leaf.message).split())
                    parent = " ".join(path[-2].message.split()) if len(path) > 1 else ""
                    if "field" in parent and parent.endswith(" because"):
                        msg = f"{parent[: -len(' because')]}: {msg}"
                    return Pos(uri=uri, line=leaf.start[0], column=leaf.start[1]), msg
        chain = chain.__cause__ or chain.__context__
    text = str(exn)
    found = list(_LOC.finditer(text))
    if found:  # the last located line is the most precise one
        m = found[-1]
        uri = m.group("file")
        uri = os.path.abspath(uri_file_path(uri) if uri.startswith("file:") else uri)
        msg = " ".join((m.group("msg") + " " + text[m.end() :]).split())
        return Pos(uri=uri, line=int(m.group("line")), column=int(m.group("col"))), msg
    return None, " ".join(text.split())


def _leaf_paths(exn: SchemaSaladException) -> Iterator[list[SchemaSaladException]]:
    """Every path from ``exn`` down to a leaf (an error with no children), depth first."""
    if not exn.children:
        if exn.message:
            yield [exn]
        return
    for child in exn.children:
        for path in _leaf_paths(child):
            yield [exn, *path]


@contextmanager
def cwl_errors(where: str, kind: type[WfError]) -> Iterator[None]:
    try:
        yield
    except WfError:
        raise
    except UnsupportedRequirement as exn:
        pos, msg = salad_position(exn)
        raise UnsupportedError(msg, pos) from None
    except (SchemaSaladException, WorkflowException) as exn:
        pos, msg = salad_position(exn)
        text = str(exn)
        if "Invalid job input record" in text or "job" in type(exn).__name__.lower():
            kind = InputError
            msg = f"the job does not match the tool's inputs: {msg}"
        raise kind(msg, pos or _doc_pos(where)) from None
    except FileNotFoundError as exn:
        raise InputError(f"{exn.strerror}: {exn.filename}", _doc_pos(where)) from None
    except SystemExit:
        raise InputError(f"{where}: not a valid CWL job object (a YAML/JSON mapping)") from None


def _doc_pos(where: str) -> Pos | None:
    return Pos(uri=os.path.abspath(where), line=1, column=1) if where and os.path.exists(where) else None
