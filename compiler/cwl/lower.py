"""CWL lowering: the job cwltool builds -> TaskPlan.

cwltool does the CWL work: binding the job (defaults, secondaryFiles, formats), the command line,
InitialWorkDir, the environment, stdio, codes, ``runtime.*``, all against *container* paths under
the plan's root. ``WfCommandLineTool`` is a cwltool ``CommandLineTool`` whose jobs are
``PlanningJob``s laid out under that root; ``lower`` turns one into a plan:

    job.command_line = ["cat", "/mnt/wfr/inputs/stg0/hello.txt"]
    job.stdout = "out.txt"
    builder.pathmapper: file:///data/hello.txt -> /mnt/wfr/inputs/stg0/hello.txt (File, staged)
        ->
    TaskPlan(lang="cwl", command=Command(argv=("cat", "/mnt/wfr/inputs/stg0/hello.txt"),
                                          shell="none", entrypoint=True),
             stage=(StageItem(source="/data/hello.txt", path="/mnt/wfr/inputs/stg0/hello.txt"),),
             stdout="/mnt/wfr/work/out.txt", network=False, ...)

The runtime (``wfrewrite.runtime.engines.cwltool.job``) subclasses ``PlanningJob`` to run the plan and to
collect the outputs with cwltool's own ``collect_output_ports``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import posixpath
import re
import threading
from collections.abc import Callable, Generator, MutableSequence
from dataclasses import dataclass
from typing import Any, cast

from cwltool.builder import Builder
from cwltool.command_line_tool import CommandLineTool
from cwltool.context import LoadingContext, RuntimeContext
from cwltool.errors import WorkflowException
from cwltool.job import JobBase
from cwltool.pathmapper import MapperEnt, PathMapper
from cwltool.process import Process, shortname
from cwltool.utils import aslist
from cwltool.workflow import default_make_tool
from ruamel.yaml.comments import CommentedMap
from schema_salad.ref_resolver import uri_file_path

from ..diagnostics import InputError, Pos, SourceError, Unsupported
from ..plan.check import within
from ..plan.ir import (
    Capture,
    Command,
    EnvVar,
    Layout,
    LiteralFile,
    Resources,
    StageItem,
    TaskPlan,
)
from .errors import cwl_errors

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

INPUTS_DIR = "inputs"  # where cwltool stages the inputs, under the root (its /var/lib/cwl)
MIB = 1 << 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a job's task directory is: ``host_root`` on this machine, seen as ``root`` by the
    script (the same path with the local executor, /mnt/wfr in a container)."""

    host_root: str
    root: str
    container: bool


class WfRuntimeContext(RuntimeContext):
    """cwltool's RuntimeContext plus what wfrewrite needs to lay a job out: ``wf_place()`` makes
    the task directory of the next job, ``wf_job_class`` runs it (``PlanningJob``: plans only)."""

    def __init__(self, kwargs: dict[str, Any] | None = None) -> None:
        self.wf_place: Callable[[], Placement] | None = None
        self.wf_job_class: type[PlanningJob] | None = None
        self.wf_unsupported: Unsupported = Unsupported()
        super().__init__(kwargs)


def pos_of(node: Any, key: Any = None) -> Pos | None:
    """The position of ``node`` (or of its ``key``) in its document, where schema-salad kept it."""
    lc = getattr(node, "lc", None)
    if lc is None or not getattr(lc, "filename", None):
        return None
    uri = str(lc.filename)
    uri = uri_file_path(uri) if uri.startswith("file://") else uri
    line, col = lc.line, lc.col
    if key is not None:
        with contextlib.suppress(KeyError, IndexError, TypeError):
            line, col = lc.key(key) if isinstance(node, CommentedMap) else lc.item(key)
    if line is None or col is None:
        return None
    return Pos(uri=os.path.abspath(uri.split("#")[0]), line=line + 1, column=col + 1)


class StablePathMapper(PathMapper):
    """cwltool's PathMapper with stage dirs named ``stg0``, ``stg1``... instead of random UUIDs,
    so that compiling twice gives the same plan."""

    def setup(
        self, referenced_files: MutableSequence[Any], basedir: str
    ) -> None:  # same as PathMapper.setup but for the names
        stagedir = self.stagedir
        for n, fob in enumerate(referenced_files):
            if self.separateDirs:
                stagedir = os.path.join(self.stagedir, f"stg{n}")
            self.visit(fob, stagedir, basedir, copy=bool(fob.get("writable", False)), staged=True)


def make_tool(toolpath_object: CommentedMap, loadingContext: LoadingContext) -> Process:
    """cwltool's tool factory, with wfrewrite's CommandLineTool (``construct_tool_object``)."""
    reuse_loaded_schema()
    if toolpath_object.get("class") == "CommandLineTool":
        return WfCommandLineTool(toolpath_object, loadingContext)
    return default_make_tool(toolpath_object, loadingContext)


