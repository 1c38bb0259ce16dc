"""Bad input: each tests/errors/*.wdl marks its offending line with `# error: <expected text>`;
each tests/errors/*.cwl too, or its job object <name>.job.yml does.

`wfrewrite compile` must print `<file>:<that line>:<col>: error: ...` with the expected text, the
source line and a caret, exit 2, and write nothing. `wfrewrite-cwl-runner` must say the same and
exit 2 (33 for an unsupported feature, as cwltest expects), with nothing in its output dir.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, ROOT, wfrewrite

ERRORS = ROOT / "tests" / "errors"


def expectation(path: Path) -> tuple[int, str]:
    found = annotation(path)
    if found is None:
        raise AssertionError(f"{path} has no '# error:' annotation")
    return found


def annotation(path: Path) -> tuple[int, str] | None:
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = re.search(r"#\s*error:\s*(.+)$", line)
        if m:
            return n, m.group(1).strip()
    return None


@pytest.mark.parametrize("name", sorted(p.name for p in ERRORS.glob("*.wdl")))
def test_error_case(name: str, tmp_path: Path) -> None:
    source = ERRORS / name
    line, text = expectation(source)
    out = tmp_path / "out"
    r = wfrewrite("compile", str(source), "-o", str(out))
    assert r.rc == 2, r.stderr
    first = r.stderr.splitlines()[0]
    assert re.match(rf"{re.escape(str(source))}:{line}:\d+: error: ", first), r.stderr
    assert text in first, r.stderr
    assert "^" in r.stderr, "the source line and a caret follow the message"
    assert not out.exists(), "nothing may be written on error"


def test_inputs_errors(tmp_path: Path) -> None:
    src = ROOT / "examples" / "wordcount.wdl"
    missing = wfrewrite("compile", str(src), "-o", str(tmp_path / "o"))
    assert missing.rc == 2 and "missing required inputs for wordcount: texts" in missing.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"wordcount.texts": ["/nonexistent/file.txt"]}')
    r = wfrewrite("compile", str(src), "-i", str(bad), "-o", str(tmp_path / "o"))
    assert r.rc == 2 and "File not found: /nonexistent/file.txt" in r.stderr
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"wordcount.nope": 1}')
    r = wfrewrite("compile", str(src), "-i", str(wrong), "-o", str(tmp_path / "o"))
    assert r.rc == 2 and "nope" in r.stderr
    assert not (tmp_path / "o").exists()


def test_missing_source(tmp_path: Path) -> None:
    r = wfrewrite("compile", str(tmp_path / "absent.wdl"), "-o", str(tmp_path / "o"))
    assert r.rc == 2 and "absent.wdl" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("name", sorted(p.name for p in ERRORS.glob("*.cwl")))
def test_cwl_error_case(name: str, tmp_path: Path) -> None:
    source = ERRORS / name
    job = source.with_name(source.stem + ".job.yml")
    annotated = source if annotation(source) else job
    line, text = expectation(annotated)
    out = tmp_path / "out"
    job_args = ["-i", str(job)] if job.exists() else []
    r = wfrewrite("compile", str(source), *job_args, "-o", str(out))
    assert r.rc == 2, r.stderr
    first = r.stderr.splitlines()[0]
    assert re.match(rf"{re.escape(str(annotated))}:{line}:\d+: error: ", first), r.stderr
    assert text in first, r.stderr
    assert "^" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists(), "nothing may be written on error"

    outdir = tmp_path / "runner-out"
    p = subprocess.run(
        [str(BIN / "wfrewrite-cwl-runner"), "--quiet", "--executor", "local"]
        + ["--outdir", str(outdir), str(source)]
        + ([str(job)] if job.exists() else []),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == (33 if "unsupported:" in text else 2), p.stderr
    assert f"{annotated}:{line}:" in p.stderr and text in p.stderr, p.stderr
    assert p.stdout == "" and not (outdir.exists() and any(outdir.iterdir()))
