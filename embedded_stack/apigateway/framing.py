"""Request bodies read by HTTP/1.1's framing rules (RFC 9112 section 6), strictly.

API Gateway sits behind a front end that answers a request it cannot frame with 400 and never hands
it on. Here the stdlib server leaves framing to us, so this module decides, before anything is
routed, how many bytes the body has:

- ``Transfer-Encoding`` must be exactly ``chunked`` and comes without ``Content-Length`` (both at
  once is how requests are smuggled past a proxy); chunk sizes are hex digits, each chunk ends with
  CRLF, and the body ends with a zero-size chunk: anything else is a 400, never "read until EOF";
- ``Content-Length`` is digits only; repeated values must agree;
- a body over the payload limit is drained (a socket closed with unread data resets, and the client
  would see a connection error instead of the 413) up to a cap, and reported as oversized.

``BadFraming`` means: answer 400 and close the connection, as the rest of the stream cannot be
trusted to start at a request boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from typing import BinaryIO

MAX_LINE = 1024  # a chunk-size line (size and extensions) or a trailer line
DRAIN_FACTOR = 8  # an oversized body is read (and dropped) up to this many times the limit


class BadFraming(ValueError):
    """The request's body cannot be delimited: answer 400 and close the connection."""


@dataclass(frozen=True)
class Body:
    """The body's bytes (empty when oversized) and whether it passed the payload limit."""

    data: bytes
    oversized: bool = False
    drained: bool = True  # False: the rest of the body was left unread (close the connection)


def read_body(headers: Message, rfile: BinaryIO, limit: int) -> Body:
    """Read the request body that ``headers`` announce from ``rfile``; raises ``BadFraming``."""
    encodings = headers.get_all("Transfer-Encoding") or []
    lengths = headers.get_all("Content-Length") or []
    if encodings:
        if lengths:
            raise BadFraming("Content-Length and Transfer-Encoding together")
        codings = [c.strip().lower() for value in encodings for c in value.split(",") if c.strip()]
        if codings != ["chunked"]:
            raise BadFraming(f"unsupported Transfer-Encoding {', '.join(codings) or '(empty)'}")
        return _read_chunked(rfile, limit)
    length = _content_length(lengths)
    if length > limit:
        return Body(b"", oversized=True, drained=_drain(rfile, length, DRAIN_FACTOR * limit))
    data = rfile.read(length) if length else b""
    if len(data) != length:
        raise BadFraming("the body ended before Content-Length bytes")
    return Body(data)


def _content_length(values: list[str]) -> int:
    found = {part.strip() for value in values for part in value.split(",")}
    if not found:
        return 0
    if len(found) != 1:
        raise BadFraming("conflicting Content-Length values")
    value = found.pop()
    if not (value.isascii() and value.isdigit()):
        raise BadFraming(f"Content-Length {value!r} is not a number of bytes")
    return int(value)


def _drain(rfile: BinaryIO, length: int, cap: int) -> bool:
    """Read and drop up to ``cap`` bytes; True when the whole body was consumed."""
    remaining = min(length, cap)
    while remaining > 0:
        chunk = rfile.read(min(remaining, 1 << 20))
        if not chunk:
            return False
        remaining -= len(chunk)
    return length <= cap


def _line(rfile: BinaryIO) -> bytes:
    line = rfile.readline(MAX_LINE + 1)
    if not line.endswith(b"\r\n") or len(line) > MAX_LINE:
        raise BadFraming("a chunk line is malformed, too long, or the body ended early")
    return line[:-2]


def _read_chunked(rfile: BinaryIO, limit: int) -> Body:
    data = bytearray()
    seen = 0
    while True:
        size_text = _line(rfile).split(b";", 1)[0].strip()
        if not size_text or not all(c in b"0123456789abcdefABCDEF" for c in size_text):
            raise BadFraming(f"chunk size {size_text[:16]!r} is not hexadecimal")
        size = int(size_text, 16)
        if size == 0:
            while _line(rfile):  # trailer fields, then the empty line that ends the body
                pass
            return Body(bytes(data)) if seen <= limit else Body(b"", oversized=True)
        seen += size
        if seen > DRAIN_FACTOR * limit:
            return Body(b"", oversized=True, drained=False)
        chunk = rfile.read(size)
        if len(chunk) != size:
            raise BadFraming("the body ended inside a chunk")
        if seen <= limit:
            data += chunk
        if rfile.read(2) != b"\r\n":
            raise BadFraming("a chunk is not followed by CRLF")
