# shellcheck shell=bash
# The supported ansible-core versions (meta/runtime.yml's requires_ansible), sourced by
# bootstrap.sh and test.sh. The default virtualenv (.venv) runs the oldest one; each other
# version runs from its own virtualenv .cache/venvs/ansible-<version> on the Python it needs.
# shellcheck disable=SC2034  # read by the scripts that source this file
default_ansible=2.19
# <ansible-core minor>:<Python minor>
matrix=(2.20:3.12 2.21:3.13)

# the other versions, in order
versions=()
for _entry in "${matrix[@]}"; do versions+=("${_entry%%:*}"); done
unset _entry

# matrix_python VERSION: the Python minor version that ansible-core VERSION is tested on (empty if
# VERSION is not in the matrix)
matrix_python() {
  local entry
  for entry in "${matrix[@]}"; do [ "${entry%%:*}" = "$1" ] && printf '%s\n' "${entry#*:}"; done
  return 0
}

# in_ci: true under CI=true, where every supported version must run
in_ci() { case "${CI:-}" in true|1|yes) return 0 ;; *) return 1 ;; esac; }
