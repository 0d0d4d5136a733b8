"""A fleet manager's monitoring: its workers' connection as a metric, the worker-unreachable alert (unit
tested with promtool), and the MultiKueue panels. Sources are in components/monitoring/multikueue.py:
kubernetes-sigs/kueue v0.19.2 (metrics.md, multikueue_types.go), kubernetes/kube-state-metrics v2.20.0
(customresourcestate-metrics.md, registry_factory.go toFloat64), kube-state-metrics chart 8.4.0 values.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from components.model import parse_platform
from components.monitoring import dashboards, multikueue, rules, values
from conftest import PLATFORM_KEY, REPO, load_stack_config
from test_monitoring_promql import _metrics_catalog, names_in
from test_monitoring_rules import _expected, _series

PROMTOOL = shutil.which("promtool")


def _manager():
    return parse_platform(load_stack_config("fleet-manager")[PLATFORM_KEY])


def test_only_a_manager_watches_workers():
    worker = parse_platform(load_stack_config("fleet-worker-eu")[PLATFORM_KEY])
    dev = parse_platform(load_stack_config("dev")[PLATFORM_KEY])
    for platform in (worker, dev):
        assert multikueue.alerts(platform) == [] and multikueue.panel_queries(platform) == []
        assert "customResourceState" not in values.chart_values(platform)["kube-state-metrics"]


def test_the_ksm_values_exist_in_the_pinned_chart():
    """kube-state-metrics chart 8.4.0 values.yaml: customResourceState.{enabled,config} ("Add (Cluster)Role
    permissions to list/watch the resources defined in the config to rbac.extraRules") and rbac.extraRules."""
    chart = yaml.safe_load((REPO / "platform/charts/values/kube-state-metrics-8.4.0.yaml").read_text())
    ours = values.chart_values(_manager())["kube-state-metrics"]
    assert {"enabled", "config"} <= set(chart["customResourceState"]) and "extraRules" in chart["rbac"]
    assert ours["customResourceState"]["enabled"] is True
    (resource,) = ours["customResourceState"]["config"]["spec"]["resources"]
    assert resource["groupVersionKind"] == {"group": "kueue.x-k8s.io", "kind": "MultiKueueCluster", "version": "v1beta2"}
    assert ours["rbac"]["extraRules"] == [{"apiGroups": ["kueue.x-k8s.io"], "resources": ["multikueueclusters"],
                                           "verbs": ["list", "watch"]}]


def test_manager_expressions_use_only_exposed_names():
    platform = _manager()
    known = _metrics_catalog()
    exprs = [a["expr"] for a in multikueue.alerts(platform)] + [e for _, e, _ in multikueue.panel_queries(platform)]
    for expr in exprs:
        metrics, labels = names_in(expr)
        assert metrics <= set(known), expr
        assert labels <= set().union(*(known[m] for m in metrics)), expr
    board = dashboards.dashboards(platform)["gpu-platform-overview"]
    assert {t for t, _ in dashboards.panel_queries(board)} >= {t for t, _, _ in multikueue.panel_queries(platform)}


@pytest.mark.needs_tools("promtool", hint=".ci/run installs Debian's prometheus")
def test_worker_unreachable_fires_after_five_minutes_of_inactive(tmp_path):
    """An inactive MultiKueueCluster (Active condition "False" -> 0) pages after 5 minutes; a connected one
    (1) and a brief blip stay quiet."""
    platform = _manager()
    alert = next(a for a in rules.alerts(platform) if a.name == "MultiKueueWorkerUnreachable")
    rule = {"groups": [{"name": "fleet", "rules": [alert.rule()]}]}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule, sort_keys=False))
    ksm = {"customresource_group": "kueue.x-k8s.io", "customresource_kind": "MultiKueueCluster",
           "customresource_version": "v1beta2", "type": "Active"}
    case = {"interval": "1m", "input_series": [
        _series(multikueue.ACTIVE, {**ksm, "name": "worker-eu"}, "1 1 0 0 0 0 0 0 0 0"),
        _series(multikueue.ACTIVE, {**ksm, "name": "worker-us"}, "1 0 0 1 1 1 1 1 1 1"),  # a blip, back in 2m
    ], "alert_rule_test": [
        {"eval_time": "5m", "alertname": alert.name, "exp_alerts": []},
        {"eval_time": "8m", "alertname": alert.name, "exp_alerts": [_expected(alert, {"name": "worker-eu"})]},
    ]}
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(
        {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [case]}, sort_keys=False))
    result = subprocess.run([PROMTOOL, "test", "rules", str(tmp_path / "tests.yaml")], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
