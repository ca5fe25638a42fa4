"""Charts drawn on the server as SVG: no script, no library, legible on a tablet and on paper.

Each function returns markup safe to put in a template. Colours are SVG presentation
attributes (allowed by the CSP); sizes follow the ``viewBox`` so a chart scales to its box.
Every chart carries a ``<title>`` and a text value next to each bar, and statuses also have a
shape (:data:`STATUS_SHAPES`), so colour is never the only carrier of meaning (a reader who does
not tell orange from green still tells a square from a circle); the page also shows the numbers
in tables.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from markupsafe import Markup, escape

from fieldapp.dashboard.numbers import fmt

#: Colour-blind-safe palette (Okabe–Ito), dark enough to print in grey.
STATUS_COLOURS = {
    "compliant": "#009e73",
    "non_compliant": "#d55e00",
    "not_visited": "#e69f00",
    "no_agreement": "#8c8c8c",
}
FINDING_COLOURS = {
    "met": "#009e73",
    "partial": "#e69f00",
    "breached": "#d55e00",
    "not_checked": "#bdbdbd",
}
SERIES_COLOURS = ("#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#d55e00")
#: A shape per status and finding, drawn with its colour on the map, in legends and in bars.
STATUS_SHAPES = {
    "compliant": "circle",
    "non_compliant": "square",
    "not_visited": "triangle",
    "no_agreement": "diamond",
}
FINDING_SHAPES = {
    "met": "circle",
    "partial": "triangle",
    "breached": "square",
    "not_checked": "diamond",
}

WIDTH = 640
_ids = itertools.count(1)


def _fmt(value: float | int | None, suffix: str = "") -> str:
    return fmt(value, suffix, decimals=1)


def _open(height: float, title: str, css: str) -> list[str]:
    ident = f"chart-{next(_ids)}"
    return [
        f'<svg class="chart {css}" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-labelledby="{ident}" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}">{escape(title)}</title>',
    ]


def _text(x: float, y: float, text: str, anchor: str = "start", css: str = "chart-label") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{css}">{escape(text)}</text>'
    )


def marker(
    shape: str, x: float, y: float, r: float, fill: str, inner: str = "", stroke: str = "#fff"
) -> str:
    """An SVG marker centred on (x, y) of half-size ``r``: circle, square, triangle or diamond.

    ``inner`` (already escaped, e.g. a ``<title>``) goes inside the element.
    """
    common = f'class="marker marker-{shape}" fill="{fill}" stroke="{stroke}" stroke-width="1"'
    if shape == "square":
        s = r * 0.9
        return (
            f'<rect {common} x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s:.1f}" '
            f'height="{2 * s:.1f}">{inner}</rect>'
        )
    if shape in ("triangle", "diamond"):
        if shape == "triangle":
            pts = [(x, y - r * 1.15), (x + r * 1.1, y + r * 0.8), (x - r * 1.1, y + r * 0.8)]
        else:
            pts = [(x, y - r * 1.25), (x + r * 1.25, y), (x, y + r * 1.25), (x - r * 1.25, y)]
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
        return f'<polygon {common} points="{points}">{inner}</polygon>'
    return f'<circle {common} cx="{x:.1f}" cy="{y:.1f}" r="{r}">{inner}</circle>'


def _clip(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(
    rows: Sequence[tuple[str, float | int]],
    title: str,
    colour: str = "#0072b2",
    suffix: str = "",
    maximum: float | None = None,
) -> Markup:
    """Horizontal bars with the label on the left and the value at the bar's end."""
    row_h, label_w, value_w = 30, 220, 90
    height = max(1, len(rows)) * row_h + 10
    top = max([float(v or 0) for _l, v in rows] + [float(maximum or 0), 1.0])
    span = WIDTH - label_w - value_w
    out = _open(height, title, "chart-bars")
    for i, (label, value) in enumerate(rows):
        y = 5 + i * row_h
        w = span * float(value or 0) / top
        out.append(_text(label_w - 8, y + 20, _clip(label), "end"))
        out.append(
            f'<rect x="{label_w}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" '
            f'fill="{colour}" rx="3"><title>{escape(label)}: {_fmt(value, suffix)}</title></rect>'
        )
        out.append(_text(label_w + w + 6, y + 20, _fmt(value, suffix), css="chart-value"))
    if not rows:
        out.append(_text(WIDTH / 2, 25, "—", "middle"))
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every value above went through escape()


