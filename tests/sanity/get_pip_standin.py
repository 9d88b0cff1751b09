"""Offline stand-in for the get-pip bootstrap script that `ansible-test sanity --venv` downloads.

ansible-test runs the cached script as __main__ with pip-install arguments in sys.argv,
plus --no-setuptools / --no-wheel, which pip itself does not accept. Like get-pip.py, we run
pip from a pip wheel and let it install the requested packages from the package index: the
wheel of the pinned pip version that scripts/sanity.sh places beside this script. Without
that wheel we bootstrap pip from the standard library's ensurepip first (slower), then install
the requested packages with the environment as it was before ensurepip changed it.
"""

import ensurepip
import glob
import os
import subprocess
import sys


def main():
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    here = os.path.dirname(os.path.abspath(__file__))
    pinned = [a.split("==", 1)[1] for a in args if a.startswith("pip==")]
    wheels = glob.glob(os.path.join(here, f"pip-{pinned[0]}-py3-none-any.whl")) if pinned else []
    if wheels:
        sys.path.insert(0, wheels[0])
        from pip._internal.cli.main import main as pip_main  # the wheel just put on sys.path

        return pip_main(["install", *args])
    saved_env = dict(os.environ)  # ensurepip sets PIP_CONFIG_FILE=/dev/null, hiding the machine's pip config
    ensurepip.bootstrap(upgrade=True)
    return subprocess.call([sys.executable, "-m", "pip", "install", *args], env=saved_env)


if __name__ == "__main__":
    sys.exit(main())
