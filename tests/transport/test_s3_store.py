"""The s3:// store against the test bed's real SeaweedFS (127.0.0.1:8333, key/secret
``testing``): its boto3 client is made once, off the thread that opens the store, and every
use (from any thread, however early) gets that one client; without boto3 the store says so
when it is opened."""

from __future__ import annotations

import io
import threading
import uuid

import pytest
from conftest import NO_AWS, ObjectStores

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


def test_no_credentials_is_said_by_every_use(
    objstore: ObjectStores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without credentials every use of the store (a presigned URL, a GET, a PUT, a listing, a
    DELETE) says what to set, as a WfError: not boto3's NoCredentialsError from deep inside."""
    for k, v in NO_AWS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = stores.open_store(Options(store=f"s3://{BUCKET}/nocreds", s3_endpoint=objstore.seaweed))
    uses = [
        lambda: store.key_url("in/x"),
        lambda: store.get("in/x", io.BytesIO()),
        lambda: store.put_bytes("in/x", b"x"),
        lambda: store.delete_prefix("out/"),
        lambda: store.delete_keys("out/", ["a"]),
    ]
    for use in uses:
        with pytest.raises(
            WfError, match=r"s3://wfr-tests: no AWS credentials .*AWS_ACCESS_KEY_ID"
        ):
            use()
