#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: test_suite
short_description: Run test suites and report their JUnit XML results
version_added: 0.1.0
description:
  - Runs one suite (unit, integration, e2e, or any name) through an argv O(command) that writes JUnit XML,
    or several at the same time with O(suites).
  - Reads every report (nested C(testsuites), several files, globs), writes one merged JUnit report to O(report),
    and returns the counts and the failing tests.
  - With O(cache_dir) and O(inputs), a passing result is recorded under a key over the command, the environment
    and the contents of the input files; the same key later returns the recorded result without running the tests.
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: Reports a cache hit (nothing would run) or that the suite would run; runs nothing.
  diff_mode:
    support: none
    description: Reports are generated files; compare them with RV(report).
options:
  name:
    description: Suite name, used in messages and in the merged report. Required with O(command).
    type: str
  command:
    description:
      - The test command as an argv list. The text C({junit_xml}) in an argument is replaced by a temporary report
        path that the module reads afterwards (pytest C(--junitxml={junit_xml})).
      - Exactly one of O(command) and O(suites) is required.
    type: list
    elements: str
  suites:
    description:
      - Several suites run at the same time (up to O(max_parallel)), each to its end even when another fails.
        A suite's own options override the shared ones. The suites must not write the same files.
      - Returns RV(suites) with one result per suite, and the counts summed over all of them.
    type: list
    elements: dict
    suboptions:
      name:
        description: Suite name, unique among O(suites).
        type: str
        required: true
      command:
        description: The suite's test command (argv list), with C({junit_xml}) as in O(command).
        type: raw
        required: true
      chdir:
        description: Directory the command runs in. Default O(chdir).
        type: path
      report:
        description: Where the suite's merged JUnit report is written. Default C(junit-<name>.xml) in its directory.
        type: path
      junit_files:
        description: Further report files or globs written by the command.
        type: list
        elements: str
      env:
        description: Environment variables, merged over O(env) (free-form).
        type: dict
      timeout:
        description: Seconds the command may run. Default O(timeout).
        type: float
      log_file:
        description: File that receives the command's whole output.
        type: path
      inputs:
        description: Globs of the files that decide the suite's result cache key. Default O(inputs).
        type: list
        elements: str
      allow_empty:
        description: Accept a run in which no test ran. Default O(allow_empty).
        type: bool
      result_from:
        description: Where the suite's result comes from, as O(result_from). Default O(result_from).
        type: str
        choices: [junit, exit_code]
  max_parallel:
    description: How many of O(suites) run at once. Defaults to the number of CPUs.
    type: int
  chdir:
    description: Directory the command runs in; relative O(junit_files) and O(inputs) are relative to it.
    type: path
    required: true
  junit_files:
    description: Further report files or globs (C(**) allowed) written by the command.
    type: list
    elements: str
    default: []
  report:
    description:
      - Where the merged JUnit report is written. Defaults to C(junit-<name>.xml) in O(chdir).
      - With O(suites), the report of each suite that names none, a path containing C({name}) (replaced by the suite's
        name), for example C(reports/junit-{name}.xml).
    type: path
  env:
    description: Environment variables added for the command (free-form).
    type: dict
    default: {}
  timeout:
    description: Seconds the command may run before it is killed.
    type: float
  log_file:
    description:
      - File that receives the command's whole output.
      - With O(suites), the log of each suite that names none, a path containing C({name}) as in O(report).
    type: path
  fail_on_failure:
    description: Fail the task when a test fails or errors; the message lists the first 20 failing tests.
    type: bool
    default: true
  allow_empty:
    description: Accept a run in which no test ran.
    type: bool
    default: false
  inputs:
    description:
      - Globs of the files whose contents decide the result cache key, chosen among the files of O(inputs_from).
        C(["**"]) is every one of them.
      - The report, the log file and the cache, when they lie in the suite's directory, are never inputs.
    type: list
    elements: str
    default: []
  inputs_from:
    description:
      - The files O(inputs) select from, for every suite.
      - C(tree) is every file under the suite's directory except tool directories (C(.git), C(.venv),
        C(__pycache__), C(*.egg-info), ...).
      - C(git) is the files git lists for it (C(git ls-files --cached --others --exclude-standard)) - tracked files,
        and untracked files that are not ignored. Outside a git work tree, or in a directory its repository
        ignores, it is C(tree) without the C(build) and C(dist) directories at the top of the directory.
    type: str
    choices: [tree, git]
    default: tree
  cache_dir:
    description: Result cache directory; without it (or without O(inputs)) the suite always runs.
    type: path
  result_from:
    description:
      - V(junit) reads the JUnit XML the command writes (C({junit_xml}) or O(junit_files)).
      - V(exit_code) is for a tool that writes no JUnit XML (C(promtool test rules), a shell test script). The
        suite is one test case named after the suite, passed when the command exits with 0 and failed otherwise
        (its message the exit code and the last line of output); the module writes it to the report as JUnit XML,
        and caches it like any other passing suite.
    type: str
    choices: [junit, exit_code]
    default: junit
notes:
  - C(changed) is true when the merged report file was written with new content. Every real run writes new timings,
    so only a cache hit whose report is already in place reports C(changed=false).
"""

EXAMPLES = r"""
- name: Unit tests
  conveyor.cicd.test_suite:
    name: unit
    chdir: "{{ app_dir }}"
    command: [python3, -m, pytest, tests/unit, "--junitxml={junit_xml}", -q]
    report: "{{ state_dir }}/reports/junit-unit.xml"
    inputs: ["src/**", "tests/**"]
    cache_dir: "{{ state_dir }}/cache"
  register: unit

