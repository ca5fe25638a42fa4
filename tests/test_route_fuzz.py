"""Route fuzz: every route of the URL map, as every role, with hostile input — never a 500.

Over ``app.url_map`` of a field node and of central (central adds nodes/, conflicts and the
dashboards), on the demo database, as anonymous, field staff limited to one community, a
coordinator and an admin:

- every GET route with real ids and with hostile path parameters, and hostile query strings
  (huge and negative numbers, NaN, non-UUID ids, 10 KB strings, NUL bytes, unicode, SQL/HTML
  metacharacters, repeated keys);
- every POST route with the fields its own page (or its parent page) shows, each field in turn
  set to a hostile value, the others left as the page filled them.

No answer is a 500, and a refused POST (4xx) leaves the database as it was (a digest of every
table: row count and newest ``updated_at``). The choice of values is sampled with a fixed seed,
so a run is deterministic and takes well under a minute.
"""

from __future__ import annotations

import random
import re
import uuid
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, literal, select, union_all
from werkzeug.routing import IntegerConverter, UUIDConverter

from fieldapp.extensions import db
from tests.conftest import AuthActions

HUGE = "9" * 20
HOSTILE: list[Any] = [
    HUGE, "-" + HUGE, "9" * 400, "-1", "0", "NaN", "inf", "-inf", "1e309", "1.5", "0x10",
    "not-a-uuid", "00000000-0000-0000-0000-000000000000", "x" * 10_240, "a\x00b", "\x00",
    "ñandú 🌳 \u202e\ufeff", "' OR 1=1 --", "\"; DROP TABLE families; --",
    "<script>alert(1)</script>", "%00%ff", "../../etc/passwd", " ", "",
    ["1", "2"],  # a key sent twice
]
#: Query keys read by some view (list filters, dashboards, PWA data, printing, login).
QUERY_KEYS = ("page", "per_page", "q", "community", "family", "status", "year", "from", "to",
              "staff", "months", "days", "suspected", "after", "limit", "lang", "next", "kind",
              "agreement_id", "family_id", "community_id", "shown", "sort", "fmt")
#: Never fuzzed: the sync protocol (its own tests and worker), logout (would end the session),
#: static files.
SKIPPED_ENDPOINTS = {"static", "auth.logout", "sync_api.enroll", "sync_api.handshake",
                     "sync_api.pull", "sync_api.push"}
ROLES = ("anonymous", "field_staff", "coordinator", "admin")
SEED = 20261207
#: Fields fuzzed per form, role and URL (sampled; every field of a small form).
FIELDS_PER_FORM = 8


