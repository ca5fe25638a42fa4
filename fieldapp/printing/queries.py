"""Reading what the printouts show: agreements (one, a community's, all), sessions, families."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from fieldapp.agreements.catalogue import unit_catalogue
from fieldapp.agreements.content import canonical_content
from fieldapp.agreements.models import Agreement, Signature
from fieldapp.collation import spanish
from fieldapp.communities.models import Community
from fieldapp.deliveries.models import Delivery
from fieldapp.extensions import db
from fieldapp.families.models import Family
from fieldapp.families.privacy import hides_personal_data, shown
from fieldapp.formatting import UnitForms
from fieldapp.printing.data import (
    AgreementPrint,
    AttendanceRow,
    AttendanceSheet,
    FamilyCard,
    ReceiptPrint,
    ScanPrint,
    SignaturePrint,
    printable_content,
    usable_image,
)
from fieldapp.trainings.models import Attendance, TrainingSession

#: Statuses of agreements "in force": what a community batch prints by default.
IN_FORCE = ("signed", "active", "suspended")
STATUS_CHOICES = {
    "in_force": IN_FORCE,
    "draft": ("draft",),
    "all": ("draft", "signed", "active", "suspended", "completed", "terminated", "superseded"),
}


def verification_url(agreement_id: Any, content_hash: str) -> str:
    """Central's public address that verifies this printed agreement (what the QR holds)."""
    base = str(current_app.config["CENTRAL_PUBLIC_URL"]).rstrip("/")
    return f"{base}/verify/{agreement_id}/{content_hash}"


def _signatures(agreement: Agreement, content: dict[str, Any]) -> list[SignaturePrint]:
    """Drawn signatures, matched with the ones the signed content names (same role and name)."""
    frozen = {(s.get("role"), s.get("name")): s.get("image_sha256")
              for s in content.get("signatures") or []}
    out = []
    for sig in agreement.signatures:
        if sig.voided or sig.signer_role not in ("family", "staff", "witness"):
            continue
        key = (sig.signer_role, sig.signer_name)
        if agreement.content_hash and key not in frozen:
            continue  # not part of the signed version
        image = usable_image(sig.image_png, frozen.get(key) or sig.image_sha256)
        out.append(SignaturePrint(sig.signer_role, sig.signer_name, sig.signer_dni,
                                  image[0] if image else None, image[1] if image else None,
                                  sig.signed_at, sig.place))
    # A signer the content names whose row is gone still gets a line with their name.
    have = {(s.role, s.name) for s in out}
    for (role, name), _sha in frozen.items():
        if (role, name) not in have and role in ("family", "staff", "witness"):
            out.append(SignaturePrint(role, name or ""))
    if hides_personal_data(agreement.family):
        out = [_without_person(s) if s.role == "family" else s for s in out]
    return out


def _without_person(signature: SignaturePrint) -> SignaturePrint:
    """A family's signature line without who signed (name, DNI, drawn signature): the family
    withdrew its consent to data use (:mod:`fieldapp.families.privacy`)."""
    return SignaturePrint(signature.role, "", None, None, None, signature.signed_at,
                          signature.place)


def agreement_scans(agreement: Agreement) -> list[ScanPrint]:
    """The agreement's scans whose files are here and whole (a missing or replaced file is
    left out of the printout, never printed as something else)."""
    return _printable_images(agreement.id, agreement.family, "scan")


def _printable_images(owner_id: Any, family: Any, kind: str | None) -> list[ScanPrint]:
    from fieldapp.media.queries import attachments_of
    from fieldapp.media.storage import Damaged, current_storage

    if hides_personal_data(family):  # a scan bears the family's names: left out
        return []
    store = current_storage()
    scans = []
    for item in attachments_of(owner_id, kind=kind):
        a = item.attachment
        try:
            data = store.read(a.sha256) if item.received else None
        except Damaged:
            data = None
        if data is not None:
            scans.append(ScanPrint(data, a.width, a.height, a.sha256))
    return scans


def agreement_print(agreement: Agreement, numbers: dict[Any, str] | None = None,
                    units: tuple[UnitForms, ...] | None = None,
                    with_scans: bool = False) -> AgreementPrint:
    """The print data of one agreement: its frozen signed content, or a draft's current terms
    (the content is printed as signed; only the units' number and language are the reader's),
    and, when asked, the scans of its paper copy as pages."""
    signed = bool(agreement.content_hash and agreement.signed_content)
    content = printable_content(
        agreement.signed_content if signed else canonical_content(agreement))  # type: ignore[arg-type]
    if hides_personal_data(agreement.family):
        content["family"] = content["family"] | {"head_name": "", "dni": None}
    supersedes = content.get("supersedes_id")
    if numbers is None and supersedes:
        numbers = _numbers([supersedes])
    config = current_app.config
    return AgreementPrint(
        content=content,
        content_hash=agreement.content_hash if signed else None,
        status=agreement.status,
        verify_url=verification_url(agreement.id, agreement.content_hash) if signed else None,
        signed_at=agreement.signed_at,
        supersedes_number=(numbers or {}).get(supersedes) if supersedes else None,
        organisation=config.get("PRINT_ORGANISATION", ""),
        authority=config.get("PRINT_AUTHORITY", ""),
        signatures=_signatures(agreement, content),
        units=unit_catalogue() if units is None else units,
        scans=agreement_scans(agreement) if with_scans else [],
    )


