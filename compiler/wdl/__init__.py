"""The WDL front end: a task and its inputs become a TaskPlan; miniwdl does all the WDL work.

    from wfrewrite.compiler import wdl
    doc = wdl.load("hello.wdl")                        # load.py: parse, type-check, inputs
    task, env = wdl.read_inputs(doc, None, "inputs.json")
    plan = wdl.compile_wdl(task, env, root="/mnt/wfr")  # task.py: miniwdl's evaluation, lowered

``lower.py`` turns miniwdl's evaluated task state into the plan (``PlanningContainer``, which the
miniwdl engine subclasses to run tasks), ``outputs.py`` finds the capture rules,
``runtime_keys.py`` decides what each runtime key becomes.
"""

from .load import check_hints_section, load, read_inputs, target
from .lower import PlanningContainer
from .task import MINIWDL_OVERRIDES, compile_wdl, miniwdl_config

__all__ = [
    "MINIWDL_OVERRIDES",
    "PlanningContainer",
    "check_hints_section",
    "compile_wdl",
    "load",
    "miniwdl_config",
    "read_inputs",
    "target",
]
