"""The in-process module call: what a module prints, its exit code, and where its warnings go."""

from __future__ import annotations

import json
import os
import sys

import pytest

from ansible_collections.conveyor.cicd.plugins.plugin_utils import _in_process

PROBE = """\
import os
from ansible.module_utils.basic import AnsibleModule

def main():
    module = AnsibleModule(argument_spec={"fail": {"type": "bool", "default": False}})
    module.warn("a probe warning")
    if module.params["fail"]:
        module.fail_json(msg="asked to fail")
    module.exit_json(changed=False, probe=os.environ.get("PROBE"))

if __name__ == "__main__":
    main()
"""


@pytest.fixture
def probe_module(tmp_path, monkeypatch):
    package = tmp_path / "conveyor_in_process_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "probe.py").write_text(PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "conveyor_in_process_probe.probe"


def params(**args) -> bytes:
    return json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()


def test_the_result_carries_the_warnings_as_from_a_module_process(probe_module):
    from ansible.module_utils import _internal

    before = _internal.is_controller
    text, rc = _in_process._call_module(probe_module, params(), {"PROBE": "from the task"})
    assert rc == 0
    result = json.loads(text)
    assert result["probe"] == "from the task"
    assert any("a probe warning" in str(w) for w in result["warnings"]), result
    # the controller's state and environment are back as they were
    assert _internal.is_controller is before
    assert "PROBE" not in os.environ


def test_a_failure_is_exit_code_1_with_its_message(probe_module):
    text, rc = _in_process._call_module(probe_module, params(fail=True), {})
    assert rc == 1
    assert json.loads(text)["msg"] == "asked to fail"


def test_a_module_that_cannot_be_imported_fails_with_one_line():
    text, rc = _in_process._call_module("conveyor_no_such_module_anywhere", params(), {})
    assert rc == 1
    message = json.loads(text)["msg"]
    assert message.startswith("conveyor_no_such_module_anywhere could not run: ") and "\n" not in message
    assert sys.modules.get("conveyor_no_such_module_anywhere") is None
