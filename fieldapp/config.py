"""Default configuration. Nothing here reads the environment at import time.

Layers, in order: these defaults, ``instance/config.py``, ``FIELDAPP_*`` environment variables,
and the ``test_config`` mapping given to :func:`fieldapp.create_app`.
"""

from __future__ import annotations

from datetime import timedelta


class DefaultConfig:
    """Defaults for both roles; see README "Configuration" for every key."""

    #: ``field`` (a node in a zone, works offline) or ``central`` (the program's record).
    ROLE = "field"
    #: SQLAlchemy URL; ``None`` means ``sqlite:///<instance>/fieldapp.sqlite``.
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    #: Upgrade the database to the newest migration when the app starts.
    AUTO_MIGRATE = True
    #: SQLite: copy the write-ahead log back into the database file in a background thread
    #: this often (seconds; 0 = in whichever commit fills it, SQLite's default), and let a
    #: commit do it only past this many pages (4 KB each). See ``fieldapp/checkpoints.py``.
    SQLITE_CHECKPOINT_SECONDS = 1.0
    SQLITE_CHECKPOINT_PAGES = 10_000

    #: Program identity, printed on agreements and used in codes (``AM-...``).
    PROGRAM_PREFIX = "AM"
    PROGRAM_NAME = "Acuerdos de Conservación — Bosque de Protección Alto Mayo"
    PROGRAM_TARGET_FAMILIES = 1033
    #: The dashboard's sync panel flags a field node not heard from in this many days.
    DASHBOARD_SYNC_STALE_DAYS = 3
    #: Public URL of central, used in QR verification links on printed agreements.
    CENTRAL_PUBLIC_URL = "http://localhost:5000"
    #: The parties printed on agreements besides the family (empty: the line is left out).
    PRINT_ORGANISATION = "Conservación Internacional Perú"
    PRINT_AUTHORITY = "Jefatura del Bosque de Protección Alto Mayo (SERNANP)"
    #: Requests per client address to the public /verify page, per window of seconds.
    VERIFY_RATE_LIMIT = 30
    VERIFY_RATE_WINDOW = 60

    # Sessions and cookies: personal data (DNI, plot location) lives behind the login.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    #: Set to True behind HTTPS (the reverse proxy); see README "Deploying central".
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(days=14)
    #: "Keep me logged in" lasts no longer than a session (Flask-Login's default is 365 days).
    #: Logout, a password change and deactivation end it on every device (``User.get_id``).
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    #: The session cookie is sent again only when the session changes, and on the first page a
    #: user opens each day (``fieldapp.auth.access``), which keeps a working user's 14 days
    #: sliding. Sent with every answer, a background request still running when the user logs
    #: out (the PWA's data refresh, a ping) answered with the logged-in cookie after the
    #: logout's answer had cleared it, and logged the user back in.
    SESSION_REFRESH_EACH_REQUEST = False
    #: Honour X-Forwarded-* from this many proxies (0 = none).
    PROXY_FIX_HOPS = 0

    # Login throttling: after this many failures in the window, the account waits.
    LOGIN_MAX_FAILURES = 5
    LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
    LOGIN_LOCKOUT = timedelta(minutes=15)

    WTF_CSRF_TIME_LIMIT = None  # tablets keep a form open all day; the session bounds it

    # Internationalisation: Spanish first.
    BABEL_DEFAULT_LOCALE = "es"
    BABEL_DEFAULT_TIMEZONE = "America/Lima"
    LANGUAGES = ("es", "en")

    #: Page size of lists.
    PER_PAGE = 25
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024

    # The tablet PWA (fieldapp/pwa): how long a page waits for the node before the tablet's
    # stored copy answers, how long the reachability probe and an outbox send may take, how often
    # open pages retry the outbox, and a salt that forces a new service worker version.
    PWA_NETWORK_TIMEOUT_MS = 3000
    PWA_PROBE_TIMEOUT_MS = 3000
    PWA_SEND_TIMEOUT_MS = 20000
    PWA_REPLAY_INTERVAL_MS = 30000
    PWA_VERSION_SALT = ""
