"""Spanish all the way: no English value, raw key, UUID or ISO timestamp on a Spanish screen.

Every GET route of a field node and of central is opened as every role in Spanish, on the demo
program plus one record of every kind the demo lacks: an agreement in every status, a visit with
a breach (its sanction, proposed and confirmed), audit entries (a family changed, an agreement
signed), a sync log error, a quarantined operation and (central) a conflict of each kind. The
visible text of each page (script, style and attributes left out) may hold none of:

- an English value of the label table (its keys: ``active``, ``met``, ``unreachable``…),
- a snake_case key (``no_expansion``, ``members_count``),
- a UUID (a record is named by its code or name),
- an ISO timestamp (``2026-03-05T14:02``): times are shown in the program's time zone.

Record codes such as ``AM-K7Q-0001`` are allowed.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from flask import Flask
from sqlalchemy import func, select

from fieldapp.extensions import db
from tests.conftest import TEST_PASSWORD, AuthActions
from tests.test_route_fuzz import SKIPPED_ENDPOINTS, _open_conflicts, _sample_ids, _url

UUID_RE = re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b",
                     re.IGNORECASE)
ISO_RE = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
SNAKE_RE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
ROLES = ("anonymous", "field_staff", "coordinator", "admin")
#: Pages that are not screens: a PDF, an export, the service worker…
NOT_SCREENS = ("/static/",)


#: Elements without an end tag (they never close what they open).
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _Visible(HTMLParser):
    """The text a person sees: no script or style, no attributes; nor what the page marks as
    meant to be shown verbatim (``translate="no"``: a catalogue code) or as English on purpose
    (``lang="en"``: the English column of the catalogue)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._stack: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        a = dict(attrs)
        self._stack.append(tag in ("script", "style") or a.get("translate") == "no"
                           or a.get("lang") == "en")

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self._stack:
            self._stack.pop()

    @property
    def _skip(self) -> bool:
        return any(self._stack)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_values() -> set[str]:
    """Every key of the label table whose Spanish label is another word."""
    from flask_babel import force_locale

    from fieldapp.labels import LABELS

    found = set()
    with force_locale("es_PE"):
        for table in LABELS.values():
            for key, value in table.items():
                if " " in key or not re.fullmatch(r"[a-z_]+", key):
                    continue
                if key.lower() not in str(value).lower().split():
                    found.add(key)
    return found


def findings(text: str, english: set[str]) -> list[str]:
    """What may not be on a Spanish screen, each with the text around it."""
    patterns = [("uuid", UUID_RE), ("iso time", ISO_RE), ("key", SNAKE_RE)]
    if english:
        patterns.append(("english", re.compile(
            r"(?<![\w-])(" + "|".join(sorted(map(re.escape, english))) + r")(?![\w-])")))
    found = []
    for what, pattern in patterns:
        for m in pattern.finditer(text):
            around = text[max(0, m.start() - 30):m.end() + 30]
            found.append(f"{what} {m.group(0)!r} in «{around}»")
    return found


def _add_records(app: Flask) -> dict[str, list[str]]:
    """What the demo lacks, written by the app's own operations; the ids to visit."""
    from fieldapp.agreements.models import Agreement
    from fieldapp.audit.operations import record, snapshot
    from fieldapp.compliance.models import Sanction
    from fieldapp.compliance.operations import (
        agreement_commitments,
        confirm_sanction,
        record_visit,
    )
    from fieldapp.families.models import Family
    from fieldapp.models import utcnow
    from fieldapp.nodes.models import SYNC_TABLES, Node

    extra: dict[str, list[str]] = {"agreement_id": [], "family_id": [], "sanction_id": [],
                                   "node_id": []}
    with app.test_request_context():
        for status in ("draft", "signed", "active", "suspended", "completed", "terminated",
                       "superseded"):
            agreement = db.session.execute(
                select(Agreement).where(Agreement.status == status).limit(1)).scalar()
            if agreement is not None:
                extra["agreement_id"].append(str(agreement.id))
                extra["family_id"].append(str(agreement.family_id))
        active = db.session.execute(
            select(Agreement).where(Agreement.status == "active")
            .order_by(Agreement.number)).scalars().all()
        for n, agreement in enumerate(active[:2]):
            commitments = agreement_commitments(agreement.id)
            visit = record_visit(agreement.family, agreement, {
                "visited_on": utcnow().date() - timedelta(days=1), "monitor_name": "Ana Ruiz",
                "findings": {c.id: ("breached" if i == 0 else "met", None)
                             for i, c in enumerate(commitments)},
            })
            db.session.flush()
            sanction = db.session.execute(
                select(Sanction).where(Sanction.visit_id == visit.id)).scalar()
            if sanction is not None:
                if n:
                    confirm_sanction(sanction, notes="Confirmada")
                extra["sanction_id"].append(str(sanction.id))
            extra["family_id"].append(str(agreement.family_id))
            extra["agreement_id"].append(str(agreement.id))
        family = db.session.get(Family, uuid.UUID(extra["family_id"][0]))
        before = snapshot(family)
        family.phone = "987654321"
        family.members_count = (family.members_count or 1) + 1
        record("update", family, before=before, family_id=family.id)
        signed = db.session.get(Agreement, uuid.UUID(extra["agreement_id"][1]))
        record("status:signed", signed, before={**snapshot(signed), "status": "draft"},
               family_id=signed.family_id)
        db.session.execute(SYNC_TABLES.log.insert().values(
            at=utcnow(), action="sync", ok=False, code="unreachable",
            message="unreachable: [Errno 111] Connection refused"))
        node = Node(name="Nodo Soritor", code="K7Q", app_version="1.0",
                    last_error_code="unreachable", last_error="unreachable")
        db.session.add(node)
        db.session.flush()
        node_id = node.id
        extra["node_id"] = [str(node_id)]
        for direction in ("push", "pull"):  # refused on central; not applied on a node
            db.session.execute(SYNC_TABLES.quarantine.insert().values(
                direction=direction, node_id=node_id, node_seq=7, table_name="families",
                row_id=family.id, code="out_of_scope", message="out_of_scope",
                payload=f'{{"id": "{family.id}"}}', created_at=utcnow()))
        seq = (db.session.execute(select(func.max(SYNC_TABLES.outbox.c.seq))).scalar() or 0) + 1
        db.session.execute(SYNC_TABLES.outbox.insert().values(  # refused by central
            seq=seq, table_name="families", row_id=family.id, op="U", captured_at=utcnow(),
            status="quarantined", error_code="out_of_scope", error_message="out_of_scope",
            done_at=utcnow()))
        db.session.execute(SYNC_TABLES.log.insert().values(
            at=utcnow(), node_id=node_id, action="push", ok=False, code="sequence_gap",
            message="expected 5", detail={"pushed": 0}))
        db.session.commit()
    return extra


