# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release preparation: next version, version files, changelog section, commit, tag, push.

``plan_release`` only reads the repository (release_info and check mode use it);
``prepare_release`` applies a plan. The rules are described in docs/release.md.
"""

from __future__ import annotations

import datetime
import os
import posixpath
import re
from dataclasses import dataclass, field

from ansible_collections.conveyor.cicd.plugins.module_utils import _changelog
from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_write_text, existing_mode
from ansible_collections.conveyor.cicd.plugins.module_utils._commits import counted
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, MissingDependencyError
from ansible_collections.conveyor.cicd.plugins.module_utils._git import Git
from ansible_collections.conveyor.cicd.plugins.module_utils._semver import (
    SEMVER_PATTERN,
    Version,
    bump_core,
    check_token,
    max_level,
)

# Options that decide the next version, shared by the release and release_info modules.
VERSION_ARGUMENT_SPEC = dict(
    repo=dict(type="path", required=True),
    path=dict(type="str"),
    tag_format=dict(type="str", default="v{version}"),
    prerelease=dict(type="str"),
    initial_version=dict(type="str", default="0.1.0"),
    major_version_zero=dict(type="bool", default=True),
    bump_source=dict(type="str", choices=["commits", "fragments"], default="commits"),
    fragments_dir=dict(type="str", default="changelogs/fragments"),
    commit_message=dict(type="str", default="chore(release): {version}"),
)

try:
    import yaml

    YAML_IMPORT_ERROR = None
except ImportError as exc:  # only needed for bump_source=fragments
    yaml = None
    YAML_IMPORT_ERROR = exc

# (file name test, section header or None, regex whose group "v" is the version)
_VERSION_KINDS = {
    "galaxy": (None, r"^version:[ \t]*(?P<q>['\"]?)(?P<v>[^'\"\s#]+)(?P=q)"),
    "pyproject": (("project", "tool.poetry"), r"^version[ \t]*=[ \t]*(?P<q>['\"])(?P<v>[^'\"]+)(?P=q)"),
    "cargo": (("package",), r"^version[ \t]*=[ \t]*(?P<q>['\"])(?P<v>[^'\"]+)(?P=q)"),
    "package_json": (None, r"^[ \t]*\"version\"[ \t]*:[ \t]*\"(?P<v>[^\"]+)\""),
    "python": (None, r"^__version__[ \t]*(?::[ \t]*str[ \t]*)?=[ \t]*(?P<q>['\"])(?P<v>[^'\"]+)(?P=q)"),
}
VERSION_KINDS = tuple(_VERSION_KINDS)  # the kinds a version_files entry may name


@dataclass
class Plan:
    previous_version: str | None
    previous_tag: str | None
    previous_commit: str | None
    version: str | None
    tag: str | None
    bump: str
    commits: list = field(default_factory=list)
    fragments: list = field(default_factory=list)
    changelog: str = ""
    release: bool = False


def _tag_regex(tag_format: str) -> re.Pattern:
    if tag_format.count("{version}") != 1:
        raise ConfigurationError(
            f"tag_format '{tag_format}' must contain '{{version}}' exactly once, e.g. v{{version}}"
        )
    prefix, suffix = tag_format.split("{version}")
    return re.compile(f"^{re.escape(prefix)}(?P<version>{SEMVER_PATTERN}){re.escape(suffix)}\\Z")


def _message_regex(commit_message: str) -> re.Pattern:
    """Release commits made with ``commit_message`` (matched by their first line)."""
    first = commit_message.splitlines()[0] if commit_message else ""
    pattern = re.escape(first)
    for name in ("version", "tag", "previous_version"):
        pattern = pattern.replace(re.escape("{" + name + "}"), ".*")
    return re.compile(f"^{pattern}\\Z")


def _render(template: str, **values) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", str(value or ""))
    return template


def release_date() -> str:
    """Today (UTC), or the day of SOURCE_DATE_EPOCH when set, for reproducible output."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    utc = datetime.timezone.utc  # noqa: UP017 - module_utils also run on target Pythons older than 3.11
    when = (
        datetime.datetime.fromtimestamp(int(epoch), tz=utc) if epoch and epoch.isdigit() else datetime.datetime.now(utc)
    )
    return when.strftime("%Y-%m-%d")


DEFAULTS = {
    "tag_format": "v{version}",
    "initial_version": "0.1.0",
    "major_version_zero": True,
    "bump_source": "commits",
    "fragments_dir": "changelogs/fragments",
    "version_files": [],
    "changelog_file": "CHANGELOG.md",
    "commit_message": "chore(release): {version}",
    "tag_message": "Release {version}",
    "allow_dirty": False,
    "push": False,
    "push_remote": "origin",
}


