"""`wfrewrite run` scans the installed packages for miniwdl's plugins once, for every group
(runtime/engines/miniwdl.py cache_plugin_lookups), and keeps the scan for the next run until a
package changes: each group's answer is miniwdl's own, with its default enable patterns and
with patterns that disable some. In a fresh interpreter, since
the lookup is patched into miniwdl for the rest of the process."""

from __future__ import annotations

import os
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


def test_the_scan_is_kept_until_a_package_changes(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The second run reads the scan the first kept; a package installed (a new metadata
    directory on the path) or its entry points rewritten in place is seen at once."""
    import importlib_metadata

    from wfrewrite.runtime.engines.miniwdl import miniwdl_entry_points

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def scan() -> list[tuple[str, str, str]]:
        return [(ep.name, ep.value, ep.group) for ep in miniwdl_entry_points()]

    def truth() -> list[tuple[str, str, str]]:
        return [
            (ep.name, ep.value, ep.group)
            for ep in importlib_metadata.entry_points()
            if ep.group.startswith("miniwdl.plugin.")
        ]

    first = scan()
    assert first == truth() and ("wfrewrite", "wfrewrite.runtime.engines.miniwdl:task_plugin",
                                 "miniwdl.plugin.task") in first  # fmt: skip
    kept = list((tmp_path / "cache" / "wfrewrite" / "plugin-scans").iterdir())
    assert len(kept) == 1
    assert scan() == first
    dist = site / "extra_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: extra-plugin\nVersion: 1.0\n")
    eps = dist / "entry_points.txt"
    eps.write_text("[miniwdl.plugin.task]\nextra = extra_plugin:task\n")
    assert ("extra", "extra_plugin:task", "miniwdl.plugin.task") in scan()
    assert scan() == truth()
    eps.write_text("[miniwdl.plugin.task]\nextra = extra_plugin:other\n")
    os.utime(eps, ns=(eps.stat().st_mtime_ns + 10**9,) * 2)  # a rewrite within one tick
    assert ("extra", "extra_plugin:other", "miniwdl.plugin.task") in scan()
    assert scan() == truth()
    # a broken entry is a scan, and is written again
    for f in (tmp_path / "cache" / "wfrewrite" / "plugin-scans").iterdir():
        f.write_text("{not json")
    assert scan() == truth()
    # files that come and go beside the packages (a run's outputs in the current directory)
    # change nothing
    (site / "outputs.json").write_text("{}")
    assert scan() == truth()
    kept = list((tmp_path / "cache" / "wfrewrite" / "plugin-scans").iterdir())
    assert len(kept) == 3  # no new entry
