"""Central's domain rules for what field nodes push (``TableSpec.rules``, see sync/README.md).

Central never trusts a node: each operation it would apply passes the same rules as the app's
own operations, called here (never copied): the agreement status machine and signed-version
rules of :mod:`fieldapp.agreements.rules`, the family value checks of
:mod:`fieldapp.families.operations`, the node code in human codes of :mod:`fieldapp.codes`, and
the default catalogues of :mod:`fieldapp.agreements.catalogue`. The engine checks that a new
record names the pushing node as its maker (``TableSpec.origin_column``). A refusal is a
``Rejected`` with a stable code: the operation is quarantined, never acknowledged as synced.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldapp.agreements import rules as agreement_rules
from fieldapp.codes import made_by
from fieldapp.errors import ValidationFailed
from sync.central.page import Rejected
from sync.registry import TableRules


def _refused(refusal: tuple[str, str] | None) -> None:
    if refusal is not None:
        raise Rejected(*refusal)


class CodeRules(TableRules):
    """A new record's human code is one its node hands out (``AM-K7Q-0042``: the node's code
    before the number), and it never changes."""

    def __init__(self, column: str, columns: tuple[str, ...] = ()) -> None:
        self.code_column = column
        self.columns = (column, *columns)

    def code_refusal(self, node: Any, row: dict[str, Any]) -> Rejected | None:
        if made_by(row.get(self.code_column), node.code):
            return None
        return Rejected("forged_code", f"A new record's {self.code_column} must carry the "
                        f"code of the node that sends it ({node.code}).")

    def check_inserts(self, session: Session, node: Any,
                      rows: list[dict[str, Any]]) -> dict[int, Any]:
        refusals = {}
        for n, row in enumerate(rows):
            refusal = self.code_refusal(node, row) or self.row_refusal(row)
            if refusal is not None:
                refusals[n] = refusal
        return refusals

    def row_refusal(self, row: dict[str, Any]) -> Rejected | None:
        """The table's own rules on a new row's values (none by default)."""
        return None

    def check_update(self, session: Session, node: Any, current: dict[str, Any],
                     changes: dict[str, Any]) -> None:
        if self.code_column in changes:
            raise Rejected("forged_code", f"A record's {self.code_column} never changes.")


class MergedFamilyRecords(TableRules):
    """Records of a family (agreements, deliveries, visits, sanctions, attendance) that a node
    made offline for a family central has since merged: after the push they move to the family
    it was merged into (the merge re-pointed every record central had; these arrived later).
    Attendance is a set per session and family: one the survivor already has for the session
    stays as it was, voided (the family attended once). The table's own rules (``inner``)
    check everything as before."""

    def __init__(self, model: Any, inner: TableRules | None = None) -> None:
        self.model = model
        self.inner = inner or TableRules()
        self.columns = tuple(dict.fromkeys((*self.inner.columns, "family_id")))

    def check_inserts(self, session: Session, node: Any,
                      rows: list[dict[str, Any]]) -> dict[int, Any]:
        return self.inner.check_inserts(session, node, rows)

    def check_update(self, session: Session, node: Any, current: dict[str, Any],
                     changes: dict[str, Any]) -> None:
        self.inner.check_update(session, node, current, changes)

    def check_delete(self, session: Session, node: Any, current: dict[str, Any]) -> None:
        self.inner.check_delete(session, node, current)

    def after_inserts(self, session: Session, node: Any, rows: list[dict[str, Any]]) -> list[Any]:
        return self.to_survivors(session, rows)

    def after_update(self, session: Session, node: Any, row: dict[str, Any],
                     changes: dict[str, Any]) -> bool:
        # A record a node re-pointed offline at a family central has since merged (a draft
        # agreement given to the other registration, say) follows it the same way.
        return "family_id" in changes and bool(self.to_survivors(session, [row]))

    def to_survivors(self, session: Session, rows: list[dict[str, Any]]) -> list[Any]:
        """Move the ``rows`` whose family was merged to its survivor; their ids."""
        from sqlalchemy import update

        from fieldapp.families.queries import survivors_of

        survivor = survivors_of(session, {r["family_id"] for r in rows if r.get("family_id")})
        if not survivor:
            return []
        table = self.model.__table__
        changed = []
        for row in rows:
            target = survivor.get(row.get("family_id"))
            if target is None:
                continue
            values: dict[str, Any] = {"family_id": target, "version": table.c.version + 1}
            if "session_id" in table.c and session.execute(select(table.c.id).where(
                    table.c.session_id == select(table.c.session_id).where(
                        table.c.id == row["id"]).scalar_subquery(),
                    table.c.family_id == target)).first() is not None:
                values = {"voided": True, "version": table.c.version + 1}
            session.execute(update(table).where(table.c.id == row["id"]).values(**values))
            changed.append(row["id"])
        return changed


#: The family columns :func:`check_family_values` reads.
FAMILY_VALUES = ("head_given_names", "head_surname", "members_count", "lat", "lon", "plot_ha",
                 "forest_ha", "coffee_ha")


class FamilyRules(CodeRules):
    """Families: the form's value checks (names, members, plot), on new rows and on the result
    of a change."""

    def __init__(self) -> None:
        super().__init__("code", (*FAMILY_VALUES, "merged_into_id"))

    def check_inserts(self, session: Session, node: Any,
                      rows: list[dict[str, Any]]) -> dict[int, Any]:
        refusals = super().check_inserts(session, node, rows)
        for n, row in enumerate(rows):
            if row.get("merged_into_id") is not None and n not in refusals:
                refusals[n] = self.merge_refusal()
        return refusals

    @staticmethod
    def merge_refusal() -> Rejected:
        return Rejected("central_merge", "Families are merged on central by a coordinator.")

    def redirect(self, session: Session, current: dict[str, Any]) -> Any:
        """A change made offline to a family merged meanwhile lands on the family it was merged
        into, field by field against what the node started from: a field the survivor holds
        another value of becomes a conflict with both values (never on a tombstone no one
        sees)."""
        if current.get("merged_into_id") is None:
            return None
        from fieldapp.families.queries import survivors_of

        return survivors_of(session, {current["id"]}).get(current["id"])

    def row_refusal(self, row: dict[str, Any]) -> Rejected | None:
        from fieldapp.families.operations import check_family_values

        try:
            check_family_values(row)
        except ValidationFailed as error:
            field = error.details.get("field")
            return Rejected("invalid", f"{field}: {error.message}")
        except (TypeError, ValueError, ArithmeticError):  # a value of another type
            return Rejected("invalid", "A value is not valid.")
        return None

    def check_update(self, session: Session, node: Any, current: dict[str, Any],
                     changes: dict[str, Any]) -> None:
        super().check_update(session, node, current, changes)
        if "merged_into_id" in changes:
            raise self.merge_refusal()
        if current.get("merged_into_id") is not None:  # :meth:`redirect` found no survivor
            raise Rejected("merged_family", "This family was merged into another on central; "
                           "make the change on that family.")
        if changes.keys() & set(FAMILY_VALUES):
            refusal = self.row_refusal({**current, **changes})
            if refusal is not None:
                raise refusal


class AgreementRules(CodeRules):
    """Agreements: the status machine from central's status, signed versions frozen, content
    hashes that verify, the conflict flag central's (:mod:`fieldapp.agreements.rules`)."""

    def __init__(self) -> None:
        super().__init__("number", ("status", "signed_content", "content_hash",
                                    "conflict_flag"))

    def row_refusal(self, row: dict[str, Any]) -> Rejected | None:
        refusal = agreement_rules.new_version_refusal(row)
        return Rejected(*refusal) if refusal else None

    def check_update(self, session: Session, node: Any, current: dict[str, Any],
                     changes: dict[str, Any]) -> None:
        super().check_update(session, node, current, changes)
        _refused(agreement_rules.change_refusal(
            current, changes, lambda: self.successor_live(session, current["id"])))

    def check_delete(self, session: Session, node: Any, current: dict[str, Any]) -> None:
        _refused(agreement_rules.removal_refusal(current))

    @staticmethod
    def successor_live(session: Session, agreement_id: Any) -> bool:
        """Whether a live signed or active amendment replaces this version (what retires it,
        see ``transitions._retire_previous``)."""
        from fieldapp.agreements.models import Agreement

        return session.execute(select(Agreement.id).where(
            Agreement.supersedes_id == agreement_id, Agreement.kind == "amendment",
            Agreement.voided.is_(False),
            Agreement.status.in_(agreement_rules.RETIRING_STATUSES)).limit(1)).first() is not None


