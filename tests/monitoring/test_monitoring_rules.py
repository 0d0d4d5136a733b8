"""Alert rules against the real Prometheus rule engine: Debian's `promtool` (package `prometheus`,
installed by .ci/run) checks the generated PrometheusRule and runs unit tests with synthetic series,
proving each alert fires when it should and stays quiet when it should not
(https://prometheus.io/docs/prometheus/latest/configuration/unit_testing_rules/).

The series carry the names Kueue, kube-state-metrics and dcgm-exporter really use (see
platform/monitoring/exporter-metrics.yaml and its sources).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components.model import parse_platform
from components.monitoring import promql, rules
from conftest import load_dev_platform_raw

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.needs_tools("promtool", hint=".ci/run installs Debian's prometheus")
LEADER = {"replica_role": "leader"}
TEAM = promql.ksm_label("batch-platform/team")


def _platform():
    """The dev stack with short pending thresholds: promtool evaluates every rule at every step, and
    dev's 12-hour DWS window would cost seconds; the rule text is generated the same way."""
    raw = load_dev_platform_raw()
    raw["monitoring"]["pendingMinutes"] = {"high": 10, "low": 15, "compact": 20, "dws": 25}
    return parse_platform(raw)


def _series(name: str, labels: dict, values: str) -> dict:
    body = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{body}}}", "values": values}


def _expected(alert: rules.Alert, labels: dict) -> dict:
    def fill(text: str) -> str:
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)

    return {"exp_labels": {**labels, "severity": alert.severity, "platform": "gpu-batch"},
            "exp_annotations": {"summary": fill(alert.summary), "runbook": fill(alert.runbook)}}


def _team_ns(*teams: str) -> list[dict]:
    return [_series("kube_namespace_labels", {"namespace": t, TEAM: t}, "1x200") for t in teams]


