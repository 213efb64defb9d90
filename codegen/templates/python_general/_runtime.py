"""What every message class of this package shares: byte order, text, the errors, the
canonical JSON writer, MoldUDP64. The message classes (messages.py) are generated from the
schema; this file is the same for every protocol."""

from __future__ import annotations

import re
from typing import Iterator, Optional, Tuple


class DecodeError(ValueError):
    """Bytes that are not a valid message: `kind` (the Rust crate's DecodeError name),
    `offset` (the byte at fault, from the start of the caller's buffer), `field`
    ("Message.field", for BadEnum and BadText) and `value` (the bytes needed for Truncated,
    the length for BadLength, the code for UnknownType and UnexpectedType, the value for
    BadEnum)."""

    def __init__(self, kind: str, offset: int, field: Optional[str] = None, value: int = 0):
        self.kind, self.offset, self.field, self.value = kind, offset, field, value
        where = f" in {field}" if field else ""
        super().__init__(f"{kind} at byte {offset}{where} ({value})")


class FrameError(ValueError):
    """A datagram that is not a MoldUDP64 packet: `offset` is where it goes wrong."""

    def __init__(self, what: str, offset: int):
        self.what, self.offset = what, offset
        super().__init__(f"at byte {offset}: {what}")


def get_int(b, at: int, n: int, big: bool, signed: bool) -> int:
    return int.from_bytes(b[at:at + n], "big" if big else "little", signed=signed)


def put_int(b: bytearray, at: int, n: int, big: bool, signed: bool, v: int, name: str) -> None:
    lo, hi = (-(1 << (8 * n - 1)), (1 << (8 * n - 1)) - 1) if signed else (0, (1 << (8 * n)) - 1)
    if not lo <= v <= hi:
        raise ValueError(f"{name}: {v} does not fit a {8 * n}-bit {'signed' if signed else 'unsigned'} integer ({lo} to {hi})")
    b[at:at + n] = v.to_bytes(n, "big" if big else "little", signed=signed)


def text_valid(b, at: int, n: int, space: bool) -> bool:
    field = bytes(b[at:at + n])
    end = n if space else (field.index(0) if 0 in field else n)
    return all(0x20 <= c <= 0x7E for c in field[:end]) and all(c == 0 for c in field[end:])


def get_text(b, at: int, n: int, space: bool) -> str:
    field = bytes(b[at:at + n])
    end = 0
    while end < n and 0x20 <= field[end] <= 0x7E:
        end += 1
    text = field[:end].decode("ascii")
    return text.rstrip(" ") if space else text


def put_text(b: bytearray, at: int, n: int, space: bool, text: str, name: str) -> None:
    data = text.encode("ascii", errors="strict") if text.isascii() else None
    if data is None or any(not 0x20 <= c <= 0x7E for c in data):
        raise ValueError(f"{name}: {text!r} is not printable ASCII")
    if len(data) > n:
        raise ValueError(f"{name}: {len(data)} bytes do not fit {n}")
    b[at:at + n] = data + (b" " if space else b"\0") * (n - len(data))


# ---- Reading canonical JSON (the generated from_json): every field present, no other key,
# each value in its field's form; every refusal is a ValueError naming "Message.field". ----

_CANONICAL_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,19})")


def json_object(obj, message: str, fields) -> None:
    """Checks that `obj` is a JSON object of `message`: its "type", and no key but `fields`."""
    if not isinstance(obj, dict):
        raise ValueError(f"{message}: a message is a JSON object, got {obj!r}")
    if obj.get("type") != message:
        raise ValueError(f"{message}: \"type\" must be {message!r}, got {obj.get('type')!r}")
    for k in obj:
        if k != "type" and k not in fields:
            raise ValueError(f"{message}: no field named {k!r}")


def _field(obj, message: str, field: str):
    if field not in obj:
        raise ValueError(f"{message}.{field}: missing")
    return obj[field]


def _in_range(v: int, message: str, field: str, n: int, signed: bool) -> int:
    lo, hi = (-(1 << (8 * n - 1)), (1 << (8 * n - 1)) - 1) if signed else (0, (1 << (8 * n)) - 1)
    if not lo <= v <= hi:
        raise ValueError(f"{message}.{field}: {v} is outside {lo}..={hi}")
    return v


def json_int(obj, message: str, field: str, n: int, signed: bool) -> int:
    """An integer of `n` bytes: a canonical decimal string when 64-bit, else a JSON integer."""
    v = _field(obj, message, field)
    if n == 8:
        if not isinstance(v, str) or not _CANONICAL_INT.fullmatch(v) or v == "-0":
            raise ValueError(f"{message}.{field}: a 64-bit integer is a canonical decimal string, got {v!r}")
        v = int(v)
    elif type(v) is not int:
        raise ValueError(f"{message}.{field}: expected a JSON integer, got {v!r}")
    return _in_range(v, message, field, n, signed)


def json_decimal(obj, message: str, field: str, n: int, signed: bool, scale: int) -> int:
    """A scaled integer: a decimal string with exactly `scale` places ("150.0000")."""
    v = _field(obj, message, field)
    places = r"\.([0-9]{%d})" % scale if scale else "()"
    m = re.fullmatch(r"(-?)(0|[1-9][0-9]{0,19})" + places, v) if isinstance(v, str) else None
    if m is None or (m.group(1) and int(m.group(2) + (m.group(3) or "0")) == 0):
        raise ValueError(f"{message}.{field}: expected a decimal string with exactly {scale} places, got {v!r}")
    magnitude = int(m.group(2)) * 10 ** scale + int(m.group(3) or "0")
    return _in_range(-magnitude if m.group(1) else magnitude, message, field, n, signed)


