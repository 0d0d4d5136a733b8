"""The reference's Cloud Monitoring GPU dashboard (GPU count, utilisation, memory), as code.

It reads GKE's system metrics for accelerator nodes (kubernetes.io/node/accelerator/duty_cycle,
memory_used, memory_total; https://cloud.google.com/monitoring/api/metrics_kubernetes), which GKE
collects for every cluster without anything running in it, queried with PromQL (Cloud Monitoring
maps kubernetes.io/node/accelerator/duty_cycle to kubernetes_io:node_accelerator_duty_cycle).
"""

from __future__ import annotations

import json

from components.model import Platform

TITLE = "NVIDIA GPU overview (GKE)"


def _chart(title: str, promql: str, x: int, y: int, unit: str = "") -> dict:
    query = {"prometheusQuery": promql, **({"unitOverride": unit} if unit else {})}
    return {"xPos": x, "yPos": y, "width": 6, "height": 4, "widget": {
        "title": title,
        "xyChart": {"dataSets": [{"timeSeriesQuery": query, "plotType": "LINE"}]},
    }}


def dashboard(platform: Platform) -> dict:
    cluster = f'cluster_name="{platform.name_prefix}", location="{platform.region}"'
    duty = f"kubernetes_io:node_accelerator_duty_cycle{{monitored_resource=\"k8s_node\", {cluster}}}"
    used = f"kubernetes_io:node_accelerator_memory_used{{monitored_resource=\"k8s_node\", {cluster}}}"
    total = f"kubernetes_io:node_accelerator_memory_total{{monitored_resource=\"k8s_node\", {cluster}}}"
    return {
        "displayName": f"{TITLE}: {platform.name_prefix}",
        "mosaicLayout": {"columns": 12, "tiles": [
            _chart("Number of GPUs by model", f"count by (model) ({duty})", 0, 0),
            _chart("GPU utilisation by model (%)", f"avg by (model) ({duty})", 6, 0, "%"),
            _chart("GPU memory used by model (%)", f"100 * sum by (model) ({used}) / sum by (model) ({total})", 0, 4, "%"),
            _chart("GPU utilisation per node (%)", f"avg by (node_name) ({duty})", 6, 4, "%"),
        ]},
    }


def dashboard_json(platform: Platform) -> str:
    return json.dumps(dashboard(platform), sort_keys=True)
