#!/usr/bin/env bash
# Prepare this checkout: system packages, a virtualenv with the toolchain, and the
# collection link that ansible.cfg points at. Safe to run again: each step checks first.
#
#   scripts/bootstrap.sh runtime   what `make pipeline` needs
#   scripts/bootstrap.sh test      everything `make test` needs (servers and linters too)
#   scripts/bootstrap.sh bench     the test profile plus the peers the benchmarks compare against
set -euo pipefail

profile="${1:-runtime}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CONVEYOR_VENV:-$root/.venv}"
python="${PYTHON:-python3}"

log() { printf 'bootstrap: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root (or sudo) to run: $*"; exit 1; fi
}

# --- system packages ---------------------------------------------------------------
# command -> Debian package; only missing commands are installed.
# shellcheck disable=SC2034  # read through the nameref in check_pkgs
declare -A runtime_pkgs=([git]=git [sqlite3]=sqlite3 [shellcheck]=shellcheck [logrotate]=logrotate
  [prometheus]=prometheus [promtool]=prometheus [prometheus-pushgateway]=prometheus-pushgateway
  [prometheus-node-exporter]=prometheus-node-exporter)
# shellcheck disable=SC2034
declare -A test_pkgs=([initdb]=postgresql [nginx]=nginx
  [rsyslogd]=rsyslog [chromium]=chromium
  [podman]=podman [runc]=runc [catatonit]=catatonit [debootstrap]=debootstrap [ssh-keygen]=openssh-client)

missing=()
check_pkgs() {
  local -n pkgs=$1
  for cmd in "${!pkgs[@]}"; do
    if ! command -v "$cmd" >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/"$cmd" >/dev/null 2>&1; then
      missing+=("${pkgs[$cmd]}")
    fi
  done
}
check_pkgs runtime_pkgs
[ "$profile" != runtime ] && check_pkgs test_pkgs
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then missing+=(python3-venv); fi

if [ "${#missing[@]}" -gt 0 ]; then
  log "installing system packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- virtualenv ------------------------------------------------------------------------
stamp="$venv/.conveyor-$profile"
if [ ! -x "$venv/bin/python" ]; then
  log "creating virtualenv $venv"
  "$python" -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
  log "installing Python packages ($profile)"
  "$venv/bin/python" -m pip install -q --upgrade "pip>=25.1" 2> >(grep -v "^WARNING: Location" >&2)
  case "$profile" in test) group="test" ;; bench) group="bench" ;; *) group="pipeline" ;; esac
  "$venv/bin/python" -m pip install -q --group "$root/pyproject.toml:$group" 2> >(grep -v "^WARNING: Location" >&2)
  touch "$stamp"
fi

# --- collection link -------------------------------------------------------------------
# ansible.cfg's collections_path points here, so `conveyor.cicd.*` resolves to this checkout.
link_dir="$root/.cache/collections/ansible_collections/conveyor"
mkdir -p "$link_dir"
if [ "$(readlink "$link_dir/cicd" 2>/dev/null)" != "../../../.." ]; then
  ln -sfn ../../../.. "$link_dir/cicd"
fi
log "ready ($profile)"
