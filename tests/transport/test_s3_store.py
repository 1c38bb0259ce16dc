"""The s3:// store against the test bed's real SeaweedFS (127.0.0.1:8333, key/secret
``testing``): its boto3 client is made once, off the thread that opens the store, and every
use (from any thread, however early) gets that one client; without boto3 the store says so
when it is opened. ``Deletions`` (fetched outboxes leaving the store off the tasks' path) against
the same server and a file:// store."""

from __future__ import annotations

import io
import logging
import threading
import uuid
from pathlib import Path

import pytest
from conftest import ObjectStores

from wfrewrite.compiler.diagnostics import WfError
from wfrewrite.runtime.options import Options
from wfrewrite.runtime.transport import stores

BUCKET = "wfr-tests"


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                 ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        monkeypatch.setenv(k, v)


def test_client_made_once_in_the_background_and_shared(
    objstore: ObjectStores, s3_env: None
) -> None:
    objstore.make_bucket(BUCKET)
    prefix = f"s3store-{uuid.uuid4().hex[:8]}"
    store = stores.open_store(
        Options(store=f"s3://{BUCKET}/{prefix}", s3_endpoint=objstore.seaweed)
    )
    inner = store.inner  # type: ignore[attr-defined]
    assert isinstance(inner, stores.S3Store)
    # what needs no client answers at once
    assert store.platform_url("out/x") == f"s3://{BUCKET}/{prefix}/out/x"
    clients: list[object] = []
    threads = [threading.Thread(target=lambda: clients.append(inner.s3)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(clients) == 8 and all(c is clients[0] for c in clients)
    try:
        store.put_bytes("in/hello", b"hello\n")
        buf = io.BytesIO()
        assert store.get("in/hello", buf) and buf.getvalue() == b"hello\n"
        assert not store.get("in/absent", io.BytesIO())
    finally:
        store.delete_prefix("")


def test_no_boto3_is_said_when_the_store_is_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    real = stores.importlib.util.find_spec
    monkeypatch.setattr(
        stores.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "boto3" else real(name, *a),
    )
    with pytest.raises(WfError, match="needs boto3"):
        stores.open_store(Options(store="s3://b/p", s3_endpoint="http://127.0.0.1:9"))


def test_deletions_gather_and_go_in_one_request(
    objstore: ObjectStores, s3_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outboxes added one after another leave in one DELETE (after Deletions.WAIT), and flush
    removes what is left at once; the keys of other outboxes stay."""
    objstore.make_bucket(BUCKET)
    store = stores.open_store(
        Options(store=f"s3://{BUCKET}/gone-{uuid.uuid4().hex[:8]}", s3_endpoint=objstore.seaweed)
    )
    inner = store.inner  # type: ignore[attr-defined]
    calls: list[int] = []
    real = inner.delete_keys
    monkeypatch.setattr(
        inner, "delete_keys", lambda p, rels: (calls.append(len(rels)), real(p, rels))
    )
    try:
        for i in range(5):
            store.put_bytes(f"out/j{i}/wfrewrite/bundle.tar", b"x")
            store.put_bytes(f"out/j{i}/work/big.bin", b"y")
        store.put_bytes("out/keep/wfrewrite/bundle.tar", b"z")
        gone = stores.Deletions(store)
        monkeypatch.setattr(gone, "WAIT", 0.3)
        for i in range(4):
            gone.add(f"out/j{i}/", ["wfrewrite/bundle.tar", "work/big.bin"])
        for _ in range(50):
            if calls:
                break
            threading.Event().wait(0.1)
        assert calls == [8]  # the four outboxes in one request
        gone.add("out/j4/", ["wfrewrite/bundle.tar", "work/big.bin"])
        gone.flush()
        assert calls == [8, 2]
        listed = inner.s3.list_objects_v2(Bucket=BUCKET, Prefix=store.prefix + "out/")  # type: ignore[attr-defined]
        assert [o["Key"] for o in listed["Contents"]] == [
            store.prefix + "out/keep/wfrewrite/bundle.tar"
        ]  # type: ignore[attr-defined]
    finally:
        store.delete_prefix("")


def test_deletions_from_a_file_store_and_a_failing_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A store without a many-key DELETE removes each outbox as a prefix; a deletion that fails
    is a warning (the results are home), and later ones still go."""
    store = stores.open_store(Options(store=f"file://{tmp_path}/store"))
    for name in ("a", "b"):
        store.put_bytes(f"out/{name}/wfrewrite/bundle.tar", b"x")
    gone = stores.Deletions(store)
    gone.add("out/a/", ["wfrewrite/bundle.tar"])
    gone.flush()
    assert not (tmp_path / "store" / "out" / "a").exists()
    assert (tmp_path / "store" / "out" / "b" / "wfrewrite" / "bundle.tar").exists()

    class Broken(stores.Store):
        def delete_keys(self, prefix: str, rels: list[str]) -> None:
            raise OSError("the store is gone")

    broken = stores.Deletions(Broken())
    with caplog.at_level(logging.WARNING, logger="wfrewrite.transport"):
        broken.add("out/a/", ["wfrewrite/bundle.tar"])
        broken.flush()
    assert "the outboxes of 1 tasks were left in the store: the store is gone" in caplog.text
