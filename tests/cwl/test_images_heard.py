"""``load(..., images=...)`` tells the run the images a CWL document's text names (each once, in
order) as soon as it is read, before cwltool validates it: the podman executor asks about them
meanwhile (``prefetch``; tests/exec/test_image_facts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT

from wfrewrite.compiler import cwl
from wfrewrite.compiler.cwl.load import docker_pulls
from wfrewrite.compiler.diagnostics import WfError


def test_the_bench_workflow_names_busybox() -> None:
    heard: list[list[str]] = []
    tool = cwl.load(str(ROOT / "bench" / "scatter24.cwl"), images=heard.append)
    assert heard == [["busybox:latest"]]
    assert tool.tool["class"] == "Workflow"


def test_heard_before_validation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.cwl"
    bad.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\n"
        "requirements: [{class: DockerRequirement, dockerPull: 'alpine:3'}]\n"
        "hints: {DockerRequirement: {dockerPull: 'debian:12'}}\n"
        "inputs: 3\noutputs: []\n"
    )
    heard: list[list[str]] = []
    with pytest.raises(WfError):
        cwl.load(str(bad), images=heard.append)
    assert heard == [["alpine:3", "debian:12"]]


def test_docker_pulls_walks_steps_and_graphs() -> None:
    doc = {
        "$graph": [
            {"id": "a", "requirements": [{"class": "DockerRequirement", "dockerPull": "x:1"}]},
            {"steps": {"s": {"run": {"hints": {"DockerRequirement": {"dockerPull": "y:2"}}}}}},
            {"hints": [{"dockerPull": "x:1"}, {"dockerPull": {"not": "a string"}}]},
        ]
    }
    assert docker_pulls(doc) == ["x:1", "y:2"]
