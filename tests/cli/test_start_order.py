"""The command lines begin a run (its label, and the sweep of what killed drivers of that label
left) before they import their engine: the sweep's one listing (``podman ps``, a TES or
Kubernetes list) then runs beside miniwdl's or cwltool's import and the document's loading, not
beside the first tasks' containers (runtime/exec ``begin_run``). The sweep is spied on here, in a
fresh interpreter, so nothing needs podman; that it really sweeps is
tests/exec/test_nothing_left.py's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wfrewrite.runtime.job import run_label_of

SPY = r"""
import json, sys
import wfrewrite.runtime.exec as ex

def spy(options):
    engines = sorted(m for m in ("WDL", "cwltool") if m in sys.modules)
    print("SWEEP " + json.dumps([options.executor, options.run_label, engines]), flush=True)

ex.sweep_at_start = spy
entry = sys.argv[1]
if entry == "wfrewrite":
    from wfrewrite.cli.main import main
else:
    from wfrewrite.cli.cwl_runner import main
sys.exit(main(sys.argv[2:]))
"""


def sweeps(*argv: str) -> tuple[list[list[object]], subprocess.CompletedProcess[str]]:
    p = subprocess.run(
        [sys.executable, "-c", SPY, *argv], capture_output=True, text=True, check=False
    )
    seen = [json.loads(ln[6:]) for ln in p.stdout.splitlines() if ln.startswith("SWEEP ")]
    return seen, p


@pytest.mark.parametrize(
    "entry, source, dir_flag",
    [
        ("wfrewrite", "task.wdl", "--dir"),
        ("wfrewrite", "tool.cwl", "--dir"),
        ("wfrewrite-cwl-runner", "tool.cwl", "--outdir"),
    ],
)
def test_the_sweep_starts_before_the_engine_is_imported(
    tmp_path: Path, entry: str, source: str, dir_flag: str
) -> None:
    runs = tmp_path / "runs"
    doc = tmp_path / source  # never written: the run fails to load it, after its sweep began
    argv = [entry, "run"] if entry == "wfrewrite" else [entry]
    seen, p = sweeps(*argv, str(doc), "--executor", "podman", dir_flag, str(runs))
    assert p.returncode == 2, p.stderr
    assert seen == [["podman", run_label_of(str(runs)), []]], (seen, p.stderr)
    assert "executor podman (auto)" not in p.stderr


def test_an_auto_executor_is_resolved_before_the_sweep_and_said_after_the_load(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.wdl"
    bad.write_text("version 1.0\ntask t {\n  command <<< echo >>>\n  output { Int x = }\n}\n")
    seen, p = sweeps("wfrewrite", "run", str(bad), "--dir", str(tmp_path / "runs"))
    assert p.returncode == 2
    assert len(seen) == 1 and seen[0][0] in ("podman", "docker", "local") and seen[0][2] == []
    # a document that does not load says so, and only so (as before the sweep moved)
    assert "(auto)" not in p.stderr, p.stderr
