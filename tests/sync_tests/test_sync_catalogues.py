"""Catalogue entries are identified by their code on every installation."""

from __future__ import annotations

import runpy
import shutil
import sqlite3
import uuid

from sqlalchemy import func, select
from synckit import Node, assert_converged, node_config

from fieldapp import create_app
from fieldapp.agreements.catalogue import BENEFITS, COMMITMENTS, seed_catalogues
from fieldapp.agreements.models import AgreementBenefit, BenefitType, CommitmentType
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.nodes.syncing import catalogue_id
from fieldapp.setup import MIGRATIONS_DIR


def _seed(node: Node) -> None:
    with node.app.app_context():
        seed_catalogues()
        db.session.commit()


def test_two_nodes_that_seed_their_own_catalogues_sync_without_a_clash(central, make_node):
    central.add_community("C1")
    a = make_node("AAA")
    b = make_node("BBB")
    _seed(a)
    _seed(b)
    assert a.rows(CommitmentType).keys() == b.rows(CommitmentType).keys()
    a.enrol(central, communities=("C1",))
    b.enrol(central, communities=("C1",))
    first, second = a.sync(), b.sync()
    assert first.ok
    assert second.ok
    assert first.rejected == second.rejected == 0
    assert central.count(CommitmentType) == len(COMMITMENTS)
    assert central.count(BenefitType) == len(BENEFITS)
    assert set(central.rows(BenefitType)) == {
        catalogue_id("benefit_types", code) for code, *_rest in BENEFITS}
    for node in (a, b):
        node.sync()
        assert node.status()["quarantined"] == 0
        assert_converged(central, node)


def test_an_entry_added_on_a_node_is_refused_the_catalogues_are_centrals(central, make_node):
    """The same code added on two nodes makes the same record, but the catalogues are central's:
    a node's new entry is quarantined (``central_catalogue``), on both nodes, and central adds
    none (it used to take the first node's entry)."""
    central.add_community("C1")
    a = make_node("AAA")
    b = make_node("BBB")
    ids = [node.add(CommitmentType, code="shade_trees", text_es="Sembrar árboles",
                    text_en="Plant trees", position=9) for node in (a, b)]
    assert ids[0] == ids[1] == catalogue_id("commitment_types", "shade_trees")
    for node in (a, b):
        node.enrol(central, communities=("C1",))
        report = node.sync()
        assert [r["code"] for r in report.rejections] == ["central_catalogue"]
    assert central.count(CommitmentType) == 0


