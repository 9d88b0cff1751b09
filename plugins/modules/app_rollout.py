#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: app_rollout
short_description: Deploy a release into a release directory, switch it atomically, health-check it, roll back
version_added: 0.1.0
description:
  - Keeps releases under O(root) as C(releases/<release_id>/), with C(shared/) for paths that persist across
    releases, a C(current) symlink to the active release, and a state file C(releases.json).
  - O(state=present) gets and verifies the artifact, unpacks it safely (refusing malicious archives) into a
    staging directory and renames it into C(releases/), links O(shared_paths), runs O(hooks), switches C(current)
    atomically (new link, then rename), restarts the service and health-checks it. When the health check fails,
    C(current) goes back to the previous good release, the service is restarted on it, the new release is marked
    C(failed), and the task fails.
  - Deploying the release that is already active and healthy changes nothing and restarts nothing.
  - A run interrupted at any point (even with SIGKILL) leaves C(current) valid; the next run repairs what it
    finds and converges.
  - O(state=rolled_back) switches to the previous good release, or to O(rollback_to). O(state=absent) removes a
    release that is not current.
author: conveyor.cicd maintainers (@conveyor-cicd)
extends_documentation_fragment:
  - conveyor.cicd.artifact_repository.repository_options
attributes:
  check_mode:
    support: full
    description: Reports which release would be deployed, whether it would be unpacked, switched and restarted, and
      what would be pruned; touches nothing. It reads the repository manifest and probes the health URL.
  diff_mode:
    support: full
    description: Shows which release is (or would become) current and each release's status before and after,
      including the releases a run prunes.
