# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # The options that decide the next version, shared by release and release_info
    # (plugins/module_utils/_release.py VERSION_ARGUMENT_SPEC).
    DOCUMENTATION = r"""
options:
  repo:
    description: Path of the git work tree. A directory inside a work tree acts like O(path) when O(path) is not set.
    type: path
    required: true
  path:
    description:
      - Directory inside the repository (relative to its top level) for a project in a monorepo. Only commits
        that touch it count, and the project's files (version files, changelog, O(fragments_dir)) are relative to it.
    type: str
  tag_format:
    description: Tag name for a version; C({version}) is replaced by the version, for example C(app-v{version}).
    type: str
    default: v{version}
  prerelease:
    description:
      - Prerelease identifier such as C(rc) or C(beta). The first prerelease of a version is C(<version>-rc.1),
        the next ones count up. Without it the release is final (C(1.3.0) after C(1.3.0-rc.2)).
    type: str
  initial_version:
    description: Version of the first release of a repository that has no matching tag yet.
    type: str
    default: 0.1.0
  major_version_zero:
    description: While the major version is 0, a breaking change bumps the minor version. Set false to release 1.0.0.
    type: bool
    default: true
  bump_source:
    description:
      - V(commits) reads conventional commit messages. V(fragments) reads the antsibull-changelog fragments
        added since the last release (C(breaking_changes), C(major_changes), C(removed_features) are major;
        C(minor_changes), C(deprecated_features) are minor; C(bugfixes), C(security_fixes) are patch).
    type: str
    choices: [commits, fragments]
    default: commits
  fragments_dir:
    description: Directory of the changelog fragments, for O(bump_source=fragments).
    type: str
    default: changelogs/fragments
  commit_message:
    description:
      - Message of release commits; C({version}), C({tag}) and C({previous_version}) are replaced.
      - Commits with this message are never counted as changes.
    type: str
    default: "chore(release): {version}"
"""
