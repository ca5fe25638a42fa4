"""What the duplicates review shows of two families: the records hanging on each."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from fieldapp.extensions import db


def family_records(family_id: uuid.UUID) -> dict[str, list[Any]]:
    """What hangs on a family, kind by kind (the review screen's side-by-side lists)."""
    from fieldapp.agreements.models import Agreement
    from fieldapp.compliance.models import ComplianceVisit
    from fieldapp.deliveries.models import Delivery
    from fieldapp.trainings.models import Attendance

    def rows(model: Any, order: Any) -> list[Any]:
        return list(db.session.execute(select(model).where(
            model.family_id == family_id, model.voided.is_(False)).order_by(order)).scalars())

    return {
        "agreements": rows(Agreement, Agreement.created_at),
        "deliveries": rows(Delivery, Delivery.delivered_on),
        "attendance": rows(Attendance, Attendance.created_at),
        "visits": rows(ComplianceVisit, ComplianceVisit.created_at),
    }




def live_agreement_numbers(family_id: uuid.UUID) -> list[str]:
    """The numbers of a family's signed or active agreements (two after a merge: the
    coordinator decides which continues; neither is voided by the merge)."""
    from fieldapp.agreements.models import Agreement

    return list(db.session.execute(select(Agreement.number).where(
        Agreement.family_id == family_id, Agreement.voided.is_(False),
        Agreement.status.in_(("signed", "active"))).order_by(Agreement.number)).scalars())
