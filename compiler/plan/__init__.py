"""The plan: the IR between the front ends and the emitter, its checker and its passes.

    from wfrewrite.compiler.plan import TaskPlan, check, run_passes
    plan = check(TaskPlan.loads(text))           # ir.py (the dataclasses), serde.py, check.py
    plan = run_passes(plan, facts, [choose_image, bind_entrypoint])   # passes.py, facts.py

``ir`` holds the frozen dataclasses (``TaskPlan`` and its parts) and the constants every stage
shares (``CONTAINER_ROOT``, ``DEFAULT_IMAGE``, ``LINK_MODES``); see its docstring for a worked
example.
"""

from .check import check, within
from .facts import NO_FACTS, Facts, ImageFacts
from .ir import (
    CONTAINER_ROOT,
    DEFAULT_IMAGE,
    LINK_MODES,
    PLAN_VERSION,
    TRANSPORTS,
    UPLOAD_METHODS,
    Capture,
    Command,
    EnvVar,
    FormField,
    Layout,
    LiteralFile,
    Mount,
    Resources,
    StageItem,
    TaskPlan,
    UrlSpec,
)
from .passes import Pass, run_passes

__all__ = [
    "CONTAINER_ROOT",
    "DEFAULT_IMAGE",
    "LINK_MODES",
    "NO_FACTS",
    "PLAN_VERSION",
    "TRANSPORTS",
    "UPLOAD_METHODS",
    "Capture",
    "Command",
    "EnvVar",
    "Facts",
    "FormField",
    "ImageFacts",
    "Layout",
    "LiteralFile",
    "Mount",
    "Pass",
    "Resources",
    "StageItem",
    "TaskPlan",
    "UrlSpec",
    "check",
    "run_passes",
    "within",
]
