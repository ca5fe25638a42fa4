"""One table of the labels people read for the values the app stores.

A status, a result, a kind, a field name or an error code is stored as a short English key
(``active``, ``breached``, ``members_count``, ``unreachable``); a person never reads the key. Every
screen, PDF and the tablet's offline cards look the key up here, through :func:`label` (the Jinja
filter ``label``, e.g. ``{{ agreement.status|label('agreement_status') }}``) or the same table
exported to the page scripts (:func:`client_labels`, read by ``static/js`` as ``P.label``).

To add a label: add the key to its kind below with ``_l("English text")``, add the Spanish
translation to ``fieldapp/translations/es/LC_MESSAGES/messages.po`` (``tools/i18n_fill.py``), and
show it with the ``label`` filter. ``tests/test_crawl_spanish.py`` takes the keys of this table as
the English words that may never reach a Spanish screen.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

LABELS: dict[str, dict[str, Any]] = {
    "agreement_status": {
        "draft": _l("draft"),
        "signed": _l("signed"),
        "active": _l("active"),
        "suspended": _l("suspended"),
        "completed": _l("completed"),
        "terminated": _l("terminated"),
        "superseded": _l("superseded"),
    },
    "agreement_kind": {
        "original": _l("original"),
        "amendment": _l("amendment"),
        "renewal": _l("renewal"),
    },
    "family_status": {
        "active": _l("active"),
        "withdrawn": _l("withdrawn"),
    },
    # Why a family left the program (families.models.WITHDRAWAL_REASONS).
    "withdrawal_reason": {
        "moved_away": _l("Moved away"),
        "deceased": _l("Deceased"),
        "consent_withdrawn": _l("Withdrew consent"),
        "other": _l("Other"),
    },
    "signer_role": {
        "family": _l("family"),
        "staff": _l("staff"),
        "witness": _l("witness"),
        "receipt": _l("receipt"),
    },
    "receipt_kind": {
        "signature": _l("signature"),
        "thumbprint_paper": _l("thumbprint on paper"),
        "none": _l("no receipt"),
    },
    "finding": {
        "met": _l("met"),
        "partial": _l("partly met"),
        "breached": _l("breached"),
        "not_checked": _l("not checked"),
    },
    # A family's compliance on the dashboard (its map and lists).
    "compliance_status": {
        "compliant": _l("Compliant"),
        "non_compliant": _l("Not compliant"),
        "not_visited": _l("Not visited yet"),
        "no_agreement": _l("No agreement in force"),
    },
    # Why the dashboard suspects a delivery was recorded twice.
    "duplicate_reason": {
        "same_day_same_quantity": _l("same benefit, day and quantity"),
        "flagged": _l("flagged by the sync (a delivery recorded on two nodes)"),
    },
    "sanction_level": {
        "warning": _l("warning"),
        "reduced_benefits": _l("reduced benefits"),
        "suspension": _l("suspension"),
        "termination": _l("termination"),
    },
    "sanction_status": {
        "proposed": _l("proposed"),
        "confirmed": _l("confirmed"),
        "dismissed": _l("dismissed"),
    },
    "benefit_category": {
        "training": _l("Training"),
        "technical_assistance": _l("Technical assistance"),
        "educational_materials": _l("Educational materials"),
        "medical_supplies": _l("Medical supplies"),
        "seedlings": _l("Seedlings"),
        "cookstove": _l("Improved cookstove"),
        "other": _l("Other"),
    },
    "user_role": {
        "field_staff": _l("Field staff"),
        "coordinator": _l("Coordinator"),
        "admin": _l("Administrator"),
    },
    "audit_action": {
        "create": _l("created"),
        "update": _l("changed"),
        "discard": _l("draft discarded"),
        "amend": _l("amendment drafted"),
        "renew": _l("renewal drafted"),
        "reverse": _l("delivery reversed"),
        "status:signed": _l("signed"),
        "status:active": _l("activated"),
        "status:suspended": _l("suspended"),
        "status:completed": _l("completed"),
        "status:terminated": _l("terminated"),
        "status:superseded": _l("superseded by an amendment"),
        "attendance:add": _l("attendance recorded"),
        "attendance:remove": _l("attendance removed"),
        "sanction:propose": _l("sanction proposed"),
        "sanction:confirm": _l("sanction confirmed"),
        "scan:attach": _l("scan of the signed copy attached"),
        "scan:void": _l("scan of the signed copy voided"),
        "void": _l("voided"),
        "sanction:dismiss": _l("sanction dismissed"),
        "revoke": _l("revoked"),
        "grievance:acknowledged": _l("grievance acknowledged"),
        "grievance:under_review": _l("grievance assigned for review"),
        "grievance:answered": _l("grievance answered"),
        "grievance:appealed": _l("grievance appealed"),
        "grievance:closed": _l("grievance closed"),
        "grievance:withdrawn": _l("grievance withdrawn"),
        "account:local": _l("local emergency account created on the node"),
        "account:left_scope": _l("account taken off the node (no longer in its scope)"),
        "account:replaced_by_central": _l("local account replaced by central's account"),
        "account:node_revoked": _l("account taken off the node (central revoked the node)"),
    },
    # A grievance's status (grievances.models.STATUSES); also the steps of its history.
    "grievance_status": {
        "received": _l("received"),
        "acknowledged": _l("acknowledged"),
        "under_review": _l("under review"),
        "answered": _l("answered"),
        "appealed": _l("appealed"),
        "closed": _l("closed"),
        "withdrawn": _l("withdrawn"),
    },
    # How a grievance arrived (grievances.models.CHANNELS).
    "grievance_channel": {
        "in_person": _l("in person"),
        "phone": _l("phone"),
        "letter": _l("letter"),
        "suggestion_box": _l("suggestion box"),
        "assembly": _l("community assembly"),
    },
    # The kind of record a grievance is about (grievances.models.RELATED_KINDS).
    "grievance_related": {
        "agreement": _l("agreement"),
        "delivery": _l("delivery"),
        "sanction": _l("sanction"),
        "visit": _l("compliance visit"),
    },
    # What an import's preview says of a row (fieldapp/imports/preview.py).
    "import_verdict": {
        "new": _l("new"),
        "existing": _l("already here"),
        "duplicate": _l("possible duplicate"),
        "invalid": _l("invalid"),
    },
    # What a record is, by its table.
    "record": {
        "families": _l("family"),
        "agreements": _l("agreement"),
        "signatures": _l("signature"),
        "benefit_deliveries": _l("delivery"),
        "attendance": _l("attendance"),
        "training_sessions": _l("training session"),
        "compliance_visits": _l("compliance visit"),
        "visit_findings": _l("visit finding"),
        "sanctions": _l("sanction"),
        "commitment_types": _l("catalogue commitment"),
        "benefit_types": _l("catalogue benefit"),
        "communities": _l("community"),
        "agreement_commitments": _l("agreement commitment"),
        "agreement_benefits": _l("promised benefit"),
        "users": _l("user"),
        "api_tokens": _l("API token"),
        "grievances": _l("grievance"),
        "grievance_steps": _l("grievance step"),
    },
    "conflict_kind": {
        "field": _l("same field changed on two sides"),
        "amendment": _l("two versions of one agreement"),
        "double_delivery": _l("suspected double delivery"),
        "duplicate_dni": _l("one DNI on two families"),
    },
    "conflict_status": {
        "open": _l("open"),
        "resolved": _l("resolved"),
    },
    # The sync log's steps and the direction of a quarantined operation.
    "sync_action": {
        "sync": _l("sync"),
        "push": _l("sending"),
        "pull": _l("receiving"),
        "handshake": _l("handshake"),
        "enroll": _l("enrolment"),
    },
    # A node's exchanges as central's log of that node names them.
    "central_log_action": {
        "handshake": _l("handshake"),
        "push": _l("changes received"),
        "pull": _l("changes sent"),
        "enroll": _l("enrolment"),
    },
    "direction": {
        "in": _l("received from central"),
        "out": _l("sent by this node"),
        "push": _l("sent by a node"),
        "pull": _l("received from central"),
    },
    # What a sync error means, in plain words (the engine's codes).
    "sync_error": {
        "unreachable": _l("Central did not answer (no connection?). Work continues here; "
                          "the node tries again by itself."),
        "bad_response": _l("The connection broke during the sync. The node tries again by "
                           "itself; what was already sent is kept."),
        "server_error": _l("Central had a problem and saved nothing of that step. "
                           "The node tries again by itself."),
        "bad_body": _l("The connection broke during the sync. The node tries again by itself."),
        "node_revoked": _l("Central revoked this node's access. Your changes are kept here; "
                           "ask an administrator to enrol the node again."),
        "bad_credential": _l("Central does not accept this node's credential. Ask an "
                             "administrator for a new enrolment code."),
        "unknown_node": _l("Central does not know this node. Ask an administrator for a new "
                           "enrolment code."),
        "schema_mismatch": _l("This node and central run different versions of fieldapp. "
                              "Update the one that is behind; your changes are kept here."),
        "protocol_unsupported": _l("This node and central run different versions of fieldapp. "
                                   "Update the one that is behind; your changes are kept here."),
        "not_enrolled": _l("This node is not enrolled with central yet."),
        "sequence_regressed": _l("This node's database seems restored from a backup. Ask an "
                                 "administrator to run “fieldapp node resequence”."),
        "central_regressed": _l("Central was restored from an old backup and lost changes this "
                                "node no longer keeps. Ask an administrator to run “fieldapp "
                                "node resend-all”."),
        "tls_failure": _l("Central's certificate could not be verified; nothing was sent."),
        "busy": _l("A sync is already running."),
        "sequence_gap": _l("Central expected other changes first. The node tries again by "
                           "itself."),
    },
    # Why central refused a record, in plain words.
    "refusal": {
        "out_of_scope": _l("It belongs to a community this node does not serve."),
        "missing_parent": _l("It refers to a record central does not have."),
        "missing_record": _l("Central does not have this record (it was refused earlier)."),
        "duplicate_key": _l("Another record already has this code or key."),
        "invalid": _l("A value is not valid."),
        "append_only": _l("Recorded events cannot be changed; record a correction instead."),
        "signed_immutable": _l("A signed agreement cannot be changed; make an amendment."),
        "seq_reused": _l("This change's number was already used for other data."),
        "unknown_table": _l("Central does not accept this kind of record."),
        "illegal_transition": _l("This status change is not allowed from the agreement's "
                                 "status on central."),
        "content_hash_mismatch": _l("The signed content does not match its content hash."),
        "central_only": _l("Only central sets this field."),
        "forged_origin": _l("The record names another node as its maker."),
        "forged_code": _l("The record's code does not carry this node's code."),
        "central_catalogue": _l("The catalogues are changed only on central, by an "
                                "administrator."),
        "version_set_aside": _l("This version was set aside when the conflict was resolved; "
                                "it cannot be activated."),
        "central_merge": _l("Families are merged only on central, by a coordinator."),
        "merged_family": _l("This family was merged into another on central; make the change on "
                            "that family."),
        "grievance_transition": _l("This step is not allowed from the grievance's status on "
                                   "central."),
        "grievance_kept": _l("A grievance is never deleted, and whether it is confidential, "
                             "whose it is and its code never change."),
    },
    # Field names of records (conflict screen, audit history).
    "field": {
        # An account's fields in the audit log of a node (fieldapp.nodes.accounts).
        "username": _l("User name"),
        "full_name": _l("Full name"),
        "role": _l("Role"),
        "account": _l("Account"),
        # A grievance's columns (grievances.models.Grievance), in its audit history.
        "channel": _l("How it arrived"),
        "description": _l("What the complaint is about"),
        "related_kind": _l("Related record (kind)"),
        "related_id": _l("Related record"),
        "confidential": _l("Confidential"),
        "staff_username": _l("Staff member concerned (a user)"),
        "staff_name": _l("Staff member concerned"),
        "received_on": _l("Received on"),
        "acknowledge_due_on": _l("Acknowledge by"),
        "answer_due_on": _l("Answer due by"),
        "due_on": _l("Current step due by"),
        "recorded_by": _l("Recorded by"),
        "assigned_username": _l("Held by (user)"),
        "assigned_name": _l("Held by"),
        "acknowledged_at": _l("Acknowledged at"),
        "answer": _l("Answer"),
        "action_taken": _l("What was done"),
        "answered_by_username": _l("Answered by (user)"),
        "answered_by_name": _l("Answered by"),
        "first_answered_at": _l("First answered at"),
        "first_answered_on": _l("First answered on"),
        "answered_at": _l("Answered at"),
        "appealed_at": _l("Appealed on"),
        "first_answered_by": _l("First answered by (user)"),
        "closed_at": _l("Ended on"),
        "closing_reason": _l("Reason"),
        "merged_into_id": _l("Merged into"),
        "withdrawn_reason": _l("Reason for leaving the program"),
        "withdrawn_on": _l("Left the program on"),
        "active": _l("Offered in new agreements"),
        "agreement_commitment_id": _l("Commitment"),
        "agreement_id": _l("Agreement"),
        "attendee_name": _l("Attendee"),
        "benefit_type_id": _l("Benefit"),
        "category": _l("Category"),
        "code": _l("Code"),
        "coffee_ha": _l("Coffee (ha)"),
        "commitment_type_id": _l("Commitment"),
        "commitments": _l("Commitments"),
        "benefits": _l("Benefits"),
        "community_id": _l("Community"),
        "conflict_flag": _l("Flagged conflict"),
        "consent_at": _l("Consent given on"),
        "content_hash": _l("Content hash"),
        "created_by_id": _l("Created by"),
        "created_by_name": _l("Created by"),
        "data_consent": _l("Data-use consent"),
        "decided_at": _l("Decided on"),
        "decided_by_id": _l("Decided by"),
        "decided_by_name": _l("Decided by"),
        "decision_notes": _l("Decision notes"),
        "default_unit": _l("Unit"),
        "delivered_by_id": _l("Delivered by"),
        "delivered_by_name": _l("Delivered by"),
        "delivered_on": _l("Delivered on"),
        "delivery_id": _l("Delivery"),
        "district": _l("District"),
        "dni": _l("DNI"),
        "duration_hours": _l("Duration (hours)"),
        "family_id": _l("Family"),
        "findings": _l("Findings"),
        "forest_ha": _l("Forest (ha)"),
        "head_given_names": _l("Given names"),
        "head_surname": _l("Surname"),
        "held_on": _l("Date"),
        "item": _l("Item"),
        "kind": _l("Kind"),
        "lat": _l("Latitude"),
        "level": _l("Level"),
        "lon": _l("Longitude"),
        "members_count": _l("Household members"),
        "monitor_id": _l("Monitor"),
        "monitor_name": _l("Monitor"),
        "name": _l("Name"),
        "name_en": _l("Name in English"),
        "name_es": _l("Name in Spanish"),
        "notes": _l("Notes"),
        "number": _l("Number"),
        "over_promise_confirmed": _l("More than the agreement promised, confirmed"),
        "period_end": _l("Period end"),
        "period_start": _l("Period start"),
        "phone": _l("Phone"),
        "place": _l("Place"),
        "plot_ha": _l("Plot (ha)"),
        "plot_name": _l("Plot"),
        "position": _l("Order"),
        "province": _l("Province"),
        "quantity": _l("Quantity"),
        "reason": _l("Reason"),
        "receipt_kind": _l("Receipt"),
        "result": _l("Result"),
        "reverses_id": _l("Reverses"),
        "schedule": _l("Schedule"),
        "sector": _l("Sector"),
        "session_id": _l("Training session"),
        "signed_at": _l("Signed at"),
        "signed_lat": _l("Latitude where signed"),
        "signed_lon": _l("Longitude where signed"),
        "signed_on_paper": _l("Signed on paper"),
        "starts_on_signing": _l("Starts on the signing day"),
        "signed_place": _l("Place of signing"),
        "signer_dni": _l("Signer's DNI"),
        "signer_name": _l("Signer"),
        "signer_role": _l("Signs as"),
        "status": _l("Status"),
        "status_changed_at": _l("Status changed on"),
        "status_reason": _l("Reason for the status"),
        "supersedes_id": _l("Replaces"),
        "suspected_duplicate_of_id": _l("Possible duplicate of"),
        "text_en": _l("Text in English"),
        "text_es": _l("Text in Spanish"),
        "topic": _l("Topic"),
        "trainer_id": _l("Trainer"),
        "trainer_name": _l("Trainer"),
        "unit": _l("Unit"),
        "visit_id": _l("Visit"),
        "visited_on": _l("Visit date"),
        "voided": _l("Voided"),
        "version_no": _l("Version"),
        "year": _l("Year"),
    },
}


def label(kind: str, value: Any) -> str:
    """The label of ``value`` of ``kind`` in the request's language (the Jinja filter
    ``value|label(kind)`` and the template global ``label(kind, value)``).

    An unknown value is shown as it is (a value newer than this code, free text): never an error.
    """
    if value is None:
        return ""
    if kind in CONFIG_KINDS:
        return config_label(kind, value)
    found = LABELS[kind].get(str(value))
    return str(found) if found is not None else str(value)


#: Kinds whose words are a list of the configuration (code -> (Spanish, English)) rather than
#: this table: the program words them, the same on every installation.
CONFIG_KINDS = {"grievance_category": "GRIEVANCE_CATEGORIES"}


def config_label(kind: str, value: Any, locale: str | None = None) -> str:
    """The words for ``value`` of a :data:`CONFIG_KINDS` kind, in ``locale`` (default: the
    request's language); the value as it is when the list no longer has it."""
    from flask import current_app
    from flask_babel import get_locale

    words = dict(current_app.config[CONFIG_KINDS[kind]]).get(str(value))
    if not words:
        return str(value)
    locale = str(locale or get_locale() or "es")
    return str(words[1] if locale.startswith("en") else words[0])


def table(kind: str) -> dict[str, Any]:
    """One kind of the table (lazy strings: translated when rendered)."""
    return LABELS[kind]


#: The kinds the tablet's page scripts show offline (exported by :func:`client_labels` into
#: every page: only what the scripts use).
CLIENT_KINDS = ("agreement_status", "agreement_kind", "family_status")


def client_labels() -> dict[str, dict[str, str]]:
    """The kinds the page scripts need, translated for the request (``pwa_config.labels``)."""
    return {kind: {key: str(value) for key, value in LABELS[kind].items()}
            for kind in CLIENT_KINDS}
