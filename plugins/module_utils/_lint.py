# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lint engine: run linters and formatters, normalise their findings, apply fixes honestly.

Each tool adapter turns one tool's machine-readable output into findings
``{tool, path, line, column, rule, severity, message}`` with paths relative to the linted tree.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import sys
import tempfile
import time

from ansible_collections.conveyor.cicd.plugins.module_utils import _process
from ansible_collections.conveyor.cicd.plugins.module_utils._cache import ResultCache, cache_key
from ansible_collections.conveyor.cicd.plugins.module_utils._digest import files_digest
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import (
    CommandError,
    ConfigurationError,
    ConveyorError,
    MissingDependencyError,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._files import copy_tree, select_files, snapshot, walk_files

SEVERITIES = ("error", "warning", "info")
LISTED_FINDINGS = 20  # findings a failure message names; the result's findings hold all of them
DIFF_LIMIT = 1024 * 1024  # files larger than this are listed as changed without a text diff


def _finding(tool, path, line, column, rule, severity, message) -> dict:
    return {
        "tool": tool,
        "path": path,
        "line": int(line) if line not in (None, "") else None,
        "column": int(column) if column not in (None, "") else None,
        "rule": rule or None,
        "severity": severity if severity in SEVERITIES else "error",
        "message": " ".join(str(message).split()),
    }


def _rel(root: str, path: str) -> str:
    if not path:
        return path
    path = path[len("file://") :] if path.startswith("file://") else path
    full = path if os.path.isabs(path) else os.path.join(root, path)
    return os.path.relpath(os.path.normpath(full), root).replace(os.sep, "/")


def _tail(text: str, lines: int = 5) -> str:
    return " | ".join(line for line in text.strip().splitlines()[-lines:])


class Tool:
    name = ""
    binary = ""
    install_hint = ""
    can_fix = False

    def __init__(self, spec: dict):
        self.spec = spec
        self.args = [str(a) for a in (spec.get("args") or [])]
        self.config = spec.get("config")
        self.executable = spec.get("executable")

    def resolve(self) -> str:
        """Path of the tool's program, looked up on PATH and beside the running Python."""
        program = self.executable or self.binary
        found = shutil.which(program) if os.sep not in program else (program if os.access(program, os.X_OK) else None)
        if not found and os.sep not in program:
            beside = os.path.join(os.path.dirname(sys.executable), program)
            found = beside if os.access(beside, os.X_OK) else None
        if not found:
            raise MissingDependencyError(
                f"lint tool '{self.name}' needs the '{program}' program, which is not installed or not on PATH "
                f"({self.install_hint})",
                tool=self.name,
            )
        return found

    def run(self, root: str, fix: bool, timeout: float | None) -> list[dict]:
        raise NotImplementedError


class Ruff(Tool):
    name = "ruff"
    binary = "ruff"
    install_hint = "pip install ruff"
    can_fix = True

    def run(self, root, fix, timeout):
        argv = [self.resolve(), "check", "--output-format=json", "--no-cache", "--exit-zero"]
        argv += ["--fix"] if fix else []
        argv += ["--config", self.config] if self.config else []
        rc, out, err = _process.run_capture([*argv, *self.args, "."], cwd=root, timeout=timeout)
        if rc != 0:
            raise CommandError(f"ruff could not lint '{root}' (exit code {rc}): {_tail(err or out)}", tool=self.name)
        findings = []
        for item in json.loads(out or "[]"):
            loc = item.get("location") or {}
            findings.append(
                _finding(
                    self.name,
                    _rel(root, item.get("filename", "")),
                    loc.get("row"),
                    loc.get("column"),
                    item.get("code") or "syntax-error",
                    "error",
                    item.get("message", ""),
                )
            )
        return findings


class RuffFormat(Tool):
    name = "ruff-format"
    binary = "ruff"
    install_hint = "pip install ruff"
    can_fix = True

    def run(self, root, fix, timeout):
        argv = [self.resolve(), "format", "--no-cache"]
        argv += [] if fix else ["--check"]
        argv += ["--config", self.config] if self.config else []
        rc, out, err = _process.run_capture([*argv, *self.args, "."], cwd=root, timeout=timeout)
        if rc not in (0, 1) or (rc == 1 and fix):
            raise CommandError(f"ruff format failed on '{root}' (exit code {rc}): {_tail(err or out)}", tool=self.name)
        findings = []
        for line in (out + "\n" + err).splitlines():
            match = re.match(r"^Would reformat: (.+)$", line.strip())
            if match:
                findings.append(
                    _finding(
                        self.name,
                        _rel(root, match.group(1)),
                        None,
                        None,
                        "format",
                        "error",
                        "file is not formatted: run ruff format (or lint with fix: true)",
                    )
                )
        return findings


class Yamllint(Tool):
    name = "yamllint"
    binary = "yamllint"
    install_hint = "pip install yamllint"
    LINE = re.compile(
        r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): \[(?P<level>\w+)\] (?P<message>.*?)"
        r"(?: \((?P<rule>[\w-]+)\))?$"
    )

    def run(self, root, fix, timeout):
        argv = [self.resolve(), "-f", "parsable"]
        argv += ["-c", self.config] if self.config else []
        rc, out, err = _process.run_capture([*argv, *self.args, "."], cwd=root, timeout=timeout)
        findings = []
        for line in out.splitlines():
            match = self.LINE.match(line.strip())
            if match:
                findings.append(
                    _finding(
                        self.name,
                        _rel(root, match["path"]),
                        match["line"],
                        match["column"],
                        match["rule"],
                        "error" if match["level"] == "error" else "warning",
                        match["message"],
                    )
                )
        if rc not in (0, 1, 2) or (rc != 0 and not findings):
            raise CommandError(f"yamllint failed on '{root}' (exit code {rc}): {_tail(err or out)}", tool=self.name)
        return findings


