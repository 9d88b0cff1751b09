"""The lint check that keeps plugins on ansible-core's public API (scripts/check_public_api.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("check_public_api", ROOT / "scripts" / "check_public_api.py")
check_public_api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_public_api)


def test_the_collection_plugins_import_only_public_api():
    assert check_public_api.main([str(ROOT / "plugins")]) == 0


def test_private_imports_are_reported_with_file_and_line(tmp_path):
    plugin = tmp_path / "bad.py"
    plugin.write_text(
        "import os\n"
        "from ansible.module_utils import _internal\n"
        "from ansible.executor.task_result import TaskResult\n"
        "from ansible.module_utils.basic import AnsibleModule, _ANSIBLE_ARGS\n"
        "from ansible.vars.clean import remove_internal_keys\n"
        "import ansible._internal._templating\n"
        "from ansible.module_utils.common.arg_spec import ArgumentSpecValidator\n"
    )
    found = check_public_api.findings(plugin)
    assert [line.split(":")[1] for line in found] == ["2", "3", "4", "5", "6"]
    assert all("not ansible-core's public API" in line for line in found)
    assert check_public_api.main([str(tmp_path)]) == 1
