"""Central's side of an initial push, page after page in one process: where its time goes.

    python benchmarks/push_replay.py --scale 1 [--runs 3] [--postgresql] [--json]

The push pages of the demo program's field node (every record in its outbox, encoded and
gzipped as the node sends them over a fast link, where its pages grow) are posted one after the
other to a new central on SQLite (or, with ``--postgresql``, in a new database of the local
server, dropped afterwards), holding the dashboard's triggers as a central does once its
dashboard has been opened, through Flask's test client: no network, no other process, no page
in flight beside the one applied. It reports central's CPU seconds for the whole push, split
into the part before the node's lock (reading, checking and converting a page: in a real push
another worker does it while the page before is applied) and the part under the lock (one page
at a time: the push's critical path), with the main steps under the lock. On a busy or unsteady
machine these figures move far less than ``benchmarks/sync.py``'s wall times, which add both
processes' contention for the cores.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._harness import (  # noqa: E402
    PG_ADMIN,
    app_config,
    field_node_database,
    install_dashboard_triggers,
    parser,
)

#: The steps timed under the node's lock: (module or class, attribute, label).
STEPS = (
    ("sync.registry:Registry", "communities_of_rows", "placement"),
    ("sync.central.apply:Applier", "_existing", "existing"),
    ("sync.central.apply:Applier", "_join_set_members", "set_members"),
    ("sync.central.apply:Applier", "_insert_bisect", "inserts"),
    ("sync.central.apply:Applier", "_flag_inserted", "flags"),
    ("sync.central.apply:Applier", "record_inserted", "record"),
    ("sync.central.server", "append_changes", "change_log"),
)


def _target(path: str) -> Any:
    import importlib

    module, _, cls = path.partition(":")
    found = importlib.import_module(module)
    return getattr(found, cls) if cls else found


@contextmanager
def timers(clock: dict[str, float]) -> Iterator[None]:
    """CPU seconds of the push's phases and steps, added up in ``clock`` while active."""
    from sync.central import server

    patched: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, before: Callable[[], None] | None, label: str | None) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            if before is not None:
                before()
            started = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                if label is not None:
                    clock[label] = clock.get(label, 0.0) + time.process_time() - started

        patched.append((owner, name, original))
        setattr(owner, name, timed)

    marks: dict[str, float] = {}

    def page_read() -> None:
        marks["read"] = time.process_time()

    def lock_asked() -> None:
        now = time.process_time()
        clock["before_lock"] = clock.get("before_lock", 0.0) + now - marks.pop("read", now)
        marks["locked"] = now

    def answered() -> None:
        if "locked" in marks:
            now = time.process_time()
            clock["under_lock"] = clock.get("under_lock", 0.0) + now - marks.pop("locked")

    wrap(server, "read_body", page_read, None)
    wrap(server, "_lock_node", lock_asked, None)
    wrap(server, "respond", answered, None)
    for owner, name, label in STEPS:
        wrap(_target(owner), name, None, label)
    try:
        yield
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def push_pages(source: Path, work: Path) -> list[tuple[bytes, dict[str, str]]]:
    """Every push page of the field node in ``source``, as the node sends them."""
    from fieldapp import create_app
    from fieldapp.extensions import db
    from sync.node import local
    from sync.node.transport import encode_body

    node_dir = work / "node"
    node_dir.mkdir()
    shutil.copy(source, node_dir / "fieldapp.sqlite")
    node = create_app(app_config(node_dir, "BEN", ROLE="field", AUTO_MIGRATE=False))
    pages = []
    with node.app_context():
        state = node.extensions["sync"]
        after = 0
        # Sizes as the node reads them on a fast link (sync.node.client.NodeSync._grow_pages): three
        # pages at the configured size (two sent, one read ahead before the first answer), then
        # twice as large after each answer, up to SYNC_PUSH_PAGE_GROWTH times.
        scale, growth = 1, max(1, int(state.config("SYNC_PUSH_PAGE_GROWTH")))
        while lines := local.outbox_page(state, int(state.config("SYNC_PUSH_PAGE_OPS")) * scale,
                                         int(state.config("SYNC_PUSH_PAGE_BYTES")) * scale,
                                         after=after):
            pages.append(encode_body(b"\n".join(lines), "application/x-ndjson"))
            after = json.loads(lines[-1])["s"]
            if len(pages) >= 3:
                scale = min(scale * 2, growth)
        db.engine.dispose()
    return pages


