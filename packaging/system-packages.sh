#!/bin/sh
# System libraries ReceiptDesk needs on Debian/Ubuntu: Qt's runtime libraries (offscreen and on a
# screen) and PostgreSQL (for the hub, and for the tests that run against a real server);
# desktop-file-utils checks the package's launchers in the .deb test.
# Installs what is missing when run as root; otherwise prints the exact apt line to run.
set -eu
PACKAGES="libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 fonts-dejavu-core postgresql desktop-file-utils"
command -v dpkg-query >/dev/null 2>&1 || { echo "Not a Debian/Ubuntu system: install Qt 6 runtime libraries and PostgreSQL yourself."; exit 0; }
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ]; then
  echo "Installing system packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "Missing system packages. Run:"
  echo "  sudo apt-get install -y$missing"
  echo "(the PostgreSQL tests are skipped without postgresql; Qt needs the rest)"
fi
