"""Photos' bytes between node and central, apart from the records: sent once (a file central
has is never sent again), resumed after a cut link or a central that died mid-file (at most one
piece sent again), fetched by the nodes of the family's communities only, bad pieces refused,
and the records synced whatever happens to the files."""

from __future__ import annotations

import hashlib
import io
import random
from typing import Any

import pytest
from PIL import Image

from fieldapp.extensions import db
from fieldapp.media.models import Attachment
from testing.servers import LinkProxy

CHUNK = 32 * 1024


def noisy_jpeg(seed: int, side: int = 1400) -> bytes:
    """A photo that stays large once reduced (noise does not compress): about 1 MB."""
    rng = random.Random(seed)  # noqa: S311 - test pixels
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def attach(node: Any, family_id: Any, data: bytes) -> str:
    """Attach a photo on ``node`` through the operation; its stored hash."""
    from fieldapp.media.operations import attach_image, owner_or_404

    with node.app.test_request_context():
        attachment, _made = attach_image(owner_or_404("families", family_id), data,
                                         kind="photo", caption="Casa")
        db.session.commit()
        return attachment.sha256


def stored(app_holder: Any, sha256: str) -> bool:
    from fieldapp.media.storage import current_storage

    with app_holder.app.app_context():
        return current_storage().has(sha256)


def partial_size(central: Any, sha256: str) -> int:
    part = central.state.media.partial_folder / f"{sha256}.part"
    return part.stat().st_size if part.exists() else 0


def test_photos_go_up_once_and_down_to_the_nodes_of_their_community_only(world, make_node):
    central, a, b = world["central"], world["a"], world["b"]
    other = make_node("CCC")
    other.enrol(central, communities=("C2",))
    family = a.add_family(world["c1"])
    sha256 = attach(a, family, noisy_jpeg(1, 600))
    report = a.sync()
    assert report.ok
    assert report.media["sent"] == 1
    assert report.media["error_code"] is None
    assert stored(central, sha256)
    assert central.count(Attachment) == 1
    again = a.sync()
    assert again.media["sent"] == 0  # central has it: never sent twice
    assert again.media["sent_bytes"] == 0
    assert again.requests < report.requests - 1  # nor asked about again
    from fieldapp.media.models import OnCentral

    assert list(a.rows(OnCentral)) == [sha256]
    # Central lost its files (restored without them): the node is told to ask again.
    with central.app.app_context():
        central.state.media.store.remove(sha256)
    assert "1 files" in a.app.test_cli_runner().invoke(args=["media", "resend"]).output
    assert a.sync().media["sent"] == 1
    assert stored(central, sha256)

    pulled = b.sync()
    assert pulled.media["fetched"] == 1
    assert stored(b, sha256)
    assert b.count(Attachment) == 1
    elsewhere = other.sync()
    assert elsewhere.media["fetched"] == 0
    assert other.count(Attachment) == 0
    assert not stored(other, sha256)
    # Asked for by hand, central refuses another community's file.
    from sync import errors

    link = other.transport()
    try:
        with pytest.raises(errors.SyncError) as refused:
            link.fetch_bytes("/media/fetch", {"hash": sha256, "offset": 0})
        assert refused.value.code == "media_not_allowed"
    finally:
        link.close()


