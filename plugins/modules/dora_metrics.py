#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dora_metrics
short_description: Compute the four DORA metrics from the pipeline event store
version_added: 0.1.0
description:
  - Reads the event store written by the P(conveyor.cicd.pipeline_events#callback) callback and computes,
    for one environment and a window of O(days) days, the deployment frequency, the lead time for changes
    (median and 90th percentile), the change failure rate and the time to restore.
  - Each metric gets its performance band (C(elite), C(high), C(medium), C(low)) after the 2023 Accelerate
    State of DevOps Report; C(null) when there is no data.
  - A deployment is one run's rollout to one environment (all hosts together). Successful rollouts that changed
    nothing do not count. The exact definitions are in the collection's C(docs/feedback.md).
  - The store is opened read-only; nothing is ever written.
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: The module only reads, so check mode runs it unchanged.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
options:
  db_path:
    description:
      - Path of the SQLite event store.
      - Default is E(CONVEYOR_EVENTS_DB), else C(~/.local/share/conveyor/events.db).
    type: path
  environment:
    description: The environment to measure, as recorded in the deployments' C(conveyor_deploy.environment).
    type: str
    default: production
  days:
    description: Length of the window in days, ending at O(now).
    type: int
    default: 30
  now:
    description:
      - End of the window, as ISO 8601 (C(2024-05-01T12:00:00Z)) or epoch seconds. Default is the current time.
      - Set it to make results reproducible.
    type: str
  failure_window:
    description:
      - A successful deployment followed by a rollback of the same environment within this time counts as a
        failed change. Seconds, or a number with C(s), C(m), C(h), C(d) or C(w).
    type: str
    default: 1d
seealso:
  - module: conveyor.cicd.pipeline_report
"""

EXAMPLES = r"""
- name: DORA metrics of production over the last 30 days
  conveyor.cicd.dora_metrics:
    db_path: "{{ conveyor_state_dir }}/events.db"
  register: dora

- name: Show the lead time
  ansible.builtin.debug:
    msg: "Lead time: {{ dora.lead_time.median_human }} ({{ dora.lead_time.band }})"

- name: Staging over one week, with a fixed end for a reproducible report
  conveyor.cicd.dora_metrics:
    environment: staging
    days: 7
    now: "2024-05-01T00:00:00Z"
    failure_window: 2h
"""

RETURN = r"""
environment:
  description: The measured environment.
  returned: success
  type: str
  sample: production
db_path:
  description: The event store that was read.
  returned: success
  type: str
window:
  description: The window (C(start), C(end) in ISO 8601 UTC), its C(days) and the C(failure_window_seconds).
  returned: success
  type: dict
  sample: {start: "2024-04-01T00:00:00Z", end: "2024-05-01T00:00:00Z", days: 30, failure_window_seconds: 86400}
deployment_frequency:
  description:
    - C(deployments) (all attempts in the window), C(successful), C(per_day) and C(per_week) (successful
      deployments divided by the window length) and C(band).
  returned: success
  type: dict
  sample: {deployments: 12, successful: 11, per_day: 0.3667, per_week: 2.5667, band: high}
lead_time:
  description:
    - Commit time to successful deployment, over the successful deployments that know their commit time -
      C(count), C(median_seconds), C(p90_seconds) (nearest rank), C(median_human), C(p90_human), C(band).
  returned: success
  type: dict
  sample: {count: 11, median_seconds: 5400.0, p90_seconds: 86400.0, median_human: 1h 30m, p90_human: 1d, band: elite}
change_failure_rate:
  description:
    - C(deployments), C(failed_deployments) (failed, rolled back by the rollout, or followed by a rollback
      within O(failure_window)), C(rate) (0 to 1, null without deployments), C(percent) and C(band).
  returned: success
  type: dict
  sample: {deployments: 12, failed_deployments: 1, rate: 0.0833, percent: 8.3, band: high}
time_to_restore:
  description:
    - From the first failed deployment of an incident to the next successful deployment or rollback -
      C(incidents), C(restored), C(unresolved), C(median_seconds), C(median_human), C(band).
  returned: success
  type: dict
  sample: {incidents: 1, restored: 1, unresolved: 0, median_seconds: 1800.0, median_human: 30m, band: elite}
summary:
  description: The four metrics as one line each, for people.
  returned: success
  type: list
  elements: str
  sample:
    - "deployment frequency: 2.56667/week, 11 of 12 deployments succeeded (high)"
    - "lead time for changes: median 1h 30m, p90 1d (elite)"
    - "change failure rate: 8.3% (high)"
    - "time to restore: median 30m, 0 open (elite)"
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._events import EventStore, compute_dora
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule


def run(module) -> dict:
    params = module.params
    with EventStore(params["db_path"], readonly=True) as store:
        metrics = compute_dora(
            store,
            environment=params["environment"],
            days=params["days"],
            now=params["now"],
            failure_window=params["failure_window"],
        )
        return dict(metrics, db_path=store.path, changed=False)


MODULE_SPEC = dict(
    argument_spec={
        "db_path": {"type": "path"},
        "environment": {"type": "str", "default": "production"},
        "days": {"type": "int", "default": 30},
        "now": {"type": "str"},
        "failure_window": {"type": "str", "default": "1d"},
    },
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
