"""The read API (``/api/v1``: datasets, OpenAPI) and the admins' token screens."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from fieldapp import ratelimit
from fieldapp.api import bp, tokens_bp
from fieldapp.api.answers import ORJSON_OPTIONS, csv_page, json_rows
from fieldapp.api.catalogue import API_DATASETS
from fieldapp.api.forms import ApiTokenForm
from fieldapp.api.models import ApiToken
from fieldapp.api.openapi import openapi_document
from fieldapp.api.operations import authenticate, create_token, revoke_token
from fieldapp.api.paging import (
    Cursor,
    decode,
    encode,
    horizon,
    page_rows,
    parse_limit,
    scoped_select,
)
from fieldapp.api.queries import all_tokens
from fieldapp.auth.access import central_only, public, role_required
from fieldapp.errors import ApiRefused
from fieldapp.extensions import csrf, db
from fieldapp.families.queries import active_communities

#: Failed token checks allowed per client address a minute (guessing is hopeless, but noisy).
AUTH_FAILURES_PER_MINUTE = 30


def _client() -> str:
    return request.remote_addr or "unknown"


def _token() -> ApiToken:
    try:
        return authenticate(request.headers.get("Authorization"), _client())
    except ApiRefused:
        if not ratelimit.hit(f"api-auth:{_client()}", AUTH_FAILURES_PER_MINUTE, 60):
            db.session.commit()
            _refuse_rate()
        db.session.commit()
        raise


def _refuse_rate() -> None:
    raise ApiRefused("rate_limited", 429, _l(
        "Too many requests. Wait a minute and try again."), retry_after=ratelimit.retry_after(60))


def _limit_rate(token: ApiToken) -> None:
    limit = int(current_app.config["API_RATE_LIMIT"])
    if not ratelimit.hit(f"api:{token.public_id}", limit, 60):
        db.session.commit()  # the refused request counts too
        _refuse_rate()


def _wants_csv() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return best == "text/csv"


def _communities(token: ApiToken) -> list[uuid.UUID]:
    return [uuid.UUID(c) for c in token.community_ids]


@bp.route("/<name>")
@public
@central_only
def dataset(name: str):
    """A page of a dataset's rows (JSON, or CSV with ``Accept: text/csv``)."""
    token = _token()
    _limit_rate(token)
    db.session.commit()  # the token's use and the rate counter, whatever follows
    api = API_DATASETS.get(name)
    if api is None:
        raise ApiRefused("unknown_dataset", 404, _l("There is no dataset %(name)s.", name=name),
                         datasets=sorted(API_DATASETS))
    if name not in token.datasets:
        raise ApiRefused("dataset_not_granted", 403, _l(
            "This token may not read %(name)s.", name=name), datasets=token.datasets)
    limit = parse_limit(request.args.get("limit"))
    raw_cursor, raw_since = request.args.get("cursor"), request.args.get("since")
    if raw_cursor and raw_since:
        raise ApiRefused("cursor_and_since", 400, _l(
            "Send either cursor (the next page) or since (changes since a fetch), not both."))
    top = horizon()
    if raw_cursor:
        cursor = decode(raw_cursor, "next", name)
    elif raw_since:
        start = decode(raw_since, "since", name)
        if start.horizon > top:
            raise ApiRefused("cursor_ahead", 409, _l(
                "This cursor is ahead of the server's records (was it restored from a "
                "backup?). Fetch the dataset in full again."))
        cursor = Cursor(name, top, since=start.horizon)
    else:
        cursor = Cursor(name, top)
    communities = _communities(token)
    csv_out = _wants_csv()
    base = scoped_select(api, communities, token.personal_data, raw=csv_out)
    rows, deleted, last = page_rows(api, base, cursor, limit, communities)
    incremental = cursor.since is not None
    following = (encode(Cursor(name, cursor.horizon, cursor.since, last), "next")
                 if last is not None else None)
    since = encode(Cursor(name, cursor.horizon), "since")
    columns = api.columns(token.personal_data)
    db.session.rollback()  # read only: end the transaction
    headers = {"X-Since-Cursor": since, "Cache-Control": "no-store"}
    if following:
        headers["Link"] = f'<{url_for(".dataset", name=name, cursor=following, limit=limit, _external=True)}>; rel="next"'  # noqa: E501
        headers["X-Next-Cursor"] = following
    if csv_out:
        text = csv_page(columns, rows, deleted if incremental else None, api.key)
        return Response("\ufeff" + text, mimetype="text/csv", headers=headers)
    body: dict[str, Any] = {
        "dataset": name,
        "columns": [c.name for c in columns],
        "rows": json_rows(columns, rows),
        "next": following,
        "since": since,
    }
    if incremental:
        body["deleted"] = [str(k) for k in deleted]
    return Response(orjson.dumps(body, option=ORJSON_OPTIONS), mimetype="application/json",
                    headers=headers)


@bp.route("/openapi.json")
@public
@central_only
def openapi():
    """The API's OpenAPI 3.1 description, made from the datasets' columns."""
    return Response(orjson.dumps(openapi_document(url_for(".openapi", _external=True))),
                    mimetype="application/json")


@bp.route("/")
@public
@central_only
def index():
    """The datasets the API serves, and where its description is."""
    return {"datasets": sorted(API_DATASETS), "openapi": url_for(".openapi", _external=True)}


# -- the admins' screens ------------------------------------------------------------------------
def _with_choices(form: ApiTokenForm) -> ApiTokenForm:
    form.datasets.choices = [SelectChoice(n, str(a.dataset.title)) for n, a in
                             API_DATASETS.items()]
    form.communities.choices = [SelectChoice(str(c.id), c.name) for c in active_communities()]
    return form


@tokens_bp.route("/")
@role_required("admin")
@central_only
def tokens():
    """Every API token: what it reads, until when, when it was last used."""
    return render_template("api/tokens.html", tokens=all_tokens(), datasets=API_DATASETS,
                           communities={str(c.id): c.name for c in active_communities()})


@tokens_bp.route("/new", methods=["GET", "POST"])
@role_required("admin")
@central_only
def create():
    """Make an API token; it is shown once."""
    from flask_login import current_user

    form = _with_choices(ApiTokenForm())
    if form.validate_on_submit():
        made = create_token(form.name.data, form.datasets.data,
                            [uuid.UUID(c) for c in form.communities.data],
                            form.personal_data.data, form.days.data, current_user)
        db.session.commit()
        page = current_app.make_response(render_template(
            "api/token_made.html", token=made.token, secret=made.secret))
        page.headers["Cache-Control"] = "no-store"  # the secret, once: never from a cache
        return page
    return render_template("api/token_form.html", form=form), (422 if form.errors else 200)


@tokens_bp.route("/<uuid:token_id>/revoke", methods=["POST"])
@role_required("admin")
@central_only
def revoke(token_id: uuid.UUID):
    """Revoke a token now."""
    from flask_login import current_user

    token = db.get_or_404(ApiToken, token_id)
    revoke_token(token, current_user)
    db.session.commit()
    flash(_("Token %(name)s revoked.", name=token.name), "success")
    return redirect(url_for(".tokens"))


csrf.exempt(bp)  # bearer tokens, no cookies: nothing for a forged form to ride on
