"""Generate roles/<role>/README.md from each role's meta/argument_specs.yml and meta/main.yml.

    python scripts/role_readmes.py           write every README that differs from what it generates
    python scripts/role_readmes.py --check   write nothing; exit 1 naming each stale or missing README

A README says what the role does (the galaxy_info description and the main entry point's
description), what it needs (meta/main.yml), its entry points, one table of variables per entry
point (name, type, default, required, description), and an example playbook that uses the role
by its fully qualified name. Defaults come from the argument spec, else from defaults/main.yml.
The only hand-written part is EXAMPLES below: the values the example playbooks pass.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ROLES_DIR = ROOT / "roles"
NAMESPACE = "conveyor.cicd"
# A default longer than this is not repeated in the table; the cell points at the file instead.
MAX_DEFAULT_CHARS = 90

# Example playbook of each role: the hosts it runs on, whether it needs root, and its steps, each
# an entry point with the variables passed to it. Every variable must be an option of that entry
# point; required options left out get a placeholder.
EXAMPLES: dict[str, dict[str, Any]] = {
    "ci": {
        "hosts": "localhost",
        "steps": [
            ("main", {"ci_project_dir": "/srv/src/myapp", "ci_lint_fail_on": "warning"}),
        ],
    },
    "db_migrate": {
        "hosts": "localhost",
        "steps": [
            (
                "main",
                {
                    "db_migrate_migrations_path": "/srv/src/myapp/migrations",
                    "db_migrate_engine": "postgresql",
                    "db_migrate_login_host": "db.example.com",
                    "db_migrate_login_user": "app",
                    "db_migrate_login_password": "{{ vault_db_password }}",
                    "db_migrate_db": "app",
                },
            ),
        ],
    },
    "deploy": {
        "hosts": "production",
        "steps": [
            ("approve", {"deploy_require_approval": True, "deploy_environment": "production"}),
            (
                "main",
                {
                    "deploy_environment": "production",
                    "deploy_version": "1.4.0",
                    "deploy_repository_url": "s3://releases/conveyor",
                    "deploy_repository_options": {
                        "access_key": "{{ vault_s3_access_key }}",
                        "secret_key": "{{ vault_s3_secret_key }}",
                    },
                    "deploy_port": 8080,
                },
            ),
            ("canary_check", {"deploy_canary_duration": 60, "deploy_version": "1.4.0"}),
        ],
    },
    "feedback": {
        "hosts": "localhost",
        "steps": [
            ("main", {"feedback_state_dir": "/var/lib/conveyor", "feedback_environment": "production"}),
        ],
    },
    "logging": {
        "hosts": "app",
        "become": True,
        "steps": [
            (
                "main",
                {
                    "logging_app_name": "myapp",
                    "logging_rotate_keep": 30,
                    "logging_rsyslog_enabled": True,
                    "logging_rsyslog_target": "logs.example.com",
                },
            ),
        ],
    },
    "monitoring": {
        "hosts": "monitoring",
        "become": True,
        "steps": [
            ("main", {"monitoring_app_group": "production", "monitoring_alert_error_ratio_threshold": 0.02}),
            (
                "push",
                {
                    "monitoring_push_metrics": [
                        {
                            "name": "conveyor_deployments_total",
                            "value": 1,
                            "type": "counter",
                            "help": "Deployments by the pipeline",
                        }
                    ],
                    "monitoring_push_grouping": {"environment": "production"},
                },
            ),
        ],
    },
    "provision": {
        "hosts": "localhost",
        "steps": [
            (
                "main",
                {
                    "provision_project_path": "/srv/src/infra",
                    "provision_workspaces": ["staging", "production"],
                    "provision_required": True,
                },
            ),
        ],
    },
    "publish": {
        "hosts": "localhost",
        "steps": [
            (
                "package",
                {
                    "publish_package_src": "/srv/src/myapp",
                    "publish_package_name": "myapp",
                    "publish_package_version": "1.4.0",
                    "publish_package_wheels": ["/srv/src/myapp/dist/*.whl"],
                },
            ),
            (
                "main",
                {
                    "publish_manifest": "{{ publish_package_result.manifest_path }}",
                    "publish_repository_url": "s3://releases/staging",
                    "publish_access_key": "{{ vault_s3_access_key }}",
                    "publish_secret_key": "{{ vault_s3_secret_key }}",
                },
            ),
        ],
    },
    "release": {
        "hosts": "localhost",
        "steps": [
            ("main", {"release_repo_path": "/srv/src/myapp", "release_version_files": ["pyproject.toml"]}),
        ],
    },
    "trigger": {
        "hosts": "ci",
        "become": True,
        "steps": [
            (
                "main",
                {
                    "trigger_repo": "https://git.example.com/team/myapp.git",
                    "trigger_branch": "main",
                    "trigger_interval_minutes": 5,
                },
            ),
        ],
    },
}

PLACEHOLDERS = {"path": "/path/to/{name}", "int": 0, "float": 0.0, "bool": True, "list": [], "dict": {}}

# Ansible's documentation markup, as used in argument specs.
# (one level of parentheses inside the value: C(global(workDirectory)))
_MARKUP = re.compile(r"\b(RV|[BCEIMOPUV])\(([^()]*(?:\([^()]*\)[^()]*)*)\)|\bL\(([^,()]*),\s*([^()]*)\)")
_TEXT_SPECIALS = re.compile(r"([\\`*\[\]|])")


class SpecError(Exception):
    pass


class _ExampleDumper(yaml.SafeDumper):
    """YAML in the collection's style: indented sequences, Jinja strings in double quotes."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if "{{" in value or "{%" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ExampleDumper.add_representer(str, _represent_str)


