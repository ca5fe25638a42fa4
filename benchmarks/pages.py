"""Pages and actions through a real server on the demo program.

    python benchmarks/pages.py --scale 10 --json

Times (p50/p95) the family list, search and page, creating a family, and the agreement cycle
(recording a delivery, saving attendance for 60 families, saving a visit, an agreement page with
its history; see ``_cycle.py``), over HTTP with
keep-alive against the app in its own process on SQLite; reports the demo generation time and
the server's peak memory. The last line (``--json``) has ``*_p95_ms`` keys, ``peak_rss_mb`` and,
per row, ``*_cpu_ms``: the server process's CPU time per request, which a machine busy with
other work inflates much less than wall time.
"""

from __future__ import annotations

import random
import sqlite3
import uuid

from _cycle import cpu_figures, cycle_rows, server_cpu_s
from _harness import (
    cleanup,
    csrf_token,
    login,
    make_demo_instance,
    parser,
    peak_rss_mb,
    report,
    timed,
)

from testing.servers import AppProcess


def sample_families(instance, n: int, seed: int) -> list[dict]:
    conn = sqlite3.connect(instance / "fieldapp.sqlite")
    rows = conn.execute(
        "SELECT id, code, head_surname, dni, community_id FROM families ORDER BY code"
    ).fetchall()
    conn.close()
    rng = random.Random(seed)
    picked = rng.sample(rows, min(n, len(rows)))

    def as_uuid(value):  # SQLite stores Uuid as 32 hex characters
        return str(uuid.UUID(hex=value))

    return [{"id": as_uuid(r[0]), "code": r[1], "surname": r[2].split()[0], "dni": r[3],
             "community_id": as_uuid(r[4])} for r in picked]


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    runs = 200
    instance, demo_s = make_demo_instance(args.scale, args.seed)
    families = sample_families(instance, runs + 2, args.seed)
    try:
        with AppProcess(instance, threaded=False) as served:
            base, pid = served.url, served.process.pid
            http = login(base, "promotor")
            pages = max(1, len(families) // 25)

            def family_list(i: int) -> None:
                http.get(f"{base}/families/", params={"page": (i % pages) + 1}).raise_for_status()

            def family_search(i: int) -> None:
                http.get(f"{base}/families/",
                         params={"q": families[i]["surname"]}).raise_for_status()

            def family_search_dni(i: int) -> None:
                fam = families[i]
                http.get(f"{base}/families/",
                         params={"q": fam["dni"] or fam["code"]}).raise_for_status()

            def family_page(i: int) -> None:
                http.get(f"{base}/families/{families[i]['id']}").raise_for_status()

            token = csrf_token(http.get(f"{base}/families/new").text)

            def family_create(i: int) -> None:
                response = http.post(f"{base}/families/new", allow_redirects=False, data={
                    "csrf_token": token, "idempotency_key": str(uuid.uuid4()),
                    "community_id": families[i]["community_id"], "head_given_names": "Bench",
                    # A surname of its own: each is a new family, checked (not confirmed) as
                    # a possible duplicate of the community's families.
                    "head_surname": f"Marca {uuid.uuid4().hex}", "members_count": "3",
                })
                assert response.status_code == 302, response.status_code

            def timed_cpu(fn, n: int) -> dict:
                """``timed`` plus the server's CPU time per request (see ``_cycle``)."""
                before = server_cpu_s(pid)
                row = timed(fn, n)
                row["cpu_ms"] = round((server_cpu_s(pid) - before) * 1000 / (n + 2), 2)
                return row

            rows = {
                "family_list": timed_cpu(family_list, runs),
                "family_search": timed_cpu(family_search, runs),
                "family_search_dni": timed_cpu(family_search_dni, runs),
                "family_page": timed_cpu(family_page, runs),
                "family_create": timed_cpu(family_create, runs // 2),
                **cycle_rows(base, http, instance, runs, args.seed, pid),
            }
            extra = {
                "scale": args.scale,
                "families": round(1033 * args.scale),
                "database": "sqlite",
                "demo_generate_s": round(demo_s, 2),
                "peak_rss_mb": round(peak_rss_mb(pid), 1),
                **cpu_figures(rows),
            }
        report(f"pages at scale {args.scale} (SQLite, one server process)", rows, extra, args.json)
    finally:
        cleanup(instance)


if __name__ == "__main__":
    main()