SCHEMA_RECORDS = {
    "SCHEMA_FILE": "https://w3id.org/cwl/cwl#File",
    "SCHEMA_DIR": "https://w3id.org/cwl/cwl#Directory",
    "SCHEMA_ANY": "https://w3id.org/cwl/salad#Any",
}


def reuse_loaded_schema() -> None:
    """The first Process cwltool builds loads the whole CWL v1.0 schema (~0.4 s) for three of
    its records (File, Directory, Any: ``cwltool.process.SCHEMA_FILE``...), whatever the
    document's version. The document's own schema, loaded by then to validate it, has the same
    three records (the same avro schema, their docs aside: tests/cwl/test_schema_reuse.py), so
    they are taken from it. Where nothing is loaded yet, cwltool does as it does."""
    import cwltool.process as proc

    if any(getattr(proc, g, None) is not None for g in SCHEMA_RECORDS):
        return
    for schema in list(proc.SCHEMA_CACHE.values()):
        idx = schema[3].idx
        if all(r in idx for r in SCHEMA_RECORDS.values()):
            for g, r in SCHEMA_RECORDS.items():
                setattr(proc, g, idx[r])
            return


class WfCommandLineTool(CommandLineTool):
    """A cwltool CommandLineTool whose jobs are laid out under a wfrewrite task directory."""

    def make_job_runner(self, runtimeContext: RuntimeContext) -> type[JobBase]:
        if isinstance(runtimeContext, WfRuntimeContext) and runtimeContext.wf_job_class:
            return runtimeContext.wf_job_class
        return PlanningJob

    def make_path_mapper(
        self,
        reffiles: MutableSequence[Any],
        stagedir: str,
        runtimeContext: RuntimeContext,
        separateDirs: bool,
    ) -> PathMapper:
        return StablePathMapper(reffiles, runtimeContext.basedir, stagedir, separateDirs)

    def job(
        self,
        job_order: Any,
        output_callbacks: Any,
        runtimeContext: RuntimeContext,
    ) -> Generator[Any, None, None]:
        yield from wf_jobs(self, super().job, job_order, output_callbacks, runtimeContext)


def wf_jobs(
    tool: CommandLineTool,
    base_job: Callable[[Any, Any, RuntimeContext], Generator[Any, None, None]],
    job_order: Any,
    output_callbacks: Any,
    runtimeContext: RuntimeContext,
) -> Generator[Any, None, None]:
    """cwltool's ``CommandLineTool.job`` (``base_job``) with the job laid out under a wfrewrite
    task directory: ``runtimeContext.wf_place()`` gives the directory, and the builder sees the
    paths the script will see. Any CommandLineTool subclass can use it (Toil's does)."""
    place_next = getattr(runtimeContext, "wf_place", None)
    if place_next is None:
        raise WorkflowException("wfrewrite: a CWL job needs a runtime context with wf_place")
    place = place_next()
    rc = runtimeContext.copy()
    host = place.host_root
    # cwltool's own host dirs for the job: the task directory's work/ and tmp/.
    rc.outdir = os.path.join(host, "work")
    rc.tmpdir = os.path.join(host, "tmp")
    if place.container:
        # The builder sees container paths (runtime.outdir, input paths) under the root.
        rc.use_container = True
        rc.default_container = rc.default_container or "wfrewrite-default-image"
        rc.docker_outdir = posixpath.join(place.root, "work")
        rc.docker_tmpdir = posixpath.join(place.root, "tmp")
        rc.docker_stagedir = posixpath.join(place.root, INPUTS_DIR)
    else:
        rc.use_container = False
        rc.stagedir = os.path.join(host, INPUTS_DIR)
    for j in base_job(job_order, output_callbacks, rc):
        if isinstance(j, PlanningJob):
            j.wf_place = place
            j.wf_tool = tool
            j.wf_context = rc  # the context with the wf_* settings (cwltool runs jobs with its own)
            j.outdir = os.path.join(host, "work")
            j.tmpdir = os.path.join(host, "tmp")
            j.stagedir = os.path.join(host, INPUTS_DIR)
        yield j


class PlanningJob(JobBase):
    """A cwltool job that lowers to a TaskPlan instead of running (``run`` is the runtime's)."""

    wf_place: Placement
    wf_tool: CommandLineTool
    wf_context: RuntimeContext | None = None

    def _required_env(self) -> dict[str, str]:
        # The CWL spec: HOME is the output dir, TMPDIR the temporary dir (container paths).
        return {"HOME": self.builder.outdir, "TMPDIR": self.builder.tmpdir}

    def run(
        self, runtimeContext: RuntimeContext, tmpdir_lock: threading.Lock | None = None
    ) -> None:
        raise NotImplementedError(
            "PlanningJob only plans; wfrewrite.runtime.engines.cwltool runs jobs"
        )

    def plan(self, runtimeContext: RuntimeContext, unsupported: Unsupported) -> TaskPlan:
        """cwltool's job set-up (input checks, the InitialWorkDir path map), then the plan."""
        check_requirements(self.wf_tool, unsupported)
        where = pos_of(self.wf_tool.tool)
        with cwl_errors(where.uri if where else "", InputError):
            self._setup(runtimeContext)
        return lower(self, unsupported)


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


