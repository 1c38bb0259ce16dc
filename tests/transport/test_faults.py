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
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ObjectStores, need_slurm
from faultproxy import FaultProxy, Rule
from test_url_script import INPUTS, expect_outputs, run, store_options

from wfrewrite.compiler.diagnostics import TaskFailed, WfError
from wfrewrite.compiler.emit.contract import EXIT_CODES
from wfrewrite.compiler.plan import Capture, Command, Layout, StageItem, TaskPlan, check
from wfrewrite.runtime.transport import url as transport_url

RETRIES = 3
STALL = 3
TALLY: collections.Counter[str] = collections.Counter()
# a bucket and a prefix of these tests' own, on nginx and SeaweedFS: other sessions empty
# wfr-tests when they end (a long run's objects went missing between its upload and the fetch)
BUCKET = "wfr-faults"
PREFIX = f"tests-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def proxies(objstore: ObjectStores) -> Iterator[dict[str, FaultProxy]]:
    s3 = objstore.make_bucket(BUCKET)
    ps = {"put": FaultProxy(8089, stall_s=STALL * 3).start(), "post": FaultProxy(8333).start()}
    ps["post"].stall_s = STALL * 3
    yield ps
    for p in ps.values():
        p.stop()
    shutil.rmtree(objstore.www / BUCKET / PREFIX, ignore_errors=True)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{PREFIX}/"):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
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
            store=f"{proxy.url}/{BUCKET}/{PREFIX}/",
            retries=RETRIES,
            stall=STALL,
        )
    else:
        so = store_options(
            ObjectStores("", "", "", proxy.url, Path()),
            "post",
            store=f"s3://{BUCKET}/{PREFIX}",
            retries=RETRIES,
            stall=STALL,
        )
    url = transport_url.UrlTransport(so)
    store = url.store
    plan = url.bind(plan, f"f-{uuid.uuid4().hex[:10]}")
    proxy.arm(rules)
    try:
        p, _ = run(plan, tmp, path_dir, shell=shell)
    finally:
        proxy.disarm()
        tally(proxy)
    return p.returncode, plan, store, p.stderr


def fetch(plan: TaskPlan, store: transport_url.Store, tmp: Path) -> tuple[bool, Path]:
    dest = tmp / "fetched"
    return transport_url.fetch(plan, store, str(dest)), dest


def tally(proxy: FaultProxy, where: str = "") -> None:
    """Count what ``proxy`` injected since it was last armed (``arm`` forgets it)."""
    for _, _, fault in proxy.injected:
        TALLY[f"injected {fault}{where}"] += 1


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


# -- the driver's own transfers: uploading the inputs, fetching the manifest and the outputs -----


def fetch_armed(
    proxy: FaultProxy, plan: TaskPlan, store: transport_url.Store, tmp: Path, rules: list[Rule]
) -> tuple[bool, Path]:
    proxy.arm(rules)
    try:
        return fetch(plan, store, tmp)
    finally:
        proxy.disarm()
        tally(proxy, " (driver)")


@pytest.mark.parametrize(
    "rel", [r"wfrewrite/manifest\.json", r"out/work/x%20y\.bin", r"out/stderr\.txt"]
)
@pytest.mark.parametrize("fault", ["truncate", "short_body", "corrupt", "reset"])
def test_driver_fetch_survives_a_spoiled_answer(  # type: ignore[no-untyped-def]
    fault: str, rel: str, proxies, client_path, tmp_path: Path
) -> None:
    """A body cut short (its Content-Length unmet, or a Content-Length that fits a short body) or
    altered on the way is read again: the driver takes every object whole. (It used to take a
    truncated body for the object: a manifest cut short failed to parse with a traceback, a log
    was taken short, an output failed the task instead of being read again.)"""
    if fault == "corrupt" and "x%20y" not in rel:
        pytest.skip("only a sha1 tells a same-sized alteration: outputs have one")
    if fault == "short_body" and "stderr" in rel:
        pytest.skip("a log's size is not in the manifest: HTTP's framing is all it has")
    code, plan, store, err = faulty(tmp_path, proxies["put"], "put", client_path["curl"], [])
    assert code == 0, err
    rule = Rule("GET", rel, fault, times=2)
    ok, dest = fetch_armed(proxies["put"], plan, store, tmp_path, [rule])
    assert rule.hits == 2 and ok
    expect_outputs(dest)
    outcome("driver: fetched whole after a spoiled answer")


