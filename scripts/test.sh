#!/usr/bin/env bash
# shellcheck disable=SC2317  # the stage_* functions are called indirectly through run_stage
# The test suite, stage by stage. `scripts/test.sh all` is what `make test` and CI run.
#   lint         ruff (lint + format check), yamllint, ansible-lint (production profile)
#   sanity       ansible-test sanity
#   unit         tests/unit
#   integration  tests/integration (real servers on 127.0.0.1, real ansible-playbook runs)
#   molecule     every scenario under molecule/
#   e2e          tests/e2e (the whole pipeline, the built collection)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$root/ansible.cfg"
export ANSIBLE_NOCOLOR=1 PY_COLORS=0

stage="${1:-all}"
declare -a results=()
failed=0

run_stage() {
  local name="$1"; shift
  local start=$SECONDS rc=0
  printf '\n=== %s ===\n' "$name"
  "$@" || rc=$?
  results+=("$(printf '%-12s %-6s %4ds' "$name" "$([ $rc -eq 0 ] && echo ok || echo FAILED)" $((SECONDS - start)))")
  [ $rc -eq 0 ] || failed=1
}

stage_lint() {
  ruff check . && ruff format --check . && yamllint -s . && ansible-lint
}

stage_sanity() {
  scripts/sanity.sh
}

stage_unit() {
  python -m pytest tests/unit -q -p no:cacheprovider
}

stage_integration() {
  python -m pytest tests/integration -q -p no:cacheprovider -n 2 --dist loadfile
}

stage_molecule() {
  local scenario rc=0
  # scenarios record their pipeline events here, not in the user's home
  export CONVEYOR_EVENTS_DB="$root/.cache/molecule-events.db"
  for scenario in molecule/*/molecule.yml; do
    scenario="$(basename "$(dirname "$scenario")")"
    [ "$scenario" = default ] && continue
    printf -- '--- molecule scenario %s\n' "$scenario"
    molecule test -s "$scenario" || rc=1
  done
  return "$rc"
}

stage_e2e() {
  python -m pytest tests/e2e -q -p no:cacheprovider
}

case "$stage" in
  all)
    for s in lint sanity unit integration molecule e2e; do run_stage "$s" "stage_$s"; done ;;
  lint|sanity|unit|integration|molecule|e2e)
    run_stage "$stage" "stage_$stage" ;;
  *)
    echo "usage: scripts/test.sh [all|lint|sanity|unit|integration|molecule|e2e]" >&2; exit 2 ;;
esac

printf '\n=== summary ===\n'
printf '%s\n' "${results[@]}"
exit $failed