def _load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _escape_text(text: str) -> str:
    """Markdown-escape plain text (also safe inside a table cell)."""
    text = _TEXT_SPECIALS.sub(r"\\\1", text)
    text = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str, in_table: bool) -> str:
    """Inline code. In a table a `|` would split the cell (GitHub splits even inside backticks,
    Galaxy's renderer keeps a backslash), so such code becomes <code> with the pipe as an entity."""
    if in_table and "|" in text:
        html = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "&#124;")
        return f"<code>{html}</code>"
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render_markup(text: str, in_table: bool = False) -> str:
    """Ansible doc markup (C(), O(), I(), L(), ...) to markdown."""
    out: list[str] = []
    pos = 0
    for match in _MARKUP.finditer(text):
        out.append(_escape_text(text[pos : match.start()]))
        kind, value, link_text, link_url = match.groups()
        if link_text is not None:
            out.append(f"[{_escape_text(link_text)}]({link_url.strip()})")
        elif kind == "I":
            out.append(f"*{_escape_text(value)}*")
        elif kind == "B":
            out.append(f"**{_escape_text(value)}**")
        elif kind == "U":
            out.append(f"<{value}>")
        else:  # C, O, V, E, P, M, RV: names and values
            out.append(_code(value, in_table))
        pos = match.end()
    out.append(_escape_text(text[pos:]))
    return "".join(out)


def _paragraphs(description: Any) -> list[str]:
    if description is None:
        return []
    if isinstance(description, str):
        return [" ".join(description.split())]
    return [" ".join(str(item).split()) for item in description]


def _dump_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return value if value != "" else '""'
    if isinstance(value, int | float):
        return repr(value)
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 20).strip()


def _type_of(option: dict[str, Any]) -> str:
    kind = option.get("type", "str")
    if kind == "list" and option.get("elements"):
        return f"list of {option['elements']}"
    return kind