def _crawl(app: Flask) -> list[str]:
    from fieldapp.auth.operations import create_user
    from fieldapp.communities.models import Community

    english = english_values()
    with app.app_context():
        community = db.session.execute(
            select(Community.code).order_by(Community.code).limit(1)).scalar_one()
    ids = _sample_ids(app)
    for name, more in _add_records(app).items():
        ids[name] = list(dict.fromkeys(more + ids.get(name, [])))
    from fieldapp.agreements.models import Agreement
    from fieldapp.dashboard.lists import LISTS

    with app.app_context():
        signed = db.session.execute(select(Agreement).where(
            Agreement.content_hash.is_not(None)).limit(1)).scalar_one()
        special = {("dashboard.list_view", "name"): list(LISTS),
                   ("verification.verify", "agreement_id"): [str(signed.id)],
                   ("verification.verify", "printed_hash"): [signed.content_hash]}
    failures: list[str] = []
    for n, role in enumerate(ROLES):
        client = app.test_client()
        if role != "anonymous":  # names are the user's own text: none of the keys
            auth = AuthActions(app, client)
            with app.app_context():
                create_user(f"crawler{n}", f"Rosa Crawl {n}", TEST_PASSWORD, role,
                            (community,) if role == "field_staff" else ())
                db.session.commit()
            auth.login(role, username=f"crawler{n}")
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if ("GET" not in rule.methods or rule.endpoint in SKIPPED_ENDPOINTS
                    or rule.rule.startswith(NOT_SCREENS)):
                continue
            variants = [{}]
            for name in rule._converters:
                values = (special.get((rule.endpoint, name)) or ids.get(name)
                          or (["1"] if name == "conflict_id" else ["x"]))
                variants = [{**v, name: value} for v in variants for value in values[:8]]
            for values in variants[:8]:
                url = _url(rule, values)
                response = client.get(url, headers={"Accept-Language": "es"})
                if response.status_code != 200 or response.mimetype != "text/html":
                    continue
                for found in findings(visible_text(response.get_data(as_text=True)), english):
                    failures.append(f"{role} {url}: {found}")
    return sorted(set(failures))


def test_the_visible_text_check_finds_what_it_should():
    text = visible_text('<p title="active">Estado: <b>activo</b> AM-K7Q-0001</p>'
                        "<script>var s = 'active';</script>")
    assert findings(text, {"active"}) == []
    text = visible_text('<td><code translate="no">no_clearing</code></td><br>'
                        '<td lang="en">active</td><td>active</td>')
    assert findings(text, {"active"}) == ["english 'active' in «active»"]
    bad = "active · no_expansion · 0191a0b2-0c1d-7e2f-8a3b-4c5d6e7f8091 · 2026-03-05T14:02:00"
    assert len(findings(bad, {"active"})) == 4


@pytest.mark.parametrize("role", ["field", "central"])
def test_every_screen_is_in_spanish(app_factory, role):
    app = app_factory(demo=True, ROLE=role)
    if role == "central":
        _open_conflicts(app)
    failures = _crawl(app)
    assert not failures, f"{len(failures)} findings:\n" + "\n".join(failures[:300])