def _cut_at_nine_tenths(node: Any, proxy: LinkProxy, pieces: int) -> None:
    sent = []

    def cut() -> None:
        sent.append(1)
        if len(sent) == int(pieces * 0.9):
            proxy.cut_upload_after(CHUNK // 2)  # mid-piece: it never arrives whole

    node.app.config["SYNC_FAULTS"] = {"media.before_chunk": cut}


@pytest.mark.parametrize("central_backend", ["sqlite"], indirect=True)
def test_a_cut_at_90_percent_resends_at_most_one_piece(central, make_node):
    c1 = central.add_community("C1")
    proxy = LinkProxy(central.server.port)
    try:
        a = make_node("AAA", MEDIA_CHUNK_BYTES=CHUNK)
        a.enrol(central, communities=("C1",), url=proxy.url)
        a.sync()  # the community
        family = a.add_family(c1)
        sha256 = attach(a, family, noisy_jpeg(2))
        with a.app.app_context():
            size = a.state.media.store.size(sha256)
        pieces = -(-size // CHUNK)
        assert pieces >= 10
        _cut_at_nine_tenths(a, proxy, pieces)
        report = a.sync()
        a.app.config["SYNC_FAULTS"] = None
        assert report.ok  # the records went through
        assert central.count(Attachment) == 1
        assert report.media["error_code"] in ("unreachable", "bad_response")
        held = partial_size(central, sha256)
        assert held == (int(pieces * 0.9) - 1) * CHUNK  # the cut piece left nothing behind
        assert not stored(central, sha256)

        resumed = a.sync()
        assert resumed.media["error_code"] is None
        assert resumed.media["sent_bytes"] == size - held
        assert report.media["sent_bytes"] + resumed.media["sent_bytes"] == size
        assert stored(central, sha256)
        assert partial_size(central, sha256) == 0
    finally:
        proxy.close()


@pytest.mark.parametrize("central_backend", ["sqlite"], indirect=True)
def test_central_dying_after_a_piece_resumes_after_it(central, make_node):
    c1 = central.add_community("C1")
    a = make_node("AAA", MEDIA_CHUNK_BYTES=CHUNK)
    a.enrol(central, communities=("C1",))
    a.sync()
    sha256 = attach(a, a.add_family(c1), noisy_jpeg(3, 900))
    central.app.config["SYNC_FAULTS"] = {"media_after_chunk": 3}  # dies once the 3rd is on disk
    report = a.sync()
    central.app.config["SYNC_FAULTS"] = None
    assert report.ok
    assert report.media["error_code"] == "server_error"
    assert partial_size(central, sha256) == 3 * CHUNK
    resumed = a.sync()
    assert resumed.media["sent_bytes"] == a_size(a, sha256) - 3 * CHUNK
    assert stored(central, sha256)


def a_size(node: Any, sha256: str) -> int:
    with node.app.app_context():
        return node.state.media.store.size(sha256)


@pytest.mark.parametrize("central_backend", ["sqlite"], indirect=True)
def test_bad_pieces_are_refused_and_nothing_is_kept(central, make_node):
    from sync import errors

    c1 = central.add_community("C1")
    a = make_node("AAA", MEDIA_CHUNK_BYTES=CHUNK)
    a.enrol(central, communities=("C1",))
    a.sync()
    data = noisy_jpeg(4, 500)
    family = a.add_family(c1)
    sha256 = attach(a, family, data)
    a.app.config["SYNC_FAULTS"] = {"media.before_chunk": lambda: (_ for _ in ()).throw(
        OSError("stop before any piece"))}
    a.sync()  # the record goes up; its file not yet
    a.app.config["SYNC_FAULTS"] = None
    with a.app.app_context(), a.state.media.store.open(sha256) as source:
        whole = source.read()
    piece = whole[:CHUNK]

    def send(body: bytes, **headers: str) -> Any:
        link = a.transport()
        try:
            return link.send("/media/chunk", body, {
                "Content-Type": "application/octet-stream", "X-Media-Hash": sha256,
                "X-Media-Offset": "0", "X-Media-Size": str(len(whole)),
                "X-Chunk-Sha256": hashlib.sha256(body).hexdigest(), **headers})
        finally:
            link.close()

    for body, headers, code in [
        (piece, {"X-Chunk-Sha256": "0" * 64}, "bad_chunk"),  # the wrong hash
        (piece, {"X-Media-Hash": "a" * 64}, "media_not_allowed"),  # a file no record names
        (piece, {"X-Media-Offset": str(CHUNK)}, "media_offset"),  # not where central is
        (piece, {"X-Media-Size": "not a number"}, "bad_body"),
        (piece, {"X-Media-Size": str(100 * 1024 * 1024)}, "bad_body"),  # past the largest file
        (whole * 3, {"X-Media-Size": str(3 * len(whole))}, "too_large"),  # past a piece
    ]:
        with pytest.raises(errors.SyncError) as refused:
            send(body, **headers)
        assert refused.value.code == code
        assert partial_size(central, sha256) == 0
    # A whole file that does not hash to its name: refused, its partial upload dropped.
    forged = bytes(len(whole))
    link = a.transport()

    def send_forged() -> None:
        offset = 0
        while offset < len(forged):
            body = forged[offset:offset + CHUNK]
            link.send("/media/chunk", body, {
                "Content-Type": "application/octet-stream", "X-Media-Hash": sha256,
                "X-Media-Offset": str(offset), "X-Media-Size": str(len(forged)),
                "X-Chunk-Sha256": hashlib.sha256(body).hexdigest()})
            offset += len(body)

    try:
        with pytest.raises(errors.SyncError) as refused:
            send_forged()
        assert refused.value.code == "bad_file"
    finally:
        link.close()
    assert partial_size(central, sha256) == 0
    assert not stored(central, sha256)
    # The node's own transfer still goes through.
    assert a.sync().media["sent"] == 1
    assert stored(central, sha256)


@pytest.mark.parametrize("central_backend", ["sqlite"], indirect=True)
def test_a_merged_familys_photos_follow_it_to_the_survivor(world):
    from synckit import login

    from fieldapp.families.models import Family
    from fieldapp.merges.operations import merge_families

    central, a = world["central"], world["a"]
    kept = a.add_family(world["c1"], dni="41234567")
    twice = a.add_family(world["c1"], head_given_names="Maria", head_surname="Sanchez Tuanama",
                         confirm_not_duplicate=True)
    attach(a, twice, noisy_jpeg(5, 300))
    assert a.sync().rejected == 0
    with central.app.test_request_context():
        merge_families(db.session.get(Family, kept), db.session.get(Family, twice), {}, None)
        db.session.commit()
    a.sync()
    assert {r["family_id"] for r in a.rows(Attachment).values()} == {kept}
    client = login(central.app, "coordinator")
    page = client.get(f"/families/{kept}").get_data(as_text=True)
    attachment_id = next(iter(central.rows(Attachment)))
    assert f"/media/{attachment_id}/thumb" in page


@pytest.mark.parametrize("central_backend", ["sqlite"], indirect=True)
def test_a_download_cut_midway_resumes_from_what_the_node_holds(central, make_node):
    c1 = central.add_community("C1")
    proxy = LinkProxy(central.server.port)
    try:
        a = make_node("AAA")
        b = make_node("BBB")
        a.enrol(central, communities=("C1",))
        b.enrol(central, communities=("C1",), url=proxy.url)
        a.sync()
        sha256 = attach(a, a.add_family(c1), noisy_jpeg(6))
        assert a.sync().media["sent"] == 1
        size = a_size(a, sha256)
        piece = central.state.media.chunk_bytes
        assert size > 3 * piece
        asked = []

        def cut_third() -> None:
            asked.append(1)
            if len(asked) == 3:
                proxy.cut_download_after(piece // 2)  # mid-answer

        b.app.config["SYNC_FAULTS"] = {"media.before_fetch": cut_third}
        report = b.sync()
        b.app.config["SYNC_FAULTS"] = None
        assert report.ok
        assert b.count(Attachment) == 1  # the record is here; its file not yet
        assert report.media["error_code"] in ("bad_response", "unreachable")
        assert report.media["fetched_bytes"] == 2 * piece
        assert not stored(b, sha256)
        resumed = b.sync()
        assert resumed.media["fetched"] == 1
        assert resumed.media["fetched_bytes"] == size - 2 * piece
        assert stored(b, sha256)
    finally:
        proxy.close()


@pytest.mark.parametrize("central_backend", ["sqlite"], indirect=True)
def test_fieldapp_sync_says_what_it_did_with_the_photos(central, make_node):
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    attach(a, a.add_family(c1), noisy_jpeg(7, 300))
    result = a.app.test_cli_runner().invoke(args=["sync"])
    assert result.exit_code == 0, result.output
    assert "photos: sent 1 (" in result.output
    again = a.app.test_cli_runner().invoke(args=["sync"])
    assert "photos:" not in again.output  # nothing to do, nothing said


@pytest.mark.parametrize("central_backend", ["sqlite"], indirect=True)
def test_central_refuses_a_pushed_attachment_that_breaks_a_rule(central, make_node):
    import uuid

    from synckit import last_insert, push

    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    family = a.add_family(c1)
    other = a.add_family(c1, head_given_names="Otra", head_surname="Familia Distinta")
    attach(a, family, noisy_jpeg(8, 200))
    insert = last_insert(a, "attachments")
    a.sync()
    row, row_id = insert["d"], insert["i"]

    def forged(**changes: Any) -> dict[str, Any]:
        return {"t": "attachments", "i": str(uuid.uuid4()), "o": "i",
                "d": {**row, **changes}}

    codes = push(
        a,
        forged(owner_id=str(uuid.uuid4())),  # no such record
        forged(family_id=str(other)),  # a record of another family
        forged(kind="receipt"),  # not a kind a family takes
        forged(sha256="not-a-hash"),
        forged(mime="image/svg+xml"),
        forged(size=50 * 1024 * 1024),
        {"t": "attachments", "i": row_id, "o": "d"},  # never deleted
        {"t": "attachments", "i": row_id, "o": "u", "d": {"caption": "Otra leyenda"},
         "p": {"caption": row["caption"]}},  # the caption may change
    )
    assert codes == ["invalid_attachment"] * 6 + ["append_only", ""]
    assert central.count(Attachment) == 1


def test_a_void_travels_to_central_and_the_other_nodes_and_is_never_undone(world):
    import uuid

    from synckit import last_insert, login, push

    central, a, b = world["central"], world["a"], world["b"]
    family = a.add_family(world["c1"])
    staff = login(a.app, "field_staff", communities=("C1",))
    answer = staff.post(f"/media/families/{family}", headers={"Accept": "application/json"},
                        content_type="multipart/form-data",
                        data={"file": (io.BytesIO(noisy_jpeg(9, 300)), "casa.jpg"),
                              "kind": "photo"})
    assert answer.status_code == 201, answer.get_json()
    wrong = answer.get_json()["id"]
    voided = staff.post(f"/media/{wrong}/void", headers={"Accept": "application/json"},
                        data={"reason": "Casa de otra familia"})
    assert voided.status_code == 200, voided.get_json()
    sha256 = attach(a, family, noisy_jpeg(10, 300))  # a right one, live
    live = last_insert(a, "attachments")["i"]
    report = a.sync()
    assert report.ok
    assert report.rejected == 0
    on_central = central.get(Attachment, uuid.UUID(wrong))
    assert on_central["voided"] is True
    assert on_central["void_reason"] == "Casa de otra familia"
    assert on_central["voided_by"] == a.get(Attachment, uuid.UUID(wrong))["voided_by"]
    assert stored(central, on_central["sha256"])  # its file kept for auditors
    b.sync()
    assert b.get(Attachment, uuid.UUID(wrong))["voided"] is True
    assert stored(b, sha256)
    # A node may not undo a void, nor void without a reason.
    codes = push(
        a,
        {"t": "attachments", "i": wrong, "o": "u", "d": {"voided": False},
         "p": {"voided": True}},
        {"t": "attachments", "i": live, "o": "u", "d": {"voided": True}, "p": {"voided": False}},
    )
    assert codes == ["attachment_kept", "invalid_attachment"]
    assert central.get(Attachment, uuid.UUID(wrong))["voided"] is True
    assert central.get(Attachment, uuid.UUID(live))["voided"] is False


@pytest.mark.parametrize("central_backend", ["sqlite"], indirect=True)
def test_partial_files_of_abandoned_transfers_are_removed_on_node_and_central(
        central, make_node):
    import os
    import time

    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    sha256 = attach(a, a.add_family(c1), noisy_jpeg(11, 300))

    def aged(folder: Any, name: str, hours: float) -> Any:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name * 64}.part"
        path.write_bytes(b"the start of a photo")
        moment = time.time() - hours * 3600
        os.utime(path, (moment, moment))
        return path

    on_node = [aged(a.state.media.partial_folder, n, h) for n, h in (("a", 49), ("b", 2))]
    on_central = [aged(central.state.media.partial_folder, n, h) for n, h in (("c", 49),
                                                                             ("d", 2))]
    central.state.media.swept_at = None  # as if central had run for an hour since it swept
    report = a.sync()
    assert report.media["sent"] == 1
    assert stored(central, sha256)
    assert [p.exists() for p in on_node] == [False, True]
    assert [p.exists() for p in on_central] == [False, True]
    # Central sweeps at most once an hour as nodes send (it has no loop of its own).
    again = aged(central.state.media.partial_folder, "e", 49)
    attach(a, a.add_family(c1), noisy_jpeg(12, 300))
    assert a.sync().media["sent"] == 1  # central asked
    assert again.exists()


@pytest.mark.parametrize("central_backend", ["sqlite"], indirect=True)
def test_a_node_prunes_only_what_central_holds_and_does_not_fetch_it_back(central, make_node):
    from datetime import timedelta

    from sqlalchemy import select, update

    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    family = a.add_family(c1)
    sent = attach(a, family, noisy_jpeg(13, 300))
    assert a.sync().media["sent"] == 1
    cut = attach(a, family, noisy_jpeg(14, 300))  # central never got it (the link was cut)
    with a.app.app_context(), db.engine.begin() as connection:  # not captured: not synced
        for row_id, created_at in connection.execute(
                select(Attachment.id, Attachment.created_at)).all():
            connection.execute(update(Attachment).where(Attachment.id == row_id).values(
                created_at=created_at - timedelta(days=40)))
    a.app.config["MEDIA_RETENTION_DAYS"] = 30
    result = a.app.test_cli_runner().invoke(args=["media", "prune"])
    assert result.exit_code == 0, result.output
    assert "removed 1 files" in result.output
    assert not stored(a, sent)
    assert stored(a, cut)  # never prune bytes central does not have
    report = a.sync()
    assert report.media["sent"] == 1  # the other one goes up now
    assert report.media["fetched"] == 0  # the pruned one stays on central only
    assert report.media["missing"] == 0
    assert not stored(a, sent)
    assert stored(central, sent)
    assert stored(central, cut)
    # Central keeps every file, whatever its own retention says.
    central.app.config["MEDIA_RETENTION_DAYS"] = 1
    assert central.app.test_cli_runner().invoke(args=["media", "prune"]).exit_code == 1
    assert stored(central, sent)


@pytest.mark.parametrize("central_backend", ["sqlite"], indirect=True)
def test_central_takes_eager_kinds_at_once_and_the_others_when_a_coordinator_asks(
        central, make_node):
    from synckit import login

    from fieldapp.media.models import OnCentral

    central.app.config["MEDIA_EAGER_KINDS"] = "scan,receipt"  # a family's photo: on demand
    c1 = central.add_community("C1")
    a = make_node("AAA")
    a.enrol(central, communities=("C1",))
    a.sync()
    family = a.add_family(c1)
    sha256 = attach(a, family, noisy_jpeg(15, 300))
    report = a.sync()
    assert report.ok
    assert report.media["sent"] == 0
    assert report.media["deferred"] == 1
    assert not stored(central, sha256)
    assert list(a.rows(OnCentral)) == []  # not confirmed: offered again, never pruned
    check = central.app.test_cli_runner().invoke(args=["media", "check"])
    assert check.exit_code == 0, check.output  # expected on its node, not missing on central
    assert "on demand, kept on their node (MEDIA_EAGER_KINDS): 1" in check.output
    assert a.sync().media["deferred"] == 1
    attachment_id = next(iter(central.rows(Attachment)))
    coordinator = login(central.app, "coordinator")
    page = coordinator.get(f"/families/{family}").get_data(as_text=True)
    request_url = f"/media/{attachment_id}/request"
    assert request_url in page
    staff = login(central.app, "field_staff", communities=("C1",))
    assert staff.post(request_url, headers={"Accept": "application/json"}).status_code == 403
    answer = coordinator.post(request_url, headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.get_json()
    assert coordinator.post(request_url, headers={"Accept": "application/json"}).status_code == 200
    page = coordinator.get(f"/families/{family}").get_data(as_text=True)
    assert request_url not in page
    assert "media-requested" in page
    report = a.sync()
    assert report.media["sent"] == 1
    assert report.media["deferred"] == 0
    assert stored(central, sha256)
    assert list(a.rows(OnCentral)) == [sha256]
    assert f"/media/{attachment_id}/thumb" in coordinator.get(
        f"/families/{family}").get_data(as_text=True)
    refused = coordinator.post(request_url, headers={"Accept": "application/json"})
    assert refused.status_code == 409  # here already
    # A kind central takes eagerly goes at once.
    central.app.config["MEDIA_EAGER_KINDS"] = ["photo"]
    other = attach(a, family, noisy_jpeg(16, 300))
    assert a.sync().media["sent"] == 1
    assert stored(central, other)


@pytest.mark.parametrize("central_backend", ["sqlite"], indirect=True)
def test_central_killed_mid_piece_resumes_and_keeps_no_orphan(central, make_node, tmp_path):
    """Central as its own process (`fieldapp run`), killed with SIGKILL while a piece of a photo
    is on its way: the node's records are safe, the node resumes the file from what central
    kept when central is back, central ends with the whole file and its row, and its media
    check finds nothing missing, orphaned or damaged."""
    import threading

    from sync.node import transport as transport_module
    from testing.servers import AppProcess

    c1 = central.add_community("C1")
    instance = central.app.instance_path
    env = {"FIELDAPP_ROLE": "central", "FIELDAPP_SECRET_KEY": "test-secret",
           "FIELDAPP_NODE_CODE": "CEN"}
    process = AppProcess(instance, env=env)
    a = make_node("AAA", MEDIA_CHUNK_BYTES=CHUNK)
    a.enrol(central, communities=("C1",), url=process.url)
    a.sync()
    family = a.add_family(c1)
    sha256 = attach(a, family, noisy_jpeg(11, 900))
    original = transport_module.Transport.send
    pieces = []

    def killing(self: Any, path: str, body: bytes, headers: dict[str, str]) -> Any:
        if path == "/media/chunk":
            pieces.append(len(body))
            if len(pieces) == 4:  # the 4th piece: central dies while it comes in
                threading.Timer(0.002, process.kill).start()
        return original(self, path, body, headers)

    transport_module.Transport.send = killing
    try:
        cut = a.sync()
    finally:
        transport_module.Transport.send = original
    assert cut.media is None or cut.media.get("error_code") or not stored(central, sha256)
    assert process.process.poll() is not None  # really gone
    assert a.count(Attachment) == 1  # the node lost nothing
    kept = partial_size(central, sha256)
    assert kept % CHUNK == 0  # only whole pieces are kept
    assert kept < a_size(a, sha256)  # killed before the end (when exactly: the machine's load)
    again = AppProcess(instance, env=env, port=process.port)
    try:
        resumed = a.sync()
        assert resumed.ok
        assert stored(central, sha256)
        assert resumed.media["sent_bytes"] <= a_size(a, sha256) - kept + CHUNK
        with central.app.app_context():
            assert db.session.execute(db.select(Attachment).where(
                Attachment.sha256 == sha256)).scalar_one() is not None
            from fieldapp.media.storage import current_storage

            assert hashlib.sha256(current_storage().read(sha256)).hexdigest() == sha256
        assert partial_size(central, sha256) == 0
        checked = central.app.test_cli_runner().invoke(args=["media", "check"])
        assert checked.exit_code == 0, checked.output
    finally:
        again.stop()


@pytest.mark.parametrize("central_backend", ["sqlite"], indirect=True)
def test_a_node_killed_mid_upload_resumes_it_on_its_next_sync(central, make_node):
    """`fieldapp sync` on the node, killed with SIGKILL while it sends a photo's pieces: the
    next sync finishes the file from what central kept, and neither side is left with a
    missing, orphaned or damaged file."""
    import os
    import subprocess
    import sys
    import time
    import uuid
    from pathlib import Path

    c1 = central.add_community("C1")
    piece = 8 * 1024
    a = make_node("AAA", MEDIA_CHUNK_BYTES=piece)
    a.enrol(central, communities=("C1",))
    a.sync()
    sha256 = attach(a, a.add_family(c1), noisy_jpeg(12, 1400))
    env = {**os.environ, "FIELDAPP_INSTANCE_PATH": a.app.instance_path,
           "FIELDAPP_ROLE": "field", "FIELDAPP_SECRET_KEY": "test-secret",
           "FIELDAPP_NODE_CODE": "AAA",
           "FIELDAPP_NODE_ID": str(uuid.uuid5(uuid.NAMESPACE_DNS, "AAA")),
           "FIELDAPP_MEDIA_CHUNK_BYTES": str(piece)}
    root = Path(__file__).resolve().parents[2]
    syncing = subprocess.Popen([sys.executable, "-m", "fieldapp", "sync"], cwd=root, env=env,  # noqa: S603 - our own interpreter
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while partial_size(central, sha256) < 2 * piece:  # on its way
        assert syncing.poll() is None, "the sync ended before it could be cut"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    syncing.kill()
    syncing.wait(timeout=10)
    kept = partial_size(central, sha256)
    assert not stored(central, sha256)
    assert kept % piece == 0
    resumed = a.sync()
    assert resumed.ok
    assert stored(central, sha256)
    assert resumed.media["sent_bytes"] <= a_size(a, sha256) - kept + piece
    for side in (central, a):
        checked = side.app.test_cli_runner().invoke(args=["media", "check"])
        assert checked.exit_code == 0, checked.output
