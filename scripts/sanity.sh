#!/usr/bin/env bash
# ansible-test sanity on the collection. ansible-test needs the collection at a path
# ending in ansible_collections/conveyor/cicd: the bootstrap link provides it.
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
cd "$root/.cache/collections/ansible_collections/conveyor/cicd"
py="$(python -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
exec ansible-test sanity --venv --python "$py" --color no "$@"
