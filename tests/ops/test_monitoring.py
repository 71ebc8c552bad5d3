"""Prometheus scrape config, Grafana provisioning and the newsflow dashboard, against the code.

The key check: every metric the dashboard queries is exported by `PipelineMetrics` (counters
gain `_total`, histograms `_bucket`/`_sum`/`_count`), so a renamed metric breaks a test, not a
panel nobody looks at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.kafka.topics import DLQ, DUPLICATES, ENRICHED
from services.metrics import PipelineMetrics
from tests.ops.compose import ROOT, effective

DASHBOARD = ROOT / "ops" / "grafana" / "dashboards" / "newsflow.json"
PROVISIONING = ROOT / "ops" / "grafana" / "provisioning"
PROMETHEUS = ROOT / "ops" / "prometheus" / "prometheus.yml"
# Series Prometheus makes itself, not the application.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}

SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "gauge": ("",),
    "info": ("_info",),
    "stateset": ("",),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "unknown": ("",),
}


def exported_series(metrics: PipelineMetrics) -> set[str]:
    """Every series name the registry can expose, whether or not a label set was used yet."""
    names = set()
    for family in metrics.registry.collect():
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in node.get("panels", []):
        yield panel
        yield from panels(panel)


def expressions() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query, including template variables."""
    found = [
        (panel.get("title", ""), target["expr"])
        for panel in panels(dashboard())
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    for var in dashboard().get("templating", {}).get("list", []):
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if isinstance(query, str) and query:
            found.append((f"${var.get('name')}", query))
    return found


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers followed by a selector, range or `)`,
    minus functions, aggregations, keywords and label names."""
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "{}", without_strings)
    groupings = r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
    without_groupings = re.sub(groupings, "", without_labels)
    names = set()
    for m in re.finditer(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()", without_groupings):
        word = m.group(1)
        if word in {"by", "without", "on", "ignoring", "bool", "offset", "and", "or", "unless", "le", "inf"}:
            continue
        names.add(word)
    return names


# --- the dashboard queries what the code exports -------------------------------------------------


def test_every_dashboard_metric_is_exported() -> None:
    exported = exported_series(PipelineMetrics())
    queried = set()
    for title, expr in expressions():
        names = metric_names(expr)
        assert names, f"{title!r}: no metric in {expr!r}"
        queried |= names
        unknown = names - exported - PROMETHEUS_SERIES
        assert not unknown, f"panel {title!r} queries {sorted(unknown)}, not exported by PipelineMetrics"
    # the dashboard covers what the issue asks for
    for needed in (
        "newsflow_records_in_total", "newsflow_records_out_total", "newsflow_stage_seconds_bucket",
        "newsflow_end_to_end_seconds_bucket", "newsflow_consumer_lag", "newsflow_dead_letters_total",
        "newsflow_dedup_verdicts_total", "newsflow_fetch_outcomes_total",
    ):
        assert needed in queried, f"no panel shows {needed}"


def test_metric_name_extraction() -> None:
    expr = ('histogram_quantile(0.95, sum by (stage, le) (rate(newsflow_stage_seconds_bucket{stage="clean"}'
            '[$__rate_interval]))) / sum(up{job="newsflow-worker"}) or vector(0)')
    assert metric_names(expr) == {"newsflow_stage_seconds_bucket", "up"}


def test_exported_names_match_the_exposition() -> None:
    """The suffix rules above agree with what /metrics really serves once every metric is used."""
    metrics = PipelineMetrics()
    metrics.records_in.labels(stage="clean").inc()
    metrics.stage_seconds.labels(stage="clean").observe(0.01)
    metrics.stage_cpu_seconds.labels(stage="clean").inc(0.01)
    metrics.count_out("dedup", [
        FakeOutcome(ENRICHED, {"dedup": {"status": "unique"}, "ingested_at": "2026-01-01T00:00:00.000Z"}),
        FakeOutcome(DUPLICATES, {"dedup": {"status": "near"}}),
        FakeOutcome(DLQ, {"stage": "sink", "reason": "schema_violation"}),
    ])
    metrics.consumer_lag.labels("news.raw", "0").set(3)
    metrics.fetch_outcomes.labels(source="example", outcome="ok").inc()
    served = {
        sample.name
        for family in text_string_to_metric_families(generate_latest(metrics.registry).decode())
        for sample in family.samples
    }
    assert served <= exported_series(metrics)
    dashboard_metrics = set().union(*(metric_names(e) for _, e in expressions())) - PROMETHEUS_SERIES
    assert dashboard_metrics <= served


def test_dashboard_structure() -> None:
    board = dashboard()
    assert board["uid"] == "newsflow"
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    datasource_uid = provisioned_datasource()["uid"]
    occupied: set[tuple[int, int]] = set()
    for panel in panels(board):
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                 for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & occupied, f"panel {panel['title']!r} overlaps another"
        occupied |= cells
        if panel["type"] == "row":
            continue
        assert panel.get("targets"), panel["title"]
        for ref in [panel.get("datasource"), *(t.get("datasource") for t in panel["targets"])]:
            assert ref == {"type": "prometheus", "uid": datasource_uid}, panel["title"]
    exprs = " ".join(e for _, e in expressions())
    percentile = r"histogram_quantile\(0\.99?, sum by \([^)]*\ble\b[^)]*\) \(rate\(newsflow_stage_seconds_b"
    assert re.search(percentile, exprs)
    assert "by (stage, reason)" in exprs  # DLQ by reason
    assert 'outcome!~"ok|not_modified"' in exprs  # fetch errors


# --- provisioning and scraping match the compose file ----------------------------------------------


def provisioned_datasource() -> dict[str, Any]:
    doc = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text(encoding="utf-8"))
    (datasource,) = doc["datasources"]
    return datasource


def container_path(service: dict[str, Any], host_path: str) -> str:
    for volume in service["volumes"]:
        source, target = str(volume).split(":")[:2]
        if (ROOT / source).resolve() == (ROOT / host_path).resolve():
            return target
    raise AssertionError(f"{host_path} is not mounted")


def test_grafana_provisioning_matches_compose() -> None:
    services = effective()["services"]
    grafana = services["grafana"]
    assert container_path(grafana, "ops/grafana/provisioning") == "/etc/grafana/provisioning"
    dashboards_dir = container_path(grafana, "ops/grafana/dashboards")
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "newsflow.yml").read_text(encoding="utf-8"))
    (entry,) = provider["providers"]
    assert entry["options"]["path"] == dashboards_dir
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{dashboards_dir}/{DASHBOARD.name}"
    datasource = provisioned_datasource()
    m = re.fullmatch(r"http://([\w.-]+):(\d+)", datasource["url"])
    assert m and m.group(1) in services
    assert any(str(p).endswith(f":{m.group(2)}") for p in services[m.group(1)]["ports"])
    assert datasource["type"] == "prometheus"


def test_prometheus_scrapes_the_newsflow_services() -> None:
    services = effective()["services"]
    prometheus = services["prometheus"]
    config_path = container_path(prometheus, "ops/prometheus/prometheus.yml")
    assert f"--config.file={config_path}" in prometheus["command"]
    config = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert "newsflow-worker" in jobs  # the dashboard's "Workers up" counts this job
    assert any('job="newsflow-worker"' in expr for _, expr in expressions())
    for job in jobs.values():
        for sd in job.get("dns_sd_configs", []):
            for name in sd["names"]:
                assert name in services, f"{job['job_name']}: no compose service {name}"
                assert str(sd["port"]) == services[name]["environment"]["NEWSFLOW_WEB_PORT"]
    worker_sd = jobs["newsflow-worker"]["dns_sd_configs"][0]
    assert worker_sd["names"] == ["worker"] and worker_sd["type"] == "A"  # one target per replica


# --- the new metrics ------------------------------------------------------------------------------


@dataclass
class FakeOutcome:
    topic: str
    record: dict[str, Any]


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


@dataclass
class FakeConsumer:
    """The parts of a Faust consumer `update_lag` reads."""

    highwaters: dict[TP, int | None]
    _committed_offset: dict[TP, int | None] = field(default_factory=dict)

    def assignment(self) -> set[TP]:
        return set(self.highwaters)

    def highwater(self, tp: TP) -> int | None:
        return self.highwaters[tp]


def gauge_values(metrics: PipelineMetrics) -> dict[tuple[str, str], float]:
    return {
        (s.labels["topic"], s.labels["partition"]): s.value
        for s in next(f for f in metrics.registry.collect() if f.name == "newsflow_consumer_lag").samples
    }


def test_consumer_lag_follows_the_assignment() -> None:
    metrics = PipelineMetrics()
    raw0, raw1, tagged = TP("news.raw", 0), TP("news.raw", 1), TP("news.tagged", 0)
    consumer = FakeConsumer({raw0: 100, raw1: 50, tagged: None}, {raw0: 90, raw1: 50, tagged: 3})
    metrics.update_lag(consumer)
    assert gauge_values(metrics) == {("news.raw", "0"): 10, ("news.raw", "1"): 0}
    # after a rebalance this worker keeps only raw1; raw0 must disappear, not freeze
    metrics.update_lag(FakeConsumer({raw1: 60}, {raw1: 55}))
    assert gauge_values(metrics) == {("news.raw", "1"): 5}
    # no commit yet: not reported (rather than reporting the whole partition as lag)
    metrics.update_lag(FakeConsumer({raw1: 60}, {}))
    assert gauge_values(metrics) == {}


def test_end_to_end_latency() -> None:
    metrics = PipelineMetrics()
    metrics.observe_end_to_end({"ingested_at": "2026-01-01T00:00:00.000Z"}, now=1767225600.0 + 2.0)
    metrics.observe_end_to_end({"ingested_at": "not a date"})
    metrics.observe_end_to_end({})
    samples = {s.name: s.value for f in metrics.registry.collect() if f.name == "newsflow_end_to_end_seconds"
               for s in f.samples if not s.labels.get("le")}
    assert samples["newsflow_end_to_end_seconds_count"] == 1
    assert samples["newsflow_end_to_end_seconds_sum"] == pytest.approx(2.0)


def test_count_out_observes_end_to_end_for_final_topics_only() -> None:
    metrics = PipelineMetrics()
    stamp = {"ingested_at": "2026-01-01T00:00:00.000Z"}
    metrics.count_out("dedup", [FakeOutcome(ENRICHED, {"dedup": {"status": "unique"}, **stamp}),
                                FakeOutcome(DLQ, {"stage": "dedup", "reason": "dedup_error", **stamp})])
    count = metrics.registry.get_sample_value("newsflow_end_to_end_seconds_count")
    assert count == 1
