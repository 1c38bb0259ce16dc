"""Run mypy on the package as it installs (wfrewrite = cli/, wfrewrite.compiler = compiler/, ...).

mypy cannot follow setuptools' editable-install finder, so this lays the package out as a tree of
symlinks under build/typecheck/ and checks that. It also proves mypy really ran: a deliberately
wrong snippet must fail.
"""

import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FARM = os.path.join(ROOT, "build", "typecheck")
PACKAGES = {"wfrewrite": "cli", "wfrewrite/compiler": "compiler", "wfrewrite/runtime": "runtime"}


def farm() -> str:
    for pkg, folder in PACKAGES.items():
        dest = os.path.join(FARM, pkg)
        os.makedirs(dest, exist_ok=True)
        src = os.path.join(ROOT, folder)
        for name in os.listdir(src):
            if name.endswith(".py"):
                link = os.path.join(dest, name)
                if not os.path.islink(link):
                    os.symlink(os.path.join(src, name), link)
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
