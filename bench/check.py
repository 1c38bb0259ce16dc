"""bench/check: a regression check of the engines' overhead, on ratios, not times.

    python bench/check.py RUN.json [--ceilings bench/ceilings.json]
    python bench/check.py RUN.json... --record [--ceilings bench/ceilings.json]

RUN.json is what `bench/engines.py --json` wrote. Every row that bench/ceilings.json names
(PLATFORM/ID) must be in the run, and its ratio (wall time over its platform's floor of the
same round) at most its ceiling; otherwise the check names the row and exits 1. A run of
another size (tasks, jobs) than the ceilings were recorded for is refused: the ratios depend on
it. --record writes ceilings from one or more runs: the highest ratio seen times MARGIN, and at
least that ratio plus SLACK, so that a shared machine's noise passes and a change that doubles
a row's ratio does not. A row's overhead is its ratio - 1: a ceiling of 2r stops a row of ratio
r = 1.3 only when its overhead grows 5.7x, one of r = 6.5 when it grows 2.2x.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MARGIN, SLACK = 2.0, 1.0


def rows_of(run: dict[str, Any]) -> dict[str, float]:
    return {
        f"{r['platform']}/{r['id']}": float(r["ratio"]) for r in run["rows"] if r["id"] != "floor"
    }


def size_of(doc: dict[str, Any]) -> dict[str, int]:
    return {"tasks": int(doc["tasks"]), "jobs": int(doc["jobs"])}


def record(runs: list[dict[str, Any]], path: Path) -> None:
    sizes = {json.dumps(size_of(r)) for r in runs}
    if len(sizes) != 1:
        raise SystemExit(f"bench/check: runs of different sizes {sorted(sizes)}")
    seen: dict[str, float] = {}
    for run in runs:
        for key, ratio in rows_of(run).items():
            seen[key] = max(seen.get(key, 0.0), ratio)
    doc = {
        "about": f"bench/check.py ceilings: the highest ratio of {len(runs)} run(s) x {MARGIN}, "
        f"at least + {SLACK}; `bench/check.py RUN.json... --record` rewrites them",
        **size_of(runs[0]),
        "measured": {k: round(v, 2) for k, v in sorted(seen.items())},
        "ceilings": {k: round(max(v * MARGIN, v + SLACK), 2) for k, v in sorted(seen.items())},
    }
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"bench/check: wrote {len(seen)} ceilings to {path}")


def check(run: dict[str, Any], ceilings: dict[str, Any]) -> int:
    if size_of(run) != size_of(ceilings):
        print(f"bench/check: the run is of size {size_of(run)}, the ceilings are for "
              f"{size_of(ceilings)}")  # fmt: skip
        return 1
    got = rows_of(run)
    failed = []
    print(f"{'row':<28} {'ratio':>7} {'ceiling':>8}")
    for key, ceiling in ceilings["ceilings"].items():
        ratio = got.get(key)
        if ratio is None:
            failed.append(f"{key}: not in the run")
            print(f"{key:<28} {'-':>7} {ceiling:7.2f}x  MISSING")
            continue
        ok = ratio <= ceiling
        print(f"{key:<28} {ratio:6.2f}x {ceiling:7.2f}x  {'ok' if ok else 'OVER'}")
        if not ok:
            failed.append(f"{key}: ratio {ratio:.2f}x over its ceiling {ceiling:.2f}x")
    for why in failed:
        print(f"bench/check: {why}")
    if not failed:
        print(f"bench/check: {len(ceilings['ceilings'])} rows under their ceilings")
    return 1 if failed else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, metavar="RUN.json")
    ap.add_argument("--ceilings", type=Path, default=HERE / "ceilings.json")
    ap.add_argument("--record", action="store_true", help="write the ceilings from these runs")
    a = ap.parse_args()
    runs = [json.loads(p.read_text()) for p in a.runs]
    if a.record:
        record(runs, a.ceilings)
        return 0
    if len(runs) != 1:
        raise SystemExit("bench/check: one run to check")
    return check(runs[0], json.loads(a.ceilings.read_text()))


if __name__ == "__main__":
    sys.exit(main())
