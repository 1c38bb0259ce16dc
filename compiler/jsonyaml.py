"""JSON that a YAML parser reads back exactly: for the inputs miniwdl and cwltool read.

miniwdl reads a WDL inputs file, and cwltool (schema-salad) a CWL job file, with a YAML parser
(ruamel.yaml), and YAML is not quite a superset of JSON:

    "\\ud83d\\udca5"    an astral character as JSON writes it (Python's json does, by default):
                      YAML reads two lone surrogates, which no script can hold
    "a<U+0085>b"       a raw NEL (or LS, PS): YAML reads a line break, folded into a space
    "<U+007F>"         a raw DEL, C1 control, U+FFFE or U+FFFF: YAML refuses the document
    {"<1024+ chars>": 1}   a key over 1024 characters: YAML refuses the document

``json_for_yaml(text)`` rewrites the first three in JSON text, changing nothing else (not even a
line, so positions still point where they did): a surrogate pair becomes YAML's ``\\U0001f4a5``
(so the text is YAML, no longer JSON), the raw characters ``\\u0085``-style escapes.
``yaml_flow(value)`` writes a JSON value as YAML flow text that is read back exactly, long keys
included (YAML's explicit ``? key``).
"""

from __future__ import annotations

import json
import re
from typing import Any

# An escaped backslash (consumed whole, so that "\\\\ud83d" -- a backslash, then "ud83d" -- is
# never read as an escape), a JSON surrogate pair, or a raw character YAML refuses or reads as a
# line break (or, the BOM, as the start of a document).
_ESCAPES = re.compile(
    r"(\\\\)"
    r"|\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"
    r"|([\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff])"
)
# YAML's limit on an implicit key is 1024 characters; longer ones are written explicitly.
_LONG_KEY = 1000


def _rewrite(m: re.Match[str]) -> str:
    if m.group(1):
        return m.group(1)
    if m.group(4):
        return f"\\u{ord(m.group(4)):04x}"
    hi, lo = int(m.group(2), 16), int(m.group(3), 16)
    return f"\\U{0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00):08x}"


def json_for_yaml(text: str) -> str:
    """``text``, if it is JSON, with what a YAML parser would misread rewritten (see above)."""
    try:
        json.loads(text)
    except ValueError:
        return text  # YAML, or not a document at all: the reader's own business
    return _ESCAPES.sub(_rewrite, text)


def _string(s: str) -> str:
    return _ESCAPES.sub(_rewrite, json.dumps(s))


def yaml_flow(value: Any) -> str:
    """A JSON value (dicts, lists, strings, numbers, booleans, None) as one line of YAML flow
    text that a YAML parser reads back as exactly ``value``."""
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            key = _string(str(k))
            items.append(("? " if len(key) > _LONG_KEY else "") + key + ": " + yaml_flow(v))
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(yaml_flow(v) for v in value) + "]"
    if isinstance(value, str):
        return _string(value)
    return json.dumps(value)
