"""Faults survived: the `url` transport's script behind a fault-injecting proxy (tests/faultproxy.py,
127.0.0.1 only) in front of nginx and SeaweedFS. Connections dropped, 500/503, bodies truncated,
transfers stalled, uploads cut off, answers lost: with 0 faults, with 1, and with as many as the
retry budget (each a real script run with a real client). A task either succeeds with outputs
byte-identical to a fault-free run, or fails with a message naming the transfer; an input is
never left truncated at its final name and the manifest never lists an object that was not fully
uploaded. Every injected fault and outcome is tallied and printed at the end (pytest -s)."""

from __future__ import annotations

import collections
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ObjectStores
from faultproxy import FaultProxy, Rule
from test_url_script import INPUTS, expect_outputs, run, store_options

from wfrewrite.compiler.emit.contract import EXIT_CODES
from wfrewrite.compiler.plan import Capture, Command, Layout, StageItem, TaskPlan, check
from wfrewrite.runtime.transport import url as transport_url

RETRIES = 3
STALL = 3
TALLY: collections.Counter[str] = collections.Counter()


@pytest.fixture(scope="module")
def proxies(objstore: ObjectStores) -> Iterator[dict[str, FaultProxy]]:
    ps = {"put": FaultProxy(8089, stall_s=STALL * 3).start(), "post": FaultProxy(8333).start()}
    ps["post"].stall_s = STALL * 3
    yield ps
    for p in ps.values():
        p.stop()
    print("\nfault injection tally:", dict(sorted(TALLY.items())))


COMMAND = (
    'cat in/a.txt in/"ünï %20.txt" > out.txt\n'
    "mkdir -p d/sub && cp 'in/b c.bin' 'd/sub/b c.bin' && touch d/empty\n"
    "cp 'in/b c.bin' 'x y.bin' && echo made >&2\n"
)


def faulty(
    tmp: Path,
    proxy: FaultProxy,
    kind: str,
    path_dir: Path,
    rules: list[Rule],
    shell: str = "dash",
) -> tuple[int, TaskPlan, transport_url.Store, str]:
    """Bind a task through ``proxy`` (no faults), run it with ``rules`` armed, disarm."""
    root = tmp / "task"
    src = tmp / "src"
    src.mkdir()
    stage = []
    for name, data in INPUTS.items():
        (src / name).write_bytes(data)
        stage.append(StageItem(source=str(src / name), path=f"{root}/work/in/{name}"))
    lay = Layout.under(str(root))
    plan = check(
        TaskPlan(
            name="t",
            lang="wdl",
            layout=lay,
            stage=tuple(stage),
            command=Command(script=COMMAND),
            stdout=f"{lay.root}/stdout.txt",
            stderr=f"{lay.root}/stderr.txt",
            outputs=("o", "g", "d"),
            captures=(
                Capture(output="o", kind="path", pattern="out.txt"),
                Capture(output="g", kind="glob", pattern="*.bin"),
                Capture(output="d", kind="directory", pattern="d"),
            ),
        )
    )
    if kind == "put":
        so = store_options(
            ObjectStores("", "", "", "", Path()),
            "put",
            store=f"{proxy.url}/wfr-tests/",
            retries=RETRIES,
            stall=STALL,
        )
    else:
        so = store_options(
            ObjectStores("", "", "", proxy.url, Path()), "post", retries=RETRIES, stall=STALL
        )
    url = transport_url.UrlTransport(so)
    store = url.store
    plan = url.bind(plan, f"f-{uuid.uuid4().hex[:10]}")
    proxy.arm(rules)
    try:
        p, _ = run(plan, tmp, path_dir, shell=shell)
    finally:
        proxy.disarm()
    for _, _, fault in proxy.injected:
        TALLY[f"injected {fault}"] += 1
    return p.returncode, plan, store, p.stderr


def fetch(plan: TaskPlan, store: transport_url.Store, tmp: Path) -> tuple[bool, Path]:
    dest = tmp / "fetched"
    return transport_url.fetch(plan, store, str(dest)), dest


def outcome(name: str) -> None:
    TALLY[f"outcome {name}"] += 1


GET_FAULTS = ["drop", "500", "503", "truncate", "stall"]
UP_FAULTS = ["drop", "503", "cut_upload", "lose_response", "stall"]
CLIENT_SETS = ["curl", "busybox", "python", "perl", "bash"]


