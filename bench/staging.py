"""bench/staging: the url transport's transfers against plain curl, inside a container.

Two workloads, each downloaded inside a container over loopback from the test bed's nginx and
uploaded back to it, with nothing mounted:

    big    one file of 1 GiB
    many   1,000 files of 64 KiB

timed side by side, in rotating order, for several rounds:

    curl       `curl -o` then `curl -T` (big); `xargs -P N curl -o` then `xargs -P N curl -T`
               (many), in a shell in the container
    wfrewrite  the task's script (`sh -c SCRIPT`, the url transport, N transfers at a time) whose
               command only moves its input to its output: it downloads, checks sizes, renames,
               uploads, takes the sha1 of what it uploads and commits a manifest

Each run is one `podman run --rm --network host` of the same image (Debian with curl, built once
from the host's apt as localhost/wfr-bench-curl:1), so container start-up is in both. It prints
the median wall time of each and the ratio curl/wfrewrite (1.0: as fast as plain curl; the goals
are >= 0.9 for big, >= 0.8 for many). Usage:

    python bench/staging.py [--rounds 3] [--parallel 4] [--size-mib 1024] [--files 1000]

Needs the test bed (podman-setup.sh, build-images.sh, object-store.sh start) and about 3 GiB of
disk. Timings on a shared machine are noisy: compare the ratios of one quiet run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from wfrewrite.compiler.emit import emit
from wfrewrite.compiler.plan import Capture, Command, Layout, StageItem, TaskPlan, check
from wfrewrite.runtime.options import Options
from wfrewrite.runtime.transport import url as transport_url

IMAGE = "localhost/wfr-bench-curl:1"
BASE_IMAGE = "docker.io/library/debian:bookworm-slim"
NGINX = "http://127.0.0.1:8089"
WWW = Path(os.environ.get("STATE", "/tmp/infra-objstore")) / "www"
HERE = Path(__file__).resolve().parent
OBJSTORE = HERE.parent.parent / "shared" / "testbed" / "object-store.sh"


def sh(*argv: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]


def ensure_image() -> None:
    """Debian bookworm-slim plus curl and the libraries it needs, from the host's apt."""
    if sh("podman", "image", "exists", IMAGE).returncode == 0:
        return
    print(f"building {IMAGE} (curl from the host's apt) ...", file=sys.stderr)
    have = set(
        sh(
            "podman", "run", "--rm", BASE_IMAGE, "dpkg-query", "-W", "-f", "${Package}\n"
        ).stdout.split()
    )
    deps = sh(
        "apt-cache",
        "depends",
        "--recurse",
        "--no-recommends",
        "--no-suggests",
        "--no-conflicts",
        "--no-breaks",
        "--no-replaces",
        "--no-enhances",
        "curl",
    ).stdout.split("\n")
    need = sorted({d for d in deps if d and d[0].isalnum()} - have)
    with tempfile.TemporaryDirectory() as d:
        p = sh("apt-get", "download", *need, cwd=d)
        if p.returncode != 0:
            raise SystemExit(f"apt-get download failed:\n{p.stderr}")
        Path(d, "Containerfile").write_text(
            f"FROM {BASE_IMAGE}\nCOPY *.deb /tmp/debs/\n"
            "RUN dpkg -i /tmp/debs/*.deb && rm -rf /tmp/debs && curl --version\n"
        )
        p = sh("podman", "build", "--pull=never", "-t", IMAGE, d)
        if p.returncode != 0:
            raise SystemExit(f"podman build failed:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")


def ensure_data(size_mib: int, files: int) -> None:
    big = WWW / "bench-staging" / "big.bin"
    big.parent.mkdir(parents=True, exist_ok=True)
    if not big.exists() or big.stat().st_size != size_mib << 20:
        with open(big, "wb") as f:
            for _ in range(size_mib):
                f.write(os.urandom(1 << 20))
    small = WWW / "bench-staging" / "small"
    small.mkdir(exist_ok=True)
    for i in range(files):
        p = small / f"f{i:04d}.bin"
        if not p.exists():
            p.write_bytes(os.urandom(64 << 10))


def names(files: int) -> list[str]:
    return [f"f{i:04d}.bin" for i in range(files)]