class CatalogueRules(TableRules):
    """The catalogues are central's: a node may bring only a default entry exactly as the
    program ships it (its id the code's, see ``catalogue_id``); a node never changes, adds or
    deletes an entry. An entry central already holds unchanged is acknowledged as before."""

    def __init__(self, table: str) -> None:
        from fieldapp.agreements.catalogue import default_entries

        self.table = table
        self.defaults = default_entries()[table]
        self.columns = tuple(sorted({c for entry in self.defaults.values() for c in entry}))

    def check_inserts(self, session: Session, node: Any,
                      rows: list[dict[str, Any]]) -> dict[int, Any]:
        from fieldapp.nodes.syncing import catalogue_id

        refusals = {}
        for n, row in enumerate(rows):
            code = row.get("code")
            entry = self.defaults.get(code) if isinstance(code, str) else None
            if (entry is None or row.get("voided") or row["id"] != catalogue_id(self.table, code)
                    or any(row.get(k) != v for k, v in entry.items())):
                refusals[n] = self.refusal()
        return refusals

    def check_update(self, session: Session, node: Any, current: dict[str, Any],
                     changes: dict[str, Any]) -> None:
        raise self.refusal()

    def check_delete(self, session: Session, node: Any, current: dict[str, Any]) -> None:
        raise self.refusal()

    @staticmethod
    def refusal() -> Rejected:
        return Rejected("central_catalogue",
                        "The catalogues are central's: an administrator changes them there.")