class AnsibleLint(Tool):
    name = "ansible-lint"
    binary = "ansible-lint"
    install_hint = "pip install ansible-lint"
    can_fix = True
    LEVELS = {"blocker": "error", "critical": "error", "major": "error", "minor": "warning", "info": "info"}

    def run(self, root, fix, timeout):
        argv = [self.resolve(), "--offline", "--nocolor", "-q", "-f", "codeclimate"]
        argv += ["--fix=all"] if fix else []
        argv += ["-c", self.config] if self.config else []
        rc, out, err = _process.run_capture([*argv, *self.args], cwd=root, timeout=timeout)
        start = out.find("[")
        try:
            items = json.loads(out[start:]) if start >= 0 else []
        except ValueError as exc:
            raise CommandError(
                f"ansible-lint output could not be read (exit code {rc}): {_tail(err or out)}", tool=self.name
            ) from exc
        if rc not in (0, 2) and not items:
            raise CommandError(f"ansible-lint failed on '{root}' (exit code {rc}): {_tail(err or out)}", tool=self.name)
        findings = []
        for item in items:
            loc = item.get("location") or {}
            lines = loc.get("lines") or {}
            begin = lines.get("begin")
            line = begin.get("line") if isinstance(begin, dict) else begin
            column = begin.get("column") if isinstance(begin, dict) else None
            findings.append(
                _finding(
                    self.name,
                    _rel(root, loc.get("path", "")),
                    line,
                    column,
                    item.get("check_name"),
                    self.LEVELS.get(item.get("severity"), "error"),
                    item.get("description", ""),
                )
            )
        return findings


class Shellcheck(Tool):
    name = "shellcheck"
    binary = "shellcheck"
    install_hint = "Debian/Ubuntu: apt-get install shellcheck"
    LEVELS = {"error": "error", "warning": "warning", "info": "info", "style": "info"}
    SHEBANG = re.compile(rb"^#!\s*(?:/usr)?/bin/(?:env\s+)?(?:ba|da|k)?sh\b")

    def scripts(self, root: str) -> list[str]:
        found = []
        for rel in walk_files(root):
            if rel.endswith((".sh", ".bash")):
                found.append(rel)
                continue
            full = os.path.join(root, rel)
            if "." not in os.path.basename(rel) and os.path.isfile(full):
                with open(full, "rb") as handle:
                    if self.SHEBANG.match(handle.read(64)):
                        found.append(rel)
        return found

    def run(self, root, fix, timeout):
        files = self.scripts(root)
        if not files:
            return []
        argv = [self.resolve(), "-f", "json1"]
        argv += ["--rcfile", self.config] if self.config else []
        rc, out, err = _process.run_capture([*argv, *self.args, *files], cwd=root, timeout=timeout)
        if rc not in (0, 1):
            raise CommandError(f"shellcheck failed (exit code {rc}): {_tail(err or out)}", tool=self.name)
        findings = []
        for item in json.loads(out or "{}").get("comments", []):
            findings.append(
                _finding(
                    self.name,
                    _rel(root, item.get("file", "")),
                    item.get("line"),
                    item.get("column"),
                    f"SC{item.get('code')}",
                    self.LEVELS.get(item.get("level"), "warning"),
                    item.get("message", ""),
                )
            )
        return findings


