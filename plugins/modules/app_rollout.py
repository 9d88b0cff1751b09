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
  repository_options:
    description:
      - Connection options of O(repository) or O(artifact_url) (endpoint_url, region, access_key, secret_key,
        session_token, username, password, token, validate_certs, timeout, retries), as for
        M(conveyor.cicd.artifact_fetch).
    type: dict
    default: {}
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
  hook_timeout:
    description: Seconds each hook may run.
    type: int
    default: 300
  service:
    description:
      - How to restart the application. Arguments may contain C({release_path}), C({release_id}), C({version}),
        C({root}) and C({shared}).
      - C(manager=systemd) keys are C(unit), C(unit_file) (relative to the release; installed into C(unit_dir),
        default C(/etc/systemd/system), with C(daemon-reload) when it changed) and C(action) (V(restart) or
        V(reload)).
      - C(manager=command) keys are C(start), C(stop), C(status) (argv lists), C(pid_file), C(log_file),
        C(environment), C(start_timeout), C(stop_timeout). The start command is detached; without C(stop) the pid
        in C(pid_file) gets SIGTERM, then SIGKILL after C(stop_timeout).
      - C(manager=none) (the default) restarts nothing.
      - Put secrets (a database DSN with a password, tokens) in O(service_secrets), not in C(start) or C(environment).
    type: dict
    default: {}
  service_secrets:
    description:
      - More environment variables for the C(manager=command) start, stop and status commands, for values that are
        secret. They reach the process in its environment, never on its command line (which any local user can
        read in the process list), and never appear in the module's result, its logs or the event store.
        C({shared}), C({root}), C({release_path}), C({release_id}) and C({version}) are replaced as in O(service).
      - With C(manager=systemd) they are refused; give the unit an C(EnvironmentFile) with mode 0600 instead.
    type: dict
    default: {}
  health:
    description:
      - Health check after the switch. Keys are C(url), C(status_codes) (default V([200])), C(body_contains),
        C(json_field) (dotted path), C(json_value), C(timeout), C(retries) (failed attempts after the first, default
        10), C(delay) (seconds, default 1), C(successes) (consecutive passes needed, default 1), C(validate_certs),
        C(ca_path), C(command) (argv list, exit code 0 passes) and C(command_timeout).
      - C({version}) and C({release_id}) in C(url), C(body_contains), C(json_value) and C(command) are replaced by
        those of the release being checked, so C(json_value={version}) also works for a rollback.
        C({base_version}) is the version without its prerelease or build suffix (C(1.4.0) for a snapshot
        C(1.4.0-dev.g1a2b3c)), which is what an application built from a snapshot reports.
    type: dict
    default: {}
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
conveyor_deploy:
  description: The deployment record (from O(record)) with C(action); absent without O(record).
  returned: when O(record) is set
  type: dict
  sample: {environment: production, version: 1.4.0, commit: 3f2a..., commit_time: "2026-11-20T10:00:00Z", action: deploy}
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule
from ansible_collections.conveyor.cicd.plugins.module_utils._rollout import rollout


def run(module):
    return rollout(module.params, check_mode=module.check_mode, want_diff=module._diff)


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
        repository_options=dict(type="dict", default={}, no_log=True),
        name=dict(type="str"),
        file=dict(type="str"),
        shared_paths=dict(type="list", elements="str", default=[]),
        hooks=dict(type="dict", default={}),
        hook_timeout=dict(type="int", default=300),
        service=dict(type="dict", default={}),
        service_secrets=dict(type="dict", default={}, no_log=True),
        health=dict(type="dict", default={}),
        rollback_on_failure=dict(type="bool", default=True),
        rollback_to=dict(type="str"),
        keep_releases=dict(type="int", default=5),
        keep_failed_releases=dict(type="int", default=1),
        protect=dict(type="list", elements="str", default=[]),
        lock_timeout=dict(type="int", default=600),
        record=dict(type="dict"),
    ),
    mutually_exclusive=[("artifact_path", "artifact_url", "repository")],
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
