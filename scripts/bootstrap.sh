#!/usr/bin/env bash
# Prepare this checkout: system packages, a virtualenv with the toolchain, and the
# collection link that ansible.cfg points at. Safe to run again: each step checks first.
#
#   scripts/bootstrap.sh runtime   what `make pipeline` needs
#   scripts/bootstrap.sh test      everything `make test` needs (servers and linters too)
#   scripts/bootstrap.sh bench     the test profile plus the peers the benchmarks compare against
#   scripts/bootstrap.sh matrix [VERSION...]
#                                  one virtualenv per other supported ansible-core version
#                                  (.cache/venvs/ansible-2.20, ...; scripts/matrix.sh), each on
#                                  the Python it needs: CONVEYOR_PYTHON_3_12 (3_13, ...) when set,
#                                  else python3.12 on PATH, else pyenv's newest 3.12.*
set -euo pipefail

profile="${1:-runtime}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CONVEYOR_VENV:-$root/.venv}"
python="${PYTHON:-python3}"
# shellcheck source=matrix.sh source-path=SCRIPTDIR
source "$root/scripts/matrix.sh"
# the default virtualenv's ansible-core minor version
ansible_core="${CONVEYOR_ANSIBLE_CORE:-$default_ansible}"

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

# --- virtualenvs -----------------------------------------------------------------------
pip_quiet() { "$@" 2> >(grep -v "^WARNING: Location" >&2); }

# install_venv VENV PYTHON GROUP ANSIBLE_MINOR: the dependency group with exactly that ansible-core
# minor version, again only when pyproject.toml or the wanted version changed since the last time
install_venv() {
  local dir="$1" py="$2" group="$3" minor="$4" stamp="$1/.conveyor-$3" want
  want="ansible-core==$minor.*"
  if [ ! -x "$dir/bin/python" ]; then
    log "creating virtualenv $dir"
    "$py" -m venv "$dir"
  fi
  if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing Python packages ($group, $want) in $dir"
    pip_quiet "$dir/bin/python" -m pip install -q --upgrade "pip>=25.1"
    pip_quiet "$dir/bin/python" -m pip install -q --group "$root/pyproject.toml:$group" "$want"
    local got
    got="$("$dir/bin/python" -c 'from ansible.release import __version__; print(__version__)')"
    case "$got" in "$minor".*) ;; *)
      log "$dir has ansible-core $got instead of $minor.*"; exit 1 ;;
    esac
    printf '%s\n' "$want" > "$stamp"
  fi
}

# python_ok PYTHON MINOR: PYTHON runs, is that Python version and can create virtualenvs
python_ok() { [ -n "$1" ] && [ "$("$1" -c 'import sys, venv, ensurepip; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$2" ]; }
# find_python MINOR ANSIBLE_MINOR: the interpreter that ansible-core ANSIBLE_MINOR runs on here
find_python() {
  local minor="$1" ansible_minor="$2" var candidate pyenv_root
  var="CONVEYOR_PYTHON_${minor//./_}"
  if [ -n "${!var:-}" ]; then
    python_ok "${!var}" "$minor" && { printf '%s\n' "${!var}"; return; }
    log "$var=${!var} is not a Python $minor with venv and ensurepip" >&2; return 1
  fi
  candidate="$(command -v "python$minor" 2>/dev/null || true)"
  python_ok "$candidate" "$minor" && { printf '%s\n' "$candidate"; return; }
  pyenv_root="$(pyenv root 2>/dev/null || printf '%s' "${PYENV_ROOT:-$HOME/.pyenv}")"
  while IFS= read -r candidate; do
    python_ok "$candidate" "$minor" && { printf '%s\n' "$candidate"; return; }
  done < <(printf '%s\n' "$pyenv_root"/versions/"$minor".*/bin/python | sort -rV)
  log "ansible-core $ansible_minor is tested on Python $minor: none found (python$minor on PATH, pyenv's $minor.*); install it or set $var" >&2
  return 1
}

if [ "$profile" = matrix ]; then
  shift
  wanted=("$@")
  [ "${#wanted[@]}" -gt 0 ] || wanted=("${versions[@]}")
  for version in "${wanted[@]}"; do
    py_minor="$(matrix_python "$version")"
    if [ -z "$py_minor" ]; then
      log "ansible-core $version is not in the test matrix (scripts/matrix.sh): ${matrix[*]}"; exit 2
    fi
    dir="$root/.cache/venvs/ansible-$version"
    if ! interpreter="$(find_python "$py_minor" "$version")"; then
      # under CI every supported version must run; elsewhere its test stages report it skipped
      in_ci && exit 1
      log "ansible-core $version: no virtualenv, its test stages are skipped"; continue
    fi
    # a virtualenv left from another Python is made again
    if [ -x "$dir/bin/python" ] && ! python_ok "$dir/bin/python" "$py_minor"; then rm -rf "$dir"; fi
    install_venv "$dir" "$interpreter" matrix "$version"
  done
else
  case "$profile" in test) group="test" ;; bench) group="bench" ;; *) group="pipeline" ;; esac
  install_venv "$venv" "$python" "$group" "$ansible_core"
fi

# --- collection link -------------------------------------------------------------------
# ansible.cfg's collections_path points here, so `conveyor.cicd.*` resolves to this checkout.
link_dir="$root/.cache/collections/ansible_collections/conveyor"
mkdir -p "$link_dir"
if [ "$(readlink "$link_dir/cicd" 2>/dev/null)" != "../../../.." ]; then
  ln -sfn ../../../.. "$link_dir/cicd"
fi
log "ready ($profile)"
