"""The analysts' read API on central: tokens, pages equal to the exports, the incremental
fetch (on PostgreSQL, central's database), the OpenAPI description against real answers,
and every refusal with its stable code."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from fieldapp import create_app
from fieldapp.api.catalogue import API_DATASETS
from fieldapp.extensions import db

ALL = sorted(API_DATASETS)


def _token(app, datasets=ALL, communities=(), personal=True, days=30) -> str:
    from fieldapp.api.operations import create_token

    with app.test_request_context():
        made = create_token("analyst", list(datasets), list(communities), personal, days,
                            "test")
        db.session.commit()
        return made.secret


def _get(client, path: str, token: str | None, csv_out: bool = False, **args: Any):
    headers = {"Accept": "text/csv"} if csv_out else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.get(path, headers=headers, query_string=args)


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def _fetch_all(client, name: str, token: str, limit: int, csv_out: bool = False,
               since: str | None = None) -> tuple[list[Any], list[str], str]:
    """Every page of a fetch: (rows, deleted, the since cursor of the last page)."""
    rows: list[Any] = []
    deleted: list[str] = []
    args: dict[str, Any] = {"limit": limit}
    if since:
        args["since"] = since
    while True:
        answer = _get(client, f"/api/v1/{name}", token, csv_out, **args)
        assert answer.status_code == 200, answer.data[:300]
        if csv_out:
            lines = _csv_rows(answer.get_data(as_text=True))
            rows += lines[1:]
            following = answer.headers.get("X-Next-Cursor")
            since_cursor = answer.headers["X-Since-Cursor"]
        else:
            body = answer.get_json()
            rows += body["rows"]
            deleted += body.get("deleted", [])
            following, since_cursor = body["next"], body["since"]
        if not following:
            return rows, deleted, since_cursor
        args = {"limit": limit, "cursor": following}


def _as_csv(value: Any) -> str:
    """A JSON value as the export's CSV writes it (a formula's quote aside)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value).removeprefix("'")


@pytest.fixture
def central(app_factory):
    return app_factory(demo=True, ROLE="central", API_RATE_LIMIT=10**6)


def _pages_equal_the_exports(central) -> None:
    from fieldapp.dashboard.exports import stream_csv
    from fieldapp.dashboard.filters import all_records

    token = _token(central)
    client = central.test_client()
    for name, api in API_DATASETS.items():
        with central.test_request_context():
            exported = _csv_rows(b"".join(stream_csv(api.dataset, all_records())).decode())
        fetched, _, _ = _fetch_all(client, name, token, limit=37, csv_out=True)
        assert exported[0] == api.dataset.column_names()
        assert sorted(map(tuple, fetched)) == sorted(map(tuple, exported[1:])), name
        keys = [row[exported[0].index(api.key)] for row in fetched]
        assert len(keys) == len(set(keys)), f"{name}: a row sent twice"
        assert len(exported) > 1, name


def _json_answers_match_openapi_and_csv(central) -> None:
    client = central.test_client()
    token = _token(central)
    doc = client.get("/api/v1/openapi.json").get_json()
    validate_spec(doc)
    for name in ALL:
        schema = {"$ref": f"#/components/schemas/{name}_page", "components": doc["components"]}
        validator = OAS31Validator(schema, format_checker=OAS31Validator.FORMAT_CHECKER)
        answer = _get(client, f"/api/v1/{name}", token, limit=50).get_json()
        validator.validate(answer)
        csv_answer = _csv_rows(_get(client, f"/api/v1/{name}", token, True, limit=50)
                               .get_data(as_text=True))
        assert len(answer["rows"]) == len(csv_answer) - 1
        assert answer["columns"] == csv_answer[0]
        for row, line in zip(answer["rows"], csv_answer[1:], strict=True):
            assert [_as_csv(row[c]) for c in answer["columns"]] == [
                v.removeprefix("'") for v in line], name
    # A row that broke its schema is caught: the check is not vacuous.
    broken = {"$ref": "#/components/schemas/families_row", "components": doc["components"]}
    row = _get(client, "/api/v1/families", token, limit=1).get_json()["rows"][0]
    with pytest.raises(Exception, match="is not of type"):
        OAS31Validator(broken).validate({**row, "members_count": "four"})


def test_every_dataset_in_pages_equals_its_export_row_for_row(central):
    _pages_equal_the_exports(central)


def test_json_answers_match_the_openapi_description_and_the_csv(central):
    _json_answers_match_openapi_and_csv(central)


