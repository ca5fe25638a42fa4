"""The program's default commitment and benefit catalogues (admins edit them later)."""

from __future__ import annotations

from sqlalchemy import select

from fieldapp.agreements.models import BenefitType, CommitmentType
from fieldapp.extensions import db

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

BENEFITS = [
    ("coffee_training", "training", "Capacitación en café agroforestal", "Agroforestry coffee training",
     "sesiones"),
    ("technical_assistance", "technical_assistance", "Asistencia técnica en parcela",
     "On-farm technical assistance", "visitas"),
    ("school_kits", "educational_materials", "Kit de útiles escolares", "School supplies kit", "kits"),
    ("medical_kit", "medical_supplies", "Botiquín familiar", "Family first-aid kit", "botiquines"),
    ("coffee_seedlings", "seedlings", "Plantones de café", "Coffee seedlings", "plantones"),
    ("shade_seedlings", "seedlings", "Plantones forestales de sombra", "Shade tree seedlings",
     "plantones"),
    ("cookstove", "cookstove", "Cocina mejorada", "Improved cookstove", "unidades"),
]


def seed_catalogues() -> tuple[int, int]:
    """Add the default catalogue entries that are missing; returns how many of each were added."""
    have_c = set(db.session.execute(select(CommitmentType.code)).scalars())
    have_b = set(db.session.execute(select(BenefitType.code)).scalars())
    added_c = added_b = 0
    for position, (code, es, en) in enumerate(COMMITMENTS):
        if code not in have_c:
            db.session.add(CommitmentType(code=code, text_es=es, text_en=en, position=position))
            added_c += 1
    for position, (code, category, es, en, unit) in enumerate(BENEFITS):
        if code not in have_b:
            db.session.add(BenefitType(code=code, category=category, name_es=es, name_en=en,
                                       default_unit=unit, position=position))
            added_b += 1
    db.session.flush()
    return added_c, added_b
