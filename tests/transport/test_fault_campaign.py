"""The seeded fault campaign (campaign.py): the CI part, a few hundred faults on a fixed seed;
`make test-faults` runs the full one (at least 1,000 faults, a new seed unless SEED= says).

    pytest tests/transport/test_fault_campaign.py --fault-seed 7 --faults 1500
    pytest tests/transport/test_fault_campaign.py --fault-seed 7 --fault-runs 17,23   # replay

Every run either succeeds with every output byte-identical (in the store and as the driver
fetched it) or fails with the status and message its faults call for; never a truncated input
reaching the command, never a manifest listing an object that is not all there, never a driver
accepting an object whose size or sha1 differs. The table of faults per kind and place and of
outcomes is printed at the end of the session. A lane whose platform is not there (podman, a
Slurm cluster, the test bed's Funnel for the tes lanes) is left out, and so are the TES runs
after Funnel stops answering during the campaign; where WFREWRITE_REQUIRE_PODMAN=1 either fails
the test."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from campaign import TES_URL, Campaign, Stores, tes_up
from conftest import (
    CAMPAIGN_FAULTS,
    CAMPAIGN_REPORTS,
    CAMPAIGN_SEED,
    ObjectStores,
    revive_funnel,
    slurm_up,
)


def test_fault_campaign(objstore: ObjectStores, request: pytest.FixtureRequest) -> None:
    opt = request.config.getoption
    seed = opt("--fault-seed")
    seed = int(os.environ.get("WFREWRITE_FAULT_SEED", CAMPAIGN_SEED)) if seed is None else seed
    faults = opt("--faults") or CAMPAIGN_FAULTS
    runs = [int(x) for x in opt("--fault-runs").split(",") if x.strip()] or None
    lanes = set(opt("--fault-lanes").split(","))
    require = os.environ.get("WFREWRITE_REQUIRE_PODMAN") == "1"
    tes = tes_up()
    if not tes and os.geteuid() == 0:
        revive_funnel()
        tes = tes_up()
    for lane, there, what in (
        ("podman", bool(shutil.which("podman")), "podman"),
        ("slurm", slurm_up(), "a Slurm cluster"),
        ("tes", tes, f"a TES server at {TES_URL} (../shared/testbed/funnel.sh start)"),
        ("tes-platform", tes, f"a TES server at {TES_URL} (../shared/testbed/funnel.sh start)"),
    ):
        if lane in lanes and not there:
            if require:
                pytest.fail(f"the {lane} lane needs {what}")
            lanes.discard(lane)
    # not under pytest's basetemp: other sessions of the same user prune it; kept on failure
    base = Path(tempfile.mkdtemp(prefix=f"wfr-faults-{seed}-"))
    report = Campaign(
        seed,
        faults,
        Stores(http=objstore.http, seaweed=objstore.seaweed, www=Path(objstore.www)),
        base,
        runs=runs,
        workers=opt("--fault-workers"),
        lanes=lanes,
        revive=revive_funnel if os.geteuid() == 0 else None,
    ).run()
    CAMPAIGN_REPORTS.append(report.text)  # printed at the end of the session
    if report.failures:
        pytest.fail(f"files kept in {base}\n\n" + "\n\n".join(report.failures), pytrace=False)
    shutil.rmtree(base, ignore_errors=True)
    skipped = sorted({r.outcome for r in report.results if r.skipped})
    if require and skipped:  # a lane's server that went away during the campaign
        pytest.fail(f"runs were skipped: {'; '.join(skipped)}", pytrace=False)
    if runs is None:
        assert report.faults >= faults
