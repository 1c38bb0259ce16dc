"""cwltool as the engine: cwltool drives the process (a CommandLineTool, or a Workflow and its
steps), every CommandLineTool job runs as a compiled script.

    job.py   WfrewriteJob: a cwltool job that runs through a wfrewrite executor and collects
             its outputs with cwltool's own collect_output_ports
    run.py   run(RunOptions(...)): load, bind, execute with cwltool's executor, print as cwltool

Toil's CWL runner uses the same job class (``wfrewrite.runtime.engines.toil``).
"""