options:
  root:
    description: Deploy root on the target host; created when missing.
    type: path
    required: true
  state:
    description: V(present) deploys, V(rolled_back) rolls back, V(absent) removes O(release_id).
    type: str
    choices: [present, rolled_back, absent]
    default: present
  release_id:
    description:
      - Directory name of the release. Default C(<version>-<first 12 characters of the sha256>), so deploying the
        same artifact again finds the same release.
    type: str
  version:
    description:
      - Version of the release (recorded in the state file; placeholder C({version}) in the health check).
      - With O(repository), the version to take from the repository.
    type: str
  artifact_path:
    description: The artifact (tar.gz, tar or zip) as a file on the target host.
    type: path
  artifact_url:
    description: The artifact as an V(http://), V(https://) or V(file://) URL; needs O(artifact_sha256).
    type: str
  artifact_sha256:
    description: Expected sha256 of the artifact. Required with O(artifact_url); checked when given otherwise.
    type: str
  repository:
    description:
      - An artifact repository (V(file:///path), V(s3://bucket/prefix), V(https://host/path)) laid out as
        C(<name>/<version>/<file>) with a release manifest; the sha256 comes from the manifest.
    type: str
  name:
    description: Release name in O(repository).
    type: str
  file:
    description: Artifact file name in O(repository). Default C(<name>-<version>.tar.gz).
    type: str
  shared_paths:
    description:
      - Paths relative to the release, linked to C(shared/<path>). A path ending in C(/) is a directory (created
        when missing); otherwise a file that must exist in C(shared/).
    type: list
    elements: str
    default: []
  hooks:
    description:
      - Commands (argv lists) per point, run in the release directory. Points are C(after_unpack),
        C(before_switch), C(after_switch), C(after_health). A failing hook fails the deploy (and rolls back after the
        switch). Environment C(CONVEYOR_HOOK), C(CONVEYOR_RELEASE_ID), C(CONVEYOR_RELEASE_PATH), C(CONVEYOR_VERSION),
        C(CONVEYOR_DEPLOY_ROOT), C(CONVEYOR_PREVIOUS_RELEASE).
    type: dict
    default: {}
    suboptions:
      after_unpack:
        description: Commands run in the staged release after it is unpacked, before it is renamed into C(releases/).
        type: list
        elements: raw
      before_switch:
        description: Commands run in the release before C(current) is switched to it.
        type: list
        elements: raw
      after_switch:
        description: Commands run after the switch and before the restart; a failure rolls back.
        type: list
        elements: raw
      after_health:
        description: Commands run after the health check passed; a failure rolls back.
        type: list
        elements: raw
  hook_timeout:
    description: Seconds each hook may run.
    type: int
    default: 300
  service:
    description:
      - How to restart the application. Arguments may contain C({release_path}), C({release_id}), C({version}),
        C({root}) and C({shared}).
      - Put secrets (a database DSN with a password, tokens) in O(service_secrets), not in O(service.start) or
        O(service.environment).
    type: dict
    default: {}
    suboptions:
      manager:
        description:
          - V(systemd) restarts (or reloads) O(service.unit) with C(systemctl).
          - V(command) runs O(service.start) detached, and stops it with O(service.stop), else by sending SIGTERM
            to the pid in O(service.pid_file), then SIGKILL after O(service.stop_timeout).
          - V(none) restarts nothing.
        type: str
        choices: [systemd, command, none]
        default: none
      unit:
        description: The systemd unit, for example V(app.service). Required with O(service.manager=systemd).
        type: str
      unit_file:
        description:
          - Unit file shipped in the release (relative to it), installed into O(service.unit_dir) when its content
            changed, followed by C(daemon-reload).
        type: str
      unit_dir:
        description: Where O(service.unit_file) is installed. Default C(/etc/systemd/system).
        type: str
      action:
        description: What systemd does to a running unit. Default V(restart).
        type: str
        choices: [restart, reload]
      start:
        description: The start command (argv list). Required with O(service.manager=command).
        type: raw
      stop:
        description: The stop command (argv list).
        type: raw
      status:
        description: A command (argv list) that exits with 0 while the service runs; without it the pid file decides.
        type: raw
      pid_file:
        description:
          - The pid file of the service. O(service.manager=command) needs it or O(service.status).
          - The manager writes the pid of the process it starts into it, so the service need not write one; a
            service that writes its own there (after forking, say) replaces it.
        type: str
      log_file:
        description:
          - File that receives the output of the start command. When the health check fails after a restart, the
            failure message quotes the service's error line from it (secrets masked), for example a missing
            module's C(ModuleNotFoundError).
        type: str
      environment:
        description: Environment variables of the start, stop and status commands (free-form; not for secrets).
        type: dict
      start_timeout:
        description: Seconds to wait for the service to start. Default 30.
        type: float
      stop_timeout:
        description: Seconds to wait for the service to stop before SIGKILL. Default 30.
        type: float
  service_secrets:
    description:
      - More environment variables for the C(manager=command) start, stop and status commands, for values that are
        secret. They reach the process in its environment, never on its command line (which any local user can
        read in the process list), and never appear in the module's result, its logs or the event store.
        C({shared}), C({root}), C({release_path}), C({release_id}) and C({version}) are replaced as in O(service).
      - With C(manager=systemd) they are refused; give the unit an C(EnvironmentFile) with mode 0600 instead.
      - Free-form - any variable names.
    type: dict
    default: {}
  health:
    description:
      - Health check after the switch; none without O(health.url) and O(health.command). An attempt passes when
        every probe given passes.
      - C({version}) and C({release_id}) in O(health.url), O(health.body_contains), O(health.json_value) and
        O(health.command) are replaced by those of the release being checked, so C(json_value={version}) also
        works for a rollback. C({base_version}) is the version without its prerelease or build suffix (C(1.4.0)
        for a snapshot C(1.4.0-dev.g1a2b3c)), which is what an application built from a snapshot reports.
    type: dict
    default: {}
    suboptions:
      url:
        description: HTTP or HTTPS URL to probe.
        type: str
      status_codes:
        description: HTTP status codes that pass. Default V([200]).
        type: list
        elements: int
      body_contains:
        description: Text the answer's body must contain.
        type: str
      json_field:
        description: Dotted path of a field in the JSON answer, compared with O(health.json_value).
        type: str
      json_value:
        description: The value O(health.json_field) must have. Needs O(health.json_field).
        type: raw
      timeout:
        description: Seconds to wait for each answer. Default 5.
        type: float
      retries:
        description: Failed attempts allowed after the first. Default 10.
        type: int
      delay:
        description: Seconds between attempts. Default 1.
        type: float
      successes:
        description: Consecutive passing attempts needed. Default 1.
        type: int
      validate_certs:
        description: Verify the TLS certificate of an HTTPS URL. Default V(true).
        type: bool
      ca_path:
        description: CA bundle to verify the TLS certificate with.
        type: path
      command:
        description: A command (argv list) that passes when it exits with 0.
        type: raw
      command_timeout:
        description: Seconds the command may run. Default 30.
        type: float
  python_env:
    description:
      - Build the release's Python environment from the wheelhouse it carries (made in CI by
        M(conveyor.cicd.wheelhouse)), on the host and with no package index. Without this option no environment is
        built.
      - After the release has its final directory (C(releases/<release_id>)) and before C(current) is switched, a
        virtual environment is created at O(python_env.path) inside it (C(python -m venv)) and the wheels are
        installed with C(pip install --no-index --find-links <wheelhouse>), so console scripts in
        C(<release>/.venv/bin) name the release's own interpreter. A marker file written last says the environment
        is complete; a half-made one (a killed run) is removed and built again by the next run.
      - A release whose environment cannot be built is never switched to (the previous release keeps serving);
        the task fails with pip's error line. The release that is current and has a complete environment is
        left alone.
      - The service then runs the environment's programs, for example with O(service.start)
        V(["{release_path}/.venv/bin/app", --port, "8080"]).
    type: dict
    version_added: 0.2.0
    suboptions:
      wheelhouse:
        description: The directory of wheels inside the release. Default V(wheelhouse).
        type: str
      path:
        description: Where the environment is created, inside the release. Default V(.venv).
        type: str
      python:
        description: The interpreter that creates the environment (C(-m venv)). Default the one running the module.
        type: str
      requirements:
        description:
          - What to install, each a requirement (V(app[extra])) or a requirements file inside the release. Default
            every wheel in the wheelhouse.
        type: list
        elements: str
      timeout:
        description: Seconds creating the environment and installing into it may each take. Default 600.
        type: float
  rollback_on_failure:
    description: Switch back to the previous good release when the new one fails its health check or a hook.
    type: bool
    default: true
  rollback_to:
    description: With O(state=rolled_back), the release to go back to (default the previous good one).
    type: str
  keep_releases:
    description:
      - Healthy releases (C(active), C(previous)) to keep, newest first. Failed releases do not take these slots.
        The current release, the previous good one and O(protect) are never pruned.
    type: int
    default: 5
  keep_failed_releases:
    description: Failed and rolled-back releases to keep for inspection, newest first.
    type: int
    default: 1
  protect:
    description: Release ids never pruned.
    type: list
    elements: str
    default: []
  lock_timeout:
    description: Seconds to wait for another deploy to the same root to finish.
    type: int
    default: 600
  record:
    description:
      - What the pipeline records about this deployment. Keys C(environment) (required), C(version), C(commit)
        and C(commit_time) (ISO 8601 or epoch seconds). Returned as RV(conveyor_deploy), with C(action)
        (C(deploy), C(rollback) or C(remove)), on success and on failure; the
        C(conveyor.cicd.pipeline_events) callback stores it for the DORA metrics.
    type: dict
    suboptions:
      environment:
        description: The environment deployed to, as the DORA metrics name it. Required in a record.
        type: str
      version:
        description: The version deployed. Default O(version).
        type: str
      commit:
        description: The git commit of the release.
        type: str
      commit_time:
        description: When the commit was made, ISO 8601 or epoch seconds (for the lead time).
        type: raw
notes:
  - Statuses in C(releases.json) are C(pending) (unpacked, not yet healthy), C(active), C(previous), C(failed) and
    C(rolled_back).
  - O(state=rolled_back) without O(rollback_to) run again after a rollback changes nothing; name O(rollback_to) to go
    further back.
"""

EXAMPLES = r"""
- name: Deploy from the artifact repository, health-checking /version
  conveyor.cicd.app_rollout:
    root: /srv/app
    repository: file:///var/lib/conveyor/artifacts/staging
    name: app
    version: 1.4.0
    shared_paths: [logs/, .env]
    service:
      manager: systemd
      unit: app.service
    health:
      url: http://127.0.0.1:8080/version
      json_field: version
      json_value: "{version}"
    keep_releases: 5

- name: Deploy a local artifact and run it without systemd
  conveyor.cicd.app_rollout:
    root: /srv/app
    artifact_path: /tmp/app-1.4.0.tar.gz
    version: 1.4.0
    service:
      manager: command
      start: [python3, -m, app, --port, "8080", --pid-file, "{root}/app.pid"]
      pid_file: "{root}/app.pid"
      environment: {PYTHONPATH: src}
    health:
      url: http://127.0.0.1:8080/healthz

- name: Deploy an app with dependencies, its environment built from the wheelhouse in the artifact
  conveyor.cicd.app_rollout:
    root: /srv/app
    artifact_path: /srv/incoming/app-1.4.0.tar.gz
    version: 1.4.0
    python_env: {wheelhouse: wheelhouse, path: .venv}
    service:
      manager: command
      start: ["{release_path}/.venv/bin/app-server", --port, "8080"]
      pid_file: "{shared}/run/app.pid"
      log_file: "{shared}/logs/service.log"
    health:
      url: http://127.0.0.1:8080/health

- name: Roll back to the previous good release
  conveyor.cicd.app_rollout:
    root: /srv/app
    state: rolled_back
"""

RETURN = r"""
release_id:
  description: The release deployed, rolled back to or removed.
  returned: always
  type: str
  sample: 1.4.0-3f2a9c1b7d4e
previous_release:
  description: The release C(current) pointed at before the run.
  returned: always
  type: str
current_release:
  description: The release C(current) points at after the run.
  returned: always
  type: str
rolled_back:
  description: Whether C(current) was switched back (automatic rollback or O(state=rolled_back)).
  returned: always
  type: bool
switched:
  description: Whether C(current) was switched to O(release_id).
  returned: always
  type: bool
restarted:
  description: Whether the service was (or would be) restarted.
  returned: always
  type: bool
health:
  description: The last health check (ok, attempts, status, reason, url, duration); null when none ran.
  returned: always
  type: dict
pruned:
  description: Releases deleted (in check mode, that would be deleted).
  returned: always
  type: list
  elements: str
repaired:
  description: What was repaired after an interrupted run.
  returned: always
  type: list
  elements: str
releases:
  description: Every release after the run, oldest first, with id, version, sha256, deployed_at and status.
  returned: always
  type: list
  elements: dict
python_env:
  description:
    - The release's Python environment (with O(python_env)) - C(path), C(built) (whether it was, or in check mode
      would be, built in this run), C(python) and C(wheels) (how many the wheelhouse holds); null without
      O(python_env).
  returned: always
  type: dict
  sample: {path: /srv/app/releases/1.4.0-3f2a9c1b7d4e/.venv, built: true, python: /usr/bin/python3, wheels: 7}
conveyor_deploy:
  description: The deployment record (from O(record)) with C(action); absent without O(record).
  returned: when O(record) is set
  type: dict
  sample: {environment: production, version: 1.4.0, commit: 3f2a..., commit_time: "2026-11-20T10:00:00Z", action: deploy}
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import HEALTH_OPTIONS, REPOSITORY_CONNECTION
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule
from ansible_collections.conveyor.cicd.plugins.module_utils._rollout import HOOK_POINTS, rollout
from ansible_collections.conveyor.cicd.plugins.module_utils._service import MANAGERS


def run(module):
    return rollout(module.params, check_mode=module.check_mode, want_diff=module._diff)


# defaults the engine fills in (_service.DEFAULTS, _health.DEFAULTS) stay there
SERVICE_OPTIONS = dict(
    manager=dict(type="str", choices=list(MANAGERS), default="none"),
    unit=dict(type="str"),
    unit_file=dict(type="str"),
    unit_dir=dict(type="str"),
    action=dict(type="str", choices=["restart", "reload"]),
    # argv lists stay raw: the engine refuses a shell string with the list to write instead
    start=dict(type="raw"),
    stop=dict(type="raw"),
    status=dict(type="raw"),
    pid_file=dict(type="str"),
    log_file=dict(type="str"),
    environment=dict(type="dict"),
    start_timeout=dict(type="float"),
    stop_timeout=dict(type="float"),
)
PYTHON_ENV_OPTIONS = dict(
    wheelhouse=dict(type="str"),
    path=dict(type="str"),
    python=dict(type="str"),
    requirements=dict(type="list", elements="str"),
    timeout=dict(type="float"),
)
RECORD_OPTIONS = dict(
    environment=dict(type="str"),
    version=dict(type="str"),
    commit=dict(type="str"),
    commit_time=dict(type="raw"),
)

MODULE_SPEC = dict(
    argument_spec=dict(
        root=dict(type="path", required=True),
        state=dict(type="str", choices=["present", "rolled_back", "absent"], default="present"),
        release_id=dict(type="str"),
        version=dict(type="str"),
        artifact_path=dict(type="path"),
        artifact_url=dict(type="str"),
        artifact_sha256=dict(type="str"),
        repository=dict(type="str"),
        repository_options=dict(type="dict", default={}, options=REPOSITORY_CONNECTION),
        name=dict(type="str"),
        file=dict(type="str"),
        shared_paths=dict(type="list", elements="str", default=[]),
        hooks=dict(
            type="dict", default={}, options={point: dict(type="list", elements="raw") for point in HOOK_POINTS}
        ),
        hook_timeout=dict(type="int", default=300),
        service=dict(type="dict", default={}, options=SERVICE_OPTIONS),
        service_secrets=dict(type="dict", default={}, no_log=True),
        health=dict(type="dict", default={}, options=HEALTH_OPTIONS),
        python_env=dict(type="dict", options=PYTHON_ENV_OPTIONS),
        rollback_on_failure=dict(type="bool", default=True),
        rollback_to=dict(type="str"),
        keep_releases=dict(type="int", default=5),
        keep_failed_releases=dict(type="int", default=1),
        protect=dict(type="list", elements="str", default=[]),
        lock_timeout=dict(type="int", default=600),
        record=dict(type="dict", options=RECORD_OPTIONS),
    ),
    mutually_exclusive=[("artifact_path", "artifact_url", "repository")],
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
