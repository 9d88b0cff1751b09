# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus HTTP API client and the metric gate engine.

The client speaks the query API (``/api/v1/query`` and ``/api/v1/query_range``) and turns
every failure into one line. The gate evaluates a list of checks ``{query, op, threshold}``
repeatedly and decides pass/fail with one of two policies:

- ``all_intervals``: every evaluation during ``duration`` must pass (canary analysis); the
  first failing evaluation ends the gate.
- ``eventually``: evaluations repeat until one passes, or ``duration`` runs out.
"""

from __future__ import annotations

import json
import math
import operator
import re
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._http import Response, Unreachable, request
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import split_userinfo
from ansible_collections.conveyor.cicd.plugins.module_utils._urls import check_url

OPERATORS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
OPERATOR_ALIASES = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}
EMPTY_POLICIES = ("fail", "pass", "ignore")
GATE_POLICIES = ("all_intervals", "eventually")
MODES = ("instant", "range")

ANSWER_LIMIT = 64 * 1024 * 1024  # bytes of a query answer; range queries over many series can be large
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class GateFailed(ConveyorError):
    """The gate ran and the metrics were outside their thresholds."""


def parse_duration(value, what: str = "duration") -> float:
    """Seconds from a number or a Prometheus-style duration (``90``, ``"30s"``, ``"1m30s"``)."""
    if isinstance(value, bool):
        raise ConfigurationError(f"{what} must be a number of seconds or a duration like '30s' or '5m', got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION_RE.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise ConfigurationError(
                    f"{what} must be a number of seconds or a duration like '30s', '5m' or '1m30s', got {value!r}"
                ) from None
            seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if seconds < 0 or math.isnan(seconds) or math.isinf(seconds):
        raise ConfigurationError(f"{what} must be zero or more seconds, got {value!r}")
    return seconds


def format_labels(metric: dict) -> str:
    """``{host="app1",instance="..."}`` without ``__name__``; empty string for no labels."""
    labels = {k: v for k, v in (metric or {}).items() if k != "__name__"}
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def format_number(value: float | None) -> str:
    if value is None:
        return "no data"
    if math.isnan(value):
        return "NaN"
    return f"{value:.6g}"


class PrometheusClient:
    """Minimal client for the Prometheus query API."""

    def __init__(
        self,
        url: str,
        timeout: float = 10,
        validate_certs: bool = True,
        username: str | None = None,
        password: str | None = None,
        bearer_token: str | None = None,
    ):
        try:
            check_url(url, "url")
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"{exc.msg} (url must be the base URL of a Prometheus server such as http://127.0.0.1:9090)"
            ) from None
        if bearer_token and (username or password):
            raise ConfigurationError("use either bearer_token or url_username/url_password, not both")
        self.url = url.rstrip("/")
        self.shown_url = split_userinfo(self.url)[0]  # the URL in messages, without credentials
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.username = username
        self.password = password
        self.bearer_token = bearer_token

    def _request(self, path: str, params: dict) -> dict:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if self.bearer_token:
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        target = self.url + path
        try:
            response = request(
                target,
                method="POST",
                data=urlencode(params),
                headers=headers,
                timeout=self.timeout,
                validate_certs=self.validate_certs,
                username=self.username,
                password=self.password,
                agent="conveyor.cicd-metrics-gate",
                body_limit=ANSWER_LIMIT,
            )
        except Unreachable as exc:
            raise ConveyorError(
                f"cannot reach Prometheus at {self.shown_url}: {exc.reason} (check url and that the server is running)"
            ) from None
        if not response.ok:
            raise self._explain(response)
        if response.truncated:
            raise ConveyorError(
                f"Prometheus at {self.shown_url} answered more than {ANSWER_LIMIT // (1024 * 1024)} MiB: "
                "narrow the query or raise its step"
            )
        return self._decode(response.body, response.url)

    def _explain(self, response: Response) -> ConveyorError:
        """One line for an answer that is not 2xx."""
        code = response.status
        try:
            payload = json.loads(response.body)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and payload.get("error"):
            return ConfigurationError(
                f"Prometheus rejected the query ({payload.get('errorType', code)}): {payload['error']}",
                status=code,
            )
        if code in (401, 403):
            return ConfigurationError(
                f"Prometheus at {self.shown_url} refused access (HTTP {code}): check url_username/url_password or bearer_token",
                status=code,
            )
        if code == 404:
            return ConfigurationError(
                f"{response.url} does not exist (HTTP 404): url must be the Prometheus base URL, without /api/v1",
                status=code,
            )
        return ConveyorError(f"Prometheus at {self.shown_url} answered HTTP {code}: {response.reason}", status=code)

    def _decode(self, body: bytes, target: str) -> dict:
        try:
            payload = json.loads(body)
        except ValueError:
            raise ConveyorError(
                f"{target} did not answer with JSON: is {self.shown_url} a Prometheus server?"
            ) from None
        if not isinstance(payload, dict) or payload.get("status") != "success":
            error = payload.get("error") if isinstance(payload, dict) else None
            raise ConveyorError(f"Prometheus query failed: {error or 'unexpected answer'}")
        return payload.get("data") or {}

    def query(self, promql: str, at: float | None = None) -> dict:
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self._request("/api/v1/query", params)

    def query_range(self, promql: str, start: float, end: float, step: float) -> dict:
        params = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        return self._request("/api/v1/query_range", params)


def _number(raw) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise ConveyorError(f"Prometheus returned a value that is not a number: {raw!r}") from None


def parse_result(data: dict) -> list[dict]:
    """Flatten a query answer into ``[{metric, values: [float, ...]}]`` (one entry per series)."""
    result_type = data.get("resultType")
    result = data.get("result")
    if result_type == "scalar":
        return [{"metric": {}, "values": [_number(result[1])]}]
    if result_type == "vector":
        return [{"metric": item.get("metric", {}), "values": [_number(item["value"][1])]} for item in result or []]
    if result_type == "matrix":
        return [
            {"metric": item.get("metric", {}), "values": [_number(v[1]) for v in item.get("values", [])]}
            for item in result or []
        ]
    if result_type == "string":
        raise ConfigurationError("the query returns a string; a check needs a number or a vector of numbers")
    raise ConveyorError(f"Prometheus returned an unknown result type {result_type!r}")


def normalize_checks(checks, defaults: dict) -> list[dict]:
    """Validate the checks and fill in the module-wide defaults; raise one line naming a bad check."""
    if not checks:
        raise ConfigurationError("checks must list at least one {query, op, threshold}")
    out = []
    seen = set()
    for index, check in enumerate(checks):
        if not isinstance(check, dict):
            raise ConfigurationError(f"checks[{index}] must be a dict with query, op and threshold")
        name = check.get("name") or f"check{index + 1}"
        label = f"check '{name}'"
        if name in seen:
            raise ConfigurationError(f"{label} appears twice: give each check a unique name")
        seen.add(name)
        query = (check.get("query") or "").strip()
        if not query:
            raise ConfigurationError(f"{label} has no query")
        op = OPERATOR_ALIASES.get(str(check.get("op")), str(check.get("op")))
        if op not in OPERATORS:
            raise ConfigurationError(
                f"{label} has op {check.get('op')!r}; use one of {', '.join(OPERATORS)} (or lt, le, gt, ge, eq, ne)"
            )
        threshold = check.get("threshold")
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{label} needs a numeric threshold, got {threshold!r}") from None
        mode = check.get("mode") or defaults["mode"]
        if mode not in MODES:
            raise ConfigurationError(f"{label} has mode {mode!r}; use instant or range")
        empty = check.get("empty_result") or defaults["empty_result"]
        if empty not in EMPTY_POLICIES:
            raise ConfigurationError(f"{label} has empty_result {empty!r}; use fail, pass or ignore")
        window = parse_duration(check.get("range") or defaults["range"], f"{label} range")
        step = parse_duration(check.get("step") or defaults["step"], f"{label} step")
        if mode == "range" and (window <= 0 or step <= 0):
            raise ConfigurationError(f"{label}: range and step must be more than 0s for a range query")
        out.append(
            dict(
                name=name,
                query=query,
                op=op,
                threshold=threshold,
                mode=mode,
                range=window,
                step=step,
                empty_result=empty,
            )
        )
    return out


def evaluate_check(client: PrometheusClient, check: dict, now: float) -> dict:
    """Run one check once. status is pass, fail or no_data; NaN samples (0/0) count as no data."""
    if check["mode"] == "range":
        data = client.query_range(check["query"], now - check["range"], now, check["step"])
    else:
        data = client.query(check["query"])
    compare = OPERATORS[check["op"]]
    series = []
    failing = []
    for item in parse_result(data):
        values = [v for v in item["values"] if not math.isnan(v)]
        if not values:
            continue
        bad = [v for v in values if not compare(v, check["threshold"])]
        # the value shown is the worst offender, or the latest sample when all pass
        shown = bad[0] if bad else values[-1]
        entry = {"metric": item["metric"], "value": shown, "passed": not bad, "samples": len(values)}
        series.append(entry)
        if bad:
            failing.append(entry)
    if not series:
        status = "no_data"
        value = None
    else:
        status = "fail" if failing else "pass"
        value = (failing or series)[0]["value"]
    return {
        "name": check["name"],
        "query": check["query"],
        "op": check["op"],
        "threshold": check["threshold"],
        "mode": check["mode"],
        "status": status,
        "passed": status == "pass" or (status == "no_data" and check["empty_result"] != "fail"),
        "value": value,
        "series": series,
        "failing_series": [format_labels(s["metric"]) for s in failing],
    }


def describe_failure(result: dict, evaluation: int, total: int | None) -> str:
    where = f"evaluation {evaluation}" + (f" of {total}" if total else "")
    if result["status"] == "no_data":
        return f"check '{result['name']}' returned no data at {where} (query: {result['query']})"
    labels = result["failing_series"][0] if result["failing_series"] else ""
    return (
        f"check '{result['name']}'{' ' + labels if labels else ''} = {format_number(result['value'])}, "
        f"not {result['op']} {format_number(result['threshold'])}, at {where}"
    )


def run_gate(
    client: PrometheusClient,
    checks: list[dict],
    policy: str = "all_intervals",
    duration: float = 0,
    interval: float = 10,
    retries: int | None = None,
    fail_on_gate: bool = True,
    clock=time.monotonic,
    sleep=time.sleep,
    wall=time.time,
) -> dict:
    """Evaluate ``checks`` until the policy decides, and return the module result."""
    if policy not in GATE_POLICIES:
        raise ConfigurationError(f"policy must be all_intervals or eventually, got {policy!r}")
    if retries is not None:
        if retries < 0:
            raise ConfigurationError(f"retries must be 0 or more, got {retries}")
        total = retries + 1
    else:
        total = int(duration // interval) + 1 if interval > 0 and duration > 0 else 1
    if total > 1 and interval <= 0:
        raise ConfigurationError("interval must be more than 0s when the gate evaluates more than once")

    start = clock()
    evaluations = []
    passed = False
    failed_checks: list[dict] = []
    for number in range(1, total + 1):
        wait = start + (number - 1) * interval - clock()
        if wait > 0:
            sleep(wait)
        now = wall()
        results = [evaluate_check(client, check, now) for check in checks]
        evaluation_passed = all(r["passed"] for r in results)
        evaluations.append(
            {
                "evaluation": number,
                "time": datetime.fromtimestamp(now, tz=UTC).isoformat(timespec="seconds"),
                "elapsed": round(clock() - start, 3),
                "passed": evaluation_passed,
                "checks": results,
            }
        )
        failed_checks = [
            dict(
                name=r["name"],
                value=r["value"],
                op=r["op"],
                threshold=r["threshold"],
                status=r["status"],
                evaluation=number,
                series=r["failing_series"],
                reason=describe_failure(r, number, total),
            )
            for r in results
            if not r["passed"]
        ]
        if policy == "all_intervals":
            if not evaluation_passed:
                break
            passed = number == total
        elif evaluation_passed:
            # empty_result=ignore waits for data under this policy; missing data passes only at the end
            waiting = any(
                r["status"] == "no_data" and c["empty_result"] == "ignore" for r, c in zip(results, checks, strict=True)
            )
            if not waiting or number == total:
                passed = True
                break

    result = {
        "changed": False,
        "passed": passed,
        "policy": policy,
        "evaluations": evaluations,
        "evaluation_count": len(evaluations),
        "failed_checks": [] if passed else failed_checks,
    }
    if passed:
        no_data = sorted({c["name"] for e in evaluations for c in e["checks"] if c["status"] == "no_data"})
        suffix = f" (no data for: {', '.join(no_data)})" if no_data else ""
        result["msg"] = f"metrics gate passed: {len(checks)} check(s) in {len(evaluations)} evaluation(s){suffix}"
    else:
        first = failed_checks[0]["reason"] if failed_checks else "no evaluation passed"
        more = f" (+{len(failed_checks) - 1} more)" if len(failed_checks) > 1 else ""
        when = " before the duration ran out" if policy == "eventually" else ""
        result["msg"] = f"metrics gate failed{when}: {first}{more}"
        if fail_on_gate:
            raise GateFailed(result["msg"], **{k: v for k, v in result.items() if k != "msg"})
    return result


def metrics_gate(params: dict, check_mode: bool = False) -> dict:
    """Entry point of the metrics_gate module (read-only: check mode runs the same queries)."""
    defaults = {
        "mode": params.get("mode") or "instant",
        "empty_result": params.get("empty_result") or "fail",
        "range": params.get("range") or "5m",
        "step": params.get("step") or "15s",
    }
    checks = normalize_checks(params.get("checks"), defaults)
    duration = parse_duration(params.get("duration") or 0, "duration")
    interval = parse_duration(params.get("interval") or 10, "interval")
    if params.get("retries") is not None and duration:
        raise ConfigurationError("set either retries or duration, not both")
    client = PrometheusClient(
        params["url"],
        timeout=params.get("timeout") or 10,
        validate_certs=params.get("validate_certs", True),
        username=params.get("url_username"),
        password=params.get("url_password"),
        bearer_token=params.get("bearer_token"),
    )
    return run_gate(
        client,
        checks,
        policy=params.get("policy") or "all_intervals",
        duration=duration,
        interval=interval,
        retries=params.get("retries"),
        fail_on_gate=params.get("fail_on_gate", True),
    )
