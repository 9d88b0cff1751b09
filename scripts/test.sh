#!/usr/bin/env bash
# shellcheck disable=SC2317  # the stage_* functions are called indirectly through run_stage
# The test suite, stage by stage. `scripts/test.sh all` is what `make test` and CI run.
#   lint              ruff (lint + format check), yamllint, ansible-lint (production profile), the
#                     public-API check of plugins/, the generated role READMEs are current
#   galaxy            galaxy-importer (what Galaxy runs on an upload) on the built collection
#   sanity            ansible-test sanity
#   unit              tests/unit
#   integration       tests/integration (real servers on 127.0.0.1, real ansible-playbook runs)
#   molecule          every scenario under molecule/
#   e2e               tests/e2e (the whole pipeline, the built collection)
# and for each other supported ansible-core version V (scripts/matrix.sh), from its own virtualenv:
#   sanity-V          ansible-test sanity of that version
#   integration-V     the integration tests listed in tests/integration/matrix.txt
#   pipeline-V        the whole pipeline twice (tests/e2e/test_pipeline_e2e.py)
# The first group runs on the default virtualenv's ansible-core (.venv). galaxy and sanity run at
# once, and so do the sanity stages of the other versions: each uses about one core.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$root/ansible.cfg"
export ANSIBLE_NOCOLOR=1 PY_COLORS=0

# shellcheck source=matrix.sh source-path=SCRIPTDIR
source "$root/scripts/matrix.sh"

stage="${1:-all}"
declare -a results=()
failed=0

# record NAME RC SECONDS: a stage's line in the summary
record() {
  # 77: the stage could not run here and says why (a skip, never under CI)
  local status=ok
  case $2 in 0) ;; 77) status=skipped ;; *) status=FAILED; failed=1 ;; esac
  results+=("$(printf '%-16s %-8s %4ds' "$1" "$status" "$3")")
}

run_stage() {
  local name="$1"; shift
  local start=$SECONDS rc=0
  printf '\n=== %s ===\n' "$name"
  "$@" || rc=$?
  record "$name" "$rc" $((SECONDS - start))
}

# matrix_venv VERSION: the virtualenv of that ansible-core version (scripts/bootstrap.sh matrix)
matrix_venv() {
  local dir="$root/.cache/venvs/ansible-$1"
  if [ -x "$dir/bin/ansible-playbook" ]; then printf '%s\n' "$dir"; return 0; fi
  echo "ansible-core $1: $dir is missing (scripts/bootstrap.sh matrix $1 makes it; it needs Python $(matrix_python "$1"))" >&2
  in_ci && return 1
  return 77
}

stage_lint() {
  ruff check . && ruff format --check . && yamllint -s . && ansible-lint &&
    python scripts/check_public_api.py && python scripts/role_readmes.py --check
}

stage_galaxy() {
  scripts/galaxy_import.sh
}

stage_sanity() {
  scripts/sanity.sh
}

stage_sanity_matrix() {
  local venv
  venv="$(matrix_venv "$1")" || return $?
  scripts/sanity.sh --ansible-venv "$venv"
}

stage_integration_matrix() {
  local venv ids
  venv="$(matrix_venv "$1")" || return $?
  mapfile -t ids < <(grep -v '^[[:space:]]*\(#\|$\)' tests/integration/matrix.txt)
  PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest "${ids[@]}" -q -p no:cacheprovider -n 2 --dist loadfile
}

stage_pipeline_matrix() {
  local venv
  venv="$(matrix_venv "$1")" || return $?
  PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest tests/e2e/test_pipeline_e2e.py -q -p no:cacheprovider
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

# stage_command NAME: sets cmd to the function call that runs stage NAME
stage_command() {
  local name="$1" version
  case "$name" in
    lint|galaxy|sanity|unit|integration|molecule|e2e) cmd=("stage_$name") ;;
    sanity-*|integration-*|pipeline-*)
      version="${name#*-}"
      if [ -z "$(matrix_python "$version")" ]; then
        echo "scripts/test.sh: ansible-core $version is not in the test matrix (scripts/matrix.sh): ${versions[*]}" >&2; exit 2
      fi
      cmd=("stage_${name%%-*}_matrix" "$version") ;;
    *)
      echo "usage: scripts/test.sh [all|matrix|lint|galaxy|sanity|unit|integration|molecule|e2e|{sanity,integration,pipeline}-{${versions[*]}}]" >&2
      exit 2 ;;
  esac
}

run_named() {
  local -a cmd
  stage_command "$1"
  run_stage "$1" "${cmd[@]}"
}

# run_together NAME...: stages that each use about one core, run at once; their output is printed
# one stage after the other when all have ended
run_together() {
  local logs name i=0 rc seconds
  local -a cmd pids=()
  logs="$(mktemp -d)"
  for name in "$@"; do
    stage_command "$name"
    ( start=$SECONDS; rc=0; "${cmd[@]}" > "$logs/$i.out" 2>&1 || rc=$?; echo "$rc $((SECONDS - start))" > "$logs/$i.rc" ) &
    pids+=("$!"); i=$((i + 1))
  done
  wait "${pids[@]}" || true
  i=0
  for name in "$@"; do
    printf '\n=== %s ===\n' "$name"
    cat "$logs/$i.out"
    read -r rc seconds < "$logs/$i.rc" || { rc=1; seconds=0; }
    record "$name" "$rc" "$seconds"
    i=$((i + 1))
  done
  rm -rf "$logs"
}

matrix_stages() {
  local v
  local -a sanity=()
  for v in "${versions[@]}"; do sanity+=("sanity-$v"); done
  run_together "${sanity[@]}"
  for v in "${versions[@]}"; do run_named "integration-$v"; run_named "pipeline-$v"; done
}

case "$stage" in
  all)
    run_named lint
    run_together galaxy sanity
    for s in unit integration molecule e2e; do run_named "$s"; done
    matrix_stages ;;
  matrix) matrix_stages ;;
  *) run_named "$stage" ;;
esac

printf '\n=== summary ===\n'
printf '%s\n' "${results[@]}"
exit $failed