def lower(job: PlanningJob, unsupported: Unsupported) -> TaskPlan:
    tool = job.wf_tool
    b: Builder = job.builder
    root = job.wf_place.root
    layout = Layout.under(root)
    where = pos_of(tool.tool)
    docker, docker_required = _docker_req(tool)
    outdir = b.outdir.rstrip("/") or "/"
    if not outdir.startswith("/"):
        unsupported.report(
            pos_of(docker, "dockerOutputDirectory"),
            "CWL DockerRequirement.dockerOutputDirectory that is a relative path",
        )
    elif outdir != layout.work:
        layout = dataclasses.replace(layout, work_alias=outdir)

    def cpath(p: str) -> str:
        """A container path in the plan's terms (the outdir, if aliased, is the work dir)."""
        p = posixpath.normpath(p)
        if layout.work_alias and within(p, outdir):
            return layout.work + p[len(outdir) :]
        return p

    if not job.wf_place.container and docker and docker.get("dockerOutputDirectory"):
        unsupported.report(
            pos_of(docker, "dockerOutputDirectory"),
            "CWL DockerRequirement.dockerOutputDirectory with the local executor",
            "the command runs on the host; use a container executor",
            hint=not docker_required,
        )

    stage: dict[str, StageItem] = {}
    literals: dict[str, LiteralFile] = {}
    for mapper in (b.pathmapper, job.generatemapper):
        if mapper is None:
            continue
        for _, ent in mapper.items():
            if not ent.staged:
                continue
            _lower_entry(ent, cpath(ent.target), stage, literals)
    # cwltool allows absolute entrynames only with DockerRequirement in `requirements`; they are
    # put in the image's filesystem, so only where there is an image.
    outside = sorted(p for p in (*stage, *literals) if not within(p, root))
    if outside and not job.wf_place.container:
        unsupported.report(
            where,
            "CWL InitialWorkDir entries at absolute paths outside the output directory",
            f"{outside[0]}: the local executor runs on the host; use a container executor",
        )
    elif outside:
        layout = dataclasses.replace(layout, outside=tuple(outside))

    command = _command(job, tool)
    stdin = cpath(posixpath.join(b.outdir, job.stdin)) if job.stdin else None
    stdout = cpath(posixpath.join(b.outdir, job.stdout)) if job.stdout else f"{root}/stdout.txt"
    stderr = cpath(posixpath.join(b.outdir, job.stderr)) if job.stderr else f"{root}/stderr.txt"
    success, temporary, permanent = _codes(job)
    image = docker.get("dockerPull") if docker else None
    return TaskPlan(
        name=_task_name(tool),
        lang="cwl",
        source=where,
        image=str(image) if image else None,
        resources=_resources(job, tool),
        network=bool(job.networkaccess),
        layout=layout,
        env=tuple(EnvVar(name=k, value=str(v)) for k, v in job.environment.items()),
        stage=tuple(stage[k] for k in sorted(stage)),
        literals=tuple(literals[k] for k in sorted(literals)),
        command=command,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        success_codes=success,
        temporary_fail_codes=temporary,
        permanent_fail_codes=permanent,
        outputs=tuple(shortname(p["id"]) for p in tool.tool["outputs"]),
        captures=_captures(tool, b),
    )


def _task_name(tool: Process) -> str:
    name = shortname(str(tool.tool.get("id", "tool")))
    return name[: -len(".cwl")] if name.endswith(".cwl") and len(name) > 4 else name


def _docker_req(tool: Process) -> tuple[dict[str, Any] | None, bool | None]:
    req, is_req = tool.get_requirement("DockerRequirement")
    return cast("dict[str, Any] | None", req), is_req


def _lower_entry(
    ent: MapperEnt, target: str, stage: dict[str, StageItem], literals: dict[str, LiteralFile]
) -> None:
    """One staged path-map entry: a staged input, a created file, or an empty directory
    (cwltool's ``add_volumes`` / ``stage_files`` cases, the same types)."""
    if target in stage or target in literals:
        return  # the same target twice: cwltool stages it once
    kind = ent.type or "File"
    if kind in ("CreateFile", "CreateWritableFile"):
        literals[target] = LiteralFile(path=target, content=ent.resolved.encode("utf-8"))
    elif ent.resolved.startswith("_:"):
        if kind in ("Directory", "WritableDirectory"):
            literals[target] = LiteralFile(path=target, kind="directory")
    elif kind in ("File", "Directory", "WritableFile", "WritableDirectory"):
        stage[target] = StageItem(
            source=ent.resolved,
            path=target,
            kind="directory" if kind.endswith("Directory") else "file",
            writable=kind.startswith("Writable"),
            size=os.path.getsize(ent.resolved) if kind.endswith("File") else None,
        )


