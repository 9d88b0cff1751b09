"""Run real ansible-playbook processes and read their results through the json callback."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .paths import ROOT, VENV_BIN


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    data: dict = field(default_factory=dict)

    def tasks(self, host: str = "localhost") -> list[dict]:
        """Every task result for ``host``, in order, with the task name under ``_task``."""
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                result = task.get("hosts", {}).get(host)
                if result is not None:
                    out.append(dict(result, _task=task["task"]["name"]))
        return out

    def result(self, name: str, host: str = "localhost") -> dict:
        """The result of the task called ``name`` (role tasks match without their ``role : `` prefix)."""
        for task in self.tasks(host):
            if task["_task"] == name or task["_task"].endswith(f" : {name}"):
                return task
        raise KeyError(f"no task named {name!r}; tasks: {[t['_task'] for t in self.tasks(host)]}")

    @property
    def stats(self) -> dict:
        return self.data.get("stats", {})

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


CALLBACKS = Path(__file__).parent / "callback"


def ansible_env(extra: dict | None = None, callback: str = "json") -> dict:
    """Environment for an ansible process. callback "json" selects the test suite's JSON stdout callback."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
            # the pipeline_events callback (on in ansible.cfg) is off unless a test turns it on (env=): naming
            # only the stdout callback, which is loaded anyway, enables nothing more (an empty value is an error)
            "ANSIBLE_CALLBACKS_ENABLED": "conveyor_test_json" if callback == "json" else callback,
            "ANSIBLE_STDOUT_CALLBACK": "conveyor_test_json" if callback == "json" else callback,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            # deprecations are shown, so that run_playbook can refuse any the collection causes
            "ANSIBLE_DEPRECATION_WARNINGS": "1",
            "ANSIBLE_PYTHON_INTERPRETER": str(VENV_BIN / "python"),
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    if extra:
        env.update(extra)
    return env


def run_playbook(
    playbook: str | Path,
    *args: str,
    extra_vars: dict | None = None,
    check: bool = False,
    diff: bool = False,
    inventory: str | None = None,
    env: dict | None = None,
    callback: str = "json",
    timeout: int = 600,
    cwd: str | Path | None = None,
    allow_noise: tuple[str, ...] = (),
) -> PlaybookRun:
    """Run ansible-playbook; fail when it prints noise (``NOISE``) other than lines containing ``allow_noise``."""
    argv = [str(VENV_BIN / "ansible-playbook"), str(playbook)]
    if inventory:
        argv += ["-i", inventory]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    argv += list(args)
    proc = subprocess.run(
        argv,
        cwd=cwd or ROOT,
        env=ansible_env(env, callback),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    data = {}
    if callback == "json":
        start = proc.stdout.find("{")
        if start >= 0:
            try:
                data, _end = json.JSONDecoder().raw_decode(proc.stdout[start:])
            except json.JSONDecodeError:
                data = {}
    run = PlaybookRun(proc.returncode, proc.stdout, proc.stderr, data)
    noise = [line for line in noise_in(run) if not any(allowed in line for allowed in allow_noise)]
    assert not noise, f"ansible-playbook printed what a user must never see: {noise}"
    return run


# What no run of the collection may print, on any supported ansible-core: Python warnings that escaped
# a worker, deprecations, tracebacks.
NOISE = (
    "errantly sent data",
    "[DEPRECATION WARNING]",
    "RuntimeWarning:",
    "DeprecationWarning:",
    "Traceback (most recent",
)


def noise_in(run: PlaybookRun) -> list[str]:
    """The lines of ``run``'s output (and of its results' warnings) that a user must never see."""
    lines = [line for line in run.output.splitlines() if any(marker in line for marker in NOISE)]
    for play in run.data.get("plays", []):
        for task in play.get("tasks", []):
            for result in task.get("hosts", {}).values():
                lines += [f"deprecation: {d}" for d in result.get("deprecations") or []]
    return lines


def run_tasks(
    tmp_path: Path, tasks: list[dict] | str, name: str = "play", args: tuple[str, ...] = (), **kwargs
) -> PlaybookRun:
    """Write a one-play playbook on localhost around ``tasks`` and run it (``args``: more ansible-playbook options)."""
    if isinstance(tasks, str):
        tasks = yaml.safe_load(textwrap.dedent(tasks))
    play = [{"name": name, "hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": tasks}]
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    return run_playbook(path, *args, inventory="localhost,", **kwargs)