def progress_chart(rows: Sequence[tuple[str, float, float, str]], title: str) -> Markup:
    """One bar per row: the part done over its total (e.g. delivered over promised).

    Each row is ``(label, done, total, caption)``: the label is written above the bar (long
    Spanish names fit), the bar is full at 100 %, the caption (figures with their unit) follows
    the percentage.
    """
    row_h, pct_w = 58, 80
    span = WIDTH - pct_w
    height = max(1, len(rows)) * row_h + 6
    out = _open(height, title, "chart-progress")
    for i, (label, done, total, caption) in enumerate(rows):
        y = 4 + i * row_h
        share = (float(done) / float(total)) if total else 0.0
        w = span * max(0.0, min(share, 1.0))
        out.append(_text(0, y + 16, f"{label} · {caption}"))
        out.append(f'<rect x="0" y="{y + 24}" width="{span}" height="22" fill="#e8ece9" rx="3"/>')
        out.append(
            f'<rect x="0" y="{y + 24}" width="{w:.1f}" height="22" fill="#0072b2" '
            f'rx="3"><title>{escape(label)}: {escape(caption)}</title></rect>'
        )
        pct = _fmt(round(100 * share, 1), " %") if total else "—"
        out.append(_text(span + 8, y + 41, pct, css="chart-value"))
    if not rows:
        out.append(_text(WIDTH / 2, 25, "—", "middle"))
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every value above went through escape()


def stacked_chart(
    rows: Sequence[tuple[str, Sequence[float | int]]],
    parts: Sequence[str],
    part_labels: Sequence[str],
    colours: Sequence[str],
    title: str,
    shapes: Sequence[str] | None = None,
) -> Markup:
    """One 100 % bar per row, split into ``parts``; the label is written above the bar.

    With ``shapes``, each part's shape is drawn in the legend and at the start of its segment.
    """
    row_h, legend_h = 52, 34
    height = legend_h + max(1, len(rows)) * row_h + 6
    out = _open(height, title, "chart-stacked")
    x = 0.0
    marks = list(shapes) if shapes else [None] * len(part_labels)
    for label, colour, shape in zip(part_labels, colours, marks, strict=True):
        if shape:
            out.append(marker(shape, x + 8, 16, 7, colour, stroke="#1b1f1d"))
        else:
            out.append(f'<rect x="{x:.1f}" y="8" width="16" height="16" fill="{colour}"/>')
        out.append(_text(x + 22, 21, label, css="chart-legend"))
        x += 34 + 8.5 * len(label)
    for i, (label, values) in enumerate(rows):
        y = legend_h + i * row_h
        whole = sum(float(v) for v in values)
        out.append(_text(0, y + 15, _clip(label, 80)))
        x = 0.0
        for part, value, colour, shape in zip(part_labels, values, colours, marks, strict=True):
            w = WIDTH * float(value) / whole if whole else 0
            if w <= 0:
                continue
            share = 100 * float(value) / whole
            out.append(
                f'<rect x="{x:.1f}" y="{y + 22}" width="{w:.1f}" height="24" '
                f'fill="{colour}"><title>{escape(label)} · {escape(part)}: '
                f"{_fmt(value)} ({_fmt(round(share, 1), ' %')})</title></rect>"
            )
            if shape and w >= 14:
                out.append(marker(shape, x + 7, y + 34, 4.5, "#fff", stroke=colour))
            if w > 44:
                mid = x + w / 2 + (6 if shape else 0)
                out.append(_text(mid, y + 39, _fmt(value), "middle", "chart-inbar"))
            x += w
    if not rows:
        out.append(_text(WIDTH / 2, legend_h + 25, "—", "middle"))
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every value above went through escape()


def column_chart(
    labels: Sequence[str], values: Sequence[float | int], title: str, colour: str = "#0072b2"
) -> Markup:
    """Vertical columns over time (e.g. months), with the value above each column."""
    height, bottom, top_pad, left = 230, 30, 24, 8
    n = max(1, len(labels))
    slot = (WIDTH - 2 * left) / n
    top = max([float(v) for v in values] + [1.0])
    usable = height - bottom - top_pad
    every = max(1, -(-n // 12))  # at most about twelve axis labels
    out = _open(height, title, "chart-columns")
    out.append(
        f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - left}" '
        f'y2="{height - bottom}" stroke="#5d6a63" stroke-width="1"/>'
    )
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = usable * float(value) / top
        x = left + i * slot + slot * 0.15
        w = slot * 0.7
        y = height - bottom - h
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'fill="{colour}"><title>{escape(label)}: {_fmt(value)}</title></rect>'
        )
        if n <= 24:
            out.append(_text(x + w / 2, y - 5, _fmt(value), "middle", "chart-value"))
        if i % every == 0:
            out.append(_text(x + w / 2, height - 10, label, "middle", "chart-axis"))
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every value above went through escape()


