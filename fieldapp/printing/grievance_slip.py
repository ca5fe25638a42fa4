"""A grievance's receipt slip (pure: data in, bytes out): the code, the day it was received and
the day an answer is due, the program's contact, and a QR to the public status page."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from fieldapp.printing.layout import GREEN, LINE, esc, fmt_date, styles
from fieldapp.printing.qr import QRFlowable


def grievance_slip_pdf(slip: Mapping[str, Any], labels: Mapping[str, Any]) -> bytes:
    """The slip on one A5 page.

    :param slip: ``code``, ``received_on``, ``answer_due_on``, ``family`` (``None``:
        anonymous), ``community``, ``category``, ``contact`` and ``url`` (the status page).
    """
    st = styles()
    out = io.BytesIO()
    margin = 12 * mm
    width = A5[0] - 2 * margin
    locale = labels["_locale"]
    doc = SimpleDocTemplate(out, pagesize=A5, leftMargin=margin, rightMargin=margin,
                            topMargin=margin, bottomMargin=margin, invariant=1,
                            title=labels["title"], author=labels["_program"], creator="fieldapp")
    rows = [
        (labels["family"], esc(slip["family"]) if slip.get("family") else
         esc(labels["anonymous"])),
        (labels["community"], esc(slip["community"])),
        (labels["category"], esc(slip["category"])),
        (labels["received_on"], esc(fmt_date(slip["received_on"], locale))),
        (labels["answer_due"], f"<b>{esc(fmt_date(slip['answer_due_on'], locale))}</b>"),
        (labels["contact"], esc(slip["contact"])),
    ]
    facts = Table([[Paragraph(esc(k), st["label"]), Paragraph(v, st["cell"])] for k, v in rows],
                  colWidths=[32 * mm, width - 32 * mm], hAlign="LEFT")
    facts.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("LINEBELOW", (0, 0), (-1, -2), 0.4, LINE)]))
    header = Table([[Paragraph(esc(labels["_program"]).upper(), st["program"])],
                    [Paragraph(esc(labels["title"]), st["title"])],
                    [Paragraph(esc(labels["code"].format(code=slip["code"])), st["body"])]],
                   colWidths=[width])
    header.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0),
                                ("LINEBELOW", (0, -1), (-1, -1), 1, GREEN)]))
    qr = Table([[QRFlowable(slip["url"], 34 * mm),
                 Paragraph(esc(labels["check"]), st["small"])]],
               colWidths=[38 * mm, width - 38 * mm])
    qr.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                            ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story: list[Flowable] = [header, Spacer(1, 4 * mm), facts, Spacer(1, 4 * mm),
                             Paragraph(esc(labels["statement"]), st["body"]),
                             Spacer(1, 4 * mm), qr]
    doc.build(story)
    return out.getvalue()
