# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Split a migration script into statements, each with the line it starts on.

SQLite runs statements one at a time; PostgreSQL needs single statements only for
migrations marked `-- conveyor:no-transaction` (a multi-statement query is one implicit
transaction there, which CREATE INDEX CONCURRENTLY refuses).
"""

from __future__ import annotations

import re
import sqlite3

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def line_at(text: str, offset: int) -> int:
    """1-based line number of a 0-based character offset."""
    return text.count("\n", 0, max(0, offset)) + 1


def _is_blank(sql: str) -> bool:
    """True for text made only of whitespace, comments and semicolons."""
    stripped = re.sub(r"--[^\n]*", "", sql)
    stripped = re.sub(r"/\*.*?\*/", "", stripped, flags=re.S)
    return not stripped.replace(";", "").strip()


def _first_code_offset(text: str, start: int) -> int:
    """Offset of the first character after ``start`` that is neither whitespace nor a comment."""
    pos = start
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
        elif text.startswith("--", pos):
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end + 1
        elif text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            pos = len(text) if end < 0 else end + 2
        else:
            break
    return pos


def split_sqlite(text: str) -> list[tuple[int, str]]:
    """[(line, statement)] using SQLite's own notion of a complete statement (quotes, triggers)."""
    out: list[tuple[int, str]] = []
    start = 0
    pos = text.find(";")
    while pos >= 0:
        chunk = text[start : pos + 1]
        if sqlite3.complete_statement(chunk):
            if not _is_blank(chunk):
                out.append((line_at(text, _first_code_offset(text, start)), chunk.strip()))
            start = pos + 1
        pos = text.find(";", pos + 1)
    rest = text[start:]
    if not _is_blank(rest):
        out.append((line_at(text, _first_code_offset(text, start)), rest.strip()))
    return out


def split_postgresql(text: str) -> list[tuple[int, str]]:
    """[(line, statement)] honouring '...', E'...', "...", $tag$...$tag$, -- and nested /* */ comments."""
    out: list[tuple[int, str]] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if ch == "/" and text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            continue
        if ch == "'":
            backslash = i > 0 and text[i - 1] in "eE" and (i == 1 or not (text[i - 2].isalnum() or text[i - 2] == "_"))
            i += 1
            while i < n:
                if backslash and text[i] == "\\":
                    i += 2
                    continue
                if text[i] == "'":
                    if text.startswith("''", i):
                        i += 2
                        continue
                    break
                i += 1
            i += 1
            continue
        if ch == '"':
            end = text.find('"', i + 1)
            i = n if end < 0 else end + 1
            continue
        if ch == "$" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            match = _DOLLAR_TAG.match(text, i)
            if match:
                end = text.find(match.group(0), match.end())
                i = n if end < 0 else end + len(match.group(0))
                continue
        if ch == ";":
            chunk = text[start : i + 1]
            if not _is_blank(chunk):
                out.append((line_at(text, _first_code_offset(text, start)), chunk.strip()))
            start = i + 1
        i += 1
    rest = text[start:]
    if not _is_blank(rest):
        out.append((line_at(text, _first_code_offset(text, start)), rest.strip()))
    return out
