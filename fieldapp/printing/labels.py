"""The printed words, translated once per document (or batch) into the language asked for.

The PDF builders are pure: they take these dictionaries, never the request's locale, so a
coordinator reading the app in English can print Spanish copies for the families.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

#: Locale used by babel for dates and numbers of each printing language.
FORMAT_LOCALES = {"es": "es_PE", "en": "en_GB"}
LANGUAGES = ("es", "en")


def _translated(lang: str, build: Callable[[], dict[str, str]]) -> dict[str, Any]:
    with force_locale(lang):
        labels: dict[str, Any] = build()
    labels["_lang"] = lang
    labels["_locale"] = FORMAT_LOCALES[lang]
    labels["_program"] = current_app.config["PROGRAM_NAME"]
    labels["_tz"] = current_app.config["PROGRAM_TIMEZONE"]
    return labels


def _common() -> dict[str, str]:
    return {
        "page": _("Page %(page)s of", page="{page}"),
        "community": _("Community"),
        "dni": _("DNI"),
        "no_dni": _("no DNI"),
        "family_code": _("Family code"),
        "signature_or_thumbprint": _("Signature or thumbprint"),
        "name": _("Name"),
        "date": _("Date"),
        "place": _("Place"),
    }


def agreement_labels(lang: str) -> dict[str, Any]:
    """Every word of the agreement PDF in ``lang`` (``es`` or ``en``)."""

    def build() -> dict[str, str]:
        return _common() | {
            "title": _("Conservation agreement"),
            "number": _("Agreement No. %(number)s", number="{number}"),
            "version": _("Version %(version)s", version="{version}"),
            "kind_original": _("Original agreement"),
            "kind_renewal": _("Renewal of %(number)s", number="{number}"),
            "kind_amendment": _("Amendment of %(number)s", number="{number}"),
            "kind_renewal_plain": _("Renewal"),
            "kind_amendment_plain": _("Amendment"),
            "period": _("Period: %(start)s to %(end)s", start="{start}", end="{end}"),
            "parties_heading": _("1. The parties"),
            "family_party": _("The family, represented by"),
            "organisation": _("Implementing organisation"),
            "authority": _("Authority"),
            "intro": _(
                "The parties enter into this voluntary conservation agreement for the period "
                "from %(start)s to %(end)s, on the following terms.",
                start="{start}", end="{end}",
            ),
            "commitments_heading": _("2. Commitments of the family"),
            "commitments_intro": _("The family commits to:"),
            "no_commitments": _("No commitments recorded."),
            "benefits_heading": _("3. Benefits"),
            "benefits_intro": _("In return, the program commits to deliver to the family:"),
            "benefit": _("Benefit"),
            "quantity": _("Quantity"),
            "schedule": _("Schedule"),
            "no_benefits": _("No benefits recorded."),
            "sanctions_heading": _("4. Sanctions"),
            "sanctions_text": _(
                "If the family does not keep a commitment, the program applies graduated "
                "sanctions after a monitoring visit and the confirmation of a coordinator: a "
                "written warning; reduced benefits; suspension of the agreement and its "
                "deliveries; and, for repeated breaches, termination of the agreement. The family "
                "may give its account before each decision."
            ),
            "renewal_heading": _("5. Term and renewal"),
            "renewal_text": _(
                "This agreement is in force for the period stated above. It may be renewed for a "
                "new period when both parties wish it and the family has kept its commitments. Any "
                "change is made through a signed amendment or renewal that replaces this version; "
                "a signed version is never altered."
            ),
            "signatures_heading": _("6. Signatures"),
            "signed_at": _("Signed at %(place)s on %(date)s.", place="{place}", date="{date}"),
            "sign_here": _("In witness of their agreement, the parties sign below."),
            "role_family": _("Family representative"),
            "role_staff": _("For the program"),
            "role_witness": _("Witness"),
            "signed_on_tablet": _("Signed on the tablet, %(date)s, %(place)s",
                                  date="{date}", place="{place}"),
            "verify_heading": _("Verify this copy"),
            "verify_text": _(
                "Scan the QR code, or open the address below, to check that this copy is the "
                "registered signed version of the agreement."
            ),
            "fingerprint": _("Content fingerprint (SHA-256)"),
            "fingerprint_short": _("Fingerprint %(hash)s", hash="{hash}"),
            "scan_heading": _("Scan of the signed paper copy, page %(n)s of %(count)s",
                              n="{n}", count="{count}"),
            "draft_mark": _("DRAFT — NOT VALID"),
            "draft_text": _(
                "This is a draft. It has no value until it is signed and registered; a signed "
                "copy carries a QR code to verify it."
            ),
        }

    return _translated(lang, build)


def receipt_labels(lang: str) -> dict[str, Any]:
    """Every word of the delivery receipt in ``lang``."""

    def build() -> dict[str, str]:
        return _common() | {
            "title": _("Benefit delivery receipt"),
            "receipt_no": _("Receipt No. %(code)s", code="{code}"),
            "family": _("Family"),
            "agreement": _("Agreement"),
            "item": _("Item"),
            "quantity": _("Quantity"),
            "delivered_on": _("Delivered on"),
            "delivered_by": _("Delivered by"),
            "reversal": _("Reversal of delivery %(code)s", code="{code}"),
            "reason": _("Reason"),
            "statement": _(
                "I received the benefit described above, in good condition, as part of my "
                "conservation agreement."
            ),
            "received_by": _("Received by (family)"),
            "delivered_by_sign": _("Delivered by (program)"),
            "copy_family": _("Copy for the family"),
            "copy_program": _("Copy for the program"),
            "thumbprint": _("Thumbprint"),
            "photo_heading": _("Delivery %(code)s: photo %(n)s of %(count)s",
                               code="{code}", n="{n}", count="{count}"),
        }

    return _translated(lang, build)


def attendance_labels(lang: str) -> dict[str, Any]:
    """Every word of the training attendance sheet in ``lang``."""

    def build() -> dict[str, str]:
        return _common() | {
            "title": _("Training attendance sheet"),
            "session": _("Session"),
            "topic": _("Topic"),
            "trainer": _("Trainer"),
            "hours": _("Hours"),
            "no": _("No."),
            "head_of_household": _("Head of household"),
            "attendee": _("Attendee (if not the head)"),
            "attended": _("Registered"),
            "trainer_signature": _("Trainer's signature"),
            "no_families": _("This community has no families yet."),
        }

    return _translated(lang, build)


def card_labels(lang: str) -> dict[str, Any]:
    """Every word of the family QR cards in ``lang``."""

    def build() -> dict[str, str]:
        return _common() | {
            "card_title": _("Conservation agreement family card"),
            "card_hint": _("Show this card at deliveries and trainings."),
        }

    return _translated(lang, build)


def grievance_slip_labels(lang: str = "es") -> dict[str, Any]:
    """Every word of a grievance's receipt slip in ``lang`` (the family's copy: Spanish)."""

    def build() -> dict[str, str]:
        return _common() | {
            "title": _("Grievance received"),
            "code": _("Grievance No. %(code)s", code="{code}"),
            "family": _("Family"),
            "anonymous": _("Anonymous"),
            "category": _("Category"),
            "received_on": _("Received on"),
            "answer_due": _("Answer due by"),
            "statement": _(
                "The program received your grievance and will answer it by the date above. "
                "Keep this slip: its code identifies your grievance."
            ),
            "check": _("Scan the code to see its status and dates (nothing else is shown)."),
            "contact": _("Program contact"),
        }

    return _translated(lang, build)
