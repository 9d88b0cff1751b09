# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: mitogen_linear
short_description: The linear strategy run through Mitogen for Ansible
description:
  - Runs plays like C(ansible.builtin.linear), with the connections and module runs of
    L(Mitogen for Ansible,https://mitogen.networkgenomics.com/ansible_detailed.html), which keeps one persistent
    Python interpreter per target instead of a new interpreter per task and so makes each module task several
    times cheaper.
  - It is the same strategy as Mitogen's own C(mitogen_linear), reachable by its fully qualified name, so
    C(ansible.cfg) and job templates need no path into the Python installation.
  - Interpreter discovery works as with C(ansible.builtin.linear). When it finds a broken interpreter (for example
    a version manager's shim for a Python version that is not installed), the host is reported unreachable with
    C(EOF on stream) rather than with a module error; set C(ansible_python_interpreter) for such hosts.
  - When the C(mitogen) Python package is not installed, the play stops with one line saying how to install it.
author: conveyor.cicd maintainers (@conveyor-cicd)
requirements:
  - mitogen >= 0.3.54 (pip install mitogen)
"""

from ansible.errors import AnsibleError
from ansible.plugins.loader import strategy_loader

try:
    import ansible_mitogen.loaders  # installs Mitogen's plugin loaders before the mixin
    import ansible_mitogen.strategy
except ImportError as exc:
    _IMPORT_ERROR: ImportError | None = exc
    _MIXINS: tuple = ()
else:
    _IMPORT_ERROR = None
    _MIXINS = (ansible_mitogen.strategy.StrategyMixin,)

_Linear = strategy_loader.get("ansible.builtin.linear", class_only=True)


class StrategyModule(*_MIXINS, _Linear):
    """ansible.builtin.linear with Mitogen's connection and module execution."""

    def __init__(self, *args, **kwargs):
        if _IMPORT_ERROR is not None:
            raise AnsibleError(
                "the conveyor.cicd.mitogen_linear strategy needs Mitogen for Ansible: pip install mitogen "
                "(or choose another strategy, for example ANSIBLE_STRATEGY=linear)"
            )
        super().__init__(*args, **kwargs)
