"""This installation's own identity, kept in the instance folder.

Generated on first start and never shipped: the secret key that signs sessions, and the node id
and short code that make records and codes unique across offline nodes.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from pathlib import Path

#: Letters and digits that cannot be mistaken for one another when read aloud or printed.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only (created atomically)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def load_secret_key(instance_path: Path) -> str:
    """The session-signing key, generated into ``instance/secret_key`` on first start."""
    path = instance_path / "secret_key"
    if not path.exists():
        _write_private(path, secrets.token_hex(32))
    return path.read_text().strip()


def new_node_code(length: int = 3) -> str:
    """A short random node code such as ``K7Q``."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def load_node_identity(instance_path: Path) -> dict[str, str]:
    """``{"node_id", "node_code"}`` of this installation, generated on first start."""
    path = instance_path / "node.json"
    if path.exists():
        return json.loads(path.read_text())
    identity = {"node_id": str(uuid.uuid4()), "node_code": new_node_code()}
    _write_private(path, json.dumps(identity, indent=2))
    return identity


def save_node_identity(instance_path: Path, identity: dict[str, str]) -> None:
    """Persist a changed identity (e.g. the code central assigned at enrolment)."""
    _write_private(instance_path / "node.json", json.dumps(identity, indent=2))
