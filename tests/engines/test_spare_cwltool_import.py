"""A Toil WDL worker does not import cwltool for what Toil's worker runs after every job
(``import cwltool.main; cwltool.main._terminate_processes()``): until something needs the real
``cwltool.main``, a stand-in answers that, exactly (runtime/engines/toil/worker.py
spare_cwltool_import); what asks for anything else gets the real module. Each case in a fresh
interpreter: the stand-in lives in ``sys.modules``."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("toil")

SPARED = r"""
import sys
from wfrewrite.runtime.engines.toil.worker import spare_cwltool_import
spare_cwltool_import()
import cwltool.main  # what Toil's worker runs after every job
cwltool.main._terminate_processes()
assert "cwltool.utils" not in sys.modules and "schema_salad" not in sys.modules, "imported"
from cwltool.main import main as real_main  # anything else: the real module
import cwltool.main as again
assert sys.modules["cwltool.main"] is again and again.main is real_main
assert again._terminate_processes.__module__ == "cwltool.main"
print("ok")
"""

STARTED = r"""
import subprocess, sys
from wfrewrite.runtime.engines.toil.worker import spare_cwltool_import
spare_cwltool_import()
from cwltool.utils import processes_to_kill  # cwltool ran something in this process
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE)  # ends when its stdin is closed
processes_to_kill.append(p)
import cwltool.main
cwltool.main._terminate_processes()  # the real one: closes its stdin, waits, kills
assert p.poll() is not None and not processes_to_kill
print("ok")
"""


@pytest.mark.parametrize("case", [SPARED, STARTED], ids=["nothing-started", "cwltool-started"])
def test_the_stand_in_answers_as_cwltool_would(case: str) -> None:
    p = subprocess.run([sys.executable, "-c", case], capture_output=True, text=True, check=False)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr[-3000:]
