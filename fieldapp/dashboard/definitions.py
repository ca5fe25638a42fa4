"""What every figure of the dashboard and the donor summary counts, in words for readers.

This is the readers' text of the definitions (translated: the donor summary prints it in
Spanish on its second page). The rules themselves are in :mod:`.status` and :mod:`.conditions`;
docs/using/dashboard.en.md ("Definitions") explains the same rules for operators.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: (term, definition) pairs, in the order a reader meets the figures on the summary.
DEFINITIONS = (
    (
        _l("Period and snapshot day"),
        _l(
            "Events (deliveries, visits, trainings, findings) are counted when dated in the "
            "period. Situations (agreements in force, compliance, sanctions) are taken on the "
            "snapshot day: the period's last day, or today if that is earlier. Statuses are the "
            "ones recorded now."
        ),
    ),
    (
        _l("Registered family"),
        _l("A family that is not voided and whose status is active (withdrawn families are not "
           "counted)."),
    ),
    (
        _l("Duplicates merged"),
        _l("Families found registered twice (on two tablets, say) and merged by a coordinator in "
           "the period: each is one family, counted once; the record merged away is never "
           "counted."),
    ),
    (
        _l("Agreement in force"),
        _l("An agreement that is not voided, with status active or suspended, whose period "
           "contains the snapshot day."),
    ),
    (
        _l("Active agreement"),
        _l("An agreement in force with status active; compared with the program's target of "
           "families."),
    ),
    (
        _l("Compliance status"),
        _l(
            "The first rule that applies: not compliant if a sanction is in force; no agreement "
            "in force; not visited yet if there is no visit under the agreement in force; not "
            "compliant if a finding of the latest visit is breached; otherwise compliant "
            "(partly met and not checked findings do not break compliance)."
        ),
    ),
    (
        _l("Compliance rate"),
        _l("Compliant families divided by compliant plus not compliant families. Per "
           "commitment: met findings divided by met, partly met and breached findings of the "
           "period's visits."),
    ),
    (
        _l("Received benefits"),
        _l("At least one delivery to the family dated in the period stands: it is not a "
           "reversal and no reversal cancels it."),
    ),
    (
        _l("Promised and delivered to date"),
        _l(
            "Promised: benefits of the signed agreements (active, suspended, completed or "
            "terminated; not drafts or replaced versions) whose period overlaps the selected "
            "one. Delivered to date: deliveries against those agreements up to the end of the "
            "snapshot day's month, net of reversals."
        ),
    ),
    (
        _l("Sanction in force"),
        _l("A confirmed sanction, not voided, decided on or before the snapshot day, whose "
           "agreement's period contains the snapshot day."),
    ),
    (
        _l("Visits done and families due"),
        _l("Visits dated in the period; families due are the families under agreement on the "
           "snapshot day; visited are those of them with a visit in the period."),
    ),
    (
        _l("Attendance rate"),
        _l("Registered families that attended at least one session held in the period, "
           "divided by registered families."),
    ),
    (
        _l("Grievances"),
        _l("Received in the period: grievances received on a day of the period (confidential "
           "ones counted, never described). Answered in time: their first answer on or before "
           "the day it was due. Overdue: still open past the day their current step was due. "
           "Median days: from receipt to the first answer."),
    ),
)
