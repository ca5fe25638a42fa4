"""Finding a family registered twice: by DNI (certain) and by name, place, plot and phone
(possible, with a score).

Families are registered offline on several nodes, by several promotores, and people spell
their names in more than one way, swap their two surnames or have no DNI. One rule decides
what is a duplicate, used wherever a family is created (the form, central after a push) and by
the coordinators' review screen:

- the same DNI on two live families is a *certain* duplicate (score 1);
- otherwise two families are a *possible* duplicate when their normalised names (accents,
  case, particles such as "de", "del", "la" left out, surnames in either order) are similar
  (rapidfuzz's token-sort ratio ≥ :data:`NAME_THRESHOLD`, the first given names alike:
  siblings share both surnames) and they are in the same or a
  neighbouring community (centres within :data:`NEIGHBOUR_KM`), or their plots are within
  :data:`PLOT_METRES`, or they share the household head's phone. Two different DNIs rule a
  pair out (a DNI is an official identity; a DNI typed wrong is corrected on the family's page).
- a possible pair whose only evidence is a similar name in a *neighbouring* community (no
  plot, no phone) is *weak* (:attr:`Match.weak`): namesakes and relatives in the next village
  look just like this, so the review lists such pairs apart, after the likely ones, and the
  precision the program relies on is that of the likely pairs (``benchmarks/duplicates.py``).

The whole register is compared in *blocks* (families sharing a phonetic key of given name and
a surname, or of both surnames, or a DNI): only families of one block are compared, so ten
times the program (10,330 families) is scanned in about a second, not in 53 million pairs.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from fieldapp.families.models import normalize

#: Words that are not a surname of their own ("de la Cruz" is filed under "cruz"). The tablet's
#: offline warning (static/js/families-offline.js) applies a subset of this module's rule with
#: the same list (tests/test_duplicates.py holds them equal): the same DNI, or the same
#: normalised name in the same community.
PARTICLES = frozenset({"de", "del", "la", "las", "los", "el", "y", "da", "do", "dos", "van",
                       "von", "san"})
#: The least token-sort similarity (0-100) of two names for a possible duplicate.
NAME_THRESHOLD = 85.0
#: The least similarity (0-100) of two first given names (``Wilmer``/``Wilmar``: 83).
GIVEN_THRESHOLD = 80.0
#: Plots closer than this (metres) are the same plot.
PLOT_METRES = 200.0
#: Communities whose centres are closer than this (km) are neighbours.
NEIGHBOUR_KM = 5.0


@dataclass(frozen=True)
class Registration:
    """What detection compares of one family (a database row or a form's values)."""

    id: uuid.UUID | None
    community_id: Any
    given: str
    surname: str
    dni: str | None = None
    phone: str | None = None
    lat: float | None = None
    lon: float | None = None

    @property
    def tokens(self) -> list[str]:
        return name_tokens(self.given, self.surname)


@dataclass(frozen=True)
class Match:
    """A pair of registrations that may be one family; ``certain`` when they share a DNI."""

    a: Any
    b: Any
    score: float
    certain: bool
    reasons: tuple[str, ...]

    @property
    def weak(self) -> bool:
        """Only a similar name in a neighbouring community ties the two (see the module)."""
        return not self.certain and set(self.reasons) <= {"name", "neighbour"}


def name_tokens(given: str | None, surname: str | None) -> list[str]:
    """The words of a name, normalised, without particles: ``"María", "de la Cruz Peña"`` →
    ``["maria", "cruz", "pena"]``."""
    words = re.split(r"[^a-z0-9]+", normalize(f"{given or ''} {surname or ''}"))
    return [w for w in words if w and w not in PARTICLES]


def surname_tokens(surname: str | None) -> list[str]:
    """The surnames of a name, normalised, without particles."""
    return name_tokens("", surname)


_PHONETIC_RULES = (
    (re.compile(r"(gu|hu|w)(?=[aeiou])"), "w"),  # Huamán, Guamán, Wamán
    (re.compile(r"qu(?=[ei])"), "k"),
    (re.compile(r"c(?=[ei])"), "s"),
    (re.compile(r"g(?=[ei])"), "j"),
    (re.compile(r"[ck]"), "k"),
    (re.compile(r"q"), "k"),
    (re.compile(r"z"), "s"),
    (re.compile(r"v"), "b"),
    (re.compile(r"ll"), "y"),
    (re.compile(r"x"), "ks"),
    (re.compile(r"h"), ""),
    (re.compile(r"(.)\1+"), r"\1"),
)


def phonetic(word: str, length: int = 6) -> str:
    """A Spanish sound key of a normalised word, for blocking: the spellings a promotor may
    hear alike (``vasquez``/``basques``, ``huaman``/``guaman``, ``cieza``/``sieza``) get one
    key."""
    for pattern, replacement in _PHONETIC_RULES:
        word = pattern.sub(replacement, word)
    return word[:length]


def block_keys(reg: Registration) -> set[str]:
    """The blocks a registration falls in: its DNI, its given name with each surname, and its
    two surnames together (in either order)."""
    keys = {f"d:{reg.dni}"} if reg.dni else set()
    surnames = [phonetic(t) for t in surname_tokens(reg.surname)]
    given = [phonetic(t) for t in name_tokens(reg.given, "")]
    if given:
        keys.update(f"g:{given[0]}:{s}" for s in surnames)
    if len(surnames) >= 2:
        keys.add("s:" + ":".join(sorted(surnames[:2])))
    elif surnames and not given:
        keys.add(f"s:{surnames[0]}")
    return keys


def metres_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(h)))