class Command(Tool):
    """Any linter: its output is parsed as SARIF JSON or with a regex with named groups."""

    name = "command"
    install_hint = "give the full path in argv or install it"
    GROUPS = ("path", "line", "column", "rule", "message", "severity")

    def __init__(self, spec):
        super().__init__(spec)
        self.argv = _process.validate_argv(spec.get("argv"), "tool 'command' argv") if spec.get("argv") else None
        if not self.argv:
            raise ConfigurationError("tool 'command' needs argv: the linter's argument list, e.g. [mypy, src]")
        self.label = spec.get("label") or os.path.basename(self.argv[0])
        self.format = spec.get("format") or "regex"
        self.default_severity = spec.get("severity") or "error"
        if self.format not in ("sarif", "regex"):
            raise ConfigurationError(f"tool 'command' format must be 'sarif' or 'regex', got {self.format!r}")
        self.pattern = None
        if self.format == "regex":
            if not spec.get("pattern"):
                raise ConfigurationError(
                    "tool 'command' with format regex needs a pattern with named groups such as "
                    "(?P<path>[^:]+):(?P<line>\\d+): (?P<message>.*)"
                )
            try:
                self.pattern = re.compile(spec["pattern"])
            except re.error as exc:
                raise ConfigurationError(f"tool 'command' pattern is not a valid regex: {exc}") from exc
            if "path" not in self.pattern.groupindex or "message" not in self.pattern.groupindex:
                raise ConfigurationError("tool 'command' pattern must have the named groups 'path' and 'message'")
        self.binary = self.argv[0]
        self.executable = None

    def run(self, root, fix, timeout):
        rc, out, err = _process.run_capture([self.resolve(), *self.argv[1:], *self.args], cwd=root, timeout=timeout)
        findings = self._sarif(root, out) if self.format == "sarif" else self._regex(root, out + "\n" + err)
        if rc != 0 and not findings and self.format == "regex" and not self.spec.get("ignore_rc"):
            raise CommandError(
                f"lint command '{self.label}' exited with code {rc} and no finding matched the pattern: "
                f"{_tail(err or out)}",
                tool=self.label,
            )
        return findings

    def _regex(self, root, text):
        findings = []
        for line in text.splitlines():
            match = self.pattern.search(line)
            if match:
                groups = {k: match.groupdict().get(k) for k in self.GROUPS}
                severity = (groups["severity"] or self.default_severity).lower()
                severity = {"err": "error", "warn": "warning", "note": "info"}.get(severity, severity)
                findings.append(
                    _finding(
                        self.label,
                        _rel(root, groups["path"]),
                        groups["line"],
                        groups["column"],
                        groups["rule"],
                        severity,
                        groups["message"],
                    )
                )
        return findings

    def _sarif(self, root, text):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise CommandError(f"lint command '{self.label}' did not print SARIF JSON: {exc}", tool=self.label) from exc
        findings = []
        for run in doc.get("runs", []):
            for res in run.get("results", []):
                locs = res.get("locations") or [{}]
                phys = locs[0].get("physicalLocation", {})
                region = phys.get("region", {})
                level = {"error": "error", "warning": "warning", "note": "info", "none": "info"}.get(
                    res.get("level"), self.default_severity
                )
                findings.append(
                    _finding(
                        self.label,
                        _rel(root, phys.get("artifactLocation", {}).get("uri", "")),
                        region.get("startLine"),
                        region.get("startColumn"),
                        res.get("ruleId"),
                        level,
                        (res.get("message") or {}).get("text", ""),
                    )
                )
        return findings


TOOLS = {cls.name: cls for cls in (Ruff, RuffFormat, Yamllint, AnsibleLint, Shellcheck, Command)}


TOOL_KEYS = {
    "name": str,
    "args": list,
    "config": str,
    "executable": str,
    "argv": list,
    "label": str,
    "format": str,
    "pattern": str,
    "severity": str,
    "ignore_rc": bool,
}


