"""Spanish order in lists, exports and PDFs: Chávez before Chuquizuta, ñ after n."""

from __future__ import annotations

import re

import sqlalchemy as sa

from fieldapp.collation import detect_postgresql, spanish, spanish_key

SURNAMES = ["Oblitas", "Ñahui", "Chuquizuta", "Nuñez", "Chávez", "Nuñes", "álvarez", "Zapata"]
SPANISH_ORDER = ["álvarez", "Chávez", "Chuquizuta", "Nuñes", "Nuñez", "Ñahui", "Oblitas",
                 "Zapata"]


def test_the_key_sorts_the_spanish_way():
    assert sorted(SURNAMES, key=spanish_key) == SPANISH_ORDER


def test_the_families_list_is_in_spanish_order_on_sqlite(app, client, auth, make_community,
                                                          make_family):
    community = make_community()
    for surname in SURNAMES:
        make_family(head_surname=surname, community_id=community)
    auth.login("coordinator")
    page = client.get("/families/", query_string={"per_page": 100}).get_data(as_text=True)
    shown = [s for s in re.findall(r"[\wÁáÑñ]+", page) if s in SURNAMES]
    assert shown == SPANISH_ORDER


def test_postgresql_orders_with_its_icu_collation(pg_url):
    engine = sa.create_engine(pg_url)
    try:
        assert detect_postgresql(engine)  # the test server has ICU
        values = sa.values(sa.column("n", sa.String), name="names").data(
            [(s,) for s in SURNAMES])
        stmt = sa.select(values.c.n).order_by(spanish(values.c.n))
        assert "es-x-icu" in str(stmt.compile(engine))
        with engine.connect() as conn:
            assert list(conn.execute(stmt).scalars()) == SPANISH_ORDER
    finally:
        engine.dispose()
