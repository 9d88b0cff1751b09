# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health checks after a switch: HTTP(S) probes and an optional command, with retries.

One attempt passes when every configured probe passes: the HTTP status is one of the expected
codes, the body contains the expected substring, the JSON field has the expected value, and the
command exits with 0. ``successes`` consecutive passing attempts make the check healthy;
``retries`` failing attempts after the first make it unhealthy.
"""

from __future__ import annotations

import json
import time

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._http import Unreachable, request
from ansible_collections.conveyor.cicd.plugins.module_utils._process import run
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import split_userinfo
from ansible_collections.conveyor.cicd.plugins.module_utils._service import fill
from ansible_collections.conveyor.cicd.plugins.module_utils._urls import check_url

DEFAULTS = {
    "url": None,
    "status_codes": [200],
    "body_contains": None,
    "json_field": None,
    "json_value": None,
    "timeout": 5,
    "retries": 10,
    "delay": 1.0,
    "successes": 1,
    "validate_certs": True,
    "ca_path": None,
    "command": None,
    "command_timeout": 30,
}
_MISSING = object()
BODY_LIMIT = 1024 * 1024


def normalize(spec: dict | None) -> dict | None:
    """The health spec with defaults filled in; None when nothing is to be checked."""
    if not spec:
        return None
    merged = dict(DEFAULTS)
    merged.update({k: v for k, v in spec.items() if v is not None})
    if not merged["url"] and not merged["command"]:
        return None
    if merged["url"]:
        check_url(merged["url"], "health url")
    if merged["json_value"] is not None and not merged["json_field"]:
        raise ConfigurationError("health json_value needs json_field (the dotted path of the field to compare)")
    for key in ("retries", "successes", "timeout"):
        if int(merged[key]) < (0 if key == "retries" else 1):
            raise ConfigurationError(f"health {key} must be {'0' if key == 'retries' else '1'} or more")
    merged["status_codes"] = [int(code) for code in merged["status_codes"]]
    return merged


def substitute(spec: dict, values: dict) -> dict:
    """Replace {version}, {release_id}... in the url, body, JSON value and command of ``spec``."""
    out = dict(spec)
    for key in ("url", "body_contains", "json_value"):
        out[key] = fill(out[key], values)
    if out["command"]:
        out["command"] = [fill(arg, values) for arg in out["command"]]
    return out


def json_lookup(document, path: str):
    """The value at a dotted path (``a.b.0.c``) or _MISSING."""
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def probe_http(spec: dict) -> tuple[bool, int | None, str]:
    """One HTTP request: (passed, status or None, reason).

    A redirect is an answer to judge, not to follow; no proxy and no ``~/.netrc`` are used: the probe
    asks the service itself, with only the credentials in its URL (sent as basic authentication).
    """
    try:
        # only http(s) URLs get here: normalize() refuses the rest
        response = request(
            spec["url"],
            timeout=spec["timeout"],
            validate_certs=spec["validate_certs"],
            ca_path=spec["ca_path"],
            follow_redirects=False,
            use_proxy=False,
            use_netrc=False,
            agent="conveyor.cicd-health",
            body_limit=BODY_LIMIT,
        )
    except Unreachable as exc:
        return False, None, f"no answer: {exc.reason}"
    status, body = response.status, response.body
    if status not in spec["status_codes"]:
        return False, status, f"status {status}, expected {', '.join(map(str, spec['status_codes']))}"
    text = body.decode("utf-8", errors="replace")
    if spec["body_contains"] and spec["body_contains"] not in text:
        return False, status, f"body does not contain {spec['body_contains']!r}"
    if spec["json_field"]:
        try:
            value = json_lookup(json.loads(text), spec["json_field"])
        except ValueError:
            return False, status, "body is not JSON"
        if value is _MISSING:
            return False, status, f"JSON field {spec['json_field']!r} is missing"
        if spec["json_value"] is not None and str(value) != str(spec["json_value"]):
            return False, status, f"JSON field {spec['json_field']!r} is {value!r}, expected {spec['json_value']!r}"
    return True, status, "ok"


def probe_command(spec: dict, cwd: str | None) -> tuple[bool, str]:
    result = run(spec["command"], cwd=cwd, timeout=spec["command_timeout"])
    if result.rc == 0:
        return True, "ok"
    last = result.tail[-1] if result.tail else ""
    return False, f"command exited with {result.rc}" + (f": {last}" if last else "")


def check(spec: dict | None, cwd: str | None = None, sleep=time.sleep, gone=None) -> dict:
    """Probe until ``successes`` consecutive passes or ``retries + 1`` failures.

    ``gone``, when given, is asked after each failing attempt whether what is checked has stopped for good (the
    process a rollout started has exited): its reason ends the check at once instead of waiting out the retries.
    Returns ok, attempts, status (the last HTTP status), reason, url and duration.
    """
    if spec is None:
        return {"ok": True, "attempts": 0, "status": None, "reason": "no health check configured", "url": None}
    start = time.monotonic()
    attempts = failures = passed = 0
    status, reason = None, ""
    while True:
        attempts += 1
        ok = True
        if spec["url"]:
            ok, status, reason = probe_http(spec)
        if ok and spec["command"]:
            ok, reason = probe_command(spec, cwd)
        if ok:
            passed += 1
            if passed >= spec["successes"]:
                break
        else:
            passed = 0
            failures += 1
            if failures > spec["retries"]:
                break
            stopped = gone() if gone is not None else None
            if stopped:
                reason = f"{reason}; {stopped}" if reason else stopped
                break
        sleep(float(spec["delay"]))
    return {
        "ok": ok,
        "attempts": attempts,
        "status": status,
        "reason": reason,
        "url": spec["url"],
        "duration": round(time.monotonic() - start, 3),
    }


def health_check(params: dict, fail: bool = True, sleep=time.sleep) -> dict:
    """The health_check module: one check on its own, its result without the URL's credentials."""
    spec = normalize(params)
    if spec is None:
        raise ConfigurationError("nothing to check: give url, command or both")
    outcome = check(spec, sleep=sleep)
    url = split_userinfo(spec["url"])[0] if spec["url"] else None
    result = {
        "changed": False,
        "healthy": outcome["ok"],
        "attempts": outcome["attempts"],
        "status": outcome["status"],
        "reason": outcome["reason"],
        "url": url,
        "duration": outcome["duration"],
    }
    if not outcome["ok"] and fail:
        what = url or "the health command"
        result["failed"] = True
        result["msg"] = (
            f"{what} is not healthy after {outcome['attempts']} attempt{'s' if outcome['attempts'] != 1 else ''}: "
            f"{outcome['reason']}"
        )
    return result
