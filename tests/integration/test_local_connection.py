"""The conveyor.cicd.local connection: the same results as ansible.builtin.local, with modules run in a fork.

Every comparison runs the same play twice through real ansible-playbook runs, once with
``ansible.builtin.local`` and once with ``conveyor.cicd.local``, and compares what a playbook sees.
"""

from __future__ import annotations

import re
import time

import yaml

from tests.support.paths import VENV_BIN
from tests.support.playbook import run_playbook

FORK_LINE = "in a fork of the worker"
# a playbook's library/ module that shadows ansible.builtin.ping
LIBRARY_PING = (
    "#!/usr/bin/python\n"
    "from ansible.module_utils.basic import AnsibleModule\n"
    "def main():\n"
    "    module = AnsibleModule(argument_spec={})\n"
    "    module.exit_json(changed=False, ping='from the library')\n"
    "if __name__ == '__main__':\n"
    "    main()\n"
)


def play_file(tmp_path, name: str, connection: str, tasks: list[dict], **play) -> str:
    path = tmp_path / f"{name}.yml"
    path.write_text(
        yaml.safe_dump(
            [{"hosts": "localhost", "gather_facts": False, "connection": connection, "tasks": tasks, **play}],
            sort_keys=False,
        )
    )
    return str(path)


def both_connections(tmp_path, tasks_for, *args: str, env: dict | None = None):
    """Run the tasks ``tasks_for(directory)`` with each connection in its own directory; return both runs."""
    runs = {}
    for connection in ("ansible.builtin.local", "conveyor.cicd.local"):
        where = tmp_path / connection.split(".", maxsplit=1)[0]
        where.mkdir()
        remote_tmp = where / "remote_tmp"
        remote_tmp.mkdir()
        runs[connection] = (
            run_playbook(
                play_file(where, "play", connection, tasks_for(where)),
                *args,
                inventory="localhost,",
                env={"ANSIBLE_REMOTE_TMP": str(remote_tmp), **(env or {})},
            ),
            where,
        )
    return runs["ansible.builtin.local"], runs["conveyor.cicd.local"]


VOLATILE = {"start", "end", "delta", "invocation", "_task", "_ansible_no_log"}
# what differs between two files created one after the other (version: the inode generation)
STAT_VOLATILE = {"atime", "mtime", "ctime", "inode", "dev", "version"}


def seen(result: dict, where) -> dict:
    """What a playbook sees of a result, with the run's own directory and times taken out."""
    result = {k: v for k, v in result.items() if k not in VOLATILE}
    if isinstance(result.get("stat"), dict):
        result["stat"] = {k: v for k, v in result["stat"].items() if k not in STAT_VOLATILE}
    text = yaml.safe_dump(result, sort_keys=True)
    text = re.sub(r"ansible-tmp-[0-9.-]+", "ansible-tmp-<id>", text.replace(str(where), "<where>"))
    return yaml.safe_load(text)


def builtin_tasks(where) -> list[dict]:
    (where / "template.j2").write_text("host {{ inventory_hostname }}\n")
    return [
        {"name": "env", "ansible.builtin.command": "printenv PROBE", "environment": {"PROBE": "a 'quoted' $value"}},
        {"name": "rc", "ansible.builtin.shell": "echo out; echo err >&2; exit 3", "ignore_errors": True},
        {"name": "missing", "ansible.builtin.command": "/nonexistent/binary", "ignore_errors": True},
        {"name": "dir", "ansible.builtin.file": {"path": f"{where}/d", "state": "directory", "mode": "0750"}},
        {"name": "copy", "ansible.builtin.copy": {"content": "x\n", "dest": f"{where}/d/x.txt", "mode": "0640"}},
        {"name": "copy again", "ansible.builtin.copy": {"content": "x\n", "dest": f"{where}/d/x.txt", "mode": "0640"}},
        {
            "name": "copy check",
            "ansible.builtin.copy": {"content": "y\n", "dest": f"{where}/d/x.txt"},
            "check_mode": True,
            "diff": True,
        },
        {"name": "template", "ansible.builtin.template": {"src": f"{where}/template.j2", "dest": f"{where}/d/t.txt"}},
        {"name": "stat", "ansible.builtin.stat": {"path": f"{where}/d/t.txt", "checksum_algorithm": "sha256"}},
        {"name": "slurp", "ansible.builtin.slurp": {"src": f"{where}/d/t.txt"}},
        {"name": "bad option", "ansible.builtin.file": {"path": f"{where}/d", "no_such": 1}, "ignore_errors": True},
        {
            "name": "refused",
            "ansible.builtin.uri": {"url": "http://127.0.0.1:1/", "timeout": 2},
            "ignore_errors": True,
        },
    ]


