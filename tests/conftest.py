"""Shared test fixtures: the wfrewrite CLI, shells, podman and the test bed's images.

Tests that need podman skip when it is missing, unless WFREWRITE_REQUIRE_PODMAN=1 (set by .ci/run),
which turns a missing podman into a failure so that CI can never go green by skipping.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
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


NO_AWS = {  # nothing of botocore's credential chain (an empty variable counts as unset; the
    # tests run without AWS_PROFILE and the container-role variables, which count when set at all)
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_SESSION_TOKEN": "",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_EC2_METADATA_DISABLED": "true",
}


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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The tally of hostile values (tests/hostile/hostile.py) and of the fault campaign
    (tests/transport/campaign.py), when those tests ran."""
    hostile = sys.modules.get("hostile")
    if hostile is not None:
        hostile.terminal_summary(terminalreporter.write_line)
    campaign_summary(terminalreporter)


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


# -- the test bed's object stores (../shared/testbed/object-store.sh) ---------------------------

OBJSTORE_SH = SHARED / "testbed" / "object-store.sh"
OBJSTORE_STATE = Path(os.environ.get("STATE", "/tmp/infra-objstore"))


@dataclass
class ObjectStores:
    """nginx (GET/PUT under http://127.0.0.1:8089/, files in ``www``) and SeaweedFS (S3 with real
    SigV4 and expiry checks, key/secret ``testing``) on 127.0.0.1."""

    http: str
    https: str
    https_ca: str
    seaweed: str
    www: Path

    def s3(self):  # type: ignore[no-untyped-def]
        import boto3
        from botocore.config import Config

        cfg = Config(signature_version="s3v4", s3={"addressing_style": "path"})
        return boto3.client(
            "s3",
            endpoint_url=self.seaweed,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
            config=cfg,
        )

    def make_bucket(self, bucket: str):  # type: ignore[no-untyped-def]
        """The S3 client, with ``bucket`` made if it was not there."""
        s3 = self.s3()
        try:
            s3.create_bucket(Bucket=bucket)
        except s3.exceptions.ClientError as e:
            if e.response["Error"]["Code"] not in (
                "BucketAlreadyOwnedByYou",
                "BucketAlreadyExists",
            ):
                raise
        return s3


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def objstore() -> Iterator[ObjectStores]:
    """The object stores; started with object-store.sh (and stopped, by the PIDs it recorded)
    when they are not running already. Tests then talk to 127.0.0.1 only."""
    started = False
    if not (_port_open(8089) and _port_open(8333)):
        why = None
        if not OBJSTORE_SH.exists():
            why = f"{OBJSTORE_SH} is missing"
        elif os.geteuid() != 0:
            why = "the object stores are not running and starting them needs root"
        if why:
            if os.environ.get("WFREWRITE_REQUIRE_PODMAN") == "1":
                pytest.fail(why)
            pytest.skip(why)
        p = subprocess.run(
            ["bash", str(OBJSTORE_SH), "start"], capture_output=True, text=True, check=False
        )
        if p.returncode != 0:
            pytest.fail(f"object-store.sh start failed:\n{p.stderr[-3000:]}")
        started = True
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    stores = ObjectStores(
        http="http://127.0.0.1:8089",
        https="https://127.0.0.1:8443",
        https_ca=str(OBJSTORE_STATE / "tls" / "cert.pem"),
        seaweed="http://127.0.0.1:8333",
        www=OBJSTORE_STATE / "www",
    )
    s3 = stores.make_bucket("wfr-tests")
    try:
        yield stores
    finally:
        # what the tests wrote: their own prefixes on nginx, their own bucket on SeaweedFS
        for d in ("wfr-tests", "wfr-podman", "wfr-conformance"):
            shutil.rmtree(stores.www / d, ignore_errors=True)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="wfr-tests"):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket="wfr-tests", Key=obj["Key"])
        if started:
            subprocess.run(["bash", str(OBJSTORE_SH), "stop"], capture_output=True, check=False)


# -- HTTP clients for the url transport's scripts --------------------------------------------------