def with_defaults(params: dict) -> dict:
    """The options with the module's defaults filled in (for callers other than the modules)."""
    return {**DEFAULTS, **{k: v for k, v in params.items() if v is not None}}


class ReleaseContext:
    """The repository, the options and what was read from git."""

    def __init__(self, params: dict):
        self.p = params = with_defaults(params)
        env = {}
        for key, var in (("author_name", "NAME"), ("author_email", "EMAIL")):
            if params.get(key):
                env[f"GIT_AUTHOR_{var}"] = env[f"GIT_COMMITTER_{var}"] = params[key]
        self.git = Git(params["repo"], env=env)
        self.tag_re = _tag_regex(params.get("tag_format") or "v{version}")
        self.release_msg_re = _message_regex(params.get("commit_message") or "")
        # a repo directory below the top level acts like path (a project of a monorepo)
        inside = os.path.relpath(os.path.realpath(params["repo"]), os.path.realpath(self.git.cwd))
        rel = params.get("path") or ("" if inside == "." else inside)
        if rel:
            full = os.path.realpath(os.path.join(self.git.cwd, rel))
            top = os.path.realpath(self.git.cwd)
            if os.path.commonpath([full, top]) != top:
                raise ConfigurationError(f"path '{rel}' is outside the repository {self.git.cwd}")
            if not os.path.isdir(full):
                raise ConfigurationError(f"path '{rel}' is not a directory in the repository")
            rel = os.path.relpath(full, top).replace(os.sep, "/")
            rel = "" if rel == "." else rel
        self.path = rel  # relative to the top level, '' for the whole repository
        self.base_dir = os.path.join(self.git.cwd, rel) if rel else self.git.cwd

    def rel(self, name: str) -> str:
        """A file option (relative to ``path``) as a path relative to the repository top level."""
        joined = posixpath.normpath(posixpath.join(self.path, name)) if self.path else posixpath.normpath(name)
        if joined.startswith("../") or os.path.isabs(name):
            raise ConfigurationError(f"'{name}' must be a path inside the repository, relative to it")
        return joined

    def tags(self) -> list[tuple[Version, str]]:
        found = []
        for name in self.git.merged_tags():
            match = self.tag_re.match(name)
            if match:
                found.append((Version.parse(match["version"]), name))
        return sorted(found)

    def commits(self, since_tag: str | None) -> list:
        """Conventional commits since a tag (reverts cancelled, release commits left out)."""
        raw = self.git.log(since_tag, self.path or None)
        return [c for c in counted(raw) if not self.release_msg_re.match(c.subject)]

    def fragments(self, since_tag: str | None) -> dict:
        """antsibull-changelog fragments in HEAD that were not in ``since_tag``'s tree."""
        if yaml is None:
            raise MissingDependencyError(f"bump_source=fragments needs PyYAML on the target host: {YAML_IMPORT_ERROR}")
        directory = self.rel(self.p.get("fragments_dir") or "changelogs/fragments")
        names = [n for n in self.git.list_files("HEAD", directory) if n.endswith((".yml", ".yaml"))]
        old = set(self.git.list_files(since_tag, directory)) if since_tag else set()
        out = {}
        for name in names:
            if name in old:
                continue
            try:
                data = yaml.safe_load(self.git.show_file("HEAD", name))
            except yaml.YAMLError as exc:
                raise ConfigurationError(f"changelog fragment {name} is not valid YAML: {exc}".splitlines()[0]) from exc
            out[posixpath.basename(name)] = _changelog.parse_fragment(name, data)
        return out


def _level(ctx: ReleaseContext, since_tag: str | None) -> tuple[str, list, dict]:
    if ctx.p.get("bump_source") == "fragments":
        frags = ctx.fragments(since_tag)
        return _changelog.fragments_bump(frags), [], frags
    commits = ctx.commits(since_tag)
    return max_level(c.bump for c in commits), commits, {}