class _FormFields(HTMLParser):
    """The fields of the POST forms of a page, with the values the page filled in."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind == "radio" and "checked" not in a:  # the first choice, to get past it
                if not self.fields.get(name):
                    self.fields[name] = a.get("value", "")
            elif kind == "checkbox" and "checked" not in a:
                self.fields.setdefault(name, "")
            else:
                self.fields[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select = name
            self.fields.setdefault(name, "")
        elif tag == "option" and self._select:
            if "selected" in a or not self.fields.get(self._select):
                self.fields[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data


def _form_fields(html: str) -> dict[str, str]:
    parser = _FormFields()
    parser.feed(html)
    parser.fields.pop("csrf_token", None)
    return parser.fields


def _digest(app: Flask) -> tuple:
    """Row count and newest ``updated_at`` of every table, in one query.

    In an app context of its own: one held around the client's requests would be shared by
    them (with ``g``, and the user flask-login caches there).
    """
    parts = []
    for table in db.metadata.sorted_tables:
        newest = (func.max(table.c.updated_at) if "updated_at" in table.c
                  else literal(None))
        parts.append(select(literal(table.name), func.count(), newest).select_from(table))
    with app.app_context():
        return tuple(tuple(row) for row in db.session.execute(union_all(*parts)).all())


def _sample_ids(app: Flask) -> dict[str, list[str]]:
    """Real ids for path parameters, by parameter name."""
    from fieldapp.agreements.models import (
        Agreement,
        BenefitType,
        CommitmentType,
        Signature,
    )
    from fieldapp.auth.models import User
    from fieldapp.communities.models import Community
    from fieldapp.compliance.models import ComplianceVisit, Sanction
    from fieldapp.deliveries.models import Delivery
    from fieldapp.families.models import Family
    from fieldapp.nodes.models import Node
    from fieldapp.trainings.models import TrainingSession

    models = {"family_id": Family, "agreement_id": Agreement, "delivery_id": Delivery,
              "session_id": TrainingSession, "visit_id": ComplianceVisit,
              "sanction_id": Sanction, "community_id": Community, "user_id": User,
              "node_id": Node, "signature_id": Signature,
              "entry_id": (BenefitType, CommitmentType)}
    found: dict[str, list[str]] = {}
    with app.app_context():
        for name, model in models.items():
            ids: list[str] = []
            for m in model if isinstance(model, tuple) else (model,):
                ids += [str(i) for i in db.session.execute(
                    select(m.id).order_by(m.id).limit(2)).scalars()]
            found[name] = ids
    return found


def _path_values(rule: Any, ids: dict[str, list[str]], rng: random.Random) -> list[dict]:
    """Path parameters for ``rule``: real ids (when there are), then hostile ones."""
    real: dict[str, Any] = {}
    hostile: dict[str, Any] = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, UUIDConverter):
            real[name] = (ids.get(name) or [str(uuid.UUID(int=1))])[0]
            hostile[name] = str(uuid.UUID(int=rng.randrange(1, 2**64)))
        elif isinstance(converter, IntegerConverter):
            real[name] = 1
            hostile[name] = int(HUGE)
        else:
            real[name] = {"lang": "es", "name": "families", "fmt": "csv",
                          "agreement_id": (ids.get("agreement_id") or ["x"])[0]}.get(name, "x")
            hostile[name] = rng.choice(["x" * 2000, "ñ🌳", "' OR 1=1", "<b>", "..", HUGE])
    return [real, hostile] if rule._converters else [real]


def _url(rule: Any, values: dict[str, Any]) -> str:
    url = rule.rule
    for name, value in values.items():
        url = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + r">", quote(str(value), safe=""), url)
    return url


def _query(rng: random.Random) -> str:
    keys = rng.sample(QUERY_KEYS, 6)
    parts = []
    for key in keys:
        value = rng.choice(HOSTILE)
        for item in value if isinstance(value, list) else [value]:
            parts.append(f"{key}={quote(item, safe='')}")
    return "&".join(parts)


def _check(response: Any, what: str, failures: list[str]) -> None:
    response.get_data()  # run a streamed body to its end, inside the request
    response.close()
    if response.status_code >= 500:
        failures.append(f"{what} -> {response.status_code}")


def _clients(app: Flask, community: str) -> dict[str, FlaskClient]:
    clients = {}
    for role in ROLES:
        client = app.test_client()
        if role != "anonymous":
            auth = AuthActions(app, client)
            auth.login(role, username=f"fuzz-{role.replace('_', '-')}",
                       communities=(community,) if role == "field_staff" else ())
        clients[role] = client
    return clients


def _fuzz(app: Flask) -> list[str]:  # noqa: C901 (one walk over the map, read top-down)
    from fieldapp.communities.models import Community
    from fieldapp.nodes.views import _running as sync_now_running

    rng = random.Random(SEED)  # noqa: S311 (a reproducible sample, not a secret)
    failures: list[str] = []
    with app.app_context():
        community = db.session.execute(
            select(Community.code).order_by(Community.code).limit(1)).scalar_one()
    clients = _clients(app, community)
    ids = _sample_ids(app)
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint not in SKIPPED_ENDPOINTS),
                   key=lambda r: r.rule)
    get_pages: dict[tuple[str, str], str] = {}
    for rule in rules:
        if "GET" not in rule.methods:
            continue
        for role, client in clients.items():
            for n, values in enumerate(_path_values(rule, ids, rng)):
                url = _url(rule, values)
                response = client.get(url)
                if n == 0 and response.status_code == 200 and response.mimetype == "text/html":
                    get_pages[(role, rule.rule)] = response.get_data(as_text=True)
                _check(response, f"{role} GET {url}", failures)
                hostile = f"{url}?{_query(rng)}"
                headers = {"Accept": "application/json"} if rng.random() < 0.3 else {}
                _check(client.get(hostile, headers=headers), f"{role} GET {hostile[:300]}",
                       failures)
    for rule in rules:
        if "POST" not in rule.methods:
            continue
        parent = rule.rule.rsplit("/", 1)[0] or "/"
        for role, client in clients.items():
            page = (get_pages.get((role, rule.rule)) or get_pages.get((role, parent + "/"))
                    or get_pages.get((role, parent)) or "")
            base = _form_fields(page)
            names = sorted(base) or ["value"]
            for n, values in enumerate(_path_values(rule, ids, rng)):
                url = _url(rule, values)
                # A refused login or a hostile id stops at the door: one field is enough.
                # Otherwise a sample of the fields (a visit form has dozens).
                some = (names[:1] if role == "anonymous" or n else
                        rng.sample(names, min(len(names), FIELDS_PER_FORM)))
                for name in some:
                    value = rng.choice(HOSTILE)
                    data = {**base, name: value}
                    headers = {"Accept": "application/json"} if rng.random() < 0.3 else {}
                    before = _digest(app)
                    response = client.post(url, data=data, headers=headers)
                    with sync_now_running:  # "sync now" writes from a thread: let it end
                        pass
                    what = f"{role} POST {url} {name}={str(value)[:40]!r}"
                    _check(response, what, failures)
                    after = _digest(app) if response.status_code >= 400 else before
                    if after != before:
                        changed = sorted({new[0] for new, old in zip(after, before, strict=True)
                                          if new != old})
                        failures.append(f"{what} was refused ({response.status_code}) "
                                        f"but wrote to {changed}")
    for role, client in clients.items():  # the walk ran logged in to its end
        if role != "anonymous" and client.get("/families/").status_code != 200:
            failures.append(f"{role} was logged out during the walk")
    return failures


def _open_conflicts(app: Flask) -> None:
    """Central's conflict screen has something to resolve: one conflict of each kind (the demo
    has none), the first with id 1 (the id the walk uses for ``<int:conflict_id>``)."""
    from fieldapp.agreements.models import Agreement
    from fieldapp.deliveries.models import Delivery
    from fieldapp.families.models import Family
    from fieldapp.models import utcnow
    from fieldapp.nodes.models import SYNC_TABLES

    with app.app_context():
        family = db.session.execute(select(Family).limit(1)).scalar_one()
        pair = db.session.execute(select(Delivery.id).limit(2)).scalars().all()
        versions = db.session.execute(select(Agreement.id).limit(2)).scalars().all()
        rows = [
            {"kind": "field", "table_name": "families", "row_id": family.id,
             "field": "members_count", "central_value": family.members_count, "node_value": 7},
            {"kind": "double_delivery", "table_name": "benefit_deliveries", "row_id": pair[1],
             "other_row_id": pair[0]},
            {"kind": "amendment", "table_name": "agreements", "row_id": versions[0],
             "other_row_id": versions[1]},
        ]
        for row in rows:
            db.session.execute(SYNC_TABLES.conflicts.insert().values(
                status="open", created_at=utcnow(), updated_at=utcnow(), **row))
        db.session.commit()


@pytest.mark.parametrize("role", ["field", "central"])
def test_no_route_answers_500_to_hostile_input(app_factory, role):
    app = app_factory(demo=True, ROLE=role)
    if role == "central":
        _open_conflicts(app)
    failures = _fuzz(app)
    assert not failures, "\n".join(failures)
