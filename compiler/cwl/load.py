"""The CWL front end: tool + job -> TaskPlan, with cwltool doing all the CWL work.

    $ wfrewrite compile cat.cwl -i job.yml -o out/
    ctx   = loading_context()
    job   = read_job("job.yml", "cat.cwl", ctx)   # cwltool's job loading: $import, literals...
    tool  = load("cat.cwl", ctx)                   # schema-salad validation, v1.0-v1.2, $graph, #id
                                                   # (CWL's schemas parsed once a machine: schemas.py)
    order = bind_job(tool, job, "cat.cwl")         # defaults, sizes, formats (cwltool's init)
    plan  = compile_cwl(tool, order, job.basedir, root="/mnt/wfr")

``compile_cwl`` lets cwltool build the job (``CommandLineTool.job``) against container paths
under ``root`` and lowers it (``lower``). Every cwltool/schema-salad error becomes a
``SourceError``/``InputError`` carrying the document position schema-salad recorded, and a
feature wfrewrite does not implement goes through ``Unsupported`` (the runner exits 33).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cwltool.context import LoadingContext
from cwltool.load_tool import (
    default_loader,
    fetch_document,
    resolve_and_validate_document,
    resolve_tool_uri,
)
from cwltool.load_tool import make_tool as cwltool_make_tool
from cwltool.process import Process
from cwltool.resolver import tool_resolver
from cwltool.stdfsaccess import StdFsAccess
from cwltool.update import ORIGINAL_CWLVERSION
from cwltool.utils import visit_class
from schema_salad.fetcher import DefaultFetcher, Fetcher
from schema_salad.ref_resolver import uri_file_path

from ..diagnostics import InputError, SourceError, Unsupported, UnsupportedError
from ..jsonyaml import json_for_yaml
from ..plan.check import check
from ..plan.ir import CONTAINER_ROOT, TaskPlan
from .errors import cwl_errors
from .lower import Placement, PlanningJob, WfRuntimeContext, make_tool, pos_of
from .schemas import parsed_schemas

JOB_REQUIREMENTS = "https://w3id.org/cwl/cwl#requirements"


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
    ``cwltool:overrides``; ``-`` reads it from stdin); no file means no inputs."""
    from cwltool.main import load_job_order

    _must_exist(tool_path.split("#")[0], "")
    if job_path and job_path != "-":
        _must_exist(job_path, "the job ")
    args = argparse.Namespace(job_order=[job_path] if job_path else [], basedir=None)
    _, tool_file_uri = resolve_tool_uri(tool_path, resolver=ctx.resolver)
    fetcher = _exact_json_fetcher(job_path) if job_path and job_path != "-" else None
    with cwl_errors(job_path or tool_path, InputError):
        order, basedir, loader = load_job_order(
            args, sys.stdin, fetcher, ctx.overrides_list, tool_file_uri
        )
    return Job(order=order, basedir=basedir, loader=loader)


def _exact_json_fetcher(job_path: str) -> Callable[..., Fetcher]:
    """schema-salad's fetcher, handing the job file (if it is JSON) to its YAML parser as JSON
    it reads exactly: surrogate pairs and raw NELs rewritten (``wfrewrite.compiler.jsonyaml``).
    Every other document (``$import``, ``$include``) is fetched as it is."""
    job = os.path.abspath(job_path)

    class ExactJsonFetcher(DefaultFetcher):
        def fetch_text(self, url: str, content_types: list[str] | None = None) -> str:
            text = super().fetch_text(url, content_types)
            base = url.split("#")[0]
            if base.startswith("file:") and uri_file_path(base) == job:
                return json_for_yaml(text)
            return text

    return ExactJsonFetcher


def _must_exist(path: str, what: str) -> None:
    if "://" not in path and not os.path.exists(path):
        raise InputError(f"cannot read {what}{path}: no such file")


def load(
    tool_path: str,
    ctx: LoadingContext | None = None,
    images: Callable[[list[str]], None] | None = None,
) -> Process:
    """Load and validate a CWL document (v1.0, v1.1, v1.2; ``$graph`` files; ``file#id``).
    ``images``, if given, hears the images the document's text names (``docker_pulls``) as soon
    as it is read, before cwltool validates it (the longest part of a load): what a run asks
    its container engine of them can be asked meanwhile."""
    base = tool_path.split("#")[0]
    _must_exist(base, "")
    ctx = ctx or loading_context()
    with cwl_errors(base, SourceError), parsed_schemas():  # the schemas from the file cache
        # cwltool's load_tool, step by step
        ctx, document, uri = fetch_document(tool_path, ctx)
        if images is not None:
            images(docker_pulls(document))
        ctx, uri = resolve_and_validate_document(ctx, document, uri)
        return cwltool_make_tool(uri, ctx)


def docker_pulls(document: Any) -> list[str]:
    """The ``dockerPull`` images a CWL document's text names, in order, each once (what it
    names in other files, which cwltool reads as it validates, is not among them)."""
    found: dict[str, None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "dockerPull" and isinstance(value, str):
                    found[value] = None
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    return list(found)


def bind_job(tool: Process, job: Job, tool_path: str) -> Any:
    """cwltool's ``init_job_order``: defaults, ``path`` to ``location``, sizes, formats."""
    from cwltool.main import init_job_order

    args = argparse.Namespace(workflow=tool_path, tool_help=False, job_order=[])
    with cwl_errors(tool_path, InputError):
        order = init_job_order(
            job.order if job.order is not None else {},
            args,
            tool,
            job.loader,
            io.StringIO(),
            make_fs_access=StdFsAccess,
            input_basedir=job.basedir,
        )
    visit_class(order, ("File", "Directory"), _no_fragment)
    return order


def _no_fragment(obj: dict[str, Any]) -> None:
    """A File or Directory of the job whose location has a '#': schema-salad reads the job's
    ``path`` fields as URI references, so a '#' in a name starts a fragment, which cwltool's
    path mapper cannot look up (a KeyError deep in cwltool). Refused here, by name."""
    location = str(obj.get("location", ""))
    if location.startswith("file:") and "#" in location:
        raise InputError(
            f"cannot stage the {obj.get('class', 'File')} {location!r}: a '#' in a job's path "
            "is read as the start of a URI fragment; give the file as a 'location' with the "
            "'#' written %23"
        )


def runtime_context(
    basedir: str, place: Placement | None = None, tmp: str | None = None
) -> WfRuntimeContext:
    """cwltool's runtime context for compiling: inputs relative to ``basedir``, every job in
    ``place``, cwltool's own temporary dirs under ``tmp``."""
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
        if tool.metadata.get(ORIGINAL_CWLVERSION) == "v1.0":
            raise InputError("'cwl:requirements' in the job object is not part of CWL v1.0")
        for req in order[JOB_REQUIREMENTS]:
            tool.requirements.append(req)


def compile_cwl(
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
                plan = check(job.plan(rc, unsupported))
                unsupported.finish()  # level "collect": everything unsupported, at once
                return plan
    raise InputError("cwltool made no job for this tool and job object")
