"""The `url` transport in real podman containers from the test bed's images, nothing of the host
mounted: the hostile-image matrix (image x transport -> works, or a clear error in seconds).

    image                         mounted   url (http PUT, nginx)     url (S3 POST, SeaweedFS)
    busybox (no bash)             works     works: wget + nc          works: wget + nc form
    busybox, https store          -         probe error: no TLS PUT   -
    debian:bookworm-slim          works     works: perl               works: perl form
    python:3-slim, https + CA     -         works: python3 (verifies the store's CA)
    --read-only root              works     works (root in /tmp, a tmpfs)
    --user 1000:1000              works     works
    --network none                works     staging error naming the store, in seconds
    distroless (no shell)         error     error before any transfer
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, ObjectStores, wfrewrite

pytestmark = [pytest.mark.podman, pytest.mark.usefixtures("podman")]


def store_args(stores: ObjectStores, kind: str) -> list[str]:
    if kind == "put":
        return ["--store", f"{stores.http}/wfr-podman/"]
    if kind == "https":
        return ["--store", f"{stores.https}/wfr-podman/", "--store-ca", stores.https_ca]
    return ["--store", "s3://wfr-tests/podman", "--s3-endpoint", stores.seaweed]


def run(
    tmp: Path,
    stores: ObjectStores,
    source: Path | str,
    *args: str,
    kind: str = "put",
    inputs: dict | None = None,
):  # type: ignore[no-untyped-def,type-arg]
    argv = ["run", str(source), "--executor", "podman", "--dir", str(tmp / "runs")]
    argv += ["--transport", "url", *store_args(stores, kind), *args]
    if inputs is not None:
        (tmp / "in.json").write_text(json.dumps(inputs))
        argv += ["-i", str(tmp / "in.json")]
    return wfrewrite(*argv, cwd=ROOT)


def task(tmp: Path, body: str, version: str = "1.2") -> Path:
    src = tmp / f"t-{uuid.uuid4().hex[:6]}.wdl"
    src.write_text(f"version {version}\n{body}\n")
    return src


def log_of(result_dir: str) -> str:
    return (Path(result_dir) / "wfrewrite" / "script.log").read_text()


ROUND_TRIP = """task rt {{
  input {{ File f  File g }}
  command <<<
    set -e
    cat '~{{f}}' '~{{g}}' > both.txt
    mkdir -p out/sub && cp '~{{g}}' 'out/sub/copy of g.bin' && echo "$(id -u)" > out/uid
    ls /mnt/wfr 2>/dev/null && echo host-visible || echo nothing-mounted
    grep -c ' /tmp/wfr' /proc/self/mountinfo || true
  >>>
  output {{
    File both = "both.txt"
    Directory out = "out"
    Array[File] bins = glob("out/sub/*.bin")
    Array[String] said = read_lines(stdout())
  }}
  runtime {{ docker: "{image}" }}
}}"""


def inputs(tmp: Path) -> dict[str, str]:
    (tmp / "data").mkdir(exist_ok=True)
    f = tmp / "data" / "f e.txt"
    f.write_text("text with ünïcode\n")
    g = tmp / "data" / "g.bin"
    g.write_bytes(bytes(range(256)) * 500 + b"\x00end")
    return {"rt.f": str(f), "rt.g": str(g)}


def check_round_trip(r, tmp: Path, uid: str = "0") -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert r.rc == 0, r.stderr
    out = r.json["outputs"]
    data = tmp / "data"
    assert (
        Path(out["rt.both"]).read_bytes()
        == (data / "f e.txt").read_bytes() + (data / "g.bin").read_bytes()
    )
    copy = Path(out["rt.out"]) / "sub" / "copy of g.bin"
    assert copy.read_bytes() == (data / "g.bin").read_bytes()
    assert [Path(p).read_bytes() for p in out["rt.bins"]] == [copy.read_bytes()]
    assert out["rt.said"] == ["nothing-mounted", "0"], "the container sees nothing of the host"
    assert (Path(out["rt.out"]) / "uid").read_text().strip() == uid
    return out


@pytest.mark.parametrize(
    ("image", "kind", "clients"),
    [
        ("busybox:latest", "put", "downloads with bbwget, uploads with nc"),
        ("busybox:latest", "post", "downloads with bbwget, uploads with nc"),
        ("debian:bookworm-slim", "put", "downloads with perl, uploads with perl"),
        ("debian:bookworm-slim", "post", "downloads with perl, uploads with perl"),
        ("python:3-slim", "put", "downloads with python, uploads with python"),
        ("python:3-slim", "https", "downloads with python, uploads with python"),
        ("bash:4.4", "post", "downloads with perl, uploads with perl"),
    ],
)
def test_image_round_trip(
    image: str, kind: str, clients: str, objstore: ObjectStores, tmp_path: Path
) -> None:
    src = task(tmp_path, ROUND_TRIP.format(image=image))
    r = run(tmp_path, objstore, src, kind=kind, inputs=inputs(tmp_path))
    check_round_trip(r, tmp_path)
    assert clients in log_of(r.json["dir"])


@pytest.mark.parametrize("image", ["busybox:latest", "debian:bookworm-slim"])
def test_read_only_root_and_arbitrary_uid(
    image: str, objstore: ObjectStores, tmp_path: Path
) -> None:
    src = task(tmp_path, ROUND_TRIP.format(image=image))
    r = run(
        tmp_path,
        objstore,
        src,
        "--read-only",
        "--user",
        "1000:1000",
        inputs=inputs(tmp_path),
    )
    check_round_trip(r, tmp_path, uid="1000")


def test_busybox_cannot_upload_over_https(objstore: ObjectStores, tmp_path: Path) -> None:
    src = task(tmp_path, ROUND_TRIP.format(image="busybox:latest"))
    t0 = time.monotonic()
    r = run(tmp_path, objstore, src, kind="https", inputs=inputs(tmp_path))
    assert time.monotonic() - t0 < 30
    assert r.rc == 1
    assert "probe failed (exit 80)" in r.stderr
    assert "cannot upload the outputs" in r.stderr and "BusyBox wget (downloads only)" in r.stderr
    assert "a plain-http store" in r.stderr and "mounted transport" in r.stderr


def test_network_none_fails_staging_clearly(objstore: ObjectStores, tmp_path: Path) -> None:
    src = task(tmp_path, ROUND_TRIP.format(image="debian:bookworm-slim"))
    t0 = time.monotonic()
    r = run(
        tmp_path, objstore, src, "--network", "none", "--url-retries", "2", inputs=inputs(tmp_path)
    )
    assert time.monotonic() - t0 < 60
    assert r.rc == 1
    assert "staging failed (exit 81)" in r.stderr
    assert "cannot connect to 127.0.0.1:8089" in r.stderr


def test_network_none_with_mounted(tmp_path: Path) -> None:
    src = task(tmp_path, ROUND_TRIP.format(image="busybox:latest").replace("/mnt/wfr", "/nope"))
    r = wfrewrite(
        "run",
        str(src),
        "--executor",
        "podman",
        "--network",
        "none",
        "--dir",
        str(tmp_path / "runs"),
        "-i",
        str(_write(tmp_path, inputs(tmp_path))),
        cwd=ROOT,
    )
    assert r.rc == 0, r.stderr
    assert Path(r.json["outputs"]["rt.both"]).read_bytes().startswith(b"text with")


def _write(tmp: Path, data: dict) -> Path:  # type: ignore[type-arg]
    p = tmp / "in.json"
    p.write_text(json.dumps(data))
    return p


def test_distroless_fails_before_any_transfer(objstore: ObjectStores, tmp_path: Path) -> None:
    before = (
        set((objstore.www / "wfr-podman").glob("*"))
        if (objstore.www / "wfr-podman").exists()
        else set()
    )
    src = task(tmp_path, ROUND_TRIP.format(image="gcr.io/distroless/static-debian12"))
    t0 = time.monotonic()
    r = run(tmp_path, objstore, src, inputs=inputs(tmp_path))
    assert time.monotonic() - t0 < 30
    assert r.rc == 1
    assert "has no /bin/sh" in r.stderr and "nothing was transferred" in r.stderr
    after = (
        set((objstore.www / "wfr-podman").glob("*"))
        if (objstore.www / "wfr-podman").exists()
        else set()
    )
    assert after == before, "no input may have been uploaded"


def test_examples_with_url(objstore: ObjectStores, tmp_path: Path) -> None:
    """The examples: file names with spaces (wordcount, ubuntu) and a Directory output
    (split_dir, debian) give what they give with the mounted transport."""
    r = run(tmp_path, objstore, "examples/wordcount.wdl", "-i", "examples/wordcount.inputs.json")
    assert r.rc == 0, r.stderr
    assert r.json["outputs"]["wordcount.total_words"] == 137
    r = run(
        tmp_path,
        objstore,
        EXAMPLES / "split_dir.wdl",
        kind="post",
        inputs={"text": str(EXAMPLES / "data" / "hamlet.txt")},
    )
    assert r.rc == 0, r.stderr
    assert sorted(p.name for p in Path(r.json["outputs"]["split_dir.chunks"]).iterdir()) == [
        "part-000.txt",
        "part-001.txt",
        "part-002.txt",
    ]


def test_directory_input(objstore: ObjectStores, tmp_path: Path) -> None:
    d = tmp_path / "indir"
    (d / "sub" / "empty").mkdir(parents=True)
    (d / "a.txt").write_text("A\n")
    (d / "sub" / "b c.txt").write_text("B\n")
    src = task(
        tmp_path,
        """task dirs {
  input { Directory d }
  command <<<
    find '~{d}' | sed 's|^~{d}||' | sort
    cat '~{d}/sub/b c.txt'
  >>>
  output { Array[String] seen = read_lines(stdout()) }
  runtime { container: "busybox:latest" }
}""",
        version="development",
    )
    r = run(tmp_path, objstore, src, kind="post", inputs={"dirs.d": str(d)})
    assert r.rc == 0, r.stderr
    assert r.json["outputs"]["dirs.seen"] == [
        "",
        "/a.txt",
        "/sub",
        "/sub/b c.txt",
        "/sub/empty",
        "B",
    ]


def test_failure_in_container_reports_stderr(objstore: ObjectStores, tmp_path: Path) -> None:
    r = run(tmp_path, objstore, EXAMPLES / "fail_on_purpose.wdl")
    assert r.rc == 1
    assert "the command exited with 3" in r.stderr and "reference genome is missing" in r.stderr


def test_inputs_given_as_uris(objstore: ObjectStores, tmp_path: Path) -> None:
    """s3:// inputs are presigned by the driver, http(s):// ones passed through: nothing is
    downloaded to the host, unless an output is the input itself."""
    s3 = objstore.s3()
    key = f"remote-{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket="wfr-tests", Key=f"{key}/x.txt", Body=b"from seaweed\n")
    s3.put_object(Bucket="wfr-tests", Key=f"{key}/d/a.txt", Body=b"A\n")
    s3.put_object(Bucket="wfr-tests", Key=f"{key}/d/sub/b.txt", Body=b"B\n")
    (objstore.www / "wfr-tests" / key).mkdir(parents=True)
    (objstore.www / "wfr-tests" / key / "y z.txt").write_text("from nginx\n")
    src = task(
        tmp_path,
        """task rem {
  input { File f  File g  Directory d }
  command <<<
    cat '~{f}' '~{g}' '~{d}/a.txt' '~{d}/sub/b.txt' > all.txt
  >>>
  output { File all = "all.txt"  File same = f }
  runtime { container: "busybox:latest" }
}""",
    )
    r = run(
        tmp_path,
        objstore,
        src,
        kind="post",
        inputs={
            "rem.f": f"s3://wfr-tests/{key}/x.txt",
            "rem.g": f"{objstore.http}/wfr-tests/{key}/y%20z.txt",
            "rem.d": f"s3://wfr-tests/{key}/d",
        },
    )
    assert r.rc == 0, r.stderr
    out = r.json["outputs"]
    assert Path(out["rem.all"]).read_text() == "from seaweed\nfrom nginx\nA\nB\n"
    assert Path(out["rem.same"]).read_text() == "from seaweed\n"
    plan = json.loads((Path(r.json["dir"]) / "wfrewrite" / "plan.json").read_text())
    sources = [s["source"] for s in plan["stage"] if s["kind"] == "file"]
    assert any("X-Amz-Signature=" in s for s in sources), "s3:// inputs are presigned"
    assert f"{objstore.http}/wfr-tests/{key}/y%20z.txt" in sources
