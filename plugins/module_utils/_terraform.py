# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Terraform / OpenTofu engine: plan, then apply exactly that plan.

Every command runs as an argv list with ``TF_IN_AUTOMATION=1``, ``-input=false`` and
``-no-color``. The workspace is chosen per command with ``TF_WORKSPACE``, so the
workspace selected in the project directory is never switched. Input variables go
through a generated ``*.tfvars.json`` file in a private temporary directory (complex
values stay typed, values never appear on a command line) that is removed afterwards.
Plans are read with ``show -json <planfile>``; values of sensitive variables and
sensitive outputs are masked in every message, tail and diff this engine returns.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile

from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_copy, atomic_write_text
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import (
    CommandError,
    ConfigurationError,
    ConveyorError,
    MissingDependencyError,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._process import find_binary, run, run_capture
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import is_secret_key, mask_text

INSTALL_HINT = (
    "install Terraform (https://developer.hashicorp.com/terraform/install) or OpenTofu "
    "(https://opentofu.org/docs/intro/install/, then set binary: tofu), or give the full path in binary"
)
ACTION_NAMES = ("create", "update", "delete", "replace", "read", "import", "forget", "move")
LOCK_TIMEOUT_RE = re.compile(r"^\s*(\d+)\s*(ms|s|m|h)?\s*\Z")
WORKSPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


class StalePlanError(ConveyorError):
    """A saved plan no longer matches the state it was made from."""


class StateLockedError(CommandError):
    """Another run holds the state lock."""


# ---------------------------------------------------------------- pure helpers (unit tested)


def normalize_lock_timeout(value) -> str:
    """``30``, ``"30"``, ``"30s"``, ``"5m"`` -> a Terraform duration string; anything else is an error."""
    match = LOCK_TIMEOUT_RE.match(str(value if value is not None else "0"))
    if not match:
        raise ConfigurationError(
            f"lock_timeout must be a number of seconds or a duration such as 30s, 5m or 1h, got {value!r}"
        )
    return f"{int(match.group(1))}{match.group(2) or 's'}"


def check_workspace_name(name: str) -> str:
    if not name or not WORKSPACE_RE.match(name):
        raise ConfigurationError(
            f"workspace {name!r} is not a valid workspace name: use letters, digits, '-', '_' and '.'"
        )
    return name


def lock_args(lock: bool, lock_timeout: str) -> list[str]:
    if not lock:
        return ["-lock=false"]
    return [f"-lock-timeout={lock_timeout}"]


def init_argv(binary, backend_config_files=None, reconfigure=False, upgrade=False) -> list[str]:
    """``terraform init``; ``backend_config`` reaches it as one of the files (see :func:`backend_config_text`)."""
    argv = [binary, "init", "-input=false", "-no-color"]
    for path in backend_config_files or []:
        argv.append(f"-backend-config={path}")
    if reconfigure:
        argv.append("-reconfigure")
    if upgrade:
        argv.append("-upgrade")
    return argv


BACKEND_FILE = "conveyor.tfbackend"


def _hcl(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_hcl(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_hcl(str(k))} = {_hcl(v)}" for k, v in value.items()) + "}"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    text = text.replace("\t", "\\t").replace("${", "$${").replace("%{", "%%{")  # no interpolation
    return f'"{text}"'


def backend_config_text(backend_config: dict) -> str:
    """``backend_config`` as a backend configuration file (HCL), so no value is put on a command line."""
    lines = []
    for key, value in sorted(backend_config.items()):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", str(key)):
            raise ConfigurationError(f"backend_config key {key!r} is not a valid setting name")
        lines.append(f"{key} = {_hcl(value)}")
    return "\n".join(lines) + "\n"


def plan_argv(
    binary,
    out,
    destroy=False,
    var_files=None,
    targets=None,
    parallelism=None,
    lock=True,
    lock_timeout="0s",
) -> list[str]:
    argv = [binary, "plan", "-input=false", "-no-color", "-detailed-exitcode", f"-out={out}"]
    if destroy:
        argv.append("-destroy")
    argv += lock_args(lock, lock_timeout)
    if parallelism:
        argv.append(f"-parallelism={int(parallelism)}")
    argv += [f"-var-file={path}" for path in var_files or []]
    argv += [f"-target={target}" for target in targets or []]
    return argv


def apply_argv(binary, plan_file, parallelism=None, lock=True, lock_timeout="0s") -> list[str]:
    argv = [binary, "apply", "-input=false", "-no-color", "-auto-approve"]
    argv += lock_args(lock, lock_timeout)
    if parallelism:
        argv.append(f"-parallelism={int(parallelism)}")
    argv.append(plan_file)
    return argv


def summarize_plan(plan: dict) -> dict:
    """Counts and addresses per action from ``show -json`` of a plan.

    ``add``/``change``/``destroy`` count like Terraform's own "Plan:" line (a replacement
    counts once in add and once in destroy); ``replace`` counts replacements alone."""
    actions: dict[str, list] = {name: [] for name in ACTION_NAMES}
    for change in plan.get("resource_changes") or []:
        address = change.get("address", "?")
        kinds = (change.get("change") or {}).get("actions") or ["no-op"]
        if kinds in (["delete", "create"], ["create", "delete"]):
            actions["replace"].append(address)
        elif kinds == ["create"]:
            actions["create"].append(address)
        elif kinds == ["update"]:
            actions["update"].append(address)
        elif kinds == ["delete"]:
            actions["delete"].append(address)
        elif kinds == ["read"]:
            actions["read"].append(address)
        elif kinds == ["forget"]:
            actions["forget"].append(address)
        if (change.get("change") or {}).get("importing") is not None:
            actions["import"].append(address)
        previous = change.get("previous_address")
        if previous and previous != address:
            actions["move"].append(f"{previous} -> {address}")
    output_names = sorted(
        name
        for name, change in (plan.get("output_changes") or {}).items()
        if ((change or {}).get("actions") or ["no-op"]) != ["no-op"]
    )
    summary = {
        "add": len(actions["create"]) + len(actions["replace"]),
        "change": len(actions["update"]),
        "destroy": len(actions["delete"]) + len(actions["replace"]),
        "replace": len(actions["replace"]),
        "import": len(actions["import"]),
        "forget": len(actions["forget"]),
        "move": len(actions["move"]),
        "outputs": len(output_names),
    }
    actions["outputs"] = output_names
    has_changes = any(summary[key] for key in ("add", "change", "destroy", "import", "forget", "move", "outputs"))
    return {"summary": summary, "actions": actions, "has_changes": has_changes}


def declared_variables(plan: dict) -> dict:
    """Name -> {"sensitive": bool} of the root module's input variables."""
    variables = ((plan.get("configuration") or {}).get("root_module") or {}).get("variables") or {}
    return {name: {"sensitive": bool((spec or {}).get("sensitive"))} for name, spec in variables.items()}


def secret_strings(value) -> list[str]:
    """Every scalar inside value as a string, for masking (short ones would mask too much)."""
    found: list[str] = []
    if isinstance(value, dict):
        for item in value.values():
            found += secret_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            found += secret_strings(item)
    elif value is not None and not isinstance(value, bool):
        text = str(value)
        if len(text) >= 3:
            found.append(text)
            encoded = json.dumps(text)[1:-1]
            if encoded != text:
                found.append(encoded)
    return found


def protect_local_state(project_path: str, backend_config: dict | None = None) -> list[str]:
    """Narrow local state files to their owner (0600); return the ones narrowed.

    Terraform creates ``terraform.tfstate`` and its backups 0644, but state holds every sensitive value in
    clear, and ``.terraform/terraform.tfstate`` may hold the backend's credentials.
    """
    candidates = glob.glob(os.path.join(glob.escape(project_path), "*.tfstate*"))
    candidates += glob.glob(os.path.join(glob.escape(project_path), "terraform.tfstate.d", "*", "*.tfstate*"))
    candidates.append(os.path.join(project_path, ".terraform", "terraform.tfstate"))
    local = backend_config or {}
    if isinstance(local.get("path"), str):  # the local backend's own path setting
        path = os.path.join(project_path, local["path"])
        candidates += [path, path + ".backup"]
    if isinstance(local.get("workspace_dir"), str):
        candidates += glob.glob(os.path.join(glob.escape(os.path.join(project_path, local["workspace_dir"])), "*", "*"))
    narrowed = []
    for path in candidates:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue  # absent, or a symlink: not ours to change
        try:
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and st.st_mode & 0o077:
                os.fchmod(fd, stat.S_IMODE(st.st_mode) & 0o700)
                narrowed.append(path)
        finally:
            os.close(fd)
    return narrowed


def split_outputs(raw: dict) -> tuple[dict, dict]:
    """``output -json`` -> (plain outputs, sensitive outputs)."""
    plain, sensitive = {}, {}
    for name, spec in (raw or {}).items():
        spec = spec or {}
        (sensitive if spec.get("sensitive") else plain)[name] = spec.get("value")
    return plain, sensitive


def parse_workspaces(text: str) -> tuple[list[str], str | None]:
    """``workspace list`` output -> (names, the selected one)."""
    names, selected = [], None
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("* "):
            line = line[2:].strip()
            selected = line
        names.append(line)
    return names, selected


# Terraform's summary for "your configuration is invalid, see below": the diagnostics below it say what is wrong
_WRAPPER_ERRORS = ("Terraform encountered problems during initialisation",)


def diagnostics(text: str) -> list[dict]:
    """Terraform's ``Error:`` diagnostics in order: summary, file, line and the first line of the detail."""
    lines = [_unboxed(line) for line in (text or "").splitlines()]
    found = []
    for index, line in enumerate(lines):
        if not line.startswith("Error: "):
            continue
        summary = [line[len("Error: ") :].strip()]
        rest = iter(lines[index + 1 :])
        for follow in rest:  # a long summary wraps onto the next lines
            if not follow.strip() or follow.startswith("Error: "):
                break
            summary.append(follow.strip())
        item = {"summary": " ".join(summary), "file": None, "line": None, "detail": ""}
        for follow in rest:
            stripped = follow.strip()
            if follow.startswith("Error: "):
                break
            match = _LOCATION.match(stripped)
            if match and item["file"] is None:
                item["file"], item["line"] = match.group(1), int(match.group(2))
            elif stripped and not _SOURCE_LINE.match(follow) and not match:
                item["detail"] = stripped.rstrip(".")
                break
        found.append(item)
    return found


_LOCATION = re.compile(r"on (.+?) line (\d+)(?:, in .*)?:?\Z")
_SOURCE_LINE = re.compile(r"\s*\d+:")


def _unboxed(line: str) -> str:
    """A line without the box Terraform draws around diagnostics when colour is on (``│ Error: ...``)."""
    if line[:1] in ("│", "╷", "╵"):
        line = line[2:] if line[1:2] == " " else line[1:]
    return line.rstrip()


def first_error(text: str) -> str:
    """Terraform's most telling error as ``file:line: summary: detail`` (file and line when Terraform gave them)."""
    found = [d for d in diagnostics(text) if not d["summary"].startswith(_WRAPPER_ERRORS)] or diagnostics(text)
    if found:
        chosen = next((d for d in found if d["file"]), found[0])
        where = f"{chosen['file']}:{chosen['line']}: " if chosen["file"] else ""
        detail = chosen["detail"]
        return f"{where}{chosen['summary']}" + (f": {detail}" if detail and len(detail) < 200 else "")
    for line in reversed((text or "").splitlines()):
        if line.strip() and "problems with the CLI configuration" not in line:
            return line.strip()
    return "no output"


def is_configuration_error(text: str) -> bool:
    """True when Terraform points at a line of the configuration (a syntax or validation error)."""
    return any(d["file"] for d in diagnostics(text))


def terraform_warnings(text: str) -> list[str]:
    """Summaries of Terraform's ``Warning: ...`` diagnostics, in order, without duplicates."""
    found: list[str] = []
    for line in (text or "").splitlines():
        if line.startswith("Warning: "):
            summary = line[len("Warning: ") :].strip()
            if summary and summary not in found:
                found.append(summary)
    return found


def parse_lock_error(text: str) -> dict | None:
    """The lock info of an "Error acquiring the state lock" message, or None."""
    if "Error acquiring the state lock" not in (text or "") and "Error locking state" not in (text or ""):
        return None
    info = {}
    for key in ("ID", "Path", "Operation", "Who", "Version", "Created"):
        match = re.search(rf"^\s*{key}:\s*(.*?)\s*$", text, re.MULTILINE)
        if match:
            info[key.lower()] = match.group(1)
    return info


def is_stale_plan_error(text: str) -> bool:
    return "Saved plan is stale" in (text or "") or "plan file can no longer be applied" in (text or "")


def plan_state_meta(plan_file: str) -> tuple[str, int] | None:
    """(lineage, serial) of the state a saved plan was made from, or None when unreadable."""
    try:
        with zipfile.ZipFile(plan_file) as archive:
            prior = json.loads(archive.read("tfstate"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    return prior.get("lineage") or "", int(prior.get("serial") or 0)


def state_meta(pulled: str) -> tuple[str, int] | None:
    """(lineage, serial) from ``state pull`` output; ("", 0) for no state yet; None when unreadable."""
    if not (pulled or "").strip():
        return "", 0
    try:
        state = json.loads(pulled)
    except ValueError:
        return None
    return state.get("lineage") or "", int(state.get("serial") or 0)


# ---------------------------------------------------------------- running terraform


class Terraform:
    """One Terraform project directory and workspace, driven through its CLI."""

    def __init__(
        self, binary="terraform", project_path=".", workspace="default", lock=True, lock_timeout="0s", extra_env=None
    ):
        self.extra_env = {str(k): str(v) for k, v in (extra_env or {}).items()}
        self.binary = find_binary(binary, INSTALL_HINT)
        self.name = os.path.basename(binary)
        self.project_path = project_path
        self.workspace = check_workspace_name(workspace)
        self.lock = lock
        self.lock_timeout = normalize_lock_timeout(lock_timeout)
        self.secrets: list[str] = []
        self.backend_config: dict = {}
        self.warnings: list[str] = []

    def env(self, with_workspace: bool = True) -> dict:
        env = {k: v for k, v in os.environ.items() if k != "TF_WORKSPACE"}
        env.update(self.extra_env)
        env.update({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"})
        if with_workspace:
            env["TF_WORKSPACE"] = self.workspace
        return env

    def where(self) -> str:
        return f"{self.project_path} (workspace {self.workspace})"

    def run(self, argv, what: str, with_workspace: bool = True, hint: str = ""):
        result = run(
            argv,
            cwd=self.project_path,
            env=self.env(with_workspace),
            inherit_env=False,
            capture=True,
            tail_lines=40,
        )
        protect_local_state(self.project_path, self.backend_config)
        if result.rc not in (0, 2) or (result.rc == 2 and "-detailed-exitcode" not in argv):
            self.fail(result, what, hint)
        for warning in terraform_warnings(result.output):
            message = mask_text(f"{self.name} {what}: {warning}", self.secrets)
            if message not in self.warnings:
                self.warnings.append(message)
        return result

    def capture(self, args, what: str, with_workspace: bool = True) -> str:
        rc, out, err = run_capture(
            [self.binary, *args], cwd=self.project_path, env=self.env(with_workspace), inherit_env=False
        )
        if rc != 0:
            text = f"{out}\n{err}"
            raise CommandError(
                f"{self.name} {what} failed in {self.where()}: {mask_text(first_error(text), self.secrets)}",
                exit_code=rc,
                tail=self.tail(text),
            )
        return out

    def tail(self, text: str, lines: int = 40) -> list[str]:
        return [mask_text(line, self.secrets) for line in (text or "").splitlines()[-lines:]]

    def fail(self, result, what: str, hint: str = ""):
        text = result.output or "\n".join(result.tail)
        details = {"exit_code": result.rc, "tail": self.tail(text), "command": result.argv[:2]}
        lock = parse_lock_error(text)
        if lock is not None:
            holder = lock.get("who", "another process")
            since = f" since {lock['created']}" if lock.get("created") else ""
            operation = f" ({lock['operation']})" if lock.get("operation") else ""
            raise StateLockedError(
                f"the state of {self.where()} is locked: lock {lock.get('id', '?')} on {lock.get('path', '?')} "
                f"is held by {holder}{operation}{since}; wait for that run to finish or raise lock_timeout "
                f"(now {self.lock_timeout}); if it died, release it with "
                f"'{self.name} force-unlock {lock.get('id', '<ID>')}' in the project directory",
                lock=lock,
                **details,
            )
        if is_stale_plan_error(text):
            raise StalePlanError(
                f"the saved plan is stale: the state of {self.where()} changed after the plan was made; "
                "make and review a new plan (state: planned) and apply that one",
                stale=True,
                **details,
            )
        message = mask_text(first_error(text), self.secrets)
        if BACKEND_FILE in text:  # the private file that carried backend_config: name the option instead
            message = re.sub(rf"(?:\S*/)?{re.escape(BACKEND_FILE)}(?::\d+)?", "backend_config", message)
        elif is_configuration_error(text):
            hint = "; fix that line of the configuration"
        raise CommandError(f"{self.name} {what} failed in {self.where()}: {message}{hint}", **details)

    # -- commands

    def version(self) -> str | None:
        try:
            out = self.capture(["version", "-json"], "version", with_workspace=False)
            return json.loads(out).get("terraform_version")
        except (ConveyorError, ValueError):
            return None

    def init(self, backend_config=None, backend_config_files=None, reconfigure=False, upgrade=False):
        files = list(backend_config_files or [])
        private = None
        self.backend_config = dict(backend_config or {})
        if backend_config:
            # credentials in backend settings (password, access_key, conn_str...) stay off every command line
            self.secrets += [str(v) for k, v in backend_config.items() if is_secret_key(k) or k == "conn_str"]
            private = tempfile.mkdtemp(prefix="conveyor-terraform-backend-")
            path = os.path.join(private, BACKEND_FILE)
            atomic_write_text(path, backend_config_text(backend_config), 0o600)
            files.append(path)
        try:
            self.run(
                init_argv(self.binary, files, reconfigure, upgrade),
                "init",
                with_workspace=False,
                hint="; check the backend settings (backend_config, backend_config_files) and provider and module sources",
            )
        finally:
            if private:
                shutil.rmtree(private, ignore_errors=True)

    def workspaces(self) -> tuple[list[str], str | None]:
        return parse_workspaces(self.capture(["workspace", "list", "-no-color"], "workspace list", False))

    def create_workspace(self, selected: str | None):
        """Create the workspace, then re-select what was selected before (creating switches to it)."""
        self.capture(["workspace", "new", "-no-color", self.workspace], "workspace new", False)
        if selected and selected != self.workspace:
            self.capture(["workspace", "select", "-no-color", selected], "workspace select", False)

    def show_plan(self, plan_file: str) -> dict:
        out = self.capture(["show", "-json", "-no-color", plan_file], "show")
        try:
            return json.loads(out)
        except ValueError as exc:
            raise CommandError(f"{self.name} show -json {plan_file} did not return JSON: {exc}") from exc

    def show_plan_text(self, plan_file: str) -> str:
        return mask_text(self.capture(["show", "-no-color", plan_file], "show"), self.secrets)

    def outputs(self) -> tuple[dict, dict]:
        out = self.capture(["output", "-json", "-no-color"], "output")
        try:
            raw = json.loads(out or "{}")
        except ValueError as exc:
            raise CommandError(f"{self.name} output -json did not return JSON in {self.where()}: {exc}") from exc
        plain, sensitive = split_outputs(raw)
        self.secrets += secret_strings(sensitive)
        return plain, sensitive

    def current_state_meta(self):
        try:
            return state_meta(self.capture(["state", "pull"], "state pull"))
        except CommandError:
            return None


# ---------------------------------------------------------------- the provision operation


def _check_project(project_path: str):
    if not project_path or not os.path.isdir(project_path):
        raise ConfigurationError(f"project_path '{project_path}' is not a directory: give the Terraform project")
    if not any(name.endswith((".tf", ".tf.json")) for name in os.listdir(project_path)):
        raise ConfigurationError(
            f"project_path '{project_path}' holds no .tf or .tf.json files: give the directory of the root module"
        )


def _resolve(path: str, project_path: str) -> str:
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.join(project_path, path)


def _protect(plan: dict, state: str, allow_replace: bool, where: str):
    actions = plan["actions"]
    if state == "present" and not allow_replace:
        doomed = actions["replace"] + actions["delete"]
        if doomed:
            raise ConfigurationError(
                f"the plan for {where} destroys or replaces {len(doomed)} resource(s): {', '.join(doomed)}; "
                "set allow_replace: true if that is intended",
                destroying=doomed,
                **plan,
            )


def provision(
    project_path,
    state="present",
    binary="terraform",
    workspace="default",
    variables=None,
    sensitive_variables=None,
    variables_files=None,
    backend_config=None,
    backend_config_files=None,
    plan_file=None,
    lock=True,
    lock_timeout="0s",
    targets=None,
    parallelism=None,
    init=True,
    init_reconfigure=False,
    init_upgrade=False,
    allow_destroy=False,
    allow_replace=False,
    return_sensitive=False,
    task_no_log=False,
    check_mode=False,
    want_diff=False,
) -> dict:
    """Plan and apply (or only plan) one project and workspace; return the result dict."""
    project_path = os.path.abspath(os.path.expanduser(project_path or ""))
    _check_project(project_path)
    if state == "absent" and not allow_destroy:
        raise ConfigurationError(
            f"state: absent destroys every resource of {project_path} (workspace {workspace}): "
            "set allow_destroy: true to confirm"
        )
    if state == "planned" and not plan_file:
        raise ConfigurationError("state: planned needs plan_file: the path where the plan is written")
    if return_sensitive and not task_no_log:
        raise ConfigurationError(
            "return_sensitive: true needs no_log: true on the task, so the sensitive output values are never printed"
        )
    plan_path = _resolve(plan_file, project_path) if plan_file else None
    apply_saved = state == "present" and plan_path is not None
    if apply_saved and not os.path.isfile(plan_path):
        raise ConfigurationError(f"plan_file '{plan_path}' does not exist: make it first with state: planned")

    tf = Terraform(binary, project_path, workspace, lock, lock_timeout)
    tf.secrets += secret_strings(sensitive_variables)
    result = {
        "changed": False,
        "state": state,
        "workspace": tf.workspace,
        "workspace_created": False,
        "project_path": project_path,
        "binary": tf.binary,
        # from the plan's JSON when there is one (the same value, one command less); else asked for
        "terraform_version": None,
        "warnings": [],
    }
    if apply_saved and (variables or sensitive_variables or variables_files or targets):
        result["warnings"].append(
            "variables, sensitive_variables, variables_files and targets are ignored when applying a saved plan"
        )
    if init:
        tf.init(backend_config, backend_config_files, init_reconfigure, init_upgrade)

    names, selected = tf.workspaces()
    if tf.workspace not in names:
        if state == "absent" or apply_saved:
            if apply_saved:
                raise ConfigurationError(
                    f"workspace '{tf.workspace}' does not exist in {project_path}: the saved plan belongs to another "
                    "workspace; give the workspace the plan was made in"
                )
            result.update(outputs={}, sensitive_output_names=[], has_changes=False, terraform_version=tf.version())
            result["msg"] = f"workspace '{tf.workspace}' does not exist: nothing to destroy"
            return result
        if check_mode:
            result.update(
                changed=True, workspace_created=True, has_changes=True, outputs={}, terraform_version=tf.version()
            )
            result["sensitive_output_names"] = []
            result["msg"] = (
                f"workspace '{tf.workspace}' would be created and every resource of the project planned in it"
            )
            return result
        tf.create_workspace(selected)
        result.update(changed=True, workspace_created=True)

    workdir = tempfile.mkdtemp(prefix="conveyor-terraform-")
    try:
        if apply_saved:
            target_plan = plan_path
            _check_fresh(tf, target_plan)
        else:
            target_plan = os.path.join(workdir, "conveyor.tfplan")
            var_files = list(variables_files or [])
            merged = dict(variables or {})
            merged.update(sensitive_variables or {})
            if merged:
                var_file = os.path.join(workdir, "conveyor.tfvars.json")
                fd = os.open(var_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(merged, handle)
                var_files.append(var_file)
            tf.run(
                plan_argv(
                    tf.binary, target_plan, state == "absent", var_files, targets, parallelism, lock, tf.lock_timeout
                ),
                "plan",
            )
        raw_plan = tf.show_plan(target_plan)
        result["terraform_version"] = raw_plan.get("terraform_version") or tf.version()
        declared = declared_variables(raw_plan)
        for name, value in (variables or {}).items():
            if declared.get(name, {}).get("sensitive"):
                tf.secrets += secret_strings(value)
        if not apply_saved:
            unknown = sorted((set(variables or {}) | set(sensitive_variables or {})) - set(declared))
            if unknown:
                raise ConfigurationError(
                    f"variables not declared in {project_path}: {', '.join(unknown)} "
                    f"(declared: {', '.join(sorted(declared)) or 'none'})"
                )
        plan = summarize_plan(raw_plan)
        result.update(plan)
        if want_diff:
            result["diff"] = {"prepared": tf.show_plan_text(target_plan)}
        if state != "planned":
            _protect(plan, state, allow_replace, tf.where())

        if state == "planned":
            if not check_mode:
                # the plan holds the sensitive variables in clear: readable by its owner only
                atomic_copy(target_plan, plan_path, 0o600)
            result["plan_file"] = plan_path
        elif check_mode:
            result["changed"] = result["changed"] or plan["has_changes"]
        elif plan["has_changes"] or apply_saved:
            # a saved plan is applied even without changes, so Terraform itself verifies it is not stale
            tf.run(apply_argv(tf.binary, target_plan, parallelism, lock, tf.lock_timeout), "apply")
            result["changed"] = result["changed"] or plan["has_changes"]
            if apply_saved:
                result["plan_file"] = plan_path
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    plain, sensitive = tf.outputs()
    result["outputs"] = plain
    result["sensitive_output_names"] = sorted(sensitive)
    if return_sensitive:
        result["sensitive_outputs"] = sensitive
    if "diff" in result:
        result["diff"]["prepared"] = mask_text(result["diff"]["prepared"], tf.secrets)
    result["warnings"] += tf.warnings
    if not result["warnings"]:
        del result["warnings"]
    return result


def _check_fresh(tf: Terraform, plan_file: str):
    """Refuse a saved plan whose prior state is not the current state (also in check mode)."""
    planned_from = plan_state_meta(plan_file)
    current = tf.current_state_meta()
    if planned_from is None or current is None or planned_from == current:
        return
    raise StalePlanError(
        f"the saved plan {plan_file} is stale: it was made from state serial {planned_from[1]} but the state of "
        f"{tf.where()} is now at serial {current[1]}"
        f"{' of another lineage' if planned_from[0] and planned_from[0] != current[0] else ''}; "
        "make and review a new plan (state: planned) and apply that one",
        stale=True,
        plan_serial=planned_from[1],
        state_serial=current[1],
    )


def read_outputs(binary: str, project_path: str, workspace: str = "default", env=None) -> tuple[dict, dict]:
    """(plain, sensitive) outputs of a project's state, read-only: a missing workspace is an error
    (``output`` alone would create it with the local backend)."""
    project_path = os.path.abspath(os.path.expanduser(project_path))
    if not os.path.isdir(project_path):
        raise ConfigurationError(f"Terraform project '{project_path}' is not a directory")
    tf = Terraform(binary, project_path, workspace, extra_env=env)
    if workspace != "default":
        names, _selected = tf.workspaces()
        if workspace not in names:
            raise ConfigurationError(
                f"workspace '{workspace}' does not exist in {project_path} (existing: {', '.join(names)}); "
                "apply the project in that workspace first"
            )
    return tf.outputs()


__all__ = [
    "MissingDependencyError",
    "StalePlanError",
    "StateLockedError",
    "Terraform",
    "provision",
    "read_outputs",
    "summarize_plan",
]
