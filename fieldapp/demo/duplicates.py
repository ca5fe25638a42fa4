"""Families registered twice, as they happen in the field: respelled names, swapped surnames,
no DNI the second time, a neighbouring village. ``fieldapp demo`` plants a few dozen so the
coordinators' review has work in it; ``benchmarks/duplicates.py`` plants them (labelled) to
measure detection. One implementation of the noise for both."""

from __future__ import annotations

import math
import random
from typing import Any

from sqlalchemy import select

from fieldapp.families.duplicates import metres_between

#: Spellings a promotor may write for one sound (each way round).
_RESPELLINGS = (("v", "b"), ("b", "v"), ("z", "s"), ("s", "z"), ("ll", "y"), ("hua", "gua"),
                ("gua", "hua"), ("ce", "se"), ("ci", "si"), ("á", "a"), ("é", "e"), ("í", "i"),
                ("ó", "o"), ("ú", "u"), ("ñ", "n"), ("que", "ke"), ("qui", "ki"))
#: How many duplicates the demo plants at scale 1 (proportionally at other scales).
DEMO_DUPLICATES = 36


def respell(text: str, rng: random.Random) -> str:
    """``text`` with one plausible change of spelling (or its accents dropped, or upper case)."""
    options = [(a, b) for a, b in _RESPELLINGS if a in text.lower()]
    if not options:
        return text.upper() if rng.random() < 0.5 else text.lower()
    a, b = rng.choice(options)
    lower = text.lower()
    at = lower.index(a)
    changed = lower[:at] + b + lower[at + len(a):]
    return " ".join(w.capitalize() for w in changed.split())


def noisy_copy(row: dict[str, Any], rng: random.Random,
               neighbours: list[dict[str, Any]]) -> dict[str, Any]:
    """The values of ``row`` (a family) as a second promotor may have registered it.

    :param neighbours: communities (``id``, ``lat``, ``lon``) it may have moved to; when it
        moves, the phone or the plot's position stays (what ties the two records).
    """
    copy = dict(row)
    surnames = row["head_surname"].split()
    kind = rng.random()
    if kind < 0.35 and len(surnames) >= 2:
        surnames = [surnames[1], surnames[0], *surnames[2:]]
    elif kind < 0.7 and surnames:
        n = rng.randrange(len(surnames))
        surnames[n] = respell(surnames[n], rng)
    else:
        copy["head_given_names"] = respell(row["head_given_names"], rng)
    copy["head_surname"] = " ".join(surnames)
    if rng.random() < 0.8:
        copy["dni"] = None  # no DNI at hand the second time
    if copy.get("lat") is not None and rng.random() < 0.7:
        copy["lat"] = round(row["lat"] + rng.uniform(-0.0008, 0.0008), 6)  # ~90 m
        copy["lon"] = round(row["lon"] + rng.uniform(-0.0008, 0.0008), 6)
    else:
        copy["lat"] = copy["lon"] = None
    if neighbours and rng.random() < 0.25:  # registered again in a neighbouring village
        copy["community_id"] = rng.choice(neighbours)["id"]
        if copy["lat"] is None and not copy.get("phone"):
            copy["phone"] = f"9{rng.randint(10_000_000, 99_999_999)}"
            row["phone"] = copy["phone"]  # the phone both records carry
    copy["members_count"] = max(1, min(50, row.get("members_count", 1) + rng.choice((-1, 0, 1))))
    return copy


def neighbours_of(community: dict[str, Any], communities: list[dict[str, Any]],
                  km: float) -> list[dict[str, Any]]:
    """The other communities whose centre is within ``km`` of this one's."""
    if community.get("lat") is None:
        return []
    return [c for c in communities if c["id"] != community["id"] and c.get("lat") is not None
            and metres_between(community["lat"], community["lon"], c["lat"], c["lon"])
            <= km * 1000]


def plant_duplicates(scale: float, seed: int) -> int:
    """Register a few dozen demo families a second time, with field noise (no commit).

    Returns how many were planted (``DEMO_DUPLICATES`` at scale 1, proportionally: none below
    a scale of 1/36).
    """
    from fieldapp.codes import next_code
    from fieldapp.communities.models import Community
    from fieldapp.extensions import db
    from fieldapp.families.duplicates import NEIGHBOUR_KM
    from fieldapp.families.models import Family

    rng = random.Random(seed + 24)
    n = math.floor(DEMO_DUPLICATES * scale)
    communities = [dict(r._mapping) for r in db.session.execute(
        select(Community.id, Community.lat, Community.lon))]
    by_id = {c["id"]: c for c in communities}
    families = list(db.session.execute(select(Family).where(
        Family.voided.is_(False), Family.merged_into_id.is_(None))
        .order_by(Family.code)).scalars())
    columns = ("community_id", "head_given_names", "head_surname", "dni", "members_count",
               "phone", "lat", "lon", "plot_name", "plot_ha", "forest_ha", "coffee_ha",
               "data_consent", "consent_at")
    for family in rng.sample(families, min(n, len(families))):
        row = {c: getattr(family, c) for c in columns}
        near = neighbours_of(by_id[family.community_id], communities, NEIGHBOUR_KM)
        copy = noisy_copy(row, rng, near)
        family.phone = row["phone"]
        db.session.add(Family(code=next_code(), **copy))
    db.session.flush()
    return min(n, len(families))