@pytest.mark.parametrize("fault", ["short_store", "corrupt_store"])
def test_driver_refuses_an_object_spoiled_in_the_store(  # type: ignore[no-untyped-def]
    fault: str, proxies, client_path, tmp_path: Path
) -> None:
    """The store keeps a short or altered object and says 201 (nothing any HTTP client can
    tell): the manifest lists the size and sha1 the script took, and the driver refuses the
    object, naming it, after reading it again."""
    rule = Rule("PUT", r"/out/work/x%20y\.bin", fault)
    code, plan, store, err = faulty(tmp_path, proxies["put"], "put", client_path["curl"], [rule])
    assert rule.hits == 1 and code == 0, err
    with pytest.raises(TaskFailed) as e:
        fetch(plan, store, tmp_path)
    assert "output work/x y.bin" in e.value.message and "(read 3 times)" in e.value.message
    assert not (tmp_path / "fetched" / "work" / "x y.bin").exists(), "never under its name"
    outcome("driver: refused an object spoiled in the store")


def test_driver_refuses_a_manifest_cut_short_in_the_store(  # type: ignore[no-untyped-def]
    proxies, client_path, tmp_path: Path
) -> None:
    rule = Rule("PUT", r"/wfrewrite/manifest\.json", "short_store")
    code, plan, store, err = faulty(tmp_path, proxies["put"], "put", client_path["curl"], [rule])
    assert rule.hits == 1 and code == 0, err
    with pytest.raises(TaskFailed, match="not whole JSON"):
        fetch(plan, store, tmp_path)
    outcome("driver: refused a manifest cut short in the store")


@pytest.mark.parametrize("kind", ["put", "post"])
def test_driver_fetch_exhausted_is_a_clear_error(  # type: ignore[no-untyped-def]
    kind: str, proxies, client_path, tmp_path: Path
) -> None:
    """The manifest cannot be fetched at all: a WfError naming it, never a library's traceback
    (boto3's ClientError used to escape as it was)."""
    client = "curl" if kind == "put" else "python"
    code, plan, store, err = faulty(tmp_path, proxies[kind], kind, client_path[client], [])
    assert code == 0, err
    rule = Rule("GET", r"wfrewrite/manifest\.json", "503", times=99)
    with pytest.raises(WfError, match=r"manifest\.json") as e:
        fetch_armed(proxies[kind], plan, store, tmp_path, [rule])
    assert e.type in (WfError, TaskFailed)
    assert rule.hits >= 3
    outcome("driver: failed cleanly (fetch)")


@pytest.mark.parametrize("kind", ["put", "post"])
@pytest.mark.parametrize("fault", ["503", "reset", "lose_response", "truncate"])
def test_driver_uploads_survive_faults(  # type: ignore[no-untyped-def]
    kind: str, fault: str, proxies, client_path, tmp_path: Path
) -> None:
    """The driver's uploads of the inputs, each of their first two attempts faulted: bound all
    the same, and the script's checks (size, sha1) find every input whole."""
    rules = [Rule("PUT", rf"/in/{n}/", fault, times=2) for n in range(len(INPUTS))]
    proxies[kind].arm(rules)
    try:
        code, plan, store, err = faulty(tmp_path, proxies[kind], kind, client_path["curl"], [])
    finally:
        proxies[kind].disarm()
    assert [r.hits for r in rules] == [2] * len(INPUTS)
    TALLY[f"injected {fault} (driver)"] += sum(r.hits for r in rules)
    assert code == 0, err
    expect_outputs(fetch(plan, store, tmp_path)[1])
    outcome("driver: uploads survived")


