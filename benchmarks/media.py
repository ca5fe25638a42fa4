"""Photos benchmark: reduction in the browser, and 1,000 photos from a node to central.

    python benchmarks/media.py [--photos 1000] [--json]

- ``photo_reduce_ms``, ``photo_stored_kb``: a 12-megapixel camera JPEG (4000 × 3000, with
  EXIF) made small in headless Chromium by the tablet's own code (``static/js/photos.js``), the
  median of five; its stored size.
- ``media_sync_s``, ``media_sync_bytes``: a field node (this process) pushes a family with
  ``--photos`` photos of about 260 KB each (their rows and their files) to central (a
  ``fieldapp run`` process, SQLite) over loopback: the sync's seconds (its records, then the
  files) and the bytes node → central (bodies and headers, as the node's transport counts
  them), with their ratio to the photos' total size (``media_sync_ratio``).
- ``resume_resent_bytes``: a 1 MB photo whose upload is cut at 90% (mid-piece, by a proxy
  between node and central), then sent by the next sync: the file bytes sent twice.
- ``node_peak_rss_mb``, ``central_peak_rss_mb`` and their growth over idle (before the
  transfer): memory stays flat whatever the number of photos (files go a piece at a time).
"""

from __future__ import annotations

import io
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._harness import app_config, parser, peak_rss_mb  # noqa: E402

CHUNK = 256 * 1024


