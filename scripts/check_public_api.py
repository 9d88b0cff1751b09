"""Fail when a plugin imports ansible-core's private internals.

The collection uses ansible-core's public plugin API only, so that it keeps working on every
ansible-core release. Refused in ``plugins/``: ``ansible.executor`` and any module or name of the
``ansible`` package whose dotted path has a part starting with ``_`` (``ansible._internal``,
``ansible.module_utils._internal``, ``from ansible.module_utils.basic import _ANSIBLE_ARGS``, ...).

    python scripts/check_public_api.py [DIR ...]    (default: plugins)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REFUSED_PACKAGES = ("ansible.executor", "ansible.vars.clean")


def _private(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[0] == "ansible" and any(part.startswith("_") and part != "__future__" for part in parts[1:])


def _refused(dotted: str) -> bool:
    return _private(dotted) or any(dotted == p or dotted.startswith(p + ".") for p in REFUSED_PACKAGES)


def _is_import_module_call(node: ast.AST) -> bool:
    """``importlib.import_module("ansible...")`` with a literal name."""
    return (
        isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def findings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif _is_import_module_call(node):
            names = [node.args[0].value]
        for name in names:
            if _refused(name):
                found.append(f"{path}:{node.lineno}: imports {name}, which is not ansible-core's public API")
                break
    return found


def main(argv: list[str]) -> int:
    roots = [Path(arg) for arg in argv] or [Path("plugins")]
    problems = [line for root in roots for path in sorted(root.rglob("*.py")) for line in findings(path)]
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
