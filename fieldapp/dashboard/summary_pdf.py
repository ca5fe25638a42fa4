"""The one-page program summary for donors (reportlab): pure, figures in, PDF bytes out.

The figures are laid out in one frame that shrinks to fit, so they always fill exactly one A4
page; communities beyond what a page can hold are summed into one "other communities" row. The
definitions of every figure follow on a second page, so the printout explains itself.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from flask_babel import ngettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepInFrame,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from fieldapp.dashboard.definitions import DEFINITIONS
from fieldapp.dashboard.numbers import fmt
from fieldapp.formatting import format_when
from fieldapp.printing.fonts import register_fonts

GREEN = colors.HexColor("#1f5f3a")
LEAF = colors.HexColor("#e8f3ec")
LINE = colors.HexColor("#cdd8d1")
MAX_COMMUNITY_ROWS = 18


def _n(value: Any) -> str:
    return fmt(value, decimals=1)


def _pct(value: Any) -> str:
    return "—" if value is None else f"{_n(value)} %"


def _styles(regular: str, bold: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=regular, fontSize=9, leading=11.5)
    return {
        "base": base,
        "title": ParagraphStyle(
            "title", parent=base, fontName=bold, fontSize=16, leading=19, textColor=GREEN
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=bold,
            fontSize=11,
            leading=14,
            spaceBefore=6,
            spaceAfter=3,
            textColor=GREEN,
        ),
        "small": ParagraphStyle(
            "small", parent=base, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#5d6a63")
        ),
        "kpi": ParagraphStyle(
            "kpi", parent=base, fontName=bold, fontSize=15, leading=18, textColor=GREEN
        ),
    }


def _table(
    rows: list[list[Any]],
    widths: list[float],
    regular: str,
    bold: str,
    total_row: bool = False,
    header: bool = True,
) -> Table:
    if header:
        # Header cells wrap between words only: a narrow column must never print "cu-mplimiento".
        head = ParagraphStyle(
            "head", fontName=bold, fontSize=7.5, leading=9, splitLongWords=0, wordWrap=None
        )
        rows = [
            [Paragraph(escape(h), head) if isinstance(h, str) else h for h in rows[0]],
            *rows[1:],
        ]
    table = Table(rows, colWidths=widths)
    style = [
        ("FONT", (0, 0), (-1, -1), regular, 8.5),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, LINE),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        style += [("FONT", (0, 0), (-1, 0), bold, 8.5), ("BACKGROUND", (0, 0), (-1, 0), LEAF)]
    if total_row:
        style += [
            ("FONT", (0, -1), (-1, -1), bold, 8.5),
            ("LINEABOVE", (0, -1), (-1, -1), 1, GREEN),
        ]
    table.setStyle(TableStyle(style))
    return table


class _TargetBar(Flowable):
    """A wide bar: families with an active agreement against the program's target."""

    def __init__(self, done: int, target: int, width: float) -> None:
        super().__init__()
        self.share = min(1.0, done / target) if target else 0.0
        self.width, self.height = width, 16

    def draw(self) -> None:
        c = self.canv
        c.setStrokeColor(colors.white)
        c.setFillColor(colors.HexColor("#e8ece9"))
        c.rect(0, 4, self.width, 10, stroke=0, fill=1)
        c.setFillColor(colors.HexColor("#009e73"))
        c.rect(0, 4, self.width * self.share, 10, stroke=0, fill=1)


def _community_rows(data: dict[str, Any]) -> list[list[Any]]:
    rows = data["by_community"]
    keys = (
        "registered",
        "active_agreement",
        "compliant",
        "non_compliant",
        "received",
        "compliant_received",
    )
    shown = sorted(rows, key=lambda r: (-r["registered"], r["name"]))[:MAX_COMMUNITY_ROWS]
    shown.sort(key=lambda r: r["name"])
    out = [[r["name"], *[_n(r[k]) for k in keys]] for r in shown]
    rest = [r for r in rows if r not in shown]
    if rest:
        out.append(
            [
                _("Other communities (%(n)s)", n=len(rest)),
                *[_n(sum(r[k] for r in rest)) for k in keys],
            ]
        )
    fam = data["families"]
    out.append([_("Total"), *[_n(fam[k]) for k in keys]])
    return out


def merged_line(merged: int) -> str:
    """The sentence on duplicates merged in the period (the dashboard's page says the same)."""
    return ngettext(
        "%(num)s family registered twice was merged in the period; every family is counted once.",
        "%(num)s families registered twice were merged in the period; every family is counted "
        "once.",
        merged,
    )


def _definitions_page(st: dict[str, ParagraphStyle]) -> list[Any]:
    """The second page: what each figure counts, from :data:`.definitions.DEFINITIONS`."""
    story: list[Any] = [Paragraph(_("Definitions of the figures"), st["title"]), Spacer(1, 4)]
    for term, text in DEFINITIONS:
        story.append(Paragraph(f"<b>{escape(str(term))}</b>: {escape(str(text))}", st["base"]))
        story.append(Spacer(1, 4))
    return story


