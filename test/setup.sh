#!/usr/bin/env bash
# Makes a fresh clone ready for `npm test`: the system packages of test/system-packages.txt, then
# `npm ci` when node_modules is missing or older than package-lock.json. Installing needs root and
# apt-get; without them we stop before doing anything and print the command that does it.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
declare -A why=()
while read -r pkg cmd reason; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  why[$pkg]=$reason
  if [[ $cmd == */* ]]; then
    compgen -G "$cmd" >/dev/null || missing+=("$pkg") # a path pattern: /usr/lib/postgresql/*/bin/initdb
  else
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  fi
done < test/system-packages.txt

# Recommends would pull in daemons (redis-server for rspamd) and desktop services for chromium.
install_cmd="apt-get install -y --no-install-recommends ${missing[*]:-}"

# A package's postinst may start and enable its system service (rspamd on ports 11332-11334; the
# Debian cluster 'main' of postgresql on 5432, through postgresql-common, a dependency). The tests
# start their own copies on loopback ports, so a system copy must hold no ports and must not come
# back at boot. Only packages this script installed (with their new dependencies) are touched,
# never an admin's own. Template units (postgresql@.service) are skipped: their instances hang off
# postgresql.service, which is disabled.
stop_services() {
  local unit script
  for unit in $(dpkg-query -L "$1" | sed -n 's#^/\(usr/\)\{0,1\}lib/systemd/system/\([^/@]*\.\(service\|socket\)\)$#\2#p'); do
    if [[ -d /run/systemd/system ]]; then
      systemctl disable --now "$unit"
    elif command -v systemctl >/dev/null; then
      systemctl disable "$unit"
    fi
  done
  for script in $(dpkg-query -L "$1" | sed -n 's#^/etc/init\.d/\([^/]\{1,\}\)$#\1#p'); do
    # "stop" of a service that is not running exits non-zero on some init scripts.
    "/etc/init.d/$script" stop >/dev/null 2>&1 || true
    update-rc.d "$script" disable >/dev/null 2>&1 || true
  done
}

if ((${#missing[@]})); then
  echo "The tests need: ${missing[*]} (see test/system-packages.txt)."
  if ! command -v apt-get >/dev/null; then
    echo "No apt-get here: install the programs of test/system-packages.txt with your package manager, then run: npm test" >&2
    exit 1
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "Installing them needs root. Run this, then the test command again:" >&2
    echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive $install_cmd" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  for pkg in "${missing[@]}"; do
    if [[ $(apt-cache policy "$pkg") != *"Candidate: "[!\(]* ]]; then
      echo "apt has no package '$pkg' here; it is needed because: ${why[$pkg]}" >&2
      exit 1
    fi
  done
  before=$(dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' | sort)
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  after=$(dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' | sort)
  for pkg in $(comm -13 <(echo "$before") <(echo "$after")); do stop_services "$pkg"; done
fi

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
