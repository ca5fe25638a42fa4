"""Maintainers' helper: extract messages, update the Spanish catalogue, and apply translations.

    python tools/i18n_fill.py                 # extract + update; list untranslated msgids
    python tools/i18n_fill.py extra.json      # also apply {"msgid": "traducción", ...}

Plural entries take a list: {"%(num)d family": ["%(num)d familia", "%(num)d familias"]}.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "fieldapp/translations/es/LC_MESSAGES/messages.po"
POT = ROOT / "instance/messages.pot"


def main() -> int:
    POT.parent.mkdir(exist_ok=True)
    pybabel = [sys.executable, "-m", "babel.messages.frontend"]
    subprocess.run([*pybabel, "extract", "-F", "babel.cfg", "-k", "lazy_gettext", "-k", "_l",
                    "--no-location", "-o", str(POT), "."], cwd=ROOT, check=True,
                   capture_output=True)
    with POT.open("rb") as fh:
        template = read_po(fh)
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="es")
    catalog.update(template, no_fuzzy_matching=True)
    extra = json.loads(Path(sys.argv[1]).read_text()) if len(sys.argv) > 1 else {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        if key in extra:
            value = extra[key]
            message.string = tuple(value) if isinstance(message.id, tuple) else value
            message.flags.discard("fuzzy")
    catalog.obsolete.clear()
    with PO.open("wb") as fh:
        write_po(fh, catalog, width=100, omit_header=False, no_location=True, sort_output=True)
    missing = [m.id for m in catalog if m.id and not (m.string if not isinstance(m.string, tuple)
                                                       else all(m.string))]
    for msgid in missing:
        print("untranslated:", json.dumps(msgid, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
