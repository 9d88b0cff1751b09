#!/usr/bin/env bash
# ansible-test sanity on the collection, from a path ending in ansible_collections/conveyor/cicd.
#
#   scripts/sanity.sh [--ansible-venv DIR] [ansible-test sanity options]
#
# DIR is the virtualenv whose ansible-test and Python run the tests (default: the one of the
# `python` on PATH), for example .cache/venvs/ansible-2.21 for ansible-core 2.21.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${1:-}" = --ansible-venv ]; then
  venv="$(cd "${2:?--ansible-venv needs a directory}" && pwd)"; shift 2
else
  venv="$(python -c 'import sys; print(sys.prefix)')"
fi
python="$venv/bin/python"
if [ ! -x "$venv/bin/ansible-test" ]; then
  echo "sanity: $venv has no ansible-test (scripts/bootstrap.sh test, or scripts/bootstrap.sh matrix)" >&2
  exit 1
fi
export PATH="$venv/bin:$PATH"
read -r ansible_minor py pip_version < <("$python" - <<'PY'
import pathlib, re, sys
import ansible_test
from ansible.release import __version__
src = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
pip = re.search(r"pip='([0-9.]+)'", src).group(1)
print(".".join(__version__.split(".")[:2]), "%d.%d" % sys.version_info[:2], pip)
PY
)
# ansible-test bootstraps pip in its virtualenvs with get-pip.py for the pip version it pins, from its
# cache when there: an offline stand-in (tests/sanity/get_pip_standin.py) for each version in use,
# with the wheel of that pip beside it (the stand-in runs pip from it, as get-pip.py does)
cache_dir="$HOME/.ansible/test/cache"
cache="$cache_dir/get_pip_${pip_version//./_}.py"
mkdir -p "$cache_dir"
# (written through a temporary name and renamed, so that sanity runs of two versions can run at once)
if ! cmp -s "$root/tests/sanity/get_pip_standin.py" "$cache" 2>/dev/null; then
  cp "$root/tests/sanity/get_pip_standin.py" "$cache.$$.tmp" && mv -f "$cache.$$.tmp" "$cache"
fi
wheel="pip-$pip_version-py3-none-any.whl"
if [ ! -f "$cache_dir/$wheel" ]; then
  download="$(mktemp -d "$cache_dir/.pip-download.XXXXXX")"
  "$python" -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
    -d "$download" "pip==$pip_version" 2> >(grep -v "^WARNING: Location" >&2)
  mv -f "$download/$wheel" "$cache_dir/$wheel"
  rm -rf "$download"
fi
# ansible-test resolves the working directory physically, so it gets a copy of the
# files git would list (tracked and not ignored), refreshed on every run; one copy per
# ansible-core version, each keeping its tests/output (ansible-test's virtualenvs) between runs
farm="$root/.cache/sanity/$ansible_minor/ansible_collections/conveyor/cicd"
mkdir -p "$farm"
find "$farm" -mindepth 1 -maxdepth 1 ! -name tests ! -name .git -exec rm -rf {} +
find "$farm/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} + 2>/dev/null || true
(cd "$root" && git ls-files -z --cached --others --exclude-standard | \
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done | \
  xargs -0 cp --parents -t "$farm")
cd "$farm"
[ -d .git ] || git init -q .  # its own repository, so ansible-test lists the copy and not the enclosing checkout
exec "$venv/bin/ansible-test" sanity --venv --python "$py" --color no "$@"
