"""The conformance suites through the kubernetes executor (a Job per task on the test bed's
cluster, ../shared/testbed/k8s.sh) with the url transport: nothing is mounted, every pod runs in
the node's network (--k8s-host-network) to reach the test bed's nginx on 127.0.0.1. The same
helpers and floors file as test_conformance.py, under the key "kubernetes"; the floors are the
podman-url counts (Sprocket 48, CWL v1.2 development subset 128)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator

import pytest
from conftest import BIN, ObjectStores
from test_conformance import cwl_suite, wdl_suite, wfrewrite_cmd

pytestmark = [pytest.mark.conformance, pytest.mark.kubernetes]


@pytest.fixture
def k8s_args(kubernetes: str, objstore: ObjectStores) -> Iterator[tuple[str, ...]]:
    """The driver's arguments, with a store prefix of the suite's own (not the shared
    wfr-conformance/, which any pytest session's objstore fixture empties when it ends),
    removed afterwards."""
    prefix = f"wfr-k8s/conformance-{uuid.uuid4().hex[:8]}"
    try:
        yield (
            "--executor",
            "kubernetes",
            "--k8s-host-network",
            "--transport",
            "url",
            "--store",
            f"{objstore.http}/{prefix}/",
        )
    finally:
        shutil.rmtree(objstore.www / prefix, ignore_errors=True)


@pytest.mark.full
def test_sprocket_through_kubernetes(k8s_args: tuple[str, ...], tmp_path) -> None:  # type: ignore[no-untyped-def]
    wdl_suite("sprocket", "kubernetes", wfrewrite_cmd(*k8s_args), tmp_path)


@pytest.mark.full
def test_cwl_through_kubernetes(k8s_args: tuple[str, ...]) -> None:
    cwl_suite("kubernetes", str(BIN / "wfrewrite-cwl-runner"), *k8s_args)
