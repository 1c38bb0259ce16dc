"""The IR: serialization round trips, the checker's invariants, and the passes."""

from __future__ import annotations

import dataclasses
import json

import pytest

from wfrewrite.compiler.diagnostics import PlanError, Pos
from wfrewrite.compiler.plan import (
    NO_FACTS,
    PLAN_VERSION,
    Capture,
    Command,
    EnvVar,
    Facts,
    ImageFacts,
    Layout,
    LiteralFile,
    Mount,
    Resources,
    StageItem,
    TaskPlan,
    check,
)
from wfrewrite.compiler.plan.passes import (
    bind_entrypoint,
    choose_image,
    image_candidates,
    link_mode,
    placed_inputs,
    readonly_areas,
    readonly_inputs,
    run_passes,
    stage_dir,
    stage_names,
)

LAY = Layout.under("/mnt/wfr")


def plan(**kw: object) -> TaskPlan:
    base: dict[str, object] = dict(
        name="t",
        lang="wdl",
        layout=LAY,
        command=Command(script="echo hi\n"),
        stdout="/mnt/wfr/stdout.txt",
        stderr="/mnt/wfr/stderr.txt",
    )
    base.update(kw)
    return TaskPlan(**base)  # type: ignore[arg-type]


def full() -> TaskPlan:
    return plan(
        source=Pos(uri="t.wdl", line=3, column=1),
        image="busybox:latest",
        image_alternatives=("alpine:3",),
        resources=Resources(cpu=2.0, memory=1 << 30, disk=10, gpu=1, time_limit=60),
        network=False,
        layout=Layout(
            root="/mnt/wfr",
            work="/mnt/wfr/work",
            tmp="/mnt/wfr/tmp",
            home="/mnt/wfr/home",
            meta="/mnt/wfr/wfrewrite",
            work_alias="/out",
            outside=("/ref/genome.fa",),
        ),
        command=Command(argv=("tool", "-x"), shell="none", entrypoint=True),
        env=(EnvVar(name="A", value="x y"),),
        stage=(
            StageItem(
                source="/data/a.txt", path="/mnt/wfr/work/in/a.txt", size=3, checksum="sha1$x"
            ),
            StageItem(source="/data/d", path="/mnt/wfr/work/in/d", kind="directory", writable=True),
            StageItem(source="/data/g.fa", path="/ref/genome.fa"),
        ),
        literals=(
            LiteralFile(path="/mnt/wfr/work/l.txt", content=b"text\n"),
            LiteralFile(path="/mnt/wfr/work/b.bin", content=b"\xff\x00\x01", executable=True),
            LiteralFile(path="/mnt/wfr/work/empty", kind="directory"),
        ),
        success_codes=None,
        temporary_fail_codes=(75,),
        permanent_fail_codes=(1, 2),
        max_retries=2,
        outputs=("o", "g"),
        captures=(
            Capture(output="o", kind="path", pattern="o.txt"),
            Capture(output="g", kind="glob", pattern="*.txt", required=False, files_only=False),
            Capture(output="", kind="cwl_output_json", required=False),
        ),
    )


def test_round_trip_every_field() -> None:
    p = check(full())
    assert TaskPlan.loads(p.dumps()) == p
    data = json.loads(p.dumps())
    assert data["plan_version"] == PLAN_VERSION
    assert data["literals"][0]["text"] == "text\n"
    assert "base64" in data["literals"][1]


