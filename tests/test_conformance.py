"""The conformance suites of ../shared/conformance, with the `local` and the `podman` executor:
the WDL suites through `wfrewrite run`, the CWL v1.2 development subset through cwltest and
`wfrewrite-cwl-runner`. Each run must reach the floor in tests/conformance_floors.json.
References on this machine: miniwdl 1.16 with no container passes 47 of 51 Sprocket tests and 19
of the spec-1.2 task examples; `cwltool --no-container --relax-path-checks` passes 118 of the 129
CWL tests (1 failure, 10 unsupported: the tests that require Docker)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import BIN, ROOT, SHARED, need_podman

pytestmark = pytest.mark.conformance

FLOORS = json.loads((ROOT / "tests" / "conformance_floors.json").read_text())
WDL = SHARED / "conformance" / "wdl"
CWL = SHARED / "conformance" / "cwl-v1.2"
SUITES = {
    "sprocket": ["--sprocket-slashes", "--path-re", "^(/(tmp|mnt|root|home)/|attempts/)"],
    "spec-1.2": [],
}


@pytest.mark.parametrize("executor", ["local", "podman"])
@pytest.mark.parametrize("suite", list(SUITES))
def test_wdl_suite(suite: str, executor: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if not (WDL / suite).is_dir():
        pytest.fail(f"{WDL / suite} is missing (../shared must sit beside the checkout)")
    if executor == "podman":
        need_podman()
    report = tmp_path / "report.json"
    cmd = f"{BIN / 'wfrewrite'} run {{wdl}} -i {{input}} -o {{output}} {{task_flag}} --executor {executor}"
    p = subprocess.run(
        [
            sys.executable,
            str(WDL / "tools" / "run_wdl_tests.py"),
            "--suite",
            ".",
            "-j",
            "2",
            "--timeout",
            "180",
            *SUITES[suite],
            "--cmd",
            cmd,
            "--json-report",
            str(report),
        ],
        cwd=WDL / suite,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    m = re.search(r"(\d+) passed, (\d+) failed", p.stdout)
    assert m, p.stdout + p.stderr
    passed, failed = int(m.group(1)), int(m.group(2))
    print(f"{suite} with {executor}: {passed} passed, {failed} failed")
    floor = FLOORS[suite][executor]
    assert passed >= floor, (
        f"{suite}/{executor}: {passed} passed, below the floor {floor}\n{p.stdout[-4000:]}"
    )


@pytest.mark.parametrize("executor", ["local", "podman", "podman-url"])
def test_cwl_suite(executor: str, tmp_path, request) -> None:  # type: ignore[no-untyped-def]
    """podman-url: podman with `--transport url` (nothing mounted) through the test bed's nginx."""
    tests = CWL / "conformance_tests.dev.yaml"
    if not tests.is_file():
        pytest.fail(f"{tests} is missing (../shared must sit beside the checkout)")
    runner_args = ["--executor", executor]
    if executor != "local":
        need_podman()
    if executor == "podman-url":
        request.getfixturevalue("objstore")
        runner_args = ["--executor", "podman", "--transport", "url", "--store", URL_STORE]
    p = subprocess.run(
        [
            str(BIN / "cwltest"),
            "--test",
            tests.name,
            "--tool",
            str(BIN / "wfrewrite-cwl-runner"),
            "-j",
            "2",
            "--timeout",
            "180",
            "--junit-xml",
            str(tmp_path / "junit.xml"),
            "--",
            *runner_args,
        ],
        cwd=CWL,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    out = p.stdout + p.stderr
    total = len(re.findall(r"^- id:", tests.read_text(), re.M))
    m = re.search(r"(\d+) tests passed, (?:\d+ failures, )?\d+ unsupported features", out)
    if m:
        passed = int(m.group(1))
    else:
        assert "All tests passed" in out, out[-4000:]
        passed = total
    failed = re.findall(r"^Test \d+ failed: .*? (tests/\S+) ", out, re.M)
    print(f"cwl-v1.2 with {executor}: {passed} of {total} passed; failed: {failed}")
    floor = FLOORS["cwl-v1.2"][executor]
    assert passed >= floor, (
        f"cwl-v1.2/{executor}: {passed} passed, below the floor {floor}\n{out[-4000:]}"
    )


# -- the url transport: nothing mounted, inputs and outputs through the test bed's nginx ----------

URL_STORE = "http://127.0.0.1:8089/wfr-conformance/"


@pytest.mark.parametrize("suite", list(SUITES))
def test_wdl_suite_url(suite: str, objstore, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Each suite with podman and `--transport url`: same floor as with the mount."""
    need_podman()
    report = tmp_path / "report.json"
    cmd = (
        f"{BIN / 'wfrewrite'} run {{wdl}} -i {{input}} -o {{output}} {{task_flag}} "
        f"--executor podman --transport url --store {URL_STORE}"
    )
    p = subprocess.run(
        [
            sys.executable,
            str(WDL / "tools" / "run_wdl_tests.py"),
            "--suite",
            ".",
            "-j",
            "2",
            "--timeout",
            "180",
            *SUITES[suite],
            "--cmd",
            cmd,
            "--json-report",
            str(report),
        ],
        cwd=WDL / suite,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
    m = re.search(r"(\d+) passed, (\d+) failed", p.stdout)
    assert m, p.stdout + p.stderr
    passed, failed = int(m.group(1)), int(m.group(2))
    print(f"{suite} with podman and the url transport: {passed} passed, {failed} failed")
    floor = FLOORS[suite]["podman-url"]
    assert passed >= floor, (
        f"{suite}/podman-url: {passed} passed, below the floor {floor}\n{p.stdout[-4000:]}"
    )


# -- the same suites through Toil, `--no-appliance` (each task a wfrewrite script, podman) -------


def test_sprocket_through_toil(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Sprocket through `toil-wdl-runner --no-appliance` (Toil's own WDL interpreter)."""
    need_podman()
    cmd = (
        f"{BIN / 'toil-wdl-runner'} {{wdl}} {{input}} --no-appliance --wfrewrite-executor podman "
        "--jobStore {workdir}/js --outputDirectory {workdir}/out --logLevel ERROR"
    )
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
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
            *SUITES["sprocket"],
            "--task-flag",
            "",
            "--cmd",
            cmd,
            "--json-report",
            str(tmp_path / "r.json"),
        ],
        cwd=WDL / "sprocket",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    m = re.search(r"(\d+) passed, (\d+) failed", p.stdout)
    assert m, p.stdout + p.stderr
    passed = int(m.group(1))
    print(f"sprocket through toil-wdl-runner --no-appliance: {passed} passed, {m.group(2)} failed")
    floor = FLOORS["sprocket"]["toil"]
    assert passed >= floor, (
        f"sprocket/toil: {passed} passed, below the floor {floor}\n{p.stdout[-4000:]}"
    )


def test_cwl_through_toil(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The CWL subset through `toil-cwl-runner --no-appliance` (cwltest)."""
    need_podman()
    tests = CWL / "conformance_tests.dev.yaml"
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    p = subprocess.run(
        [
            str(BIN / "cwltest"),
            "--test",
            tests.name,
            "--tool",
            str(BIN / "toil-cwl-runner"),
            "-j",
            "2",
            "--timeout",
            "300",
            "--",
            "--no-appliance",
            "--wfrewrite-executor",
            "podman",
            "--logLevel",
            "ERROR",
        ],
        cwd=CWL,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    out = p.stdout + p.stderr
    m = re.search(r"(\d+) tests passed", out)
    total = len(re.findall(r"^- id:", tests.read_text(), re.M))
    passed = int(m.group(1)) if m else (total if "All tests passed" in out else -1)
    assert passed >= 0, out[-4000:]
    failed = re.findall(r"^Test \d+ failed: .*? (tests/\S+) ", out, re.M)
    print(
        f"cwl-v1.2 through toil-cwl-runner --no-appliance: {passed} of {total} passed; failed: {failed}"
    )
    floor = FLOORS["cwl-v1.2"]["toil"]
    assert passed >= floor, (
        f"cwl-v1.2/toil: {passed} passed, below the floor {floor}\n{out[-4000:]}"
    )
