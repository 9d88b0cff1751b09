"""Which module commands run in a fork of the worker, and what the forked child gives back."""

from __future__ import annotations

import atexit
import base64
import importlib.util
import io
import os
import shlex
import sys
import zipfile

import pytest

from ansible_collections.conveyor.cicd.plugins.plugin_utils import _forked_module

PING_SOURCE = open(importlib.util.find_spec("ansible.modules.ping").origin, "rb").read()  # noqa: SIM115


def payload(body: str, module_source: bytes = PING_SOURCE, extensions: str = "{}") -> bytes:
    """A stand-in for an AnsiballZ payload: the same argument lines, a ``_ansiballz_main`` that runs ``body``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ansible/modules/ping.py", module_source)
    zip_data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        "import os, sys\n"
        "def _ansiballz_main(**kwargs):\n"
        + "".join(f"    {line}\n" for line in body.splitlines())
        + '\n\nif __name__ == "__main__":\n    _ansiballz_main(\n'
        "module_fqn='ansible.modules.ping',\n"
        f"zip_data={zip_data!r},\n"
        f"extensions={extensions},\n"
        ")\n"
    ).encode()


def command(python: str = sys.executable, env: str = "") -> str:
    return f"/bin/sh -c {shlex.quote(f'{env}{python} && sleep 0')}"


def test_a_pipelined_module_runs_in_a_fork_with_its_environment():
    body = "sys.stdout.write(os.environ['PROBE'])\nsys.stderr.write('warned')\nsys.exit(3)"
    job, why_not = _forked_module.plan(command(env="PROBE='a b' "), payload(body))
    assert why_not == "" and job is not None
    assert job.environment == {"PROBE": "a b"}
    assert "PROBE" not in os.environ
    assert _forked_module.run(job) == (3, b"a b", b"warned")
    assert "PROBE" not in os.environ


def test_the_child_runs_only_its_own_exit_handlers(tmp_path):
    marker = tmp_path / "parent-handler-ran"

    def parent_handler():
        marker.write_text("yes")

    atexit.register(parent_handler)
    try:
        body = (
            f"import atexit\natexit.register(lambda: open({str(tmp_path / 'child')!r}, 'w').write('yes'))\nsys.exit(0)"
        )
        job = _forked_module.plan(command(), payload(body))[0]
        assert _forked_module.run(job)[0] == 0
    finally:
        atexit.unregister(parent_handler)
    assert not marker.exists()
    assert (tmp_path / "child").read_text() == "yes"


def test_an_exception_in_the_child_is_exit_code_1_with_the_traceback_on_stderr():
    job = _forked_module.plan(command(), payload("raise ValueError('boom')"))[0]
    rc, out, err = _forked_module.run(job)
    assert rc == 1 and out == b""
    assert b"ValueError: boom" in err


def test_a_chdir_in_the_child_does_not_move_this_process(tmp_path):
    here = os.getcwd()
    job = _forked_module.plan(command(), payload(f"os.chdir({str(tmp_path)!r})\nprint(os.getcwd())\nsys.exit(0)"))[0]
    assert _forked_module.run(job) == (0, f"{tmp_path}\n".encode(), b"")
    assert os.getcwd() == here


@pytest.mark.parametrize(
    ("cmd", "data", "reason"),
    [
        (command(), None, "not a pipelined module"),
        (command(python="/usr/bin/python3.0"), payload("pass"), "is not the one running Ansible"),
        ("sudo -H -S -n -u root /bin/sh -c 'echo BECOME; python3'", payload("pass"), "not a '<shell> -c' command"),
        ("/bin/sh -c 'echo ~root && sleep 0'", b"x", "not a module command"),
        (command(), b"print('not ansiballz')", "not an AnsiballZ payload"),
        (command(), payload("pass", extensions="{'coverage': {}}"), "extensions"),
        (command(), payload("pass", module_source=PING_SOURCE + b"\n# changed\n"), "differs from the one importable"),
    ],
)
def test_anything_else_is_left_to_a_new_process(cmd, data, reason):
    job, why_not = _forked_module.plan(cmd, data)
    assert job is None
    assert reason in why_not
