"""The compiler: front ends -> plan -> emit.

    wdl/   a WDL task + inputs -> TaskPlan (miniwdl does the WDL work)      compile_wdl
    cwl/   a CWL CommandLineTool + job -> TaskPlan (cwltool does the CWL work) compile_cwl
    plan/  the TaskPlan IR (frozen dataclasses, JSON), its checker, facts and passes
    emit/  TaskPlan -> the script (runtime/sh/*.sh with a data section), TES task, Kubernetes Job
    diagnostics.py  positions, the one error hierarchy, the one unsupported channel

Dependencies run one way: the front ends and emit use plan, plan uses diagnostics; nothing here
imports the runtime (the emitter reads the runtime's .sh files as package data).
"""
