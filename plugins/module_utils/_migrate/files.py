# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Migration files: names, versions, checksums, placeholders and the no-transaction marker.

V<version>__<description>.sql   versioned, applied once, in version order
U<version>__<description>.sql   undo of the versioned migration with the same version
R__<description>.sql            repeatable, applied after the versioned ones and again on change
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import total_ordering

from ansible_collections.conveyor.cicd.plugins.module_utils._digest import sha256_bytes
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import MASK

VERSIONED = "versioned"
REPEATABLE = "repeatable"
UNDO = "undo"
BASELINE = "baseline"

_NAME = re.compile(r"^(?P<prefix>[VUR])(?P<version>[0-9]+(?:[._][0-9]+)*)?__(?P<description>[^/\\]+)\.sql\Z")
_VERSION = re.compile(r"^[0-9]+(?:[._][0-9]+)*\Z")
_PLACEHOLDER = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_.:-]*)\}")
NO_TRANSACTION_MARKER = re.compile(r"^--\s*conveyor:no-transaction\s*$", re.IGNORECASE)


@total_ordering
class Version:
    """A dotted version compared part by part as integers: 1 < 1.1 < 1.10 < 2 and 1.0 == 1."""

    __slots__ = ("key", "text")

    def __init__(self, text: str):
        text = str(text).strip()
        if not _VERSION.match(text):
            raise ConfigurationError(
                f"'{text}' is not a migration version: use digits separated by dots, such as 1, 1.1 or 2.0.3"
            )
        parts = [int(p) for p in re.split(r"[._]", text)]
        self.text = ".".join(str(p) for p in parts)
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        self.key = tuple(parts)

    def __eq__(self, other):
        return isinstance(other, Version) and self.key == other.key

    def __lt__(self, other):
        return self.key < other.key

    def __hash__(self):
        return hash(self.key)

    def __str__(self):
        return self.text

    def __repr__(self):
        return f"Version({self.text!r})"


def parse_version(text) -> Version:
    return Version(text)


def normalise(content: bytes, script: str = "") -> str:
    """Text with a UTF-8 BOM removed and CRLF / CR line endings turned into LF."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{script} is not valid UTF-8 (byte {exc.start}): save the file as UTF-8") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def checksum(text: str) -> str:
    """sha256 of the normalised text, so CRLF and LF copies of a file agree."""
    return sha256_bytes(text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8"))


def is_transactional(text: str) -> bool:
    """False when the leading comment lines hold the marker `-- conveyor:no-transaction`."""
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            return True
        if NO_TRANSACTION_MARKER.match(stripped):
            return False
    return True


@dataclass
class MigrationFile:
    kind: str
    version: Version | None
    description: str
    script: str  # path relative to the migrations directory, with forward slashes
    path: str
    text: str = field(repr=False)
    checksum: str
    transactional: bool

    @property
    def label(self) -> str:
        return self.script


def parse_name(filename: str):
    """(kind, Version or None, description) for a migration file name, or None if it is not one."""
    match = _NAME.match(filename)
    if not match:
        return None
    prefix, version, description = match.group("prefix", "version", "description")
    if prefix == "R":
        if version:
            return None
        kind, parsed = REPEATABLE, None
    else:
        if not version:
            return None
        kind, parsed = (VERSIONED if prefix == "V" else UNDO), Version(version)
    return kind, parsed, description.replace("_", " ").strip()


@dataclass
class MigrationSet:
    versioned: list[MigrationFile]
    undo: dict  # Version -> MigrationFile
    repeatable: list[MigrationFile]
    problems: list[str]


def load_migrations(root: str) -> MigrationSet:
    """Read every *.sql file under ``root``; names that do not follow the convention are problems."""
    if not root:
        raise ConfigurationError("migrations_path is required: give the directory that holds the V*__*.sql files")
    if not os.path.isdir(root):
        raise ConfigurationError(f"migrations_path '{root}' is not a directory: create it or fix the path")
    problems: list[str] = []
    versioned: dict = {}
    undo: dict = {}
    repeatable: dict = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.lower().endswith(".sql"):
                continue
            full = os.path.join(dirpath, name)
            script = os.path.relpath(full, root).replace(os.sep, "/")
            parsed = parse_name(name)
            if parsed is None:
                problems.append(
                    f"{script} does not follow the naming convention V<version>__<description>.sql, "
                    "U<version>__<description>.sql or R__<description>.sql: rename it"
                )
                continue
            kind, version, description = parsed
            with open(full, "rb") as handle:
                text = normalise(handle.read(), script)
            item = MigrationFile(kind, version, description, script, full, text, checksum(text), is_transactional(text))
            table, key = {
                VERSIONED: (versioned, version),
                UNDO: (undo, version),
                REPEATABLE: (repeatable, description),
            }[kind]
            if key in table:
                what = f"version {version}" if version is not None else f"description '{description}'"
                problems.append(
                    f"{table[key].script} and {script} have the same {what}: give one of them another {kind} name"
                )
                continue
            table[key] = item
    return MigrationSet(
        versioned=[versioned[v] for v in sorted(versioned)],
        undo=undo,
        repeatable=[repeatable[d] for d in sorted(repeatable)],
        problems=problems,
    )


def placeholder_names(text: str) -> set[str]:
    return {m.group(2) for m in _PLACEHOLDER.finditer(text) if not m.group(1)}


def render(text: str, script: str, placeholders: dict | None, secrets: dict | None = None, mask: bool = False) -> str:
    """Replace ${name} with its value; $${name} stays as the literal ${name}.

    With ``mask``, secret values are shown as ******** (for previews and diffs).
    """
    values = {str(k): "" if v is None else str(v) for k, v in (placeholders or {}).items()}
    secret = {str(k): "" if v is None else str(v) for k, v in (secrets or {}).items()}

    def replace(match):
        escaped, name = match.group(1), match.group(2)
        if escaped:
            return "${" + name + "}"
        if name in secret:
            return MASK if mask else secret[name]
        if name in values:
            return values[name]
        raise ConfigurationError(
            f"{script} uses the placeholder ${{{name}}} which has no value: add '{name}' to placeholders "
            "(or secret_placeholders), or write $${" + name + "} for a literal ${" + name + "}"
        )

    return _PLACEHOLDER.sub(replace, text)


def missing_placeholders(item: MigrationFile, placeholders: dict | None, secrets: dict | None) -> list[str]:
    known = set(placeholders or {}) | set(secrets or {})
    return sorted(placeholder_names(item.text) - known)
