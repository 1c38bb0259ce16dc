"""The plan's JSON form: explicit, driven by the dataclass fields' types.

    >>> encode(StageItem(source="/d/a.txt", path="/mnt/wfr/work/a.txt"))
    {'source': '/d/a.txt', 'path': '/mnt/wfr/work/a.txt', 'kind': 'file', 'writable': False, ...}
    >>> decode(StageItem, {"source": "/d/a.txt", "path": "/mnt/wfr/work/a.txt"})
    StageItem(source='/d/a.txt', path='/mnt/wfr/work/a.txt', kind='file', ...)

Every field is written (tuples as lists); ``bytes`` (a literal file's ``content``) become
``{"text": ...}`` when they are UTF-8, else ``{"base64": ...}``. Decoding refuses unknown keys and
fills what is missing from the fields' defaults.
"""

from __future__ import annotations

import base64
import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def field_names(cls: type) -> tuple[str, ...]:
    """The fields of a dataclass, in order; () for any other class (each class looked at once:
    every task's plan is encoded and checked, field by field, several times)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        is_dc = dataclasses.is_dataclass(cls)
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls)) if is_dc else ()
    return names


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def encode(obj: Any) -> Any:
    names = field_names(type(obj))
    if names:
        out: dict[str, Any] = {}
        for name in names:
            value = getattr(obj, name)
            if isinstance(value, bytes):
                out.update(_encode_bytes(value))
            else:
                out[name] = encode(value)
        return out
    if isinstance(obj, tuple):
        return [encode(x) for x in obj]
    return obj


def _encode_bytes(content: bytes) -> dict[str, str]:
    try:
        return {"text": content.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(content).decode("ascii")}


def decode(cls: type[T], data: dict[str, Any]) -> T:
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - names - ({"text", "base64"} if "content" in names else set())
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {sorted(unknown)}")
    kwargs: dict[str, Any] = {}
    for name in names:
        if name == "content":
            if "base64" in data:
                kwargs[name] = base64.b64decode(data["base64"])
            elif "text" in data:
                kwargs[name] = data["text"].encode("utf-8")
        elif name in data:
            kwargs[name] = _decode_value(hints[name], data[name])
    return cls(**kwargs)


def _decode_value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode_value(inner[0], value) if len(inner) == 1 else value
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_decode_value(item, x) for x in value)
    if dataclasses.is_dataclass(hint):
        return decode(hint, value)  # type: ignore[arg-type]
    return value
