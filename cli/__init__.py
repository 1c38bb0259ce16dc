"""The drivers: ``wfrewrite`` (compile, run) and ``wfrewrite-cwl-runner``.

main.py          wfrewrite: the parser, and dispatch by language
wdl_commands.py  compile / run for a WDL document (miniwdl's engine for workflows)
cwl_commands.py  compile / run for a CWL document (cwltool's engine for workflows)
cwl_runner.py    wfrewrite-cwl-runner: cwltool's calling convention (cwltest)
args.py          the arguments they share (the run options come from runtime.options)
results.py       what they write: compiled files and outputs, atomically
"""