class SignedTermsRules(TableRules):
    """The rows below an agreement (its commitments, promised benefits, signatures) are its
    terms: once central holds the agreement signed, a node adds only rows its signed content
    lists (a version signed offline brings its signatures after its signing; a node sending
    again what central lost brings them too), and never changes or deletes one — the relational
    copy can never promise more, or other, than the signed text that /verify checks.

    :param table: ``agreement_commitments``, ``agreement_benefits`` or ``signatures``.
    """

    KEYS = {
        "agreement_commitments": ("commitments", ("code", "text_es", "text_en")),
        "agreement_benefits": ("benefits", ("code", "quantity", "unit", "schedule")),
        "signatures": ("signatures", ("role", "name", "image_sha256")),
    }
    #: The row's columns behind each key of its signed-content entry.
    COLUMNS = {
        "agreement_commitments": ("commitment_type_id", "text_es", "text_en"),
        "agreement_benefits": ("benefit_type_id", "quantity", "unit", "schedule"),
        "signatures": ("signer_role", "signer_name", "image_sha256"),
    }

    def __init__(self, table: str) -> None:
        self.table = table
        self.section, self.content_keys = self.KEYS[table]
        self.columns = ("agreement_id", "voided", *self.COLUMNS[table])

    def check_inserts(self, session: Session, node: Any,
                      rows: list[dict[str, Any]]) -> dict[int, Any]:
        live = [(n, row) for n, row in enumerate(rows)
                if row.get("agreement_id") is not None and not row.get("voided")]
        signed = self._signed_contents(session, {row["agreement_id"] for _n, row in live})
        if not signed:
            return {}
        codes = self._type_codes(session)
        allowed = {agreement_id: Counter(self._content_key(entry)
                                         for entry in content.get(self.section) or ()
                                         if isinstance(entry, dict))
                   for agreement_id, content in signed.items()}
        for row in self._live_rows(session, set(signed)):
            allowed[row["agreement_id"]][self._row_key(row, codes)] -= 1
        refusals = {}
        for n, row in live:
            terms = allowed.get(row["agreement_id"])
            if terms is None:
                continue
            key = self._row_key(row, codes)
            if terms[key] > 0:
                terms[key] -= 1
            else:
                refusals[n] = self.refusal()
        return refusals

    def check_update(self, session: Session, node: Any, current: dict[str, Any],
                     changes: dict[str, Any]) -> None:
        if self._signed_contents(session, {current.get("agreement_id")} - {None}):
            raise self.refusal()

    def check_delete(self, session: Session, node: Any, current: dict[str, Any]) -> None:
        self.check_update(session, node, current, {})

    @staticmethod
    def refusal() -> Rejected:
        return Rejected("signed_immutable", "A signed agreement's terms are never changed or "
                        "added to; make an amendment.")

    def _content_key(self, entry: dict[str, Any]) -> tuple:
        return tuple(str(entry.get(k)) if entry.get(k) is not None else None
                     for k in self.content_keys)

    def _row_key(self, row: dict[str, Any], codes: dict[Any, str]) -> tuple:
        values = [row.get(c) for c in self.COLUMNS[self.table]]
        if self.table != "signatures":
            values[0] = codes.get(values[0])
        if self.table == "agreement_benefits" and values[1] is not None:
            values[1] = Decimal(values[1]).quantize(Decimal("0.01"))
        return tuple(str(v) if v is not None else None for v in values)

    @staticmethod
    def _signed_contents(session: Session, agreement_ids: set[Any]) -> dict[Any, dict]:
        """The signed content of those agreements central holds signed."""
        from fieldapp.agreements.models import Agreement

        if not agreement_ids:
            return {}
        return {row.id: row.signed_content or {} for row in session.execute(
            select(Agreement.id, Agreement.signed_content).where(
                Agreement.id.in_(list(agreement_ids)), Agreement.content_hash.is_not(None)))}

    def _live_rows(self, session: Session, agreement_ids: set[Any]) -> list[dict[str, Any]]:
        from fieldapp.agreements.models import AgreementBenefit, AgreementCommitment, Signature

        model = {"agreement_commitments": AgreementCommitment,
                 "agreement_benefits": AgreementBenefit, "signatures": Signature}[self.table]
        cols = [model.__table__.c[c] for c in ("agreement_id", *self.COLUMNS[self.table])]
        return [dict(row._mapping) for row in session.execute(
            select(*cols).where(model.agreement_id.in_(list(agreement_ids)),
                                model.voided.is_(False)))]

    def _type_codes(self, session: Session) -> dict[Any, str]:
        """Catalogue ids to codes (the signed content names an entry by its code)."""
        from fieldapp.agreements.models import BenefitType, CommitmentType

        model = {"agreement_commitments": CommitmentType,
                 "agreement_benefits": BenefitType}.get(self.table)
        if model is None:
            return {}
        return dict(session.execute(select(model.id, model.code)).all())


