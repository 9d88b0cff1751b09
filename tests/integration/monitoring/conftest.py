"""Servers for the monitoring tests: sample apps (a healthy one and a failing canary) scraped every second."""

from __future__ import annotations

import pytest

from tests.support.prometheus import generate_traffic, prometheus_config, start_prometheus, start_sample_app, wait_until

GATE_ERROR_RATIO = (
    'sum by (host) (rate(sample_app_errors_total{{host="{host}"}}[10s]))'
    ' / sum by (host) (rate(sample_app_requests_total{{host="{host}",path!="/metrics"}}[10s]))'
)
GATE_P95 = 'histogram_quantile(0.95, sum by (host, le) (rate(sample_app_request_duration_seconds_bucket{{host="{host}"}}[10s])))'


@pytest.fixture(scope="module")
def canary_stack(tmp_path_factory):
    """Prometheus scraping `stable` (healthy) and `canary` (--error-rate 0.5), with bounded traffic on both."""
    workdir = tmp_path_factory.mktemp("canary")
    stable = start_sample_app(workdir, name="stable")
    canary = start_sample_app(workdir, name="canary", error_rate=0.5)
    prometheus = start_prometheus(
        workdir / "prometheus", prometheus_config({"stable": stable.port, "canary": canary.port})
    )
    try:

        def ratios_known():
            generate_traffic(stable.port, 20)
            generate_traffic(canary.port, 20)
            known = {}
            for host in ("stable", "canary"):
                result = prometheus.query(GATE_ERROR_RATIO.format(host=host))
                if result and result[0]["value"][1] != "NaN":
                    known[host] = float(result[0]["value"][1])
            return known if len(known) == 2 else None

        ratios = wait_until(ratios_known, 45, "error ratios of both hosts", pause=0.5)
        assert ratios["stable"] == 0.0
        assert ratios["canary"] == pytest.approx(0.5, abs=0.1)
        yield {"prometheus": prometheus, "stable": stable, "canary": canary}
    finally:
        for process in (prometheus, canary, stable):
            process.stop()
