"""`wfrewrite run` scans the installed packages for miniwdl's plugins once, for every group
(runtime/engines/miniwdl.py cache_plugin_lookups): each group's answer is miniwdl's own, with
its default enable patterns and with patterns that disable some. In a fresh interpreter, since
the lookup is patched into miniwdl for the rest of the process."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = r"""
import logging, sys
from WDL.runtime import config
from wfrewrite.runtime.engines.miniwdl import cache_plugin_lookups

cfg = config.Loader(logging.getLogger("probe"), [])
if sys.argv[1] == "disable":
    cfg.override({"plugins": {"disable_patterns": '["WDL.runtime.download:*", "*wfrewrite*"]'}})
groups = list(config.default_plugins())
def answer():
    return [[(e, p.group, p.name, p.value) for e, p in config.load_all_plugins(cfg, g)]
            for g in groups]
before = answer()
cache_plugin_lookups()
assert config.load_all_plugins._wfrewrite_cached
assert answer() == before, (answer(), before)
assert answer() == before  # and again, from what was kept
print(sum(len(a) for a in before), sum(e for a in before for e, *_ in a))
"""


@pytest.mark.parametrize("patterns", ["default", "disable"])
def test_one_scan_gives_miniwdls_answer(patterns: str) -> None:
    p = subprocess.run(
        [sys.executable, "-c", PROBE, patterns], capture_output=True, text=True, check=False
    )
    assert p.returncode == 0, p.stderr[-3000:]
    plugins, enabled = map(int, p.stdout.split())
    assert plugins >= 8  # miniwdl's defaults and wfrewrite's own two
    assert (enabled < plugins) if patterns == "disable" else enabled > 0
