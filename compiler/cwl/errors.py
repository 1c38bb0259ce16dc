"""CWL errors: cwltool and schema-salad exceptions -> wfrewrite errors with a position.

    bad.cwl:5:5: Field 'type' references unknown identifier 'Strin'   (schema-salad's leaf)
        ->
    SourceError("Field 'type' references unknown identifier 'Strin'", Pos("/abs/bad.cwl", 5, 5))

schema-salad keeps a tree of errors, each leaf with the file, line and column it is about;
cwltool's own errors carry ``file:line:col:`` prefixes. The deepest located leaf is the most
precise place, and that is where the error is reported.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from cwltool.errors import UnsupportedRequirement, WorkflowException
from ruamel.yaml.error import YAMLError
from schema_salad.exceptions import SchemaSaladException
from schema_salad.ref_resolver import uri_file_path

from ..diagnostics import InputError, Pos, UnsupportedError, WfError

_LOC = re.compile(r"^(?P<file>[^\s:][^:\n]*):(?P<line>\d+):(?P<col>\d+):\s*(?P<msg>.*)$", re.M)


def salad_position(exn: BaseException) -> tuple[Pos | None, str]:
    """The most precise position and message in a schema-salad error (its deepest leaf), or the
    last ``file:line:col:`` prefix in a cwltool message."""
    pos, msg = _salad_position(exn)
    missing = re.match(r"\[Errno 2\] No such file or directory: '(.*)'$", msg)
    return pos, f"input file not found: {missing.group(1)}" if missing else msg


def _salad_position(exn: BaseException) -> tuple[Pos | None, str]:
    chain: BaseException | None = exn
    while chain is not None:
        if isinstance(chain, SchemaSaladException):
            for path in _leaf_paths(chain):
                leaf = path[-1]
                if leaf.file and leaf.start:
                    uri = uri_file_path(leaf.file) if leaf.file.startswith("file:") else leaf.file
                    uri = os.path.abspath(uri)
                    msg = " ".join(str(leaf.detailed_message or leaf.message).split())
                    parent = " ".join(path[-2].message.split()) if len(path) > 1 else ""
                    if "field" in parent and parent.endswith(" because"):
                        msg = f"{parent[: -len(' because')]}: {msg}"
                    return Pos(uri=uri, line=leaf.start[0], column=leaf.start[1]), msg
        chain = chain.__cause__ or chain.__context__
    text = str(exn)
    found = list(_LOC.finditer(text))
    if found:  # the last located line is the most precise one
        m = found[-1]
        uri = m.group("file")
        uri = os.path.abspath(uri_file_path(uri) if uri.startswith("file:") else uri)
        msg = " ".join((m.group("msg") + " " + text[m.end() :]).split())
        return Pos(uri=uri, line=int(m.group("line")), column=int(m.group("col"))), msg
    return None, " ".join(text.split())


def _leaf_paths(exn: SchemaSaladException) -> Iterator[list[SchemaSaladException]]:
    """Every path from ``exn`` down to a leaf (an error with no children), depth first."""
    if not exn.children:
        if exn.message:
            yield [exn]
        return
    for child in exn.children:
        for path in _leaf_paths(child):
            yield [exn, *path]


@contextmanager
def cwl_errors(where: str, kind: type[WfError]) -> Iterator[None]:
    """cwltool and schema-salad errors as ``kind`` (a job that does not match the inputs: an
    InputError), positioned where schema-salad says, else at ``where``."""
    try:
        yield
    except WfError:
        raise
    except UnsupportedRequirement as exn:
        pos, msg = salad_position(exn)
        raise UnsupportedError(msg, pos) from None
    except (SchemaSaladException, WorkflowException) as exn:
        pos, msg = salad_position(exn)
        text = str(exn)
        if "Invalid job input record" in text:
            kind = InputError
            msg = f"the job does not match the tool's inputs: {msg}"
        raise kind(msg, pos or _doc_pos(where)) from None
    except FileNotFoundError as exn:
        raise InputError(f"{exn.strerror}: {exn.filename}", _doc_pos(where)) from None
    except YAMLError as exn:  # e.g. a character YAML does not accept, raw in a document
        raise kind(" ".join(str(exn).split()), _doc_pos(where)) from None
    except SystemExit:
        raise InputError(f"{where}: not a valid CWL job object (a YAML/JSON mapping)") from None
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exn:
        # cwltool reads some malformed documents before schema-salad validates them (``inputs:
        # 3`` fails in its stdout/stderr shorthand) and stumbles; it says "I couldn't load this
        # CWL file". A slip of wfrewrite's own code stays the bug it is.
        if _raised_in_wfrewrite(exn):
            raise
        raise kind(
            f"cwltool could not read this document ({type(exn).__name__}: {exn}); is it valid CWL?",
            _doc_pos(where),
        ) from None


def _raised_in_wfrewrite(exn: BaseException) -> bool:
    """Whether the innermost frame of ``exn``'s traceback is wfrewrite's own code."""
    tb = exn.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and str(tb.tb_frame.f_globals.get("__name__", "")).startswith(
        "wfrewrite."
    )


def _doc_pos(where: str) -> Pos | None:
    return (
        Pos(uri=os.path.abspath(where), line=1, column=1)
        if where and os.path.exists(where)
        else None
    )
