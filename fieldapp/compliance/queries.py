"""Reading visits and sanctions: per family, per agreement, the coordinators' queue."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from fieldapp.compliance.models import Sanction
from fieldapp.extensions import db


def agreement_sanctions(agreement_id: uuid.UUID) -> list[Sanction]:
    """The sanctions proposed for an agreement, newest first."""
    return list(
        db.session.execute(
            select(Sanction)
            .where(Sanction.agreement_id == agreement_id, Sanction.voided.is_(False))
            .order_by(Sanction.created_at.desc())
        ).scalars()
    )