def _digits(phone: str | None) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-9:] if len(digits) >= 6 else None


def _dnis_differ(a: str | None, b: str | None) -> bool:
    """Two DNIs, so two people."""
    return bool(a and b and a != b)


class Neighbours:
    """Which communities are neighbours: the same one, or centres within ``NEIGHBOUR_KM``."""

    def __init__(self, centres: dict[Any, tuple[float | None, float | None]]) -> None:
        self.centres = centres
        self.known: dict[tuple[Any, Any], bool] = {}

    def __call__(self, a: Any, b: Any) -> bool:
        if a == b:
            return True
        key = (a, b) if str(a) < str(b) else (b, a)
        found = self.known.get(key)
        if found is None:
            ca, cb = self.centres.get(a), self.centres.get(b)
            found = bool(ca and cb and None not in (*ca, *cb)
                         and metres_between(*ca, *cb) <= NEIGHBOUR_KM * 1000)
            self.known[key] = found
        return found


def compare(a: Registration, b: Registration, neighbours: Neighbours) -> Match | None:
    """Whether ``a`` and ``b`` may be one family, and how likely (see the module's rule)."""
    if a.dni and a.dni == b.dni:
        return Match(a.id, b.id, 1.0, True, ("dni",))
    if _dnis_differ(a.dni, b.dni):
        return None
    reasons: list[str] = []
    place = 0.0
    if a.community_id == b.community_id:
        place, reasons = 1.0, ["community"]
    elif neighbours(a.community_id, b.community_id):
        place, reasons = 0.5, ["neighbour"]
    near = (None not in (a.lat, a.lon, b.lat, b.lon)
            and metres_between(a.lat, a.lon, b.lat, b.lon) <= PLOT_METRES)  # type: ignore[arg-type]
    if near:
        reasons.append("plot")
    phone_a = _digits(a.phone)
    same_phone = phone_a is not None and phone_a == _digits(b.phone)
    if same_phone:
        reasons.append("phone")
    if not reasons:
        return None
    if not _same_given_name(a.given, b.given):
        return None
    similarity = name_similarity(a.tokens, b.tokens)
    if similarity < NAME_THRESHOLD:
        return None
    score = (0.6 * similarity / 100 + 0.15 * place + 0.15 * near + 0.15 * same_phone
             + 0.05 * bool(a.dni and b.dni))
    return Match(a.id, b.id, round(min(score, 0.99), 3), False, ("name", *reasons))


def _same_given_name(a: str, b: str) -> bool:
    """Whether two heads of household's first given names may be one name (brothers and
    sisters share both surnames and often a village: ``Juan`` and ``José Huamán Tuanama`` are
    two families)."""
    first_a, first_b = name_tokens(a, "")[:1], name_tokens(b, "")[:1]
    if not first_a or not first_b:
        return True
    x, y = first_a[0], first_b[0]
    return (x == y or phonetic(x, 20) == phonetic(y, 20)
            or fuzz.ratio(x, y) >= GIVEN_THRESHOLD)


def name_similarity(a: list[str], b: list[str]) -> float:
    """How alike two names are (0-100), in either word order: as written, and as they sound
    (``Vásquez``/``Basques`` sort apart as written but alike as sounds)."""
    written = fuzz.token_sort_ratio(" ".join(a), " ".join(b))
    if written >= NAME_THRESHOLD:
        return written
    sounds = fuzz.token_sort_ratio(" ".join(phonetic(w, 20) for w in a),
                                   " ".join(phonetic(w, 20) for w in b))
    return max(written, sounds)


def find_pairs(registrations: Iterable[Registration], neighbours: Neighbours,
               ignored: set[frozenset] | None = None) -> list[Match]:
    """Every pair of the register that may be one family, best score first.

    :param ignored: pairs (``frozenset({id, id})``) a coordinator said are two families.
    """
    regs = list(registrations)
    blocks: dict[str, list[int]] = {}
    for n, reg in enumerate(regs):
        for key in block_keys(reg):
            blocks.setdefault(key, []).append(n)
    seen: set[tuple[int, int]] = set()
    found: list[Match] = []
    ignored = ignored or set()
    for members in blocks.values():
        for i, j in _pairs(members):
            if (i, j) in seen:
                continue
            seen.add((i, j))
            a, b = regs[i], regs[j]
            if ignored and frozenset((a.id, b.id)) in ignored:
                continue
            match = compare(a, b, neighbours)
            if match is not None:
                found.append(match)
    found.sort(key=lambda m: (-m.score, str(m.a), str(m.b)))
    return found


def matches_for(new: Registration, others: Iterable[Registration],
                neighbours: Neighbours) -> list[Match]:
    """The registrations ``new`` may double, best first (the form's check)."""
    keys = block_keys(new)
    found = [m for other in others if other.id != new.id and keys & block_keys(other)
             for m in [compare(new, other, neighbours)] if m is not None]
    return sorted(found, key=lambda m: -m.score)


def _pairs(members: list[int]) -> Iterator[tuple[int, int]]:
    for x in range(len(members)):
        for y in range(x + 1, len(members)):
            yield members[x], members[y]
