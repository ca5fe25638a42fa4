"""QR codes drawn as vector paths: sharp at any print size, and cheap to make.

The modules are drawn as one filled path (horizontal runs merged into rectangles), so a phone
reads the code from a photocopy, and no bitmap is encoded for every page of a batch.

Encoding: the ``qrcode`` package lays out the fixed patterns of a version (finders, timing,
alignment, format and version information) once; each code then only computes its codewords
(Reed-Solomon over GF(256), with qrcode's tables) and places their bits. That is the same
result as ``qrcode`` (a test compares them module for module) in a fraction of the time: a batch
prints thousands of codes, and qrcode's general path costs about 3 ms each.
"""

from __future__ import annotations

import re
from functools import cache
from itertools import chain
from typing import Any

import qrcode
from qrcode import base, util
from qrcode.constants import ERROR_CORRECT_M
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

#: Every valid mask is readable; fixing one skips qrcode's search for the "best" of eight,
#: which costs about four times the rest of the encoding.
MASK_PATTERN = 4
#: Quiet zone around the code, in modules (the standard asks for 4).
QUIET_MODULES = 4
PAD_BYTES = (util.PAD0, util.PAD1)

Layout = tuple[list[list[bool | None]], list[tuple[int, int, bool]], list[base.RSBlock]]


@cache
def _version_for(length: int, error_correction: int) -> int:
    """The smallest QR version holding ``length`` bytes (URLs of one batch share a length)."""
    code = qrcode.QRCode(error_correction=error_correction, border=0, mask_pattern=MASK_PATTERN)
    code.add_data(b"x" * length, optimize=0)
    code.make(fit=True)
    return int(code.version)


@cache
def _layout(version: int, error_correction: int, mask: int) -> Layout:
    """The fixed modules of a version (None where data goes), the data positions in placement
    order with their mask bit, and the Reed-Solomon blocks."""
    code = qrcode.QRCode(version=version, error_correction=error_correction, border=0,
                         mask_pattern=mask)
    n = code.modules_count = version * 4 + 17
    code.modules = [[None] * n for _ in range(n)]
    code.setup_position_probe_pattern(0, 0)
    code.setup_position_probe_pattern(n - 7, 0)
    code.setup_position_probe_pattern(0, n - 7)
    code.setup_position_adjust_pattern()
    code.setup_timing_pattern()
    code.setup_type_info(False, mask)
    if version >= 7:
        code.setup_type_number(False)
    template = [list(row) for row in code.modules]
    mask_func = util.mask_func(mask)
    positions: list[tuple[int, int, bool]] = []
    # The zigzag of qrcode's map_data: column pairs from the right, up then down.
    row, step = n - 1, -1
    for col in range(n - 1, 0, -2):
        if col <= 6:
            col -= 1
        while True:
            for c in (col, col - 1):
                if template[row][c] is None:
                    positions.append((row, c, bool(mask_func(row, c))))
            row += step
            if row < 0 or row >= n:
                row -= step
                step = -step
                break
    return template, positions, base.rs_blocks(version, error_correction)


@cache
def _generator_logs(ec_count: int) -> tuple[int, ...]:
    """Logs of the Reed-Solomon generator polynomial's coefficients (leading 1 left out)."""
    poly = [1]
    for i in range(ec_count):
        # multiply by (x - a^i); in GF(256) minus is plus
        nxt = [0] * (len(poly) + 1)
        for j, coef in enumerate(poly):
            nxt[j] ^= coef
            if coef:
                nxt[j + 1] ^= base.EXP_TABLE[(base.LOG_TABLE[coef] + i) % 255]
        poly = nxt
    return tuple(base.LOG_TABLE[c] for c in poly[1:])


@cache
def _products(ec_count: int) -> tuple[tuple[int, ...], ...]:
    """For every byte value f, the generator's coefficients multiplied by f in GF(256)."""
    gen = _generator_logs(ec_count)
    exp, log = base.EXP_TABLE, base.LOG_TABLE
    rows: list[tuple[int, ...]] = [(0,) * ec_count]
    for factor in range(1, 256):
        rows.append(tuple(exp[(g + log[factor]) % 255] for g in gen))
    return tuple(rows)


def _error_codewords(block: list[int], ec_count: int) -> list[int]:
    """The Reed-Solomon remainder of ``block`` (its error-correction codewords)."""
    products = _products(ec_count)
    remainder = [0] * ec_count
    for byte in block:
        row = products[byte ^ remainder[0]]
        remainder = [a ^ b for a, b in zip(remainder[1:] + [0], row, strict=True)]
    return remainder


