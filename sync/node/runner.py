"""Running sync on a field node beyond one sync: the loop (sync, wait, sync again, backing off with
jitter while central does not answer), renumbering after a restore from a backup, and the sync
status the node's screens show.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from typing import Any

from sync import errors
from sync.node import local
from sync.node.answers import answer_number
from sync.node.client import NodeSync, Report
from sync.node.transport import load_credentials, transport_for
from sync.state import AppState


def _central_acked(state: AppState, then: Callable[[int], Any]) -> Any:
    """Ask central (a handshake, holding the node's sync lock) how far it got with this node's
    operations; ``then(acked)`` acts on the answer before the lock is released."""
    creds = load_credentials(state)
    if creds is None:
        raise errors.NotEnrolled()
    owner = local.acquire_lock(state)
    transport = transport_for(state, creds)
    try:
        try:
            acked = answer_number(NodeSync(state).handshake(transport), "acked")
        except errors.SequenceRegressed as regressed:
            acked = int(regressed.details["acked"])
        return then(acked)
    finally:
        transport.close()
        local.release_lock(state, owner)


def resequence(state: AppState) -> int:
    """After ``sequence_regressed`` (this database was restored from a backup): ask central how
    far it got and renumber the pending operations after that. Returns how many moved."""
    return _central_acked(state, lambda acked: local.resequence(state, acked))


def send_everything(state: AppState) -> int | None:
    """After ``central_regressed`` (central restored from a backup older than this node's
    outbox keeps): ask central how far it got and send every record held here again
    (:func:`sync.node.local.send_everything`). Returns how many operations go out, ``None`` when
    central lost nothing that a plain sync does not send again."""
    return _central_acked(state, lambda acked: local.send_everything(state, acked))


# -- the loop ----------------------------------------------------------------------------------
#: Errors that need a person (an administrator, an upgrade): retry rarely.
NEEDS_SOMEONE = frozenset({"node_revoked", "bad_credential", "unknown_node", "schema_mismatch",
                           "protocol_unsupported", "not_enrolled", "sequence_regressed",
                           "central_regressed", "tls_failure"})


def backoff_delay(failures: int, minimum: float, maximum: float,
                  rng: random.Random | None = None) -> float:
    """Exponential back-off with jitter: about ``minimum * 2**(failures-1)``, capped, then
    spread over its upper half so that many nodes coming back together do not knock at once."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    ceiling = min(maximum, minimum * (2 ** max(0, failures - 1)))
    return rng.uniform(ceiling / 2, ceiling)


def run_loop(state: AppState, stop: threading.Event | None = None,
             on_report: Callable[[Report | None, errors.SyncError | None, float], None]
             | None = None, max_runs: int | None = None) -> None:
    """Sync, wait, sync again; back off (with jitter) while central does not answer.

    :param stop: set it to end the loop (checked while waiting).
    :param on_report: called after each attempt with (report, error, seconds to wait).
    :param max_runs: stop after so many attempts (tests).
    """
    stop = stop or threading.Event()
    interval = float(state.config("SYNC_INTERVAL"))
    minimum = float(state.config("SYNC_MIN_BACKOFF"))
    maximum = float(state.config("SYNC_MAX_BACKOFF"))
    failures = 0
    runs = 0
    while not stop.is_set():
        report: Report | None = None
        failure: errors.SyncError | None = None
        with state.app.app_context():
            try:
                report = NodeSync(state).run()
                failures = 0
                delay = interval
            except errors.SyncError as error:
                failure = error
                failures += 1
                if error.code in NEEDS_SOMEONE:
                    delay = maximum
                elif error.code == "busy":
                    delay = minimum
                else:
                    delay = backoff_delay(failures, minimum, maximum)
            except OSError as error:  # the database or the disk
                failure = errors.SyncError(str(error))
                failures += 1
                delay = backoff_delay(failures, minimum, maximum)
        runs += 1
        if on_report is not None:
            on_report(report, failure, delay)
        if max_runs is not None and runs >= max_runs:
            return
        stop.wait(delay)


def status(state: AppState, end_transaction: bool = True) -> dict[str, Any]:
    """What the node's sync badge and page show: enrolment, pending, last success and error.

    :param end_transaction: end the read transaction (not when called while a request renders).
    """
    creds = load_credentials(state)
    c = local.counts(state)
    notes = local.get_notes(state, "last_error", "last_success", "last_attempt", "lock")
    error_text, error_at = notes["last_error"]
    _n, success_at = notes["last_success"]
    _a, attempt_at = notes["last_attempt"]
    holder, until = notes["lock"]
    if end_transaction:
        state.session.rollback()
    error = json.loads(error_text) if error_text else None
    return {
        "enrolled": creds is not None,
        "central_url": creds.get("central_url") if creds else None,
        "node_code": creds.get("node_code") if creds else None,
        "node_name": creds.get("name") if creds else None,
        "pending": c["pending"],
        "quarantined": c["quarantined"],
        "last_success_at": success_at,
        "last_attempt_at": attempt_at,
        "last_error": error,
        "last_error_at": error_at,
        "syncing": bool(holder and until and until > state.now()),
    }
