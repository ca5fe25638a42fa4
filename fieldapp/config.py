"""Default configuration. Nothing here reads the environment at import time.

Layers, in order: these defaults, ``instance/config.py``, ``FIELDAPP_*`` environment variables,
and the ``test_config`` mapping given to :func:`fieldapp.create_app`.
"""

from __future__ import annotations

from datetime import timedelta


class DefaultConfig:
    """Defaults for both roles.

    Each setting carries its meaning in a ``#:`` comment right above it (settings on the lines
    just below share it): ``tools/config_table.py`` renders them into
    ``docs/operating/configuration.md``, and a test fails when that page is stale.
    """

    #: ``field`` (a node in a zone, works offline) or ``central`` (the program's record).
    ROLE = "field"
    #: SQLAlchemy URL; ``None`` means ``sqlite:///<instance>/fieldapp.sqlite``.
    SQLALCHEMY_DATABASE_URI: str | None = None
    #: Extra keyword arguments for SQLAlchemy's ``create_engine`` (pool size and the like).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    #: Upgrade the database to the newest migration when the app starts (central with several
    #: workers: ``false``, and ``fieldapp db upgrade`` once per release before starting them).
    AUTO_MIGRATE = True
    #: Signs sessions and CSRF tokens. Generated on first start into ``instance/secret_key``
    #: (mode 0600, never shipped); set it only to share one key between servers.
    SECRET_KEY: str
    #: This installation's identity (a UUID and a short code such as ``K7Q`` that record codes
    #: embed), generated on first start into ``instance/node.json``.
    NODE_ID: str
    NODE_CODE: str
    #: SQLite: copy the write-ahead log back into the database file in a background thread
    #: this often (seconds; 0 = in whichever commit fills it, SQLite's default), and let a
    #: commit do it only past this many pages (4 KB each). See ``fieldapp/checkpoints.py``.
    SQLITE_CHECKPOINT_SECONDS = 1.0
    SQLITE_CHECKPOINT_PAGES = 10_000

    #: First part of every record code (``AM-K7Q-0042``).
    PROGRAM_PREFIX = "AM"
    #: Where a new agreement's period starts by default: ``""`` (the day it is drafted, normally
    #: the signing day) or a program cycle as ``"MM-DD"`` (the next such day, never a past one).
    AGREEMENT_CYCLE_START = ""
    #: A new agreement lasts this many months by default (the day before the same date).
    AGREEMENT_PERIOD_MONTHS = 12
    #: A signature drawn on a tablet is dated by the tablet's clock when that time is at most
    #: this many days old and not in the future (it reached the node later, from the outbox);
    #: otherwise by the node's clock.
    SIGNATURE_MAX_DELAY_DAYS = 14
    #: The program's name, printed on agreements and summaries.
    PROGRAM_NAME = "Acuerdos de Conservación — Bosque de Protección Alto Mayo"
    #: The dashboard shows the families with an active agreement against this target.
    PROGRAM_TARGET_FAMILIES = 1033
    #: ISO date the dashboard takes as today (demos, tests); unset: the clock.
    DASHBOARD_TODAY: str
    #: The dashboard's sync panel flags a field node not heard from in this many days.
    DASHBOARD_SYNC_STALE_DAYS = 3
    #: Public URL of central, put in the QR verification links of printed agreements: set it on
    #: every node that prints, or the codes point at ``localhost``.
    CENTRAL_PUBLIC_URL = "http://localhost:5000"
    #: The parties printed on agreements besides the family (empty: the line is left out).
    PRINT_ORGANISATION = "Conservación Internacional Perú"
    PRINT_AUTHORITY = "Jefatura del Bosque de Protección Alto Mayo (SERNANP)"
    #: Requests per client address to the public /verify page, per window of seconds.
    VERIFY_RATE_LIMIT = 30
    VERIFY_RATE_WINDOW = 60
    #: Requests per minute an analyst's API token may make to /api/v1 (central).
    API_RATE_LIMIT = 120
    #: The largest register (bytes) and the most rows `fieldapp import families` reads; the
    #: upload screen is also bounded by MAX_CONTENT_LENGTH.
    IMPORT_MAX_BYTES = 20 * 1024 * 1024
    IMPORT_MAX_ROWS = 50_000

    # Grievances (fieldapp/grievances): the complaints channel of the CCB standards.
    #: Days to acknowledge a grievance, counted from the day it was received.
    GRIEVANCE_ACKNOWLEDGE_DAYS = 5
    #: Days to answer a grievance, counted from the day it was received (printed on the slip).
    GRIEVANCE_ANSWER_DAYS = 30
    #: Days to answer an appeal, counted from the day it was appealed.
    GRIEVANCE_APPEAL_DAYS = 20
    #: The program's contact printed on a grievance slip (whom a family calls or visits).
    GRIEVANCE_CONTACT = "Oficina del programa, Moyobamba · Tel. 042 000 000"
    #: The grievance categories: code -> (Spanish, English). A code stays once used (grievances
    #: keep it); change the words freely, add codes, never remove one that is in use.
    GRIEVANCE_CATEGORIES: dict = {
        "benefit_not_received": ("Beneficio no recibido", "Benefit not received"),
        "sanction_disputed": ("Sanción que considera injusta", "Sanction thought unfair"),
        "boundary_dispute": ("Conflicto de linderos", "Boundary dispute"),
        "staff_conduct": ("Trato del personal", "Conduct of staff"),
        "agreement_terms": ("Términos del acuerdo", "Terms of the agreement"),
        "other": ("Otro", "Other"),
    }
    #: Requests per client address to the public grievance status page, per window of seconds.
    GRIEVANCE_STATUS_RATE_LIMIT = 30
    GRIEVANCE_STATUS_RATE_WINDOW = 60

    # Plots and deforestation alerts (fieldapp/plots).
    #: A plot whose measured area and declared hectares differ by more than this fraction (of
    #: the larger) is flagged for review.
    PLOT_AREA_TOLERANCE = 0.3
    #: The tablet keeps a walked GPS point only when its accuracy (metres) is this good or better.
    PLOT_WALK_ACCURACY_M = 15
    #: An alert is matched to a plot it falls in, or passes within this many metres of.
    ALERT_BUFFER_M = 50
    #: A plot under agreement is visited again when its last visit is older than this (days).
    VISIT_INTERVAL_DAYS = 180
    #: Agreements ending within this many days are on the worklist to be renewed.
    RENEWAL_WINDOW_DAYS = 60

    # Sessions and cookies: personal data (DNI, plot location) lives behind the login.
    #: Cookies are out of scripts' reach and not sent with other sites' requests.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    #: Set to true behind HTTPS (the reverse proxy): cookies then travel only over TLS.
    SESSION_COOKIE_SECURE = False
    #: The same for the "remember me" cookie.
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: A session lasts this long from the last day the user opened a page.
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

    # What an operator watches (fieldapp/monitoring, docs/operating/monitoring.md).
    #: Logs as ``text`` (Flask's lines) or ``json`` (one JSON object per line, with the request
    #: id), at this level.
    LOG_FORMAT = "text"
    LOG_LEVEL = "INFO"
    #: One log line per request (method, route without its values or query, status, time);
    #: unset: on with ``json`` logs (the development server logs requests itself).
    LOG_REQUESTS: bool | None = None
    #: The header carrying a request's id: taken from the proxy when it is a plain token (up
    #: to 64 letters, digits, ``.``, ``_``, ``:``, ``-``), else made here; always answered.
    REQUEST_ID_HEADER = "X-Request-Id"
    #: Serve Prometheus metrics at ``/metrics``: to this machine only, or, with a token set,
    #: to whoever sends ``Authorization: Bearer <token>`` (and to no one else).
    METRICS_ENABLED = True
    METRICS_TOKEN = ""

    #: Login throttling: after this many failures for a user name (known or not) within the
    #: window, that name waits for the lockout.
    LOGIN_MAX_FAILURES = 5
    LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
    LOGIN_LOCKOUT = timedelta(minutes=15)

    #: CSRF tokens do not expire on their own: tablets keep a form open all day; the session
    #: bounds them.
    WTF_CSRF_TIME_LIMIT = None

    #: Interface language before a user chooses one (Spanish first).
    BABEL_DEFAULT_LOCALE = "es"
    #: The program's time zone: every time shown or printed is in it (never UTC; times are
    #: stored in UTC), and "today" (no future deliveries, visits, paper signatures), the
    #: dashboard's days, registration days follow it. ``BABEL_DEFAULT_TIMEZONE`` follows it.
    PROGRAM_TIMEZONE = "America/Lima"
    #: Interface languages offered.
    LANGUAGES = ("es", "en")

    #: Page size of lists.
    PER_PAGE = 25
    #: Entries per page of the audit history.
    AUDIT_PER_PAGE = 50
    #: Largest request body accepted (bytes); keep a grown sync push page under it.
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024

    # Photos and scans (fieldapp/media, issue 27).
    #: Where attachment files are kept (content-addressed by SHA-256); empty: ``<instance>/media``.
    MEDIA_FOLDER = ""
    #: The largest photo or scan a form may send (bytes), before it is reduced.
    MEDIA_MAX_UPLOAD_BYTES = 8 * 1024 * 1024
    #: The most pixels an uploaded image may have (a decompression bomb is refused unread).
    MEDIA_MAX_PIXELS = 50_000_000
    #: An image is reduced to at most this many pixels on its long side and re-encoded as a
    #: JPEG of this quality (no EXIF).
    MEDIA_MAX_SIDE = 1600
    MEDIA_JPEG_QUALITY = 80
    #: The largest stored file a node may announce (bytes).
    MEDIA_MAX_STORED_BYTES = 4 * 1024 * 1024
    #: Size of one piece of a file sent between a node and central (bytes).
    MEDIA_CHUNK_BYTES = 256 * 1024
    #: A partial file of a transfer (or a temporary file of a write) untouched for this many
    #: hours is abandoned: removed by ``fieldapp media check``, at start-up, by a node's sync
    #: and, on central, as nodes send.
    MEDIA_PARTIAL_MAX_HOURS = 48
    #: A file the rows name and the store lacks is "not yet received" (not an error of
    #: ``fieldapp media check``) until its attachment is this many hours old.
    MEDIA_MISSING_GRACE_HOURS = 72
    #: A node's quota for its files (MB; 0: none). Over it the node still takes photos but
    #: says so (its sync page, each record's photo strip) until files are pruned.
    MEDIA_QUOTA_MB = 0
    #: Room (MB) always left on the disk of the files for the database: a photo that would
    #: leave less is refused (507), the tablet keeps it in its outbox and says why.
    MEDIA_MIN_FREE_MB = 200
    #: A field node may prune (``fieldapp media prune``) a file central confirmed it holds
    #: once its newest attachment is this many days old (0: never). Central never prunes.
    MEDIA_RETENTION_DAYS = 0
    #: Central: the kinds of attachment whose originals nodes send at their next sync (a list,
    #: or a text "scan,receipt"); the others wait on their node until a coordinator clicks
    #: "Request the original" on the page that shows them not yet received.
    MEDIA_EAGER_KINDS = ("photo", "scan", "receipt", "evidence")

    # The tablet PWA (fieldapp/pwa).
    #: How long a page waits for the node before the tablet's stored copy answers (ms).
    PWA_NETWORK_TIMEOUT_MS = 3000
    #: Timeout of the reachability probe before the outbox sends (ms).
    PWA_PROBE_TIMEOUT_MS = 3000
    #: Timeout of one outbox send (ms).
    PWA_SEND_TIMEOUT_MS = 20000
    #: How often open pages retry the outbox (ms).
    PWA_REPLAY_INTERVAL_MS = 30000
    #: Changes the service worker's version without changing an asset.
    PWA_VERSION_SALT = ""
