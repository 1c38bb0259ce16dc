"""The conformance suites through the tes executor on the test bed's Funnel (funnel.sh): the
Sprocket WDL suite through `wfrewrite run` and the CWL v1.2 development subset through cwltest
and `wfrewrite-cwl-runner`, each with an s3:// store (SeaweedFS, which Funnel reads and writes
itself, in a bucket of its own) and a file:// store (a directory under /var/tmp that Funnel shares). Floors: "tes-s3" and
"tes-file" in floors.json. The helpers are test_conformance.py's."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BIN, TES_URL, revive_funnel
from test_conformance import cwl_suite, wdl_suite, wfrewrite_cmd

pytestmark = pytest.mark.conformance

S3_ENDPOINT = "http://127.0.0.1:8333"
# A bucket of its own: every test session's objstore fixture empties wfr-tests when it ends.
BUCKET = "wfr-tes"


@pytest.fixture(params=["s3", pytest.param("file", marks=pytest.mark.full)])
def store(request, funnel: str, objstore) -> Iterator[tuple[str, list[str]]]:  # type: ignore[no-untyped-def]
    """(floor key, the store's options); what the run left in the store goes afterwards."""
    tag = uuid.uuid4().hex[:8]
    if request.param == "s3":
        prefix = f"conformance-tes-{tag}"
        s3 = objstore.make_bucket(BUCKET)
        yield "tes-s3", ["--store", f"s3://{BUCKET}/{prefix}", "--s3-endpoint", S3_ENDPOINT]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    else:
        root = Path("/var/tmp") / f"wfr-conformance-tes-{tag}"
        yield "tes-file", ["--store", f"file://{root}"]
        shutil.rmtree(root, ignore_errors=True)


def tes_args(store: list[str], run: str) -> list[str]:
    return ["--executor", "tes", "--tes-url", TES_URL, "--run-label", run, *store]


def _sweep(run: str) -> None:
    from wfrewrite.runtime.exec import select
    from wfrewrite.runtime.options import Options

    select(Options(executor="tes", tes_url=TES_URL, store="file:///var/tmp/wfr-sweep")).sweep(
        run, force=True
    )
    shutil.rmtree("/var/tmp/wfr-sweep", ignore_errors=True)


@pytest.mark.full
def test_sprocket_through_tes(store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    key, args = store
    run = f"conformance-{uuid.uuid4().hex[:8]}"
    try:
        wdl_suite("sprocket", key, wfrewrite_cmd(*tes_args(args, run)), tmp_path)
    finally:
        _sweep(run)


def test_cwl_through_tes(store) -> None:  # type: ignore[no-untyped-def]
    key, args = store
    run = f"conformance-{uuid.uuid4().hex[:8]}"
    try:
        cwl_suite(
            key, str(BIN / "wfrewrite-cwl-runner"), *tes_args(args, run), revive=revive_funnel
        )
    finally:
        _sweep(run)
