"""The `url` transport's script, run for real on this machine against the test bed's object
stores (nginx with PUT, SeaweedFS with real SigV4 and expiry): every HTTP client the runtime knows
(curl, GNU wget, BusyBox wget + nc, python3, perl, bash /dev/tcp), chosen by giving the script a
PATH that has only that client beside BusyBox's utilities; the probe's errors; presigned URLs
that expired or were tampered with; a staging list of 10,000 files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from conftest import CLIENTS, SYSTEM_PATH, ObjectStores, shells

from wfrewrite.compiler.emit import emit
from wfrewrite.compiler.emit.contract import EXIT_CODES
from wfrewrite.compiler.plan import Capture, Command, Layout, StageItem, TaskPlan, check
from wfrewrite.runtime.options import Options
from wfrewrite.runtime.transport import url as transport_url

SHELLS = dict(shells())


def store_options(stores: ObjectStores, kind: str, **kw: object) -> Options:
    """The url transport's options (``backoff_ms=``, ``stall=``... name the url_* fields)."""
    base: dict[str, object] = dict(url_backoff_ms=100, url_stall=10, url_retries=3)
    for key, value in kw.items():
        base[key if key in ("store", "s3_endpoint", "store_ca") else f"url_{key}"] = value
    if kind == "put":
        base.setdefault("store", f"{stores.http}/wfr-tests/")
    else:
        base.setdefault("store", "s3://wfr-tests/runs")
        base.setdefault("s3_endpoint", stores.seaweed)
    return Options(transport="url", **base)  # type: ignore[arg-type]


INPUTS = {
    "empty": b"",
    "a.txt": b"hello\nworld\n",
    "b c.bin": bytes(range(256)) * 1200 + b"\x00\x00tail",
    "ünï %20.txt": "ünïcødé\n".encode(),
}
COMMAND = (
    'cat in/a.txt in/"ünï %20.txt" > out.txt\n'
    "mkdir -p d/sub && cp 'in/b c.bin' 'd/sub/b c.bin' && touch d/empty\n"
    "cp 'in/b c.bin' 'x y.bin' && echo made >&2\n"
)


def task(
    tmp: Path,
    stores: ObjectStores,
    kind: str,
    *,
    inputs: dict[str, bytes] | None = None,
    command: str = COMMAND,
    **opts: object,
) -> tuple[TaskPlan, transport_url.Store]:
    """A plan with local inputs, bound to ``kind`` (put: nginx, post: SeaweedFS)."""
    root = tmp / "task"
    src = tmp / "src"
    src.mkdir(exist_ok=True)
    stage = []
    for name, data in (INPUTS if inputs is None else inputs).items():
        (src / name).write_bytes(data)
        stage.append(StageItem(source=str(src / name), path=f"{root}/work/in/{name}"))
    lay = Layout.under(str(root))
    plan = check(
        TaskPlan(
            name="t",
            lang="wdl",
            layout=lay,
            stage=tuple(stage),
            command=Command(script=command),
            stdout=f"{lay.root}/stdout.txt",
            stderr=f"{lay.root}/stderr.txt",
            outputs=("o", "g", "d"),
            captures=(
                Capture(output="o", kind="path", pattern="out.txt", required=False),
                Capture(output="g", kind="glob", pattern="*.bin", required=False),
                Capture(output="d", kind="directory", pattern="d", required=False),
            ),
        )
    )
    url = transport_url.UrlTransport(store_options(stores, kind, **opts))
    return url.bind(plan, f"t-{uuid.uuid4().hex[:10]}"), url.store


def run(
    plan: TaskPlan, tmp: Path, path_dir: Path, shell: str = "dash", timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], float]:
    script = tmp / "script.sh"
    script.write_text(emit(plan))
    argv = [shutil.which(SHELLS[shell][0]) or SHELLS[shell][0], *SHELLS[shell][1:], str(script)]
    env = {"PATH": str(path_dir), "HOME": str(tmp / "host-home")}
    t0 = time.monotonic()
    p = subprocess.run(
        argv, env=env, cwd=tmp, capture_output=True, text=True, timeout=timeout, check=False
    )
    return p, time.monotonic() - t0


def fetched(plan: TaskPlan, store: transport_url.Store, tmp: Path) -> tuple[bool, Path]:
    dest = tmp / "fetched"
    return transport_url.fetch(plan, store, str(dest)), dest


