"""The conformance suites through the kubernetes executor (a Job per task on the test bed's
cluster, ../shared/testbed/k8s.sh) with the url transport: nothing is mounted, every pod runs in
the node's network (--k8s-host-network) to reach the test bed's nginx on 127.0.0.1. The same
helpers and floors file as test_conformance.py, under the key "kubernetes"; the floors are the
podman-url counts (Sprocket 48, CWL v1.2 development subset 128)."""

from __future__ import annotations

import pytest
from conftest import BIN
from test_conformance import URL_STORE, cwl_suite, wdl_suite, wfrewrite_cmd

pytestmark = [pytest.mark.conformance, pytest.mark.kubernetes]

K8S_ARGS = (
    "--executor",
    "kubernetes",
    "--k8s-host-network",
    "--transport",
    "url",
    "--store",
    URL_STORE,
)


def test_sprocket_through_kubernetes(kubernetes: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    wdl_suite("sprocket", "kubernetes", wfrewrite_cmd(*K8S_ARGS), tmp_path)


def test_cwl_through_kubernetes(kubernetes: str) -> None:
    cwl_suite("kubernetes", str(BIN / "wfrewrite-cwl-runner"), *K8S_ARGS)
