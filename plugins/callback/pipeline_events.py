# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: pipeline_events
type: aggregate
short_description: Record pipeline runs, stages, deployments, failures and test counts
version_added: 0.1.0
description:
  - Records every playbook run as a pipeline run and every play as a stage (start, end, duration,
    status, per-host ok/changed/failed counts) in an SQLite event store.
  - Records deployments from results that carry a C(conveyor_deploy) dictionary (returned by
    M(conveyor.cicd.app_rollout)), test counts from M(conveyor.cicd.test_suite) results, and failed tasks.
  - Secrets are never recorded - results of C(no_log) tasks are reduced to a placeholder, values of
    secret keys (C(password), C(token), C(secret_key), ...) are masked wherever they or 8 or more of
    their characters appear, passwords in DSNs (C(scheme://user:pass@host)) become
    C(scheme://user:***@host) and bare tokens in http(s) URLs become C(https://***@host).
  - The event store and the JSON-lines file are created readable by their owner only (0600).
  - Optionally appends every event to a JSON-lines file and pushes each stage's duration and result
    to a Prometheus Pushgateway.
  - At the end of a run it prints a compact table of the stages.
  - It is an aggregate callback, so it works beside any stdout callback, under ansible-runner and in
    AWX / Automation Controller. Enable it with C(callbacks_enabled = conveyor.cicd.pipeline_events).
author: conveyor.cicd maintainers (@conveyor-cicd)
requirements:
  - enable in configuration (C(callbacks_enabled) or E(ANSIBLE_CALLBACKS_ENABLED))
options:
  db_path:
    description:
      - Path of the SQLite event store. Created with its directories when missing.
      - When not set, the store is C(events.db) in the C(conveyor_state_dir) variable of the first
        play's first host (if it is defined), else C(~/.local/share/conveyor/events.db).
    type: path
    env:
      - name: CONVEYOR_EVENTS_DB
    ini:
      - section: conveyor_pipeline_events
        key: db_path
  jsonl_path:
    description: When set, every event is also appended to this JSON-lines file.
    type: path
    env:
      - name: CONVEYOR_EVENTS_JSONL
    ini:
      - section: conveyor_pipeline_events
        key: jsonl_path
  pushgateway_url:
    description: When set, each stage's duration and result are pushed to this Prometheus Pushgateway.
    type: str
    env:
      - name: CONVEYOR_EVENTS_PUSHGATEWAY_URL
    ini:
      - section: conveyor_pipeline_events
        key: pushgateway_url
  pushgateway_job:
    description: The C(job) label of pushed metrics.
    type: str
    default: conveyor_pipeline
    env:
      - name: CONVEYOR_EVENTS_PUSHGATEWAY_JOB
    ini:
      - section: conveyor_pipeline_events
        key: pushgateway_job
  print_summary:
    description: Print a table of the stages at the end of the run.
    type: bool
    default: true
    env:
      - name: CONVEYOR_EVENTS_PRINT_SUMMARY
    ini:
      - section: conveyor_pipeline_events
        key: print_summary
  deploy_actions:
    description:
      - Actions whose results are deployments even without a C(conveyor_deploy) dictionary
        (the environment is then the one the host was deployed to earlier in the run, else C(unknown)).
        Results of any action that carry C(conveyor_deploy) count too.
    type: list
    elements: str
    default: [conveyor.cicd.app_rollout]
    env:
      - name: CONVEYOR_EVENTS_DEPLOY_ACTIONS
    ini:
      - section: conveyor_pipeline_events
        key: deploy_actions
  test_actions:
    description: Actions whose results hold test counts (C(tests), C(passed), C(failed_tests), C(skipped_tests)).
    type: list
    elements: str
    default: [conveyor.cicd.test_suite]
    env:
      - name: CONVEYOR_EVENTS_TEST_ACTIONS
    ini:
      - section: conveyor_pipeline_events
        key: test_actions
"""

import os
import socket
import time
import uuid

from ansible import context
from ansible.plugins.callback import CallbackBase

from ansible_collections.conveyor.cicd.plugins.module_utils._events import (
    DEFAULT_DB_PATH,
    EventStore,
    append_jsonl,
    human_duration,
    pipeline_metrics,
    push_to_gateway,
    stage_metrics,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import mask_data, mask_text, secret_values

NO_LOG_MESSAGE = "output hidden (no_log)"


def _message(result: dict, secrets) -> str:
    """One line that says why a task failed, scrubbed."""
    if result.get("_ansible_no_log") or "censored" in result:
        return NO_LOG_MESSAGE
    parts = []
    for key in ("msg", "reason", "stderr", "module_stderr"):
        value = result.get(key)
        if isinstance(value, str) and value.strip():
            parts.append(value.strip().splitlines()[-1] if key != "msg" else value.strip())
            break
    if not parts and isinstance(result.get("results"), list):
        for item in result["results"]:
            if isinstance(item, dict) and item.get("failed") and isinstance(item.get("msg"), str):
                parts.append(item["msg"])
                break
    if "rc" in result and isinstance(result.get("rc"), int) and result["rc"] != 0:
        parts.append(f"(rc={result['rc']})")
    return mask_text(" ".join(parts) or "failed", secrets)


def _in_rescue_block(task) -> bool:
    """True when a failure of ``task`` is handled by a block's rescue section."""
    parent = getattr(task, "_parent", None)
    while parent is not None:
        if getattr(parent, "rescue", None):
            return True
        parent = getattr(parent, "_parent", None)
    return False


def _first_host(pattern, groups: dict) -> str | None:
    """The first host a simple host pattern (host or group names, separated by commas or colons) names."""
    names = pattern if isinstance(pattern, list) else str(pattern or "").replace(":", ",").split(",")
    everyone = groups.get("all") or []
    for name in (str(n).strip() for n in names):
        if groups.get(name):
            return groups[name][0]
        if name in everyone or name in ("localhost", "127.0.0.1"):
            return name
    return None


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "conveyor.cicd.pipeline_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self.store = None
        self.db_path = None
        self.run_id = None
        self.playbook = None
        self.started = None
        self.check_mode = False
        self.stage = None
        self.stages = []
        self.seq = 0
        self.disabled_reason = None
        self._push_warned = False
        self.playbooks_started = 0
        self.recorded = False
        self.counted = {}
        self.host_environments = {}

    # -- helpers ---------------------------------------------------------------------------

    def _resolve_db_path(self, play) -> str:
        configured = self.get_option("db_path")
        if configured:
            return os.path.expanduser(configured)
        state_dir = self._state_dir(play)
        if state_dir:
            return os.path.join(os.path.expanduser(state_dir), "events.db")
        return os.path.expanduser(DEFAULT_DB_PATH)

    @staticmethod
    def _state_dir(play):
        """``conveyor_state_dir`` of the play (play or extra vars), else of its first host; None when unknown.

        Only public accessors: the play's variable manager and loader, the ``groups`` and ``hostvars``
        variables (a host's value comes back templated in that host's context)."""
        try:
            from ansible.template import Templar

            variables = play.get_variable_manager().get_vars(play=play)
            value = variables.get("conveyor_state_dir")
            if value:
                rendered = Templar(loader=play.get_loader(), variables=variables).template(value)
            else:
                host = _first_host(play.hosts, variables.get("groups") or {})
                hostvars = variables.get("hostvars")
                if host is None or hostvars is None:
                    return None
                rendered = hostvars[host].get("conveyor_state_dir")
            return str(rendered) if rendered else None
        except Exception:  # best effort; the documented default applies instead
            return None

    def _open_store(self, play) -> None:
        if self.store is not None or self.disabled_reason:
            return
        self.db_path = self._resolve_db_path(play)
        try:
            self.store = EventStore(self.db_path)
            controller = socket.gethostname()
            self.store.close_abandoned_runs(controller, self.started)
            self.store.start_run(self.run_id, self.playbook, self.started, self.check_mode, controller, os.getpid())
        except Exception as exc:  # recording must never break a pipeline
            self.disabled_reason = str(exc)
            self.store = None
            self._display.warning(f"conveyor.cicd.pipeline_events: not recording events in {self.db_path}: {exc}")
            return
        self._emit({"event": "run_start", "run_id": self.run_id, "playbook": self.playbook, "started": self.started})

    def _safely(self, what: str, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # recording must never break a pipeline
            self._display.warning(f"conveyor.cicd.pipeline_events: could not record {what}: {exc}")
            return None

    def _emit(self, record: dict) -> None:
        path = self.get_option("jsonl_path")
        if path:
            self._safely("the JSON-lines event", append_jsonl, path, record)

    def _push(self, grouping: dict, metrics) -> None:
        url = self.get_option("pushgateway_url")
        if not url or self.check_mode:
            return
        try:
            push_to_gateway(url, self.get_option("pushgateway_job"), grouping, metrics)
        except Exception as exc:  # a monitoring outage must not fail the pipeline
            if not self._push_warned:
                self._display.warning(f"conveyor.cicd.pipeline_events: Pushgateway push failed: {mask_text(str(exc))}")
                self._push_warned = True

    def _host_counts(self, host: str) -> dict:
        return self.stage["hosts"].setdefault(
            host, dict.fromkeys(("ok", "changed", "failed", "unreachable", "skipped"), 0)
        )

    # -- stages ----------------------------------------------------------------------------

    def _finish_stage(self) -> None:
        stage, self.stage = self.stage, None
        if stage is None:
            return
        stage["ended"] = time.time()
        stage["duration"] = max(0.0, stage["ended"] - stage["started"])
        failed = any(c["failed"] or c["unreachable"] for c in stage["hosts"].values())
        stage["status"] = "failed" if failed else "success"
        for key in ("ok", "changed", "failed", "unreachable", "skipped"):
            stage[key] = sum(c[key] for c in stage["hosts"].values())
        self.stages.append(stage)
        if self.store and stage.get("id"):
            self._safely(
                "the stage end", self.store.finish_stage, stage["id"], stage["ended"], stage["status"], stage["hosts"]
            )
        self._emit(
            {
                "event": "stage_end",
                "run_id": self.run_id,
                **{k: stage[k] for k in ("seq", "name", "started", "ended", "duration", "status", "hosts")},
            }
        )
        self._push(
            {"playbook": os.path.basename(self.playbook or ""), "stage": stage["name"]},
            stage_metrics(stage),
        )

    # -- Ansible events --------------------------------------------------------------------

    def v2_playbook_on_start(self, playbook):
        # one run per playbook: `ansible-playbook a.yml b.yml` records two runs, each from a fresh state
        del playbook  # its file name is not public API; the command line names the playbooks in order
        cli = getattr(context, "CLIARGS", None) or {}
        paths = list(cli.get("args") or ())
        self.playbooks_started += 1
        given = paths[self.playbooks_started - 1] if len(paths) >= self.playbooks_started else None
        self.run_id = uuid.uuid4().hex
        self.playbook = os.path.basename(str(given)) if given else "playbook"
        self.started = time.time()
        self.check_mode = bool(cli.get("check", False))
        self.stage = None
        self.stages = []
        self.seq = 0
        self.host_environments = {}

    def v2_playbook_on_play_start(self, play):
        if self.run_id is None:
            self.v2_playbook_on_start(None)
        self._finish_stage()
        self._open_store(play)
        self.seq += 1
        name = mask_data(play.get_name().strip() or f"play {self.seq}")
        self.stage = {"seq": self.seq, "name": name, "started": time.time(), "hosts": {}, "id": None}
        if self.store:
            self.stage["id"] = self._safely(
                "the stage start", self.store.start_stage, self.run_id, self.seq, name, self.stage["started"]
            )

    def _task_result(self, result, status: str, ignore_errors: bool = False) -> None:
        if self.stage is None:
            return
        host = result.host.get_name()
        data = result.result if isinstance(result.result, dict) else {}
        counts = self._host_counts(host)
        task = result.task
        if status == "failed" and (ignore_errors or _in_rescue_block(task)):
            counts["ok"] += 1
        else:
            counts[status] += 1
        if status in ("ok", "failed") and data.get("changed"):
            counts["changed"] += 1
        if status == "skipped" or not self.store:
            return
        secrets = secret_values(data)
        task_name = mask_text(result.task_name or task.get_name() or "", secrets)
        action = getattr(task, "resolved_action", None) or getattr(task, "action", "") or ""
        now = time.time()
        no_log = bool(data.get("_ansible_no_log")) or "censored" in data or getattr(task, "no_log", False) is True
        if status in ("failed", "unreachable"):
            message = NO_LOG_MESSAGE if no_log else _message(data, secrets)
            self._safely(
                "the failure",
                self.store.add_failure,
                self.run_id,
                self.stage["id"],
                host,
                now,
                task_name,
                message,
                action=action,
                ignored=ignore_errors,
                unreachable=status == "unreachable",
            )
            self._emit(
                {"event": "failure", "run_id": self.run_id, "stage": self.stage["name"], "host": host}
                | {"task": task_name, "message": message, "ignored": bool(ignore_errors), "at": now}
            )
        if no_log:
            return
        items = [data] + [item for item in data.get("results", []) if isinstance(item, dict)]
        for item in items:
            deploy = item.get("conveyor_deploy")
            if isinstance(deploy, dict) or (item is data and self._matches(action, "deploy_actions")):
                self._record_deployment(host, action, item, deploy if isinstance(deploy, dict) else {}, status, now)
        if self._matches(action, "test_actions") and isinstance(data.get("tests"), int):
            self._record_tests(host, task_name, data, now)

    def _matches(self, action: str, option: str) -> bool:
        wanted = self.get_option(option) or []
        short = action.rsplit(".", 1)[-1]
        return action in wanted or any(w.rsplit(".", 1)[-1] == short and w.startswith("conveyor.cicd.") for w in wanted)

    def _record_deployment(self, host, action, item, deploy, status, now) -> None:
        if self.check_mode:
            return
        failed = status in ("failed", "unreachable") or bool(item.get("failed"))
        kind = "rollback" if deploy.get("action") == "rollback" else "deploy"
        # an explicit rollback reports rolled_back too: that is its purpose, not a failed rollout
        rolled_back = bool(item.get("rolled_back")) and kind == "deploy"
        fields = {
            "kind": kind,
            "status": "rolled_back" if rolled_back else ("failed" if failed else "success"),
            "version": deploy.get("version") or item.get("version"),
            "commit": deploy.get("commit"),
            "commit_time": deploy.get("commit_time"),
            "rolled_back": rolled_back,
            "changed": bool(item.get("changed")) or failed,
            "release_id": item.get("release_id"),
            "previous_release": item.get("previous_release"),
            "current_release": item.get("current_release"),
        }
        # a result without its environment (a rollback task that crashed before it could say) belongs to the
        # environment this host was deployed to earlier in the run
        environment = deploy.get("environment") or self.host_environments.get(host) or "unknown"
        if environment != "unknown":
            self.host_environments[host] = environment
        self._safely(
            "the deployment",
            self.store.add_deployment,
            self.run_id,
            self.stage["id"],
            host,
            now,
            environment,
            **fields,
        )
        self._emit(
            {"event": "deployment", "run_id": self.run_id, "host": host, "environment": environment, "at": now}
            | {k: v for k, v in fields.items() if k != "changed"}
        )

    def _record_tests(self, host, task_name, data, now) -> None:
        if isinstance(data.get("suites"), list):
            # test_suite with suites: one record per suite, named after it
            for suite in data["suites"]:
                if isinstance(suite, dict):
                    self._record_tests(host, str(suite.get("name") or task_name), suite, now)
            return
        counts = {
            "name": data.get("name"),
            "tests": data.get("tests"),
            "passed": data.get("passed"),
            "failed": data.get("failed_tests"),
            "errors": data.get("errors"),
            "skipped": data.get("skipped_tests"),
            "duration": data.get("duration"),
        }
        self._safely(
            "the test counts", self.store.add_tests, self.run_id, self.stage["id"], host, now, task_name, counts
        )
        self._emit({"event": "tests", "run_id": self.run_id, "host": host, "task": task_name, "at": now} | counts)

    def v2_runner_on_ok(self, result):
        self._task_result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._task_result(result, "failed", ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._task_result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._task_result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        if self.run_id is None:
            return
        self._finish_stage()
        ended = time.time()
        hosts = sorted(stats.processed)
        totals = dict.fromkeys(("ok", "changed", "failed", "unreachable", "skipped"), 0)
        for host in hosts:
            summary = stats.summarize(host)
            totals["ok"] += summary.get("ok", 0)
            totals["changed"] += summary.get("changed", 0)
            totals["failed"] += summary.get("failures", 0)
            totals["unreachable"] += summary.get("unreachable", 0)
            totals["skipped"] += summary.get("skipped", 0)
        # Ansible's stats add up over every playbook of one command: this run is what came since the last
        counts = {key: value - self.counted.get(key, 0) for key, value in totals.items()}
        self.counted = totals
        if self.playbooks_started > 1:
            hosts = sorted({host for stage in self.stages for host in stage["hosts"]})
        status = "failed" if counts["failed"] or counts["unreachable"] else "success"
        if not hosts and any(stage["status"] == "failed" for stage in self.stages):
            status = "failed"
        run = {"status": status, "started": self.started, "ended": ended, "duration": max(0.0, ended - self.started)}
        self.recorded = self.store is not None
        if self.store:
            self._safely("the run end", self.store.finish_run, self.run_id, ended, status, counts, hosts)
            self._safely("closing the store", self.store.close)
            self.store = None  # the next playbook of the same command opens it again
        self._emit({"event": "run_end", "run_id": self.run_id, "playbook": self.playbook, **run, **counts})
        self._push({"playbook": self.playbook}, pipeline_metrics(run))
        if self.get_option("print_summary"):
            self._display.display(self._summary(run, hosts))
        self.run_id = None

    def _summary(self, run: dict, hosts) -> str:
        width = max([len("stage")] + [len(s["name"]) for s in self.stages])
        width = min(width, 48)
        where = self.db_path if self.recorded else f"not recorded ({self.disabled_reason})"
        lines = [
            f"PIPELINE EVENTS  {self.playbook}  {run['status']}  in {human_duration(run['duration'])}"
            f"  ({len(hosts)} hosts, run {self.run_id[:12]})",
            f"  {'stage':<{width}}  {'status':<8}  {'duration':>9}  {'ok':>4}  {'changed':>7}  {'failed':>6}  hosts",
        ]
        for stage in self.stages:
            name = stage["name"] if len(stage["name"]) <= width else stage["name"][: width - 1] + "~"
            lines.append(
                f"  {name:<{width}}  {stage['status']:<8}  {human_duration(stage['duration']):>9}  {stage['ok']:>4}"
                f"  {stage['changed']:>7}  {stage['failed'] + stage['unreachable']:>6}  {len(stage['hosts'])}"
            )
        lines.append(f"  events: {where}" + ("  (check mode: deployments not recorded)" if self.check_mode else ""))
        return "\n".join(mask_text(line) for line in lines)
