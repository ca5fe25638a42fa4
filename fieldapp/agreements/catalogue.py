"""The program's default commitment and benefit catalogues (admins edit them later)."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldapp.agreements.models import BENEFIT_CATEGORIES, BenefitType, CommitmentType
from fieldapp.audit.operations import record, snapshot
from fieldapp.errors import AppError, ValidationFailed
from fieldapp.extensions import db
from fieldapp.formatting import UnitForms
from fieldapp.formatting import quantity_with_unit as format_quantity_with_unit

COMMITMENTS = [
    ("no_clearing", "No talar ni quemar bosque primario dentro del Bosque de Protección Alto Mayo.",
     "Do not clear or burn primary forest inside the Alto Mayo Protected Forest."),
    ("no_hunting", "No cazar ni comerciar especies amenazadas de fauna silvestre.",
     "Do not hunt or trade threatened wildlife species."),
    ("no_pollution", "No contaminar el agua ni el suelo con agroquímicos o residuos.",
     "Do not pollute water or soil with agrochemicals or waste."),
    ("no_expansion", "No ampliar la parcela agrícola sobre áreas de bosque.",
     "Do not expand the farm plot into forest areas."),
    ("patrol_support", "Apoyar las patrullas de vigilancia y reportar actividades ilegales.",
     "Support surveillance patrols and report illegal activities."),
    ("attend_trainings", "Participar en las capacitaciones programadas.",
     "Take part in the scheduled trainings."),
    ("agroforestry", "Aplicar prácticas de café bajo sombra (agroforestería) en la parcela.",
     "Apply shade-grown coffee (agroforestry) practices on the plot."),
]

# (code, category, name es, name en, unit forms: one es, other es, one en, other en); the
# default unit (what a new draft proposes) is the Spanish plural.
BENEFITS = [
    ("coffee_training", "training", "Capacitación en café agroforestal",
     "Agroforestry coffee training", ("sesión", "sesiones", "session", "sessions")),
    ("technical_assistance", "technical_assistance", "Asistencia técnica en parcela",
     "On-farm technical assistance", ("visita", "visitas", "visit", "visits")),
    ("school_kits", "educational_materials", "Kit de útiles escolares", "School supplies kit",
     ("kit", "kits", "kit", "kits")),
    ("medical_kit", "medical_supplies", "Botiquín familiar", "Family first-aid kit",
     ("botiquín", "botiquines", "first-aid kit", "first-aid kits")),
    ("coffee_seedlings", "seedlings", "Plantones de café", "Coffee seedlings",
     ("plantón", "plantones", "seedling", "seedlings")),
    ("shade_seedlings", "seedlings", "Plantones forestales de sombra", "Shade tree seedlings",
     ("plantón", "plantones", "seedling", "seedlings")),
    ("cookstove", "cookstove", "Cocina mejorada", "Improved cookstove",
     ("unidad", "unidades", "unit", "units")),
]
UNIT_FORM_FIELDS = ("unit_one_es", "unit_other_es", "unit_one_en", "unit_other_en")


def default_entries() -> dict[str, dict[str, dict[str, Any]]]:
    """The default entries as values, by table and code: what :func:`seed_catalogues` adds, and
    the only catalogue entries central takes from a node (the catalogues are central's)."""
    return {
        CommitmentType.__tablename__: {
            code: {"code": code, "text_es": es, "text_en": en, "position": position,
                   "active": True}
            for position, (code, es, en) in enumerate(COMMITMENTS)},
        BenefitType.__tablename__: {
            code: {"code": code, "category": category, "name_es": es, "name_en": en,
                   "default_unit": units[1], **dict(zip(UNIT_FORM_FIELDS, units, strict=True)),
                   "position": position, "active": True}
            for position, (code, category, es, en, units) in enumerate(BENEFITS)},
    }


def seed_catalogues() -> tuple[int, int]:
    """Add the default catalogue entries that are missing; returns how many of each were added."""
    have_c = set(db.session.execute(select(CommitmentType.code)).scalars())
    have_b = set(db.session.execute(select(BenefitType.code)).scalars())
    added_c = added_b = 0
    defaults = default_entries()
    for code, values in defaults[CommitmentType.__tablename__].items():
        if code not in have_c:
            db.session.add(CommitmentType(**values))
            added_c += 1
    for code, values in defaults[BenefitType.__tablename__].items():
        if code not in have_b:
            db.session.add(BenefitType(**values))
            added_b += 1
    db.session.flush()
    return added_c, added_b


# -- admins edit the catalogues -----------------------------------------------------------------
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
COMMITMENT_FIELDS = ("text_es", "text_en", "position", "active")
BENEFIT_FIELDS = ("category", "name_es", "name_en", *UNIT_FORM_FIELDS, "position", "active")


def _clean_entry(data: dict[str, Any], fields: tuple[str, ...], texts: tuple[str, ...]) -> dict:
    clean: dict[str, Any] = {}
    for key in fields:
        value = data.get(key)
        if isinstance(value, str):
            value = " ".join(value.split())
        clean[key] = value
    for key in texts:
        if not clean.get(key):
            raise ValidationFailed(_l("This field is required."), field=key)
    position = clean.get("position")
    if not isinstance(position, int) or not 0 <= position <= 999:
        raise ValidationFailed(_l("Between 0 and 999."), field="position")
    clean["active"] = bool(clean.get("active"))
    return clean


def _check_code(model: type, code: Any) -> str:
    code = (code or "").strip()
    if not CODE_PATTERN.fullmatch(code):
        raise ValidationFailed(
            _l("Lower-case letters, digits and _ (2 to 40), starting with a letter."), field="code")
    if db.session.execute(select(model.id).where(model.code == code)).first() is not None:
        raise ValidationFailed(_l("This code is already in the catalogue."), field="code")
    return code


class CatalogueIsCentral(AppError):
    """A catalogue change on a field node enrolled with central (central would refuse it)."""

    code = "central_catalogue"
    status = 409
    message = _l("The catalogues are changed on central: this node is enrolled with it, and "
                 "central would refuse a change made here.")


def check_catalogue_writable() -> None:
    """Refuse a catalogue change on a field node enrolled with central.

    The catalogues are the program's (central's alone: a node's change is refused there as
    ``central_catalogue``, see ``fieldapp.nodes.rules.CatalogueRules``); a node that is not
    enrolled (a pilot, the demo) keeps its own.

    :raises CatalogueIsCentral: this is an enrolled field node.
    """
    if current_app.config["ROLE"] != "field":
        return
    from sync.node.transport import load_credentials

    if load_credentials(current_app.extensions["sync"]) is not None:
        raise CatalogueIsCentral()


def create_commitment_type(data: dict[str, Any]) -> CommitmentType:
    """Add a commitment to the catalogue (Spanish and English texts are both required).

    :raises ValidationFailed: a missing text, a malformed or taken code.
    """
    check_catalogue_writable()
    code = _check_code(CommitmentType, data.get("code"))
    clean = _clean_entry(data, COMMITMENT_FIELDS, ("text_es", "text_en"))
    entry = CommitmentType(code=code, **clean)
    db.session.add(entry)
    record("create", entry)
    return entry


def update_commitment_type(entry: CommitmentType, data: dict[str, Any]) -> CommitmentType:
    """Change a commitment's texts, order or availability (signed agreements keep theirs)."""
    check_catalogue_writable()
    clean = _clean_entry(data, COMMITMENT_FIELDS, ("text_es", "text_en"))
    before = snapshot(entry)
    for key, value in clean.items():
        setattr(entry, key, value)
    record("update", entry, before=before)
    return entry


def _check_benefit(clean: dict[str, Any]) -> None:
    """The category, and the unit's forms: both Spanish ones (at most 30 characters), English
    ones optional (an empty one is stored as none); the default unit a new draft proposes is
    the Spanish plural."""
    if clean.get("category") not in BENEFIT_CATEGORIES:
        raise ValidationFailed(_l("Choose a category."), field="category")
    for key in UNIT_FORM_FIELDS:
        value = clean.get(key) or None
        if value is None and key.endswith("_es"):
            raise ValidationFailed(_l("Write the unit (at most 30 characters)."), field=key)
        if value is not None and len(value) > 30:
            raise ValidationFailed(_l("Write the unit (at most 30 characters)."), field=key)
        clean[key] = value
    clean["default_unit"] = clean["unit_other_es"]


def create_benefit_type(data: dict[str, Any]) -> BenefitType:
    """Add a benefit to the catalogue.

    :raises ValidationFailed: a missing name, Spanish unit form or category, a malformed or
        taken code.
    """
    check_catalogue_writable()
    code = _check_code(BenefitType, data.get("code"))
    clean = _clean_entry(data, BENEFIT_FIELDS, ("name_es", "name_en"))
    _check_benefit(clean)
    entry = BenefitType(code=code, **clean)
    db.session.add(entry)
    record("create", entry)
    return entry


def update_benefit_type(entry: BenefitType, data: dict[str, Any]) -> BenefitType:
    """Change a benefit's names, unit, category, order or availability."""
    check_catalogue_writable()
    clean = _clean_entry(data, BENEFIT_FIELDS, ("name_es", "name_en"))
    _check_benefit(clean)
    before = snapshot(entry)
    for key, value in clean.items():
        setattr(entry, key, value)
    record("update", entry, before=before)
    return entry


# -- quantities with their units ----------------------------------------------------------------
def unit_catalogue(session: Session | None = None) -> tuple[UnitForms, ...]:
    """Every catalogue unit's forms (inactive entries too: old records use them), read once per
    request.

    :param session: a batch's own session (printing a community's agreements); the app's
        otherwise.
    """
    if session is None and has_request_context() and "unit_catalogue" in g:
        return g.unit_catalogue
    rows = (session or db.session).execute(
        select(BenefitType).order_by(BenefitType.position, BenefitType.code)).scalars()
    found = tuple(row.unit_forms() for row in rows)
    if session is None and has_request_context():
        g.unit_catalogue = found
    return found


def quantity_with_unit(quantity: Any, benefit_type_or_unit: BenefitType | str | None,
                       locale: str | None = None) -> str:
    """A quantity and its unit in the reader's number and language ("1 kit", "3 botiquines"):
    a benefit type's own unit forms, or a record's unit text matched with the catalogue's
    forms (other text shown as typed). See :func:`fieldapp.formatting.quantity_with_unit`."""
    if isinstance(benefit_type_or_unit, BenefitType):
        return format_quantity_with_unit(quantity, benefit_type_or_unit.unit_forms(), locale)
    return format_quantity_with_unit(quantity, benefit_type_or_unit, locale, unit_catalogue())
