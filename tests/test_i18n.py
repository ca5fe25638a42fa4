"""Spanish first: every user-facing string has a Spanish translation; locale formats."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from fieldapp.i18n import REGIONS

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "fieldapp" / "translations" / "es" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "lazy_ngettext": (1, 2)}
METHODS = [("**.py", "python"), ("**.html", "jinja2")]


def _source_messages() -> set[str]:
    found: set[str] = set()
    for folder in ("fieldapp", "sync", "templates"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / folder, METHODS, keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return {m for m in found if m}


def test_every_message_has_a_spanish_translation():
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="es")
    translated = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translated[key] = all(strings) and not message.fuzzy
    missing = sorted(m for m in _source_messages() if not translated.get(m))
    assert missing == [], f"untranslated (run tools/i18n_fill.py): {missing[:20]}"


def test_spanish_is_the_default(client, auth):
    auth.login()
    html = client.get("/families/").get_data(as_text=True)
    assert '<html lang="es">' in html
    assert "Registrar familia" in html


def test_browser_language_is_used_before_login(client):
    html = client.get("/auth/login", headers={"Accept-Language": "en-GB,en;q=0.9"}
                      ).get_data(as_text=True)
    assert "Log in" in html
    assert '<html lang="en">' in html
    html = client.get("/auth/login", headers={"Accept-Language": "qu,fr"}).get_data(as_text=True)
    assert "Iniciar sesión" in html


def select_locale_for(language: str) -> str:
    return REGIONS.get(language, language)


def test_dates_and_numbers_follow_the_locale(app):
    from flask_babel import force_locale

    with app.test_request_context():
        render = app.jinja_env.from_string("{{ d|date('long') }} · {{ n|number }}").render
        with force_locale(select_locale_for("es")):  # Peru: 1,234.5
            assert render(d=date(2026, 3, 5), n=1234.5) == "5 de marzo de 2026 · 1,234.5"
        with force_locale("en"):
            assert render(d=date(2026, 3, 5), n=1234.5) == "March 5, 2026 · 1,234.5"


def test_translations_keep_placeholders_and_hold_no_english_message():
    """A merge of the catalogue can glue two entries together; each entry must stand alone."""
    import re

    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="es")
    english = {m.id for m in catalog if isinstance(m.id, str) and len(m.id) > 30}
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\(\w+\)[sd]", ids[0]))
        for string in strings:
            assert set(re.findall(r"%\(\w+\)[sd]", string)) == wanted, ids[0]
            assert not any(e in string for e in english if e != ids[0]), ids[0]


def test_a_count_in_a_sentence_is_grouped_like_every_number(app):
    """"1,033 familias" in a sentence, as the |number filter writes it (not "1033 familias")."""
    from flask_babel import force_locale

    with app.test_request_context():
        render = app.jinja_env.from_string(
            "{{ ngettext('%(num)d family', '%(num)d families', n) }} · {{ n|number }} · "
            "{{ ngettext('%(num)d agreement due for renewal in the next %(days)d days', "
            "'%(num)d agreements due for renewal in the next %(days)d days', n, days=30) }}"
        ).render
        with force_locale(select_locale_for("es")):
            assert render(n=1033) == ("1,033 familias · 1,033 · 1,033 acuerdos por renovar en "
                                      "los próximos 30 días")
            assert render(n=1).startswith("1 familia · 1 ·")
        with force_locale("en"):
            assert render(n=1033).startswith("1,033 families · 1,033")


def test_times_are_shown_in_the_program_time_zone_never_utc(app):
    """A signature at 01:30 UTC on 6 March is 20:30 on 5 March in Lima: page and PDF agree."""
    from datetime import UTC, datetime

    from flask_babel import force_locale

    from fieldapp.printing.layout import fmt_date

    assert app.config["PROGRAM_TIMEZONE"] == "America/Lima"
    at = datetime(2026, 3, 6, 1, 30, tzinfo=UTC)
    with app.test_request_context():
        render = app.jinja_env.from_string("{{ at|datetime('medium') }} | {{ at|date }}").render
        with force_locale(select_locale_for("es")):
            text = render(at=at)
    assert text == "5 mar. 2026, 8:30:00\u202fp.\u202fm. | 5 mar. 2026"
    with app.app_context():
        assert fmt_date(at, "es_PE", tz=app.config["PROGRAM_TIMEZONE"]) == "5 de marzo de 2026"
        app.config["PROGRAM_TIMEZONE"] = "UTC"  # the setting is the one source
        assert fmt_date(at, "es_PE") == "6 de marzo de 2026"
