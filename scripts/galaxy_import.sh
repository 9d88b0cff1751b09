#!/usr/bin/env bash
# Run galaxy-importer, the check Ansible Galaxy runs on every upload, on the built collection.
#
#   scripts/galaxy_import.sh
#
# Builds the collection into .cache/dist, runs the importer offline (ansible-doc, ansible-lint with
# the production profile, changelog and metadata checks; no ansible-test) and exits non-zero unless
# it accepts the tarball with no finding at all. The importer has its own virtualenv in
# .cache/venvs/galaxy-importer because it pins its own ansible-core and ansible-lint.
set -euo pipefail

importer_version="0.4.44"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${CONVEYOR_VENV:-$root/.venv}"
importer_venv="$root/.cache/venvs/galaxy-importer"
python="${PYTHON:-python3}"

log() { printf 'galaxy-import: %s\n' "$*"; }

if [ ! -x "$venv/bin/ansible-galaxy" ]; then
  log "no ansible-galaxy in $venv; run scripts/bootstrap.sh first"
  exit 2
fi

# --- the importer's virtualenv ---------------------------------------------------------
stamp="$importer_venv/.conveyor-galaxy-importer-$importer_version"
if [ ! -f "$stamp" ]; then
  if [ ! -x "$importer_venv/bin/python" ]; then
    log "creating virtualenv $importer_venv"
    "$python" -m venv "$importer_venv"
  fi
  log "installing galaxy-importer $importer_version"
  "$importer_venv/bin/python" -m pip install -q "galaxy-importer==$importer_version" "cryptography<51" \
    2> >(grep -v "^WARNING: Location" >&2)
  rm -f "$importer_venv"/.conveyor-galaxy-importer-*
  touch "$stamp"
fi

# --- build ------------------------------------------------------------------------------
build_out="$("$venv/bin/ansible-galaxy" collection build --force --output-path "$root/.cache/dist")"
printf '%s\n' "$build_out"
tarball="$(printf '%s\n' "$build_out" | sed -n 's/^Created collection for .* at \(.*\.tar\.gz\)$/\1/p' | tail -n 1)"
if [ -z "$tarball" ] || [ ! -f "$tarball" ]; then
  log "ansible-galaxy collection build did not report a tarball"
  exit 1
fi

# --- import -----------------------------------------------------------------------------
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tmp" "$work/ansible"
cat >"$work/galaxy-importer.cfg" <<EOF
[galaxy-importer]
run_ansible_test = False
ansible_test_local_image = False
local_image_docker = False
run_ansible_lint = True
offline_ansible_lint = True
run_ansible_doc = True
check_changelog = True
tmp_root_dir = $work/tmp
ansible_local_tmp = $work/ansible
EOF

log "importing $(basename "$tarball") with galaxy-importer $importer_version"
rc=0
# The importer runs as it does on Galaxy: no ANSIBLE_* settings of the caller (the collection's own
# ansible.cfg is in the tarball), no GALAXY_IMPORTER_* overrides of the ini file, and ansible-doc and
# ansible-lint from its own virtualenv first on PATH. It writes importer_result.json into the
# working directory, so it runs in the temporary one.
unset_env=(-u VIRTUAL_ENV)
while IFS= read -r name; do
  case "$name" in ANSIBLE_* | GALAXY_IMPORTER_*) unset_env+=(-u "$name") ;; esac
done < <(compgen -e)
(
  cd "$work"
  env "${unset_env[@]}" PATH="$importer_venv/bin:$PATH" GALAXY_IMPORTER_CONFIG="$work/galaxy-importer.cfg" \
    ANSIBLE_NOCOLOR=1 NO_COLOR=1 \
    "$importer_venv/bin/python" -m galaxy_importer.main "$tarball"
) >"$work/stdout" 2>"$work/stderr" || rc=$?
cat "$work/stdout"
cat "$work/stderr" >&2

# How the importer reports: its logger prints to stdout, INFO records as the bare message and every
# other level as "LEVEL: message" (ansible-lint's findings become WARNING records, one per line).
# Records of its module loggers have no handler and reach stderr through Python's last-resort
# handler, as the bare message; only WARNING and above get there. So a finding is a stdout line
# starting with "WARNING: ", "ERROR: " or "CRITICAL: ", or any non-blank line on stderr.
findings="$(grep -E '^(WARNING|ERROR|CRITICAL): ' "$work/stdout" || true)"
stderr_lines="$(grep -v '^[[:space:]]*$' "$work/stderr" || true)"
errors="$(printf '%s\n' "$findings" | grep -cE '^(ERROR|CRITICAL): ' || true)"
warnings="$(printf '%s\n' "$findings" | grep -cE '^WARNING: ' || true)"
other="$(printf '%s' "$stderr_lines" | grep -c '' || true)"

accepted=0
grep -qx 'Importer processing completed successfully' "$work/stdout" && accepted=1

log "$errors errors, $warnings warnings, $other lines on stderr, $([ $accepted -eq 1 ] && echo accepted || echo NOT accepted)"
if [ "$rc" -ne 0 ] || [ "$accepted" -ne 1 ] || [ "$errors" -ne 0 ] || [ "$warnings" -ne 0 ] || [ "$other" -ne 0 ]; then
  exit 1
fi
