"""Engines: the workflow engines people use, each driving tasks that run as compiled scripts.

    miniwdl.py   miniwdl's container backend ``wfrewrite`` (and its task plugin)
    cwltool/     cwltool's executor with wfrewrite jobs (wfrewrite-cwl-runner, wfrewrite run x.cwl)
    toil/        Toil --no-appliance: the options, the worker hook, the wfrewrite batch system
    standin.py   a module's stand-in until something needs the real one (docker.errors,
                 cwltool.main): what a library imports for one name it seldom uses

An engine builds ``Options`` from its own configuration, picks an executor with
``wfrewrite.runtime.exec.select`` and hands it plans; it never reaches into an executor or a
transport beyond their public methods.
"""
