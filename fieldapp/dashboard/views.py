"""The dashboard's pages: figures and charts, the map, the lists, exports and the donor PDF.

Coordinators and admins only. On a field node the same pages show that node's own data.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from jinja2 import pass_context

from fieldapp.auth.access import role_required
from fieldapp.dashboard import bp, overview
from fieldapp.dashboard.entities import ENTITIES
from fieldapp.dashboard.exports import FORMATS, filename, stream_csv, stream_xlsx
from fieldapp.dashboard.filters import (
    Filters,
    default_filters,
    parse_filters,
    program_today,
    quick_periods,
)
from fieldapp.dashboard.lists import LISTS, page
from fieldapp.dashboard.numbers import fmt, request_marks
from fieldapp.dashboard.rows import community_rows
from fieldapp.errors import NotFound, ValidationFailed
from fieldapp.labels import LABELS


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "es")


def _status_labels() -> dict[str, str]:
    return {key: str(value) for key, value in LABELS["compliance_status"].items()}


def _quick_links() -> list[tuple[str, dict[str, str]]]:
    """Period shortcuts that keep the other filters chosen."""
    keep = {k: v for k, v in request.args.items() if k in ("community", "staff") and v}
    return [
        (label, {"from": f"{first:%Y-%m}", "to": f"{last:%Y-%m}", **keep})
        for label, first, last in quick_periods(program_today())
    ]


def _form_context(errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "choices": overview.filter_choices(),
        "errors": errors or {},
        "typed": request.args,
        "quick": _quick_links(),
        "status_labels": _status_labels(),
    }


def _filters_or_page(template: str, **context: Any) -> Filters | tuple[str, int]:
    """The request's filters, or the page re-rendered with the errors next to the fields."""
    try:
        return parse_filters(request.args)
    except ValidationFailed as error:
        fields = error.details.get("fields", {})
        page_html = render_template(
            template, f=default_filters(), failed=True, **_form_context(fields), **context
        )
        return page_html, 422


@bp.route("/")
@role_required("coordinator")
def index():
    """The program at a glance: families, agreements, benefits, trainings, compliance, trend."""
    f = _filters_or_page("dashboard/index.html", data=None)
    if not isinstance(f, Filters):
        return f
    from fieldapp.dashboard import charts
    from fieldapp.dashboard.syncpanel import sync_panel

    data = overview.summary(f, _locale())
    from fieldapp.grievances.queries import figures as grievance_figures

    grievances = grievance_figures(f.today)["total"]  # open and overdue now, whatever the period
    from fieldapp.plots.queries import alert_figures

    alerts = alert_figures(None)  # the whole program, whatever the period
    # One URL built for the community links of every row (hundreds of url_for calls otherwise).
    keep = {k: v for k, v in f.args().items() if k != "community"}
    base = url_for("dashboard.index", **keep)
    return render_template(
        "dashboard/index.html",
        f=f,
        data=data,
        community_rows=community_rows,
        sync=sync_panel(),
        community_href=f"{base}{'&' if '?' in base else '?'}community=",
        failed=False,
        charts=charts.dashboard_charts(data, _status_labels()),
        agreement_labels=charts.agreement_status_labels(),
        sanction_labels=charts.sanction_level_labels(),
        grievances=grievances,
        alerts=alerts,
        **_form_context(),
    )


@bp.route("/summary.json")
@role_required("coordinator")
def summary_json():
    """The dashboard's figures as JSON (same filters as the page)."""
    try:
        f = parse_filters(request.args)
    except ValidationFailed as error:
        return jsonify(error.to_dict()), error.status
    return jsonify(overview.summary(f, _locale()))


@bp.route("/map")
@role_required("coordinator")
def plot_map():
    """Family plots on a map (points, and boundaries where walked), coloured by compliance and
    outlined by alerts; each opens the family or the plot."""
    from fieldapp.dashboard.plotmap import program_map

    f = _filters_or_page("dashboard/map.html", svg=None, counts={}, unlocated=0, plots=0,
                         alerts={})
    if not isinstance(f, Filters):
        return f
    page = program_map(f, _status_labels())
    return render_template(
        "dashboard/map.html",
        f=f,
        svg=page.svg,
        counts=page.counts,
        plots=page.plots,
        alerts=page.alerts,
        unlocated=page.unlocated,
        failed=False,
        **_form_context(),
    )


@bp.route("/lists/<name>")
@role_required("coordinator")
def list_view(name: str):
    """One of the lists that answer questions, paged, with the dashboard's filters."""
    dataset = LISTS.get(name)
    if dataset is None:
        raise NotFound()
    f = _filters_or_page(
        "dashboard/list.html",
        dataset=dataset,
        name=name,
        rows=[],
        total=0,
        columns=dataset.columns(),
        lists=LISTS,
    )
    if not isinstance(f, Filters):
        return f
    total, rows = page(dataset.build(f), f)
    return render_template(
        "dashboard/list.html",
        f=f,
        dataset=dataset,
        name=name,
        rows=rows,
        total=total,
        columns=dataset.columns(),
        lists=LISTS,
        failed=False,
        **_form_context(),
    )


@bp.route("/export/<name>.<fmt>")
@role_required("coordinator")
def export(name: str, fmt: str):
    """A dataset (entity or list) as CSV or XLSX, streamed, with the dashboard's filters."""
    dataset = ENTITIES.get(name) or LISTS.get(name)
    if dataset is None or fmt not in FORMATS:
        raise NotFound()
    f = parse_filters(request.args)
    body = stream_csv(dataset, f) if fmt == "csv" else stream_xlsx(dataset, f)
    response = Response(
        stream_with_context(body), mimetype=FORMATS[fmt].split(";")[0], direct_passthrough=True
    )
    if fmt == "csv":
        response.headers["Content-Type"] = FORMATS["csv"]
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(dataset, f, fmt)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/summary.pdf")
@role_required("coordinator")
def summary_pdf():
    """A one-page program summary for donors, as PDF."""
    from fieldapp.dashboard.summary_pdf import build_summary_pdf
    from fieldapp.grievances.queries import figures as grievance_figures

    f = parse_filters(request.args)
    data = overview.summary(f, _locale())
    pdf = build_summary_pdf(
        data,
        filters=f.describe(),
        program=current_app.config["PROGRAM_NAME"],
        node=f"{current_app.config['ROLE']} {current_app.config['NODE_CODE']}",
        locale=_locale(),
        grievances=grievance_figures(f.today, f.date_from, f.date_to)["total"],
    )
    name = f"fieldapp-summary-{f.date_from:%Y-%m}_{f.date_to:%Y-%m}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"},
    )


@bp.context_processor
def number_marks() -> dict[str, Any]:
    """The locale's number marks, looked up once per page for :func:`dashnum`."""
    return {"dashnum_marks": request_marks()}


@bp.app_template_filter("dashnum")
@pass_context
def dashnum(context: Any, value: Any) -> str:
    """A number in the reader's locale (fast; see :mod:`fieldapp.dashboard.numbers`)."""
    return fmt(value, marks=context.get("dashnum_marks"))


@bp.app_template_global("dashboard_datasets")
def dashboard_datasets() -> dict[str, Any]:
    """Entities and lists offered for export on the dashboard page."""
    return {"entities": ENTITIES, "lists": LISTS, "formats": list(FORMATS)}
