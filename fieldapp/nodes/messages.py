"""What a sync error means, in plain words (the engine's codes, translated)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

PLAIN = {
    "unreachable": _l("Central did not answer (no connection?). Work continues here; "
                      "the node tries again by itself."),
    "bad_response": _l("The connection broke during the sync. The node tries again by itself; "
                       "what was already sent is kept."),
    "server_error": _l("Central had a problem and saved nothing of that step. "
                       "The node tries again by itself."),
    "bad_body": _l("The connection broke during the sync. The node tries again by itself."),
    "node_revoked": _l("Central revoked this node's access. Your changes are kept here; "
                       "ask an administrator to enrol the node again."),
    "bad_credential": _l("Central does not accept this node's credential. Ask an administrator "
                         "for a new enrolment code."),
    "unknown_node": _l("Central does not know this node. Ask an administrator for a new "
                       "enrolment code."),
    "schema_mismatch": _l("This node and central run different versions of fieldapp. "
                          "Update the one that is behind; your changes are kept here."),
    "protocol_unsupported": _l("This node and central run different versions of fieldapp. "
                               "Update the one that is behind; your changes are kept here."),
    "not_enrolled": _l("This node is not enrolled with central yet."),
    "sequence_regressed": _l("This node's database seems restored from a backup. Ask an "
                             "administrator to run “fieldapp node resequence”."),
    "central_regressed": _l("Central was restored from an old backup and lost changes this node "
                            "no longer keeps. Ask an administrator to run “fieldapp node "
                            "resend-all”."),
    "tls_failure": _l("Central's certificate could not be verified; nothing was sent."),
    "busy": _l("A sync is already running."),
    "sequence_gap": _l("Central expected other changes first. The node tries again by itself."),
}

#: Why central refused a record, in plain words.
REFUSALS = {
    "out_of_scope": _l("It belongs to a community this node does not serve."),
    "missing_parent": _l("It refers to a record central does not have."),
    "missing_record": _l("Central does not have this record (it was refused earlier)."),
    "duplicate_key": _l("Another record already has this code or key."),
    "invalid": _l("A value is not valid."),
    "append_only": _l("Recorded events cannot be changed; record a correction instead."),
    "signed_immutable": _l("A signed agreement cannot be changed; make an amendment."),
    "seq_reused": _l("This change's number was already used for other data."),
    "unknown_table": _l("Central does not accept this kind of record."),
    "illegal_transition": _l("This status change is not allowed from the agreement's status on "
                             "central."),
    "content_hash_mismatch": _l("The signed content does not match its content hash."),
    "central_only": _l("Only central sets this field."),
    "forged_origin": _l("The record names another node as its maker."),
    "forged_code": _l("The record's code does not carry this node's code."),
    "central_catalogue": _l("The catalogues are changed only on central, by an administrator."),
    "central_merge": _l("Families are merged only on central, by a coordinator."),
    "merged_family": _l("This family was merged into another on central; make the change on "
                        "that family."),
    "version_set_aside": _l("This version was set aside when the conflict was resolved; it cannot "
                            "be activated."),
}


def plain_error(error: dict[str, Any] | None) -> str | None:
    """The sentence a person reads for an error ``{"code", "message"}``."""
    if not error:
        return None
    return str(PLAIN.get(error.get("code"), error.get("message") or error.get("code")))


def plain_refusal(code: str | None, message: str | None) -> str:
    return str(REFUSALS.get(code or "", message or code or ""))
