"""Take the README's screenshots: the demo program in headless Chromium at tablet size (800×1280).

    PYTHONPATH=$PWD .venv/bin/python tools/screenshots.py [--scale 0.1]

Generates the demo program into a temporary instance, serves it on 127.0.0.1 (as the browser
tests do, ``tests/pwa_support.py``), logs in as the demo users and writes small palette PNGs to
``docs/img/``. Screens change with the templates: run it again when they do.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from tests.pwa_support import LiveServer, launch, login, page_of  # noqa: E402

OUT = ROOT / "docs" / "img"
#: (file name, user, path on the server): what a newcomer should see first.
#: ``None``: a path found in the demo data (a family, a session, a draft to sign).
SHOTS = [
    ("family-page", "promotor", None),
    ("agreement-signing", "promotor", None),
    ("delivery", "promotor", None),
    ("visit", "promotor", None),
    ("attendance-sheet", "promotor", None),
    ("outbox", "promotor", "/pwa/outbox"),
    ("sync-page", "coordinadora", "/nodes/sync"),
    ("dashboard", "coordinadora", "/dashboard/?from=2026-01&to=2026-10"),
]


def _small_png(raw: Path, target: Path) -> None:
    """A 256-colour PNG: a screen of flat colours loses nothing visible and weighs a third."""
    with Image.open(raw) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            target, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from fieldapp import create_app
    from fieldapp.extensions import db

    work = Path(tempfile.mkdtemp(prefix="fieldapp-shots-"))
    app = create_app({"INSTANCE_PATH": str(work / "instance"),
                      "DASHBOARD_TODAY": "2026-10-31"})
    with app.app_context():
        from fieldapp.demo.generator import generate

        generate(scale=args.scale, seed=7)
        from fieldapp.families.models import Family

        family = db.session.scalars(db.select(Family).order_by(Family.code).limit(1)).one()
        family_path = f"/families/{family.id}"
        from fieldapp.trainings.models import TrainingSession

        session = db.session.scalars(db.select(TrainingSession).where(
            TrainingSession.community_id == family.community_id)
            .order_by(TrainingSession.held_on.desc()).limit(1)).one()
        from fieldapp.agreements.models import Agreement

        draft = db.session.scalars(db.select(Agreement).where(
            Agreement.status == "draft", Agreement.voided.is_(False))
            .order_by(Agreement.number).limit(1)).one()
        active = db.session.scalars(db.select(Agreement).where(
            Agreement.status == "active", Agreement.voided.is_(False))
            .order_by(Agreement.number).limit(1)).one()
        paths = {"family-page": family_path, "attendance-sheet": f"/trainings/{session.id}",
                 "agreement-signing": f"/agreements/{draft.id}/sign",
                 "delivery": f"/deliveries/new?family={active.family_id}",
                 "visit": f"/compliance/visits/new?family={active.family_id}"}
    server = LiveServer(app).start()
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            for name, user, path in SHOTS:
                context = launch(playwright, work / f"profile-{name}")
                page = page_of(context)
                login(page, server.url, user)
                page.goto(server.url + (path or paths[name]))
                page.wait_for_load_state("networkidle")
                raw = work / f"{name}.png"
                page.screenshot(path=str(raw), full_page=False)
                _small_png(raw, OUT / f"{name}.png")
                context.close()
                print(OUT / f"{name}.png", (OUT / f"{name}.png").stat().st_size, "bytes")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
