"""gzip on the wire, by zlib-ng: standard gzip streams, made and read faster than by ``zlib``.

A push page is about 1.4 MB of JSON. Compressing it was a third of the node's CPU in an initial
push with the standard library's level 6; zlib-ng's level 7 makes streams 4% smaller than that in
40% of the time (``benchmarks/sync.py``; docs/benchmarks.md). Either end reads what the other
end's ``zlib`` or zlib-ng wrote: the stream format is gzip's.
"""

from __future__ import annotations

import re

from zlib_ng import zlib_ng

#: zlib-ng's levels are not zlib's: 7 is both smaller and faster than zlib's 6 on sync pages.
LEVEL = 7

#: What a damaged gzip stream raises.
error = zlib_ng.error


def gzip(data: bytes, level: int = LEVEL) -> bytes:
    """``data`` as one gzip member."""
    packer = zlib_ng.compressobj(level, zlib_ng.DEFLATED, 16 + zlib_ng.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def gunzip(data: bytes, limit: int = 0) -> tuple[bytes, bool]:
    """The inflated bytes of a gzip stream (at most ``limit + 1`` of them when ``limit``), and
    whether the stream was whole (a body cut on the way inflates to a part and ``False``).

    :raises error: the stream is damaged.
    """
    inflater = zlib_ng.decompressobj(16 + zlib_ng.MAX_WBITS)
    body = inflater.decompress(data, limit + 1) if limit else inflater.decompress(data)
    return body, inflater.eof


#: The deepest nesting of arrays and objects a sync document may have. The protocol's own
#: documents are two or three levels deep (a push operation, its values, a JSON column such as
#: an agreement's signed content with its lists of commitments); past this, a body is refused
#: before it is parsed, so that no parser or encoder recurses (``json`` raises
#: ``RecursionError`` near 1,000 levels, ``orjson`` refuses more than 1,024 when it reads and
#: 255 when it writes).
MAX_DEPTH = 32

#: A JSON string (escapes included), and what is neither a bracket nor a brace.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


def too_deep(data: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text ``data`` nests arrays and objects more than ``limit`` deep.

    Cheap where it is called most (every line of a push page): text with at most ``limit``
    opening brackets cannot be deeper, and is passed after two counts. Otherwise strings are
    left out (a bracket inside one nests nothing) and the brackets are counted in order.
    Malformed text may be called deep; it is refused either way.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    for byte in _NOT_BRACKET.sub(b"", _STRING.sub(b"", data)):
        if byte == 91 or byte == 123:  # [ {
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


#: Every byte but an opening bracket or brace and a newline (deleted to count those).
_NOT_OPENING = bytes(b for b in range(256) if b not in b"[{\n")


def too_deep_lines(page: bytes, lines: list[bytes], limit: int = MAX_DEPTH) -> bool:
    """Whether one of ``lines`` (without newlines) nests more than ``limit`` deep, given
    ``page``: the same lines joined with newlines, and nothing but brackets or commas around
    them. The opening brackets of every line are counted at once (one ``translate``, a
    fifth of a microsecond a line of a push page) and only a line with more than ``limit`` of
    them is looked at closer (:func:`too_deep`)."""
    counts = page.translate(None, _NOT_OPENING).split(b"\n")
    if len(counts) != len(lines):  # not the page of these lines: each looked at
        return any(too_deep(line, limit) for line in lines)
    if max(map(len, counts)) <= limit:
        return False
    return any(too_deep(lines[i], limit) for i, c in enumerate(counts) if len(c) > limit)
