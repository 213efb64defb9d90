"""The canonical JSON form of a message, shared by every binding and by the conformance
vectors (conformance/README.md): field names from the schema, ``"type"`` first, then the
fields in the schema's declaration order, written compactly (``dumps``); 64-bit
integers as decimal strings; enumerations by variant name; flag sets as integers; text
without padding; reserved and count fields left out (a counted array lists its valid
entries); the header without the fields an encoder derives."""

import json
import re
from typing import Any, Dict

from . import messages
from ._runtime import EncodeError

_BY_NAME = {cls.__name__: cls for cls in messages.MESSAGE_TYPES}


def _value_to_json(spec, value):
    kind = spec[0]
    if kind == "int":
        return str(value) if spec[1] == 8 else int(value)
    if kind == "enum":
        return value.name if hasattr(value, "name") else int(value)
    if kind == "flags":
        return int(value)
    if kind == "text":
        return value
    if kind == "struct":
        return _record_to_json(value)
    return [_value_to_json(spec[1], v) for v in value]  # array


def _record_to_json(obj) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for name, spec, _since, _offset in type(obj)._spec:
        if name in type(obj)._derived:
            continue
        value = getattr(obj, name)
        if value is not None:  # absent: a field newer than the message's version
            out[name] = _value_to_json(spec, value)
    return out


def to_json(msg) -> Dict[str, Any]:
    """The canonical JSON object (a dict) of a message."""
    out: Dict[str, Any] = {"type": type(msg).__name__}
    out.update(_record_to_json(msg))
    return out


def dumps(msg) -> str:
    """The canonical JSON text of a message: the same characters in every binding."""
    return json.dumps(to_json(msg), separators=(",", ":"))


# A 64-bit value's decimal string in the canonical form: `0`, or an optional `-` and ASCII
# digits not starting with 0 (no `+`, leading zeros, `-0`, spaces, `_` or exponent).
_DECIMAL = re.compile(r"0|-?[1-9][0-9]{0,19}")


def _value_from_json(spec, j, path):
    kind = spec[0]
    if kind == "int":
        if spec[1] == 8:
            if not isinstance(j, str):
                raise EncodeError(path, f"a 64-bit integer must be a decimal string, got {j!r}")
            if not _DECIMAL.fullmatch(j):
                raise EncodeError(
                    path,
                    f"not a canonical decimal integer (0, or an optional - and digits without a leading zero): {j!r}",
                )
            return int(j)
        if not isinstance(j, int) or isinstance(j, bool):
            raise EncodeError(path, f"expected an integer, got {j!r}")
        return j
    if kind == "enum":
        cls = spec[1]
        if isinstance(j, str):
            try:
                return cls[j]
            except KeyError:
                raise EncodeError(path, f"no {cls.__name__} variant named {j!r}") from None
        raise EncodeError(path, f"expected a variant name, got {j!r}")
    if kind == "flags":
        if not isinstance(j, int) or isinstance(j, bool):
            raise EncodeError(path, f"expected an integer, got {j!r}")
        return j
    if kind == "text":
        if not isinstance(j, str):
            raise EncodeError(path, f"expected a string, got {j!r}")
        return j
    if kind == "struct":
        return _record_from_json(spec[1], j, path)
    if not isinstance(j, list):
        raise EncodeError(path, f"expected a list, got {j!r}")
    return [_value_from_json(spec[1], v, f"{path}[{k}]") for k, v in enumerate(j)]


def _record_from_json(cls, j, path):
    if not isinstance(j, dict):
        raise EncodeError(path, f"expected an object, got {j!r}")
    kwargs = {}
    # The fields the encoder fills (magic, length, …) are not keys of the form either.
    known = {name for name, *_ in cls._spec if name not in cls._derived}
    for key in j:
        if key not in known and key != "type":
            raise EncodeError(f"{path}.{key}", "no such field")
    for name, spec, since, _offset in cls._spec:
        if name in cls._derived:
            continue
        if name not in j:
            if since > messages.VERSION:
                continue
            raise EncodeError(f"{path}.{name}", "missing")
        kwargs[name] = _value_from_json(spec, j[name], f"{path}.{name}")
    return cls(**kwargs)


def from_json(j: Dict[str, Any]):
    """The message a canonical JSON object describes (EncodeError if it does not)."""
    if not isinstance(j, dict) or not isinstance(j.get("type"), str):
        raise EncodeError("type", "missing")
    cls = _BY_NAME.get(j["type"])
    if cls is None:
        raise EncodeError("type", f"unknown message type {j['type']!r}")
    return _record_from_json(cls, j, cls.__name__)