@contextmanager
def central_database(central_dir: Path, postgresql: bool) -> Iterator[str]:
    """The URL of a new, empty database for central (on PostgreSQL, dropped afterwards)."""
    if not postgresql:
        yield f"sqlite:///{central_dir / 'fieldapp.sqlite'}"
        return
    import psycopg

    name = f"fieldapp_replay_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def replay(pages: list[tuple[bytes, dict[str, str]]], work: Path, run: int,
           postgresql: bool = False) -> dict[str, float]:
    """Post ``pages`` in order to a new central; its CPU seconds by phase and step."""
    central_dir = work / f"central-{run}"
    central_dir.mkdir()
    with central_database(central_dir, postgresql) as url:
        clock = _replay(pages, central_dir, url)
    shutil.rmtree(central_dir, ignore_errors=True)
    return clock


def _replay(pages: list[tuple[bytes, dict[str, str]]], central_dir: Path, url: str
            ) -> dict[str, float]:
    from fieldapp import create_app
    from fieldapp.extensions import db
    from fieldapp.nodes.operations import register_node

    central = create_app(app_config(central_dir, "CEN", ROLE="central",
                                    SQLALCHEMY_DATABASE_URI=url))
    with central.app_context():
        _node, code = register_node("Nodo de referencia", "BEN", (), all_communities=True)
        db.session.commit()
    install_dashboard_triggers(central)
    client = central.test_client()
    answer = client.post("/sync/v1/enroll", json={"code": code}).get_json()
    auth = f"Node {answer['node']['id']}:{answer['secret']}"
    clock: dict[str, float] = {}
    with timers(clock):
        cpu, wall = time.process_time(), time.perf_counter()
        for body, headers in pages:
            response = client.post("/sync/v1/push", data=body,
                                   headers={**headers, "Authorization": auth})
            if response.status_code != 200:
                raise SystemExit(f"central refused a page: {response.get_data(as_text=True)}")
        clock["push_cpu"] = time.process_time() - cpu
        clock["push_wall"] = time.perf_counter() - wall
    with central.app_context():
        clock["changes"] = db.session.execute(db.text("SELECT count(*) FROM sync_changes")
                                              ).scalar_one()
        db.engine.dispose()
    return clock


def main() -> int:
    args_parser = parser(__doc__.split("\n\n")[0])
    args_parser.add_argument("--runs", type=int, default=3)
    args_parser.add_argument("--postgresql", action="store_true",
                             help="central on the local PostgreSQL server (127.0.0.1:5432)")
    args = args_parser.parse_args()

    def log(message: str) -> None:
        print(message, file=sys.stderr if args.json else sys.stdout, flush=True)

    source = field_node_database(args.scale, args.seed, log)
    work = Path(tempfile.mkdtemp(prefix="fieldapp-replay-"))
    try:
        pages = push_pages(source, work)
        if source.parent.name.startswith("fieldapp-bench-"):  # a copy of the shared cache
            shutil.rmtree(source.parent, ignore_errors=True)
        log(f"{len(pages)} pages, {sum(len(body) for body, _h in pages):,} bytes gzip")
        runs = [replay(pages, work, run, args.postgresql) for run in range(args.runs)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    keys = ["push_cpu", "before_lock", "under_lock", *(label for _o, _n, label in STEPS)]
    figures: dict[str, Any] = {"scale": args.scale, "pages": len(pages),
                               "central": "postgresql" if args.postgresql else "sqlite",
                               "records": int(runs[0]["changes"]), "runs": args.runs}
    for key in keys:
        values = sorted(run.get(key, 0.0) for run in runs)
        figures[f"{key}_s"] = round(statistics.median(values), 3)
        log(f"{key:>12}: median {statistics.median(values):6.3f} s of CPU "
            f"({', '.join(f'{v:.3f}' for v in values)})")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("FIELDAPP_ROLE", "field")
    sys.exit(main())