@pytest.mark.postgres
def test_on_postgresql_the_answers_equal_the_exports_and_the_description(pg_url, tmp_path):
    from fieldapp.demo.generator import generate

    central = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "i"),
                          "SECRET_KEY": "x", "AUTO_MIGRATE": True, "ROLE": "central",
                          "SQLALCHEMY_DATABASE_URI": pg_url, "NODE_ID": str(uuid.uuid4()),
                          "NODE_CODE": "CEN", "API_RATE_LIMIT": 10**6})
    try:
        with central.app_context():
            generate(scale=0.05, seed=7)
            db.session.remove()
        _pages_equal_the_exports(central)
        _json_answers_match_openapi_and_csv(central)
    finally:
        with central.app_context():
            db.engine.dispose()


def test_a_token_is_shown_once_stored_hashed_and_revocable_from_the_admin_screen(app_factory):
    central = app_factory(ROLE="central")
    client = central.test_client()
    from tests.conftest import AuthActions

    AuthActions(central, client).login("admin")
    made = client.post("/admin/api-tokens/new", data={
        "name": "Power BI de M&E", "datasets": ["families", "deliveries"], "days": "30"})
    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    refused = client.post("/admin/api-tokens/new", data={"name": "x", "datasets": ["nope"],
                                                         "days": "400"})
    assert refused.status_code == 422
    page = made.get_data(as_text=True)
    secret = page.split('id="api-token" translate="no">')[1].split("<")[0]
    assert secret.startswith("fapi_")
    listing = client.get("/admin/api-tokens/").get_data(as_text=True)
    assert "Power BI de M&amp;E" in listing
    assert secret not in listing
    from fieldapp.api.models import ApiToken

    with central.app_context():
        stored = db.session.execute(db.select(ApiToken)).scalar_one()
        assert secret.split("_", 2)[2] not in (stored.secret_sha256, stored.public_id)
        assert stored.last_used_at is None
        token_id = stored.id
    assert _get(client, "/api/v1/families", secret).status_code == 200
    with central.app_context():
        assert db.session.get(ApiToken, token_id).last_used_at is not None
    client.post(f"/admin/api-tokens/{token_id}/revoke")
    refused = _get(client, "/api/v1/families", secret)
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "token_revoked"


def test_refusals_have_stable_codes_and_never_a_500(central):
    from fieldapp.api.models import ApiToken
    from fieldapp.api.paging import Cursor, encode

    client = central.test_client()
    token = _token(central, datasets=["families", "communities"])
    expired = _token(central)
    with central.app_context():
        row = db.session.execute(db.select(ApiToken).where(
            ApiToken.public_id == expired.split("_")[1])).scalar_one()
        row.expires_at = row.created_at - timedelta(seconds=1)
        db.session.commit()
    first = _get(client, "/api/v1/families", token, limit=2).get_json()
    with central.test_request_context():
        ahead = encode(Cursor("families", 10**9), "since")

    def code(path, tok, **args):
        answer = _get(client, path, tok, **args)
        assert answer.status_code < 500
        return answer.status_code, answer.get_json()["error"]["code"]

    assert code("/api/v1/families", None) == (401, "token_missing")
    assert code("/api/v1/families", "fapi_0123456789abcdef_nope") == (401, "token_invalid")
    assert code("/api/v1/families", token[:-2] + "xx") == (401, "token_invalid")
    assert code("/api/v1/families", "Basic abc") == (401, "token_invalid")
    assert code("/api/v1/families", expired) == (401, "token_expired")
    assert code("/api/v1/deliveries", token) == (403, "dataset_not_granted")
    assert code("/api/v1/nonsense", token) == (404, "unknown_dataset")
    assert code("/api/v1/community_summary", token) == (404, "unknown_dataset")
    for bad in ("0", "10001", "abc", "-1", "1.5"):
        assert code("/api/v1/families", token, limit=bad) == (400, "bad_page_size")
    tampered = first["next"][:-3] + ("AAA" if not first["next"].endswith("AAA") else "BBB")
    assert code("/api/v1/families", token, cursor=tampered) == (400, "invalid_cursor")
    assert code("/api/v1/families", token, cursor="x" * 5000) == (400, "invalid_cursor")
    assert code("/api/v1/families", token, cursor=first["since"]) == (400, "invalid_cursor")
    assert code("/api/v1/communities", token, cursor=first["next"]) == (
        400, "cursor_other_dataset")
    assert code("/api/v1/families", token, since=first["since"], cursor=first["next"]) == (
        400, "cursor_and_since")
    assert code("/api/v1/families", token, since=ahead) == (409, "cursor_ahead")


