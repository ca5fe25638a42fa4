#!/usr/bin/env bash
# Check deploy/systemd/*.service with `systemd-analyze verify`, against an installed venv.
# The units name /opt/fieldapp/venv, /etc/fieldapp/*.env and the user `fieldapp`; the copies
# checked here point at VENV (e.g. the venv tools/check-wheel.sh installed the wheel into),
# the repository's example env files, and the current user, so that every ExecStart* is a
# real, executable command.   Usage: tools/verify-units.sh VENV
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(cd "$1" && pwd)
UNITS=$(mktemp -d /tmp/fieldapp-units.XXXXXX)
trap 'rm -rf "$UNITS"' EXIT
for unit in deploy/systemd/*.service deploy/systemd/*.timer; do
  sed -e "s#/opt/fieldapp/venv#$VENV#g" \
      -e "s#/etc/fieldapp/#$PWD/deploy/systemd/#g" \
      -e "s#^User=.*#User=$(id -un)#" -e "s#^Group=.*#Group=$(id -gn)#" \
      "$unit" >"$UNITS/$(basename "$unit")"
done
# --man=no: the units point at no man page; --recursive-errors=no: the units they order
# against (postgresql.service, network-online.target) need not exist on a CI machine.
out=$(systemd-analyze verify --man=no --recursive-errors=no "$UNITS"/*.service "$UNITS"/*.timer 2>&1) || {
  echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then echo "$out" >&2; exit 1; fi
echo "systemd-analyze verify: $(ls deploy/systemd/*.service deploy/systemd/*.timer | xargs -n1 basename | tr '\n' ' ')ok"
