# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throwaway git repository for release demonstrations and dry runs.

Built once: a seed tree is imported as one commit, optionally tagged, followed by a scripted history
of conventional commits, each changing one file under ``history/``. The repository is assembled under
``<path>.partial`` and renamed into place only when complete, so an interrupted build leaves nothing
half-made at ``path``; a leftover ``.partial`` is removed by the next build. A repository already at
``path`` is left alone: a second run changes nothing.
"""

from __future__ import annotations

import os
import shutil

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._files import copy_tree
from ansible_collections.conveyor.cicd.plugins.module_utils._git import Git
from ansible_collections.conveyor.cicd.plugins.module_utils._process import find_binary, run_capture

README = "# Release demonstration\n"


def _check_target(path: str) -> bool:
    """True when a repository is already there; raise when something else is in the way."""
    if os.path.isdir(os.path.join(path, ".git")):
        return True
    if os.path.lexists(path) and not (os.path.isdir(path) and not os.listdir(path)):
        raise ConfigurationError(
            f"'{path}' exists and is not a git repository: remove it or choose another path for the sandbox"
        )
    return False


def _copy_seed(seed_dir: str, dest: str) -> None:
    if not os.path.isdir(seed_dir):
        raise ConfigurationError(f"seed directory '{seed_dir}' does not exist: give an existing directory or ''")
    # the tree is imported, not its history or tool directories (.git, .venv, caches)
    copy_tree(seed_dir, dest)


def build_sandbox(params: dict, check_mode: bool = False) -> dict:
    path = os.path.abspath(params["path"])
    history = [str(message) for message in params["history"]]
    for message in history:
        if not message.strip() or "\n" in message:
            raise ConfigurationError("every history entry must be a one-line commit message")
    result = {"changed": False, "path": path, "head": None, "tags": [], "commits": 0}
    if _check_target(path):
        git = Git(path)
        result["head"] = git.head()
        result["tags"] = sorted(filter(None, git.run("tag", "--list").splitlines()))
        result["commits"] = int(git.run("rev-list", "--count", "HEAD").strip()) if result["head"] else 0
        return result
    result["changed"] = True
    result["commits"] = 1 + len(history)
    result["tags"] = [params["seed_tag"]] if params["seed_tag"] else []
    if check_mode:
        return result

    binary = find_binary("git", "install git (e.g. apt-get install git)")
    partial = f"{path}.partial"
    if os.path.isdir(partial) and not os.path.islink(partial):
        shutil.rmtree(partial)
    elif os.path.lexists(partial):
        os.unlink(partial)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if params["seed_dir"]:
        _copy_seed(params["seed_dir"], partial)
    else:
        os.makedirs(partial)
        with open(os.path.join(partial, "README.md"), "w", encoding="utf-8") as handle:
            handle.write(README)
    os.makedirs(os.path.join(partial, "history"), exist_ok=True)
    rc, _out, err = run_capture([binary, "init", "--quiet", "--initial-branch=main", partial], env={"LC_ALL": "C"})
    if rc != 0:
        raise ConfigurationError(f"git init failed in '{partial}': {err.strip().splitlines()[-1] if err else rc}")

    author = {
        "GIT_AUTHOR_NAME": params["author_name"],
        "GIT_AUTHOR_EMAIL": params["author_email"],
        "GIT_COMMITTER_NAME": params["author_name"],
        "GIT_COMMITTER_EMAIL": params["author_email"],
    }
    git = Git(partial, env=author)
    git.run("add", "--all")  # the seed's .gitignore applies
    git.run("commit", "--quiet", "--allow-empty", "-m", params["import_message"])
    if params["seed_tag"]:
        git.run("tag", "--annotate", "-m", f"Release {params['seed_tag']}", params["seed_tag"])
    for number, message in enumerate(history, start=1):
        name = f"history/{number:02d}.md"
        with open(os.path.join(partial, name), "w", encoding="utf-8") as handle:
            handle.write(f"{message}\n")
        git.run("add", "--", name)
        git.run("commit", "--quiet", "-m", message)
    result["head"] = git.head()
    # rename() replaces an empty directory at path and nothing else: _check_target made sure of that
    os.rename(partial, path)
    return result
