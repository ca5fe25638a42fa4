"""Where the app finds its web folders and keeps its instance folder, checkout or installed.

From a checkout (``make run``, the tests, an editable install) the root ``templates/``,
``static/`` and ``instance/`` are used, as always. From an installed wheel there is no checkout:
the wheel carries a copy of ``templates/`` and ``static/`` as ``fieldapp/web/`` (the build hook in
``setup.py``), and the instance folder must never land in ``site-packages`` (Flask's default
for an installed package), where an upgrade or a read-only system directory would lose it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

#: The folder holding the ``fieldapp`` package: the checkout, or ``site-packages`` once installed.
ROOT = Path(__file__).resolve().parent.parent
#: The copy of ``templates/`` and ``static/`` inside an installed package (see ``setup.py``).
PACKAGED_WEB = Path(__file__).resolve().parent / "web"
#: The Alembic migrations shipped with the package.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: The variable naming the instance folder; it always wins.
INSTANCE_ENV = "FIELDAPP_INSTANCE_PATH"

log = logging.getLogger(__name__)


class InstanceFolderError(RuntimeError):
    """The instance folder cannot be created or written: the app refuses to start."""


def from_checkout() -> bool:
    """``True`` when the code runs from a source checkout (its ``pyproject.toml`` beside it)."""
    return (ROOT / "pyproject.toml").is_file() and (ROOT / "templates").is_dir()


def web_folders() -> tuple[Path, Path]:
    """``(templates, static)``: the checkout's root folders, else the copy in the package."""
    base = ROOT if from_checkout() else PACKAGED_WEB
    return base / "templates", base / "static"


def default_instance_path() -> Path:
    """``$FIELDAPP_INSTANCE_PATH``; else ``<checkout>/instance``; else, installed,
    ``./instance`` in the current working directory (never inside ``site-packages``)."""
    chosen = os.environ.get(INSTANCE_ENV)
    if chosen:
        return Path(chosen)
    if from_checkout():
        return ROOT / "instance"
    return Path.cwd() / "instance"


def instance_folder(chosen: str | os.PathLike[str] | None = None) -> Path:
    """The instance folder (``chosen``, e.g. a test's ``INSTANCE_PATH``, or the default above),
    absolute, created if missing and checked writable.

    :raises InstanceFolderError: when it cannot be created or written, naming the folder and
        the variable that moves it.
    """
    path = Path(chosen or default_instance_path()).resolve()
    created = not path.exists()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise InstanceFolderError(_refusal(path, error.strerror or str(error))) from error
    if not (path.is_dir() and os.access(path, os.W_OK | os.X_OK)):
        raise InstanceFolderError(_refusal(path, "not a folder this user can write"))
    if created and not chosen and not os.environ.get(INSTANCE_ENV) and not from_checkout():
        log.warning("fieldapp: created the instance folder %s (%s is not set)", path,
                    INSTANCE_ENV)
    return path


def _refusal(path: Path, reason: str) -> str:
    return (f"fieldapp cannot use the instance folder {path}: {reason}. Set {INSTANCE_ENV} "
            f"to a folder the user running fieldapp can write (see docs, 'Deploying').")