def _cases(platform) -> list[dict]:
    by_name = {a.name: a for a in rules.alerts(platform)}
    tests = []
    for cls in promql.classes(platform):
        n = getattr(platform.monitoring.pending_minutes, cls)
        steps = 2 * n + 10
        alert = by_name[f"KueuePending{cls.capitalize()}TooLong"]
        tests.append({"interval": "1m", "input_series": [
            # team-a: work waits, nothing admitted -> fires; team-b: work waits but admissions flow -> quiet.
            _series("kueue_local_queue_pending_workloads", {"namespace": "team-a", "name": cls, "status": "active", **LEADER}, f"2x{steps}"),
            _series("kueue_local_queue_admitted_workloads_total", {"namespace": "team-a", "name": cls, "priority_class": cls, **LEADER}, f"5x{steps}"),
            _series("kueue_local_queue_pending_workloads", {"namespace": "team-b", "name": cls, "status": "active", **LEADER}, f"2x{steps}"),
            _series("kueue_local_queue_admitted_workloads_total", {"namespace": "team-b", "name": cls, "priority_class": cls, **LEADER}, f"0+1x{steps}"),
            # A follower's stale gauge must not page anyone.
            _series("kueue_local_queue_pending_workloads", {"namespace": "team-c", "name": cls, "status": "active", "replica_role": "follower"}, f"2x{steps}"),
        ], "alert_rule_test": [
            {"eval_time": f"{n // 2}m", "alertname": alert.name, "exp_alerts": []},
            {"eval_time": f"{2 * n + 5}m", "alertname": alert.name,
             "exp_alerts": [_expected(alert, {"namespace": "team-a", "name": cls})]},
        ]})
    gpu = {"resource": "nvidia.com/gpu", **LEADER}
    quota = by_name["ClusterQueueAtQuotaWithPendingWork"]
    tests.append({"interval": "1m", "input_series": [
        _series("kueue_cluster_queue_resource_usage", {"cohort": "team-a-b", "cluster_queue": "team-a-high", "flavor": "l4-reserved", **gpu}, "2x60"),
        _series("kueue_cluster_queue_resource_usage", {"cohort": "team-a-b", "cluster_queue": "team-a-high", "flavor": "l4-ondemand", **gpu}, "4x60"),
        _series("kueue_cluster_queue_nominal_quota", {"cohort": "team-a-b", "cluster_queue": "team-a-high", "flavor": "l4-reserved", **gpu}, "2x60"),
        _series("kueue_cluster_queue_nominal_quota", {"cohort": "team-a-b", "cluster_queue": "team-a-high", "flavor": "l4-ondemand", **gpu}, "4x60"),
        _series("kueue_pending_workloads", {"cluster_queue": "team-a-high", "status": "active", **LEADER}, "1x60"),
        # team-b-high has room left; team-c-high is full but nothing waits.
        _series("kueue_cluster_queue_resource_usage", {"cohort": "team-a-b", "cluster_queue": "team-b-high", "flavor": "l4-ondemand", **gpu}, "3x60"),
        _series("kueue_cluster_queue_nominal_quota", {"cohort": "team-a-b", "cluster_queue": "team-b-high", "flavor": "l4-ondemand", **gpu}, "4x60"),
        _series("kueue_pending_workloads", {"cluster_queue": "team-b-high", "status": "active", **LEADER}, "1x60"),
        _series("kueue_cluster_queue_resource_usage", {"cohort": "team-c-d", "cluster_queue": "team-c-high", "flavor": "l4-ondemand", **gpu}, "4x60"),
        _series("kueue_cluster_queue_nominal_quota", {"cohort": "team-c-d", "cluster_queue": "team-c-high", "flavor": "l4-ondemand", **gpu}, "4x60"),
        _series("kueue_pending_workloads", {"cluster_queue": "team-c-high", "status": "active", **LEADER}, "0x60"),
    ], "alert_rule_test": [
        {"eval_time": "20m", "alertname": quota.name, "exp_alerts": []},
        {"eval_time": "45m", "alertname": quota.name, "exp_alerts": [_expected(quota, {"cluster_queue": "team-a-high"})]},
    ]})
    evict, preempt = by_name["KueueEvictionStorm"], by_name["KueuePreemptionStorm"]
    tests.append({"interval": "1m", "input_series": [
        _series("kueue_evicted_workloads_total", {"cluster_queue": "team-a-low", "reason": "Preempted", "underlying_cause": "", "priority_class": "low", **LEADER}, "0+1x90"),
        _series("kueue_evicted_workloads_total", {"cluster_queue": "team-b-low", "reason": "Preempted", "underlying_cause": "", "priority_class": "low", **LEADER}, "0+0.05x90"),
        _series("kueue_preempted_workloads_total", {"preempting_cluster_queue": "team-a-high", "reason": "InCohortReclamation", **LEADER}, "0+1x90"),
        _series("kueue_preempted_workloads_total", {"preempting_cluster_queue": "team-b-high", "reason": "InCohortReclamation", **LEADER}, "0+0.05x90"),
    ], "alert_rule_test": [
        {"eval_time": "5m", "alertname": evict.name, "exp_alerts": []},
        {"eval_time": "80m", "alertname": evict.name, "exp_alerts": [_expected(evict, {"cluster_queue": "team-a-low", "reason": "Preempted"})]},
        {"eval_time": "80m", "alertname": preempt.name,
         "exp_alerts": [_expected(preempt, {"preempting_cluster_queue": "team-a-high", "reason": "InCohortReclamation"})]},
    ]})
    idle = by_name["AllocatedGpusIdle"]
    gpu_labels = {"gpu": "0", "UUID": "GPU-1", "modelName": "NVIDIA L4"}
    tests.append({"interval": "1m", "input_series": _team_ns("team-a", "team-b") + [
        _series("DCGM_FI_DEV_GPU_UTIL", {**gpu_labels, "namespace": "team-a", "pod": "idle-0", "node": "n1"}, "1x70"),
        _series("DCGM_FI_DEV_GPU_UTIL", {**gpu_labels, "namespace": "team-b", "pod": "busy-0", "node": "n2"}, "80x70"),
        # Started 20 minutes ago: not idle for the whole window yet.
        _series("DCGM_FI_DEV_GPU_UTIL", {**gpu_labels, "namespace": "team-a", "pod": "new-0", "node": "n3"}, "_x50 0x20"),
        # A free GPU (exporter's own namespace) is not "allocated but idle".
        _series("DCGM_FI_DEV_GPU_UTIL", {**gpu_labels, "namespace": "gke-managed-system", "pod": "dcgm-x", "node": "n4"}, "0x70"),
    ], "alert_rule_test": [
        {"eval_time": "20m", "alertname": idle.name, "exp_alerts": []},
        {"eval_time": "65m", "alertname": idle.name,
         "exp_alerts": [_expected(idle, {"namespace": "team-a", "pod": "idle-0", "node": "n1"})]},
    ]})
    stuck = by_name["GpuPodsUnschedulable"]
    m = platform.monitoring.scale_up_minutes
    tests.append({"interval": "1m", "input_series": _team_ns("team-a") + [
        _series("kube_pod_status_unschedulable", {"namespace": "team-a", "pod": "train-0", "uid": "u1"}, f"1x{3 * m}"),
        _series("kube_pod_container_resource_requests", {"namespace": "team-a", "pod": "train-0", "uid": "u1", "container": "main", "node": "", "resource": "nvidia_com_gpu", "unit": "integer"}, f"2x{3 * m}"),
        # A CPU-only pod and a non-team pod are not a GPU pool that cannot scale.
        _series("kube_pod_status_unschedulable", {"namespace": "team-a", "pod": "cpu-0", "uid": "u2"}, f"1x{3 * m}"),
        _series("kube_pod_container_resource_requests", {"namespace": "team-a", "pod": "cpu-0", "uid": "u2", "container": "main", "node": "", "resource": "cpu", "unit": "core"}, f"1x{3 * m}"),
        _series("kube_pod_status_unschedulable", {"namespace": "default", "pod": "x-0", "uid": "u3"}, f"1x{3 * m}"),
        _series("kube_pod_container_resource_requests", {"namespace": "default", "pod": "x-0", "uid": "u3", "container": "main", "node": "", "resource": "nvidia_com_gpu", "unit": "integer"}, f"1x{3 * m}"),
    ], "alert_rule_test": [
        {"eval_time": f"{m // 2}m", "alertname": stuck.name, "exp_alerts": []},
        {"eval_time": f"{m + 5}m", "alertname": stuck.name, "exp_alerts": [_expected(stuck, {"namespace": "team-a", "pod": "train-0"})]},
    ]})
    # Workflow step pods (Argo v4.0.6 pods_gauge, no namespace) pending while a pipeline team's queue admits
    # nothing: team-d fires; team-c (no pipelines) is not watched; no pending workflow pod -> quiet.
    wait = by_name["WorkflowStepsPendingOnQuota"]
    n = platform.monitoring.pending_minutes.low
    steps = 2 * n + 10
    low = {"name": "low", "status": "active", **LEADER}
    tests.append({"interval": "1m", "input_series": [
        _series("kueue_local_queue_pending_workloads", {"namespace": "team-d", **low}, f"3x{steps}"),
        _series("kueue_local_queue_admitted_workloads_total", {"namespace": "team-d", "name": "low", "priority_class": "low", **LEADER}, f"1x{steps}"),
        _series("kueue_local_queue_pending_workloads", {"namespace": "team-c", **low}, f"3x{steps}"),
        _series("argo_workflows_pods_gauge", {"phase": "Pending", "pod": "argo-workflow-controller-0"}, f"0x{n} 3x{steps}"),
        _series("argo_workflows_pods_gauge", {"phase": "Running", "pod": "argo-workflow-controller-0"}, f"1x{steps}"),
    ], "alert_rule_test": [
        {"eval_time": f"{n + n // 2}m", "alertname": wait.name, "exp_alerts": []},
        {"eval_time": f"{2 * n + 5}m", "alertname": wait.name, "exp_alerts": [_expected(wait, {"namespace": "team-d"})]},
    ]})
    down = by_name["KueueControllerDown"]
    up = {"namespace": "kueue-system", "job": "kueue-controller-manager-metrics-service", "service": "kueue-controller-manager-metrics-service"}
    tests.append({"interval": "1m", "input_series": [_series("up", {**up, "pod": "kueue-0", "instance": "10.0.0.1:8443"}, "1x5 0x20"),
                                                     _series("up", {**up, "pod": "kueue-1", "instance": "10.0.0.2:8443"}, "1x5 0x20")],
                  "alert_rule_test": [
                      {"eval_time": "4m", "alertname": down.name, "exp_alerts": []},
                      {"eval_time": "15m", "alertname": down.name, "exp_alerts": [_expected(down, {})]},
                  ]})
    # One replica up is enough: no page.
    tests.append({"interval": "1m", "input_series": [_series("up", {**up, "pod": "kueue-0", "instance": "10.0.0.1:8443"}, "0x20"),
                                                     _series("up", {**up, "pod": "kueue-1", "instance": "10.0.0.2:8443"}, "1x20")],
                  "alert_rule_test": [{"eval_time": "15m", "alertname": down.name, "exp_alerts": []}]})
    return tests


