"""Imports every domain's models so the metadata (and Alembic) sees the whole schema."""

from fieldapp.agreements import models as agreements  # noqa: F401
from fieldapp.api import models as api  # noqa: F401
from fieldapp.audit import models as audit  # noqa: F401
from fieldapp.auth import models as auth  # noqa: F401
from fieldapp.codes import CodeSequence  # noqa: F401
from fieldapp.communities import models as communities  # noqa: F401
from fieldapp.compliance import models as compliance  # noqa: F401
from fieldapp.dashboard import models as dashboard  # noqa: F401
from fieldapp.deliveries import models as deliveries  # noqa: F401
from fieldapp.families import models as families  # noqa: F401
from fieldapp.grievances import models as grievances  # noqa: F401
from fieldapp.idempotency import IdempotencyKey  # noqa: F401
from fieldapp.installation import InstallationFact  # noqa: F401
from fieldapp.nodes import models as nodes  # noqa: F401
from fieldapp.plots import models as plots  # noqa: F401
from fieldapp.ratelimit import RateLimitHit  # noqa: F401
from fieldapp.trainings import models as trainings  # noqa: F401
