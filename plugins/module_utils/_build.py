# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The build engine: run argv steps, cache declared outputs by a content-addressed key."""

from __future__ import annotations

import os
import re
import shutil
import time

from ansible_collections.conveyor.cicd.plugins.module_utils import _process
from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_copy, existing_mode
from ansible_collections.conveyor.cicd.plugins.module_utils._cache import TreeCache, cache_key, inputs_digest
from ansible_collections.conveyor.cicd.plugins.module_utils._digest import file_record, sha256_file
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import (
    CommandError,
    ConfigurationError,
    ConveyorError,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._files import select_files

# A line that says what went wrong: "ERROR ...", "error: ...", "fatal: ...", "ModuleNotFoundError: ...".
ERROR_LINE = re.compile(
    r"^(?:(?:ERROR|Error|error|FATAL|Fatal|fatal|FAILED|Failed)\b|[\w.]*(?:Error|Exception)\b(?::|$))|\berror:"
)
ERROR_LINE_MAX = 300


def error_line(tail: list[str]) -> str:
    """The line of a failed command's output tail that names what failed, for a one-line message.

    The last line that reads as an error, joined with the indented lines under it (``python -m build`` prints
    "ERROR Unmet dependencies ...:" and the missing requirement on the lines below, the last one being
    "found: not installed"); without one, the last line that is not blank."""
    lines = [line.rstrip() for line in tail]
    for index in range(len(lines) - 1, -1, -1):
        if ERROR_LINE.search(lines[index].strip()):
            parts = [lines[index].strip()]
            for follow in lines[index + 1 :]:
                if not follow.strip() or not follow[:1].isspace():
                    break
                parts.append(follow.strip())
            text = " ".join(parts)
            return text if len(text) <= ERROR_LINE_MAX else text[: ERROR_LINE_MAX - 3] + "..."
    return next((line.strip() for line in reversed(lines) if line.strip()), "(no output)")


def normalise_steps(steps) -> list[dict]:
    """Steps are argv lists or {name, argv} dicts; return [{name, argv}]."""
    if not isinstance(steps, list) or not steps:
        raise ConfigurationError("steps must be a non-empty list of argv lists, e.g. [[python3, -m, build]]")
    out = []
    for index, step in enumerate(steps, start=1):
        if isinstance(step, dict):
            unknown = set(step) - {"name", "argv"}
            if unknown or "argv" not in step:
                raise ConfigurationError(
                    f"step {index} must have 'argv' (and optionally 'name'), got keys {sorted(step)}"
                )
            argv = _process.validate_argv(step["argv"], f"step {index}")
            name = str(step.get("name") or os.path.basename(argv[0]))
        else:
            argv = _process.validate_argv(step, f"step {index}")
            name = " ".join(argv[:3])
        out.append({"name": name, "argv": argv})
    return out


def _collect_outputs(chdir: str, patterns) -> list[dict]:
    return [file_record(os.path.join(chdir, rel), chdir) for rel in select_files(chdir, patterns)]


def _outputs_match(chdir: str, outputs: list[dict]) -> bool:
    for item in outputs:
        path = os.path.join(chdir, item["path"])
        if not os.path.isfile(path) or os.path.getsize(path) != item["size"] or sha256_file(path) != item["sha256"]:
            return False
    return True


def _restore(cache: TreeCache, key: str, chdir: str, outputs: list[dict]) -> list[str]:
    restored = []
    for item in outputs:
        target = os.path.join(chdir, item["path"])
        if os.path.isfile(target) and sha256_file(target) == item["sha256"]:
            continue
        source = cache.file_path(key, item["path"])
        atomic_copy(source, target, existing_mode(source))
        shutil.copystat(source, target)  # the times too, as the build left them
        restored.append(item["path"])
    return restored


def build_stage(result: dict, failed: bool = False) -> dict:
    """The CI stage record of a build result (or of a failure's details): result, duration, outputs in one line."""
    outputs = result.get("outputs") or []
    details = f"{len(outputs)} outputs, {sum(o['size'] for o in outputs) // 1024} KiB"
    if result.get("failed_step") is not None:
        details += f" - failed step: {result['failed_step']}"
    return {
        "stage": "build",
        "result": "failed" if failed else ("cached" if result.get("cache") == "hit" else "ok"),
        "duration": float(result.get("duration") or 0),
        "details": details,
    }


def _with_records(result: dict, chdir: str, failed: bool = False) -> dict:
    """What the next stages read: the CI ``stage``, the manifest's build ``summary`` and the ``output_paths``.

    A failed build produced nothing to ship: its summary has no cache key and no outputs."""
    outputs = [] if failed else result.get("outputs") or []
    return dict(
        result,
        stage=build_stage(result, failed),
        summary={"cache_key": None if failed else result.get("cache_key"), "outputs": outputs},
        output_paths=[os.path.join(chdir, o["path"]) for o in outputs],
    )


def run_build(chdir: str, *args, **kwargs) -> dict:
    """``build(chdir, *args, **kwargs)`` with the records of ``_with_records``, on success and in a failure's details."""
    try:
        result = build(chdir, *args, **kwargs)
    except ConveyorError as exc:
        exc.details = _with_records(exc.details, chdir, failed=True)
        raise
    return _with_records(result, chdir)


def build(
    chdir: str,
    steps,
    env: dict | None = None,
    timeout: float | None = None,
    log_file: str | None = None,
    inputs=None,
    outputs=None,
    cache_dir: str | None = None,
    clean_outputs: bool = False,
    check_mode: bool = False,
    inputs_from: str = "tree",
) -> dict:
    if not os.path.isdir(chdir):
        raise ConfigurationError(f"chdir '{chdir}' does not exist or is not a directory")
    if timeout is not None and timeout <= 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds, got {timeout}")
    steps = normalise_steps(steps)
    env = {str(k): str(v) for k, v in (env or {}).items()}
    log_file = os.path.abspath(log_file) if log_file else None
    started = time.monotonic()

    key = None
    cache = None
    input_count = 0
    if cache_dir and inputs:
        # the outputs are never inputs (a build would never match its own key), nor what the module writes itself
        digest, input_count = inputs_digest(
            chdir, inputs, exclude=outputs, source=inputs_from, skip=[cache_dir, log_file]
        )
        key = cache_key("build", steps=[s["argv"] for s in steps], env=env, inputs=digest, outputs=outputs or [])
        cache = TreeCache(cache_dir, "build")
    result = {"cache_key": key, "inputs": input_count, "steps": [s["name"] for s in steps]}

    if cache is not None:
        record = cache.get(key)
        if record is not None:
            cached_outputs = record["outputs"]
            in_place = _outputs_match(chdir, cached_outputs)
            restored = [] if in_place or check_mode else _restore(cache, key, chdir, cached_outputs)
            would_restore = [] if in_place else [o["path"] for o in cached_outputs]
            return dict(
                result,
                changed=not in_place,
                cache="hit",
                outputs=cached_outputs,
                restored=restored if not check_mode else would_restore,
                duration=round(time.monotonic() - started, 3),
                step_results=[],
            )
    if check_mode:
        return dict(
            result,
            changed=True,
            cache="miss" if cache else "disabled",
            outputs=[],
            restored=[],
            duration=0.0,
            step_results=[],
        )

    if clean_outputs and outputs:
        for rel in select_files(chdir, outputs):
            os.unlink(os.path.join(chdir, rel))
    if log_file:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        if os.path.exists(log_file):
            os.unlink(log_file)
    step_results = []
    for index, step in enumerate(steps, start=1):
        remaining = None if timeout is None else timeout - (time.monotonic() - started)
        if remaining is not None and remaining <= 0:
            raise CommandError(
                f"build timed out after {timeout} seconds before step {index} '{step['name']}'",
                failed_step=step["name"],
                step_results=step_results,
            )
        if log_file:
            with open(log_file, "a", encoding="utf-8") as log:
                log.write(f"==> step {index}: {' '.join(step['argv'])}\n")
        proc = _process.run(step["argv"], cwd=chdir, env=env, timeout=remaining, log_file=log_file, append_log=True)
        step_results.append({"name": step["name"], "rc": proc.rc, "duration": proc.duration})
        if proc.timed_out:
            raise CommandError(
                f"build step {index} '{step['name']}' timed out after {timeout} seconds and was killed",
                failed_step=step["name"],
                log_tail=proc.tail,
                step_results=step_results,
            )
        if proc.rc != 0:
            raise CommandError(
                f"build step {index} '{step['name']}' failed with exit code {proc.rc}: {error_line(proc.tail)}",
                failed_step=step["name"],
                exit_code=proc.rc,
                log_tail=proc.tail,
                step_results=step_results,
            )
    produced = _collect_outputs(chdir, outputs) if outputs else []
    if outputs and not produced:
        raise CommandError(
            f"the build succeeded but produced nothing matching outputs {outputs}: check the globs",
            step_results=step_results,
        )
    if cache is not None:
        cache.put(key, chdir, produced, {"steps": [s["name"] for s in steps], "created": time.time()})
    return dict(
        result,
        changed=True,
        cache="miss" if cache else "disabled",
        outputs=produced,
        restored=[],
        duration=round(time.monotonic() - started, 3),
        step_results=step_results,
    )
