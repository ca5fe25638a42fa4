"""Registering a register's new families, in one transaction, through the family form's rules
(:func:`fieldapp.families.operations.create_families`: :func:`~fieldapp.families.operations.
create_family`'s rules checked a batch at a time)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from fieldapp.communities.operations import create_community
from fieldapp.extensions import db
from fieldapp.families.operations import create_families
from fieldapp.imports.preview import Preview, judge

#: Rows registered at a time (one INSERT; memory stays flat however long the file).
BATCH = 500


def import_families(path: Path, mapping: list[str] | None, confirmed: set[str],
                    include_duplicates: bool = False,
                    progress: Callable[[int], None] | None = None) -> tuple[Preview, Counter]:
    """Register the file's new families (and the new communities ``confirmed``) in the
    caller's transaction; the caller commits once, or rolls everything back.

    The rows are judged again (:func:`.preview.judge`): what changed since the preview
    counts. Rows already here, invalid, of an unconfirmed community, or possible duplicates
    (unless ``include_duplicates``) are left as they are.

    :returns: the preview and ``Counter`` of what was done (``created``, ``communities``,
        ``skipped_community``, ``skipped_duplicate``, ``existing``, ``invalid``).
    :raises ImportRefused: the file cannot be read (nothing is registered).
    :raises ValidationFailed: a row broke a rule at the last moment (nothing is registered).
    """
    done: Counter = Counter()
    communities: dict[str, object] = {}
    preview = None
    batch: list[dict] = []

    def register() -> None:
        # The duplicates were judged against the register and the file's earlier rows.
        done["created"] += len(create_families(batch))
        batch.clear()
        if progress:
            progress(done["created"])

    for preview, row in judge(path, mapping, confirmed):
        if row.verdict in ("existing", "invalid"):
            done[row.verdict] += 1
            continue
        if row.verdict == "duplicate" and not include_duplicates:
            done["skipped_duplicate"] += 1
            continue
        values = dict(row.values)
        if row.new_community is not None:
            if row.new_community not in confirmed:
                done["skipped_community"] += 1
                continue
            if row.new_community not in communities:
                name = preview.new_communities[row.new_community][0]
                community = create_community({"code": row.new_community, "name": name})
                db.session.flush()
                communities[row.new_community] = community.id
                done["communities"] += 1
            values["community_id"] = communities[row.new_community]
        batch.append(values)
        if len(batch) == BATCH:
            register()
    if batch:
        register()
    return preview, done  # type: ignore[return-value]
