"""Every PromQL expression the platform emits (dashboards and alerts) against real parts.

1. It uses only metric and label names the exporters really expose: platform/monitoring/exporter-metrics.yaml,
   extracted from Kueue v0.19.2 site/content/en/docs/reference/metrics.md, kube-state-metrics v2.20.0
   docs/metrics/*, NVIDIA dcgm-exporter 4.5.3-4.8.2 etc/default-counters.csv and its metric template.
2. Every dashboard query runs against a real Prometheus (Debian's `prometheus`, on 127.0.0.1, started
   once, stopped at the end) loaded with synthetic series carrying the platform's real label values
   (ClusterQueue names, team namespaces, flavors' node labels), and returns data: the test that
   catches a panel that would stay empty, like the reference's quota panel without
   enableClusterQueueResources.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from components.kubernetes import render as k8s_render
from components.model import flavors, parse_platform
from components.monitoring import dashboards, promql, rules
from components.monitoring.values import allowlisted_node_labels
from components.capture import REPO
from conftest import load_dev_platform_raw

CATALOG = yaml.safe_load((REPO / "platform/monitoring/exporter-metrics.yaml").read_text())
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset",
            "bool", "sum", "avg", "count", "max", "min", "le", "inf"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def _platform():
    return parse_platform(load_dev_platform_raw())


def _all_exprs(platform) -> list[tuple[str, str]]:
    out = [(f"alert {a.name}", a.expr) for a in rules.alerts(platform)]
    for uid, board in dashboards.dashboards(platform).items():
        out += [(f"{uid}: {title}", expr) for title, expr in dashboards.panel_queries(board)]
        out += [(f"{uid}: variable {v['name']}", v["query"]) for v in board["templating"]["list"] if v.get("type") == "query"]
    return out


def _metrics_catalog() -> dict[str, list[str]]:
    known: dict[str, list[str]] = {}
    for exporter in CATALOG["exporters"].values():
        for name, meta in exporter["metrics"].items():
            names = [name + s for s in HISTOGRAM_SUFFIXES] if meta["type"] == "histogram" else [name]
            for n in names:
                known[n] = meta["labels"] + (["le"] if n.endswith("_bucket") else [])
    return known


def names_in(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, label names) used by a PromQL expression."""
    expr = re.sub(r'"[^"]*"', '""', expr.replace("label_values(", "("))
    labels = set()
    for group in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", expr):
        labels |= {x.strip() for x in group.split(",") if x.strip()}
    expr_no_groups = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    for body in re.findall(r"\{([^}]*)\}", expr_no_groups):
        labels |= set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", body))
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr_no_groups)
    bare = re.sub(r"\boffset\s+\d+[smhd]", " ", bare)
    idents = set(re.findall(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_:]*)\b(?!\s*\()", bare))
    metrics = {i for i in idents if i not in KEYWORDS and not re.fullmatch(r"\d+[smhd]?", i)}
    return metrics, labels


def test_every_expression_uses_only_names_the_exporters_expose():
    """A misspelt metric or label returns nothing forever; each one is checked against the upstream lists."""
    platform = _platform()
    known = _metrics_catalog()
    target_labels = set(CATALOG["targetLabels"]["labels"])
    allowlisted = set(allowlisted_node_labels(platform)) | {promql.ksm_label(k8s_render.TEAM_LABEL)}
    problems = []
    for where, expr in _all_exprs(platform):
        metrics, labels = names_in(expr)
        if where.endswith("variable team"):
            labels, metrics = labels | {"namespace"}, metrics - {"namespace"}
        for metric in metrics - set(known):
            problems.append(f"{where}: unknown metric {metric}")
        own = set().union(*(known.get(m, []) for m in metrics)) | target_labels
        for label in labels:
            ok = label in own or (label.startswith("label_") and "label_*" in own and label in allowlisted)
            if not ok:
                problems.append(f"{where}: label {label} is not exposed by {sorted(metrics)}")
    assert problems == []


def test_the_name_check_can_fail():
    metrics, labels = names_in('sum by (cluster_quue) (kueue_pending_workload{replica_role!="follower"})')
    assert metrics == {"kueue_pending_workload"} and "cluster_quue" in labels
    assert "kueue_pending_workload" not in _metrics_catalog()


# ------------------------------------------------------------------ a real Prometheus with synthetic data

STEP, HOURS = 60, 2


def _openmetrics(platform, end: int) -> str:
    """Synthetic series for the dev platform, one sample a minute for two hours, with its real names."""
    leader = {"replica_role": "leader"}
    fams: dict[str, list[tuple[dict, callable]]] = {}

    def add(name, labels, value):
        fams.setdefault(name, []).append((labels, value))

    team_cqs = [cq for t in platform.teams for cq in k8s_render.team_cluster_queues(platform, t)]
    for cq in team_cqs + k8s_render.dws_objects(platform)[2:]:
        name = cq["metadata"]["name"]
        add("kueue_pending_workloads", {"cluster_queue": name, "status": "active", **leader}, lambda i: 3)
        add("kueue_pending_workloads", {"cluster_queue": name, "status": "active", "replica_role": "follower"}, lambda i: 99)
        add("kueue_admitted_active_workloads", {"cluster_queue": name, **leader}, lambda i: 2)
        add("kueue_admitted_workloads_total", {"cluster_queue": name, "priority_class": "high", **leader}, lambda i: i)
        add("kueue_preempted_workloads_total", {"preempting_cluster_queue": name, "reason": "InCohortReclamation", **leader}, lambda i: i // 10)
        for le in ("1", "10", "60", "600", "+Inf"):
            add("kueue_admission_wait_time_seconds_bucket", {"cluster_queue": name, "priority_class": "high", "le": le, **leader},
                lambda i, le=le: i * (1 if le == "1" else 5))
        for f in cq["spec"]["resourceGroups"][0]["flavors"]:
            gpus = int(next(r["nominalQuota"] for r in f["resources"] if r["name"] == "nvidia.com/gpu"))
            labels = {"cohort": cq["spec"].get("cohortName", ""), "cluster_queue": name, "flavor": f["name"],
                      "resource": "nvidia.com/gpu", **leader}
            add("kueue_cluster_queue_nominal_quota", labels, lambda i, g=gpus: g)
            # Ramps up to one GPU over nominal: borrowing shows, and the picture is not flat.
            add("kueue_cluster_queue_resource_usage", labels, lambda i, g=gpus: min(g + 1, 1 + i // 12))
    for team in platform.teams:
        add("kube_namespace_labels", {"namespace": team.name, promql.ksm_label(k8s_render.TEAM_LABEL): team.name}, lambda i: 1)
        for lq in k8s_render.team_local_queues(team):
            lq_labels = {"name": lq["metadata"]["name"], "namespace": team.name, **leader}
            add("kueue_local_queue_pending_workloads", {**lq_labels, "status": "active"}, lambda i: 1)
            add("kueue_local_queue_admitted_active_workloads", lq_labels, lambda i: 1)
            add("kueue_local_queue_evicted_workloads_total",
                {**lq_labels, "reason": "Preempted", "underlying_cause": "", "priority_class": "low"}, lambda i: i // 5)
            for le in ("1", "60", "+Inf"):
                add("kueue_local_queue_admission_wait_time_seconds_bucket", {**lq_labels, "priority_class": "low", "le": le},
                    lambda i: i)
    nodes = [(f"node-{f.name}-0", f) for f in flavors(platform).values()]
    for node, f in nodes:
        add("kube_node_labels", {"node": node, **{promql.ksm_label(k): v for k, v in f.node_labels.items()}}, lambda i: 1)
        team = platform.teams[len(node) % len(platform.teams)].name
        gpu = {"gpu": "0", "UUID": f"GPU-{node}", "modelName": f.accelerator, "node": node, "namespace": team, "pod": f"job-{node}"}
        add("DCGM_FI_DEV_GPU_UTIL", gpu, lambda i: 2 if i % 2 else 3)
        add("DCGM_FI_DEV_FB_USED", gpu, lambda i: 1000)
        add("DCGM_FI_DEV_FB_FREE", gpu, lambda i: 3000)
    add("kube_node_labels", {"node": "system-0", promql.ksm_label("batch-platform/pool"): "system"}, lambda i: 1)
    # Argo v4.0.6 controller gauges (docs/metrics.md: `gauge`, `pods_gauge`, by phase only).
    for phase, count in (("Pending", 1), ("Running", 2), ("Succeeded", 5)):
        add("argo_workflows_gauge", {"phase": phase}, lambda i, c=count: c)
        add("argo_workflows_pods_gauge", {"phase": phase}, lambda i, c=count: c + i % 3)
    lines = []
    start = end - HOURS * 3600
    for name, series in fams.items():
        lines.append(f"# TYPE {name} unknown")
        for labels, value in series:
            body = ",".join(f'{k}="{v}"' for k, v in labels.items())
            for i in range(HOURS * 3600 // STEP + 1):
                lines.append(f"{name}{{{body}}} {value(i)} {start + i * STEP}")
    return "\n".join(lines) + "\n# EOF\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NEEDS_PROMETHEUS = pytest.mark.needs_tools("promtool", "prometheus", hint=".ci/run installs Debian's prometheus")


@pytest.fixture(scope="session")
def local_prometheus(tmp_path_factory):
    """Debian's Prometheus on 127.0.0.1 (free port) over a TSDB built by promtool from synthetic
    OpenMetrics; killed after the session. Yields (base URL, evaluation time)."""
    root = tmp_path_factory.mktemp("prometheus")
    end = (int(time.time()) // 3600) * 3600 - 3600  # a whole hour in the past: promtool backfills only the past
    (root / "data.om").write_text(_openmetrics(_platform(), end))
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(root / "data.om"), str(root / "tsdb")],
                   check=True, capture_output=True, timeout=120)
    (root / "prometheus.yml").write_text("global: {scrape_interval: 1h}\n")
    port = _free_port()
    proc = subprocess.Popen(["prometheus", f"--config.file={root / 'prometheus.yml'}", f"--storage.tsdb.path={root / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=3650d"],
                            stdout=subprocess.DEVNULL, stderr=open(root / "log", "w"))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if urllib.request.urlopen(f"{url}/-/ready", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail((root / "log").read_text()[-2000:])
        yield url, end
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _query(url: str, expr: str, at: int) -> list:
    qs = urllib.parse.urlencode({"query": expr, "time": at})
    body = json.load(urllib.request.urlopen(f"{url}/api/v1/query?{qs}", timeout=10))
    assert body["status"] == "success", body
    return body["data"]["result"]


@NEEDS_PROMETHEUS
def test_every_dashboard_panel_returns_data_on_a_real_prometheus(local_prometheus):
    url, at = local_prometheus
    platform = _platform()
    empty = []
    for uid, board in dashboards.dashboards(platform).items():
        for title, expr in dashboards.panel_queries(board):
            concrete = expr.replace("$team", platform.teams[0].name)
            if not _query(url, concrete, at):
                empty.append(f"{uid}: {title}: {concrete}")
    assert empty == []


@NEEDS_PROMETHEUS
def test_queries_ignore_a_kueue_follower_and_select_real_pools(local_prometheus):
    """The follower's stale 99 is not counted; each pool's panel finds exactly its one node."""
    url, at = local_prometheus
    platform = _platform()
    pending = _query(url, 'sum(kueue_pending_workloads{replica_role!="follower"})', at)
    queues = len([cq for t in platform.teams for cq in k8s_render.team_cluster_queues(platform, t)]) + 1
    assert float(pending[0]["value"][1]) == 3 * queues
    for f in flavors(platform).values():
        assert _query(url, f"count({promql.flavor_nodes(f)})", at)[0]["value"][1] == "1", f.name
    variable = _query(url, f"count by (namespace) ({promql.TEAM_NAMESPACES})", at)
    assert {r["metric"]["namespace"] for r in variable} == {t.name for t in platform.teams}


@NEEDS_PROMETHEUS
def test_the_model_servers_hpa_metric_query_runs_on_a_real_prometheus(local_prometheus):
    """The metrics adapter's rule (components/monitoring/adapter.py) as prometheus-adapter v0.12.0 renders it
    for an HPA's pods request (docs/config.md "Querying": LabelMatchers `pod=~"a|b",namespace="ns"`, GroupBy
    `pod`): its seriesQuery finds the DCGM series and the query gives each pod the mean of its GPUs."""
    from components.monitoring import adapter

    url, at = local_prometheus
    qs = urllib.parse.urlencode({"match[]": adapter.RULE["seriesQuery"], "start": at - 600, "end": at})
    series = json.load(urllib.request.urlopen(f"{url}/api/v1/series?{qs}", timeout=10))["data"]
    assert series and all(s["__name__"] == adapter.GPU_UTIL and s["namespace"] and s["pod"] for s in series)
    namespace = series[0]["namespace"]
    pods = sorted({s["pod"] for s in series if s["namespace"] == namespace})
    result = _query(url, adapter.metrics_query(adapter.GPU_UTIL, namespace, pods), at)
    expected = _query(url, f'avg by (pod) ({adapter.GPU_UTIL}{{namespace="{namespace}"}})', at)
    assert {r["metric"]["pod"]: r["value"][1] for r in result} == {r["metric"]["pod"]: r["value"][1] for r in expected}
    assert {r["metric"]["pod"] for r in result} == set(pods) and all(set(r["metric"]) == {"pod"} for r in result)
    # Another namespace's pods of the same name pattern are not counted.
    assert _query(url, adapter.metrics_query(adapter.GPU_UTIL, "no-such-team", pods), at) == []
