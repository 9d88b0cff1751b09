#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: build
short_description: Run build steps with a content-addressed output cache
version_added: 0.1.0
description:
  - Runs build steps (argv lists, never shell strings) in O(chdir), with O(env) and a O(timeout),
    writing the whole output of every step to O(log_file).
  - When O(cache_dir) and O(inputs) are set, the cache key is a sha256 over the steps, the declared
    environment, the declared outputs and the contents of the files matched by O(inputs).
    On a hit nothing runs and the declared O(outputs) are restored from the cache.
  - A cache entry is written to a temporary directory and renamed into place, so a build killed
    midway leaves no entry.
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: Computes the cache key; reports C(changed=false) only when the cache holds the outputs and they are already in place.
  diff_mode:
    support: none
    description: The outputs are binary files; see RV(outputs) for their digests.
options:
  chdir:
    description: Directory the steps run in; O(inputs) and O(outputs) are relative to it.
    type: path
    required: true
  steps:
    description:
      - Build steps, run in order. Each is an argv list, or a dictionary with these keys.
    type: list
    elements: raw
    required: true
    suboptions:
      argv:
        description: The step's command (argv list).
        type: raw
        required: true
      name:
        description: The step's name in messages and results. Default the program's name.
        type: str
  env:
    description: Environment variables added for the steps (free-form). They are part of the cache key.
    type: dict
    default: {}
  timeout:
    description: Seconds all steps together may take; the running step is killed when they run out.
    type: float
  log_file:
    description: File that receives the full output of every step (replaced on each run that builds).
    type: path
  inputs:
    description:
      - Globs (C(**) allowed) of the files whose contents decide the cache key, chosen among the files of
        O(inputs_from). C(["**"]) is every one of them.
      - Files matching O(outputs), and the cache and log files when they lie in O(chdir), are never inputs.
    type: list
    elements: str
    default: []
  inputs_from:
    description:
      - The files O(inputs) select from.
      - C(tree) is every file under O(chdir) except tool directories (C(.git), C(.venv), C(__pycache__),
        C(*.egg-info), ...).
      - C(git) is the files git lists for O(chdir) (C(git ls-files --cached --others --exclude-standard)) -
        tracked files, and untracked files that are not ignored. Outside a git work tree, or in a directory its
        repository ignores, it is C(tree) without the C(build) and C(dist) directories at the top of O(chdir).
    type: str
    choices: [tree, git]
    default: tree
  outputs:
    description: Globs of the files the build produces; they are stored in and restored from the cache.
    type: list
    elements: str
    default: []
  cache_dir:
    description: Cache directory. Without it (or without O(inputs)) the cache is disabled and the steps always run.
    type: path
  clean_outputs:
    description: Remove the files matching O(outputs) before running the steps, so stale outputs are not collected.
    type: bool
    default: false
notes:
  - A cache hit whose outputs are already in place reports C(changed=false). A hit that has to copy outputs back
    reports C(changed=true) and lists them in RV(restored).
"""

EXAMPLES = r"""
- name: Build the wheel and sdist, cached on every file of the project that git knows
  conveyor.cicd.build:
    chdir: "{{ app_dir }}"
    steps:
      - name: wheel and sdist
        argv: [python3, -m, build, --no-isolation, --wheel, --sdist, --outdir, dist]
    inputs: ["**"]
    inputs_from: git
    outputs: ["dist/*"]
    clean_outputs: true
    cache_dir: "{{ state_dir }}/cache"
    log_file: "{{ state_dir }}/logs/build.log"
    timeout: 600
  register: build
"""

RETURN = r"""
cache:
  description: C(hit), C(miss) or C(disabled).
  returned: always
  type: str
  sample: hit
cache_key:
  description: The sha256 cache key, or null when the cache is disabled.
  returned: always
  type: str
duration:
  description: Seconds the task took.
  returned: always
  type: float
outputs:
  description: The output files, with C(path) (relative to O(chdir)), C(sha256) and C(size).
  returned: always
  type: list
  elements: dict
restored:
  description: Outputs copied back from the cache (or that would be, in check mode).
  returned: always
  type: list
  elements: str
inputs:
  description: Number of input files in the cache key.
  returned: always
  type: int
steps:
  description: Step names.
  returned: always
  type: list
  elements: str
step_results:
  description: Per step C(name), C(rc) and C(duration), for the steps that ran.
  returned: always
  type: list
  elements: dict
failed_step:
  description: The name of the step that failed.
  returned: failure
  type: str
log_tail:
  description: The last lines of the failing step's output.
  returned: failure
  type: list
  elements: str
stage:
  description:
    - The build as one stage of a CI summary. C(result) is C(failed), C(cached) (a cache hit) or C(ok); C(duration)
      is in seconds; C(details) counts the outputs and their size, and names the failed step.
  returned: always
  type: dict
  sample: {stage: build, result: ok, duration: 1.9, details: "2 outputs, 40 KiB"}
summary:
  description:
    - The build summary of a release manifest, C(cache_key) and C(outputs) (no timings). After a failure, no key and
      no outputs.
  returned: always
  type: dict
output_paths:
  description: The paths of RV(outputs) joined to O(chdir); none after a failure.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._build import run_build
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule


def run(module):
    return run_build(check_mode=module.check_mode, **module.params)


MODULE_SPEC = dict(
    argument_spec=dict(
        chdir=dict(type="path", required=True),
        # an argv list or {name, argv}; the argv stays raw: the engine refuses a shell string with the list to write
        steps=dict(
            type="list",
            elements="raw",
            required=True,
            options=dict(argv=dict(type="raw", required=True), name=dict(type="str")),
        ),
        env=dict(type="dict", default={}),
        timeout=dict(type="float"),
        log_file=dict(type="path"),
        inputs=dict(type="list", elements="str", default=[]),
        inputs_from=dict(type="str", choices=["tree", "git"], default="tree"),
        outputs=dict(type="list", elements="str", default=[]),
        cache_dir=dict(type="path"),
        clean_outputs=dict(type="bool", default=False),
    ),
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
