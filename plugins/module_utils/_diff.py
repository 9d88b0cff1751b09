# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``--diff`` support: one comparison of before and after gives both ``changed`` and the diff.

An engine describes what it manages as it is before the run and as the run leaves it (in check mode:
would leave it), as text with one line per item (``view``), then calls ``compare`` once. ``changed``
is whether the two differ, and the diff is the same two texts, so a preview can never show a change
the result denies, nor the reverse. Ansible shows the two texts as a unified diff under their headers.

Lines must not hold secrets: engines mask what they show (``_secrets.mask_text``).
"""

from __future__ import annotations

from typing import NamedTuple


class Comparison(NamedTuple):
    changed: bool
    diff: dict | None  # None when nothing changes


def view(lines) -> str:
    """One side of a diff: the lines, each ending with a newline ("" for none)."""
    return "".join(f"{line}\n" for line in lines)


def compare(before: str, after: str, header: str, after_header: str | None = None) -> Comparison:
    """Whether ``before`` and ``after`` differ, and the diff that shows how.

    The headers are ``<header> (before)`` and ``<header> (after)`` unless ``after_header`` is given
    (then ``header`` and ``after_header`` as they are).
    """
    if before == after:
        return Comparison(False, None)
    if after_header is None:
        header, after_header = f"{header} (before)", f"{header} (after)"
    return Comparison(True, {"before_header": header, "after_header": after_header, "before": before, "after": after})


def add_diff(result: dict, comparison: Comparison, want_diff: bool) -> dict:
    """``result`` with ``diff`` set when asked for and something changes."""
    if want_diff and comparison.diff is not None:
        result["diff"] = comparison.diff
    return result
