"""The columns a register may have: the families export's, and the names people give them.

A header is recognised when, normalised (accents, case, spaces and punctuation away), it is
the export's column name or one of its usual names in Spanish; any other header is shown in
the preview, where the coordinator says which field it holds, or leaves it out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l

#: The fields an imported row may fill, with their label (the families export's names).
FIELDS: dict[str, Any] = {
    "family_code": _l("Family"),
    "head_given_names": _l("Given names"),
    "head_surname": _l("Surnames"),
    "community_code": _l("Community code"),
    "community_name": _l("Community"),
    "dni": _l("DNI"),
    "members_count": _l("Household members"),
    "phone": _l("Phone"),
    "lat": _l("Latitude"),
    "lon": _l("Longitude"),
    "plot_name": _l("Plot"),
    "plot_ha": _l("Plot (ha)"),
    "forest_ha": _l("Forest (ha)"),
    "coffee_ha": _l("Coffee (ha)"),
    "data_consent": _l("Data-use consent"),
    "notes": _l("Notes"),
}
IGNORE = ""

#: Usual names of the fields in registers kept in Spanish (normalised).
ALIASES: dict[str, str] = {
    "codigo": "family_code", "codigofamilia": "family_code", "familia": "family_code",
    "nombres": "head_given_names", "nombre": "head_given_names",
    "nombresjefedehogar": "head_given_names", "nombresdeljefe": "head_given_names",
    "apellidos": "head_surname", "apellido": "head_surname",
    "apellidosjefedehogar": "head_surname", "apellidosdeljefe": "head_surname",
    "codigocomunidad": "community_code", "codcomunidad": "community_code",
    "comunidad": "community_name", "caserio": "community_name", "sector": "community_name",
    "dni": "dni", "documento": "dni", "nrodni": "dni", "numerodni": "dni",
    "miembros": "members_count", "integrantes": "members_count",
    "nmiembros": "members_count", "numerodemiembros": "members_count",
    "miembrosdelhogar": "members_count",
    "telefono": "phone", "celular": "phone", "movil": "phone",
    "latitud": "lat", "longitud": "lon",
    "parcela": "plot_name", "nombreparcela": "plot_name",
    "areaparcela": "plot_ha", "parcelaha": "plot_ha", "hectareas": "plot_ha",
    "bosqueha": "forest_ha", "bosque": "forest_ha", "cafeha": "coffee_ha", "cafe": "coffee_ha",
    "consentimiento": "data_consent", "consentimientodedatos": "data_consent",
    "notas": "notes", "observaciones": "notes",
}


def normalise(header: str) -> str:
    """``"Teléfono (celular)"`` → ``"telefonocelular"``."""
    text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]", "", text)


class Columns:
    """The fields a kind of file fills and the names its columns go by: a header is
    recognised by the field's own name or one of its ``aliases`` (normalised)."""

    def __init__(self, fields: dict[str, Any], aliases: dict[str, str]) -> None:
        self.fields = fields
        self.aliases = aliases
        self.exported = {normalise(name): name for name in fields}

    def guess(self, header: str | None) -> str:
        """The field a header names, or :data:`IGNORE`."""
        if not header:
            return IGNORE
        key = normalise(header)
        return self.exported.get(key) or self.aliases.get(key, IGNORE)

    def header_row(self, rows: Sequence[tuple[int, list[Any]]]) -> int:
        """Which of the first rows is the header: the one naming most fields (a merged title
        above the real headers is passed over)."""
        best, best_count = 0, -1
        for i, (_n, cells) in enumerate(rows):
            count = len({self.guess(str(c)) for c in cells if c is not None} - {IGNORE})
            if count > best_count:
                best, best_count = i, count
        return best


#: A register of families.
FAMILY_COLUMNS = Columns(FIELDS, ALIASES)
guess = FAMILY_COLUMNS.guess
header_row = FAMILY_COLUMNS.header_row