def _numbers(ids: Sequence[Any], session: Session | None = None) -> dict[Any, str]:
    """Agreement numbers by id (as strings), for "renewal of ..." lines."""
    uuids = []
    for value in ids:
        try:
            uuids.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    if not uuids:
        return {}
    rows = (session or db.session).execute(
        select(Agreement.id, Agreement.number).where(Agreement.id.in_(uuids))
    )
    return {str(i): n for i, n in rows}


def agreements_query(community: Community | None = None, family: Family | None = None,
                     statuses: Sequence[str] = IN_FORCE, year: int | None = None,
                     community_ids: Sequence[Any] | None = None) -> Select[Any]:
    """Ids of the agreements to print, in print order (community, surname, name, year)."""
    stmt = (
        select(Agreement.id)
        .join(Family, Agreement.family_id == Family.id)
        .join(Community, Family.community_id == Community.id)
        .where(Agreement.voided.is_(False), Agreement.status.in_(statuses))
        .order_by(spanish(Community.name), spanish(Family.head_surname),
                  spanish(Family.head_given_names), Family.code, Agreement.year,
                  Agreement.version_no, Agreement.number)
    )
    if community is not None:
        stmt = stmt.where(Family.community_id == community.id)
    if family is not None:
        stmt = stmt.where(Agreement.family_id == family.id)
    if year is not None:
        stmt = stmt.where(Agreement.year == year)
    if community_ids is not None:
        stmt = stmt.where(Family.community_id.in_(community_ids))
    return stmt


def iter_agreement_prints(ids: Sequence[Any], chunk: int) -> Iterator[list[AgreementPrint]]:
    """Print data in chunks of ``chunk`` agreements, each read in a session of its own.

    Only one chunk's rows (and signature images) are in memory at a time; the request's session
    (holding the logged-in user) is left alone.
    """
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        with Session(db.engine) as session:
            prints = _chunk_prints(session, part)
        yield prints


def _chunk_prints(session: Session, part: Sequence[Any]) -> list[AgreementPrint]:
    rows = session.execute(
        select(Agreement)
        .where(Agreement.id.in_(part))
        .options(selectinload(Agreement.signatures))
    ).scalars()
    by_id = {a.id: a for a in rows}
    agreements = [by_id[i] for i in part if i in by_id]
    linked = [(a.signed_content or {}).get("supersedes_id") or a.supersedes_id
              for a in agreements]
    numbers = _numbers([x for x in linked if x], session)
    units = unit_catalogue(session)
    return [agreement_print(a, numbers, units) for a in agreements]


def load_signature_rows(delivery_id: Any) -> list[Signature]:
    """The receipt signatures of a delivery (not voided)."""
    return list(db.session.execute(
        select(Signature).where(Signature.delivery_id == delivery_id,
                                Signature.voided.is_(False)).order_by(Signature.signed_at)
    ).scalars())


def receipt_print(delivery: Delivery, with_photos: bool = False) -> ReceiptPrint:
    """The print data of a delivery receipt (with its drawn receipt signature, if any, and
    when asked the delivery's photos: the receipt signed on paper, the thumbprint)."""
    family = delivery.family
    signature = None
    for sig in load_signature_rows(delivery.id):
        image = usable_image(sig.image_png, sig.image_sha256)
        signature = SignaturePrint(sig.signer_role, sig.signer_name, sig.signer_dni,
                                   image[0] if image else None, image[1] if image else None,
                                   sig.signed_at, sig.place)
        if hides_personal_data(family):
            signature = _without_person(signature)
        break
    return ReceiptPrint(
        code=delivery.code,
        family_name=shown(family, family.head_name) or "",
        family_code=family.code,
        family_dni=shown(family, family.dni),
        community=family.community.name,
        agreement_number=delivery.agreement.number,
        item=delivery.item,
        quantity=delivery.quantity,
        unit=delivery.unit,
        delivered_on=delivery.delivered_on,
        delivered_by=delivery.delivered_by_name,
        reverses_code=delivery.reverses.code if delivery.reverses else None,
        reason=delivery.reason,
        signature=signature,
        units=unit_catalogue(),
        photos=_printable_images(delivery.id, family, None) if with_photos else [],
    )


def community_families(community: Community) -> list[Family]:
    """The community's families (not voided, not withdrawn), by surname and name."""
    return list(db.session.execute(
        select(Family)
        .where(Family.community_id == community.id, Family.voided.is_(False),
               Family.status != "withdrawn")
        .order_by(spanish(Family.head_surname), spanish(Family.head_given_names), Family.code)
    ).scalars())


def attendance_sheet(community: Community, session: TrainingSession | None = None
                     ) -> AttendanceSheet:
    """An attendance sheet for a community's families, for ``session`` or blank."""
    registered: set[Any] = set()
    if session is not None:
        registered = set(db.session.execute(
            select(Attendance.family_id).where(Attendance.session_id == session.id,
                                               Attendance.voided.is_(False))
        ).scalars())
    rows = [AttendanceRow(f.code, shown(f, f.head_name) or "", shown(f, f.dni), f.id in registered)
            for f in community_families(community)]
    return AttendanceSheet(
        community=community.name, community_code=community.code, rows=rows,
        session_code=session.code if session else None,
        topic=session.topic if session else None,
        held_on=session.held_on if session else None,
        place=session.place if session else None,
        trainer=session.trainer_name if session else None,
        hours=session.duration_hours if session else None,
    )


def family_cards(families: Sequence[Family]) -> list[FamilyCard]:
    """QR cards of ``families``."""
    return [FamilyCard(f.code, shown(f, f.head_name) or "", f.community.name) for f in families]