class GrievanceRules(CodeRules):
    """Grievances: a new one is received (its code the node's), its steps follow the workflow
    from central's status (:mod:`fieldapp.grievances.rules`), and it is never deleted; whether
    it is confidential, its family and community never change (a confidential one is never sent
    to nodes: a node holding a copy made before a change would keep it)."""

    FIXED = ("confidential", "family_id", "community_id", "status_token")

    def __init__(self) -> None:
        super().__init__("code", ("status", *self.FIXED))

    def row_refusal(self, row: dict[str, Any]) -> Rejected | None:
        if row.get("status") != "received":
            return Rejected("grievance_transition", "A new grievance is received; its later "
                            "steps come as changes.")
        return None

    def check_update(self, session: Session, node: Any, current: dict[str, Any],
                     changes: dict[str, Any]) -> None:
        from fieldapp.grievances.rules import may_move

        super().check_update(session, node, current, changes)
        if any(column in changes and changes[column] != current.get(column)
               for column in self.FIXED):
            raise self.kept()
        status = changes.get("status")
        if status is not None and status != current.get("status") and not may_move(
                current.get("status"), status):
            raise Rejected("grievance_transition",
                           f"A grievance that is {current.get('status')} cannot become {status}.")

    def check_delete(self, session: Session, node: Any, current: dict[str, Any]) -> None:
        raise self.kept()

    @staticmethod
    def kept() -> Rejected:
        return Rejected("grievance_kept", "A grievance is never deleted, and whether it is "
                        "confidential, whose it is and its code never change.")


