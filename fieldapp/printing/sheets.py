"""The field's other printouts (pure: data in, bytes out): delivery receipts, training
attendance sheets and family QR cards. All of them are made on the node, with no connection.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    FrameBreak,
    Image,
    KeepInFrame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from fieldapp.formatting import quantity_with_unit
from fieldapp.printing.data import AttendanceSheet, FamilyCard, ReceiptPrint
from fieldapp.printing.fonts import BOLD, REGULAR, register_fonts
from fieldapp.printing.layout import (
    FOOTER_Y,
    GREEN,
    LEAF,
    LINE,
    MARGIN_X,
    MUTED,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    DocumentStart,
    MultiDocTemplate,
    SignatureLine,
    esc,
    fmt_date,
    fmt_quantity,
    styles,
)
from fieldapp.printing.qr import QUIET_MODULES, draw_qr, qr_matrix


def _facts_table(rows: list[tuple[str, str]], st: Mapping[str, Any], width: float) -> Table:
    data = [[Paragraph(esc(label), st["label"]), Paragraph(value, st["cell"])]
            for label, value in rows]
    table = Table(data, colWidths=[34 * mm, width - 34 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1.6),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.4),
        ("LINEBELOW", (0, 0), (-1, -2), 0.4, LINE),
    ]))
    return table


# -- delivery receipt --------------------------------------------------------------------------

class _ThumbprintBox(Flowable):
    """A square to press a thumb in."""

    def __init__(self, size: float, label: str) -> None:
        super().__init__()
        self.width = self.height = size
        self.label = label

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        self.canv.setStrokeColor(MUTED)
        self.canv.setLineWidth(0.6)
        self.canv.rect(0, 0, self.width, self.height)
        self.canv.setFont(REGULAR, 6.5)
        self.canv.setFillColor(MUTED)
        self.canv.drawCentredString(self.width / 2, 3, self.label)


def _receipt_copy(receipt: ReceiptPrint, labels: Mapping[str, Any], copy_label: str,
                  st: Mapping[str, Any], width: float) -> list[Flowable]:
    locale = labels["_locale"]
    dni = (f" · {esc(labels['dni'])} {esc(receipt.family_dni)}" if receipt.family_dni
           else f" · {esc(labels['no_dni'])}")
    quantity = esc(quantity_with_unit(receipt.quantity, receipt.unit, locale, receipt.units))
    rows = [
        (labels["family"], f"<b>{esc(receipt.family_name)}</b>{dni} · "
                           f"{esc(receipt.family_code)}"),
        (labels["community"], esc(receipt.community)),
        (labels["agreement"], esc(receipt.agreement_number)),
        (labels["item"], f"<b>{esc(receipt.item)}</b>"),
        (labels["quantity"], f"<b>{quantity}</b>"),
        (labels["delivered_on"], esc(fmt_date(receipt.delivered_on, locale))),
        (labels["delivered_by"], esc(receipt.delivered_by)),
    ]
    if receipt.reverses_code:
        rows.append((labels["reversal"].format(code=receipt.reverses_code),
                     esc(receipt.reason or "")))
    header = Table([[
        [Paragraph(esc(labels["_program"]).upper(), st["program"]),
         Paragraph(esc(labels["title"]), st["title_small"])],
        [Paragraph(esc(labels["receipt_no"].format(code=receipt.code)), st["right_bold"]),
         Paragraph(esc(copy_label), st["right_muted"])],
    ]], colWidths=[width * 0.62, width * 0.38])
    header.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("LINEBELOW", (0, 0), (-1, 0), 1, GREEN), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    sign_width = width * 0.42
    signature: list[Flowable] = []
    sig = receipt.signature
    if sig and sig.image_png and sig.image_size:
        w, h = sig.image_size
        scale = min(sign_width / w, 16 * mm / h)
        signature += [Spacer(1, 16 * mm - h * scale),
                      Image(io.BytesIO(sig.image_png), w * scale, h * scale, hAlign="LEFT")]
    else:
        signature.append(Spacer(1, 16 * mm))  # a blank line to sign in ink
    signature += [SignatureLine(sign_width),
                  Paragraph(f"{esc(labels['received_by'])}<br/>"
                            f"{esc(labels['signature_or_thumbprint'])}", st["small"])]
    staff = [Spacer(1, 16 * mm), SignatureLine(width - sign_width - 30 * mm),
             Paragraph(f"{esc(labels['delivered_by_sign'])}<br/>{esc(receipt.delivered_by)}",
                       st["small"])]
    signs = Table([[signature, _ThumbprintBox(22 * mm, labels["thumbprint"]), staff]],
                  colWidths=[sign_width + 4 * mm, 26 * mm, width - sign_width - 30 * mm])
    signs.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [header, Spacer(1, 3 * mm), _facts_table(rows, st, width), Spacer(1, 3 * mm),
            Paragraph(esc(labels["statement"]), st["body"]), Spacer(1, 4 * mm), signs]


def receipt_pdf(receipt: ReceiptPrint, labels: Mapping[str, Any]) -> bytes:
    """A delivery receipt: the same receipt twice on one A4 page (family's and program's copy),
    with a cut line between them."""
    st = _sheet_styles()
    out = io.BytesIO()
    half = (PAGE_HEIGHT - 2 * 12 * mm) / 2
    width = PAGE_WIDTH - 2 * MARGIN_X
    frames = [Frame(MARGIN_X, 12 * mm + half, width, half, id="top", leftPadding=0,
                    rightPadding=0, topPadding=4 * mm, bottomPadding=8 * mm),
              Frame(MARGIN_X, 12 * mm, width, half, id="bottom", leftPadding=0,
                    rightPadding=0, topPadding=8 * mm, bottomPadding=4 * mm)]

    def cut_line(canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setStrokeColor(LINE)
        canvas.setDash(3, 3)
        canvas.line(8 * mm, 12 * mm + half, PAGE_WIDTH - 8 * mm, 12 * mm + half)
        canvas.restoreState()

    doc = BaseDocTemplate(out, pagesize=A4, invariant=1, title=labels["title"],
                          author=labels["_program"], creator="fieldapp")
    doc.addPageTemplates([PageTemplate(id="receipt", frames=frames, onPage=cut_line)])
    story: list[Flowable] = []
    for index, copy_label in enumerate((labels["copy_family"], labels["copy_program"])):
        if index:
            story.append(FrameBreak())
        content = _receipt_copy(receipt, labels, copy_label, st, width)
        story.append(KeepInFrame(width, half - 12 * mm, content, mode="shrink"))
    for n, photo in enumerate(receipt.photos, start=1):  # one per half page, after the copies
        room = half - 24 * mm
        scale = min(width / photo.width, room / photo.height)
        story += [FrameBreak(), KeepInFrame(width, half - 12 * mm, [
            Paragraph(esc(labels["photo_heading"].format(n=n, count=len(receipt.photos),
                                                         code=receipt.code)), st["small"]),
            Spacer(1, 2 * mm),
            Image(io.BytesIO(photo.data), photo.width * scale, photo.height * scale),
            Paragraph(esc(f"SHA-256 {photo.sha256}"), st["small"])], mode="shrink")]
    doc.build(story)
    return out.getvalue()


def _sheet_styles() -> dict[str, Any]:
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    st = styles()
    st["title_small"] = ParagraphStyle("title_small", parent=st["title"], fontSize=14,
                                       leading=17)
    st["right_bold"] = ParagraphStyle("right_bold", parent=st["body"], fontName=BOLD,
                                      alignment=TA_RIGHT)
    st["right_muted"] = ParagraphStyle("right_muted", parent=st["muted"], alignment=TA_RIGHT)
    return st


# -- attendance sheet --------------------------------------------------------------------------

def attendance_pdf(sheet: AttendanceSheet, labels: Mapping[str, Any]) -> bytes:
    """A training attendance sheet (A4 landscape): one row per family, a signature column."""
    st = _sheet_styles()
    pagesize = landscape(A4)
    width = pagesize[0] - 2 * MARGIN_X
    locale = labels["_locale"]
    blank = "______________________"
    facts = [
        (labels["community"], f"<b>{esc(sheet.community)}</b> ({esc(sheet.community_code)})"),
        (labels["topic"], esc(sheet.topic) if sheet.topic else blank * 2),
        (labels["date"], esc(fmt_date(sheet.held_on, locale)) if sheet.held_on else blank),
        (labels["place"], esc(sheet.place) if sheet.place else blank),
        (labels["trainer"], esc(sheet.trainer) if sheet.trainer else blank),
    ]
    if sheet.hours:
        facts.append((labels["hours"], esc(fmt_quantity(sheet.hours, locale))))
    story: list[Flowable] = [
        DocumentStart(sheet.session_code or sheet.community_code, sheet),
        Paragraph(esc(labels["_program"]).upper(), st["program"]),
        Spacer(1, 2 * mm),
        Paragraph(esc(labels["title"]), st["title_small"]),
        Spacer(1, 2 * mm),
        _facts_table(facts, st, width * 0.7),
        Spacer(1, 4 * mm),
    ]
    columns = [0.05, 0.12, 0.29, 0.1, 0.2, 0.24]
    header = [labels["no"], labels["family_code"], labels["head_of_household"], labels["dni"],
              labels["attendee"], labels["signature_or_thumbprint"]]
    rows: list[list[Any]] = [[Paragraph(esc(h), st["cell_bold"]) for h in header]]
    for n, row in enumerate(sheet.rows, start=1):
        rows.append([str(n), row.code, Paragraph(esc(row.head_name), st["cell"]),
                     row.dni or "", "", ""])
    if not sheet.rows:
        story.append(Paragraph(esc(labels["no_families"]), st["italic"]))
    else:
        table = Table(rows, colWidths=[width * c for c in columns], repeatRows=1,
                      rowHeights=[None] + [11 * mm] * len(sheet.rows))
        table.setStyle(TableStyle([
            ("FONT", (0, 1), (-1, -1), REGULAR, 9.4, 12),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("BACKGROUND", (0, 0), (-1, 0), LEAF),
            ("GRID", (0, 0), (-1, -1), 0.5, LINE),
            ("LEFTPADDING", (0, 0), (-1, -1), 2 * mm),
        ]))
        story.append(table)
    story += [Spacer(1, 10 * mm), SignatureLine(70 * mm),
              Paragraph(esc(labels["trainer_signature"]), st["small"])]

    def paint(canvas: Canvas, doc: MultiDocTemplate, info: AttendanceSheet,
              page_in_doc: int) -> None:
        canvas.setFont(REGULAR, 7.4)
        canvas.setFillColor(MUTED)
        text = f"{info.community} ({info.community_code})"
        if info.session_code:
            text += f"  ·  {info.session_code}"
        canvas.drawString(MARGIN_X, FOOTER_Y, text)
        slot = pagesize[0] - MARGIN_X - canvas.stringWidth("00", REGULAR, 7.4)
        canvas.drawRightString(slot, FOOTER_Y, labels["page"].format(page=page_in_doc) + " ")
        doc.draw_page_total(canvas, slot, FOOTER_Y)

    out = io.BytesIO()
    doc = MultiDocTemplate(out, paint, pagesize=pagesize, title=labels["title"],
                           author=labels["_program"], creator="fieldapp")
    doc.build_story(story)
    return out.getvalue()


# -- family QR cards ---------------------------------------------------------------------------

CARD_W, CARD_H = 85.6 * mm, 54 * mm  # a bank card
CARD_COLUMNS, CARD_ROWS = 2, 5
CARD_QR = 30 * mm


def _draw_card(canvas: Canvas, card: FamilyCard, labels: Mapping[str, Any], x: float,
               y: float) -> None:
    canvas.setStrokeColor(LINE)
    canvas.setLineWidth(0.4)
    canvas.setDash(2, 2)
    canvas.roundRect(x, y, CARD_W, CARD_H, 3 * mm)
    canvas.setDash()
    pad = 4 * mm
    text_width = CARD_W - CARD_QR - 2 * pad - 2 * mm
    canvas.setFillColor(GREEN)
    canvas.rect(x, y + CARD_H - 7 * mm, CARD_W, 0.8 * mm, stroke=0, fill=1)
    program = labels["_program"].upper()
    fitted = min(6.4, 0.98 * 6.4 * (CARD_W - 2 * pad) / max(1.0, stringWidth(program, BOLD, 6.4)))
    if fitted < 4.6:  # a very long program name: the first line of it, small
        fitted = 4.6
        program = simpleSplit(program, BOLD, fitted, CARD_W - 2 * pad)[0]
    canvas.setFont(BOLD, fitted)
    canvas.drawString(x + pad, y + CARD_H - 5 * mm, program)
    top = y + CARD_H - 12 * mm
    canvas.setFillColorRGB(0.106, 0.122, 0.114)
    size = 10.5
    lines = simpleSplit(card.head_name, BOLD, size, text_width)
    if len(lines) > 3:
        size = 8.5
        lines = simpleSplit(card.head_name, BOLD, size, text_width)
        if len(lines) > 4:
            lines = lines[:4]
            lines[-1] = lines[-1][: max(1, len(lines[-1]) - 1)] + "…"
    canvas.setFont(BOLD, size)
    for line in lines:
        canvas.drawString(x + pad, top, line)
        top -= size * 1.2
    canvas.setFont(REGULAR, 7.6)
    canvas.setFillColor(MUTED)
    for line in simpleSplit(card.community, REGULAR, 7.6, text_width)[:2]:
        canvas.drawString(x + pad, top - 1, line)
        top -= 9.5
    canvas.setFillColor(GREEN)
    canvas.setFont(BOLD, 13)
    canvas.drawString(x + pad, y + pad + 6 * mm, card.code)
    canvas.setFont(REGULAR, 6.2)
    canvas.setFillColor(MUTED)
    for i, line in enumerate(simpleSplit(labels["card_hint"], REGULAR, 6.2, text_width)[:2]):
        canvas.drawString(x + pad, y + pad + 2 * mm - i * 7.5, line)
    matrix = qr_matrix(card.code)
    quiet = CARD_QR * QUIET_MODULES / (len(matrix) + 2 * QUIET_MODULES)
    qr_x = x + CARD_W - pad - CARD_QR + quiet
    qr_y = y + (CARD_H - 7 * mm - CARD_QR) / 2 + quiet
    draw_qr(canvas, matrix, qr_x, qr_y, CARD_QR - 2 * quiet)


def cards_pdf(cards: Sequence[FamilyCard], labels: Mapping[str, Any]) -> bytes:
    """Family QR cards, ten bank-card-sized cards per A4 page with cut lines; the QR holds the
    family code (what the family search and a barcode scanner take)."""
    register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    canvas.setTitle(labels["card_title"])
    canvas.setAuthor(labels["_program"])
    canvas.setCreator("fieldapp")
    gap = 4 * mm
    left = (PAGE_WIDTH - CARD_COLUMNS * CARD_W - (CARD_COLUMNS - 1) * gap) / 2
    bottom = (PAGE_HEIGHT - CARD_ROWS * CARD_H - (CARD_ROWS - 1) * gap) / 2
    per_page = CARD_COLUMNS * CARD_ROWS
    for index, card in enumerate(cards):
        slot = index % per_page
        if index and not slot:
            canvas.showPage()
        row, col = divmod(slot, CARD_COLUMNS)
        x = left + col * (CARD_W + gap)
        y = bottom + (CARD_ROWS - 1 - row) * (CARD_H + gap)
        _draw_card(canvas, card, labels, x, y)
    if not cards:
        canvas.setFont(REGULAR, 10)
        canvas.drawString(MARGIN_X, PAGE_HEIGHT - 30 * mm, "—")
    canvas.showPage()
    canvas.save()
    return out.getvalue()
