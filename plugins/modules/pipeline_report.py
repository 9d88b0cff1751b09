#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pipeline_report
short_description: Write the pipeline report, a self-contained HTML page, from the event store
version_added: 0.1.0
description:
  - Reads the event store written by the P(conveyor.cicd.pipeline_events#callback) callback and writes one
    HTML file with inline CSS and SVG and no external assets, so it can be archived, mailed or attached
    to a CI job as is.
  - "It shows: the last run; DORA tiles with their performance bands; a timeline of the last run by stage;
    stage durations over the last O(runs) runs; test counts; the last deployments per environment; the failures
    of the last run."
  - Everything from the store is HTML-escaped. The page carries no generation time, so an unchanged store gives
    an identical file and C(changed=false).
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: Renders the page and reports whether the file would change, without writing it.
  diff_mode:
    support: none
    description: The page is regenerated as a whole; no diff is shown.
options:
  db_path:
    description:
      - Path of the SQLite event store.
      - Default is E(CONVEYOR_EVENTS_DB), else C(~/.local/share/conveyor/events.db).
    type: path
  dest:
    description: Path of the HTML file to write. Missing directories are created.
    type: path
    required: true
  title:
    description: Title of the page.
    type: str
    default: Pipeline report
  runs:
    description: How many of the latest runs the trend chart shows.
    type: int
    default: 20
  environment:
    description: The environment of the DORA tiles.
    type: str
    default: production
  days:
    description: The DORA window in days.
    type: int
    default: 30
  now:
    description: End of the DORA window (ISO 8601 or epoch seconds). Default is the current time.
    type: str
  failure_window:
    description: As in M(conveyor.cicd.dora_metrics).
    type: str
    default: 1d
  deployments_per_environment:
    description: How many of the latest deployments to list per environment.
    type: int
    default: 5
seealso:
  - module: conveyor.cicd.dora_metrics
"""

EXAMPLES = r"""
- name: Write the report next to the event store
  conveyor.cicd.pipeline_report:
    db_path: "{{ conveyor_state_dir }}/events.db"
    dest: "{{ conveyor_state_dir }}/report/index.html"
  register: report

- name: Tell where it is
  ansible.builtin.debug:
    msg: "Pipeline report: file://{{ report.path }}"
"""

RETURN = r"""
path:
  description: Absolute path of the HTML report.
  returned: success
  type: str
  sample: /srv/conveyor/state/report/index.html
db_path:
  description: The event store that was read.
  returned: success
  type: str
runs:
  description: Number of runs shown in the trend chart.
  returned: success
  type: int
last_run:
  description: The last finished run (C(id), C(playbook), C(status), C(started), C(duration)), or null.
  returned: success
  type: dict
written:
  description:
    - Whether the page was written (would be, in check mode) because its contents differ; the same as C(changed),
      kept for callers that do not count the rewrite as a change.
  returned: success
  type: bool
size:
  description: Size of the page in bytes.
  returned: success
  type: int
dora:
  description: The DORA metrics shown on the page, as returned by M(conveyor.cicd.dora_metrics).
  returned: success
  type: dict
"""

import os

from ansible_collections.conveyor.cicd.plugins.module_utils._events import EventStore, iso
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule
from ansible_collections.conveyor.cicd.plugins.module_utils._report import render_report, write_report


def run(module) -> dict:
    params = module.params
    with EventStore(params["db_path"], readonly=True) as store:
        page, metrics = render_report(
            store,
            title=params["title"],
            runs=params["runs"],
            environment=params["environment"],
            days=params["days"],
            now=params["now"],
            failure_window=params["failure_window"],
            deployments_per_environment=params["deployments_per_environment"],
        )
        recent = store.runs(limit=params["runs"])
        db_path = store.path
    last = recent[-1] if recent else None
    changed = write_report(params["dest"], page, check_mode=module.check_mode)
    return {
        "changed": changed,
        "written": changed,
        "path": os.path.abspath(params["dest"]),
        "db_path": db_path,
        "runs": len(recent),
        "last_run": (
            dict({k: last[k] for k in ("id", "playbook", "status", "duration")}, started=iso(last["started"]))
            if last
            else None
        ),
        "size": len(page.encode("utf-8")),
        "dora": metrics,
    }


MODULE_SPEC = dict(
    argument_spec={
        "db_path": {"type": "path"},
        "dest": {"type": "path", "required": True},
        "title": {"type": "str", "default": "Pipeline report"},
        "runs": {"type": "int", "default": 20},
        "environment": {"type": "str", "default": "production"},
        "days": {"type": "int", "default": 30},
        "now": {"type": "str"},
        "failure_window": {"type": "str", "default": "1d"},
        "deployments_per_environment": {"type": "int", "default": 5},
    },
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
