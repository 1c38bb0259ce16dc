"""Toil ``--no-appliance``: each WDL task / CWL tool runs in its declared image through a
wfrewrite executor; Toil's leader, job store, scheduling and retries stay as they are.

    $ toil-wdl-runner wf.wdl inputs.json --no-appliance [--wfrewrite-executor podman] \\
          [--batchSystem slurm] --jobStore ./js --outputDirectory out

    hook.py    the command line: --no-appliance, --wfrewrite-OPTION (cheap to import)
    worker.py  WorkerContext: what Toil enters around every job in every worker
    wdl.py     Toil's WDL interpreter's container classes and WDL 1.2 additions (internals)
    cwl.py     Toil's CommandLineTool's job layout and job class (internals)
    batch.py   the ``wfrewrite`` batch system
    leader.py  the leader's helper threads, stopped when asked (internals)
    admission.py what a task job holds of the leader's machine in the leader mode
    version.py the Toil versions the internals were read in

The top-level module ``toil_batch_system_wfrewrite`` (found by Toil's plugin discovery)
registers the batch system, whose ``add_options`` Toil calls for every batch system. Every Toil
internal wfrewrite touches is in ``wdl.py``, ``cwl.py`` and ``leader.py``, checked against the
Toil version this was written for (``version.TOIL_VERSIONS``), with a clear error on any other.
"""
