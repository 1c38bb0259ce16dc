"""Run mypy on the package as it installs (wfrewrite.cli = cli/, wfrewrite.compiler = compiler/...).

    python tools/typecheck.py        # (make check)

mypy cannot follow setuptools' editable-install finder, so this lays the namespace package
``wfrewrite`` out as a tree of symlinks under build/typecheck/ and checks that (import-linter
reads the same tree). It also proves mypy really ran: a deliberately wrong snippet must fail.
"""

import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FARM = os.path.join(ROOT, "build", "typecheck")
PACKAGES = {
    "wfrewrite/cli": "cli",
    "wfrewrite/compiler": "compiler",
    "wfrewrite/runtime": "runtime",
}


def farm() -> str:
    """build/typecheck/wfrewrite/..., one symlink per source file (rebuilt each time)."""
    shutil.rmtree(FARM, ignore_errors=True)
    for pkg, folder in PACKAGES.items():
        src_top = os.path.join(ROOT, folder)
        for dirpath, dirnames, filenames in os.walk(src_top):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            dest = os.path.join(FARM, pkg, os.path.relpath(dirpath, src_top))
            os.makedirs(dest, exist_ok=True)
            for name in filenames:
                if name.endswith(".py"):
                    os.symlink(os.path.join(dirpath, name), os.path.join(dest, name))
    return FARM


def mypy(*args: str) -> int:
    cmd = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        os.path.join(ROOT, "pyproject.toml"),
        *args,
    ]
    return subprocess.run(cmd, cwd=farm(), check=False).returncode


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "bad.py")
        with open(bad, "w") as f:
            f.write("x: int = 'not an int'\n")
        if (
            subprocess.run(
                [sys.executable, "-m", "mypy", bad], capture_output=True, check=False
            ).returncode
            == 0
        ):
            print("mypy accepted a type error: it is not really running", file=sys.stderr)
            return 1
    return mypy("-p", "wfrewrite")


if __name__ == "__main__":
    sys.exit(main())