def test_the_migration_gives_existing_entries_the_id_of_their_code(tmp_path, demo_db,
                                                                    central):
    """An installation seeded before 0007 (random ids, references, captured operations) is
    moved to the shared ids, and then pushes everything without a refusal."""
    instance = tmp_path / "old-node"
    instance.mkdir()
    shutil.copy(demo_db, instance / "fieldapp.sqlite")
    con = sqlite3.connect(instance / "fieldapp.sqlite")
    con.execute("PRAGMA foreign_keys = OFF")
    # Before 0010 the payloads were in the outbox itself.
    con.execute("ALTER TABLE sync_outbox ADD COLUMN payload TEXT")
    con.execute("UPDATE sync_outbox SET payload = (SELECT p.payload FROM sync_outbox_payloads p "
                "WHERE p.seq = sync_outbox.seq)")
    con.execute("DROP TABLE sync_outbox_payloads")
    # Before 0013: no session tokens, no recorded role.
    con.execute("ALTER TABLE users DROP COLUMN session_token")
    con.execute("DROP TABLE installation_facts")
    # Before 0023: no accounts from central, no reported local accounts.
    con.execute("ALTER TABLE users DROP COLUMN from_central")
    con.execute("ALTER TABLE nodes DROP COLUMN local_accounts")
    con.execute("ALTER TABLE nodes DROP COLUMN accounts_reported_at")
    # Before 0021: no attachments.
    con.execute("DROP TABLE attachments")
    con.execute("DROP TABLE media_on_central")
    con.execute("DROP TABLE media_requests")  # 0024
    # Before 0022: no plots, no alerts.
    for table in ("alert_checks", "alerts", "plot_boundaries", "plots"):
        con.execute(f"DROP TABLE {table}")
    # Before 0020: no API tokens. Before 0019: no grievances. Before 0018: no index of merges.
    # Before 0017: no "starts on signing" of drafts.
    con.execute("DROP TABLE api_tokens")
    con.execute("DROP TABLE grievance_steps")
    con.execute("DROP TABLE grievances")
    con.execute("DROP INDEX ix_families_merged_into_id")
    con.execute("ALTER TABLE agreements DROP COLUMN starts_on_signing")
    # Before 0016: no merges, no withdrawal details.
    for column in ("merged_into_id", "withdrawn_reason", "withdrawn_on"):
        con.execute(f"ALTER TABLE families DROP COLUMN {column}")
    con.execute("DROP TABLE family_distinct_pairs")
    # Before 0015: one unit text per benefit, no singular and plural forms.
    for column in ("unit_one_es", "unit_other_es", "unit_one_en", "unit_other_en"):
        con.execute(f"ALTER TABLE benefit_types DROP COLUMN {column}")
    moved: dict[str, str] = {}
    for (code,) in con.execute("SELECT code FROM benefit_types").fetchall():
        new = catalogue_id("benefit_types", code)
        old = uuid.uuid4()  # as seeded before: a random id
        moved[code] = str(old)
        con.execute("UPDATE benefit_types SET id = ? WHERE id = ?", (old.hex, new.hex))
        for table in ("benefit_deliveries", "agreement_benefits"):
            con.execute(f"UPDATE {table} SET benefit_type_id = ? "  # noqa: S608 - literal names
                        "WHERE benefit_type_id = ?", (old.hex, new.hex))
        con.execute("UPDATE sync_outbox SET payload = replace(payload, ?, ?), "
                    "row_id = CASE WHEN row_id = ? THEN ? ELSE row_id END",
                    (str(new), str(old), new.hex, old.hex))
    # The schema as 0006 left it: the later migrations run again on start-up, and the indexes
    # they drop must be there, those they create must not.
    for path in sorted(MIGRATIONS_DIR.glob("versions/*.py")):
        if path.name > "0007":
            later = runpy.run_path(str(path))
            for name, table, columns in later.get("DROPPED", ()):
                con.execute(f"CREATE INDEX {name} ON {table} ({', '.join(columns)})")
            for name, _table in later.get("CREATED", ()):
                con.execute(f"DROP INDEX {name}")
    con.execute("UPDATE alembic_version SET version_num = '0006_pages_speed'")
    con.commit()
    con.close()

    # The demo's node (central takes new records only from the node they name).
    app = create_app(node_config(instance, "TST", ROLE="field", AUTO_MIGRATE=True))
    node = Node(app, "TST")
    with app.app_context():
        types = db.session.execute(select(BenefitType.code, BenefitType.id)).all()
        assert {code: row_id for code, row_id in types} == {
            code: catalogue_id("benefit_types", code) for code in moved}
        for model in (Delivery, AgreementBenefit):
            assert db.session.scalar(select(func.count()).select_from(model).where(
                model.benefit_type_id.not_in([i for _c, i in types]))) == 0
        assert db.session.execute(db.text("PRAGMA foreign_key_check")).all() == []
        payloads = db.session.execute(
            db.text("SELECT payload FROM sync_outbox_payloads")).scalars()
        text = "\n".join(payloads)
        assert not any(old in text for old in moved.values())
        db.session.rollback()
    node.enrol(central, all_communities=True)
    report = node.sync()
    assert report.ok
    assert report.rejected == 0
    assert central.count(Delivery) == node.count(Delivery) > 0
    with app.app_context():
        db.engine.dispose()
