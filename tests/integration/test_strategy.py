"""The optional conveyor.cicd.mitogen_linear strategy, through real ansible-playbook runs."""

from __future__ import annotations

import subprocess

from tests.support.playbook import run_tasks

# ansible-core's own notice for any strategy outside ansible.builtin (docs/performance.md says so)
STRATEGY_NOTICE = ("Use of strategy plugins not included in ansible.builtin",)

TASKS = """
- name: builtin
  # the module's process: under Mitogen, a persistent interpreter named after Mitogen
  ansible.builtin.shell: tr '\\0' ' ' < /proc/$PPID/cmdline
  changed_when: false
- name: ours
  conveyor.cicd.release_info:
    repo: "{repo}"
"""


def test_the_strategy_runs_builtin_and_collection_modules(tmp_path):
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "--quiet"], check=True)
    subprocess.run([*git, "commit", "--quiet", "--allow-empty", "-m", "chore: start"], check=True)
    run = run_tasks(
        tmp_path,
        TASKS.format(repo=tmp_path),
        args=("-vvv",),
        env={"ANSIBLE_STRATEGY": "conveyor.cicd.mitogen_linear"},
        allow_noise=STRATEGY_NOTICE,
    )
    assert run.rc == 0, run.output
    assert "(mitogen:" in run.result("builtin")["stdout"], run.result("builtin")["stdout"]
    assert run.result("ours")["current_tag"] is None and not run.result("ours").get("failed")


def test_without_mitogen_the_run_stops_with_one_line(tmp_path):
    # a package named ansible_mitogen that cannot be imported stands for an environment without Mitogen
    fake = tmp_path / "site" / "ansible_mitogen"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named ansible_mitogen')\n")
    run = run_tasks(
        tmp_path,
        TASKS.format(repo=tmp_path),
        env={"ANSIBLE_STRATEGY": "conveyor.cicd.mitogen_linear", "PYTHONPATH": str(tmp_path / "site")},
        allow_noise=STRATEGY_NOTICE,
    )
    assert run.rc != 0
    lines = [line for line in run.output.splitlines() if "pip install mitogen" in line]
    assert lines, run.output
    assert "Traceback" not in run.output


def test_interpreter_discovery_works_under_the_strategy(tmp_path):
    # no interpreter set: the host's Python is discovered, as for a remote host (only the system's Python
    # is on PATH, as in a plain login; a version manager's shims for uninstalled versions break discovery
    # under every strategy alike)
    run = run_tasks(
        tmp_path,
        [{"name": "ping", "ansible.builtin.ping": {}}],
        env={
            "ANSIBLE_STRATEGY": "conveyor.cicd.mitogen_linear",
            "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        },
        allow_noise=STRATEGY_NOTICE,
    )
    assert run.rc == 0, run.output
    assert run.result("ping")["ping"] == "pong"
    assert run.result("ping")["ansible_facts"]["discovered_interpreter_python"].startswith(("/usr/", "/bin/"))
