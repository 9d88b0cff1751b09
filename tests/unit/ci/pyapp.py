"""A tiny Python application with one dependency, built into wheels locally: no package index is needed.

``tinydep`` (the dependency) and ``tinyapp`` (which requires it) are small setuptools projects. ``tinyapp`` has two
console scripts: ``tinyapp-hello`` prints a line made by ``tinydep``; ``tinyapp-serve PORT PIDLESS`` answers
``GET /health`` with ``ok <version> <tinydep's word>``. A ``broken`` tinyapp imports a module nobody ships.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

SERVE = """
import http.server
import sys

import tinydep
{extra_import}

VERSION = "{version}"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"ok {{VERSION}} {{tinydep.WORD}}".encode()
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def hello():
    print(tinydep.greet("tinyapp {version}"))


def serve():
    print("tinyapp {version} starting", flush=True)
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def _project(root: Path, name: str, version: str, files: dict, requires=(), scripts=None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = [
        "[build-system]",
        'requires = ["setuptools"]',
        'build-backend = "setuptools.build_meta"',
        "[project]",
        f'name = "{name}"',
        f'version = "{version}"',
        f"dependencies = {list(requires)!r}".replace("'", '"'),
    ]
    if scripts:
        lines.append("[project.scripts]")
        lines += [f'{key} = "{value}"' for key, value in scripts.items()]
    lines += ["[tool.setuptools]", f'packages = ["{name}"]']
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")
    (root / name).mkdir(exist_ok=True)
    for rel, text in files.items():
        (root / name / rel).write_text(textwrap.dedent(text))
    return root


def dep_project(directory: Path, word: str = "pong") -> Path:
    return _project(
        directory / "tinydep",
        "tinydep",
        "1.0.0",
        {"__init__.py": f'WORD = "{word}"\n\n\ndef greet(who):\n    return f"hello from tinydep to {{who}}"\n'},
    )


def app_project(directory: Path, version: str = "1.0.0", broken: bool = False) -> Path:
    serve = SERVE.format(version=version, extra_import="import missing_module_xyz" if broken else "")
    return _project(
        directory / f"tinyapp-{version}{'-broken' if broken else ''}",
        "tinyapp",
        version,
        {"__init__.py": "", "main.py": serve},
        requires=["tinydep>=1.0"],
        scripts={"tinyapp-hello": "tinyapp.main:hello", "tinyapp-serve": "tinyapp.main:serve"},
    )


def build_wheel(project: Path, out: Path) -> Path:
    """The project's wheel in ``out`` (setuptools of this interpreter, no index)."""
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.glob("*.whl"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "-w",
            str(out),
            str(project),
        ],
        check=True,
        capture_output=True,
    )
    made = sorted(set(out.glob("*.whl")) - before) or sorted(out.glob(f"{project.name.split('-')[0]}-*.whl"))
    return made[-1]


def make_artifact(path: Path, wheelhouse: Path, extra: dict | None = None) -> Path:
    """A release artifact (tar.gz) holding ``wheelhouse/`` and ``extra`` files {relpath: text}."""
    staging = path.parent / (path.name + ".d")
    staging.mkdir(parents=True, exist_ok=True)
    for rel, text in (extra or {}).items():
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        (staging / rel).write_text(text)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(wheelhouse, arcname="wheelhouse")
        for item in sorted(staging.rglob("*")):
            tar.add(item, arcname=str(item.relative_to(staging)), recursive=False)
    return path