@pytest.mark.parametrize("kind", ["put", "post"])
def test_driver_upload_exhausted_is_a_clear_error(  # type: ignore[no-untyped-def]
    kind: str, proxies, client_path, tmp_path: Path
) -> None:
    rule = Rule("PUT", r"/in/1/a\.txt", "503", times=999)
    proxies[kind].arm([rule])
    try:
        with pytest.raises(WfError, match=r"PUT \S*in/1/a\.txt") as e:
            faulty(tmp_path, proxies[kind], kind, client_path["curl"], [])
    finally:
        proxies[kind].disarm()
    assert e.type is WfError
    TALLY["injected 503 (driver)"] += rule.hits
    outcome("driver: failed cleanly (upload)")


def executor_job(executor: str, proxy: FaultProxy, tmp: Path):  # type: ignore[no-untyped-def]
    """The executor ``executor`` with the url transport through ``proxy`` (nginx), and a job of
    the task of ``faulty`` prepared for it."""
    from wfrewrite.runtime.exec import select
    from wfrewrite.runtime.options import Options

    if executor == "slurm":
        need_slurm()
    ex = select(
        Options(
            executor=executor,
            slurm_container="none",
            transport="url",
            store=f"{proxy.url}/{BUCKET}/{PREFIX}/",
            url_retries=RETRIES,
            url_stall=STALL,
            url_backoff_ms=100,
        )
    )
    host = tmp / "host"
    host.mkdir()
    root = ex.container_root(str(host))
    src = tmp / "src"
    src.mkdir()
    stage = []
    for name, data in INPUTS.items():
        (src / name).write_bytes(data)
        stage.append(StageItem(source=str(src / name), path=f"{root}/work/in/{name}"))
    lay = Layout.under(root)
    plan = check(
        TaskPlan(
            name="exe",
            lang="wdl",
            layout=lay,
            stage=tuple(stage),
            command=Command(script=COMMAND),
            stdout=f"{lay.root}/stdout.txt",
            stderr=f"{lay.root}/stderr.txt",
            outputs=("g",),
            captures=(Capture(output="g", kind="glob", pattern="*.bin"),),
        )
    )
    return ex, ex.prepare(plan, str(host))


@pytest.mark.parametrize("executor", ["local", "slurm"])
def test_executor_names_the_refused_output(  # type: ignore[no-untyped-def]
    executor: str, proxies, tmp_path: Path
) -> None:
    """Through an executor, an output the driver refuses fails the task naming that output;
    Slurm's executor used to put it as 'Slurm job N (COMPLETED) ended before the script
    finished: ...', blaming a job that had finished."""
    ex, job = executor_job(executor, proxies["put"], tmp_path)
    rule = Rule("PUT", r"/out/work/x%20y\.bin", "short_store")
    proxies["put"].arm([rule])
    try:
        with pytest.raises(TaskFailed) as e:
            ex.run(job)
    finally:
        proxies["put"].disarm()
        tally(proxies["put"])
    assert rule.hits == 1
    assert e.value.message.startswith("output work/x y.bin: the store has"), e.value.message
    outcome("driver: refused an object spoiled in the store")


@pytest.mark.parametrize("executor", ["local", "slurm"])
def test_executor_without_a_committed_manifest_fails(  # type: ignore[no-untyped-def]
    executor: str, proxies, tmp_path: Path
) -> None:
    """The manifest never reached the store: the task fails (exit 87, no manifest), even where
    the script ran in the task's own directory and its local copy of the manifest is there (the
    local executor used to read that copy and report a success the store never committed)."""
    ex, job = executor_job(executor, proxies["put"], tmp_path)
    rule = Rule("PUT", r"/wfrewrite/manifest\.json", "503", times=99)
    proxies["put"].arm([rule])
    try:
        with pytest.raises(TaskFailed) as e:
            ex.run(job)
    finally:
        proxies["put"].disarm()
        tally(proxies["put"])
    assert rule.hits == RETRIES
    assert "upload failed (exit 87) and no manifest reached the store" in e.value.message
    outcome("failed cleanly (no manifest committed)")
