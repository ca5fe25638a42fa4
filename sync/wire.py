"""gzip on the wire, by zlib-ng: standard gzip streams, made and read faster than by ``zlib``.

A push page is about 1.4 MB of JSON. Compressing it was a third of the node's CPU in an initial
push with the standard library's level 6; zlib-ng's level 7 makes streams 4% smaller than that in
40% of the time (``benchmarks/sync.py``; docs/benchmarks.md). Either end reads what the other
end's ``zlib`` or zlib-ng wrote: the stream format is gzip's.
"""

from __future__ import annotations

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
