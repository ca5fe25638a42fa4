"""Generate the deterministic demo program: communities, families, agreements, the cycle.

Scale 1 is the Alto Mayo program: 25 communities, 1,033 families, their agreements, ~200
trainings with ~10,000 attendance rows, ~25,000 deliveries and ~4,000 compliance visits.
Bulk rows go in through Core inserts in one transaction; the same seed gives the same data.
The phases live by purpose in :mod:`.people`, :mod:`.agreements` and :mod:`.cycle`, on the
shared helpers of :mod:`.base`; this module runs them in order.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from fieldapp.agreements.catalogue import seed_catalogues
from fieldapp.agreements.models import BenefitType, CommitmentType
from fieldapp.codes import CodeSequence
from fieldapp.demo.agreements import AgreementPhases
from fieldapp.demo.base import DEMO_PASSWORD, DEMO_USERS
from fieldapp.demo.cycle import CyclePhases
from fieldapp.demo.people import PeoplePhases
from fieldapp.demo.plots import PlotPhases
from fieldapp.extensions import db
from fieldapp.families.models import Family


def has_data() -> bool:
    """Whether the database already holds families."""
    return bool(db.session.scalar(select(func.count(Family.id))))


class _Generator(PeoplePhases, AgreementPhases, PlotPhases, CyclePhases):
    # -- phases ----------------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        seed_catalogues()
        self.commitments = list(
            db.session.execute(select(CommitmentType).order_by(CommitmentType.position)).scalars()
        )
        self.benefits = {
            b.code: b for b in db.session.execute(select(BenefitType)).scalars()
        }
        self.users()
        self.communities()
        self.families()
        self.agreements()
        self.plots()
        self.trainings()
        self.deliveries()
        self.visits()
        self.alerts()
        for prefix, value in self.counters.items():
            seq = db.session.get(CodeSequence, prefix) or CodeSequence(prefix=prefix, last_value=0)
            seq.last_value = max(seq.last_value, value)
            db.session.add(seq)
        db.session.commit()
        return self.stats


def generate(scale: float = 1.0, seed: int = 2026) -> dict[str, int]:
    """Create the demo program in the current app's database and commit it.

    :param scale: 1 is the Alto Mayo program (1,033 families); 10 is ten times it.
    :param seed: the random seed; the same seed gives the same program.
    :returns: how many records of each kind were created.
    """
    return _Generator(scale, seed).run()


def iter_demo_logins() -> Iterable[tuple[str, str, str]]:
    """The demo users as (user name, password, role), for the README and the run command."""
    for username, _name, role in DEMO_USERS:
        yield username, DEMO_PASSWORD, role
