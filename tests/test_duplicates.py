"""Detection of families registered twice: the rule, blocking, and a property test."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.families.duplicates import (
    Neighbours,
    Registration,
    block_keys,
    compare,
    find_pairs,
    name_tokens,
    phonetic,
)

VILLAGE = uuid.uuid4()
NEAR = uuid.uuid4()
FAR = uuid.uuid4()
CENTRES = {VILLAGE: (-5.70, -77.50), NEAR: (-5.72, -77.51), FAR: (-5.95, -77.80)}


def _reg(given="María", surname="Huamán Tuanama", community=VILLAGE, **extra):
    return Registration(uuid.uuid4(), community, given, surname, **extra)


def _compare(a, b):
    return compare(a, b, Neighbours(CENTRES))


def test_names_are_normalised_without_particles():
    assert name_tokens("María", "de la Cruz  PEÑA") == ["maria", "cruz", "pena"]
    assert phonetic("vasquez") == phonetic("basques")
    assert phonetic("huaman") == phonetic("guaman")
    assert phonetic("cieza") == phonetic("sieza")


def test_the_same_dni_is_a_certain_duplicate_whatever_the_names():
    match = _compare(_reg(dni="45678912"), _reg("Rosa", "Quispe", FAR, dni="45678912"))
    assert match.certain
    assert match.score == 1.0


def test_swapped_surnames_and_accents_in_the_same_village_are_a_possible_duplicate():
    match = _compare(_reg(), _reg("MARIA", "Tuanama Huaman"))
    assert match is not None
    assert not match.certain
    assert 0.7 < match.score < 1.0
    assert "community" in match.reasons


def test_respelled_name_in_a_neighbouring_village_is_possible():
    match = _compare(_reg(), _reg("María", "Guamán Tuanama", NEAR))
    assert match is not None
    assert "neighbour" in match.reasons
    # Only the name ties them: a weak pair, listed apart (namesakes in the next village).
    assert match.weak
    tied = _compare(_reg(phone="942123456"), _reg("María", "Guamán Tuanama", NEAR,
                                                 phone="942 123 456"))
    assert not tied.weak
    assert not _compare(_reg(), _reg("Maria", "Tuanama Huaman")).weak  # same community


def test_far_village_needs_the_plot_or_the_phone():
    assert _compare(_reg(), _reg(community=FAR)) is None
    with_phone = _compare(_reg(phone="942 123 456"), _reg(community=FAR, phone="942123456"))
    assert with_phone is not None
    assert "phone" in with_phone.reasons
    with_plot = _compare(_reg(lat=-5.7, lon=-77.5), _reg(community=FAR, lat=-5.7005, lon=-77.5))
    assert with_plot is not None
    assert "plot" in with_plot.reasons


def test_different_people_are_not_proposed():
    assert _compare(_reg(), _reg("Juan", "Quispe Rojas")) is None
    # Siblings: both surnames, one village, another given name.
    assert _compare(_reg("Juan"), _reg("José")) is None
    assert _compare(_reg("F0"), _reg("F1")) is None
    assert _compare(_reg("Wilmer"), _reg("Wilmar")) is not None
    # Two DNIs are two people, even with one name.
    assert _compare(_reg(dni="45678912"), _reg(dni="45678913")) is None
    # One DNI missing: the name and the place decide.
    assert _compare(_reg(dni="45678912"), _reg()) is not None


def test_blocks_hold_swapped_and_respelled_names_together():
    assert block_keys(_reg()) & block_keys(_reg("Maria", "Tuanama Guaman"))
    assert block_keys(_reg()) & block_keys(_reg("Mari", "Huamán Tuanama"))


def test_find_pairs_ranks_and_skips_pairs_said_to_be_two_families():
    a, b = _reg(dni="45678912"), _reg("Rosa", "Quispe", FAR, dni="45678912")
    c, d = _reg("Juan", "Vásquez Díaz"), _reg("Juan", "Basques Diaz")
    pairs = find_pairs([a, b, c, d, _reg("Luis", "Rojas Torres")], Neighbours(CENTRES))
    assert [(m.a, m.b) for m in pairs][0] == (a.id, b.id)
    assert {frozenset((m.a, m.b)) for m in pairs} == {frozenset((a.id, b.id)),
                                                      frozenset((c.id, d.id))}
    assert find_pairs([c, d], Neighbours(CENTRES), ignored={frozenset((c.id, d.id))}) == []


_names = st.sampled_from(["Huamán", "Quispe", "Tuanama", "Vásquez", "Cieza", "Peña", "Rojas"])
_given = st.sampled_from(["María", "Juan", "Segundo", "Rosa", "Wilmer"])


@st.composite
def _registrations(draw):
    people = draw(st.lists(st.tuples(_given, _names, _names,
                                     st.integers(10_000_000, 99_999_999)),
                           min_size=2, max_size=25, unique_by=lambda p: p[3]))
    regs, pairs = [], set()
    for given_name, s1, s2, dni in people:
        first = Registration(uuid.uuid4(), draw(st.sampled_from([VILLAGE, NEAR, FAR])),
                             given_name, f"{s1} {s2}", str(dni))
        regs.append(first)
        if draw(st.booleans()):  # registered again elsewhere, with noise in everything else
            noisy = draw(st.sampled_from([given_name.upper(), "X", given_name[:-1]]))
            surname = draw(st.sampled_from([f"{s2} {s1}", f"de {s1}", "Otro Nombre"]))
            again = Registration(uuid.uuid4(), draw(st.sampled_from([VILLAGE, FAR])), noisy,
                                 surname, str(dni),
                                 lat=draw(st.none() | st.floats(-6, -5)), lon=-77.5)
            regs.append(again)
            pairs.add(frozenset((first.id, again.id)))
    return draw(st.permutations(regs)), pairs


@settings(max_examples=60, deadline=None)
@given(_registrations())
def test_every_pair_with_one_dni_is_found(case):
    regs, pairs = case
    found = {frozenset((m.a, m.b)) for m in find_pairs(regs, Neighbours(CENTRES)) if m.certain}
    assert found == pairs


def test_the_tablets_offline_rule_uses_the_same_particles():
    """The tablet's warning (families-offline.js) is a subset of this rule: same particles."""
    import json
    import re
    from pathlib import Path

    from fieldapp.families.duplicates import PARTICLES

    source = (Path(__file__).parent.parent / "static/js/families-offline.js").read_text()
    listed = re.search(r"var PARTICLES = (\[[^\]]*\]);", source)
    assert listed is not None
    assert set(json.loads(listed.group(1))) == PARTICLES
