"""The agreement PDF: one agreement or many (a batch) from plain data (pure: data in, bytes out).

What is printed is the agreement's *frozen* signed content (``Agreement.signed_content``), so a
copy printed years later shows exactly what was signed and carries that content's hash.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from fieldapp.formatting import quantity_with_unit
from fieldapp.printing.blocks import (
    BoxBlock,
    FactsBlock,
    HeaderBlock,
    Run,
    SignatureCell,
    SignaturesBlock,
    TableBlock,
)
from fieldapp.printing.data import AgreementPrint, ScanPrint, SignaturePrint
from fieldapp.printing.fonts import BOLD, REGULAR
from fieldapp.printing.layout import (
    BLUE,
    CONTENT_WIDTH,
    FOOTER_Y,
    GREEN,
    INK,
    LEAF,
    LINE,
    MARGIN_X,
    MUTED,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    DocumentStart,
    MultiDocTemplate,
    TextCache,
    esc,
    fmt_date,
    styles,
)

QR_SIZE = 34 * mm
SIGNATURE_BOX_HEIGHT = 17 * mm
SIGNER_ROLES = ("family", "staff", "witness")
BENEFIT_COLUMNS = (0.44, 0.22, 0.34)
#: Up to this many benefits are drawn as one block; more go in a table that can split.
MAX_BLOCK_ROWS = 16


class _AgreementStory:
    """Builds the flowables of one agreement."""

    def __init__(self, item: AgreementPrint, labels: Mapping[str, Any], fixed: TextCache) -> None:
        self.item = item
        self.c = item.content
        self.units = item.units
        self.labels = labels
        self.fixed = fixed
        self.st = fixed.st
        self.locale = labels["_locale"]
        self.english = labels["_lang"] == "en"

    def t(self, key: str, **values: Any) -> str:
        """A label as Paragraph text, with escaped values filled in."""
        text = esc(self.labels[key])
        if values:
            text = text.format(**{k: esc(v) for k, v in values.items()})
        return text

    def p(self, text: str, style: str = "body") -> Paragraph:
        return Paragraph(text, self.st[style])

    def flowables(self) -> list[Flowable]:
        story: list[Flowable] = [self.header()]
        if self.item.is_draft:
            story.append(self.draft_notice())
        story += self.parties()
        story += self.commitments()
        story += self.benefits()
        story += self.clauses()
        story.append(self.signatures())
        if not self.item.is_draft:
            story.append(self.verification())
        for n, scan in enumerate(self.item.scans, start=1):
            story += self.scan_page(scan, n)
        return story

    def scan_page(self, scan: ScanPrint, n: int) -> list[Flowable]:
        """A page with a scan of the paper copy signed in ink, fitted to the frame."""
        heading = self.raw("scan_heading", n=n, count=len(self.item.scans))
        room_w, room_h = CONTENT_WIDTH, PAGE_HEIGHT - 70 * mm
        scale = min(room_w / scan.width, room_h / scan.height)
        return [PageBreak(), self.p(f"<b>{esc(heading)}</b>"),
                self.p(esc(f"SHA-256 {scan.sha256}"), "small"),
                Spacer(1, 3 * mm),
                Image(io.BytesIO(scan.data), width=scan.width * scale,
                      height=scan.height * scale)]

    # -- sections ----------------------------------------------------------------------------
    def raw(self, key: str, **values: Any) -> str:
        """A label with values filled in, as plain text (for blocks drawn literally)."""
        text = str(self.labels[key])
        return text.format(**{k: str(v) for k, v in values.items()}) if values else text

    def header(self) -> Flowable:
        c = self.c
        period = self.raw("period", start=fmt_date(c["period"]["start"], self.locale),
                          end=fmt_date(c["period"]["end"], self.locale))
        kind = c.get("kind") or "original"
        if kind not in ("renewal", "amendment"):
            kind_text = self.raw("kind_original")
        elif self.item.supersedes_number:
            kind_text = self.raw(f"kind_{kind}", number=self.item.supersedes_number)
        else:
            kind_text = self.raw(f"kind_{kind}_plain")
        version = self.raw("version", version=c.get("version_no", 1))
        left = [
            Run(str(self.labels["_program"]).upper(), BOLD, 8.6, GREEN, 11),
            Run(self.raw("title"), BOLD, 19, INK, 25),
            Run(self.raw("number", number=c["number"]), BOLD, 10.4, INK, 14),
            Run(f"{version} · {kind_text}", REGULAR, 10.4, INK, 14),
            Run(period, REGULAR, 10.4, INK, 14),
        ]
        caption = Run(self.raw("verify_heading"), REGULAR, 7.6, MUTED)
        return HeaderBlock(left, self.item.verify_url, QR_SIZE,
                           caption if self.item.verify_url else None)

    def draft_notice(self) -> Flowable:
        return self.fixed(f"<b>{self.t('draft_mark')}</b> {self.t('draft_text')}", "warning")

    def parties(self) -> list[Flowable]:
        c = self.c
        fam = c["family"]
        dni = f"{self.raw('dni')} {fam['dni']}" if fam.get("dni") else self.raw("no_dni")
        rows: list[tuple[str, list[Run]]] = [
            (self.raw("family_party"), [
                Run(str(fam["head_name"]), BOLD, 9.4, INK, 12),
                Run(f"{dni} · {self.raw('family_code')} {fam.get('code') or ''}", leading=12),
            ]),
            (self.raw("community"),
             [Run(f"{c['community']['name']} ({c['community']['code']})", leading=12)]),
        ]
        if self.item.organisation:
            rows.append((self.raw("organisation"), [Run(self.item.organisation, leading=12)]))
        if self.item.authority:
            rows.append((self.raw("authority"), [Run(self.item.authority, leading=12)]))
        intro = self.t("intro", start=fmt_date(c["period"]["start"], self.locale),
                       end=fmt_date(c["period"]["end"], self.locale))
        return [KeepTogether([self.fixed(self.t("parties_heading"), "heading"),
                              FactsBlock(rows, 42 * mm)]),
                Spacer(1, 2.5 * mm), self.fixed(intro)]

    def commitments(self) -> list[Flowable]:
        text_key = "text_en" if self.english else "text_es"
        items = self.c.get("commitments") or []
        heading = self.fixed(self.t("commitments_heading"), "heading")
        if not items:
            return [heading, self.fixed(self.t("no_commitments"), "italic")]
        out: list[Flowable] = []
        for n, commitment in enumerate(items, start=1):
            text = commitment.get(text_key) or commitment.get("text_es") or ""
            out.append(self.fixed(esc(text), "item", bullet=f"{n}."))
        first = KeepTogether([heading, self.fixed(self.t("commitments_intro"), "body"),
                              Spacer(1, 1.5 * mm), out[0]])
        return [first, *out[1:]]

    def benefits(self) -> list[Flowable]:
        name_key = "name_en" if self.english else "name_es"
        items = self.c.get("benefits") or []
        heading = self.fixed(self.t("benefits_heading"), "heading")
        if not items:
            return [heading, self.fixed(self.t("no_benefits"), "italic")]
        intro = KeepTogether([heading, self.fixed(self.t("benefits_intro"), "body"),
                              Spacer(1, 1.5 * mm)])
        header = [Run(self.raw(key), BOLD, 9.4, INK, 12)
                  for key in ("benefit", "quantity", "schedule")]
        rows = []
        for benefit in items:
            name = str(benefit.get(name_key) or benefit.get("name_es") or "")
            quantity = quantity_with_unit(benefit["quantity"], benefit.get("unit"), self.locale,
                                          self.units)
            rows.append([Run(name, leading=12), Run(quantity, leading=12),
                         Run(str(benefit.get("schedule") or ""), leading=12)])
        if len(rows) <= MAX_BLOCK_ROWS:
            return [intro, TableBlock(header, rows, BENEFIT_COLUMNS, LEAF)]
        return [intro, self._long_benefits_table(header, rows)]

    def _long_benefits_table(self, header: list[Run], rows: list[list[Run]]) -> Table:
        """Many benefits: a platypus table, which splits across pages (header repeated)."""
        cell = self.st["cell"]
        data = [[Paragraph(esc(run.text), self.st["cell_bold"]) for run in header]]
        data += [[Paragraph(esc(run.text), cell) for run in row] for row in rows]
        table = Table(data, colWidths=[CONTENT_WIDTH * share for share in BENEFIT_COLUMNS],
                      repeatRows=1, hAlign="LEFT")
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (-1, 0), LEAF),
            ("LINEBELOW", (0, 0), (-1, -1), 0.4, LINE),
        ]))
        return table

    def clauses(self) -> list[Flowable]:
        return [
            KeepTogether([self.fixed(self.t("sanctions_heading"), "heading"),
                          self.fixed(self.t("sanctions_text"))]),
            KeepTogether([self.fixed(self.t("renewal_heading"), "heading"),
                          self.fixed(self.t("renewal_text"))]),
        ]

    def signatures(self) -> Flowable:
        item = self.item
        by_role = {s.role: s for s in item.signatures}
        place = self.c.get("signed_place")
        if item.signed_at and place:
            where = self.fixed(self.t("signed_at", place=place,
                                  date=fmt_date(item.signed_at, self.locale,
                                                tz=self.labels.get("_tz"))))
        else:
            where = self.fixed(self.t("sign_here"))
        family = self.c["family"]
        defaults = {
            "family": SignaturePrint("family", family["head_name"], family.get("dni")),
            "staff": SignaturePrint("staff", ""),
            "witness": SignaturePrint("witness", ""),
        }
        cells = [self.signature_cell(by_role.get(role) or defaults[role], role)
                 for role in SIGNER_ROLES]
        return KeepTogether([self.fixed(self.t("signatures_heading"), "heading"), where,
                             Spacer(1, 2 * mm), SignaturesBlock(cells, SIGNATURE_BOX_HEIGHT)])

    def signature_cell(self, sig: SignaturePrint, role: str) -> SignatureCell:
        small = {"size": 8.2, "leading": 10.5}
        runs = [Run(sig.name, BOLD, **small) if sig.name
                else Run(f"{self.raw('name')}: ____________________", **small)]
        if sig.dni:
            runs.append(Run(f"{self.raw('dni')} {sig.dni}", **small))
        elif role != "staff":
            runs.append(Run(f"{self.raw('dni')}: ______________", **small))
        runs.append(Run(self.raw(f"role_{role}"), **small))
        drawn = bool(sig.image_png and sig.image_size)
        if drawn and sig.signed_at:
            runs.append(Run(self.raw("signed_on_tablet",
                                     date=fmt_date(sig.signed_at, self.locale, "medium",
                                                   tz=self.labels.get("_tz")),
                                     place=sig.place or ""), **small))
        elif role == "family":
            runs.append(Run(self.raw("signature_or_thumbprint"), **small))
        # No drawn image (signed on paper, or the image is missing): a blank line for ink.
        return SignatureCell(runs, sig.image_png if drawn else None,
                             sig.image_size if drawn else None)

    def verification(self) -> Flowable:
        item = self.item
        small = {"size": 8.2, "leading": 10.5}
        return BoxBlock([
            Run(self.raw("verify_heading"), BOLD, color=MUTED, **small),
            Run(self.raw("verify_text"), color=MUTED, **small),
            Run(str(item.verify_url), color=BLUE, **small),
            Run(f"{self.raw('fingerprint')}: {item.content_hash}", color=MUTED, **small),
        ])


def _painter(labels: Mapping[str, Any]) -> Any:
    page_label = labels["page"]
    fingerprint = labels["fingerprint_short"]
    draft_mark = labels["draft_mark"]

    def paint(canvas: Canvas, doc: MultiDocTemplate, item: AgreementPrint,
              page_in_doc: int) -> None:
        canvas.setStrokeColor(LINE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN_X, FOOTER_Y + 10, PAGE_WIDTH - MARGIN_X, FOOTER_Y + 10)
        number = str(item.content.get("number", ""))
        canvas.setFont(BOLD, 7.4)
        canvas.setFillColor(GREEN)
        canvas.drawString(MARGIN_X, FOOTER_Y, number)
        canvas.setFont(REGULAR, 7.4)
        canvas.setFillColor(MUTED)
        after = MARGIN_X + canvas.stringWidth(number, BOLD, 7.4)
        mark = fingerprint.format(hash=item.content_hash[:16]) if item.content_hash else draft_mark
        canvas.drawString(after, FOOTER_Y, "  ·  " + mark)
        slot = PAGE_WIDTH - MARGIN_X - canvas.stringWidth("00", REGULAR, 7.4)
        canvas.drawRightString(slot, FOOTER_Y, page_label.format(page=page_in_doc) + " ")
        doc.draw_page_total(canvas, slot, FOOTER_Y)
        if item.is_draft:
            canvas.setFont(BOLD, 54)
            canvas.setFillColorRGB(0.64, 0.13, 0.13, alpha=0.10)
            canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
            canvas.rotate(40)
            canvas.drawCentredString(0, 0, draft_mark)

    return paint


def write_agreements(items: Iterable[AgreementPrint], labels: Mapping[str, Any],
                     out: BinaryIO, fixed: TextCache | None = None) -> int:
    """Write one PDF holding ``items``, each from a new page; returns how many were written.

    Every page shows its agreement's number, hash prefix and "page x of y" of that agreement.

    :param fixed: prepared fixed texts to reuse across calls of one batch (same ``labels``).
    """
    fixed = fixed or TextCache(styles())
    story: list[Flowable] = []
    count = 0
    for item in items:
        if count:
            story.append(PageBreak())
        story.append(DocumentStart(item.key or str(count), item))
        story.extend(_AgreementStory(item, labels, fixed).flowables())
        count += 1
    if not count:
        return 0
    doc = MultiDocTemplate(out, _painter(labels), title=labels["title"],
                           author=labels["_program"], creator="fieldapp")
    doc.build_story(story)
    return count


def agreement_pdf(item: AgreementPrint, labels: Mapping[str, Any]) -> bytes:
    """The PDF of one agreement."""
    out = io.BytesIO()
    write_agreements([item], labels, out)
    return out.getvalue()
