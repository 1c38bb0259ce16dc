"""Bad input: each tests/errors/*.wdl marks its offending line with `# error: <expected text>`.

`wfrewrite compile` must print `<file>:<that line>:<col>: error: ...` with the expected text, the
source line and a caret, exit 2, and write nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT, wfrewrite

ERRORS = ROOT / "tests" / "errors"


def expectation(path: Path) -> tuple[int, str]:
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = re.search(r"#\s*error:\s*(.+)$", line)
        if m:
            return n, m.group(1).strip()
    raise AssertionError(f"{path} has no '# error:' annotation")


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
