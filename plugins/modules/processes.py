#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: processes
short_description: Keep servers running as background processes with pid files, without an init system
version_added: 0.2.0
description:
  - Starts, restarts, reloads or stops long-running servers (Prometheus, an exporter, a test service) as plain
    background processes in their own session, each with a pid file and a log file. For hosts and containers
    without systemd, and for the collection's embedded defaults.
  - O(state=started) leaves a live process whose command line equals O(processes[].argv) alone and restarts one
    whose command line differs. Several processes are started together, then each is waited for until it listens
    on O(processes[].wait_port) (or, without one, survives one second).
  - A process that exits right away or never listens fails the task with the last lines of its log.
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: Reads the pid files and command lines and reports exactly which processes would be started,
      restarted, reloaded or stopped.
  diff_mode:
    support: full
    description: Shows each process before and after the run (in check mode, as the run would leave it) as one
      line, whether it runs, its pid and its command line, and whether it is started, restarted, reloaded or
      stopped. Passwords and URL credentials in command lines are masked.
options:
  processes:
    description: The servers, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: A name for messages and results.
        type: str
        required: true
      argv:
        description: The command line; a bare program name is looked up on E(PATH). Required unless O(state=stopped)
          or O(state=reloaded).
        type: list
        elements: str
      pid_file:
        description: Where the process id is kept.
        type: path
        required: true
      log_file:
        description: File that receives the process's output (appended). Default O(processes[].pid_file) with C(.log).
        type: path
      cwd:
        description: Working directory of the process.
        type: path
      wait_port:
        description: C(HOST:PORT) the server listens on once it is ready.
        type: str
      environment:
        description: Variables added to the process's environment.
        type: dict
  state:
    description: What to make of the processes.
    type: str
    choices: [started, restarted, reloaded, stopped]
    default: started
  timeout:
    description: Seconds to wait for a start (per run, for all processes together) or a stop.
    type: float
    default: 15
"""

EXAMPLES = r"""
- name: Start Prometheus and the Pushgateway
  conveyor.cicd.processes:
    processes:
      - name: prometheus
        argv: [prometheus, --config.file=/srv/monitoring/prometheus.yml, --web.listen-address=127.0.0.1:9090]
        pid_file: /srv/monitoring/run/prometheus.pid
        wait_port: 127.0.0.1:9090
      - name: pushgateway
        argv: [prometheus-pushgateway, --web.listen-address=127.0.0.1:9091]
        pid_file: /srv/monitoring/run/pushgateway.pid
        wait_port: 127.0.0.1:9091

- name: Make Prometheus read its configuration again
  conveyor.cicd.processes:
    state: reloaded
    processes:
      - name: prometheus
        pid_file: /srv/monitoring/run/prometheus.pid
"""

RETURN = r"""
processes:
  description: One entry per process with C(name), C(pid) (null when not running), C(running), C(changed) and C(msg).
  returned: success
  type: list
  elements: dict
  sample: [{name: prometheus, pid: 4242, running: true, changed: true, msg: started prometheus}]
diff:
  description:
    - With C(--diff), when something changes, one line per process before and after the run, under the headers
      C(processes (before)) and C(processes (after)).
  returned: changed, in diff mode
  type: dict
  sample:
    before_header: processes (before)
    after_header: processes (after)
    before: "prometheus: not running\n"
    after: "prometheus: running, started: prometheus --config.file=/srv/monitoring/prometheus.yml\n"
log_file:
  description: The log of the process that failed.
  returned: failure
  type: str
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule
from ansible_collections.conveyor.cicd.plugins.module_utils._processes import STATES, manage_processes


def run(module):
    params = module.params
    if params["state"] in ("started", "restarted"):
        for spec in params["processes"]:
            if not spec["argv"]:
                raise ConfigurationError(f"process {spec['name']}: argv is required with state={params['state']}")
    else:
        params = dict(params, processes=[dict(spec, argv=spec["argv"] or ["-"]) for spec in params["processes"]])
    return manage_processes(
        params["processes"],
        state=params["state"],
        timeout=params["timeout"],
        check_mode=module.check_mode,
        want_diff=module._diff,
    )


MODULE_SPEC = dict(
    argument_spec=dict(
        processes=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                argv=dict(type="list", elements="str"),
                pid_file=dict(type="path", required=True),
                log_file=dict(type="path"),
                cwd=dict(type="path"),
                wait_port=dict(type="str"),
                environment=dict(type="dict"),
            ),
        ),
        state=dict(type="str", choices=list(STATES), default="started"),
        timeout=dict(type="float", default=15),
    ),
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
