"""QR codes drawn as vector paths: sharp at any print size, and cheap to make.

The modules are drawn as one filled path (horizontal runs merged into rectangles), so a phone
reads the code from a photocopy, and no bitmap is encoded for every page of a batch.
"""

from __future__ import annotations

from functools import cache

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

#: Every valid mask is readable; fixing one skips qrcode's search for the "best" of eight,
#: which costs about four times the rest of the encoding (a batch prints thousands of codes).
MASK_PATTERN = 4
#: Quiet zone around the code, in modules (the standard asks for 4).
QUIET_MODULES = 4


@cache
def _version_for(length: int, error_correction: int) -> int:
    """The smallest QR version holding ``length`` bytes (URLs of one batch share a length)."""
    code = qrcode.QRCode(error_correction=error_correction, border=0, mask_pattern=MASK_PATTERN)
    code.add_data("x" * length, optimize=0)
    code.make(fit=True)
    return int(code.version)


def qr_matrix(data: str, error_correction: int = ERROR_CORRECT_M) -> list[list[bool]]:
    """The QR code of ``data`` as rows of dark (True) / light modules, without quiet zone."""
    version = _version_for(len(data.encode("utf-8")), error_correction)
    code = qrcode.QRCode(
        version=version, error_correction=error_correction, border=0, mask_pattern=MASK_PATTERN
    )
    code.add_data(data, optimize=0)
    code.make(fit=False)
    return code.get_matrix()


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
