"""The `url` transport in the IR and the emitter: UrlSpec round trips, the checker's invariants,
which runtime files a plan selects, and that every URL and form value reaches the script as
quoted data only."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import BIN

from wfrewrite.compiler.diagnostics import PlanError
from wfrewrite.compiler.emit import data_section, emit, runtime_source, stage_list
from wfrewrite.compiler.plan import (
    Capture,
    Command,
    FormField,
    Layout,
    StageItem,
    TaskPlan,
    UrlSpec,
    check,
)

LAY = Layout.under("/tmp/wfr")
SHA = "sha1$" + "a" * 40


def plan(**kw: object) -> TaskPlan:
    base: dict[str, object] = dict(
        name="t",
        lang="wdl",
        layout=LAY,
        transport="url",
        url=UrlSpec(
            upload="post",
            upload_url="http://127.0.0.1:8333/bucket",
            key_prefix="runs/r1/out/",
            fields=(
                FormField(name="policy", value="eyJleHBpcmF0aW9uIjoi..."),
                FormField(name="x-amz-signature", value="$(touch pwned)'\"`"),
            ),
            ca_pem="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        ),
        stage=(
            StageItem(
                source="http://127.0.0.1:8089/in/a%20b.txt?X-Amz-Signature=ab&x=$(id)",
                path="/tmp/wfr/work/in/a b.txt",
                size=3,
                checksum=SHA,
            ),
        ),
        command=Command(script="cat 'in/a b.txt' > o.txt\n"),
        stdout="/tmp/wfr/stdout.txt",
        stderr="/tmp/wfr/stderr.txt",
        outputs=("o",),
        captures=(Capture(output="o", kind="path", pattern="o.txt"),),
    )
    base.update(kw)
    return TaskPlan(**base)  # type: ignore[arg-type]


def test_url_plan_round_trips() -> None:
    p = check(plan())
    assert TaskPlan.loads(p.dumps()) == p
    assert TaskPlan.loads(p.dumps()).url == p.url


PUT = UrlSpec(upload_url="http://127.0.0.1:8089/wfr/r1/out/")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"transport": "mounted"}, "UrlSpec on a plan with transport 'mounted'"),
        ({"url": None}, "needs a UrlSpec"),
        ({"url": UrlSpec(upload_url="ftp://x/")}, "not an http"),
        ({"url": UrlSpec(upload_url="http://h/no-slash")}, "must end with '/'"),
        (
            {"url": UrlSpec(upload_url="http://h/p/", fields=(FormField(name="a", value="b"),))},
            "only go with upload 'post'",
        ),
        ({"url": UrlSpec(upload_url="http://h/p/", parallel=0)}, "at least 1"),
        (
            {"stage": (StageItem(source="/host/a.txt", path="/tmp/wfr/work/a.txt"),)},
            "not an http",
        ),
        (
            {
                "stage": (
                    StageItem(source="http://h/a", path="/tmp/wfr/work/a.txt", checksum="md5$00"),
                )
            },
            "sha1",
        ),
    ],
)
def test_checker_refuses(change: dict[str, object], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        check(plan(**change))


def test_files_selected_per_transport() -> None:
    url_script = emit(check(plan()))
    assert runtime_source("transport_url.sh", comments=False) in url_script
    assert runtime_source("url_clients.sh", comments=False) in url_script
    assert runtime_source("transport_mounted.sh", comments=False) not in url_script
    mounted = check(
        plan(transport="mounted", url=None, stage=(StageItem(source="/a", path="/tmp/wfr/a"),))
    )
    script = emit(mounted)
    assert runtime_source("transport_mounted.sh") in script
    assert "wf_url_" not in script


def test_stage_rows_carry_size_and_sha1() -> None:
    assert stage_list(check(plan())).endswith("\t3\t" + "a" * 40 + "\n")


def test_long_staging_list_leaves_the_script() -> None:
    spec = UrlSpec(
        upload_url="http://h/p/",
        stage_list="http://h/p/stage.tsv",
        stage_list_size=10,
        stage_list_sha1="b" * 40,
    )
    script = emit(check(plan(url=spec)))
    assert "in/a%20b.txt" not in script
    assert "WF_URL_LIST='http://h/p/stage.tsv'" in script


def test_hostile_values_stay_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """URLs and form fields with shell metacharacters are quoted data: the script parses, passes
    shellcheck, and the values come back byte for byte from the data section."""
    script = emit(check(plan()))
    f = tmp_path / "s.sh"
    f.write_text(script)
    sc = subprocess.run(
        [str(BIN / "shellcheck"), "-s", "sh", str(f)], capture_output=True, text=True, check=False
    )
    assert sc.returncode == 0, sc.stdout
    probe = (
        data_section(check(plan()))
        + '\nwf_plan_fields cat\nwf_plan_stage cat\nprintf "%s\\n" "$WF_URL_KEY"\n'
    )
    (tmp_path / "p.sh").write_text(probe)
    out = subprocess.run(
        [shutil.which("dash") or "sh", str(tmp_path / "p.sh")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert "x-amz-signature\t$(touch pwned)'\"`\n" in out
    assert "?X-Amz-Signature=ab&x=$(id)\t" in out
    assert out.endswith("runs/r1/out/\n")
    assert not (tmp_path / "pwned").exists()