def build_summary_pdf(
    data: dict[str, Any],
    filters: list[tuple[str, str]],
    program: str,
    node: str,
    locale: str = "es",
    printed_at: datetime | None = None,
    grievances: dict[str, Any] | None = None,
) -> bytes:
    """The one-page summary of :func:`fieldapp.dashboard.overview.summary`'s figures.

    :param filters: the selection as (label, value) pairs, printed under the title.
    :param program: the program's name; :param node: which installation printed it.
    :param printed_at: when it is printed (default now), shown in the program's time zone.
    :param grievances: the grievance figures of the period
        (:func:`fieldapp.grievances.queries.figures`' ``total``); none: no grievance line.
    """
    regular, bold = register_fonts()
    st = _styles(regular, bold)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=_("Program summary"),
        author=program,
        lang=locale,
        initialFontName=regular,
        initialFontSize=9,
    )
    width = doc.width
    fam = data["families"]
    story: list[Any] = [
        Paragraph(_("Program summary"), st["title"]),
        Paragraph(escape(program), st["base"]),
        Paragraph(
            " · ".join(f"{escape(label)}: <b>{escape(value)}</b>" for label, value in filters),
            st["small"],
        ),
        Spacer(1, 4),
    ]
    kpis = [
        (_n(fam["registered"]), _("families registered")),
        (
            _n(fam["active_agreement"]),
            _("with an active agreement (target %(n)s)", n=_n(data["target_families"])),
        ),
        (
            _n(fam["compliant"]),
            _("compliant (%(rate)s of those visited)", rate=_pct(fam["compliance_rate"])),
        ),
        (_n(fam["compliant_received"]), _("compliant and received benefits in the period")),
    ]
    story.append(
        Table(
            [
                [Paragraph(v, st["kpi"]) for v, _l in kpis],
                [Paragraph(escape(t), st["small"]) for _v, t in kpis],
            ],
            colWidths=[width / 4] * 4,
            style=TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), regular, 9),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BOX", (0, 0), (-1, -1), 0.5, LINE),
                    ("BACKGROUND", (0, 0), (-1, -1), colors.white),
                ]
            ),
        )
    )
    story.append(_TargetBar(fam["active_agreement"], data["target_families"], width))
    story.append(Paragraph(escape(merged_line(data["duplicates_merged"])), st["small"]))

    story.append(Paragraph(_("Families by community"), st["h2"]))
    header = [
        _("Community"),
        _("Registered"),
        _("Active agreement"),
        _("Compliant"),
        _("Not compliant"),
        _("Received benefits"),
        _("Compliant and received benefits"),
    ]
    story.append(
        _table(
            [header, *_community_rows(data)],
            [width * 0.28] + [width * 0.12] * 6,
            regular,
            bold,
            total_row=True,
        )
    )

    story.append(Paragraph(_("Benefits"), st["h2"]))
    rows = [
        [_("Benefit"), _("Unit"), _("Promised"), _("Delivered to date"), "%", _("In the period")]
    ]
    for b in data["benefits"]:
        share = 100 * b["delivered_to_date"] / b["promised"] if b["promised"] else None
        rows.append(
            [
                b["name"],
                b["unit"],
                _n(b["promised"]),
                _n(b["delivered_to_date"]),
                _pct(None if share is None else round(share, 1)),
                _n(b["delivered_in_period"]),
            ]
        )
    story.append(_table(rows, [width * 0.34, width * 0.14] + [width * 0.13] * 4, regular, bold))

    t, v, s = data["trainings"], data["visits"], data["sanctions"]
    story.append(Paragraph(_("Trainings and compliance"), st["h2"]))
    facts = [
        [
            _("Training sessions held"),
            _n(t["sessions"]),
            _("Compliance visits done"),
            _n(v["visits"]),
        ],
        [
            _("Attendance"),
            _n(t["attendance"]),
            _("Families visited in the period"),
            f"{_n(v['families_visited'])} / {_n(v['families_due'])} ({_pct(v['coverage'])})",
        ],
        [
            _("Families that attended"),
            f"{_n(t['families_attended'])} ({_pct(t['attendance_rate'])})",
            _("Sanctions in force"),
            _n(s["in_force_total"]),
        ],
    ]
    story.append(
        _table(
            facts, [width * 0.3, width * 0.2, width * 0.3, width * 0.2], regular, bold, header=False
        )
    )
    rows = [[_("Commitment"), _("Met"), _("Partly met"), _("Breached"), _("Compliance rate")]]
    rows += [
        [
            Paragraph(escape(c["text"]), st["small"]),
            _n(c["met"]),
            _n(c["partial"]),
            _n(c["breached"]),
            _pct(c["rate"]),
        ]
        for c in data["compliance_by_commitment"]
    ]
    story.append(Spacer(1, 4))
    story.append(_table(rows, [width * 0.44] + [width * 0.14] * 4, regular, bold))
    if grievances is not None:
        g = grievances
        median = g["median_days"]
        story.append(Paragraph(_("Grievances"), st["h2"]))
        story.append(_table(
            [[_("Received in the period"), _n(g["received"]), _("Answered in time"),
              f"{_n(g['answered_in_time'])} / {_n(g['answered'])}"],
             [_("Overdue"), _n(g["overdue"]), _("Median days to answer"),
              "—" if median is None else _n(median)]],
            [width * 0.3, width * 0.2, width * 0.3, width * 0.2], regular, bold, header=False))
    # In the program's time zone and the reader's words, as on every page (never UTC).
    printed_text = format_when(printed_at or datetime.now(UTC), "medium", locale=locale)
    story.append(Spacer(1, 6))
    story.append(
        Paragraph(
            _(
                "Printed %(when)s by fieldapp (%(node)s). Definitions of every figure: "
                "page 2.",
                when=printed_text,
                node=node,
            ),
            st["small"],
        )
    )

    doc.build(
        [
            KeepInFrame(width, doc.height, story, mode="shrink"),
            PageBreak(),
            *_definitions_page(st),
        ]
    )
    return out.getvalue()