@pytest.mark.parametrize("client", CLIENT_SETS)
def test_no_fault(client: str, proxies, client_path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, plan, store, err = faulty(tmp_path, proxies["put"], "put", client_path[client], [])
    assert code == 0, err
    assert "retry:" not in err
    expect_outputs(fetch(plan, store, tmp_path)[1])
    outcome("succeeded, identical")


@pytest.mark.parametrize("fault", GET_FAULTS)
@pytest.mark.parametrize("client", CLIENT_SETS)
def test_one_download_fault(client: str, fault: str, proxies, client_path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rule = Rule("GET", r"/in/\d+/b%20c\.bin", fault)
    code, plan, store, err = faulty(tmp_path, proxies["put"], "put", client_path[client], [rule])
    assert rule.hits == 1
    assert code == 0, err
    assert "retry: GET" in err and "attempt 2 of 3" in err
    expect_outputs(fetch(plan, store, tmp_path)[1])
    outcome("succeeded, identical")


@pytest.mark.parametrize("fault", UP_FAULTS)
@pytest.mark.parametrize("client", CLIENT_SETS)
def test_one_upload_fault(client: str, fault: str, proxies, client_path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rule = Rule("PUT", r"/out/work/x%20y\.bin", fault)
    code, plan, store, err = faulty(tmp_path, proxies["put"], "put", client_path[client], [rule])
    assert rule.hits == 1
    assert code == 0, err
    assert "retry: PUT" in err
    expect_outputs(fetch(plan, store, tmp_path)[1])
    outcome("succeeded, identical")


@pytest.mark.parametrize("fault", ["503", "cut_upload", "lose_response", "truncate"])
@pytest.mark.parametrize("client", ["curl", "busybox", "python"])
def test_one_fault_with_s3(client: str, fault: str, proxies, client_path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """SeaweedFS behind the proxy: presigned GETs and POST-policy uploads (SigV4 checked)."""
    if fault == "truncate":
        rule = Rule("GET", r"/in/\d+/b%20c\.bin", fault)
    else:
        rule = Rule("POST", r".", fault)
    code, plan, store, err = faulty(tmp_path, proxies["post"], "post", client_path[client], [rule])
    assert rule.hits == 1
    assert code == 0, err
    expect_outputs(fetch(plan, store, tmp_path)[1])
    outcome("succeeded, identical")


@pytest.mark.parametrize("client", ["curl", "busybox", "perl"])
def test_one_fault_fewer_than_the_budget(client: str, proxies, client_path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """RETRIES - 1 faults on one download, then one on the manifest: still a success."""
    rules = [
        Rule("GET", r"/in/\d+/a\.txt", "503", times=RETRIES - 1),
        Rule("PUT", r"/wfrewrite/manifest\.json", "cut_upload"),
    ]
    code, plan, store, err = faulty(tmp_path, proxies["put"], "put", client_path[client], rules)
    assert [r.hits for r in rules] == [RETRIES - 1, 1]
    assert code == 0, err
    expect_outputs(fetch(plan, store, tmp_path)[1])
    outcome("succeeded, identical")


@pytest.mark.parametrize("fault", ["503", "truncate", "drop"])
@pytest.mark.parametrize("client", ["curl", "busybox", "python", "bash"])
def test_download_faults_exhaust_the_budget(  # type: ignore[no-untyped-def]
    client: str, fault: str, proxies, client_path, tmp_path: Path
) -> None:
    """Every attempt fails: staging fails, naming the input, the command never runs, and no
    truncated input ever takes its name."""
    rule = Rule("GET", r"/in/\d+/b%20c\.bin", fault, times=99)
    code, plan, store, err = faulty(tmp_path, proxies["put"], "put", client_path[client], [rule])
    assert rule.hits == RETRIES
    assert code == EXIT_CODES["staging_failed"], err
    ok, dest = fetch(plan, store, tmp_path)
    assert ok
    m = json.loads((dest / "wfrewrite" / "manifest.json").read_text())
    assert m["status"] == "staging_failed" and m["rc"] is None and m["files"] == []
    assert "b c.bin" in m["message"] and f"attempt {RETRIES} of {RETRIES}" in m["message"]
    work = Path(plan.layout.work)
    assert not (work / "in" / "b c.bin").exists(), "a failed download never takes its name"
    assert not (work / "out.txt").exists(), "the command must not run"
    outcome("failed cleanly (staging)")


@pytest.mark.parametrize("fault", ["503", "cut_upload", "stall"])
@pytest.mark.parametrize("client", ["curl", "busybox", "python", "perl"])
def test_upload_faults_exhaust_the_budget(  # type: ignore[no-untyped-def]
    client: str, fault: str, proxies, client_path, tmp_path: Path
) -> None:
    """One output cannot be uploaded: the task fails (upload_failed) and its manifest, uploaded
    last, lists every other output but not that one; whatever it lists is whole."""
    rule = Rule("PUT", r"/out/work/x%20y\.bin", fault, times=99)
    code, plan, store, err = faulty(tmp_path, proxies["put"], "put", client_path[client], [rule])
    assert rule.hits == RETRIES
    assert code == EXIT_CODES["upload_failed"], err
    ok, dest = fetch(plan, store, tmp_path)  # checks size and sha1 of every listed object
    assert ok
    m = json.loads((dest / "wfrewrite" / "manifest.json").read_text())
    assert m["status"] == "upload_failed" and m["partial"] is True and m["rc"] == 0
    assert "work/x y.bin" in m["message"] and f"attempt {RETRIES} of {RETRIES}" in m["message"]
    listed = {f["path"] for f in m["files"]}
    assert "work/x y.bin" not in listed
    assert {"work/out.txt", "work/d/sub/b c.bin"} <= listed
    outcome("failed cleanly (upload), manifest without the object")


@pytest.mark.parametrize("client", ["curl", "busybox", "python"])
def test_manifest_upload_exhausts_the_budget(
    client: str, proxies, client_path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The commit point cannot be written: no manifest anywhere on the store, and a distinct
    exit code (87) for the executor to report."""
    rule = Rule("PUT", r"/wfrewrite/manifest\.json", "503", times=99)
    code, plan, store, err = faulty(tmp_path, proxies["put"], "put", client_path[client], [rule])
    assert rule.hits == RETRIES
    assert code == EXIT_CODES["upload_failed"], err
    assert "could not upload the manifest" in err
    assert fetch(plan, store, tmp_path)[0] is False
    outcome("failed cleanly (no manifest committed)")
