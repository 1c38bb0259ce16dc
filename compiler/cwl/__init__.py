"""The CWL front end: a CommandLineTool and its job become a TaskPlan; cwltool does the CWL work.

    from wfrewrite.compiler import cwl
    ctx   = cwl.loading_context()
    job   = cwl.read_job("job.yml", "cat.cwl", ctx)   # load.py: cwltool's loading and binding
    tool  = cwl.load("cat.cwl", ctx)
    order = cwl.bind_job(tool, job, "cat.cwl")
    plan  = cwl.compile_cwl(tool, order, job.basedir, root="/mnt/wfr")

``lower.py`` turns the job cwltool builds into the plan (``PlanningJob``, which the cwltool
engine subclasses to run jobs), ``errors.py`` gives cwltool's and schema-salad's errors their
source positions.
"""

from .errors import cwl_errors, salad_position
from .load import (
    apply_job_requirements,
    bind_job,
    compile_cwl,
    load,
    loading_context,
    read_job,
    runtime_context,
)
from .lower import Placement, PlanningJob, WfRuntimeContext, wf_jobs

__all__ = [
    "Placement",
    "PlanningJob",
    "WfRuntimeContext",
    "apply_job_requirements",
    "bind_job",
    "compile_cwl",
    "cwl_errors",
    "load",
    "loading_context",
    "read_job",
    "runtime_context",
    "salad_position",
    "wf_jobs",
]