def make_tool(spec) -> Tool:
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict):
        raise ConfigurationError(f"each tool must be a name or a dict with 'name', got {spec!r}")
    unknown = sorted(set(spec) - set(TOOL_KEYS))
    if unknown:
        raise ConfigurationError(
            f"tool {spec.get('name')!r} has unknown keys {unknown}: allowed are {', '.join(TOOL_KEYS)}"
        )
    for key, kind in TOOL_KEYS.items():
        if spec.get(key) is not None and not isinstance(spec[key], kind):
            raise ConfigurationError(f"tool {spec.get('name')!r}: '{key}' must be a {kind.__name__}, got {spec[key]!r}")
    if spec.get("severity") not in (None, *SEVERITIES):
        raise ConfigurationError(f"tool {spec.get('name')!r}: severity must be error, warning or info")
    name = str(spec.get("name") or "").replace("_", "-")
    if name not in TOOLS:
        raise ConfigurationError(
            f"unknown lint tool '{spec.get('name')}': supported tools are {', '.join(sorted(TOOLS))}"
        )
    return TOOLS[name](spec)


def summarise(findings: list[dict], tools: list[Tool]) -> dict:
    by_tool = {getattr(t, "label", t.name): dict.fromkeys(SEVERITIES, 0) for t in tools}
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        by_tool.setdefault(f["tool"], dict.fromkeys(SEVERITIES, 0))[f["severity"]] += 1
        by_severity[f["severity"]] += 1
    return {"by_tool": by_tool, "by_severity": by_severity, "total": len(findings)}


def _text(path: str):
    try:
        if os.path.getsize(path) > DIFF_LIMIT:
            return None
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def _diffs(old_root: str, new_root: str, changed: list[str]) -> list[dict]:
    out = []
    for rel in changed:
        before = _text(os.path.join(old_root, rel)) if os.path.exists(os.path.join(old_root, rel)) else ""
        after = _text(os.path.join(new_root, rel)) if os.path.exists(os.path.join(new_root, rel)) else ""
        if before is None or after is None:
            continue
        out.append(
            {
                "before_header": rel,
                "after_header": rel,
                "before": before,
                "after": after,
                "prepared": "".join(
                    difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{rel}", f"b/{rel}")
                ),
            }
        )
    return out


def _lint_tree(root: str, tools: list[Tool], fix: bool, timeout: float | None):
    findings, durations = [], {}
    for tool in tools:
        start = time.monotonic()
        findings.extend(tool.run(root, fix and tool.can_fix, timeout))
        durations[getattr(tool, "label", tool.name)] = round(time.monotonic() - start, 3)
    findings.sort(key=lambda f: (f["path"] or "", f["line"] or 0, f["column"] or 0, f["tool"], f["rule"] or ""))
    return findings, durations


def lint_stage(result: dict, failed: bool = False) -> dict:
    """The CI stage record of a lint result (or of a failure's details): result, duration, counts in one line."""
    summary = result.get("summary") or {}
    by_severity = summary.get("by_severity") or {}
    return {
        "stage": "lint",
        "result": "failed" if failed else ("cached" if result.get("cache") == "hit" else "ok"),
        "duration": float(result.get("duration") or 0),
        "details": f"{by_severity.get('error', 0)} errors, {by_severity.get('warning', 0)} warnings "
        f"({len(summary.get('by_tool') or {})} tools)",
    }


def run_lint(*args, **kwargs) -> dict:
    """``lint_tree(*args, **kwargs)``, whose result, and a failure's details, carry the CI ``stage`` record."""
    try:
        result = lint_tree(*args, **kwargs)
    except ConveyorError as exc:
        exc.details["stage"] = lint_stage(exc.details, failed=True)
        raise
    result["stage"] = lint_stage(result)
    return result