def _codewords(data: bytes, version: int, blocks: list[base.RSBlock]) -> list[int]:
    """Byte-mode data with header, terminator and padding, split in blocks, interleaved with
    their error-correction codewords (the order the modules are filled in)."""
    capacity = sum(b.data_count for b in blocks)
    length_bits = util.length_in_bits(util.MODE_8BIT_BYTE, version)
    bits = (util.MODE_8BIT_BYTE << length_bits | len(data)) << 8 * len(data)
    bits |= int.from_bytes(data, "big")
    nbits = 4 + length_bits + 8 * len(data)
    if nbits > capacity * 8:
        raise ValueError("data too long for this QR version")
    terminator = min(capacity * 8 - nbits, 4)
    nbits += terminator
    bits <<= terminator
    if nbits % 8:
        bits <<= 8 - nbits % 8
        nbits += 8 - nbits % 8
    stream = list(bits.to_bytes(nbits // 8, "big"))
    stream += [PAD_BYTES[i % 2] for i in range(capacity - len(stream))]
    data_blocks, ec_blocks, offset = [], [], 0
    for block in blocks:
        chunk = stream[offset : offset + block.data_count]
        offset += block.data_count
        data_blocks.append(chunk)
        ec_blocks.append(_error_codewords(chunk, block.total_count - block.data_count))
    out: list[int] = []
    for group in (data_blocks, ec_blocks):
        for i in range(max(len(b) for b in group)):
            out.extend(b[i] for b in group if i < len(b))
    return out


_BITS = tuple(tuple(bool(byte >> (7 - i) & 1) for i in range(8)) for byte in range(256))


def qr_matrix(data: str, error_correction: int = ERROR_CORRECT_M) -> list[list[bool]]:
    """The QR code of ``data`` (byte mode, UTF-8) as rows of dark (True) / light modules,
    without quiet zone."""
    raw = data.encode("utf-8")
    version = _version_for(len(raw), error_correction)
    template, positions, masks, blocks = _flat_layout(version, error_correction, MASK_PATTERN)
    codewords = _codewords(raw, version, blocks)
    bits = list(chain.from_iterable(_BITS[byte] for byte in codewords))
    bits += [False] * (len(positions) - len(bits))  # remainder bits are light, then masked
    flat = list(template)
    for index, bit, masked in zip(positions, bits, masks):  # noqa: B905 - same length
        flat[index] = bit != masked
    n = version * 4 + 17
    return [flat[row * n : (row + 1) * n] for row in range(n)]


@cache
def _flat_layout(version: int, error_correction: int,
                 mask: int) -> tuple[tuple[bool, ...], tuple[int, ...], tuple[bool, ...], Any]:
    template, positions, blocks = _layout(version, error_correction, mask)
    n = len(template)
    flat = tuple(bool(cell) for row in template for cell in row)
    return (flat, tuple(r * n + c for r, c, _m in positions),
            tuple(m for _r, _c, m in positions), blocks)


_DARK_RUN = re.compile(rb"\x01+")


def qr_path(matrix: list[list[bool]]) -> str:
    """PDF path operators filling the dark modules, in module units (origin bottom-left).

    Horizontal runs of dark modules become one rectangle each; integer coordinates keep the
    string short and leave no seams between abutting modules.
    """
    n = len(matrix)
    ops = []
    for row_index, row in enumerate(matrix):
        bottom = n - 1 - row_index
        for run in _DARK_RUN.finditer(bytes(row)):
            ops.append(f"{run.start()} {bottom} {run.end() - run.start()} 1 re")
    return "\n".join(ops)


def draw_qr(canvas: Canvas, data: str | list[list[bool]], x: float, y: float,
            size: float) -> None:
    """Draw a QR code (of ``data``, or a matrix) with its lower-left corner at (x, y).

    ``size`` (points) excludes the quiet zone: leave :data:`QUIET_MODULES` modules of blank paper
    around it. The path is written as literal PDF operators: building it through reportlab's
    path object formats every number in Python, which costs more than encoding the code.
    """
    matrix = qr_matrix(data) if isinstance(data, str) else data
    module = size / len(matrix)
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(module, module)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.addLiteral(qr_path(matrix) + "\nf")
    canvas.restoreState()


class QRFlowable(Flowable):
    """A QR code as a platypus flowable of ``size`` points (quiet zone included)."""

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        self.data = data
        self.size = size
        self.width = self.height = size

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        matrix = qr_matrix(self.data)
        quiet = self.size * QUIET_MODULES / (len(matrix) + 2 * QUIET_MODULES)
        draw_qr(self.canv, matrix, quiet, quiet, self.size - 2 * quiet)
