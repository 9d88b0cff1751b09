#!/usr/bin/env bash
# ansible-test sanity on the collection, from a path ending in ansible_collections/conveyor/cicd.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pip_version="$(python - <<'PY'
import re, ansible_test, pathlib
src = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)"
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if ! cmp -s "$root/tests/sanity/get_pip_standin.py" "$cache" 2>/dev/null; then
  mkdir -p "$(dirname "$cache")"
  cp "$root/tests/sanity/get_pip_standin.py" "$cache"
fi
# ansible-test resolves the working directory physically, so it gets a copy of the
# files git would list (tracked and not ignored), refreshed on every run.
farm="$root/.cache/sanity/ansible_collections/conveyor/cicd"
mkdir -p "$farm"
# keep tests/output (ansible-test's virtualenvs) between runs; replace everything else
find "$farm" -mindepth 1 -maxdepth 1 ! -name tests ! -name .git -exec rm -rf {} +
find "$farm/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} + 2>/dev/null || true
(cd "$root" && git ls-files -z --cached --others --exclude-standard | \
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done | \
  xargs -0 cp --parents -t "$farm")
cd "$farm"
[ -d .git ] || git init -q .  # its own repository, so ansible-test lists the copy and not the enclosing checkout
py="$(python -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
exec ansible-test sanity --venv --python "$py" --color no "$@"
