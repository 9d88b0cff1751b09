#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: package
short_description: Package a build tree into reproducible archives with checksums and a release manifest
version_added: 0.1.0
description:
  - Packs the files of O(src) selected by O(include) and O(exclude) into C(<name>-<version>.tar.gz) and/or
    C(<name>-<version>.zip) in O(dest). Built wheels and sdists pass through as artifacts of the same release.
  - The same inputs give byte-identical archives, entries sorted by name, every mtime set to the source date
    epoch, owner and group 0 without names, modes normalised to 0644, 0755 for executables and directories.
  - Writes C(<artifact>.sha256) (the C(sha256sum) format) beside each artifact and the release manifest
    C(<name>-<version>.manifest.json) (name, version, git commit and commit time, artifacts with sha256 and size,
    build and test summaries).
  - Every file is built under a temporary name and renamed into place; an identical existing file is left alone.
  - Symlinks inside the tree are stored as symlinks (also in zip, with the Info-ZIP convention).
    Symlinks that point outside O(src), absolute symlinks, device files, fifos and sockets are refused.
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: Builds every archive in memory only to compute its digest, and reports exactly which files would change.
  diff_mode:
    support: full
    description: Shows the release manifest before and after.
options:
  src:
    description:
      - The build tree to package. Required when O(formats) is not empty.
      - C(.git) directories are never packaged; O(dest) is skipped when it lies inside O(src).
      - An archive that would hold no file is an error, never an empty artifact.
    type: path
  name:
    description: Release name; letters, digits and C(._+-). Used in the artifact and manifest file names.
    type: str
    required: true
  version:
    description: Release version, for example C(1.4.0) or C(1.5.0-rc.1); letters, digits and C(._+-).
    type: str
    required: true
  snapshot:
    description:
      - Package an unreleased commit as a prerelease of O(version) named after it, C(<version>-dev.g<commit>) (the first
        12 hex digits of the C(HEAD) commit of O(git_dir) or O(src)), or C(<version>-dev) outside git. RV(version) says
        which version was packaged.
    type: bool
    default: false
  release_tag:
    description:
      - A tag format with C({version}) exactly once, for example C(v{version}), that proves a release build. Without
        O(snapshot), the C(HEAD) commit of O(git_dir) or O(src) must carry the tag it gives O(version) (C(v1.4.0)),
        else the task fails before anything is written, so that a version is only ever packaged from the commit its
        release tag names, the one the pipeline built and tested. RV(release_tag) says which tag was verified.
      - Ignored with O(snapshot) (a snapshot is named after its own commit) and outside git (there is no commit to
        check). Default none, no check.
    type: str
  dest:
    description: Output directory for artifacts, checksum files and the manifest. Created when missing.
    type: path
    required: true
  formats:
    description: Archive formats to build from O(src). An empty list packages only O(wheels) and O(sdists).
    type: list
    elements: str
    choices: [tar.gz, zip]
    default: [tar.gz]
  include:
    description:
      - Gitignore-like globs of what to package, relative to O(src); default everything (with O(tracked), every file
        git tracks).
      - A pattern without C(/) matches a name at any depth (C(*.py)); one with C(/) is anchored at O(src) (C(src/app/**)).
        C(**) crosses directories, a trailing C(/) matches directories only, a matched directory selects everything below it.
      - Each pattern must select at least one file, else the task fails naming it, so that a pattern written for
        another layout never gives an archive without the code it names.
    type: list
    elements: str
    default: []
  tracked:
    description:
      - Package only the files git tracks in O(src) (C(git ls-files)), then apply O(include) and O(exclude); untracked
        files such as virtual environments, caches and build outputs stay out.
      - When O(src) is not inside a git work tree, every file is a candidate. RV(file_selection) says which applied.
    type: bool
    default: false
  exclude:
    description: Globs, same syntax as O(include), of what to leave out. Exclude wins over include.
    type: list
    elements: str
    default: []
  prefix:
    description:
      - Top directory inside the archives, for example C(myapp-1.4.0). Default none, so that unpacking into a
        release directory gives the tree itself.
    type: str
    default: ""
  wheels:
    description:
      - Built wheel files (C(.whl)) to pass through as artifacts; each entry may be a glob that must match.
      - Each wheel and sdist is read to its end first; a truncated or damaged one fails the task before anything is
        written.
    type: list
    elements: path
    default: []
  sdists:
    description: Built source distributions (C(.tar.gz) or C(.zip)) to pass through; each entry may be a glob.
    type: list
    elements: path
    default: []
  source_date_epoch:
    description:
      - Seconds since 1970 used as the mtime of every archive entry.
      - Default the E(SOURCE_DATE_EPOCH) environment variable, else the commit time of C(HEAD) of the git
        repository holding O(git_dir) or O(src), else 315532800 (1980-01-01, the earliest zip date).
    type: int
  git_dir:
    description:
      - A directory inside the git work tree whose C(HEAD) commit is recorded in the manifest. Default O(src);
        outside git the manifest records C(git=null). Given explicitly, a missing commit is an error.
    type: path
  build_summary:
    description: Build results to record in the manifest under C(build), for example the result of M(conveyor.cicd.build).
    type: dict
    default: {}
  test_summary:
    description: Test results to record in the manifest under C(tests).
    type: dict
    default: {}
  compression_level:
    description: Deflate level (0-9) for both formats. Changing it changes the archive bytes.
    type: int
    default: 6
notes:
  - Byte-identical output is guaranteed for the same inputs with the same zlib library; another zlib build may
    compress differently.
  - Zip stores times with two-second precision, in UTC, and not before 1980.
  - Artifacts of formats no longer requested are not removed from O(dest).
"""

EXAMPLES = r"""
- name: Package the application tree
  conveyor.cicd.package:
    src: "{{ app_dir }}"
    name: sample-app
    version: "{{ release.version }}"
    dest: "{{ state_dir }}/dist"
    formats: [tar.gz, zip]
    include: ["src/**", migrations/, pyproject.toml]
    exclude: [__pycache__/, "*.pyc"]
    wheels: ["{{ app_dir }}/dist/*.whl"]
    build_summary: "{{ build_result | default({}) }}"
    test_summary: {passed: 120, failed: 0}
  register: package

- name: Hand the manifest to later workflow nodes
  ansible.builtin.set_stats:
    data:
      release_manifest: "{{ package.manifest }}"
"""

RETURN = r"""
version:
  description: The version packaged, O(version) or with O(snapshot) its snapshot version.
  returned: always
  type: str
  sample: 1.4.0-dev.g0123456789ab
artifacts:
  description: Every artifact with C(path), C(name), C(format) (C(tar.gz), C(zip), C(wheel), C(sdist)), C(sha256), C(size)
    and C(changed).
  returned: always
  type: list
  elements: dict
  sample: [{name: sample-app-1.0.0.tar.gz, format: tar.gz, sha256: 9f2c..., size: 18231, changed: true}]
checksum_files:
  description: Paths of the C(.sha256) files.
  returned: always
  type: list
  elements: str
manifest:
  description: The release manifest content.
  returned: always
  type: dict
manifest_path:
  description: Path of C(<name>-<version>.manifest.json).
  returned: always
  type: str
file_count:
  description: Number of files and symlinks packed from O(src).
  returned: always
  type: int
file_selection:
  description: How the candidates were found, C(git) (the files git tracks, O(tracked)) or C(tree) (every file); null
    when no archive is built.
  returned: always
  type: str
  sample: git
source_date_epoch:
  description: The timestamp given to every archive entry.
  returned: always
  type: int
source_date_epoch_from:
  description: Where it came from, C(parameter), C(environment), C(git) or C(default).
  returned: always
  type: str
git:
  description: C(commit) and C(commit_time) of the recorded commit, or null outside git.
  returned: always
  type: dict
release_tag:
  description: The release tag verified on the packaged commit (O(release_tag)), or null when nothing was checked.
  returned: always
  type: str
  sample: v1.4.0
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule
from ansible_collections.conveyor.cicd.plugins.module_utils._package import package


def run(module: ConveyorModule) -> dict:
    params = module.params
    result = package(
        src=params["src"],
        name=params["name"],
        version=params["version"],
        dest=params["dest"],
        formats=params["formats"],
        include=params["include"],
        exclude=params["exclude"],
        prefix=params["prefix"],
        wheels=params["wheels"],
        sdists=params["sdists"],
        source_date_epoch=params["source_date_epoch"],
        git_dir=params["git_dir"],
        build_summary=params["build_summary"],
        test_summary=params["test_summary"],
        compression_level=params["compression_level"],
        check_mode=module.check_mode,
        snapshot=params["snapshot"],
        tracked=params["tracked"],
        release_tag=params["release_tag"],
    )
    diff = result.pop("diff")
    if module._diff and diff["before"] != diff["after"]:
        result["diff"] = diff
    return result


MODULE_SPEC = dict(
    argument_spec=dict(
        src=dict(type="path"),
        name=dict(type="str", required=True),
        version=dict(type="str", required=True),
        snapshot=dict(type="bool", default=False),
        release_tag=dict(type="str"),
        dest=dict(type="path", required=True),
        formats=dict(type="list", elements="str", choices=["tar.gz", "zip"], default=["tar.gz"]),
        include=dict(type="list", elements="str", default=[]),
        exclude=dict(type="list", elements="str", default=[]),
        tracked=dict(type="bool", default=False),
        prefix=dict(type="str", default=""),
        wheels=dict(type="list", elements="path", default=[]),
        sdists=dict(type="list", elements="path", default=[]),
        source_date_epoch=dict(type="int"),
        git_dir=dict(type="path"),
        build_summary=dict(type="dict", default={}),
        test_summary=dict(type="dict", default={}),
        compression_level=dict(type="int", default=6),
    ),
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