def gauge(done: int, target: int, title: str, caption: str) -> Markup:
    """A single wide bar: progress towards the program's target."""
    height, left = 56, 8
    span = WIDTH - 2 * left
    share = min(1.0, done / target) if target else 0.0
    out = _open(height, title, "chart-gauge")
    out.append(f'<rect x="{left}" y="6" width="{span}" height="24" fill="#e8ece9" rx="4"/>')
    out.append(
        f'<rect x="{left}" y="6" width="{span * share:.1f}" height="24" fill="#009e73" rx="4"/>'
    )
    out.append(_text(left, 50, caption, css="chart-caption"))
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every value above went through escape()


def dashboard_charts(data: dict, status_labels: dict[str, str]) -> dict[str, Markup]:
    """The dashboard page's charts, from :func:`fieldapp.dashboard.overview.summary`'s figures."""
    from flask_babel import gettext as _

    fam = data["families"]
    charts: dict[str, Markup] = {}
    target = data["target_families"]
    charts["target"] = gauge(
        fam["active_agreement"],
        target,
        _("Families with an active agreement against the target"),
        _(
            "%(done)s of %(target)s families (target) have an active agreement",
            done=_fmt(fam["active_agreement"]),
            target=_fmt(target),
        ),
    )
    order = ("compliant", "non_compliant", "not_visited", "no_agreement")
    colours = [STATUS_COLOURS[s] for s in order]
    labels = [status_labels[s] for s in order]
    rows = [(_("All communities"), [fam[s] for s in order])]
    if 1 < len(data["by_community"]) <= 40:
        rows += [(r["name"], [r[s] for s in order]) for r in data["by_community"]]
    charts["status"] = stacked_chart(
        rows,
        order,
        labels,
        colours,
        _("Families by compliance status"),
        shapes=[STATUS_SHAPES[s] for s in order],
    )
    statuses = data["agreements_by_status"]
    status_names = agreement_status_labels()
    charts["agreements"] = bar_chart(
        [
            (status_names.get(s, s), n)
            for s, n in statuses.items()
            if n or s in ("active", "signed")
        ],
        _("Agreements by status"),
        colour="#0072b2",
    )
    charts["benefits"] = progress_chart(
        [
            (
                b["name"],
                b["delivered_to_date"],
                b["promised"],
                _(
                    "%(done)s of %(promised)s %(unit)s",
                    done=_fmt(b["delivered_to_date"]),
                    promised=_fmt(b["promised"]),
                    unit=b["unit"],
                ),
            )
            for b in data["benefits"]
        ],
        _("Benefits delivered against what the agreements promised"),
    )
    results = ("met", "partial", "breached", "not_checked")
    charts["commitments"] = stacked_chart(
        [(c["text"], [c[r] for r in results]) for c in data["compliance_by_commitment"]],
        results,
        finding_labels_list(),
        [FINDING_COLOURS[r] for r in results],
        _("Findings of the period's visits, by commitment"),
        shapes=[FINDING_SHAPES[r] for r in results],
    )
    months = [m["month"] for m in data["trend"]]
    charts["trend_deliveries"] = column_chart(
        months,
        [m["deliveries"] for m in data["trend"]],
        _("Deliveries per month"),
        SERIES_COLOURS[0],
    )
    charts["trend_visits"] = column_chart(
        months,
        [m["visits"] for m in data["trend"]],
        _("Compliance visits per month"),
        SERIES_COLOURS[1],
    )
    charts["trend_attendance"] = column_chart(
        months,
        [m["attendance"] for m in data["trend"]],
        _("Training attendance per month"),
        SERIES_COLOURS[2],
    )
    return charts


def _headings(kind: str) -> dict[str, str]:
    """A kind of the label table (fieldapp/labels.py) as chart headings (capitalised)."""
    from fieldapp.labels import LABELS

    return {key: (lambda text: text[:1].upper() + text[1:])(str(value))
            for key, value in LABELS[kind].items()}


def agreement_status_labels() -> dict[str, str]:
    """Agreement statuses in the reader's language."""
    return _headings("agreement_status")


def finding_labels_list() -> list[str]:
    """Finding results in the reader's language, in chart order."""
    labels = _headings("finding")
    return [labels[r] for r in ("met", "partial", "breached", "not_checked")]


def sanction_level_labels() -> dict[str, str]:
    """Sanction levels in the reader's language."""
    return _headings("sanction_level")