def json_char(obj, message: str, field: str) -> str:
    """A character field: one printable ASCII character."""
    v = _field(obj, message, field)
    if not isinstance(v, str) or len(v) != 1 or not " " <= v <= "~":
        raise ValueError(f"{message}.{field}: expected one printable ASCII character, got {v!r}")
    return v


def json_type_code(obj, message: str, field: str, code: int, is_char: bool):
    """The type code's own field, which must be the message's code."""
    v = _field(obj, message, field)
    expected = chr(code) if is_char else code
    if type(v) is not type(expected) or v != expected:
        raise ValueError(f"{message}.{field}: must be the type code {expected!r}, got {v!r}")
    return v


def json_text(obj, message: str, field: str, n: int) -> str:
    """Text of at most `n` printable ASCII characters."""
    v = _field(obj, message, field)
    if not isinstance(v, str) or len(v) > n or any(not " " <= c <= "~" for c in v):
        raise ValueError(f"{message}.{field}: expected printable ASCII text of at most {n} characters, got {v!r}")
    return v


def json_enum(obj, message: str, field: str, enum_class):
    """An enumeration's variant, by its name."""
    v = _field(obj, message, field)
    if not isinstance(v, str) or v not in enum_class.__members__:
        raise ValueError(f"{message}.{field}: {v!r} is not a variant of {enum_class.__name__}")
    return enum_class[v]


def json_string(text: str) -> str:
    """The one JSON string writer: quotes, backslashes and every control byte escaped, as
    the Rust crate's and the C header's writers do."""
    out = ['"']
    for c in text:
        o = ord(c)
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\u{o:04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def decimal(v: int, scale: int) -> str:
    """`v` × 10^-scale as a JSON string of exactly `scale` places."""
    sign, a = ("-", -v) if v < 0 else ("", v)
    if scale == 0:
        return f'"{sign}{a}"'
    unit = 10 ** scale
    return f'"{sign}{a // unit}.{a % unit:0{scale}d}"'


MOLD_HEADER = 20
MOLD_HEARTBEAT = 0
MOLD_END_OF_SESSION = 0xFFFF


def mold_blocks(datagram) -> Tuple[Tuple[bytes, int, int], Iterator[Tuple[int, int, bytes]]]:
    """A MoldUDP64 packet: its header (session as sent, sequence, count) and its blocks as
    (sequence, offset of the message in the datagram, message bytes). FrameError for a
    datagram shorter than the header (at once) or a block cut short or bytes after the last
    block (when reached)."""
    if len(datagram) < MOLD_HEADER:
        raise FrameError(f"a MoldUDP64 packet needs a {MOLD_HEADER}-byte header, the datagram has {len(datagram)} bytes", 0)
    session = bytes(datagram[:10])
    sequence = int.from_bytes(datagram[10:18], "big")
    count = int.from_bytes(datagram[18:20], "big")

    def blocks() -> Iterator[Tuple[int, int, bytes]]:
        pos, left = MOLD_HEADER, 0 if count == MOLD_END_OF_SESSION else count
        seq = sequence
        while left:
            if len(datagram) - pos < 2:
                raise FrameError("the message block's length is cut", pos)
            n = int.from_bytes(datagram[pos:pos + 2], "big")
            if len(datagram) - pos - 2 < n:
                raise FrameError(f"the message block needs {n + 2} bytes, {len(datagram) - pos} remain", pos)
            yield seq, pos + 2, bytes(datagram[pos + 2:pos + 2 + n])
            pos, seq, left = pos + 2 + n, seq + 1, left - 1
        if pos != len(datagram):
            raise FrameError(f"{len(datagram) - pos} bytes after the last message block the header counts", pos)

    return (session, sequence, count), blocks()


SOUP_DATA_TYPES = ("S", "U")


def soup_split(stream) -> Tuple[list, int, Optional[FrameError]]:
    """The complete SoupBinTCP packets at the front of `stream`, each as (packet-type
    character, payload, offset of its length prefix), how many bytes they take (keep the rest
    and read more), and the FrameError that stopped the split, if any: a packet length of 0,
    which leaves no room for the type."""
    packets, pos = [], 0
    while len(stream) - pos >= 2:
        n = int.from_bytes(stream[pos:pos + 2], "big")
        if n == 0:
            return packets, pos, FrameError("a SoupBinTCP packet of length 0 has no packet type", pos)
        if len(stream) - pos - 2 < n:
            break
        packets.append((chr(stream[pos + 2]), bytes(stream[pos + 3:pos + 2 + n]), pos))
        pos += 2 + n
    return packets, pos, None


def soup_login_sequence(payload) -> Optional[int]:
    """The sequence number of the next sequenced message, as a login-accepted packet's payload
    announces it (20 ASCII digits after the 10-character session, space-padded on the left),
    or None if the payload does not hold one."""
    digits = bytes(payload[10:30])
    text = digits.lstrip(b" ")
    if len(digits) != 20 or not text or any(not 0x30 <= c <= 0x39 for c in text):
        return None
    return int(text)
