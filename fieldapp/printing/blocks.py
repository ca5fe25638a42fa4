"""Flowables drawn straight on the canvas: the agreement's header, facts and signatures.

Their layout is fixed, so they skip platypus tables and paragraph parsing (the bulk of a
batch's time) and draw plain text runs. Text is printed literally (no markup), wraps within
its column, and a block never splits across pages (each is a few centimetres tall).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.colors import Color
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable

from fieldapp.printing.fonts import REGULAR
from fieldapp.printing.layout import GREEN, INK, LINE, MUTED
from fieldapp.printing.qr import QUIET_MODULES, draw_qr, qr_matrix


@dataclass(frozen=True)
class Run:
    """A piece of text in one font, size and colour; wraps on its own lines."""

    text: str
    font: str = REGULAR
    size: float = 9.4
    color: Color = INK
    leading: float = 0.0

    @property
    def line_height(self) -> float:
        return self.leading or self.size * 1.28


def _wrap(run: Run, width: float) -> list[str]:
    """The run's text in lines no wider than ``width``; a word too long for a line (a name
    written without spaces) is cut between characters rather than overflowing."""
    lines: list[str] = []
    for paragraph in run.text.split("\n"):
        for line in simpleSplit(paragraph, run.font, run.size, width) or [""]:
            while stringWidth(line, run.font, run.size) > width and len(line) > 1:
                cut = len(line) - 1
                while cut > 1 and stringWidth(line[:cut], run.font, run.size) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
            lines.append(line)
    return lines


def _draw_lines(canvas, run: Run, lines: Sequence[str], x: float, top: float) -> float:  # type: ignore[no-untyped-def]
    """Draw ``lines`` of ``run`` from ``top`` down; returns the y below them."""
    canvas.setFont(run.font, run.size)
    canvas.setFillColor(run.color)
    y = top
    for line in lines:
        y -= run.line_height
        canvas.drawString(x, y + run.line_height - run.size, line)
    return y


class RunsColumn:
    """Runs laid out in a column of ``width`` (each run on its own lines)."""

    def __init__(self, runs: Sequence[Run], width: float, gap: float = 0.0) -> None:
        self.runs = [(run, _wrap(run, width)) for run in runs]
        self.gap = gap
        self.height = sum(len(lines) * run.line_height for run, lines in self.runs) + gap * max(
            0, len(self.runs) - 1)

    def draw(self, canvas, x: float, top: float) -> None:  # type: ignore[no-untyped-def]
        y = top
        for run, lines in self.runs:
            y = _draw_lines(canvas, run, lines, x, y) - self.gap


class HeaderBlock(Flowable):
    """Program, title, number line and period on the left; the QR code and its caption right."""

    def __init__(self, left: Sequence[Run], qr_data: str | None, qr_size: float,
                 caption: Run | None) -> None:
        super().__init__()
        self.left = left
        self.qr_data = qr_data
        self.qr_size = qr_size
        self.caption = caption

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        self.column = RunsColumn(self.left, avail_width - self.qr_size - 6 * mm, gap=1.5)
        right = self.qr_size + (self.caption.line_height if self.caption else 0)
        self.height = max(self.column.height, right) + 3.5 * mm
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        self.column.draw(canvas, 0, self.height)
        if self.qr_data:
            matrix = qr_matrix(self.qr_data)
            quiet = self.qr_size * QUIET_MODULES / (len(matrix) + 2 * QUIET_MODULES)
            x = self.width - self.qr_size
            y = self.height - self.qr_size
            draw_qr(canvas, matrix, x + quiet, y + quiet, self.qr_size - 2 * quiet)
            if self.caption:
                canvas.setFont(self.caption.font, self.caption.size)
                canvas.setFillColor(self.caption.color)
                canvas.drawCentredString(x + self.qr_size / 2, y - self.caption.size,
                                         self.caption.text)
        canvas.setStrokeColor(GREEN)
        canvas.setLineWidth(1.2)
        canvas.line(0, 0.6, self.width, 0.6)


class FactsBlock(Flowable):
    """Label / value rows with a hairline between them (the parties of an agreement)."""

    def __init__(self, rows: Sequence[tuple[str, Sequence[Run]]], label_width: float) -> None:
        super().__init__()
        self.rows = rows
        self.label_width = label_width
        self.pad = 2.6

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        self.laid = []
        height = 0.0
        for label, runs in self.rows:
            label_col = RunsColumn([Run(label, REGULAR, 7.6, MUTED, 9.6)], self.label_width - 6)
            value_col = RunsColumn(runs, avail_width - self.label_width)
            row_height = max(label_col.height, value_col.height) + 2 * self.pad
            self.laid.append((label_col, value_col, row_height))
            height += row_height
        self.height = height
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        top = self.height
        for index, (label_col, value_col, row_height) in enumerate(self.laid):
            label_col.draw(canvas, 0, top - self.pad - 0.8)
            value_col.draw(canvas, self.label_width, top - self.pad)
            top -= row_height
            if index < len(self.laid) - 1:
                canvas.setStrokeColor(LINE)
                canvas.setLineWidth(0.4)
                canvas.line(0, top, self.width, top)


@dataclass
class SignatureCell:
    """One signer: a drawn signature (PNG) or a blank space to sign in ink, then text runs."""

    runs: Sequence[Run]
    image_png: bytes | None = None
    image_size: tuple[int, int] | None = None


class SignaturesBlock(Flowable):
    """Signers side by side, each above a line (blank for ink when nothing was drawn)."""

    def __init__(self, cells: Sequence[SignatureCell], box_height: float,
                 gutter: float = 6 * mm) -> None:
        super().__init__()
        self.cells = cells
        self.box_height = box_height
        self.gutter = gutter

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        self.cell_width = (avail_width - self.gutter * (len(self.cells) - 1)) / len(self.cells)
        self.columns = [RunsColumn(cell.runs, self.cell_width) for cell in self.cells]
        self.height = self.box_height + 3 + max(c.height for c in self.columns)
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        line_y = self.height - self.box_height
        for index, (cell, column) in enumerate(zip(self.cells, self.columns, strict=True)):
            x = index * (self.cell_width + self.gutter)
            if cell.image_png and cell.image_size:
                w, h = cell.image_size
                scale = min(self.cell_width / w, (self.box_height - 2) / h)
                canvas.drawImage(ImageReader(io.BytesIO(cell.image_png)), x, line_y + 1,
                                 w * scale, h * scale, mask="auto")
            canvas.setStrokeColor(MUTED)
            canvas.setLineWidth(0.7)
            canvas.line(x, line_y, x + self.cell_width, line_y)
            column.draw(canvas, x, line_y - 3)


def text_width(run: Run) -> float:
    """Width of a run's text on one line."""
    return stringWidth(run.text, run.font, run.size)


