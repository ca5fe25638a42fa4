"""Duplicate detection over a whole register with labelled, planted duplicates.

    python benchmarks/duplicates.py --scale 10 --json

Builds a register in memory the way the demo draws it (``fieldapp.demo``'s names, communities
and plots: 1,033 families × scale), registers 3 % of the families a second time with the
field's noise (``fieldapp.demo.duplicates.noisy_copy``: respelled names, swapped surnames, no
DNI, a neighbouring village), then times ``find_pairs`` over all of it and scores the pairs it
proposes against the planted ones: the likely pairs (what the review proposes), and with the
weak pairs (only a similar name in a neighbouring community, listed apart). Budget: ≤ 10 s at
scale 10; recall ≥ 0.95 at precision ≥ 0.9. The last line (``--json``): pairs found,
precision, recall, seconds.
"""

from __future__ import annotations

import random
import time
import uuid

from _harness import parser, report

from fieldapp.demo import names
from fieldapp.demo.duplicates import neighbours_of, noisy_copy
from fieldapp.families.duplicates import NEIGHBOUR_KM, Neighbours, Registration, find_pairs


def register(scale: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Communities and families drawn as the demo generator draws them."""
    rng = random.Random(seed)
    communities = [{"id": uuid.uuid4(), "lat": round(-5.72 + rng.uniform(-0.2, 0.2), 5),
                    "lon": round(-77.55 + rng.uniform(-0.25, 0.25), 5)}
                   for _ in range(max(1, round(25 * scale)))]
    weights = [rng.uniform(0.5, 1.7) for _ in communities]
    families, used = [], set()
    for _ in range(max(1, round(1033 * scale))):
        community = rng.choices(communities, weights)[0]
        female = rng.random() < 0.35
        dni = None
        if rng.random() < 0.9:
            dni = f"{rng.randint(10_000_000, 79_999_999)}"
            while dni in used:
                dni = f"{rng.randint(10_000_000, 79_999_999)}"
            used.add(dni)
        families.append({
            "id": uuid.uuid4(), "community_id": community["id"],
            "head_given_names": rng.choice(names.GIVEN_FEMALE if female else names.GIVEN_MALE),
            "head_surname": f"{rng.choice(names.SURNAMES)} {rng.choice(names.SURNAMES)}",
            "dni": dni, "members_count": rng.randint(1, 9),
            "phone": f"9{rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.7 else None,
            "lat": round(community["lat"] + rng.uniform(-0.03, 0.03), 6),
            "lon": round(community["lon"] + rng.uniform(-0.03, 0.03), 6),
        })
    return communities, families


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    communities, families = register(args.scale, args.seed)
    rng = random.Random(args.seed + 1)
    by_id = {c["id"]: c for c in communities}
    planted = set()
    for original in rng.sample(families, max(1, round(0.03 * len(families)))):
        near = neighbours_of(by_id[original["community_id"]], communities, NEIGHBOUR_KM)
        copy = noisy_copy(original, rng, near) | {"id": uuid.uuid4()}
        families.append(copy)
        planted.add(frozenset((original["id"], copy["id"])))
    regs = [Registration(f["id"], f["community_id"], f["head_given_names"], f["head_surname"],
                         f["dni"], f["phone"], f["lat"], f["lon"]) for f in families]
    neighbours = Neighbours({c["id"]: (c["lat"], c["lon"]) for c in communities})
    started = time.perf_counter()
    pairs = find_pairs(regs, neighbours)
    seconds = time.perf_counter() - started
    found = {frozenset((m.a, m.b)) for m in pairs if not m.weak}
    weak = {frozenset((m.a, m.b)) for m in pairs if m.weak}
    right = len(found & planted)
    every = found | weak
    figures = {
        "scale": args.scale,
        "families": len(regs),
        "planted": len(planted),
        # The likely pairs: what the review screen proposes (weak pairs are listed apart).
        "pairs_found": len(found),
        "precision": round(right / len(found), 3) if found else 1.0,
        "recall": round(right / len(planted), 3) if planted else 1.0,
        # With the weak pairs (only a similar name in a neighbouring community) too.
        "weak_pairs": len(weak),
        "precision_with_weak": round(len(every & planted) / len(every), 3) if every else 1.0,
        "recall_with_weak": round(len(every & planted) / len(planted), 3) if planted else 1.0,
        "seconds": round(seconds, 3),
    }
    report("Duplicate detection", {}, figures, args.json)


if __name__ == "__main__":
    main()
