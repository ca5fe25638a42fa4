#!/bin/sh
# Upgrade a field node to a new release, in one command (docs/operating/README.md, "Upgrades"):
#   sudo deploy/upgrade-node.sh fieldapp-0.2.0-py3-none-any.whl
# Stops the services, installs the wheel, backs up the instance (database at its old schema)
# and migrates it (`fieldapp upgrade`), starts the services again.
set -eu
WHEEL=${1:?usage: upgrade-node.sh FIELDAPP-WHEEL}
VENV=${FIELDAPP_VENV:-/opt/fieldapp/venv}
CLI=${FIELDAPP_CLI:-/usr/local/bin/fieldapp-cli}
UNITS="fieldapp-sync.service fieldapp-field.service"

systemctl stop $UNITS
if ! "$VENV/bin/pip" install --upgrade "$WHEEL" || ! "$CLI" upgrade; then
  echo "upgrade-node: failed; the services stay stopped. The backup taken before migrating is in" >&2
  echo "  /var/lib/fieldapp/backups/ (fieldapp-cli restore --force ...); reinstall the previous wheel." >&2
  exit 1
fi
systemctl start $UNITS
"$CLI" node status || true