def test_builtin_modules_give_the_same_results_and_run_in_a_fork(tmp_path):
    (plain, plain_dir), (forked, forked_dir) = both_connections(tmp_path, builtin_tasks, "-vvv")
    assert plain.rc == 0, plain.output
    assert forked.rc == 0, forked.output
    assert FORK_LINE not in plain.output
    assert forked.output.count(FORK_LINE) >= len(builtin_tasks(tmp_path)) - 1
    names = [t["name"] for t in builtin_tasks(tmp_path)]
    for name in names:
        assert seen(forked.result(name), forked_dir) == seen(plain.result(name), plain_dir), name
    assert forked.result("env")["stdout"] == "a 'quoted' $value"
    assert forked.result("rc")["rc"] == 3 and forked.result("rc")["stderr"] == "err"
    assert forked.result("copy again")["changed"] is False
    assert forked.result("copy check")["diff"]
    assert (forked_dir / "d" / "t.txt").read_text() == "host localhost\n"
    assert "no_such" in forked.result("bad option")["msg"]
    assert "Traceback" not in forked.stdout
    # nothing is left behind in the remote temporary directory
    assert list((forked_dir / "remote_tmp").iterdir()) == []


def test_a_library_module_that_shadows_a_builtin_one_runs_as_a_process(tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    (library / "ping.py").write_text(LIBRARY_PING)
    playbook = play_file(tmp_path, "shadow", "conveyor.cicd.local", [{"name": "ping", "ping": {}}])
    run = run_playbook(playbook, "-vvvv", inventory="localhost,", cwd=tmp_path)
    assert run.rc == 0, run.output
    assert run.result("ping")["ping"] == "from the library"
    assert "a new process for this module" in run.output, run.output


def test_fork_modules_false_and_another_interpreter_run_processes(tmp_path):
    tasks = [{"name": "ping", "ansible.builtin.ping": {}}]
    off = run_playbook(
        play_file(tmp_path, "off", "conveyor.cicd.local", tasks),
        "-vvv",
        inventory="localhost,",
        extra_vars={"conveyor_fork_modules": False},
    )
    assert off.rc == 0, off.output
    assert off.result("ping")["ping"] == "pong"
    assert FORK_LINE not in off.output
    other = run_playbook(
        play_file(tmp_path, "other", "conveyor.cicd.local", tasks),
        "-vvvv",
        inventory="localhost,",
        extra_vars={"ansible_python_interpreter": "/usr/bin/python3"},
    )
    assert other.rc == 0, other.output
    assert FORK_LINE not in other.output
    assert "is not the one running Ansible" in other.output


def test_a_task_timeout_stops_the_forked_module(tmp_path):
    tasks = [{"name": "slow", "ansible.builtin.command": "sleep 30", "timeout": 2, "ignore_errors": True}]
    started = time.monotonic()
    run = run_playbook(
        play_file(tmp_path, "timeout", "conveyor.cicd.local", tasks),
        inventory="localhost,",
        env={"ANSIBLE_PYTHON_INTERPRETER": str(VENV_BIN / "python")},
    )
    assert run.rc == 0, run.output
    assert time.monotonic() - started < 20
    result = run.result("slow")
    assert result["failed"] is True
    assert "timed out" in result["msg"].lower() or "timeout" in result["msg"].lower(), result["msg"]


def test_collection_modules_run_in_the_worker_process_itself(tmp_path):
    tasks = [{"name": "info", "conveyor.cicd.artifact_info": {"repository": f"file://{tmp_path}"}}]
    run = run_playbook(
        play_file(tmp_path, "ours", "conveyor.cicd.local", tasks),
        "-vvv",
        inventory="localhost,",
        env={"ANSIBLE_PYTHON_INTERPRETER": str(VENV_BIN / "python")},
    )
    assert run.rc == 0, run.output
    assert "running conveyor.cicd.artifact_info in the controller's worker process" in run.output
    assert FORK_LINE not in run.output


def test_async_no_log_raw_and_script_tasks_work_as_with_the_builtin_connection(tmp_path):
    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/sh\necho script says hello\n")
    script.chmod(0o755)

    def tasks(_where):
        return [
            {"name": "async", "ansible.builtin.command": "sleep 1", "async": 20, "poll": 1},
            {"name": "started", "ansible.builtin.command": "echo in the background", "async": 20, "poll": 0},
            {
                "name": "status",
                "ansible.builtin.async_status": {"jid": "{{ hostvars.localhost.bg.ansible_job_id }}"},
                "register": "job",
                "until": "job.finished",
                "retries": 20,
                "delay": 1,
            },
            {"name": "secret", "ansible.builtin.command": "echo s3cr3t-value", "no_log": True},
            {"name": "raw", "ansible.builtin.raw": "echo raw output"},
            {"name": "script", "ansible.builtin.script": str(script)},
        ]

    def with_register(where):
        out = tasks(where)
        out[1]["register"] = "bg"
        return out

    (plain, _plain_dir), (forked, _forked_dir) = both_connections(
        tmp_path, with_register, env={"ANSIBLE_PYTHON_INTERPRETER": str(VENV_BIN / "python")}
    )
    assert plain.rc == 0, plain.output
    assert forked.rc == 0, forked.output
    assert forked.result("async")["rc"] == plain.result("async")["rc"] == 0
    assert forked.result("status")["stdout"] == plain.result("status")["stdout"] == "in the background"
    assert "s3cr3t-value" not in forked.stdout
    assert forked.result("raw")["stdout"].strip() == plain.result("raw")["stdout"].strip() == "raw output"
    assert "script says hello" in forked.result("script")["stdout"]


def test_housekeeping_commands_run_in_the_worker(tmp_path):
    remote_tmp = tmp_path / "remote_tmp"
    (tmp_path / "t.j2").write_text("{{ 6 * 7 }}\n")
    task = {"name": "tpl", "ansible.builtin.template": {"src": str(tmp_path / "t.j2"), "dest": str(tmp_path / "out")}}
    env = {"ANSIBLE_REMOTE_TMP": str(remote_tmp)}
    on = run_playbook(play_file(tmp_path, "on", "conveyor.cicd.local", [task]), "-vvv", inventory="localhost,", env=env)
    assert on.rc == 0, on.output
    assert on.result("tpl")["changed"] is True and (tmp_path / "out").read_text() == "42"
    for shape in ("( umask 77 && mkdir -p", "rm -f -r"):
        assert f"EXEC (in the worker) /bin/sh -c '{shape}" in on.output, shape
    assert list(remote_tmp.iterdir()) == []  # the temporary directory was made and removed again
    # the default remote_tmp (~/.ansible/tmp) needs the home directory first
    home = run_playbook(play_file(tmp_path, "home", "conveyor.cicd.local", [task]), "-vvv", inventory="localhost,")
    assert home.rc == 0, home.output
    assert "EXEC (in the worker) /bin/sh -c 'echo ~" in home.output

    off = run_playbook(
        play_file(tmp_path, "off", "conveyor.cicd.local", [task], vars={"conveyor_fork_modules": False}),
        "-vvv",
        inventory="localhost,",
        env=env,
    )
    assert off.rc == 0, off.output
    assert off.result("tpl")["changed"] is False
    assert "EXEC (in the worker)" not in off.output
    assert list(remote_tmp.iterdir()) == []
