"""Request metrics in the Prometheus text exposition format 0.0.4, thread-safe."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The Prometheus client libraries' default latency buckets, in seconds.
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)

# Paths the app serves; anything else is counted as "other" so that scanners cannot grow the series.
KNOWN_PATHS = frozenset({"/healthz", "/version", "/metrics", "/items"})


def path_label(path: str) -> str:
    return path if path in KNOWN_PATHS else "other"


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_value(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if value == float("inf"):
        return "+Inf"
    return repr(float(value))


class Metrics:
    def __init__(
        self,
        version: str,
        buckets: Iterable[float] = DEFAULT_BUCKETS,
        prefix: str = "sample_app",
    ) -> None:
        self.version = version
        self.prefix = prefix
        self.buckets = tuple(sorted(buckets))
        self.start_time = time.time()
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str], int] = {}
        self._errors = 0
        self._bucket_counts = [0] * len(self.buckets)  # per bucket, not yet cumulative
        self._duration_sum = 0.0
        self._duration_count = 0

    def observe(self, path: str, status: int, duration: float) -> None:
        key = (path_label(path), str(status))
        with self._lock:
            self._requests[key] = self._requests.get(key, 0) + 1
            if status >= 500:
                self._errors += 1
            for index, bound in enumerate(self.buckets):
                if duration <= bound:
                    self._bucket_counts[index] += 1
                    break
            self._duration_sum += duration
            self._duration_count += 1

    def render(self) -> str:
        with self._lock:
            requests = sorted(self._requests.items())
            errors = self._errors
            bucket_counts = list(self._bucket_counts)
            duration_sum = self._duration_sum
            duration_count = self._duration_count
        p = self.prefix
        lines = [
            f"# HELP {p}_requests_total HTTP requests answered, by path and status code.",
            f"# TYPE {p}_requests_total counter",
        ]
        for (path, status), count in requests:
            labels = f'path="{escape_label(path)}",status="{escape_label(status)}"'
            lines.append(f"{p}_requests_total{{{labels}}} {count}")
        lines += [
            f"# HELP {p}_errors_total HTTP requests answered with a 5xx status code.",
            f"# TYPE {p}_errors_total counter",
            f"{p}_errors_total {errors}",
            f"# HELP {p}_request_duration_seconds Time spent answering HTTP requests.",
            f"# TYPE {p}_request_duration_seconds histogram",
        ]
        cumulative = 0
        for bound, count in zip(self.buckets, bucket_counts):
            cumulative += count
            lines.append(f'{p}_request_duration_seconds_bucket{{le="{format_value(bound)}"}} {cumulative}')
        lines += [
            f'{p}_request_duration_seconds_bucket{{le="+Inf"}} {duration_count}',
            f"{p}_request_duration_seconds_sum {format_value(duration_sum)}",
            f"{p}_request_duration_seconds_count {duration_count}",
            f"# HELP {p}_info Version of the running application.",
            f"# TYPE {p}_info gauge",
            f'{p}_info{{version="{escape_label(self.version)}"}} 1',
            f"# HELP {p}_start_time_seconds Start time of the process since the Unix epoch.",
            f"# TYPE {p}_start_time_seconds gauge",
            f"{p}_start_time_seconds {format_value(self.start_time)}",
        ]
        return "\n".join(lines) + "\n"