@pytest.fixture(scope="module")
def rule_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(yaml.safe_dump(rules.prometheus_rule(_platform())["spec"], sort_keys=False))
    return path


def _promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


def test_generated_rules_pass_promtool_check(rule_file):
    """`promtool check rules` parses every expression and template of the PrometheusRule's groups."""
    result = _promtool("check", "rules", str(rule_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules.alerts(_platform()))} rules found" in result.stdout


def test_every_alert_fires_and_stays_quiet_as_specified(rule_file):
    """promtool's rule unit tests: each alert has a case where it fires with exactly the expected labels
    and annotations, and cases where it must not fire (before `for`, other teams, followers, free GPUs)."""
    platform = _platform()
    cases = _cases(platform)
    tested = {t["alertname"] for case in cases for t in case["alert_rule_test"]}
    assert tested == {a.name for a in rules.alerts(platform)}, "every alert needs a promtool unit test"
    spec = rule_file.parent / "tests.yaml"
    spec.write_text(yaml.safe_dump({"rule_files": [rule_file.name], "evaluation_interval": "1m", "tests": cases}, sort_keys=False))
    result = _promtool("test", "rules", str(spec))
    assert result.returncode == 0, result.stdout + result.stderr


def test_thresholds_come_from_the_model():
    dev = parse_platform(load_dev_platform_raw())
    by_name = {a.name: a for a in rules.alerts(dev)}
    assert by_name["KueuePendingDwsTooLong"].for_ == f"{dev.monitoring.pending_minutes.dws}m"
    assert f"[{dev.monitoring.pending_minutes.high}m]" in by_name["KueuePendingHighTooLong"].expr
    assert f"< {dev.monitoring.idle_gpu_percent}" in by_name["AllocatedGpusIdle"].expr
    assert by_name["GpuPodsUnschedulable"].for_ == f"{dev.monitoring.scale_up_minutes}m"


def test_a_rule_that_never_fires_is_caught(rule_file, tmp_path):
    """The harness can fail: a rule set whose threshold can never be crossed fails its unit test."""
    platform = _platform()
    broken = rules.prometheus_rule(platform)["spec"]
    for rule in broken["groups"][0]["rules"]:
        if rule["alert"] == "KueueEvictionStorm":
            rule["expr"] = rule["expr"].replace(f"> {platform.monitoring.evictions_per_hour}", "> 1e9")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(broken, sort_keys=False))
    cases = [c for c in _cases(platform) if any(t["alertname"] == "KueueEvictionStorm" for t in c["alert_rule_test"])]
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(
        {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": cases}, sort_keys=False))
    result = _promtool("test", "rules", str(tmp_path / "tests.yaml"))
    assert result.returncode != 0 and "KueueEvictionStorm" in result.stdout + result.stderr
