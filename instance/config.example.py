# Copy to instance/config.py. Every key can also be set as an environment variable FIELDAPP_<KEY>.
# Every setting, its default and what it means: docs/operating/configuration.md.

# "field" for a field node (works offline, syncs to central); "central" for the program's server.
ROLE = "field"

# Default: SQLite in this folder. Central at scale:
# SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://fieldapp:secret@localhost/fieldapp"

# Public URL of central, printed in the QR codes of agreements.
CENTRAL_PUBLIC_URL = "https://fieldapp.example.org"

# Behind HTTPS (a reverse proxy terminating TLS):
# SESSION_COOKIE_SECURE = True
# REMEMBER_COOKIE_SECURE = True
# PROXY_FIX_HOPS = 1