def curl_script(workload: str, files: int, parallel: int, out: str) -> str:
    """The baseline: plain curl (xargs -P for many files) in the container's shell."""
    src = f"{NGINX}/bench-staging"
    dst = f"{NGINX}/bench-staging/{out}"
    if workload == "big":
        return (
            "set -e; mkdir -p /tmp/w; cd /tmp/w\n"
            f"curl -sS -o big.bin {src}/big.bin\n"
            f"curl -sS -H 'Expect:' -T big.bin {dst}/big.bin\n"
        )
    # the lists are made in the container (a script of 1,000 URLs would not fit in one argv word)
    each = f"i=0; while [ $i -lt {files} ]; do n=$(printf f%04d.bin $i); i=$((i + 1)); "
    return (
        "set -e; mkdir -p /tmp/w; cd /tmp/w\n"
        + each
        + f"printf -- '-o\\n%s\\n%s\\n' $n {src}/small/$n; done"
        + f" | xargs -P {parallel} -n 3 curl -sS\n"
        + each
        + f"printf -- '-T\\n%s\\n%s\\n' $n {dst}/$n; done"
        + f" | xargs -P {parallel} -n 3 curl -sS -H 'Expect:'\n"
    )


def wfrewrite_script(workload: str, files: int, parallel: int, out: str, size_mib: int) -> str:
    root = "/tmp/wfr"
    lay = Layout.under(root)
    if workload == "big":
        stage = (
            StageItem(
                source=f"{NGINX}/bench-staging/big.bin",
                path=f"{root}/work/in/big.bin",
                size=size_mib << 20,
            ),
        )
        command = "mv in/big.bin big.bin\n"
        captures = (Capture(output="o", kind="path", pattern="big.bin"),)
    else:
        stage = tuple(
            StageItem(
                source=f"{NGINX}/bench-staging/small/{n}", path=f"{root}/work/in/{n}", size=64 << 10
            )
            for n in names(files)
        )
        command = "mv in out\n"
        captures = (Capture(output="o", kind="directory", pattern="out"),)
    plan = TaskPlan(
        name=f"staging_{workload}",
        lang="wdl",
        layout=lay,
        stage=stage,
        command=Command(script=command),
        stdout=f"{root}/stdout.txt",
        stderr=f"{root}/stderr.txt",
        outputs=("o",),
        captures=captures,
    )
    # what `wfrewrite run --transport url --store http://127.0.0.1:8089/bench-staging/` does: the
    # inputs are URLs already, the outputs go under <store><run>/out/, a long staging list is
    # one more download
    opts = Options(transport="url", store=f"{NGINX}/bench-staging/", url_parallel=parallel)
    return emit(transport_url.UrlTransport(opts).bind(check(plan), run_key=out))


def timed_run(script: str) -> float:
    name = f"wfr-bench-{uuid.uuid4().hex[:8]}"
    argv = ["podman", "run", "--rm", "--name", name, "--network", "host", "--entrypoint", "/bin/sh"]
    argv += [IMAGE, "-c", script, "bench"]
    t0 = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(
            f"a run failed (exit {p.returncode}):\n{p.stdout[-2000:]}{p.stderr[-2000:]}"
        )
    return wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--only", choices=("big", "many"))
    a = ap.parse_args()
    for tool in ("podman", "apt-get"):
        if not shutil.which(tool):
            raise SystemExit(f"bench/staging needs {tool} (see ../shared/testbed)")
    started = False
    if sh("curl", "-s", "-o", "/dev/null", NGINX + "/").returncode != 0:
        if not OBJSTORE.exists():
            raise SystemExit(
                "nginx is not running on 127.0.0.1:8089 (../shared/testbed/object-store.sh start)"
            )
        sh("bash", str(OBJSTORE), "start")
        started = True
    try:
        ensure_image()
        ensure_data(a.size_mib, a.files)
        workloads = [a.only] if a.only else ["big", "many"]
        times: dict[tuple[str, str], list[float]] = {}
        for r in range(a.rounds):
            for workload in workloads:
                order = ["curl", "wfrewrite"] if r % 2 == 0 else ["wfrewrite", "curl"]
                for who in order:
                    out = f"out-{who}-{uuid.uuid4().hex[:6]}"
                    script = (
                        curl_script(workload, a.files, a.parallel, out)
                        if who == "curl"
                        else wfrewrite_script(workload, a.files, a.parallel, out, a.size_mib)
                    )
                    t = timed_run(script)
                    times.setdefault((workload, who), []).append(t)
                    print(f"round {r + 1} {workload:4} {who:9} {t:7.2f}s", file=sys.stderr)
                    shutil.rmtree(WWW / "bench-staging" / out, ignore_errors=True)
        print(f"\nbench/staging: median of {a.rounds} rounds, {a.parallel} transfers at a time")
        print(f"{'workload':34} {'curl':>8} {'wfrewrite':>10} {'curl/wfrewrite':>15}")
        for workload in workloads:
            c = statistics.median(times[(workload, "curl")])
            w = statistics.median(times[(workload, "wfrewrite")])
            label = (
                f"big: 1 x {a.size_mib} MiB down + up"
                if workload == "big"
                else f"many: {a.files} x 64 KiB down + up"
            )
            print(f"{label:34} {c:7.2f}s {w:9.2f}s {c / w:14.2f}x")
    finally:
        if started:
            sh("bash", str(OBJSTORE), "stop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