def test_unknown_version_and_keys_are_refused() -> None:
    data = full().to_json()
    with pytest.raises(ValueError, match="plan_version"):
        TaskPlan.from_json({**data, "plan_version": 99})
    with pytest.raises(ValueError, match="unknown keys"):
        TaskPlan.from_json({**data, "bogus": 1})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stage": (StageItem(source="/a", path="relative/x"),)}, "not absolute"),
        ({"stage": (StageItem(source="/a", path="/elsewhere/x"),)}, "outside layout.root"),
        ({"stage": (StageItem(source="/a", path="/mnt/wfr/work/../x"),)}, "not normalized"),
        ({"stage": (StageItem(source="/a", path="/mnt/wfr/work/a\nb"),)}, "control character"),
        (
            {
                "stage": (
                    StageItem(source="/a", path="/mnt/wfr/x"),
                    StageItem(source="/b", path="/mnt/wfr/x"),
                )
            },
            "staged twice",
        ),
        (
            {
                "stage": (StageItem(source="/a", path="/mnt/wfr/f"),),
                "literals": (LiteralFile(path="/mnt/wfr/f/inner"),),
            },
            "inside the staged file",
        ),
        (
            {"captures": (Capture(output="nope", kind="path", pattern="x"),)},
            "not a declared output",
        ),
        (
            {"outputs": ("o",), "captures": (Capture(output="o", kind="path", pattern="../x"),)},
            "climbs out",
        ),
        (
            {"outputs": ("o",), "captures": (Capture(output="o", kind="glob", pattern="/etc/*"),)},
            "outside",
        ),
        ({"env": (EnvVar(name="BAD-NAME", value="x"),)}, "not a shell identifier"),
        ({"image": " "}, "empty string"),
        ({"command": Command(argv=("ls",), shell="bash_or_sh")}, "shell 'none'"),
        ({"success_codes": (0, 300)}, "outside 0..255"),
        ({"command": Command(script="ls\n", shell="sh", entrypoint=True)}, "entrypoint"),
        (
            {"layout": dataclasses.replace(LAY, work_alias="out")},
            "work_alias 'out' is not absolute",
        ),
        ({"resources": Resources(time_limit=-1)}, "time limit is negative"),
        ({"resources": Resources(preemptible=-1)}, "must not be negative"),
        ({"resources": Resources(mounts=(Mount(path="data"),))}, "mount point 'data' is not"),
        (
            {"resources": Resources(mounts=(Mount(path="/mnt/wfr/work/d"),))},
            "overlaps layout.root",
        ),
        ({"stdout": "/tmp/out"}, "outside layout.root"),
        (
            {"layout": dataclasses.replace(LAY, outside=("/mnt/wfr/work/x",))},
            "overlaps layout.root",
        ),
        (
            {
                "layout": dataclasses.replace(LAY, outside=("/ref/a",)),
                "stage": (StageItem(source="/a", path="/ref/b"),),
            },
            "outside layout.root",
        ),
    ],
)
def test_checker_refuses(change: dict[str, object], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        check(plan(**change))


def image(name: str, *entrypoint: str, **kw: object) -> Facts:
    return Facts(image=ImageFacts(image=name, entrypoint=tuple(entrypoint), **kw))  # type: ignore[arg-type]


def test_choose_image_pass() -> None:
    """The image the facts chose (the default for a task that declares none) replaces the
    plan's candidates; with no image facts (local) the plan is left as it is."""
    alternatives = plan(image="a:1", image_alternatives=("b:2",))
    chosen = choose_image(alternatives, image("b:2"))
    assert (chosen.image, chosen.image_alternatives) == ("b:2", ())
    assert choose_image(plan(), image("ubuntu:22.04")).image == "ubuntu:22.04"
    assert choose_image(plan(), NO_FACTS) == plan()
    assert image_candidates(alternatives, "ubuntu:22.04") == ["a:1", "b:2"]
    assert image_candidates(plan(), "ubuntu:22.04") == ["ubuntu:22.04"]


def test_entrypoint_pass() -> None:
    argv = plan(command=Command(argv=("-c", "echo moo"), shell="none", entrypoint=True))
    bound = bind_entrypoint(argv, image("bash:4.4", "docker-entrypoint.sh"))
    assert bound.command.argv == ("docker-entrypoint.sh", "-c", "echo moo")
    assert not bound.command.entrypoint, "the entrypoint is bound once"
    assert bind_entrypoint(bound, image("bash:4.4", "again")) == bound
    assert bind_entrypoint(argv, image("busybox")).command.argv == ("-c", "echo moo")
    assert bind_entrypoint(argv, NO_FACTS).command.argv == ("-c", "echo moo")
    script = plan()
    assert bind_entrypoint(script, image("bash:4.4", "docker-entrypoint.sh")) == script


def test_link_mode_pass() -> None:
    assert link_mode("copy")(plan(), NO_FACTS).link_mode == "copy"
    with pytest.raises(ValueError):
        link_mode("teleport")


def test_stage_dir_pass_groups_by_parent_and_keeps_names() -> None:
    p = plan(
        stage=(
            StageItem(source="/data/x/a.txt", path="/mnt/wfr/work/i/0/a.txt"),
            StageItem(source="/data/y/a.txt", path="/mnt/wfr/work/i/1/a.txt"),
            StageItem(source="/data/x/b.txt", path="/mnt/wfr/work/i/0/b.txt"),
        )
    )
    assert stage_names(p) == [
        ("/data/x/a.txt", "0/a.txt"),
        ("/data/y/a.txt", "1/a.txt"),
        ("/data/x/b.txt", "0/b.txt"),
    ]
    out = run_passes(p, NO_FACTS, [stage_dir("stage")])
    assert [s.source for s in out.stage] == ["0/a.txt", "1/a.txt", "0/b.txt"]
    assert out.layout.stage == "/mnt/wfr/stage"


def test_passes_are_checked() -> None:
    """run_passes checks the plan after every pass: a pass that breaks an invariant is caught
    where it runs."""

    def breaks(p: TaskPlan, facts: object) -> TaskPlan:
        return p.replace(stdout="relative.txt")

    with pytest.raises(PlanError, match=r"stdout 'relative\.txt' is not absolute"):
        run_passes(plan(), NO_FACTS, [breaks])


def test_readonly_inputs_pass() -> None:
    """Inputs in their own directories are placed there and the directory mounted read-only; an
    input in the work dir gets a read-only mount of its own; a writable one goes by the staging
    dir (a copy)."""
    p = plan(
        stage=(
            StageItem(source="/data/x/a.txt", path="/mnt/wfr/work/_miniwdl_inputs/0/a.txt"),
            StageItem(source="/data/y/b.txt", path="/mnt/wfr/work/_miniwdl_inputs/1/b.txt"),
            StageItem(source="/data/y/c.txt", path="/mnt/wfr/work/c.txt"),
            StageItem(source="/data/y/d.txt", path="/mnt/wfr/work/d.txt", writable=True),
        )
    )
    out = run_passes(p, NO_FACTS, [readonly_inputs, stage_dir("stage")])
    assert out.layout.readonly == ("/mnt/wfr/work/_miniwdl_inputs", "/mnt/wfr/work/c.txt")
    assert [s.source for s in out.stage] == [
        "/mnt/wfr/work/_miniwdl_inputs/0/a.txt",
        "/mnt/wfr/work/_miniwdl_inputs/1/b.txt",
        "/mnt/wfr/work/c.txt",
        "0/d.txt",
    ]
    assert placed_inputs(p) == [
        ("/data/x/a.txt", "/mnt/wfr/work/_miniwdl_inputs/0/a.txt"),
        ("/data/y/b.txt", "/mnt/wfr/work/_miniwdl_inputs/1/b.txt"),
        ("/data/y/c.txt", "/mnt/wfr/work/c.txt"),
    ]
    assert stage_names(readonly_inputs(p, NO_FACTS)) == [("/data/y/d.txt", "0/d.txt")]
    # nothing the script writes may sit in a read-only area
    lit = p.replace(literals=(LiteralFile(path="/mnt/wfr/work/_miniwdl_inputs/0/x.sh"),))
    assert "/mnt/wfr/work/_miniwdl_inputs" not in readonly_areas(lit)
    with pytest.raises(PlanError, match="read-only directory but is not placed"):
        check(
            p.replace(layout=dataclasses.replace(LAY, readonly=("/mnt/wfr/work/_miniwdl_inputs",)))
        )
