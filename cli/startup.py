"""No garbage collection while a console script starts; from the run on, none of what start-up
made is scanned again.

    starting()   # cli/exit.py, first thing: the collector off (imports, the document loaded)
    started()    # the run begins: what is alive is frozen, the collector on again

Start-up makes the objects that live as long as the process (modules, classes, miniwdl's
parsed document; cwltool's CWL schemas and loaded document), few of them garbage; collecting
while they are made, and then scanning them again in every full collection of the run, cost
~40 ms before a WDL run's first task and ~25 ms more during 24 tasks on this machine (for a CWL
run, a collection while cwltool built its schemas took ~13% of that work). ``started`` freezes
them (``gc.freeze``: no later collection scans them) and lets the collector work on what the
run makes. A command that runs nothing (compile, cleanup) ends with the collector off.
"""

from __future__ import annotations

import gc


def starting() -> None:
    """The collector off, until ``started``."""
    gc.disable()


def started() -> None:
    """The run begins: if start-up turned the collector off (a console script), freeze what is
    alive and turn it back on; nothing otherwise (``main()`` called in-process, by a test)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
