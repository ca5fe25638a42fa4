"""Benchmark the read API and the register import on the demo program (central).

    python benchmarks/interop.py --scale 10 --json                        # PostgreSQL
    python benchmarks/interop.py --scale 10 --database sqlite --json

Builds the demo program at ``--scale`` on central (as :mod:`benchmarks.dashboard` does: a
PostgreSQL database with a random name, dropped afterwards, or a SQLite file; ``--reuse``
keeps it), then, in-process through the Werkzeug test client (server time, no network):

1. ``api_full_fetch_s``: every delivery through ``/api/v1/deliveries`` as JSON, in pages of
   ``--page`` rows (keyset pages, read to the end), with this process's CPU time
   (``api_full_fetch_cpu_s``: the rest is the database, or waiting for a core on a busy
   machine) and its peak memory growth (``api_peak_rss_mb``);
2. ``api_incremental_ms``: 1% of the families changed (their phone), then the incremental
   fetch of the deliveries since the full fetch (every delivery of those families again);
3. ``import_20k_s``: a register of ``--rows`` new families (20,000) in the families export's
   columns, imported in one transaction (judged, then registered, then committed), with its
   CPU time (``import_cpu_s``) and peak memory growth (``import_peak_rss_mb``).

The last line printed with ``--json`` is one JSON object with these figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from benchmarks.dashboard import make_app, reset_peak_rss, rss_mb  # noqa: E402


def _token(app: Any) -> str:
    from fieldapp.api.catalogue import API_DATASETS
    from fieldapp.api.operations import create_token
    from fieldapp.extensions import db

    with app.test_request_context():
        made = create_token("benchmark", sorted(API_DATASETS), [], True, 1, "benchmark")
        db.session.commit()
        return made.secret


def _fetch(client: Any, token: str, page: int, since: str | None = None
           ) -> tuple[int, int, str]:
    """(rows, deleted, since cursor) of a whole fetch of the deliveries."""
    headers = {"Authorization": f"Bearer {token}"}
    args: dict[str, Any] = {"limit": page}
    if since:
        args["since"] = since
    rows = deleted = 0
    while True:
        answer = client.get("/api/v1/deliveries", headers=headers, query_string=args)
        if answer.status_code != 200:
            raise RuntimeError(answer.get_data(as_text=True)[:300])
        body = orjson.loads(answer.get_data())  # the server's time: a client's own JSON
        # parsing (Power Query, R's jsonlite) is not fieldapp's; the stdlib's took 15% here
        rows += len(body["rows"])
        deleted += len(body.get("deleted", []))
        if not body["next"]:
            return rows, deleted, body["since"]
        args = {"limit": page, "cursor": body["next"]}


def _change_families(app: Any, share: float, seed: int) -> int:
    from sqlalchemy import select

    from fieldapp.extensions import db
    from fieldapp.families.models import Family

    with app.test_request_context():
        ids = list(db.session.execute(select(Family.id).where(Family.voided.is_(False)))
                   .scalars())
        chosen = random.Random(seed).sample(ids, max(1, int(len(ids) * share)))
        for n, family_id in enumerate(chosen):
            db.session.get(Family, family_id).phone = f"9{n:08d}"
        db.session.commit()
        return len(chosen)


def _register(app: Any, path: Path, rows: int, seed: int) -> None:
    """``rows`` new families in the families export's columns, in existing communities."""
    from sqlalchemy import select

    from fieldapp.communities.models import Community
    from fieldapp.extensions import db

    with app.app_context():
        communities = db.session.execute(select(Community.code, Community.name).where(
            Community.voided.is_(False))).all()
    rng = random.Random(seed)
    given = ["Ana", "Rosa", "Luz", "Eva", "José", "Juan", "Pedro", "Marta", "Elena", "Raúl"]
    surnames = ["Tuanama", "Huamán", "Vela", "Ríos", "Pérez", "Sangama", "Chuquizuta", "Oblitas"]
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["head_given_names", "head_surname", "community_code", "community_name",
                         "dni", "members_count", "plot_ha", "forest_ha", "coffee_ha",
                         "data_consent"])
        for n in range(rows):
            code, name = rng.choice(communities)
            writer.writerow([f"{rng.choice(given)} Imp{n}", f"{rng.choice(surnames)} X{n}",
                             code, name, f"{70_000_000 + n:08d}", rng.randint(1, 9),
                             "4.5", "2", "1.5", "true"])


def measure(app: Any, args: argparse.Namespace) -> dict[str, Any]:
    from fieldapp.extensions import db
    from fieldapp.imports.operations import import_families

    client = app.test_client()
    token = _token(app)
    tracked = reset_peak_rss()
    before = rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    rows, _deleted, since = _fetch(client, token, args.page)
    full_s, full_cpu = time.perf_counter() - started, time.process_time() - cpu
    fetch_peak = rss_mb("VmHWM") - before if tracked else None
    changed = _change_families(app, 0.01, args.seed)
    started = time.perf_counter()
    changed_rows, _deleted, _since = _fetch(client, token, args.page, since)
    incremental_ms = (time.perf_counter() - started) * 1000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "register.csv"
        _register(app, path, args.rows, args.seed)
        tracked = reset_peak_rss()
        before = rss_mb()
        started, cpu = time.perf_counter(), time.process_time()
        with app.test_request_context():
            _preview, done = import_families(path, None, set())
            db.session.commit()
        import_s, import_cpu = time.perf_counter() - started, time.process_time() - cpu
        import_peak = rss_mb("VmHWM") - before if tracked else None
    return {
        "database": args.database,
        "scale": args.scale,
        "api_deliveries": rows,
        "api_page": args.page,
        "api_full_fetch_s": round(full_s, 2),
        "api_full_fetch_cpu_s": round(full_cpu, 2),
        "api_peak_rss_mb": None if fetch_peak is None else round(fetch_peak, 1),
        "families_changed": changed,
        "api_incremental_rows": changed_rows,
        "api_incremental_ms": round(incremental_ms, 1),
        "import_rows": args.rows,
        "import_created": done["created"],
        "import_20k_s": round(import_s, 2),
        "import_cpu_s": round(import_cpu, 2),
        "import_peak_rss_mb": None if import_peak is None else round(import_peak, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 1,033 families")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--page", type=int, default=10_000, help="rows per API page")
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the imported register")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the generated database for the next run (and reuse it)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app, _database, cleanup = make_app(args, Path(tmp))
        try:
            result = measure(app, args)
        finally:
            from fieldapp.extensions import db

            with app.app_context():
                db.engine.dispose()
            if cleanup:
                cleanup()
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