def plan_release(ctx: ReleaseContext) -> Plan:
    """Compute the next release without changing anything."""
    p = ctx.p
    if ctx.git.head() is None:
        raise ConfigurationError(f"the repository {ctx.git.cwd} has no commits yet: commit something first")
    prerelease = p.get("prerelease") or None
    if prerelease:
        check_token(prerelease)
    initial = Version.parse(p.get("initial_version") or "0.1.0")
    if initial.is_prerelease:
        raise ConfigurationError(
            "initial_version must be a release such as 0.1.0; ask for a prerelease with prerelease"
        )

    tags = ctx.tags()
    finals = [t for t in tags if not t[0].is_prerelease]
    last_final = finals[-1] if finals else None
    last_any = tags[-1] if tags else None
    previous = Plan(
        previous_version=str(last_any[0]) if last_any else None,
        previous_tag=last_any[1] if last_any else None,
        previous_commit=ctx.git.resolve(last_any[1]) if last_any else None,
        version=str(last_any[0]) if last_any else None,
        tag=last_any[1] if last_any else None,
        bump="none",
    )
    level, commits, frags = _level(ctx, last_final[1] if last_final else None)
    if level == "none":
        return previous
    major_zero = p.get("major_version_zero", True)
    target = bump_core(last_final[0], level, major_zero) if last_final else initial
    if level == "major" and major_zero and (last_final[0] if last_final else initial).major == 0:
        level = "minor"  # what the bump amounts to while the major version is 0

    if prerelease:
        same = [t for t in tags if t[0].core == target and t[0].prerelease_token == prerelease]
        numbered = [t for t in same if t[0].prerelease_number is not None]
        if numbered:
            latest = numbered[-1]
            if _level(ctx, latest[1])[0] == "none":
                return previous  # this prerelease already contains everything
            version = Version(target.major, target.minor, target.patch, (prerelease, latest[0].prerelease_number + 1))
        else:
            version = Version(target.major, target.minor, target.patch, (prerelease, 1))
        if last_any and last_any[0].is_prerelease:
            # a prerelease section lists what is new since the previous prerelease
            _lvl, commits, frags = _level(ctx, last_any[1])
    else:
        version = target

    if last_any and version <= last_any[0]:
        raise ConfigurationError(
            f"the next version {version} is not above the latest tag {last_any[1]}: check prerelease and tag_format"
        )
    tag = _render(p.get("tag_format") or "v{version}", version=version)
    if ctx.git.tag_exists(tag):
        raise ConfigurationError(f"tag {tag} already exists but is not in the history of HEAD: merge it or delete it")
    date = release_date()
    if p.get("bump_source") == "fragments":
        changelog = _changelog.section_from_fragments(str(version), date, frags)
    else:
        changelog = _changelog.section_from_commits(str(version), date, commits)
    return Plan(
        previous_version=previous.previous_version,
        previous_tag=previous.previous_tag,
        previous_commit=previous.previous_commit,
        version=str(version),
        tag=tag,
        bump=level,
        commits=[c.as_dict() for c in commits],
        fragments=sorted(frags),
        changelog=changelog,
        release=True,
    )


def version_file_spec(entry) -> tuple[str, re.Pattern, tuple | None]:
    """(file, compiled pattern, sections) for one ``version_files`` entry."""
    if isinstance(entry, dict):
        name, pattern, kind = entry.get("path"), entry.get("pattern"), entry.get("kind")
        unknown = set(entry) - {"path", "pattern", "kind"}
        if unknown or not name:
            raise ConfigurationError(
                f"version_files entry {entry!r}: use a file name or {{path, pattern}} / {{path, kind}}"
            )
        if pattern:
            try:
                compiled = re.compile(pattern, re.MULTILINE)
            except re.error as exc:
                raise ConfigurationError(
                    f"version_files pattern {pattern!r} is not a valid regular expression: {exc}"
                ) from None
            if "v" not in compiled.groupindex and "version" not in compiled.groupindex and compiled.groups < 1:
                raise ConfigurationError(
                    f"version_files pattern {pattern!r} needs a group (?P<version>...) around the version"
                )
            return name, compiled, None
    else:
        name, kind = str(entry), None
    if kind is None:
        base = posixpath.basename(name)
        kind = {
            "galaxy.yml": "galaxy",
            "galaxy.yaml": "galaxy",
            "pyproject.toml": "pyproject",
            "Cargo.toml": "cargo",
            "package.json": "package_json",
        }.get(base, "python" if base.endswith(".py") else None)
    if kind not in _VERSION_KINDS:
        raise ConfigurationError(
            f"cannot tell where the version is in '{name}': give {{path: {name}, pattern: '<regex with (?P<version>...)>'}}"
        )
    sections, pattern = _VERSION_KINDS[kind]
    return name, re.compile(pattern, re.MULTILINE), sections


def set_version(text: str, version: str, compiled: re.Pattern, sections: tuple | None, name: str) -> str:
    """``text`` with the first version match (inside ``sections`` for TOML) replaced."""
    start, end = 0, len(text)
    if sections:
        for section in sections:
            header = re.search(rf"^\[{re.escape(section)}\][ \t]*$", text, re.MULTILINE)
            if header:
                start = header.end()
                following = re.search(r"^\[", text[start:], re.MULTILINE)
                end = start + following.start() if following else len(text)
                break
        else:
            raise ConfigurationError(f"{name} has no [{sections[0]}] table with a version")
    match = compiled.search(text, start, end)
    if not match:
        raise ConfigurationError(f"no version found in {name}: it needs a static version line the pattern can find")
    group = next((g for g in ("v", "version") if g in compiled.groupindex), 1)
    return text[: match.start(group)] + version + text[match.end(group) :]