class GrievanceStepRules(TableRules):
    """A grievance's steps: events, never deleted; a step carries its grievance's confidential
    flag (so that central withholds it with the grievance)."""

    columns = ("grievance_id", "confidential")

    def check_inserts(self, session: Session, node: Any,
                      rows: list[dict[str, Any]]) -> dict[int, Any]:
        from fieldapp.grievances.models import Grievance

        ids = {row.get("grievance_id") for row in rows} - {None}
        flags = dict(session.execute(select(Grievance.id, Grievance.confidential).where(
            Grievance.id.in_(list(ids)))).all()) if ids else {}
        return {n: GrievanceRules.kept() for n, row in enumerate(rows)
                if row.get("grievance_id") in flags
                and bool(row.get("confidential")) != bool(flags[row["grievance_id"]])}

    def check_delete(self, session: Session, node: Any, current: dict[str, Any]) -> None:
        raise GrievanceRules.kept()


class AttachmentRules(TableRules):
    """Photos and scans: a new one keeps the rules of a form's upload
    (:func:`fieldapp.media.rules.check_attachment`) and names a record that exists, of the
    family it names; it is never deleted, only its caption changes, and a void (with its
    reason) is never undone."""

    columns = ("family_id", "owner_table", "owner_id", "kind", "caption", "sha256", "mime",
               "size", "width", "height", "lat", "lon")

    def check_inserts(self, session: Session, node: Any,
                      rows: list[dict[str, Any]]) -> dict[int, Any]:
        from flask import current_app

        from fieldapp.families.models import Family
        from fieldapp.media.owners import owner_families
        from fieldapp.media.rules import check_attachment

        limit = current_app.config["MEDIA_MAX_STORED_BYTES"]
        refused: dict[int, Any] = {}
        for n, row in enumerate(rows):
            try:
                check_attachment(row, limit)
            except ValidationFailed as error:
                refused[n] = Rejected("invalid_attachment", str(error.message))
        families = owner_families(session, {(r["owner_table"], r.get("owner_id"))
                                            for n, r in enumerate(rows) if n not in refused})
        merged = set(session.execute(select(Family.id).where(
            Family.id.in_([r.get("family_id") for r in rows if r.get("family_id")]),
            Family.merged_into_id.is_not(None))).scalars())
        for n, row in enumerate(rows):
            if n in refused:
                continue
            owner_family = families.get((row["owner_table"], row.get("owner_id")))
            if owner_family is None or (owner_family != row.get("family_id")
                                        and row.get("family_id") not in merged):
                refused[n] = Rejected("invalid_attachment",
                                      "An attachment must belong to a record of its family.")
        return refused

    def check_update(self, session: Session, node: Any, current: dict[str, Any],
                     changes: dict[str, Any]) -> None:
        from flask import current_app

        from fieldapp.media.rules import check_attachment

        try:
            check_attachment({**current, **changes}, current_app.config["MEDIA_MAX_STORED_BYTES"])
        except ValidationFailed as error:
            raise Rejected("invalid_attachment", str(error.message)) from None
        after = {**current, **changes}
        if current.get("voided") and not after.get("voided"):
            raise Rejected("attachment_kept", "A voided attachment stays voided.")
        if after.get("voided") and not (isinstance(after.get("void_reason"), str)
                                        and after["void_reason"].strip()):
            raise Rejected("invalid_attachment", "A voided attachment says why.")

    def check_delete(self, session: Session, node: Any, current: dict[str, Any]) -> None:
        raise Rejected("attachment_kept", "An attachment is never deleted.")