class TableBlock(Flowable):
    """A small table: a shaded header row, then rows of wrapped text with hairlines below.

    For a handful of rows (the benefits of an agreement); long tables use platypus, which can
    split them across pages.
    """

    def __init__(self, header: Sequence[Run], rows: Sequence[Sequence[Run]],
                 shares: Sequence[float], background: Color, pad: float = 2 * mm) -> None:
        super().__init__()
        self.header = header
        self.rows = rows
        self.shares = shares
        self.background = background
        self.pad = pad

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        self.widths = [avail_width * share for share in self.shares]
        self.laid = []
        for row in [self.header, *self.rows]:
            cells = [RunsColumn([run], width - 2 * self.pad)
                     for run, width in zip(row, self.widths, strict=True)]
            self.laid.append((cells, max(c.height for c in cells) + 5.6))
        self.height = sum(height for _cells, height in self.laid)
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        top = self.height
        for index, (cells, height) in enumerate(self.laid):
            if index == 0:
                canvas.setFillColor(self.background)
                canvas.rect(0, top - height, self.width, height, stroke=0, fill=1)
            x = 0.0
            for cell, width in zip(cells, self.widths, strict=True):
                cell.draw(canvas, x + self.pad, top - 2.2)
                x += width
            top -= height
            canvas.setStrokeColor(LINE)
            canvas.setLineWidth(0.4)
            canvas.line(0, top, self.width, top)


class BoxBlock(Flowable):
    """Text runs in a thin frame (the verification note)."""

    def __init__(self, runs: Sequence[Run], pad: float = 3 * mm, space_before: float = 5 * mm,
                 border: Color = LINE) -> None:
        super().__init__()
        self.runs = runs
        self.pad = pad
        self.space_before = space_before
        self.border = border

    def getSpaceBefore(self) -> float:  # noqa: N802 - reportlab's name
        return self.space_before

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        self.column = RunsColumn(self.runs, avail_width - 2 * self.pad, gap=1)
        self.height = self.column.height + 2 * self.pad - 2
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.setStrokeColor(self.border)
        canvas.setLineWidth(0.5)
        canvas.rect(0, 0, self.width, self.height, stroke=1, fill=0)
        self.column.draw(canvas, self.pad, self.height - self.pad + 1)