def local_manifest(plan: TaskPlan) -> dict:  # type: ignore[type-arg]
    return json.loads((Path(plan.layout.meta) / "manifest.json").read_text())


def expect_outputs(dest: Path) -> None:
    m = json.loads((dest / "wfrewrite" / "manifest.json").read_text())
    assert m["status"] == "succeeded", m
    assert (dest / "work" / "out.txt").read_bytes() == INPUTS["a.txt"] + INPUTS["ünï %20.txt"]
    assert (dest / "work" / "x y.bin").read_bytes() == INPUTS["b c.bin"]
    assert (dest / "work" / "d" / "sub" / "b c.bin").read_bytes() == INPUTS["b c.bin"]
    assert (dest / "work" / "d" / "empty").read_bytes() == b""
    assert (dest / "stderr.txt").read_text() == "made\n"
    for f in m["files"]:
        if f["type"] == "file":
            data = (dest / f["path"]).read_bytes()
            assert (len(data), hashlib.sha1(data).hexdigest()) == (f["size"], f["sha1"]), f


@pytest.mark.parametrize(
    ("client", "kind"),
    [(c, k) for c in CLIENTS for k in ("put", "post") if (c, k) != ("busybox", "post")],
)
def test_every_client_round_trips(
    client: str, kind: str, objstore: ObjectStores, client_path: dict[str, Path], tmp_path: Path
) -> None:
    """(BusyBox with S3 is test_busybox_post_form, under BusyBox's own sh.)"""
    plan, store = task(tmp_path, objstore, kind)
    p, _ = run(plan, tmp_path, client_path[client])
    assert p.returncode == 0, p.stderr
    assert CLIENTS[client][1] in p.stderr
    ok, dest = fetched(plan, store, tmp_path)
    assert ok
    expect_outputs(dest)


def test_busybox_post_form(
    objstore: ObjectStores, client_path: dict[str, Path], tmp_path: Path
) -> None:
    """BusyBox alone uploads binary data to S3 through a presigned POST form sent with nc."""
    plan, store = task(tmp_path, objstore, "post")
    p, _ = run(plan, tmp_path, client_path["busybox"], shell="busybox")
    assert p.returncode == 0, p.stderr
    ok, dest = fetched(plan, store, tmp_path)
    assert ok
    expect_outputs(dest)


@pytest.mark.parametrize("shell", list(SHELLS))
def test_shells(
    shell: str, objstore: ObjectStores, client_path: dict[str, Path], tmp_path: Path
) -> None:
    plan, store = task(tmp_path, objstore, "put")
    p, _ = run(plan, tmp_path, client_path["curl"], shell=shell)
    assert p.returncode == 0, p.stderr
    expect_outputs(fetched(plan, store, tmp_path)[1])