#: How far (a fraction) a pushed plot's area may be from central's measure of its boundary.
AREA_AGREEMENT = 0.005


def plot_refusal(row: dict[str, Any], area_column: str = "area_ha") -> Rejected | None:
    """A plot (or boundary version) whose values break the form's rules
    (:func:`fieldapp.plots.operations.check_plot_values`: the same messages), or whose area is
    not its boundary's geodesic area."""
    from fieldapp.plots.geometry import check_accuracies
    from fieldapp.plots.operations import check_plot_values

    try:
        checked = check_plot_values({**row, "accuracies": None})
        check_accuracies(row.get("accuracies"))
    except ValidationFailed as error:
        field = error.details.get("field")
        return Rejected("invalid", f"{field}: {error.message}")
    except (TypeError, ValueError, ArithmeticError, KeyError):  # a value of another type
        return Rejected("invalid", "A value is not valid.")
    area = row.get(area_column)
    if checked is None:
        return None if area is None else Rejected("invalid", "An area without a boundary.")
    if not isinstance(area, int | float) or abs(area - checked.area_ha) > \
            AREA_AGREEMENT * checked.area_ha:
        return Rejected("area_mismatch", f"The area ({area} ha) is not the boundary's "
                        f"({checked.area_ha} ha).")
    return None


class PlotRules(TableRules):
    """Plots: the form's checks on new rows and on the result of a change (name, declared
    hectares, a boundary that passes the geometry rules, its area measured again)."""

    columns = ("name", "declared_ha", "boundary", "accuracies", "area_ha", "method")

    def check_inserts(self, session: Session, node: Any,
                      rows: list[dict[str, Any]]) -> dict[int, Any]:
        refusals = {}
        for n, row in enumerate(rows):
            refusal = plot_refusal(row)
            if refusal is not None:
                refusals[n] = refusal
        return refusals

    def check_update(self, session: Session, node: Any, current: dict[str, Any],
                     changes: dict[str, Any]) -> None:
        if changes.keys() & set(self.columns):
            refusal = plot_refusal({**current, **changes})
            if refusal is not None:
                raise refusal


class PlotBoundaryRules(TableRules):
    """A plot's boundary versions: events (never changed but their time, never deleted), each
    passing the geometry rules with its area measured again."""

    columns = ("boundary", "accuracies", "area_ha", "method")

    def check_inserts(self, session: Session, node: Any,
                      rows: list[dict[str, Any]]) -> dict[int, Any]:
        refusals = {}
        for n, row in enumerate(rows):
            refusal = plot_refusal({**row, "name": "-"})
            if refusal is not None:
                refusals[n] = refusal
        return refusals

    def check_delete(self, session: Session, node: Any, current: dict[str, Any]) -> None:
        raise Rejected("history_kept", "A plot's boundary history is never deleted.")


class AlertCheckRules(TableRules):
    """Alerts to verify are made on central (from imported alerts); a node only answers them,
    through the answer columns (:func:`fieldapp.plots.alerts.answer_refusal`)."""

    ANSWER = frozenset({"status", "answer", "cleared_ha", "visit_id", "answered_on",
                        "answered_by", "updated_at", "version"})
    columns = ("id",)

    def check_inserts(self, session: Session, node: Any,
                      rows: list[dict[str, Any]]) -> dict[int, Any]:
        refusal = Rejected("central_only", "Alerts to verify are made on central.")
        return dict.fromkeys(range(len(rows)), refusal)

    def check_update(self, session: Session, node: Any, current: dict[str, Any],
                     changes: dict[str, Any]) -> None:
        if set(changes) - self.ANSWER:
            raise Rejected("central_only", "A node only answers an alert to verify.")
        from fieldapp.plots.checks import answer_problem

        problem = answer_problem({**current, **changes})
        if problem is not None:
            raise Rejected("invalid", str(problem))

    def check_delete(self, session: Session, node: Any, current: dict[str, Any]) -> None:
        raise Rejected("central_only", "Alerts to verify are made and kept on central.")
