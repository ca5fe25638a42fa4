"""Node codes are printed on public verification pages and donors' PDFs: drawn codes never spell
a word (no vowels), and an admin may choose the code, checked (length, alphabet, not taken)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from cyclekit import login
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.extensions import db
from fieldapp.instance import CODE_ALPHABET, new_node_code

#: What makes a code readable as a word: vowels, Y, and the digits read as E and A.
WORDY = set("AEIOUY34")


@pytest.fixture
def central(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory(ROLE="central")


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=2, max_value=8))
def test_drawn_node_codes_never_contain_a_vowel(length: int) -> None:
    for _ in range(50):
        code = new_node_code(length)
        assert len(code) == length
        assert not WORDY & set(code), code
    assert not WORDY & set(CODE_ALPHABET)


def test_the_register_form_proposes_a_free_vowel_free_code(central: Flask) -> None:
    admin = login(central, "admin")
    for _ in range(20):
        page = admin.get("/nodes/new").get_data(as_text=True)
        proposed = re.search(r'name="code"[^>]*value="([A-Z0-9]+)"', page).group(1)
        assert not WORDY & set(proposed)
    assert "sin vocales" in page


def test_an_admin_chooses_the_code_and_it_is_checked(central: Flask) -> None:
    admin = login(central, "admin")
    data = {"name": "Nodo Aguas Verdes", "all_communities": "y"}
    refused = admin.post("/nodes/new", data={**data, "code": "gay"})
    assert refused.status_code == 422
    assert "No se permite en un código de nodo: A Y" in refused.get_data(as_text=True)
    assert admin.post("/nodes/new", data={**data, "code": "G4Y"}).status_code == 422
    assert admin.post("/nodes/new", data={**data, "code": "X"}).status_code == 422
    chosen = admin.post("/nodes/new", data={**data, "code": "mx7"})
    assert chosen.status_code == 200
    assert re.search(r'id="enrolment-code">MX7-[A-Z0-9]{4}-[A-Z0-9]{4}<',
                     chosen.get_data(as_text=True))
    taken = admin.post("/nodes/new", data={**data, "code": "MX7"})
    assert taken.status_code == 422
    assert "Otro nodo ya tiene este código" in taken.get_data(as_text=True)
    # Central's own code (TST in the tests) is not given to a node either.
    assert admin.post("/nodes/new", data={**data, "code": "TST"}).status_code == 422


def test_the_command_line_takes_a_chosen_code_or_draws_one(central: Flask) -> None:
    runner = central.test_cli_runner()
    bad = runner.invoke(args=["node", "register", "Nodo Soritor", "--code", "PEDO",
                              "--all-communities"])
    assert bad.exit_code != 0
    assert "registered node" not in bad.output
    assert "A Y" not in bad.output
    assert "E O" in bad.output  # says which characters are not allowed
    good = runner.invoke(args=["node", "register", "Nodo Soritor", "--code", "RQ9",
                               "--all-communities"])
    assert good.exit_code == 0, good.output
    assert "registered node RQ9" in good.output
    drawn = runner.invoke(args=["node", "register", "Nodo Jepelacio", "--all-communities"])
    assert drawn.exit_code == 0, drawn.output
    code = re.search(r"registered node ([A-Z0-9]+)", drawn.output).group(1)
    assert not WORDY & set(code)


def test_codes_issued_before_stay_valid(central: Flask) -> None:
    from fieldapp.nodes.models import Node
    from fieldapp.nodes.operations import register_node

    with central.test_request_context():
        node, enrol_code = register_node("Nodo antiguo", "AGV", (), True, issued_code=True)
        db.session.commit()
        assert enrol_code.startswith("AGV-")
        assert db.session.get(Node, node.id).code == "AGV"


def test_an_installation_chooses_its_own_code(central: Flask) -> None:
    """A central that drew a word long ago gets a code of the admin's choice."""
    import json
    from pathlib import Path

    runner = central.test_cli_runner()
    refused = runner.invoke(args=["node", "set-code", "GAY"])
    assert refused.exit_code != 0
    assert "A Y" in refused.output
    done = runner.invoke(args=["node", "set-code", "hq7"])
    assert done.exit_code == 0, done.output
    identity = json.loads((Path(central.instance_path) / "node.json").read_text())
    assert identity["node_code"] == "HQ7"
