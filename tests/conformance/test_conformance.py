"""The conformance suites of ../shared/conformance: the WDL suites through `wfrewrite run`, the
CWL v1.2 development subset through cwltest and `wfrewrite-cwl-runner`, with `local`, `podman`,
podman with `--transport url` (nothing mounted), and both through Toil `--no-appliance`. Each run
must reach its floor in tests/conformance/floors.json.
`make test` runs the runs not marked FULL; `make test-conformance` all of them. References on this
machine: miniwdl 1.16 with no container passes 47 of 51 Sprocket tests and 19
of the spec-1.2 task examples; `cwltool --no-container --relax-path-checks` passes 118 of the 129
CWL tests (1 failure, 10 unsupported: the tests that require Docker)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import BIN, ROOT, SHARED, need_podman

pytestmark = pytest.mark.conformance
# The runs `make test` leaves to `make test-conformance` (each suite's long runs on a second
# executor, Toil's and Kubernetes' runs, which tests/engines and tests/exec cover end to end);
# `make test` keeps Sprocket and spec-1.2 on podman, CWL over the url transport and CWL on
# Funnel (s3).
FULL = pytest.mark.full

FLOORS = json.loads((ROOT / "tests" / "conformance" / "floors.json").read_text())
WDL = SHARED / "conformance" / "wdl"
CWL = SHARED / "conformance" / "cwl-v1.2"
SUITES = {
    "sprocket": ["--sprocket-slashes", "--path-re", "^(/(tmp|mnt|root|home)/|attempts/)"],
    "spec-1.2": [],
}
URL_STORE = "http://127.0.0.1:8089/wfr-conformance/"  # the test bed's nginx (objstore fixture)
TOIL_ENV = {"PATH": f"{BIN}:{os.environ.get('PATH', '')}"}  # Toil's workers are on PATH


def wdl_suite(
    suite: str, key: str, cmd: str, tmp_path, *extra: str, env: dict[str, str] | None = None
) -> None:  # type: ignore[no-untyped-def]
    """Run the driver with ``cmd`` over ``suite``; its pass count must reach FLOORS[suite][key]."""
    if not (WDL / suite).is_dir():
        pytest.fail(f"{WDL / suite} is missing (../shared must sit beside the checkout)")
    p = subprocess.run(
        [
            sys.executable,
            str(WDL / "tools" / "run_wdl_tests.py"),
            "--suite",
            ".",
            "-j",
            "2",
            "--timeout",
            "300",
            *SUITES[suite],
            *extra,
            "--cmd",
            cmd,
            "--json-report",
            str(tmp_path / "report.json"),
        ],
        cwd=WDL / suite,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    m = re.search(r"(\d+) passed, (\d+) failed", p.stdout)
    assert m, p.stdout + p.stderr
    passed, failed = int(m.group(1)), int(m.group(2))
    print(f"{suite} ({key}): {passed} passed, {failed} failed")
    floor = FLOORS[suite][key]
    assert passed >= floor, (
        f"{suite}/{key}: {passed} passed, below the floor {floor}\n{p.stdout[-4000:]}"
    )


def cwl_suite(
    key: str,
    tool: str,
    *runner_args: str,
    env: dict[str, str] | None = None,
    revive: Callable[[], str | None] | None = None,
) -> None:
    """cwltest over the development subset with ``tool`` (and its extra arguments). ``revive``
    starts again a platform that died under the run (what it said as it died, None if it did
    not): the tests that failed are then run once more, and the two counts added."""
    tests = CWL / "conformance_tests.dev.yaml"
    if not tests.is_file():
        pytest.fail(f"{tests} is missing (../shared must sit beside the checkout)")
    total = len(re.findall(r"^- id:", tests.read_text(), re.M))
    passed, failed, out = _cwltest(tests, total, tool, runner_args, env)
    died = revive() if revive is not None else None
    if died is not None and failed:
        print(f"cwl-v1.2 ({key}): the platform died under the run ({died}): {len(failed)} re-run")
        again, failed, out = _cwltest(tests, len(failed), tool, runner_args, env, failed)
        passed += again
    print(f"cwl-v1.2 ({key}): {passed} of {total} passed; failed: {failed}")
    floor = FLOORS["cwl-v1.2"][key]
    assert passed >= floor, (
        f"cwl-v1.2/{key}: {passed} passed, below the floor {floor}\n{out[-4000:]}"
    )


def _cwltest(
    tests: Path,
    total: int,
    tool: str,
    runner_args: tuple[str, ...],
    env: dict[str, str] | None,
    only: list[str] | None = None,
) -> tuple[int, list[str], str]:
    """One cwltest run (of the tests numbered ``only``, else all ``total``): how many passed,
    the numbers of those that failed or timed out, and what it printed."""
    p = subprocess.run(
        [
            str(BIN / "cwltest"),
            "--test",
            tests.name,
            *(["-n", ",".join(only)] if only else []),
            "--tool",
            tool,
            "-j",
            "2",
            "--timeout",
            "300",
            "--",
            *runner_args,
        ],
        cwd=CWL,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    out = p.stdout + p.stderr
    m = re.search(r"(\d+) tests passed", out)
    if m:
        passed = int(m.group(1))
    else:
        assert "All tests passed" in out, out[-4000:]
        passed = total
    return passed, re.findall(r"^Test (\d+) (?:failed|timed out): ", out, re.M), out


def wfrewrite_cmd(*args: str) -> str:
    return f"{BIN / 'wfrewrite'} run {{wdl}} -i {{input}} -o {{output}} {{task_flag}} " + " ".join(
        args
    )


@pytest.mark.parametrize("executor", [pytest.param("local", marks=FULL), "podman"])
@pytest.mark.parametrize("suite", list(SUITES))
def test_wdl_suite(suite: str, executor: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if executor == "podman":
        need_podman()
    wdl_suite(suite, executor, wfrewrite_cmd("--executor", executor), tmp_path)


@FULL
@pytest.mark.parametrize("suite", list(SUITES))
def test_wdl_suite_url(suite: str, objstore, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Each suite with podman and `--transport url`: same floor as with the mount."""
    need_podman()
    cmd = wfrewrite_cmd("--executor", "podman", "--transport", "url", "--store", URL_STORE)
    wdl_suite(suite, "podman-url", cmd, tmp_path)