def lint_tree(
    path: str,
    tools,
    fix: bool = False,
    fail_on: str = "error",
    timeout: float | None = None,
    check_mode: bool = False,
    want_diff: bool = False,
    cache_dir: str | None = None,
    cache_ignore=None,
) -> dict:
    if not os.path.isdir(path):
        raise ConfigurationError(f"path '{path}' does not exist or is not a directory")
    if fail_on not in ("error", "warning", "never"):
        raise ConfigurationError(f"fail_on must be error, warning or never, got {fail_on!r}")
    if not tools:
        raise ConfigurationError(f"tools is empty: name at least one of {', '.join(sorted(TOOLS))}")
    tool_objs = [make_tool(spec) for spec in tools]
    for tool in tool_objs:
        tool.resolve()  # every missing program is reported before anything runs
    started = time.monotonic()
    path = os.path.abspath(path)
    fixing = fix and any(t.can_fix for t in tool_objs)
    cache = key = None
    if cache_dir:
        cache = ResultCache(cache_dir, "lint")
        key = _lint_cache_key(path, tools, tool_objs, fixing, cache_ignore, cache_dir)
        record = cache.get(key)
        if record is not None:
            # same tools, same tool programs, same tree: the same findings, and fixers have nothing left to do
            return _finish(
                dict(
                    record,
                    changed=False,
                    changed_files=[],
                    cache="hit",
                    cache_key=key,
                    duration=round(time.monotonic() - started, 3),
                ),
                fail_on,
            )
    changed_files, diffs = [], []
    if fixing and check_mode:
        # predict the fixes on a copy; the real tree is never written
        scratch = tempfile.mkdtemp(prefix="conveyor-lint-")
        try:
            copy = os.path.join(scratch, os.path.basename(path) or "tree")
            copy_tree(path, copy)
            before = snapshot(copy, walk_files(copy))
            findings, durations = _lint_tree(copy, tool_objs, True, timeout)
            after = snapshot(copy, walk_files(copy))
            changed_files = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            diffs = _diffs(path, copy, changed_files)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    elif fixing:
        files = list(walk_files(path))
        before = snapshot(path, files)
        saved = None
        if want_diff:
            saved = tempfile.mkdtemp(prefix="conveyor-lint-before-")
            copy_tree(path, os.path.join(saved, "tree"))
        try:
            findings, durations = _lint_tree(path, tool_objs, True, timeout)
            after = snapshot(path, walk_files(path))
            changed_files = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            if saved:
                diffs = _diffs(os.path.join(saved, "tree"), path, changed_files)
        finally:
            if saved:
                shutil.rmtree(saved, ignore_errors=True)
    else:
        findings, durations = _lint_tree(path, tool_objs, False, timeout)
    summary = summarise(findings, tool_objs)
    result = {
        "changed": bool(changed_files),
        "findings": findings,
        "summary": summary,
        "changed_files": changed_files,
        "durations": durations,
        "duration": round(time.monotonic() - started, 3),
        "cache": "miss" if cache else "disabled",
        "cache_key": key,
    }
    if diffs:
        result["diff"] = [{k: d[k] for k in ("before_header", "after_header", "before", "after")} for d in diffs]
    if cache is not None and not check_mode:
        # the key of the tree as it is now (after any fixes), so the next run over it is a hit
        cache.put(
            _lint_cache_key(path, tools, tool_objs, fixing, cache_ignore, cache_dir),
            {"findings": findings, "summary": summary, "durations": durations},
        )
    return _finish(result, fail_on)


def _lint_cache_key(path: str, tools, tool_objs: list[Tool], fixing: bool, ignore, cache_dir) -> str:
    programs = []
    for tool in tool_objs:
        program = tool.resolve()
        st = os.stat(program)
        programs.append([program, st.st_size, st.st_mtime_ns])  # a tool upgrade changes the key
    files = select_files(path, None, ignore or [])
    if cache_dir and os.path.abspath(cache_dir).startswith(path + os.sep):
        inside = os.path.relpath(os.path.abspath(cache_dir), path).replace(os.sep, "/") + "/"
        files = [f for f in files if not f.startswith(inside)]  # the cache never keys itself
    digest = files_digest(path, files)
    return cache_key("lint", tools=tools, programs=programs, tree=digest, fix=fixing)


def _finish(result: dict, fail_on: str) -> dict:
    findings, summary = result["findings"], result["summary"]
    counts = summary["by_severity"]
    failing = counts["error"] + (counts["warning"] if fail_on == "warning" else 0)
    if fail_on != "never" and failing:
        shown = [f for f in findings if f["severity"] == "error" or fail_on == "warning"]
        per_tool = ", ".join(
            f"{t}: {sum(c[s] for s in SEVERITIES)}" for t, c in summary["by_tool"].items() if sum(c.values())
        )
        listed = "; ".join(_finding_line(f) for f in shown[:LISTED_FINDINGS])
        more = (
            f"; ... and {len(shown) - LISTED_FINDINGS} more (full list in the result's findings)"
            if len(shown) > LISTED_FINDINGS
            else ""
        )
        raise CommandError(
            f"lint found {counts['error']} errors and {counts['warning']} warnings ({per_tool}); first: {listed}{more}",
            **{k: v for k, v in result.items() if k != "diff"},
        )
    return result


def _finding_line(finding: dict) -> str:
    where = finding["path"] + (f":{finding['line']}" if finding["line"] else "")
    message = " ".join(str(finding["message"]).split())  # one line, whatever the tool printed
    message = message if len(message) <= 120 else message[:117] + "..."
    return f"{where} [{finding['tool']} {finding['rule'] or ''}] {message}"