def _command(job: PlanningJob, tool: Process) -> Command:
    words = [str(w) for w in job.command_line]
    if not words:
        raise SourceError(
            "cannot run a CommandLineTool that produces an empty command line: give it a "
            "'baseCommand', 'arguments', or an input with an 'inputBinding'",
            pos_of(tool.tool),
        )
    shell, _ = tool.get_requirement("ShellCommandRequirement")
    if shell is not None and words[:2] == ["/bin/sh", "-c"] and len(words) == 3:
        return Command(script=words[2] + "\n", shell="sh")
    return Command(argv=tuple(words), shell="none", entrypoint=True)


def _codes(
    job: PlanningJob,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """cwltool's order: successCodes win, then temporaryFailCodes, permanentFailCodes, and 0 is
    a success unless listed as a failure."""
    success = {int(c) for c in job.successCodes}
    temporary = {int(c) for c in job.temporaryFailCodes} - success
    permanent = {int(c) for c in job.permanentFailCodes} - success - temporary
    if 0 not in temporary and 0 not in permanent:
        success.add(0)
    return tuple(sorted(success)), tuple(sorted(temporary)), tuple(sorted(permanent))


def _resources(job: PlanningJob, tool: Process) -> Resources:
    """What the tool asks for through ResourceRequirement (cwltool's evaluation, in
    ``builder.resources``); cwltool's implicit defaults are not limits. ToolTimeLimit: seconds,
    0 = none."""
    req, _ = tool.get_requirement("ResourceRequirement")
    res = job.builder.resources
    limit = job.timelimit or None
    if req is None:
        return Resources(time_limit=limit)
    asked = set(req)
    cpu = float(res["cores"]) if asked & {"coresMin", "coresMax"} else None
    memory = int(res["ram"]) * MIB if asked & {"ramMin", "ramMax"} else None
    disk = None
    if asked & {"tmpdirMin", "tmpdirMax", "outdirMin", "outdirMax"}:
        disk = (int(res["tmpdirSize"]) + int(res["outdirSize"])) * MIB
    return Resources(cpu=cpu, memory=memory, disk=disk, time_limit=limit)


def _captures(tool: Process, b: Builder) -> tuple[Capture, ...]:
    """The output globs, evaluated as cwltool evaluates them before collecting (they may use
    inputs and runtime, not the results); what cannot be evaluated now captures the whole
    output dir, as do secondary files. cwl.output.json, if the tool writes one, overrides
    everything (and the script then captures the whole output dir: it may name any file)."""
    caps: list[Capture] = []

    def visit(name: str, port: Any) -> None:
        binding = port.get("outputBinding") or {}
        globs = binding.get("glob") if isinstance(binding, dict) else None
        if globs is not None:
            for gb in aslist(globs):
                try:
                    value = b.do_eval(gb)
                except Exception:
                    caps.append(Capture(output=name, kind="tree", pattern=".", required=False))
                    continue
                for pattern in aslist(value):
                    if isinstance(pattern, str) and pattern:
                        _add_glob(caps, name, pattern, b.outdir)
        if globs is None and isinstance(binding, dict) and binding.get("outputEval"):
            # an outputEval with no glob may name any file of the output dir
            caps.append(Capture(output=name, kind="tree", pattern=".", required=False))
        if port.get("secondaryFiles"):
            # secondary files sit beside the primary ones under names their patterns give
            # (``^``, expressions): the whole output dir, rather than a second evaluator
            caps.append(Capture(output=name, kind="tree", pattern=".", required=False))
        ptype = port.get("type")
        if isinstance(ptype, dict) and ptype.get("type") == "record":
            for field in ptype.get("fields", []):
                visit(name, field)

    for port in tool.tool["outputs"]:
        visit(shortname(port["id"]), port)
    caps.append(Capture(output="", kind="cwl_output_json", required=False))
    return tuple(caps)


def _add_glob(caps: list[Capture], name: str, pattern: str, outdir: str) -> None:
    if pattern.startswith(outdir.rstrip("/") + "/"):
        pattern = pattern[len(outdir.rstrip("/")) + 1 :]
    elif pattern == outdir:
        pattern = "."
    if pattern.startswith("/") or ".." in pattern.split("/") or _CONTROL.search(pattern):
        return  # cwltool refuses it when collecting
    cap = Capture(output=name, kind="glob", pattern=pattern, required=False, files_only=False)
    if cap not in caps:
        caps.append(cap)
