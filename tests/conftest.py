"""Shared test fixtures: the wfrewrite CLI, shells, podman and the test bed's images.

Tests that need podman skip when it is missing, unless WFREWRITE_REQUIRE_PODMAN=1 (set by .ci/run),
which turns a missing podman into a failure so that CI can never go green by skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED = Path(os.environ.get("WFREWRITE_SHARED", ROOT.parent / "shared"))
BIN = Path(sys.executable).parent


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.stdout)


def wfrewrite(
    *args: str,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> Result:
    """Run the installed ``wfrewrite`` command as a user would."""
    exe = BIN / "wfrewrite"
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run(
        [str(exe), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(p.returncode, p.stdout, p.stderr)


def _podman_ok() -> str | None:
    if not shutil.which("podman"):
        return "podman is not installed (run ../shared/testbed/podman-setup.sh)"
    p = subprocess.run(
        ["podman", "image", "exists", "docker.io/library/busybox:latest"],
        capture_output=True,
        check=False,
    )
    if p.returncode != 0:
        return "the test bed's images are missing (run ../shared/testbed/build-images.sh)"
    return None


_PODMAN_WHY = _podman_ok()


def need_podman() -> None:
    if _PODMAN_WHY is None:
        return
    if os.environ.get("WFREWRITE_REQUIRE_PODMAN") == "1":
        pytest.fail(f"podman is required here: {_PODMAN_WHY}")
    pytest.skip(_PODMAN_WHY)


@pytest.fixture
def podman() -> None:
    need_podman()


def shells() -> list[tuple[str, list[str]]]:
    """The POSIX shells every script must run under: dash, busybox ash, bash."""
    found = []
    for name, argv in (("dash", ["dash"]), ("busybox", ["busybox", "sh"]), ("bash", ["bash"])):
        if shutil.which(argv[0]):
            found.append((name, argv))
        elif os.environ.get("WFREWRITE_REQUIRE_SHELLS") == "1":
            raise RuntimeError(f"{argv[0]} is required (apt-get install dash busybox)")
    return found


@pytest.fixture(scope="session")
def busybox_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding only busybox applets, so PATH=<it> is a busybox userland."""
    if not shutil.which("busybox"):
        pytest.skip("busybox is not installed")
    d = tmp_path_factory.mktemp("busybox-bin")
    subprocess.run(["busybox", "--install", "-s", str(d)], check=True)
    return d
