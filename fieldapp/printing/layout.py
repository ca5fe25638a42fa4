"""Shared look of every printout: page, colours, paragraph styles, formatting helpers.

Also the document template that numbers pages "x of y" *per document* inside one PDF: a batch
holds many agreements, each with its own page count. The count is a PDF form drawn on every
page and defined when the document's last page is known (reportlab resolves forms at save).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph

from fieldapp.formatting import format_day, format_number
from fieldapp.printing.fonts import BOLD, ITALIC, REGULAR, register_fonts

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 18 * mm
MARGIN_TOP = 16 * mm
MARGIN_BOTTOM = 20 * mm
FOOTER_Y = 10 * mm

#: Page streams are Flate-compressed; the ASCII85 layer on top only makes files bigger and
#: slower to write (about a tenth of a batch's time), so printouts go without it.
rl_config.useA85 = 0

GREEN = colors.HexColor("#1f5f3a")
LEAF = colors.HexColor("#e8f3ec")
INK = colors.HexColor("#1b1f1d")
MUTED = colors.HexColor("#5d6a63")
LINE = colors.HexColor("#9fb1a6")
RED = colors.HexColor("#a32020")
BLUE = colors.HexColor("#1d4f91")
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X


def styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles of every printout (fonts registered on first use)."""
    register_fonts()
    base = ParagraphStyle("body", fontName=REGULAR, fontSize=10, leading=13.6, textColor=INK,
                          splitLongWords=True, allowOrphans=0, allowWidows=0)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8.2, leading=10.5),
        "muted": ParagraphStyle("muted", parent=base, fontSize=8.2, leading=10.5, textColor=MUTED),
        "boxed": ParagraphStyle("boxed", parent=base, fontSize=8.2, leading=10.5, textColor=MUTED,
                                borderWidth=0.5, borderColor=LINE, borderPadding=(5, 8, 6, 8),
                                leftIndent=8, rightIndent=8, spaceBefore=14),
        "warning": ParagraphStyle("warning", parent=base, borderWidth=1, borderColor=RED,
                                  borderPadding=(5, 8, 6, 8), leftIndent=8, rightIndent=8,
                                  spaceBefore=10, spaceAfter=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9.4, leading=12),
        "cell_bold": ParagraphStyle("cell_bold", parent=base, fontName=BOLD, fontSize=9.4,
                                    leading=12),
        "label": ParagraphStyle("label", parent=base, fontSize=7.6, leading=9.6,
                                textColor=MUTED),
        "program": ParagraphStyle("program", parent=base, fontName=BOLD, fontSize=8.6,
                                  leading=11, textColor=GREEN),
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=19, leading=23,
                                textColor=INK, spaceAfter=2),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=10.4, leading=14,
                                   textColor=INK),
        "heading": ParagraphStyle("heading", parent=base, fontName=BOLD, fontSize=11.2,
                                  leading=14, textColor=GREEN, spaceBefore=9, spaceAfter=4,
                                  keepWithNext=True),
        "item": ParagraphStyle("item", parent=base, leftIndent=7 * mm, bulletIndent=0,
                               spaceAfter=2.5),
        "center_small": ParagraphStyle("center_small", parent=base, fontSize=7.6, leading=9.4,
                                       alignment=TA_CENTER, textColor=MUTED),
        "italic": ParagraphStyle("italic", parent=base, fontName=ITALIC, alignment=TA_LEFT),
    }


def esc(value: Any) -> str:
    """Text for a Paragraph, printed literally: ``<``, ``>`` and ``&`` are not markup."""
    return escape("" if value is None else str(value))


def fmt_date(value: date | datetime | str | None, locale: str, fmt: str = "long",
             tz: str | None = None) -> str:
    """A date in the printing language ("1 de enero de 2026"); ISO strings accepted.

    A timestamp (stored in UTC) is first put in ``tz``, the program's time zone: a signature
    at 8 p.m. in Lima is dated that day, not the next.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return format_day(value, fmt, locale=locale, tz=tz)


def fmt_quantity(value: Decimal | str | float | int, locale: str) -> str:
    """A quantity without useless decimals ("1,000", "2.5") in the printing locale."""
    number = Decimal(str(value))
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    return format_number(number, locale=locale)


class PageCountCanvas(Canvas):
    """A canvas that can print "page x of y" for each of many documents in one PDF."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._counts: dict[str, int] = {}

    def page_total_form(self, key: str) -> str:
        """Name of the form that will show document ``key``'s page total."""
        return f"pagetotal{key}"

    def set_page_total(self, key: str, total: int) -> None:
        self._counts[key] = total

    def save(self) -> None:
        register_fonts()
        for key, total in self._counts.items():
            self.beginForm(self.page_total_form(key), lowerx=-2, lowery=-4, upperx=40, uppery=12)
            self.setFont(REGULAR, 7.4)
            self.setFillColor(MUTED)
            self.drawString(0, 0, str(total))
            self.endForm()
        super().save()


class DocumentStart(Flowable):
    """A zero-size marker placed at the top of each document of a multi-document PDF."""

    def __init__(self, key: str, info: Any) -> None:
        super().__init__()
        self.key = key
        self.info = info
        self.width = self.height = 0

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        doc = self.canv._doctemplate  # type: ignore[attr-defined]
        doc.start_document(self.key, self.info, self.canv.getPageNumber())


FooterPainter = Callable[[Canvas, "MultiDocTemplate", Any, int], None]


