"""The build engine: cache miss and hit, restore, atomic cache entries, failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._build import run_build
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import CommandError, ConfigurationError

STEP = [
    sys.executable,
    "-c",
    "import pathlib; p=pathlib.Path('out'); p.mkdir(exist_ok=True); "
    "(p/'app.bin').write_text(open('src/a.txt').read().upper()); open('runs.log','a').write('x')",
]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src/a.txt").write_text("hello\n")
    return tmp_path


def _build(project, cache, **kw):
    return run_build(chdir=str(project), steps=[STEP], inputs=["src/**"], outputs=["out/*"], cache_dir=str(cache), **kw)


def test_second_build_is_a_hit_that_runs_nothing(project, tmp_path):
    first = _build(project, tmp_path / "cache")
    assert first["cache"] == "miss" and first["changed"]
    assert first["outputs"][0]["path"] == "out/app.bin"
    second = _build(project, tmp_path / "cache")
    assert second["cache"] == "hit" and not second["changed"]
    assert second["cache_key"] == first["cache_key"]
    assert (project / "runs.log").read_text() == "x"


def test_hit_restores_deleted_outputs_and_says_so(project, tmp_path):
    _build(project, tmp_path / "cache")
    (project / "out/app.bin").unlink()
    again = _build(project, tmp_path / "cache")
    assert again["cache"] == "hit" and again["changed"] and again["restored"] == ["out/app.bin"]
    assert (project / "out/app.bin").read_text() == "HELLO\n"
    assert (project / "runs.log").read_text() == "x"


def test_input_change_is_a_miss(project, tmp_path):
    _build(project, tmp_path / "cache")
    (project / "src/a.txt").write_text("bye\n")
    again = _build(project, tmp_path / "cache")
    assert again["cache"] == "miss"
    assert (project / "out/app.bin").read_text() == "BYE\n"


def test_check_mode_predicts_without_running(project, tmp_path):
    predicted = _build(project, tmp_path / "cache", check_mode=True)
    assert predicted["changed"] and predicted["cache"] == "miss"
    assert not (project / "out").exists()
    _build(project, tmp_path / "cache")
    assert _build(project, tmp_path / "cache", check_mode=True)["changed"] is False


def test_failing_step_reports_its_name_and_log_tail(project, tmp_path):
    steps = [{"name": "compile", "argv": [sys.executable, "-c", "print('compiling'); print('error: bad'); exit(2)"]}]
    with pytest.raises(CommandError) as info:
        run_build(chdir=str(project), steps=steps, log_file=str(tmp_path / "b.log"))
    assert "step 1 'compile' failed with exit code 2: error: bad" in str(info.value)
    assert info.value.details["failed_step"] == "compile"
    assert info.value.details["log_tail"][-2:] == ["compiling", "error: bad"]


def test_timeout_kills_the_step(project):
    with pytest.raises(CommandError, match=r"timed out after 0\.5 seconds"):
        run_build(chdir=str(project), steps=[["sleep", "20"]], timeout=0.5)


def test_no_outputs_matched_is_an_error(project, tmp_path):
    with pytest.raises(CommandError, match="produced nothing matching outputs"):
        run_build(
            chdir=str(project), steps=[["true"]], outputs=["dist/*"], inputs=["src/**"], cache_dir=str(tmp_path / "c")
        )


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("make all", "non-empty list of argv lists"),
        (["make all"], "not a shell string"),
        ([{"cmd": ["make"]}], "must have 'argv'"),
        ([], "non-empty list"),
    ],
)
def test_bad_steps_are_one_line_errors(project, steps, message):
    with pytest.raises(ConfigurationError, match=message):
        run_build(chdir=str(project), steps=steps)


def test_a_build_killed_midway_leaves_no_cache_entry(project, tmp_path):
    cache = tmp_path / "cache"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(sys.path[0])!r})
        from ansible_collections.conveyor.cicd.plugins.module_utils._build import run_build
        run_build(chdir={str(project)!r}, steps=[["sh", "-c", "mkdir -p out; echo x > out/a; sleep 30"]],
                  inputs=["src/**"], outputs=["out/*"], cache_dir={str(cache)!r})
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True)
    deadline = time.monotonic() + 20
    while not (project / "out" / "a").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    entries = list(cache.rglob(".entry.json")) if cache.exists() else []
    assert entries == []
    result = run_build(
        chdir=str(project),
        steps=[["sh", "-c", "mkdir -p out; echo x > out/a"]],
        inputs=["src/**"],
        outputs=["out/*"],
        cache_dir=str(cache),
    )
    assert result["cache"] == "miss"
