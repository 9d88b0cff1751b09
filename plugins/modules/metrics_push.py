#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: metrics_push
short_description: Push metrics of a run to a Prometheus Pushgateway
version_added: 0.2.0
description:
  - Renders O(metrics) in the Prometheus text format (one C(# HELP) and C(# TYPE) per name, label values escaped)
    and pushes them to the group of O(job) and O(grouping) on the Pushgateway at O(url).
  - O(method=put) replaces every metric of the group; O(method=post) replaces only the metrics of the same names.
  - A push records an observation of this run, not configuration, so it never reports a change.
  - Bad metric or label names and non-numeric values fail with one line before anything is sent.
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: Pushes nothing; RV(body) and RV(url) show what a real run would send, and where.
  diff_mode:
    support: none
    description: The Pushgateway keeps no history to compare with.
options:
  url:
    description: Base URL of the Pushgateway, such as V(http://127.0.0.1:9091). C(user:password@) in it is sent as
      basic authentication and never returned.
    type: str
    required: true
  job:
    description: The C(job) label of the group.
    type: str
    required: true
  grouping:
    description: Further grouping labels of the group (label name to value), for example C(environment=production).
    type: dict
    default: {}
  metrics:
    description: The samples to push.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Metric name (letters, digits, C(_) and C(:)).
        type: str
        required: true
      value:
        description: A number (or a boolean, pushed as 1 or 0).
        type: raw
        required: true
      help:
        description: Help text of the metric.
        type: str
      type:
        description: Metric type, the same for every sample of a name.
        type: str
        choices: [gauge, counter, untyped]
        default: gauge
      labels:
        description: Labels of this sample.
        type: dict
        default: {}
  method:
    description: V(put) replaces the whole group, V(post) only the metrics of the same names.
    type: str
    choices: [put, post]
    default: put
  timeout:
    description: Seconds to wait for the Pushgateway.
    type: float
    default: 10
  validate_certs:
    description: Verify the TLS certificate of an HTTPS URL.
    type: bool
    default: true
  url_username:
    description: User name for basic authentication.
    type: str
  url_password:
    description: Password for basic authentication.
    type: str
"""

EXAMPLES = r"""
- name: Push the duration and result of this pipeline run
  conveyor.cicd.metrics_push:
    url: http://127.0.0.1:9091
    job: conveyor_pipeline
    grouping: {environment: production}
    metrics:
      - name: conveyor_pipeline_last_success_timestamp_seconds
        help: When the pipeline last succeeded.
        value: "{{ now(utc=true).timestamp() }}"
      - name: conveyor_deploys_total
        type: counter
        value: 42
        labels: {app: sample-app}
"""

RETURN = r"""
pushed:
  description: Whether the metrics were sent (false in check mode).
  returned: always
  type: bool
url:
  description: The group URL, without credentials.
  returned: always
  type: str
  sample: http://127.0.0.1:9091/metrics/job/conveyor_pipeline/environment/production
body:
  description: The text that was (or would be) pushed.
  returned: always
  type: str
status:
  description: HTTP status of the Pushgateway's answer, null in check mode.
  returned: always
  type: int
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule
from ansible_collections.conveyor.cicd.plugins.module_utils._pushgateway import push


def run(module: ConveyorModule) -> dict:
    params = module.params
    return push(
        url=params["url"],
        job=params["job"],
        metrics=params["metrics"],
        grouping=params["grouping"],
        method=params["method"],
        timeout=params["timeout"],
        validate_certs=params["validate_certs"],
        username=params["url_username"],
        password=params["url_password"],
        check_mode=module.check_mode,
    )


MODULE_SPEC = dict(
    argument_spec=dict(
        url=dict(type="str", required=True),
        job=dict(type="str", required=True),
        grouping=dict(type="dict", default={}),
        metrics=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                value=dict(type="raw", required=True),
                help=dict(type="str"),
                type=dict(type="str", choices=["gauge", "counter", "untyped"], default="gauge"),
                labels=dict(type="dict", default={}),
            ),
        ),
        method=dict(type="str", choices=["put", "post"], default="put"),
        timeout=dict(type="float", default=10),
        validate_certs=dict(type="bool", default=True),
        url_username=dict(type="str"),
        url_password=dict(type="str", no_log=True),
    ),
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