class MultiDocTemplate(BaseDocTemplate):
    """A4 template whose footer knows which document (agreement, sheet) a page belongs to.

    ``paint_page(canvas, doc, info, page_in_document)`` draws the page furniture at each page end;
    it calls :meth:`draw_page_total` to place the document's page count.
    """

    def __init__(self, out: Any, paint_page: FooterPainter,
                 pagesize: tuple[float, float] = A4, **kwargs: Any) -> None:
        super().__init__(
            out, pagesize=pagesize, leftMargin=MARGIN_X, rightMargin=MARGIN_X,
            topMargin=MARGIN_TOP, bottomMargin=MARGIN_BOTTOM, invariant=1, **kwargs,
        )
        width, height = pagesize
        frame = Frame(MARGIN_X, MARGIN_BOTTOM, width - 2 * MARGIN_X,
                      height - MARGIN_TOP - MARGIN_BOTTOM, id="body", leftPadding=0,
                      rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPageEnd=self._page_end)])
        self.paint_page = paint_page
        self.current_key: str | None = None
        self.current_info: Any = None
        self.current_first_page = 1

    def start_document(self, key: str, info: Any, page_number: int) -> None:
        self.current_key, self.current_info, self.current_first_page = key, info, page_number

    def _page_end(self, canvas: Canvas, doc: BaseDocTemplate) -> None:
        if self.current_key is None:
            return
        page_in_doc = canvas.getPageNumber() - self.current_first_page + 1
        canvas.set_page_total(self.current_key, page_in_doc)  # type: ignore[attr-defined]
        canvas.saveState()
        self.paint_page(canvas, self, self.current_info, page_in_doc)
        canvas.restoreState()

    def draw_page_total(self, canvas: Canvas, x: float, y: float) -> None:
        """Place the current document's page total with its baseline starting at (x, y)."""
        canvas.saveState()
        canvas.translate(x, y)
        canvas.doForm(canvas.page_total_form(self.current_key))  # type: ignore[attr-defined]
        canvas.restoreState()

    def build_story(self, story: list[Flowable]) -> None:
        """Lay out ``story`` and write the PDF (page totals resolved at save)."""
        self.build(story, canvasmaker=PageCountCanvas)


class Prepared(Flowable):
    """A paragraph laid out once and drawn once per PDF: the fixed texts of a batch.

    Clauses, headings and catalogue commitments are the same in many agreements of a batch.
    The paragraph is wrapped once, drawn into a PDF form the first time a canvas needs it, and
    every later use is a one-operator reference to that form (smaller files, much less time).
    It does not split: fixed texts are a few lines long.
    """

    _serial = 0

    def __init__(self, paragraph: Paragraph) -> None:
        super().__init__()
        self.paragraph = paragraph
        self.style = paragraph.style
        self._wrapped_for: float | None = None
        self._size = (0.0, 0.0)
        Prepared._serial += 1
        self.form_name = f"fixedtext{Prepared._serial}"

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        if self._wrapped_for != avail_width:
            self._size = self.paragraph.wrap(avail_width, avail_height)
            if self._wrapped_for is not None:  # another width, another drawing
                Prepared._serial += 1
                self.form_name = f"fixedtext{Prepared._serial}"
            self._wrapped_for = avail_width
        self.width, self.height = self._size
        return self._size

    def getKeepWithNext(self) -> bool:  # noqa: N802 - reportlab's name
        # platypus clears keepWithNext on the flowable it handles; a shared one must not
        # carry that into the next agreement, so headings are kept with KeepTogether instead.
        return False

    def draw(self) -> None:
        canvas = self.canv
        if not canvas.hasForm(self.form_name):
            width, height = self._size
            canvas.beginForm(self.form_name, lowerx=-20, lowery=-20, upperx=width + 20,
                             uppery=height + 20)
            self.paragraph.drawOn(canvas, 0, 0)
            canvas.endForm()
        canvas.doForm(self.form_name)


class TextCache:
    """Prepared paragraphs of one batch, by text, style and bullet (not shared between threads).

    Holds at most ``limit`` texts, so a batch's memory stays flat whatever it prints; texts
    longer than ``max_length`` are not prepared (they may need to split across pages).
    """

    def __init__(self, st: dict[str, ParagraphStyle], limit: int = 400,
                 max_length: int = 700) -> None:
        self.st = st
        self.limit = limit
        self.max_length = max_length
        self._items: dict[tuple[str, str, str | None], Prepared] = {}

    def __call__(self, text: str, style: str = "body", bullet: str | None = None) -> Flowable:
        key = (text, style, bullet)
        item = self._items.get(key)
        if item is not None:
            return item
        paragraph = Paragraph(text, self.st[style], bulletText=bullet)
        if len(text) > self.max_length or len(self._items) >= self.limit:
            return paragraph
        item = self._items[key] = Prepared(paragraph)
        return item


def fits(text: str, style: ParagraphStyle, width: float) -> bool:
    """Whether ``text`` fits on one line of ``width`` (then a plain table cell will do)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return "\n" not in text and stringWidth(text, style.fontName, style.fontSize) <= width


class SignatureLine(Flowable):
    """The line to sign on (or under a signature drawn on the tablet)."""

    def __init__(self, width: float) -> None:
        super().__init__()
        self.width = width
        self.height = 7

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        self.canv.setStrokeColor(MUTED)
        self.canv.setLineWidth(0.7)
        self.canv.line(0, self.height - 0.5, self.width, self.height - 0.5)
