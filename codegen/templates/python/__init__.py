"""RLTOP market-data codecs: one dataclass per message, ``decode``/``encode``, a datagram
iterator, canonical JSON (``rltop.canonical``), a numpy bulk decoder (``rltop.bulk``),
pcap reading (``rltop.pcap``; ``python -m rltop dump FILE``) and a book builder that follows
a feed by SPEC.md §8 (``rltop.book``)."""

from ._runtime import (  # noqa: F401
    ACCELERATED_CRC, BadChecksum, BadCount, BadEnum, BadLength, BadMagic, BadText, DecodeError,
    EncodeError, Truncated, UnexpectedType, UnknownType, UnsupportedVersion, crc32c,
)
from .messages import *  # noqa: F401,F403
from .messages import (  # noqa: F401
    MESSAGE_TYPES, PROTOCOL, VERSION, Message, decode, decode_as, encode, encode_datagram,
    iter_datagram,
)
