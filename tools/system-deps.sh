#!/usr/bin/env bash
# Install the system programs the tests use, when missing: Debian's Chromium (driven by
# Playwright), poppler-utils (pdftoppm, pdftotext), zbar-tools (zbarimg, libzbar for pyzbar)
# and openssl.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
command -v zbarimg >/dev/null 2>&1 || need+=(zbar-tools)
command -v openssl >/dev/null 2>&1 || need+=(openssl)  # the sync tests make TLS certificates
ldconfig -p 2>/dev/null | grep -q libzbar.so.0 || need+=(libzbar0)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} — run: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