def test_runs_as_sh_c(objstore: ObjectStores, client_path: dict[str, Path], tmp_path: Path) -> None:
    """Where nothing is mounted the script is one argv word: `sh -c SCRIPT`."""
    plan, store = task(tmp_path, objstore, "post")
    script = emit(plan)
    assert len(script.encode()) < 128 * 1024
    p = subprocess.run(
        [shutil.which("dash") or "dash", "-c", script, "wfrewrite"],
        env={"PATH": str(client_path["curl"])},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    expect_outputs(fetched(plan, store, tmp_path)[1])


def test_no_upload_client_fails_the_probe(
    objstore: ObjectStores, busybox_bin: Path, tmp_path: Path
) -> None:
    """BusyBox wget cannot PUT; without nc nothing can: the probe says so before any transfer."""
    path = tmp_path / "bin"
    shutil.copytree(busybox_bin, path, symlinks=True)
    (path / "nc").unlink()
    plan, store = task(tmp_path, objstore, "put")
    p, took = run(plan, tmp_path, path)
    assert p.returncode == EXIT_CODES["probe_failed"] and took < 10
    m = local_manifest(plan)
    assert m["status"] == "probe_failed" and m["rc"] is None
    assert "BusyBox wget (downloads only)" in m["message"]
    assert "uploads need curl, GNU wget or python3" in m["message"]
    assert "mounted transport" in m["message"]
    assert not (Path(plan.layout.work) / "in" / "a.txt").exists(), "nothing may be downloaded"
    assert fetched(plan, store, tmp_path)[0] is False


def test_https_store_needs_a_tls_client(
    objstore: ObjectStores, client_path: dict[str, Path], tmp_path: Path
) -> None:
    plan, _ = task(tmp_path, objstore, "put", inputs={}, store=f"{objstore.https}/wfr-tests/")  # type: ignore[arg-type]
    p, took = run(plan, tmp_path, client_path["perl"])
    assert p.returncode == EXIT_CODES["probe_failed"] and took < 10
    assert "(the store is https)" in local_manifest(plan)["message"]
    assert "a plain-http store" in local_manifest(plan)["message"]


def test_https_store_with_a_private_ca(
    objstore: ObjectStores, client_path: dict[str, Path], tmp_path: Path
) -> None:
    """curl trusts the store's CA, which travels in the script (a certificate, no secret)."""
    plan, store = task(
        tmp_path,
        objstore,
        "put",
        store=f"{objstore.https}/wfr-tests/",  # type: ignore[arg-type]
        store_ca=objstore.https_ca,
    )
    p, _ = run(plan, tmp_path, client_path["curl"])
    assert p.returncode == 0, p.stderr
    expect_outputs(fetched(plan, store, tmp_path)[1])


def test_missing_input_is_not_retried(
    objstore: ObjectStores, client_path: dict[str, Path], tmp_path: Path
) -> None:
    plan, store = task(tmp_path, objstore, "put", inputs={"a.txt": b"x"})
    url = plan.stage[0].source
    (objstore.www / url.split("127.0.0.1:8089/", 1)[1]).unlink()
    p, took = run(plan, tmp_path, client_path["curl"])
    assert p.returncode == EXIT_CODES["staging_failed"] and took < 10
    ok, dest = fetched(plan, store, tmp_path)
    assert ok, "a failed task still commits its manifest"
    m = json.loads((dest / "wfrewrite" / "manifest.json").read_text())
    assert m["status"] == "staging_failed" and m["rc"] is None
    assert "HTTP 404" in m["message"] and "attempt 1 of 3" in m["message"]
    assert "in/a.txt" in m["message"]


@pytest.mark.parametrize("how", ["expired", "tampered"])
def test_presigned_url_refused(
    how: str, objstore: ObjectStores, client_path: dict[str, Path], tmp_path: Path
) -> None:
    """SeaweedFS checks SigV4 signatures and expiry: the script fails staging at once (403 is not
    retried) and says why."""
    plan, _ = task(tmp_path, objstore, "post", inputs={"a.txt": b"x"}, expires=2)
    if how == "tampered":
        item = plan.stage[0]
        bad = item.source.replace("X-Amz-Signature=", "X-Amz-Signature=0")[:-1]
        plan = plan.replace(stage=(item.__class__(**{**_fields(item), "source": bad}),))
    else:
        time.sleep(3)
    p, took = run(plan, tmp_path, client_path["curl"])
    assert p.returncode == EXIT_CODES["staging_failed"], p.stderr
    assert took < 10
    m = local_manifest(plan)
    assert "HTTP 403" in m["message"]
    if how == "expired":
        assert "the presigned URLs expired" in m["message"]
    else:
        assert "wrongly signed" in m["message"]
    assert "X-Amz-Signature" not in m["message"] + p.stderr, "presigned queries stay out of logs"


def _fields(item: StageItem) -> dict[str, object]:
    return {f: getattr(item, f) for f in item.__dataclass_fields__}


def test_post_policy_confines_the_script_to_its_prefix(
    objstore: ObjectStores, tmp_path: Path
) -> None:
    """What the script holds lets it write under its run's prefix and nowhere else."""
    plan, _ = task(tmp_path, objstore, "post", inputs={})
    assert plan.url is not None
    (tmp_path / "f").write_bytes(b"data")

    def post(key: str) -> str:
        assert plan.url is not None
        args = []
        for f in plan.url.fields:
            args += ["--form-string", f"{f.name}={f.value}"]
        return subprocess.run(
            [
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                *args,
                "--form-string",
                f"key={key}",
                "-F",
                f"file=@{tmp_path / 'f'}",
                plan.url.upload_url,
            ],
            capture_output=True,
            text=True,
            check=False,
        ).stdout

    assert post(plan.url.key_prefix + "work/ok.txt") == "204"
    assert post("runs/someone-else/out/x.txt") == "403"
    # the test bed's access key id and secret are both "testing": the id may appear as the
    # credential scope (testing/<date>/<region>/s3/aws4_request, public by design), nothing else
    script = emit(plan).replace("wfr-tests", "").replace("testing/", "").replace("testing%2F", "")
    assert "testing" not in script, "no secret in the script"


def test_failed_command_uploads_partial_outputs(
    objstore: ObjectStores, client_path: dict[str, Path], tmp_path: Path
) -> None:
    plan, store = task(
        tmp_path, objstore, "put", command="echo partial > out.txt; echo oops >&2; exit 3\n"
    )
    p, _ = run(plan, tmp_path, client_path["curl"])
    assert p.returncode == EXIT_CODES["command_failed"]
    ok, dest = fetched(plan, store, tmp_path)
    m = json.loads((dest / "wfrewrite" / "manifest.json").read_text())
    assert ok and m["status"] == "command_failed" and m["partial"] is True and m["rc"] == 3
    assert [f["path"] for f in m["files"]] == ["work/out.txt"]
    assert (dest / "work" / "out.txt").read_text() == "partial\n"
    assert (dest / "stderr.txt").read_text() == "oops\n"


def test_ten_thousand_inputs(
    objstore: ObjectStores, client_path: dict[str, Path], tmp_path: Path
) -> None:
    """10,000 staged files: the list travels as one more download (size and sha1 checked), the
    script stays small, and every file arrives."""
    n = 10_000
    run_dir = f"wfr-tests/many-{uuid.uuid4().hex[:8]}"
    d = objstore.www / run_dir
    d.mkdir(parents=True)
    root = tmp_path / "task"
    items = []
    for i in range(n):
        name = f"f{i:05d}.txt"
        (d / name).write_text(f"{i}\n")
        items.append(
            StageItem(
                source=f"{objstore.http}/{run_dir}/{name}",
                path=f"{root}/work/in/{name}",
                size=len(f"{i}\n"),
            )
        )
    lay = Layout.under(str(root))
    plan = TaskPlan(
        name="many",
        lang="wdl",
        layout=lay,
        stage=tuple(items),
        command=Command(script="ls in | wc -l > n.txt; cat in/f09999.txt >> n.txt\n"),
        stdout=f"{lay.root}/stdout.txt",
        stderr=f"{lay.root}/stderr.txt",
        outputs=("n",),
        captures=(Capture(output="n", kind="path", pattern="n.txt"),),
    )
    so = store_options(objstore, "put", parallel=8)
    url = transport_url.UrlTransport(so)
    plan, store = url.bind(plan), url.store
    assert plan.url is not None and plan.url.stage_list
    script = emit(plan)
    assert len(script.encode()) < 64 * 1024, len(script)
    assert script.count("f09999") == 1, "no staging record inside the script (the command's only)"
    p, took = run(plan, tmp_path, client_path["curl"], timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    print(f"10,000 inputs staged and the task run in {took:.1f}s")
    ok, dest = fetched(plan, store, tmp_path)
    assert ok and (dest / "work" / "n.txt").read_text() == "10000\n9999\n"
    shutil.rmtree(d)


def test_literal_files_move_out_when_the_script_would_not_fit(
    objstore: ObjectStores, client_path: dict[str, Path], tmp_path: Path
) -> None:
    """Large literal files (write_* results) travel as objects once the script would exceed one
    argv word; those that fit stay inline."""
    from wfrewrite.compiler.plan import LiteralFile

    root = tmp_path / "task"
    blobs = [bytes([65 + i]) * (50 * 1024) for i in range(4)] + [b"small\n"]
    lay = Layout.under(str(root))
    plan = TaskPlan(
        name="lits",
        lang="wdl",
        layout=lay,
        literals=tuple(
            LiteralFile(path=f"{root}/work/l{i}.txt", content=b) for i, b in enumerate(blobs)
        ),
        command=Command(script="cat l0.txt l1.txt l2.txt l3.txt l4.txt > all.txt\n"),
        stdout=f"{lay.root}/stdout.txt",
        stderr=f"{lay.root}/stderr.txt",
        outputs=("all",),
        captures=(Capture(output="all", kind="path", pattern="all.txt"),),
    )
    so = store_options(objstore, "put")
    url = transport_url.UrlTransport(so)
    bound, store = url.bind(plan), url.store
    assert len(emit(bound).encode()) <= transport_url.SCRIPT_MAX
    assert 1 <= len(bound.stage) < 4 and len(bound.literals) == 5 - len(bound.stage)
    p, _ = run(bound, tmp_path, client_path["curl"])
    assert p.returncode == 0, p.stderr
    ok, dest = fetched(bound, store, tmp_path)
    assert ok and (dest / "work" / "all.txt").read_bytes() == b"".join(blobs)


def test_sigterm_commits_nothing(
    objstore: ObjectStores, client_path: dict[str, Path], tmp_path: Path
) -> None:
    """Stopped by a signal, the script uploads nothing: no manifest on the store, exit 86."""
    import signal

    plan, store = task(tmp_path, objstore, "put", command="echo started; sleep 30\n")
    script = tmp_path / "script.sh"
    script.write_text(emit(plan))
    proc = subprocess.Popen(
        [shutil.which("dash") or "dash", str(script)],
        env={"PATH": str(client_path["curl"])},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    out = Path(plan.stdout)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (out.exists() and out.read_text()):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == EXIT_CODES["terminated"]
    assert fetched(plan, store, tmp_path)[0] is False


@pytest.mark.parametrize("tool", ["openssl", "python3", "sha1sum"])
def test_big_files_checksummed_with_the_fastest_tool(
    tool: str, objstore: ObjectStores, client_path: dict[str, Path], tmp_path: Path
) -> None:
    """Files of 16 MiB and more are checksummed by openssl or python3 when the image has them;
    the sums agree with the driver's (fetch checks every listed object's sha1)."""
    path = tmp_path / "bin"
    shutil.copytree(client_path["curl"], path, symlinks=True)
    if tool != "sha1sum":
        real = shutil.which(tool, path=SYSTEM_PATH)
        assert real is not None
        (path / tool).symlink_to(os.path.realpath(real))
    big = os.urandom(17 << 20)
    plan, store = task(
        tmp_path,
        objstore,
        "put",
        inputs={"big.bin": big},
        command="cp in/big.bin 'x y.bin'\n",
    )
    p, _ = run(plan, tmp_path, path)
    assert p.returncode == 0, p.stderr
    ok, dest = fetched(plan, store, tmp_path)
    m = json.loads((dest / "wfrewrite" / "manifest.json").read_text())
    assert ok and [f["sha1"] for f in m["files"]] == [hashlib.sha1(big).hexdigest()]


@pytest.mark.parametrize("kind", ["put", "post"])
def test_wget_sends_each_url_as_it_is(
    kind: str, objstore: ObjectStores, client_path: dict[str, Path], tmp_path: Path
) -> None:
    """GNU wget built with IRI support, where no UTF-8 locale is set (most images), decodes a
    URL's %25 (a literal % in a name) before sending it: each download went first to another
    object (404, or on S3 a refused signature) and then again to the right one, so that a fault
    on that second request left the first's 4xx as the verdict (fatal, not retried); and a PUT
    stored the output under another name, 201, which only the driver's fetch found missing.
    The script passes --no-iri: one request per transfer, to the object it names."""
    from faultproxy import FaultProxy

    proxy = FaultProxy(8089 if kind == "put" else 8333).start()
    try:
        stores = ObjectStores(proxy.url, "", "", proxy.url, Path())
        inputs = {"50% off.txt": b"half\n", "ünï %20.txt": "ünïcødé\n".encode()}
        command = "mkdir d && cp 'in/50% off.txt' 'd/r %25 ü.txt' && cp 'in/ünï %20.txt' out.txt\n"
        plan, store = task(tmp_path, stores, kind, inputs=inputs, command=command)
        p, _ = run(plan, tmp_path, client_path["wget"])
        assert p.returncode == 0, p.stderr
        ok, dest = fetched(plan, store, tmp_path)
    finally:
        proxy.stop()
    assert ok
    assert (dest / "work" / "d" / "r %25 ü.txt").read_bytes() == b"half\n"
    assert (dest / "work" / "out.txt").read_bytes() == inputs["ünï %20.txt"]
    refused = [(m, u.partition("?")[0], s) for m, u, s in proxy.requests if s >= 400]
    assert refused == []
    gets = [u for m, u, _ in proxy.requests if m == "GET" and "/in/" in u]
    assert len(gets) == len(inputs), gets
