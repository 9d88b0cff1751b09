"""Offline stand-in for the get-pip bootstrap script that `ansible-test sanity --venv` downloads.

ansible-test runs the cached script as __main__ with pip-install arguments in sys.argv,
plus --no-setuptools / --no-wheel, which pip itself does not accept. We bootstrap pip
from the standard library's ensurepip, then install the requested packages from the
package index with the environment as it was before ensurepip changed it.
"""

import ensurepip
import os
import subprocess
import sys

saved_env = dict(os.environ)  # ensurepip sets PIP_CONFIG_FILE=/dev/null, hiding the machine's pip config
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
ensurepip.bootstrap(upgrade=True)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args], env=saved_env))