@pytest.mark.parametrize(
    "executor",
    [pytest.param("local", marks=FULL), pytest.param("podman", marks=FULL), "podman-url"],
)
def test_cwl_suite(executor: str, request) -> None:  # type: ignore[no-untyped-def]
    """podman-url: podman with `--transport url` (nothing mounted) through the test bed's nginx."""
    args = ["--executor", executor]
    if executor != "local":
        need_podman()
    if executor == "podman-url":
        request.getfixturevalue("objstore")
        args = ["--executor", "podman", "--transport", "url", "--store", URL_STORE]
    cwl_suite(executor, str(BIN / "wfrewrite-cwl-runner"), *args)


@FULL
def test_sprocket_through_toil(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Sprocket through `toil-wdl-runner --no-appliance` (Toil's own WDL interpreter, each task a
    wfrewrite script in podman)."""
    need_podman()
    cmd = (
        f"{BIN / 'toil-wdl-runner'} {{wdl}} {{input}} --no-appliance --wfrewrite-executor podman "
        "--jobStore {workdir}/js --outputDirectory {workdir}/out --logLevel ERROR"
    )
    wdl_suite("sprocket", "toil", cmd, tmp_path, "--task-flag", "", env=TOIL_ENV)


@FULL
def test_cwl_through_toil() -> None:
    """The CWL subset through `toil-cwl-runner --no-appliance` (each tool a wfrewrite script)."""
    need_podman()
    cwl_suite(
        "toil",
        str(BIN / "toil-cwl-runner"),
        "--no-appliance",
        "--wfrewrite-executor",
        "podman",
        "--logLevel",
        "ERROR",
        env=TOIL_ENV,
    )