# client set -> (tools linked beside BusyBox's applets, what the log says it uses)
CLIENTS = {
    "curl": (["curl"], "downloads with curl, uploads with curl"),
    "wget": (["wget"], "downloads with wget, uploads with wget"),
    "busybox": ([], "downloads with bbwget, uploads with nc"),
    "python": (["python3"], "downloads with python, uploads with python"),
    "perl": (["perl"], "downloads with perl, uploads with perl"),
    "bash": (["bash"], "downloads with bash, uploads with bash"),
}
SYSTEM_PATH = "/usr/bin:/bin"


@pytest.fixture(scope="session")
def client_path(tmp_path_factory: pytest.TempPathFactory, busybox_bin: Path) -> dict[str, Path]:
    """One PATH directory per client set: BusyBox's applets (without its wget and nc unless the
    set is "busybox") plus that client, linked from the host."""
    out = {}
    for name, (tools, _) in CLIENTS.items():
        d = tmp_path_factory.mktemp(f"path-{name}")
        subprocess.run(["busybox", "--install", "-s", str(d)], check=True)
        if name != "busybox":
            for applet in ("wget", "nc"):
                (d / applet).unlink(missing_ok=True)
        for tool in tools:
            real = shutil.which(tool, path=SYSTEM_PATH)
            if real is None:
                pytest.skip(f"{tool} is not installed in {SYSTEM_PATH}")
            (d / tool).unlink(missing_ok=True)
            (d / tool).symlink_to(os.path.realpath(real))
        out[name] = d
    return out


# -- the test bed's platforms: Funnel (TES) and Kubernetes --------------------------------------


def _start(script: str, what: str, timeout: float) -> None:
    """``script start`` (idempotent; builds once per machine); a failure is a test failure."""
    path = SHARED / "testbed" / script
    if not path.exists():
        pytest.fail(f"{path} is missing (../shared must sit beside the checkout)")
    if os.geteuid() != 0:
        pytest.fail(f"{what} is not running and starting it needs root")
    p = subprocess.run(
        ["bash", str(path), "start"], capture_output=True, text=True, timeout=timeout, check=False
    )
    if p.returncode != 0:
        pytest.fail(f"{script} start failed:\n{p.stderr[-3000:]}")


TES_URL = "http://127.0.0.1:8000"
FUNNEL_LOG = Path(os.environ.get("FUNNEL_STATE", "/tmp/infra-funnel")) / "logs" / "funnel.log"
# Funnel's deaths this session (what its log said): printed at the end of the session
FUNNEL_DEATHS: list[str] = []
_funnel_lock = threading.Lock()
_funnel_seen = False


def revive_funnel() -> str | None:
    """Start the test bed's Funnel if it is not running; if it ran earlier this session (it
    died: Funnel 0.12.2 dies now and then of a data race in its S3 downloads' debug logging,
    ``fatal error: concurrent map iteration and map write``), what its log said as it died,
    else None. The dead one's log is kept beside (``funnel.log.died-<time>``): funnel.sh
    starts a new one."""
    global _funnel_seen
    with _funnel_lock:
        if _port_open(8000):
            _funnel_seen = True
            return None
        said = None
        if _funnel_seen:
            said = funnel_last_words() or "nothing in its log"
            if FUNNEL_LOG.exists():
                shutil.copy(FUNNEL_LOG, FUNNEL_LOG.with_name(f"funnel.log.died-{int(time.time())}"))
            FUNNEL_DEATHS.append(said)
        # funnel.sh takes a dead Funnel not yet reaped (a zombie) for a live one: again until
        # it listens
        deadline = time.monotonic() + 60
        while True:
            _start("funnel.sh", "Funnel", 1200)
            if _port_open(8000):
                break
            if time.monotonic() > deadline:
                pytest.fail("the test bed's Funnel does not start again (funnel.sh start)")
            time.sleep(1)
        _funnel_seen = True
        return said


def funnel_last_words() -> str | None:
    """What the test bed's Funnel said as it died (its log's last fatal line), if it said."""
    try:
        text = FUNNEL_LOG.read_text(errors="replace")
    except OSError:
        return None
    last = [ln for ln in text.splitlines() if ln.startswith(("fatal error:", "panic:"))]
    return last[-1] if last else None


