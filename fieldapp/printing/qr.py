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

from functools import cache

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


def _error_codewords(block: list[int], ec_count: int) -> list[int]:
    gen = _generator_logs(ec_count)
    exp, log = base.EXP_TABLE, base.LOG_TABLE
    remainder = [0] * ec_count
    for byte in block:
        factor = byte ^ remainder[0]
        remainder = remainder[1:] + [0]
        if factor:
            lf = log[factor]
            for i, g in enumerate(gen):
                remainder[i] ^= exp[(g + lf) % 255]
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


def qr_matrix(data: str, error_correction: int = ERROR_CORRECT_M) -> list[list[bool]]:
    """The QR code of ``data`` (byte mode, UTF-8) as rows of dark (True) / light modules,
    without quiet zone."""
    raw = data.encode("utf-8")
    version = _version_for(len(raw), error_correction)
    template, positions, blocks = _layout(version, error_correction, MASK_PATTERN)
    codewords = _codewords(raw, version, blocks)
    matrix = [list(row) for row in template]
    total_bits = len(codewords) * 8
    for index, (row, col, masked) in enumerate(positions):
        dark = index < total_bits and bool(codewords[index >> 3] >> (7 - (index & 7)) & 1)
        matrix[row][col] = dark != masked
    return matrix  # type: ignore[return-value]


def qr_path(matrix: list[list[bool]]) -> str:
    """PDF path operators filling the dark modules, in module units (origin bottom-left).

    Horizontal runs of dark modules become one rectangle each; integer coordinates keep the
    string short and leave no seams between abutting modules.
    """
    n = len(matrix)
    ops = []
    for row_index, row in enumerate(matrix):
        bottom = n - 1 - row_index
        col = 0
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                ops.append(f"{start} {bottom} {col - start} 1 re")
            else:
                col += 1
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