def test_requests_past_the_rate_limit_are_refused(app_factory):
    central = app_factory(ROLE="central", API_RATE_LIMIT=3)
    client = central.test_client()
    token = _token(central)
    statuses = [_get(client, "/api/v1/communities", token).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    refused = _get(client, "/api/v1/communities", token).get_json()["error"]
    assert refused["code"] == "rate_limited"
    assert refused["details"]["retry_after"] >= 1


def test_personal_fields_only_when_granted_and_never_for_a_family_that_withdrew(
        central):
    from fieldapp.compliance.models import ComplianceVisit
    from fieldapp.families.models import Family
    from fieldapp.families.operations import withdraw_family

    client = central.test_client()
    with central.test_request_context():
        visits = db.session.execute(db.select(ComplianceVisit).join(Family).where(
            Family.dni.is_not(None)).order_by(ComplianceVisit.family_id)).scalars().all()
        other = next(v for v in visits if v.family_id != visits[0].family_id)
        for visit in (visits[0], other):
            visit.lat, visit.lon = -5.9, -77.3
        family = db.session.get(Family, visits[0].family_id)
        withdrawn_id = str(family.id)
        withdraw_family(family, "consent_withdrawn", date(2026, 6, 1))
        db.session.commit()
    plain, granted = _token(central, personal=False), _token(central, personal=True)
    families = _fetch_all(client, "families", plain, 500)[0]
    assert families
    assert all("dni" not in r and "phone" not in r and "lat" not in r
                            for r in families)
    families = _fetch_all(client, "families", granted, 500)[0]
    assert any(r["dni"] for r in families)
    assert any(r["lat"] for r in families)
    # A family that withdrew leaves the families list; its visits stay, without its GPS or
    # names, even for a token granted personal data.
    assert withdrawn_id not in {r["family_id"] for r in families}
    visits = _fetch_all(client, "visits", granted, 1000)[0]
    theirs = [r for r in visits if r["family_id"] == withdrawn_id]
    others = [r for r in visits if r["family_id"] != withdrawn_id]
    assert theirs
    assert all(r["lat"] is None and r["head_given_names"] is None for r in theirs)
    assert any(r["lat"] is not None for r in others)
    header = _csv_rows(_get(client, "/api/v1/visits", plain, True).get_data(as_text=True))[0]
    assert "lat" not in header
    assert "visit_id" in header


def test_a_token_of_one_community_reads_only_its_records(central):
    from fieldapp.communities.models import Community

    with central.app_context():
        community = db.session.execute(db.select(Community).order_by(Community.code)
                                       .limit(1)).scalar_one()
        code, community_id = community.code, community.id
    client = central.test_client()
    token = _token(central, communities=[community_id])
    families = _fetch_all(client, "families", token, 100)[0]
    deliveries = _fetch_all(client, "deliveries", token, 1000)[0]
    assert families
    assert deliveries
    assert {r["community_code"] for r in families + deliveries} == {code}


def test_the_api_token_command_creates_lists_and_revokes(app_factory):
    central = app_factory(ROLE="central")
    runner = central.test_cli_runner()
    made = runner.invoke(args=["api-token", "create", "R nightly", "--dataset", "families",
                               "--days", "7"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[0]
    client = central.test_client()
    assert _get(client, "/api/v1/families", secret).status_code == 200
    listed = runner.invoke(args=["api-token", "list"])
    public_id = secret.split("_")[1]
    assert public_id in listed.output
    assert secret.split("_", 2)[2] not in listed.output
    assert runner.invoke(args=["api-token", "revoke", public_id]).exit_code == 0
    assert _get(client, "/api/v1/families", secret).get_json()["error"]["code"] == (
        "token_revoked")
    bad = runner.invoke(args=["api-token", "create", "x", "--dataset", "families",
                              "--community", "NOPE"])
    assert bad.exit_code != 0
    assert "NOPE" in bad.output


def test_a_field_node_serves_no_api(app):
    assert app.test_client().get("/api/v1/families").status_code == 404


def test_only_admins_manage_tokens(app_factory):
    from tests.conftest import AuthActions

    central = app_factory(ROLE="central")
    client = central.test_client()
    AuthActions(central, client).login("coordinator")
    assert client.get("/admin/api-tokens/").status_code == 403
    assert client.post("/admin/api-tokens/new", data={"name": "x", "datasets": ["families"],
                                                      "days": "3"}).status_code == 403
    from fieldapp.api.models import ApiToken

    with central.app_context():
        assert db.session.execute(db.select(ApiToken)).first() is None


# -- incremental, on PostgreSQL ------------------------------------------------------------------
def _family(name: str, community_id: uuid.UUID) -> uuid.UUID:
    from fieldapp.families.operations import create_family

    family = create_family({"head_given_names": name, "head_surname": "Tuanama",
                            "members_count": 3, "data_consent": True,
                            "community_id": community_id, "confirm_not_duplicate": True})
    return family.id


@pytest.mark.postgres
def test_incremental_fetch_sees_inserts_updates_and_deletions_exactly_once(pg_url, tmp_path):
    from fieldapp.communities.models import Community
    from fieldapp.families.models import Family

    central = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "i"),
                          "SECRET_KEY": "x", "AUTO_MIGRATE": True, "ROLE": "central",
                          "SQLALCHEMY_DATABASE_URI": pg_url, "NODE_ID": str(uuid.uuid4()),
                          "NODE_CODE": "CEN"})
    try:
        with central.test_request_context():
            one, two = Community(code="C1", name="Uno"), Community(code="C2", name="Dos")
            db.session.add_all([one, two])
            db.session.flush()
            ids = {n: _family(n, one.id) for n in ("Ana", "Bea", "Cata", "Dina", "Eva")}
            ids["Flor"] = _family("Flor", two.id)
            db.session.commit()
            one_id, two_id = one.id, two.id
        token = _token(central, datasets=["families"])
        client = central.test_client()
        rows, _, since = _fetch_all(client, "families", token, limit=2)
        assert len(rows) == 6
        with central.test_request_context():
            ana = db.session.get(Family, ids["Ana"])
            ana.head_given_names = "Anita"
            db.session.commit()
            ana.members_count = 5  # a second change of the same row: still sent once
            db.session.get(Family, ids["Bea"]).voided = True
            db.session.delete(db.session.get(Family, ids["Cata"]))
            ids["Gina"] = _family("Gina", one_id)
            db.session.get(Community, two_id).name = "Dos Ríos"  # touches Flor's row
            db.session.commit()
        rows, deleted, since2 = _fetch_all(client, "families", token, limit=1, since=since)
        by_name = {r["head_given_names"]: r for r in rows}
        assert sorted(by_name) == ["Anita", "Flor", "Gina"]
        assert len(rows) == 3
        assert by_name["Anita"]["members_count"] == 5
        assert by_name["Flor"]["community_name"] == "Dos Ríos"
        assert sorted(deleted) == sorted([str(ids["Bea"]), str(ids["Cata"])])
        # A change made during a fetch is not in it, and is in the next one, once.
        first = _get(client, "/api/v1/families", token, limit=1, since=since2).get_json()
        assert first["rows"] == []
        assert first["deleted"] == []
        with central.test_request_context():
            db.session.get(Family, ids["Dina"]).head_given_names = "Dina Luz"
            db.session.commit()
        rows, deleted, since3 = _fetch_all(client, "families", token, 1, since=first["since"])
        assert [r["head_given_names"] for r in rows] == ["Dina Luz"]
        assert deleted == []
        assert _fetch_all(client, "families", token, 1, since=since3)[:2] == ([], [])
        csv_page = _get(client, "/api/v1/families", token, True, since=since).get_data(
            as_text=True)
        lines = _csv_rows(csv_page)
        assert lines[0][-1] == "deleted"
        assert sorted(line[0] for line in lines[1:] if line[-1] == "true") == sorted(
            [str(ids["Bea"]), str(ids["Cata"])])
    finally:
        with central.app_context():
            db.engine.dispose()


def test_csv_answers_keep_the_exports_formula_protection(central):
    from fieldapp.families.models import Family

    with central.app_context():
        family = db.session.execute(db.select(Family).where(
            Family.status == "active", Family.voided.is_(False)).limit(1)).scalar_one()
        family.head_given_names = '=HYPERLINK("http://evil.example")'
        db.session.commit()
        family_id = str(family.id)
    client = central.test_client()
    token = _token(central, datasets=["families"])
    rows = _fetch_all(client, "families", token, 1000, csv_out=True)[0]
    line = next(r for r in rows if r[0] == family_id)
    assert line[2] == '\'=HYPERLINK("http://evil.example")'
    row = next(r for r in _fetch_all(client, "families", token, 1000)[0]
               if r["family_id"] == family_id)
    assert row["head_given_names"] == '=HYPERLINK("http://evil.example")'
