#!/usr/bin/env bash
# Installs the Debian packages the README's commands need, when they are missing.
# As root (CI, a fresh machine) it installs them; otherwise it says what to install.
set -euo pipefail

need=()
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v make >/dev/null || need+=(make)
for extra in "$@"; do
  dpkg -s "$extra" >/dev/null 2>&1 || need+=("$extra")
done
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing system packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The fleet tests start their own broker on a free port; the package's system service is not wanted.
  if [[ " ${need[*]} " == *" mosquitto "* && -d /run/systemd/system ]]; then
    systemctl disable --now mosquitto >/dev/null 2>&1 || true
  fi
else
  echo "missing system packages: ${need[*]}; run: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
