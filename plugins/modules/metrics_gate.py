#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: metrics_gate
short_description: Gate a rollout on Prometheus metrics (automated canary analysis)
version_added: 0.1.0
description:
  - Runs PromQL queries against a Prometheus server, instant or over a time range, and compares every
    returned sample with a threshold.
  - Repeats the evaluation every O(interval) for O(duration) (or O(retries) more times). With
    O(policy=all_intervals) every evaluation must pass and the first failing one ends the gate, which is
    what a canary analysis needs; with O(policy=eventually) the gate passes as soon as one evaluation passes.
  - A query may return several series (one per host, for example); a check passes only when every
    sample of every series satisfies the comparison. C(NaN) samples, such as an error ratio with no traffic,
    count as no data and follow O(empty_result).
  - Fails with one line naming the failing check, its value and its threshold, unless O(fail_on_gate=false).
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: The module only reads from Prometheus, so check mode runs the same queries and decides the same way.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
options:
  url:
    description: Base URL of the Prometheus server (or of any server speaking its query API), without C(/api/v1).
    type: str
    required: true
  checks:
    description: The checks. Every one of them must pass for an evaluation to pass.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name used in results and messages; defaults to C(check1), C(check2)...
        type: str
      query:
        description: The PromQL expression. It should return a scalar or a vector (or a matrix for range checks).
        type: str
        required: true
      op:
        description: Comparison that every sample must satisfy, C(value op threshold).
        type: str
        required: true
        choices: ['<', '<=', '>', '>=', '==', '!=', lt, le, gt, ge, eq, ne]
      threshold:
        description: The number the samples are compared with.
        type: float
        required: true
      mode:
        description: Overrides O(mode) for this check.
        type: str
        choices: [instant, range]
      range:
        description: Overrides O(range) for this check.
        type: raw
      step:
        description: Overrides O(step) for this check.
        type: raw
      empty_result:
        description: Overrides O(empty_result) for this check.
        type: str
        choices: [fail, pass, ignore]
  mode:
    description:
      - V(instant) queries C(/api/v1/query) at the time of each evaluation.
      - V(range) queries C(/api/v1/query_range) over the last O(range) with resolution O(step); every sample
        in the window must pass.
    type: str
    choices: [instant, range]
    default: instant
  range:
    description: Window of range queries, in seconds or as a duration such as C(5m).
    type: raw
    default: 5m
  step:
    description: Resolution of range queries, in seconds or as a duration such as C(15s).
    type: raw
    default: 15s
  policy:
    description:
      - V(all_intervals) passes only if every evaluation during O(duration) passes (canary analysis).
      - V(eventually) retries until an evaluation passes and fails when O(duration) runs out.
    type: str
    choices: [all_intervals, eventually]
    default: all_intervals
  duration:
    description:
      - How long to keep evaluating, in seconds or as a duration such as C(5m). Evaluations happen at 0,
        O(interval), 2 x O(interval)... up to O(duration). Unset means a single evaluation.
      - Mutually exclusive with O(retries).
    type: raw
  interval:
    description: Time between evaluations, in seconds or as a duration such as C(30s).
    type: raw
    default: 10
  retries:
    description: Number of evaluations after the first one, instead of O(duration).
    type: int
  empty_result:
    description:
      - What a query that returns no series (or only NaN samples) means.
      - V(fail) fails the check. V(pass) passes it.
      - V(ignore) leaves it out of the decision; with O(policy=eventually) the gate keeps waiting for data
        and passes on missing data only at the last evaluation.
    type: str
    choices: [fail, pass, ignore]
    default: fail
  fail_on_gate:
    description: Fail the task when the gate does not pass. With V(false), read RV(passed) instead.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each HTTP answer.
    type: float
    default: 10
  validate_certs:
    description: Verify the server's TLS certificate for C(https) URLs.
    type: bool
    default: true
  url_username:
    description: User name for HTTP basic authentication.
    type: str
  url_password:
    description: Password for HTTP basic authentication.
    type: str
  bearer_token:
    description: "Token sent as C(Authorization: Bearer <token>), for example to a Prometheus behind an authenticating proxy."
    type: str
seealso:
  - name: Prometheus HTTP API
    description: The query API this module calls.
    link: https://prometheus.io/docs/prometheus/latest/querying/api/
