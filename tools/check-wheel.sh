#!/usr/bin/env bash
# CI: the wheel works as the operator installs it (docs "Deploying"). Builds the wheel, installs
# it into a fresh venv outside the checkout, serves it with gunicorn from another folder, and
# fetches the login page, a static asset and the service worker; checks the service units.
# Usage: tools/check-wheel.sh   (PYTHON=... picks the interpreter that builds and hosts the venv)
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKOUT=$PWD
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}

WORK=$(mktemp -d /tmp/fieldapp-wheel.XXXXXX)
GUNICORN_PID=
cleanup() {
  if [ -n "$GUNICORN_PID" ]; then kill "$GUNICORN_PID" 2>/dev/null || true; wait "$GUNICORN_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "check-wheel: building the wheel"
"$PYTHON" -m pip wheel --quiet --no-deps -w "$WORK/dist" . >"$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log" >&2; exit 1; }
WHEEL=$(ls "$WORK"/dist/fieldapp-*.whl)
"$PYTHON" - "$WHEEL" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
needed = ["fieldapp/web/templates/base.html", "fieldapp/web/templates/errors/error.html",
          "fieldapp/web/static/css/app.css", "fieldapp/web/static/js/sw.js",
          "fieldapp/migrations/env.py", "fieldapp/migrations/alembic.ini",
          "fieldapp/migrations/script.py.mako",
          "fieldapp/translations/es/LC_MESSAGES/messages.po"]
missing = [n for n in needed if n not in names]
if missing or not any(n.startswith("fieldapp/migrations/versions/0001_") for n in names):
    sys.exit(f"the wheel lacks {missing or 'the migrations'}")
PY

echo "check-wheel: installing it into a fresh venv"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "$WHEEL" >"$WORK/install.log" 2>&1 \
  || { cat "$WORK/install.log" >&2; exit 1; }

# Serve from a folder outside the checkout, with nothing of the checkout on the path.
mkdir -p "$WORK/run"
cd "$WORK/run"
unset PYTHONPATH
for name in $(compgen -e | grep '^FIELDAPP_' || true); do unset "$name"; done  # defaults only
export FIELDAPP_INSTANCE_PATH="$WORK/instance"
PORT=$("$WORK/venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$WORK/venv/bin/gunicorn" -w 2 -b "127.0.0.1:$PORT" 'fieldapp:create_app()' >"$WORK/gunicorn.log" 2>&1 &
GUNICORN_PID=$!

echo "check-wheel: fetching pages from gunicorn on port $PORT"
"$WORK/venv/bin/python" - "$PORT" "$CHECKOUT" "$GUNICORN_PID" <<'PY' || { cat "$WORK/gunicorn.log" >&2; exit 1; }
import pathlib, sys, time, urllib.error, urllib.request
import fieldapp

port, checkout, pid = sys.argv[1], sys.argv[2], sys.argv[3]
if fieldapp.__file__.startswith(checkout):
    sys.exit(f"fieldapp was imported from the checkout ({fieldapp.__file__}), not the wheel")
base = f"http://127.0.0.1:{port}"
for _ in range(600):  # up to 60 s: the first start migrates a new database
    stat = pathlib.Path(f"/proc/{pid}/stat")
    if not stat.exists() or stat.read_text().split(") ")[-1].startswith("Z"):
        sys.exit("gunicorn stopped (its log follows)")
    try:
        urllib.request.urlopen(base + "/pwa/ping", timeout=2)
        break
    except (urllib.error.URLError, OSError):
        time.sleep(0.1)
else:
    sys.exit("gunicorn did not answer within 60 s")

checks = [  # path, content type, text the body must hold
    ("/auth/login", "text/html", 'name="password"'),
    ("/static/css/app.css", "text/css", "{"),
    ("/sw.js", "application/javascript", "self.FIELDAPP"),
    ("/manifest.webmanifest", "application/manifest+json", '"start_url"'),
]
failed = []
for path, kind, needle in checks:
    request = urllib.request.Request(base + path, headers={"Accept-Language": "es"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, ctype, body = answer.status, answer.headers.get_content_type(), answer.read()
    except urllib.error.HTTPError as error:
        status, ctype, body = error.code, error.headers.get_content_type(), error.read()
    text = body.decode("utf-8", "replace")
    ok = status == 200 and ctype == kind and needle in text
    print(f"  {path}: {status} {ctype} {'ok' if ok else 'FAILED'}")
    if not ok:
        failed.append(path)
    if path == "/auth/login" and ok and "Contraseña" not in text:  # the Spanish catalogue loaded
        print("  /auth/login: not in Spanish (translations missing from the wheel?)")
        failed.append("/auth/login (Spanish)")
sys.exit(f"failed: {', '.join(failed)}" if failed else 0)
PY
kill "$GUNICORN_PID"; wait "$GUNICORN_PID" 2>/dev/null || true; GUNICORN_PID=
[ -f "$FIELDAPP_INSTANCE_PATH/fieldapp.sqlite" ] || { echo "no database in $FIELDAPP_INSTANCE_PATH" >&2; exit 1; }
if "$WORK/venv/bin/python" -c 'import site, pathlib, sys; sys.exit(any((pathlib.Path(p) / "instance").exists() for p in site.getsitepackages()))'; then :; else
  echo "an instance folder was created inside site-packages" >&2; exit 1
fi

# The installed command line: the database at the newest migration, the WAL folded.
"$WORK/venv/bin/fieldapp" db current 2>/dev/null | grep -q "(head)" \
  || { echo "fieldapp db current: not at head" >&2; exit 1; }
"$WORK/venv/bin/fieldapp" db checkpoint >/dev/null

cd "$CHECKOUT"
if command -v systemd-analyze >/dev/null; then
  echo "check-wheel: systemd-analyze verify deploy/systemd/*"
  tools/verify-units.sh "$WORK/venv"
fi
echo "check-wheel: ok"