def _default_cell(name: str, option: dict[str, Any], role_defaults: dict[str, Any]) -> str:
    if option.get("required"):
        return ""
    if "default" in option:
        value, source = option["default"], "meta/argument_specs.yml"
    elif name in role_defaults:
        value, source = role_defaults[name], "defaults/main.yml"
    else:
        return ""
    text = _dump_value(value)
    if "\n" in text or len(text) > MAX_DEFAULT_CHARS:
        return f"computed, see {_code(source, True)}"
    return _code(text, True)


def _variables_table(options: dict[str, Any], role_defaults: dict[str, Any]) -> list[str]:
    lines = ["| Variable | Type | Default | Required | Description |", "|---|---|---|---|---|"]
    for name, option in options.items():
        option = option or {}
        description = " ".join(render_markup(p, in_table=True) for p in _paragraphs(option.get("description")))
        if option.get("choices"):
            choices = ", ".join(_code(_dump_value(c), True) for c in option["choices"])
            description = f"{description} Choices: {choices}.".strip()
        lines.append(
            f"| {_code(name, True)} | {_escape_text(_type_of(option))} "
            f"| {_default_cell(name, option, role_defaults)} "
            f"| {'yes' if option.get('required') else 'no'} | {description} |"
        )
    return lines


def _example_playbook(role: str, specs: dict[str, Any]) -> list[str]:
    example = EXAMPLES.get(role, {})
    steps = example.get("steps") or [(name, {}) for name in specs]
    fqcn = f"{NAMESPACE}.{role}"
    entry_vars: list[tuple[str, dict[str, Any]]] = []
    for entry_point, given in steps:
        if entry_point not in specs:
            raise SpecError(f"roles/{role}: the example uses the unknown entry point {entry_point!r}")
        options = specs[entry_point].get("options") or {}
        unknown = sorted(set(given) - set(options))
        if unknown:
            raise SpecError(f"roles/{role}: the example passes {', '.join(unknown)}, not options of {entry_point}")
        variables = dict(given)
        for name, option in options.items():
            if (option or {}).get("required") and name not in variables:
                placeholder = PLACEHOLDERS.get((option or {}).get("type", "str"), "CHANGE_ME")
                variables[name] = placeholder.format(name=name) if isinstance(placeholder, str) else placeholder
        entry_vars.append((entry_point, variables))

    main_spec = specs.get("main") or specs[steps[0][0]]
    play: dict[str, Any] = {"name": main_spec.get("short_description", fqcn), "hosts": example.get("hosts", "all")}
    if example.get("become"):
        play["become"] = True
    play["gather_facts"] = False
    if len(entry_vars) == 1 and entry_vars[0][0] == "main":
        entry = {"role": fqcn}
        if entry_vars[0][1]:
            entry["vars"] = entry_vars[0][1]
        play["roles"] = [entry]
    else:
        tasks = []
        for entry_point, variables in entry_vars:
            include: dict[str, Any] = {"name": fqcn}
            if entry_point != "main":
                include["tasks_from"] = entry_point
            task: dict[str, Any] = {
                "name": specs[entry_point].get("short_description", entry_point),
                "ansible.builtin.include_role": include,
            }
            if variables:
                task["vars"] = variables
            tasks.append(task)
        play["tasks"] = tasks
    text = yaml.dump(
        [play], Dumper=_ExampleDumper, sort_keys=False, default_flow_style=False, width=120, allow_unicode=True
    )
    return ["```yaml", "---", *text.rstrip("\n").splitlines(), "```"]


def _requirements(meta: dict[str, Any]) -> list[str]:
    info = meta.get("galaxy_info") or {}
    lines = []
    # the collection's requires_ansible is what is tested; a role's min_ansible_version only its floor
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text()) or {}
    if runtime.get("requires_ansible"):
        lines.append(f"- ansible-core `{runtime['requires_ansible']}` (the collection's `requires_ansible`).")
    elif info.get("min_ansible_version"):
        lines.append(f"- ansible-core {info['min_ansible_version']} or later.")
    platforms = []
    for platform in info.get("platforms") or []:
        versions = [str(v) for v in platform.get("versions") or [] if str(v).lower() != "all"]
        platforms.append(f"{platform['name']} ({', '.join(versions)})" if versions else str(platform["name"]))
    if platforms:
        lines.append(f"- Platforms: {', '.join(platforms)}.")
    dependencies = meta.get("dependencies") or []
    names = [d if isinstance(d, str) else d.get("role") or d.get("name") for d in dependencies]
    lines.append(f"- Role dependencies: {', '.join(_code(str(n), False) for n in names) if names else 'none'}.")
    return lines