"""

EXAMPLES = r"""
- name: Promote the canary only while its error ratio and p95 latency stay low for five minutes
  conveyor.cicd.metrics_gate:
    url: http://127.0.0.1:9090
    duration: 5m
    interval: 30s
    checks:
      - name: error_ratio
        query: >-
          sum(rate(sample_app_errors_total{host="app1"}[1m]))
          / sum(rate(sample_app_requests_total{host="app1",path!="/metrics"}[1m]))
        op: "<"
        threshold: 0.05
      - name: latency_p95
        query: >-
          histogram_quantile(0.95, sum by (le) (rate(sample_app_request_duration_seconds_bucket{host="app1"}[1m])))
        op: "<"
        threshold: 0.5

- name: Wait until every app target is scraped successfully
  conveyor.cicd.metrics_gate:
    url: http://127.0.0.1:9090
    policy: eventually
    duration: 60
    interval: 2
    checks:
      - query: up{job="sample_app"}
        op: "=="
        threshold: 1

- name: Read the verdict without failing
  conveyor.cicd.metrics_gate:
    url: https://prometheus.example.com
    bearer_token: "{{ prometheus_token }}"
    mode: range
    range: 10m
    step: 30s
    fail_on_gate: false
    checks:
      - name: no_restarts
        query: changes(sample_app_start_time_seconds[10m])
        op: "=="
        threshold: 0
  register: gate
"""

RETURN = r"""
passed:
  description: Whether the gate passed.
  returned: always
  type: bool
policy:
  description: The policy used.
  returned: always
  type: str
evaluation_count:
  description: How many evaluations ran.
  returned: always
  type: int
evaluations:
  description:
    - One entry per evaluation - C(evaluation) (1-based), C(time) (UTC, ISO 8601), C(elapsed) seconds since the
      first one, C(passed), and C(checks).
    - Each check has C(name), C(query), C(op), C(threshold), C(mode), C(status) (V(pass), V(fail) or V(no_data)),
      C(passed), C(value) (the first failing sample, or the latest one), C(series) (C(metric) labels, C(value),
      C(passed), C(samples)) and C(failing_series) (label strings).
  returned: always
  type: list
  elements: dict
failed_checks:
  description: The checks that failed in the deciding evaluation, each with C(name), C(value), C(op), C(threshold),
    C(status), C(evaluation), C(series) and a one-line C(reason).
  returned: always
  type: list
  elements: dict
  sample:
    - name: error_ratio
      value: 0.5
      op: "<"
      threshold: 0.05
      status: fail
      evaluation: 1
      series: ['{host="app1"}']
      reason: check 'error_ratio' {host="app1"} = 0.5, not < 0.05, at evaluation 1 of 11
msg:
  description: One line with the verdict.
  returned: always
  type: str
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule
from ansible_collections.conveyor.cicd.plugins.module_utils._prometheus import metrics_gate

OPS = ["<", "<=", ">", ">=", "==", "!=", "lt", "le", "gt", "ge", "eq", "ne"]


def run(module):
    return metrics_gate(module.params, check_mode=module.check_mode)


MODULE_SPEC = dict(
    argument_spec=dict(
        url=dict(type="str", required=True),
        checks=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str"),
                query=dict(type="str", required=True),
                op=dict(type="str", required=True, choices=OPS),
                threshold=dict(type="float", required=True),
                mode=dict(type="str", choices=["instant", "range"]),
                range=dict(type="raw"),
                step=dict(type="raw"),
                empty_result=dict(type="str", choices=["fail", "pass", "ignore"]),
            ),
        ),
        mode=dict(type="str", choices=["instant", "range"], default="instant"),
        range=dict(type="raw", default="5m"),
        step=dict(type="raw", default="15s"),
        policy=dict(type="str", choices=["all_intervals", "eventually"], default="all_intervals"),
        duration=dict(type="raw"),
        interval=dict(type="raw", default=10),
        retries=dict(type="int"),
        empty_result=dict(type="str", choices=["fail", "pass", "ignore"], default="fail"),
        fail_on_gate=dict(type="bool", default=True),
        timeout=dict(type="float", default=10),
        validate_certs=dict(type="bool", default=True),
        url_username=dict(type="str"),
        url_password=dict(type="str", no_log=True),
        bearer_token=dict(type="str", no_log=True),
    ),
    mutually_exclusive=[("retries", "duration"), ("bearer_token", "url_username")],
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
