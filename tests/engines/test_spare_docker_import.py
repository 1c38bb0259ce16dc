"""`wfrewrite run` does not import the docker SDK for miniwdl's ``from docker.errors import
BuildError`` (runtime/engines/miniwdl.py spare_docker_import), and docker, imported after
that, is the whole real package. Each case in a fresh interpreter: the stand-in lives in
``sys.modules``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

AFTER = r"""
import sys
from wfrewrite.runtime.engines.miniwdl import spare_docker_import
spare_docker_import()
from docker.errors import BuildError as early  # what miniwdl's _try_task runs
assert "requests" not in sys.modules and "docker" not in sys.modules
import docker
import docker.errors
from docker import errors as via_package
from docker.errors import APIError, BuildError
assert sys.modules["docker.errors"] is docker.errors is via_package, "one real module"
assert BuildError is docker.errors.BuildError and issubclass(BuildError, docker.errors.DockerException)
assert early is not BuildError  # the stand-in's, which no wfrewrite task raises
# the docker modules that took the module itself while the stand-in was there see the real one
from docker import auth
assert auth.errors.BuildError is BuildError and auth.errors.InvalidConfigFile
assert docker.from_env and docker.APIClient
print("ok")
"""


def test_docker_imported_after_the_stand_in_is_the_real_one() -> None:
    p = subprocess.run([sys.executable, "-c", AFTER], capture_output=True, text=True, check=False)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr[-3000:]


RUN = r"""
import json, sys
from wfrewrite.cli.main import main
code = main(["run", SOURCE, "-i", '{"n": 2}', "--executor", "local", "--dir", DIR])
print(json.dumps({"code": code, "docker": "docker" in sys.modules,
                  "requests": "requests" in sys.modules}))
"""


def test_a_wdl_run_imports_neither_docker_nor_requests(tmp_path: Path) -> None:
    code = RUN.replace("SOURCE", repr(str(ROOT / "bench" / "scatter24.wdl")))
    code = code.replace("DIR", repr(str(tmp_path)))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    assert json.loads(p.stdout.splitlines()[-1]) == {
        "code": 0,
        "docker": False,
        "requests": False,
    }, p.stderr[-3000:]