def generate(role_dir: Path) -> str:
    role = role_dir.name
    spec_path = role_dir / "meta" / "argument_specs.yml"
    if not spec_path.is_file():
        raise SpecError(f"roles/{role}: no meta/argument_specs.yml")
    specs = (_load_yaml(spec_path) or {}).get("argument_specs") or {}
    if not specs:
        raise SpecError(f"roles/{role}: meta/argument_specs.yml has no entry points")
    meta: dict[str, Any] = {}
    for name in ("main.yml", "main.yaml"):
        if (role_dir / "meta" / name).is_file():
            meta = _load_yaml(role_dir / "meta" / name) or {}
            break
    defaults_path = role_dir / "defaults" / "main.yml"
    role_defaults = (_load_yaml(defaults_path) or {}) if defaults_path.is_file() else {}

    info = meta.get("galaxy_info") or {}
    main_spec = specs.get("main") or next(iter(specs.values()))
    summary = info.get("description") or main_spec.get("short_description") or ""
    fqcn = f"{NAMESPACE}.{role}"

    lines = [f"# {fqcn}", ""]
    if summary:
        lines += [render_markup(" ".join(str(summary).split())), ""]
    for paragraph in _paragraphs(main_spec.get("description")):
        lines += [render_markup(paragraph), ""]

    lines += ["## Requirements", "", *_requirements(meta), ""]

    if len(specs) > 1:
        lines += [
            "## Entry points",
            "",
            "Run an entry point other than `main` with `tasks_from` of `ansible.builtin.include_role` or "
            "`ansible.builtin.import_role`.",
            "",
            "| Entry point | What it does |",
            "|---|---|",
        ]
        for name, spec in specs.items():
            lines.append(f"| {_code(name, True)} | {render_markup(spec.get('short_description', ''), True)} |")
        lines.append("")

    lines += ["## Variables", ""]
    if len(specs) == 1:
        lines += [*_variables_table(main_spec.get("options") or {}, role_defaults), ""]
    else:
        for name, spec in specs.items():
            lines += [f"### Entry point `{name}`", ""]
            if spec.get("short_description"):
                lines += [render_markup(spec["short_description"]) + ".", ""]
            if name != "main" or spec is not main_spec:
                for paragraph in _paragraphs(spec.get("description")):
                    lines += [render_markup(paragraph), ""]
            lines += [*_variables_table(spec.get("options") or {}, role_defaults), ""]

    lines += ["## Example playbook", "", *_example_playbook(role, specs), ""]

    if info.get("license"):
        lines += ["## License", "", _escape_text(str(info["license"])), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a README is stale")
    args = parser.parse_args(argv)

    stale = []
    try:
        for role_dir in sorted(p for p in ROLES_DIR.iterdir() if p.is_dir()):
            readme = role_dir / "README.md"
            wanted = generate(role_dir)
            current = readme.read_text(encoding="utf-8") if readme.is_file() else None
            if current == wanted:
                continue
            relative = readme.relative_to(ROOT)
            if args.check:
                state = "missing" if current is None else "stale"
                stale.append(f"{relative} is {state}: run python scripts/role_readmes.py")
            else:
                readme.write_text(wanted, encoding="utf-8")
                print(f"wrote {relative}")
    except SpecError as err:
        print(f"role_readmes: {err}", file=sys.stderr)
        return 2
    for line in stale:
        print(line, file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
