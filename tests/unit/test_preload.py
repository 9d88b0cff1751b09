"""Which module code the preload callback imports into the controller (plugin_utils/_preload.py)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import ansible

from ansible_collections.conveyor.cicd.plugins.plugin_utils._preload import Preloader, _python_module_name

CORE = os.path.join(os.path.dirname(ansible.__file__), "modules")


def _context(fqcn, path):
    return SimpleNamespace(resolved_fqcn=fqcn, plugin_resolved_path=path)


def test_import_names():
    assert _python_module_name(_context("ansible.builtin.file", f"{CORE}/file.py")) == "ansible.modules.file"
    assert (
        _python_module_name(
            _context("conveyor.cicd.app_rollout", "/c/ansible_collections/conveyor/cicd/plugins/modules/app_rollout.py")
        )
        == "ansible_collections.conveyor.cicd.plugins.modules.app_rollout"
    )
    # another collection's module may run main() at import: only its action plugin is loaded
    assert _python_module_name(_context("community.general.ini_file", "/c/ini_file.py")) is None
    # a playbook's or a role's library/ module: never imported into the controller
    assert _python_module_name(_context("ansible.legacy.ping", "/play/library/ping.py")) is None
    # not Python (a PowerShell or binary module)
    assert _python_module_name(_context("ansible.windows.win_ping", "/c/win_ping.ps1")) is None
    assert _python_module_name(_context("ansible.builtin.x", None)) is None


def test_each_thing_is_tried_once_and_failures_are_kept():
    calls = []
    preloader = Preloader()

    def load():
        calls.append(1)
        raise ImportError("no such thing")

    preloader._try("module x", load)
    preloader._try("module x", load)
    assert calls == [1]
    assert preloader.loaded == []
    assert preloader.failed == ["module x (ImportError: no such thing)"]
