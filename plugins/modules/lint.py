#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lint
short_description: Run linters and formatters on a tree and return structured findings
version_added: 0.1.0
description:
  - Runs each tool in O(tools) on the directory O(path) and returns every finding as
    C({tool, path, line, column, rule, severity, message}), with a summary by tool and severity.
  - "Supported tools: C(ruff) (ruff check), C(ruff-format) (ruff format), C(yamllint), C(ansible-lint),
    C(shellcheck) (shell scripts found by extension or shebang), and C(command): any linter whose output is
    parsed as SARIF JSON or with a regex with the named groups C(path), C(line), C(column), C(rule),
    C(message) and C(severity)."
  - With O(fix=true), formatters and fixers (C(ruff), C(ruff-format), C(ansible-lint)) modify the files;
    C(changed) is true only when a file's content changed.
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: With O(fix=true) the fixes are applied to a temporary copy; the task returns the diff it would apply and writes nothing.
  diff_mode:
    support: full
    description: Returns the changes made (or, in check mode, that would be made) by fixers.
options:
  path:
    description: The directory to lint. Tools run with it as their working directory.
    type: path
    required: true
  tools:
    description:
      - The tools to run, in order. Each is a tool name, or a dictionary with these keys.
    type: list
    elements: raw
    required: true
    suboptions:
      name:
        description: The tool - V(ruff), V(ruff-format), V(yamllint), V(ansible-lint), V(shellcheck) or V(command).
        type: str
        required: true
      args:
        description: Extra arguments for the tool.
        type: list
        elements: str
      config:
        description: The tool's configuration file.
        type: path
      executable:
        description: The tool's program when it is not the usual name on PATH.
        type: str
      argv:
        description: For V(command), the linter's argument list.
        type: raw
      label:
        description: For V(command), the tool name shown in findings. Default the program name.
        type: str
      format:
        description: For V(command), how its output is read. Default V(regex).
        type: str
        choices: [sarif, regex]
      pattern:
        description:
          - For V(command) with O(tools[].format=regex), a regex with named groups; C(path) and C(message) are
            required, C(line), C(column), C(rule) and C(severity) are optional.
        type: str
      severity:
        description: For V(command), the severity of findings that do not carry one. Default V(error).
        type: str
        choices: [error, warning, info]
      ignore_rc:
        description: For V(command), accept a non-zero exit code even when no finding matched.
        type: bool
  fix:
    description: Apply formatters and fixers. Findings are those that remain afterwards.
    type: bool
    default: false
  fail_on:
    description: Fail when there are findings of this severity or worse; C(never) only reports.
    type: str
    choices: [error, warning, never]
    default: error
  timeout:
    description: Seconds each tool may run.
    type: float
  cache_dir:
    description:
      - Result cache directory. The key covers the tools and their options, each tool program (path, size,
        modification time) and the contents of every file under O(path); the same key returns the recorded
        findings without running the tools.
    type: path
  cache_ignore:
    description: Globs of files left out of the cache key because no tool reads them (build outputs such as C(dist/**)).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Lint and check formatting
  conveyor.cicd.lint:
    path: "{{ app_dir }}"
    tools:
      - name: ruff
      - name: ruff-format
      - name: yamllint
        config: "{{ app_dir }}/.yamllint"
      - name: shellcheck
  register: lint

- name: Apply formatters and fixers (with --check --diff, shows the diff and writes nothing)
  conveyor.cicd.lint:
    path: "{{ app_dir }}"
    fix: true
    tools: [{name: ruff}, {name: ruff-format}]

- name: Any linter through a regex
  conveyor.cicd.lint:
    path: "{{ app_dir }}"
    fail_on: warning
    tools:
      - name: command
        argv: [mypy, --no-error-summary, src]
        pattern: '^(?P<path>[^:]+):(?P<line>\d+): (?P<severity>error|warning|note): (?P<message>.*?)(?:  \[(?P<rule>[\w-]+)\])?$'
"""

RETURN = r"""
findings:
  description: Every finding, sorted by path and line.
  returned: always
  type: list
  elements: dict
  sample: [{tool: ruff, path: src/app.py, line: 3, column: 8, rule: F401, severity: error, message: "`os` imported but unused"}]
summary:
  description: Counts C(by_tool) (each by severity), C(by_severity) and C(total).
  returned: always
  type: dict
changed_files:
  description: Files the fixers modified (or would modify, in check mode).
  returned: always
  type: list
  elements: str
cache:
  description: C(hit), C(miss) or C(disabled).
  returned: always
  type: str
durations:
  description: Seconds each tool took (when they ran; a cache hit returns the recorded ones).
  returned: success
  type: dict
duration:
  description: Seconds the whole task took.
  returned: success
  type: float
stage:
  description:
    - The lint run as one stage of a CI summary. C(result) is C(failed), C(cached) (a cache hit) or C(ok); C(duration)
      is in seconds; C(details) counts the errors, the warnings and the tools.
  returned: always
  type: dict
  sample: {stage: lint, result: ok, duration: 0.3, details: "0 errors, 0 warnings (4 tools)"}
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._lint import run_lint
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule


def run(module):
    return run_lint(check_mode=module.check_mode, want_diff=module._diff, **module.params)


MODULE_SPEC = dict(
    argument_spec=dict(
        path=dict(type="path", required=True),
        # a tool name or a mapping; the engine checks the mapping (_lint.TOOL_KEYS, documented as suboptions)
        # with its own messages, which name the tool
        tools=dict(type="list", elements="raw", required=True),
        fix=dict(type="bool", default=False),
        fail_on=dict(type="str", choices=["error", "warning", "never"], default="error"),
        timeout=dict(type="float"),
        cache_dir=dict(type="path"),
        cache_ignore=dict(type="list", elements="str", default=[]),
    ),
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