def planned_files(ctx: ReleaseContext, plan: Plan) -> list[tuple[str, str | None, str]]:
    """(path relative to the top level, old text or None, new text) for every file that changes."""
    changes = []
    for entry in ctx.p.get("version_files") or []:
        name, compiled, sections = version_file_spec(entry)
        rel = ctx.rel(name)
        full = os.path.join(ctx.git.cwd, rel)
        if not os.path.isfile(full):
            raise ConfigurationError(f"version file '{name}' does not exist in {ctx.base_dir}")
        with open(full, encoding="utf-8") as handle:
            old = handle.read()
        new = set_version(old, plan.version, compiled, sections, name)
        if new != old:
            changes.append((rel, old, new))
    if ctx.p.get("changelog_file"):
        rel = ctx.rel(ctx.p["changelog_file"])
        full = os.path.join(ctx.git.cwd, rel)
        old = None
        if os.path.exists(full):
            with open(full, encoding="utf-8") as handle:
                old = handle.read()
        changes.append((rel, old, _changelog.insert_section(old, plan.changelog, plan.version)))
    return changes


def _result(plan: Plan, **extra) -> dict:
    return {
        "version": plan.version,
        "previous_version": plan.previous_version,
        "tag": plan.tag,
        "bump": plan.bump,
        "commits": plan.commits,
        "fragments": plan.fragments,
        "changelog": plan.changelog,
        **extra,
    }


def release_info(params: dict) -> dict:
    """The read-only view: current version, the next one and why."""
    ctx = ReleaseContext(params)
    plan = plan_release(ctx)
    return {
        "changed": False,
        "current_version": plan.previous_version,
        "current_tag": plan.previous_tag,
        "next_version": plan.version if plan.release else None,
        "next_tag": plan.tag if plan.release else None,
        "release_needed": plan.release,
        "bump": plan.bump,
        "commits": plan.commits,
        "fragments": plan.fragments,
        "changelog": plan.changelog,
    }


def prepare_release(params: dict, check_mode: bool = False, want_diff: bool = False) -> dict:
    """Plan and, unless ``check_mode``, write files, commit, tag and push."""
    ctx = ReleaseContext(params)
    params = ctx.p
    git = ctx.git
    if not params.get("allow_dirty"):
        dirty = git.dirty_files()
        if dirty:
            shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
            raise ConfigurationError(
                f"the working tree has uncommitted changes ({shown}): commit or stash them, or set allow_dirty",
                dirty_files=dirty,
            )
    plan = plan_release(ctx)
    remote = params.get("push_remote") or "origin"
    if not plan.release:
        pushed = False
        if params.get("push") and plan.tag and not git.remote_has_tag(remote, plan.tag):
            pushed = True  # an earlier run tagged but could not push: finish that now
            if not check_mode:
                git.push(remote, git.branch(), plan.tag)
        return _result(plan, changed=pushed, commit=plan.previous_commit, pushed=pushed, files=[])

    changes = planned_files(ctx, plan)
    diff = [{"before_header": rel, "after_header": rel, "before": old or "", "after": new} for rel, old, new in changes]
    message = _render(
        params.get("commit_message") or "chore(release): {version}",
        version=plan.version,
        tag=plan.tag,
        previous_version=plan.previous_version,
    )
    branch = git.branch()
    if params.get("push") and not branch:
        raise ConfigurationError("HEAD is detached: check out the branch to release before pushing")
    extra = {"files": [rel for rel, _o, _n in changes], "pushed": bool(params.get("push"))}
    if want_diff:
        extra["diff"] = diff
    if check_mode:
        return _result(plan, changed=True, commit=None, **extra)

    written = []
    try:
        for rel, old, new in changes:
            path = os.path.join(git.cwd, rel)
            atomic_write_text(path, new, existing_mode(path, 0o644))
            written.append((rel, old))
        commit = git.commit_files(message, [rel for rel, _o, _n in changes]) if changes else git.head()
    except BaseException:
        if written and not params.get("allow_dirty"):
            git.ok("reset", "--quiet", "--", *[rel for rel, _old in written])
        for rel, old in written:  # leave the tree as it was when the commit could not be made
            path = os.path.join(git.cwd, rel)
            if old is None:
                os.unlink(path)
            else:
                atomic_write_text(path, old, existing_mode(path, 0o644))
        raise
    git.tag_annotated(
        plan.tag, _render(params.get("tag_message") or "Release {version}", version=plan.version, tag=plan.tag)
    )
    if params.get("push"):
        git.push(remote, branch, plan.tag)
    return _result(plan, changed=True, commit=commit, **extra)