def funnel_died(_error: object = None) -> bool:
    """Whether the test bed's Funnel is gone (asked as a test that uses it fails)."""
    return _funnel_seen and not _port_open(8000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses Funnel and fails because it died under it (0.12.2's data race, see
    ``revive_funnel``) runs once more, with Funnel started again by its ``funnel`` fixture;
    any other failure stands."""
    for item in items:
        if "funnel" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.flaky(reruns=1, condition=funnel_died))


@pytest.fixture
def funnel(objstore: ObjectStores) -> str:
    """A real GA4GH TES server (Funnel, ../shared/testbed/funnel.sh): its URL. Its s3:// storage
    is the test bed's SeaweedFS, so the object stores come first. Never skips; one that died
    under an earlier test is started again (``revive_funnel``)."""
    revive_funnel()
    return TES_URL


KUBECONFIG = "/var/tmp/testbed/k8s/state/admin.kubeconfig"


@pytest.fixture(scope="session")
def kubernetes(objstore: ObjectStores) -> str:
    """A real single-node Kubernetes (../shared/testbed/k8s.sh): the path of its kubeconfig.
    Pods reach the object stores on 127.0.0.1 with hostNetwork. Never skips."""
    if not (_port_open(6443) and os.path.exists(KUBECONFIG)):
        _start("k8s.sh", "Kubernetes", 2400)
    os.environ["KUBECONFIG"] = KUBECONFIG
    return KUBECONFIG


@functools.cache
def slurm_up() -> bool:
    """The test bed's Slurm cluster answers (sbatch alone is not enough: its controller may be
    down, and then sinfo retries for minutes: asked once a session, for 20 s at most)."""
    if not shutil.which("sbatch"):
        return False
    try:
        p = subprocess.run(["sinfo", "-h"], capture_output=True, check=False, timeout=20)
    except subprocess.TimeoutExpired:
        return False
    return p.returncode == 0


def need_slurm() -> None:
    """The test bed's Slurm cluster; a failure where WFREWRITE_REQUIRE_SLURM=1 (CI)."""
    if not slurm_up():
        if os.environ.get("WFREWRITE_REQUIRE_SLURM") == "1":
            pytest.fail("Slurm is required here (../shared/testbed/slurm-setup.sh start)")
        pytest.skip("no Slurm cluster (../shared/testbed/slurm-setup.sh start)")


def slurm_jobs(task: str) -> list[str]:
    """The ids of the Slurm jobs running wfrewrite's task ``task`` (named wfr-<task>-<hex>)."""
    p = subprocess.run(["squeue", "-h", "-o", "%i %j"], capture_output=True, text=True, check=False)
    return [
        jid
        for jid, _, name in (line.partition(" ") for line in p.stdout.splitlines())
        if name.startswith(f"wfr-{task.lower()}-")
    ]


# -- the seeded fault campaign (tests/transport/test_fault_campaign.py, `make test-faults`) ------

# the CI part: a few hundred faults, a fixed seed (so that CI is reproducible; any seed replays)
CAMPAIGN_FAULTS = 300
CAMPAIGN_SEED = 20250101
# the campaigns' tables, printed at the end of the session (pytest -s not needed)
CAMPAIGN_REPORTS: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("wfrewrite fault campaign")
    g.addoption("--fault-seed", type=int, default=None, help="the campaign's seed")
    g.addoption("--faults", type=int, default=None, help="inject at least this many faults")
    g.addoption(
        "--fault-runs", default="", help="only these runs (comma-separated indices): a replay"
    )
    g.addoption("--fault-workers", type=int, default=3, help="runs at a time")
    g.addoption(
        "--fault-lanes",
        default="script,local,podman,slurm,tes,tes-platform",
        help="lanes (comma-separated)",
    )


def campaign_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for said in FUNNEL_DEATHS:
        terminalreporter.write_line(f"the test bed's Funnel died and was started again: {said}")
    for text in CAMPAIGN_REPORTS:
        terminalreporter.write_sep("=", "fault campaign")
        terminalreporter.write_line(text)
