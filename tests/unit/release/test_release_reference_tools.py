"""The next version on ~25 scripted histories, against python-semantic-release and commitizen.

Each history records what conveyor.cicd, python-semantic-release ("psr") and commitizen ("cz")
compute; where they differ the difference is deliberate and listed in docs/release.md.
The tools come from $RELEASE_REFERENCE_BIN, the test virtualenv or PATH; missing, the
comparison fails under CI=true and is skipped elsewhere.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._release import release_info
from tests.support.paths import in_ci
from tests.support.release_histories import HISTORIES, build_history
from tests.support.release_reference import TOOLS, find_tool, run_cz, run_psr


@pytest.fixture(scope="module")
def history_repos(tmp_path_factory):
    base = tmp_path_factory.mktemp("histories")

    def build(name):
        repo = base / name / "repo"
        build_history(repo, HISTORIES[name][0])
        return name, repo

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(build, HISTORIES))


@pytest.fixture(scope="module")
def reference_results(history_repos):
    """Every tool on every history, in parallel: {(history, tool): version or None}."""
    binaries = {tool: find_tool(binary) for tool, binary in TOOLS.items()}
    missing = [TOOLS[t] for t, b in binaries.items() if b is None]
    if missing:
        message = f"{', '.join(missing)} not installed (pip install python-semantic-release commitizen)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)

    def run(item):
        name, tool = item
        repo, options = history_repos[name], HISTORIES[name][1]
        if tool == "psr":
            return item, run_psr(binaries["psr"], repo, options, repo.parent)
        return item, run_cz(binaries["cz"], repo, options)

    # psr and cz on one repository touch its config (remote, .cz.toml): one thread per history
    def per_history(name):
        return [run((name, tool)) for tool in TOOLS]

    with ThreadPoolExecutor(4) as pool:
        return {key: value for pairs in pool.map(per_history, HISTORIES) for key, value in pairs}


def test_the_fixture_covers_the_interesting_kinds_of_history():
    assert len(HISTORIES) >= 20
    kinds = " ".join(HISTORIES)
    for kind in ("prerelease", "zero", "merge", "revert", "monorepo", "first_release", "major"):
        assert kind in kinds


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_next_version_matches_the_documented_expectation(name, history_repos):
    _steps, options, expected = HISTORIES[name]
    info = release_info({"repo": str(history_repos[name]), **options})
    assert info["next_version"] == expected["ours"]
    assert info["release_needed"] is (expected["ours"] is not None)


@pytest.mark.parametrize("tool", sorted(TOOLS))
@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_reference_tool_gives_the_documented_version(name, tool, reference_results):
    assert reference_results[(name, tool)] == HISTORIES[name][2][tool]


def test_the_table_in_the_docs_lists_every_history_with_its_expectations(repo_root):
    """docs/release.md shows, per history, what each tool computes; it must match the fixture."""
    doc = (repo_root / "docs" / "release.md").read_text()
    rows = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = [None if c == "—" else c for c in cells[1:]]
    for name, (_steps, _options, expected) in HISTORIES.items():
        assert rows.get(name) == [expected["ours"], expected["psr"], expected["cz"]], name
        if any(expected[tool] != expected["ours"] for tool in TOOLS):
            assert doc.count(f"`{name}`") >= 2, f"{name} differs from a reference tool but the docs do not explain why"
