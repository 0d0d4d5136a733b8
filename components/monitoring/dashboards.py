"""Grafana dashboards as code (grafana-foundation-sdk), generated from the model.

Three dashboards, each answering one question:
- platform overview: is the batch platform admitting work, and what capacity does it run on?
- teams: for one team, what is queued, admitted, borrowed, waiting, evicted, per class and flavor?
- GPUs: are the GPUs that are paid for and allocated actually busy, per pool and per team?

Panels select the platform's real names (pools by their node labels, queues, team namespaces), so
a new pool or team appears without editing JSON. The datasource is a template variable. The
chart's Grafana sidecar loads them from labelled ConfigMaps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from components.kubernetes.render import MONITORING_NAMESPACE
from components.model import Platform, flavors

from . import multikueue
from . import promql as q
from .values import DASHBOARD_LABEL

DS = DataSourceRef(type_val="prometheus", uid="${datasource}")
K = q.NOT_FOLLOWER


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


def _targets(panel, queries: list[Query]):
    for i, query in enumerate(queries):
        panel = panel.with_target(
            prom.Dataquery().expr(query.expr).legend_format(query.legend).ref_id(chr(ord("A") + i)).datasource(DS))
    return panel


def _series(title: str, queries: list[Query], unit: str = "short", width: int = 12):
    return _targets(timeseries.Panel().title(title).datasource(DS).unit(unit).span(width).height(8), queries)


def _stat(title: str, query: Query, unit: str = "short"):
    return _targets(stat.Panel().title(title).datasource(DS).unit(unit).span(6).height(4), [query])


def _datasource_variable():
    return db.DatasourceVariable("datasource").label("Data source").type("prometheus")


def _dashboard(uid: str, title: str, description: str):
    return (db.Dashboard(title).uid(uid).description(description).tags(["gpu-batch-platform"])
            .time("now-6h", "now").refresh("1m").with_variable(_datasource_variable()))


def overview(platform: Platform):
    pools = [Query(f"count({q.flavor_nodes(f)}) or vector(0)", f.name) for f in flavors(platform).values()]
    pools.append(Query(f"count({q.system_nodes()}) or vector(0)", "system"))
    capacity = q.capacity_label()
    board = (
        _dashboard("gpu-platform-overview", "GPU platform: overview",
                   "Is the platform admitting work, how long does admission take, what runs on which capacity?")
        .with_panel(_stat("Admissions / s", Query(f"sum(rate(kueue_admitted_workloads_total{{{K}}}[5m]))", "admitted/s"), "reqps"))
        .with_panel(_stat("Admission wait p99", Query(
            f"histogram_quantile(0.99, sum by (le) (rate(kueue_admission_wait_time_seconds_bucket{{{K}}}[30m])))", "p99"), "s"))
        .with_panel(_stat("Pending workloads", Query(f"sum(kueue_pending_workloads{{{K}}})", "pending")))
        .with_panel(_stat("Admitted workloads", Query(f"sum(kueue_admitted_active_workloads{{{K}}})", "admitted")))
        .with_row(db.Row("Cluster queues"))
        .with_panel(_series("Pending per ClusterQueue", [Query(
            f"sum by (cluster_queue) (kueue_pending_workloads{{{K}}})", "{{cluster_queue}}")]))
        .with_panel(_series("Admitted per ClusterQueue", [Query(
            f"sum by (cluster_queue) (kueue_admitted_active_workloads{{{K}}})", "{{cluster_queue}}")]))
        .with_row(db.Row("Nodes"))
        .with_panel(_series("Nodes per pool", pools))
        .with_panel(_series("Nodes per capacity type", [Query(
            f'count by ({capacity}) (kube_node_labels{{{capacity}!=""}})', f"{{{{{capacity}}}}}")]))
    )
    pipeline_teams = sorted(t.name for t in platform.teams if t.pipelines)
    if pipeline_teams:
        board = board.with_row(db.Row("Pipelines (Argo Workflows)"))
    for title, queries in _pipeline_panels(pipeline_teams):
        board = board.with_panel(_series(title, queries, width=8))
    fleet_panels = multikueue.panel_queries(platform)  # a fleet manager's workers
    if fleet_panels:
        board = board.with_row(db.Row("Workers (MultiKueue)"))
    for title, expr, legend in fleet_panels:
        board = board.with_panel(_series(title, [Query(expr, legend)], width=8))
    return board


def _pipeline_panels(teams: list[str]) -> list[tuple[str, list[Query]]]:
    """Argo v4.0.6 docs/metrics.md gauges (`gauge`: workflows per phase; `pods_gauge`: workflow pods per phase;
    no namespace label; max over controller replicas) and, per team, its step pods waiting in the pipeline
    queue (each step pod is its own Kueue Workload)."""
    if not teams:
        return []
    from components.workloads.pipeline import PIPELINE_QUEUE

    waiting = f'{K}, name="{PIPELINE_QUEUE}", namespace=~"{"|".join(teams)}"'
    return [("Workflows per phase", [Query("max by (phase) (argo_workflows_gauge)", "{{phase}}")]),
            ("Workflow pods per phase", [Query("max by (phase) (argo_workflows_pods_gauge)", "{{phase}}")]),
            (f"Pipeline teams: {PIPELINE_QUEUE} queue pending vs admitted", [
                Query(f"sum by (namespace) (kueue_local_queue_pending_workloads{{{waiting}}})", "{{namespace}} pending"),
                Query(f"sum by (namespace) (kueue_local_queue_admitted_active_workloads{{{waiting}}})",
                      "{{namespace}} admitted")])]


def teams(platform: Platform):
    team_cqs = f"$team-({'|'.join(q.TEAM_CLASSES)})"
    lq = f'{K}, namespace="$team"'
    cq = f'{K}, {q.GPU}, cluster_queue=~"{team_cqs}"'
    return (
        _dashboard("gpu-platform-teams", "GPU platform: teams",
                   "Per team and queue class: pending, admitted, GPU quota use vs nominal, borrowing, wait, evictions.")
        # The team namespaces as they exist (by their team label), so a new team needs no dashboard change.
        .with_variable(db.QueryVariable("team").label("Team").datasource(DS)
                       .query(f"label_values({q.TEAM_NAMESPACES}, namespace)"))
        .with_panel(_series("Pending workloads per class", [Query(
            f"sum by (name) (kueue_local_queue_pending_workloads{{{lq}}})", "{{name}}")]))
        .with_panel(_series("Admitted workloads per class", [Query(
            f"sum by (name) (kueue_local_queue_admitted_active_workloads{{{lq}}})", "{{name}}")]))
        .with_panel(_series("GPU quota: in use vs nominal, per class and flavor", [
            Query(f"sum by (cluster_queue, flavor) (kueue_cluster_queue_resource_usage{{{cq}}})",
                  "used {{cluster_queue}} / {{flavor}}"),
            Query(f"sum by (cluster_queue, flavor) (kueue_cluster_queue_nominal_quota{{{cq}}})",
                  "nominal {{cluster_queue}} / {{flavor}}"),
        ], width=24))
        .with_panel(_series("GPUs borrowed from the cohort", [Query(
            f"sum by (cluster_queue, flavor) (clamp_min(kueue_cluster_queue_resource_usage{{{cq}}}"
            f" - kueue_cluster_queue_nominal_quota{{{cq}}}, 0))", "{{cluster_queue}} / {{flavor}}")]))
        .with_panel(_series("Admission wait p90 per class", [Query(
            f"histogram_quantile(0.9, sum by (le, name) "
            f"(rate(kueue_local_queue_admission_wait_time_seconds_bucket{{{lq}}}[30m])))", "{{name}}")], unit="s"))
        .with_panel(_series("Evictions per hour", [Query(
            f"sum by (name, reason) (increase(kueue_local_queue_evicted_workloads_total{{{lq}}}[1h]))",
            "{{name}} {{reason}}")]))
        .with_panel(_series("Preemptions by the team's queues per hour", [Query(
            f'sum by (preempting_cluster_queue, reason) (increase(kueue_preempted_workloads_total'
            f'{{{K}, preempting_cluster_queue=~"{team_cqs}"}}[1h]))', "{{preempting_cluster_queue}} {{reason}}")]))
    )


def gpus(platform: Platform):
    m = platform.monitoring
    fb = "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)"
    all_flavors = list(flavors(platform).values())
    per_pool_util = [Query(f"avg({q.GPU_UTIL} * on (node) group_left () {q.flavor_nodes(f)})", f.name)
                     for f in all_flavors]
    per_pool_mem = [Query(f"avg(({fb}) * on (node) group_left () {q.flavor_nodes(f)})", f.name) for f in all_flavors]
    idle = (f"count by (namespace) ({q.in_team_namespaces(f'max_over_time({q.GPU_UTIL}[{m.idle_gpu_minutes}m])')}"
            f" < {m.idle_gpu_percent})")
    return (
        _dashboard("gpu-platform-gpus", "GPU platform: GPUs",
                   "Are allocated GPUs busy? Utilisation and memory per pool and per team; GPUs held but idle.")
        .with_panel(_series("GPU utilisation per pool", per_pool_util, unit="percent"))
        .with_panel(_series("GPU memory used per pool", per_pool_mem, unit="percentunit"))
        .with_panel(_series("GPU utilisation per team", [Query(
            f"avg by (namespace) ({q.in_team_namespaces(q.GPU_UTIL)})", "{{namespace}}")], unit="percent"))
        .with_panel(_series("GPU memory used per team", [Query(
            f"avg by (namespace) ({q.in_team_namespaces(fb)})", "{{namespace}}")], unit="percentunit"))
        .with_panel(_series(f"Allocated GPUs idle (< {m.idle_gpu_percent}% for {m.idle_gpu_minutes}m)",
                            [Query(idle, "{{namespace}}")], width=24))
    )


def dashboards(platform: Platform) -> dict[str, dict]:
    """uid -> dashboard JSON (plain dicts), as Grafana stores it."""
    out = {}
    for build in (overview, teams, gpus):
        model = build(platform).build()
        out[model.uid] = json.loads(json.dumps(model, cls=JSONEncoder))
    return out


def config_maps(platform: Platform) -> list[dict]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"dashboard-{uid}", "namespace": MONITORING_NAMESPACE, "labels": dict(DASHBOARD_LABEL)},
            "data": {f"{uid}.json": json.dumps(board, indent=1, sort_keys=True)},
        }
        for uid, board in dashboards(platform).items()
    ]


def panel_queries(board: dict) -> list[tuple[str, str]]:
    """(panel title, expr) of every query of a dashboard JSON."""
    return [(p.get("title", ""), t["expr"]) for p in board.get("panels", []) for t in p.get("targets", []) if "expr" in t]
