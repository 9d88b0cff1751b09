# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pushing metrics to a Prometheus Pushgateway: the text exposition format and the group URL.

``render`` turns ``[{name, value, help?, type?, labels?}]`` into the text format (metrics of one name
together, one ``# HELP``/``# TYPE`` each, label values escaped); ``group_url`` builds
``<url>/metrics/job/<job>{/<label>/<value>}`` with the Pushgateway's ``@base64`` form for values that
are empty or contain ``/``; ``push`` sends it with PUT (replace the group) or POST (replace only the
metrics of the same names).
"""

from __future__ import annotations

import base64
import math
import re
from urllib.parse import quote

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._http import Response, Unreachable, request
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import split_userinfo
from ansible_collections.conveyor.cicd.plugins.module_utils._urls import check_url

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("gauge", "counter", "untyped")
METHODS = ("put", "post")


def _label_name(name, what: str) -> str:
    if not isinstance(name, str) or not LABEL_NAME.match(name) or name.startswith("__"):
        raise ConfigurationError(f"{what} {name!r} is not a label name: letters, digits and _, not starting with __")
    return name


def _escape(value, help_text: bool = False) -> str:
    text = str(value).replace("\\", "\\\\").replace("\n", "\\n")
    return text if help_text else text.replace('"', '\\"')


def _value(raw, name: str) -> str:
    if isinstance(raw, bool):
        return "1" if raw else "0"
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise ConfigurationError(f"metric {name}: value {raw!r} is not a number") from None
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)


def render(metrics) -> str:
    """The text exposition format of ``metrics``, in the order their names first appear."""
    if not isinstance(metrics, list) or not metrics:
        raise ConfigurationError("metrics must be a non-empty list of {name, value, help, type, labels}")
    groups: dict[str, list[dict]] = {}
    for metric in metrics:
        if not isinstance(metric, dict) or "name" not in metric or "value" not in metric:
            raise ConfigurationError(f"each metric needs a name and a value, got {metric!r}")
        name = metric["name"]
        if not isinstance(name, str) or not METRIC_NAME.match(name):
            raise ConfigurationError(
                f"{name!r} is not a metric name: letters, digits, _ and :, not starting with a digit"
            )
        groups.setdefault(name, []).append(metric)
    lines = []
    for name, group in groups.items():
        kinds = {m.get("type") or "gauge" for m in group}
        if len(kinds) > 1 or not kinds <= set(TYPES):
            raise ConfigurationError(
                f"metric {name}: type must be one of {', '.join(TYPES)}, the same for every sample"
            )
        helps = [m["help"] for m in group if m.get("help")]
        if helps:
            lines.append(f"# HELP {name} {_escape(helps[0], help_text=True)}")
        lines.append(f"# TYPE {name} {kinds.pop()}")
        seen = set()
        for metric in group:
            labels = metric.get("labels") or {}
            if not isinstance(labels, dict):
                raise ConfigurationError(f"metric {name}: labels must be a mapping of label names to values")
            pairs = tuple(sorted((_label_name(k, f"metric {name}: label"), str(v)) for k, v in labels.items()))
            if pairs in seen:
                raise ConfigurationError(f"metric {name}: two samples have the same labels {dict(pairs)}")
            seen.add(pairs)
            selector = "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}" if pairs else ""
            lines.append(f"{name}{selector} {_value(metric['value'], name)}")
    return "\n".join(lines) + "\n"


def _segment(label: str, value) -> str:
    text = str(value)
    if text == "" or "/" in text:
        encoded = base64.urlsafe_b64encode(text.encode()).decode("ascii") or "="
        return f"{label}@base64/{encoded}"
    return f"{label}/{quote(text, safe='')}"


def group_url(url: str, job: str, grouping: dict | None, url_option: str = "url") -> str:
    """``<url>/metrics/job/<job>/<label>/<value>...``: the group the metrics replace."""
    check_url(url, url_option)
    if not isinstance(job, str) or not job:
        raise ConfigurationError("job must be a non-empty name such as conveyor_pipeline")
    path = "/metrics/" + _segment("job", job)
    for label, value in (grouping or {}).items():
        if label == "job":
            raise ConfigurationError("grouping must not repeat job: give it as job")
        path += "/" + _segment(_label_name(label, "grouping label"), value)
    return url.rstrip("/") + path


def push(
    url: str,
    job: str,
    metrics,
    grouping: dict | None = None,
    method: str = "put",
    timeout: float = 10,
    validate_certs: bool = True,
    username: str | None = None,
    password: str | None = None,
    check_mode: bool = False,
    url_option: str = "url",
) -> dict:
    """Push ``metrics`` to the group of ``job`` and ``grouping``. Never a change: it records an observation."""
    if method not in METHODS:
        raise ConfigurationError(f"method must be put or post, got {method!r}")
    target = group_url(url, job, grouping, url_option)
    body = render(metrics)
    clean = split_userinfo(target)[0]
    result = {"changed": False, "pushed": False, "url": clean, "body": body, "status": None}
    if check_mode:
        return result
    try:
        response = request(
            target,
            method=method.upper(),
            data=body.encode("utf-8"),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
            timeout=timeout,
            validate_certs=validate_certs,
            username=username,
            password=password,
            agent="conveyor.cicd-metrics-push",
        )
    except Unreachable as exc:
        raise ConveyorError(
            f"cannot reach the Pushgateway at {clean}: {exc.reason} (check url and that it runs)"
        ) from None
    if not response.ok:
        raise _explain(response)
    result.update(pushed=True, status=response.status)
    return result


def _explain(response: Response) -> ConveyorError:
    """One line for an answer that is not 2xx."""
    code, target = response.status, response.url
    if code in (401, 403):
        return ConfigurationError(
            f"the Pushgateway at {target} refused access (HTTP {code}): check url_username/url_password", status=code
        )
    text = response.first_line()
    detail = f": {text}" if text else ""
    return ConveyorError(f"the Pushgateway at {target} answered HTTP {code}{detail}", status=code)