- name: A runner that writes several files
  conveyor.cicd.test_suite:
    name: integration
    chdir: "{{ app_dir }}"
    command: [make, integration]
    junit_files: ["build/test-results/**/*.xml"]
    fail_on_failure: false

- name: Alert rule unit tests (promtool writes no JUnit XML; its exit code is the result)
  conveyor.cicd.test_suite:
    name: alert_rules
    chdir: /etc/prometheus/rules
    command: [promtool, test, rules, app.rules_test.yml]
    result_from: exit_code
    inputs: [app.rules.yml, app.rules_test.yml]
    cache_dir: /var/lib/conveyor/cache
"""

RETURN = r"""
tests:
  description: Number of test cases.
  returned: success or test failures
  type: int
passed:
  description: Test cases that passed.
  returned: success or test failures
  type: int
failed_tests:
  description:
    - Test cases with a failure. Ansible reads the key C(failed) as the task status, so this count is
      called C(failed_tests) here and C(failed) inside RV(summary).
  returned: success or test failures
  type: int
summary:
  description: The counts C(tests), C(passed), C(failed), C(errors), C(skipped) and the C(duration).
  returned: success or test failures
  type: dict
  sample: {tests: 42, passed: 40, failed: 1, errors: 0, skipped: 1, duration: 3.2}
errors:
  description: Test cases with an error.
  returned: success or test failures
  type: int
skipped_tests:
  description: Test cases skipped (C(skipped) inside RV(summary); Ansible reserves the key C(skipped)).
  returned: success or test failures
  type: int
duration:
  description: Seconds the task took.
  returned: success
  type: float
failures:
  description: Failing tests, each with C(suite), C(classname), C(name), C(kind) and C(message).
  returned: success or test failures
  type: list
  elements: dict
report:
  description: Path of the merged JUnit report.
  returned: always
  type: str
cache:
  description: C(hit), C(miss) or C(disabled).
  returned: success
  type: str
cache_key:
  description: The result cache key, or null when the cache is disabled.
  returned: success
  type: str
exit_code:
  description: Exit code of the test command (0 on a cache hit, null in check mode).
  returned: success
  type: int
files:
  description: The JUnit files that were read.
  returned: success
  type: list
  elements: str
name:
  description: The suite name.
  returned: success, with O(command)
  type: str
suites:
  description: With O(suites), one result per suite (the keys above, plus C(error) for a suite that failed).
  returned: with O(suites)
  type: list
  elements: dict
stage:
  description:
    - The suite as one stage of a CI summary. C(stage) is C(test:<name>); C(result) is C(failed), C(cached) (a result
      cache hit) or C(passed); C(duration) is in seconds; C(details) counts the tests in one line.
  returned: with O(command), on success and on failure
  type: dict
  sample: {stage: "test:unit", result: passed, duration: 0.6, details: "49/49 passed, 0 failed, 0 skipped"}
stages:
  description: With O(suites), one RV(stage) record per suite, in the order of O(suites).
  returned: with O(suites), on success and on failure once the suites ran
  type: list
  elements: dict
counts:
  description:
    - Suite name to its counts C(tests), C(passed), C(failed), C(errors), C(skipped) (RV(summary) without the
      duration), for each suite that has them; the test summary of a release manifest.
  returned: on success and on failure (with O(suites), once the suites ran)
  type: dict
  sample: {unit: {tests: 49, passed: 49, failed: 0, errors: 0, skipped: 0}}
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule
from ansible_collections.conveyor.cicd.plugins.module_utils._test_suite import run_suite, run_suites

# a suite's own options; those left out take the shared value (the engine applies it)
SUITE_OPTIONS = dict(
    name=dict(type="str", required=True),
    command=dict(type="raw", required=True),  # the engine refuses a shell string with the list to write
    chdir=dict(type="path"),
    report=dict(type="path"),
    junit_files=dict(type="list", elements="str"),
    env=dict(type="dict"),
    timeout=dict(type="float"),
    log_file=dict(type="path"),
    inputs=dict(type="list", elements="str"),
    allow_empty=dict(type="bool"),
    result_from=dict(type="str", choices=["junit", "exit_code"]),
)

MODULE_SPEC = dict(
    argument_spec=dict(
        name=dict(type="str"),
        command=dict(type="list", elements="str"),
        suites=dict(type="list", elements="dict", options=SUITE_OPTIONS),
        max_parallel=dict(type="int"),
        chdir=dict(type="path", required=True),
        junit_files=dict(type="list", elements="str", default=[]),
        report=dict(type="path"),
        env=dict(type="dict", default={}),
        timeout=dict(type="float"),
        log_file=dict(type="path"),
        fail_on_failure=dict(type="bool", default=True),
        allow_empty=dict(type="bool", default=False),
        inputs=dict(type="list", elements="str", default=[]),
        inputs_from=dict(type="str", choices=["tree", "git"], default="tree"),
        cache_dir=dict(type="path"),
        result_from=dict(type="str", choices=["junit", "exit_code"], default="junit"),
    ),
    required_one_of=[("command", "suites")],
    mutually_exclusive=[("command", "suites"), ("name", "suites")],
    required_together=[("name", "command")],
    supports_check_mode=True,
)


def run(module):
    params = dict(module.params)
    suites, max_parallel = params.pop("suites"), params.pop("max_parallel")
    if suites is None:
        return run_suite(check_mode=module.check_mode, **params)
    if params["junit_files"]:
        raise ConfigurationError("with suites, give junit_files inside each suite")
    for key in ("name", "command", "junit_files"):
        params.pop(key)
    return run_suites(suites, max_parallel=max_parallel, check_mode=module.check_mode, **params)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