def camera_jpeg(width: int, height: int, seed: int) -> bytes:
    """A photo-like JPEG: a gradient with texture (noise), as a camera's output compresses."""
    from PIL import Image, ImageFilter

    rng = random.Random(seed)
    coarse = Image.frombytes("RGB", (width // 40, height // 40),
                             rng.randbytes((width // 40) * (height // 40) * 3))
    grain = Image.frombytes("L", (width // 4, height // 4),
                            rng.randbytes((width // 4) * (height // 4)))
    image = coarse.resize((width, height), Image.Resampling.BICUBIC).filter(
        ImageFilter.GaussianBlur(3))
    # Leaves, bark, soil: fine detail over the coarse shapes, as a photo of a plot has.
    image = Image.blend(image, grain.resize((width, height)).convert("RGB"), 0.12)
    exif = Image.Exif()
    exif[0x010F] = "BenchCamera"
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92, exif=exif)
    return out.getvalue()


def measure_reduce(tmp: Path) -> dict[str, Any]:
    """The tablet's reduction of a 12 MP photo in headless Chromium."""
    from playwright.sync_api import sync_playwright

    photo = tmp / "camera.jpg"
    photo.write_bytes(camera_jpeg(4000, 3000, 1))
    times, sizes = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or None)
        page = browser.new_page()
        page.set_content("<input type=file id=f>")
        page.add_script_tag(path=str(ROOT / "static/js/photos.js"))
        page.set_input_files("#f", str(photo))
        for _ in range(5):
            ms, size = page.evaluate(
                "() => { const t = performance.now(); const f = document.getElementById('f')"
                ".files[0]; return FieldappPhotos.reduce(f).then(b => [performance.now() - t,"
                " b.size]); }")
            times.append(ms)
            sizes.append(size)
        browser.close()
    return {"photo_camera_kb": round(photo.stat().st_size / 1024),
            "photo_reduce_ms": round(statistics.median(times)),
            "photo_stored_kb": round(max(sizes) / 1024)}


def _central(tmp: Path) -> tuple[Any, Path]:
    from fieldapp import create_app
    from fieldapp.communities.models import Community
    from fieldapp.extensions import db

    instance = tmp / "central"
    instance.mkdir()
    app = create_app(app_config(instance, "CEN", ROLE="central"))
    with app.app_context():
        community = Community(code="C001", name="Comunidad 1", district="Moyobamba")
        db.session.add(community)
        db.session.commit()
        db.engine.dispose()
    return app, instance


def _enrol(central_app: Any, node_app: Any, url: str, code: str) -> None:
    import uuid

    from fieldapp.extensions import db
    from fieldapp.nodes.operations import register_node
    from sync.node.transport import enrol

    with central_app.app_context():
        _node, enrol_code = register_node(f"Nodo {code}", code, ("C001",), False,
                                          node_id=uuid.uuid5(uuid.NAMESPACE_DNS, code),
                                          issued_code=True)
        db.session.commit()
    with node_app.app_context():
        enrol(node_app.extensions["sync"], url, enrol_code)


def _node(tmp: Path, name: str, code: str) -> Any:
    from fieldapp import create_app

    instance = tmp / name
    instance.mkdir()
    return create_app(app_config(instance, code, ROLE="field"))


def _family(app: Any) -> Any:
    from fieldapp.communities.models import Community
    from fieldapp.extensions import db
    from fieldapp.families.operations import create_family
    from sync.node.client import sync_once

    with app.app_context():
        sync_once(app.extensions["sync"])  # the community
    with app.test_request_context():
        community = db.session.execute(db.select(Community)).scalars().first()
        family = create_family({"head_given_names": "Rosa", "head_surname": "Tapullima",
                                "members_count": 4, "data_consent": True,
                                "community_id": community.id,
                                "confirm_not_duplicate": True})
        db.session.commit()
        return family.id


def _photos(app: Any, family_id: Any, count: int, base: bytes, width: int, height: int) -> int:
    """``count`` distinct photos (the same picture, a comment apart) stored and attached as an
    upload would attach them (the decoding skipped: measured above); their total size."""
    from fieldapp.extensions import db
    from fieldapp.media.models import Attachment
    from fieldapp.media.storage import current_storage

    total = 0
    with app.app_context():
        store = current_storage()
        for n in range(count):
            comment = f"photo {n}".encode()
            marker = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
            data = base[:2] + marker + base[2:]
            sha256 = store.put(data)
            total += len(data)
            db.session.add(Attachment(family_id=family_id, owner_table="families",
                                      owner_id=family_id, kind="photo", sha256=sha256,
                                      size=len(data), mime="image/jpeg", width=width,
                                      height=height, recorded_by="bench"))
        db.session.commit()
    return total


def measure_sync(tmp: Path, count: int) -> dict[str, Any]:
    from sync.node.client import sync_once
    from testing.servers import AppProcess, LinkProxy

    central_app, central_instance = _central(tmp)
    with AppProcess(central_instance, env={"FIELDAPP_ROLE": "central",
                                           "FIELDAPP_SECRET_KEY": "bench"}) as central:
        proxy = LinkProxy(central.port)
        try:
            node = _node(tmp, "node", "BEN")
            _enrol(central_app, node, central.url, "BEN")  # straight: the proxy costs time
            family = _family(node)
            base = camera_jpeg(1600, 1200, 2)
            from PIL import Image

            reduced = io.BytesIO()
            Image.open(io.BytesIO(base)).save(reduced, format="JPEG", quality=80)
            base = reduced.getvalue()
            total = _photos(node, family, count, base, 1600, 1200)
            central_idle = peak_rss_mb(central.process.pid)
            node_idle = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            started = time.perf_counter()
            with node.app_context():
                report = sync_once(node.extensions["sync"])
            seconds = time.perf_counter() - started
            sent = report.bytes_sent  # counted by the node's transport, headers included
            central_peak = peak_rss_mb(central.process.pid)
            node_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            if not report.media or report.media["sent"] != count:
                raise RuntimeError(f"not every photo was sent: {report.media}")
            figures = {
                "photos": count, "photos_total_mb": round(total / 1e6, 1),
                "media_sync_s": round(seconds, 1), "media_sync_bytes": sent,
                "media_sync_ratio": round(sent / total, 3),
                "node_peak_rss_mb": round(node_peak), "node_rss_growth_mb": round(
                    node_peak - node_idle), "central_peak_rss_mb": round(central_peak),
                "central_rss_growth_mb": round(central_peak - central_idle),
            }
            figures.update(measure_resume(tmp, central_app, proxy))
        finally:
            proxy.close()
    return figures


def measure_resume(tmp: Path, central_app: Any, proxy: Any) -> dict[str, Any]:
    """A 1 MB photo cut at 90% of its upload, then finished by the next sync."""
    from fieldapp.media.storage import current_storage
    from sync.node import transport as transport_module
    from sync.node.client import sync_once

    node = _node(tmp, "node2", "RES")
    _enrol(central_app, node, proxy.url, "RES")
    family = _family(node)
    rng = random.Random(3)
    data = b"\xff\xd8" + rng.randbytes(1_000_000) + b"\xff\xd9"
    with node.app_context():
        from fieldapp.extensions import db
        from fieldapp.media.models import Attachment

        sha256 = current_storage().put(data)
        db.session.add(Attachment(family_id=family, owner_table="families", owner_id=family,
                                  kind="photo", sha256=sha256, size=len(data),
                                  mime="image/jpeg", width=1600, height=1200))
        db.session.commit()
    attempted = []
    original = transport_module.Transport.send

    def counting(self: Any, path: str, body: bytes, headers: dict[str, str]) -> Any:
        if path == "/media/chunk":
            attempted.append(len(body))
        return original(self, path, body, headers)

    pieces = -(-len(data) // CHUNK)
    sent_pieces = []

    def cut() -> None:
        sent_pieces.append(1)
        if len(sent_pieces) == pieces:  # the last piece: 90% and more of the file is up
            proxy.cut_upload_after(CHUNK // 2)

    transport_module.Transport.send = counting
    try:
        node.config["SYNC_FAULTS"] = {"media.before_chunk": cut}
        with node.app_context():
            first = sync_once(node.extensions["sync"])
        node.config["SYNC_FAULTS"] = None
        with node.app_context():
            second = sync_once(node.extensions["sync"])
    finally:
        transport_module.Transport.send = original
    if not first.media["error_code"] or second.media["error_code"] is not None:
        raise RuntimeError(f"the cut did not happen as planned: {first.media} {second.media}")
    return {"resume_file_kb": round(len(data) / 1024), "resume_chunk_kb": CHUNK // 1024,
            "resume_resent_bytes": sum(attempted) - len(data)}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=1000)
    args = p.parse_args()
    os.environ.setdefault("FIELDAPP_LOG_LEVEL", "WARNING")
    tmp = Path(tempfile.mkdtemp(prefix="fieldapp-media-bench-"))
    try:
        figures = measure_reduce(tmp)
        print(f"12 MP photo ({figures['photo_camera_kb']} KB) reduced in Chromium in "
              f"{figures['photo_reduce_ms']} ms to {figures['photo_stored_kb']} KB")
        figures.update(measure_sync(tmp, args.photos))
        print(f"{figures['photos']} photos ({figures['photos_total_mb']} MB) node -> central in "
              f"{figures['media_sync_s']} s, {figures['media_sync_bytes']} bytes on the wire "
              f"({figures['media_sync_ratio']} x the photos)")
        print(f"cut at 90%: {figures['resume_resent_bytes']} bytes sent again "
              f"(a piece is {figures['resume_chunk_kb']} KB)")
        print(f"peak memory: node {figures['node_peak_rss_mb']} MB "
              f"(+{figures['node_rss_growth_mb']}), central {figures['central_peak_rss_mb']} MB "
              f"(+{figures['central_rss_growth_mb']})")
        if args.json:
            print(json.dumps(figures))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
