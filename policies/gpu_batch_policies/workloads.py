"""Scale to zero: nothing but GPU workloads and the GPU DaemonSets may tolerate the GPU nodes' taints."""

from __future__ import annotations

import re
from typing import Any, Iterator

from pulumi_policy import ResourceValidationArgs

from .building import resource_policy, schema
from .gke import CAPACITY_KEY, GKE_QUEUED_LABEL, GKE_SPOT_LABEL, GPU_RESOURCE, HELM_TYPES
from .values import dotted, get, items, mapping, parse_quantity, walk

DEFAULT_GPU_TAINT_KEYS = [GPU_RESOURCE, CAPACITY_KEY, GKE_SPOT_LABEL, GKE_QUEUED_LABEL]
DEFAULT_GPU_DAEMONSET_PATTERNS = ["nvidia", "dcgm", "device-plugin"]

# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}


def tolerated_gpu_keys(tolerations: Any, gpu_keys: list[str]) -> list[str]:
    """The GPU taint keys a toleration list tolerates ("*" for an operator-Exists toleration without key)."""
    found = []
    for toleration in tolerations if isinstance(tolerations, list) else []:
        if not isinstance(toleration, dict) or toleration.get("effect") == "PreferNoSchedule":
            continue
        key = toleration.get("key")
        if not key:
            if toleration.get("operator") == "Exists":
                found.append("*")
        elif key in gpu_keys:
            found.append(key)
    return sorted(set(found))


def requests_gpus(pod_spec: Any) -> bool:
    for container in items(pod_spec, "containers") + items(pod_spec, "initContainers"):
        for section in ("limits", "requests"):
            amount = parse_quantity(get(container, "resources", section, GPU_RESOURCE))
            if amount and amount > 0:
                return True
    return False


def _matches(patterns: list[re.Pattern], *values: Any) -> bool:
    texts = []
    for value in values:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            texts += [v for v in value.values() if isinstance(v, str)]
    return any(p.search(t) for p in patterns for t in texts)


def _describe(keys: list[str]) -> str:
    return "every taint (operator Exists without a key)" if "*" in keys else ", ".join(keys)


def _check_gpu_tolerations(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    gpu_keys = list(config.get("gpuTaintKeys") or DEFAULT_GPU_TAINT_KEYS)
    patterns = [re.compile(p, re.IGNORECASE) for p in config.get("gpuDaemonSetPatterns") or []]
    kind = args.resource_type
    if kind in POD_SPEC_PATHS:
        pod_spec = get(props, *POD_SPEC_PATHS[kind])
        keys = tolerated_gpu_keys(get(pod_spec, "tolerations"), gpu_keys)
        if not keys or requests_gpus(pod_spec):
            return  # pods that request GPUs are GPU workloads
        meta = props.get("metadata") if isinstance(props.get("metadata"), dict) else {}
        if kind == "kubernetes:apps/v1:DaemonSet" and _matches(
                patterns, meta.get("name"), args.name, meta.get("labels"),
                get(props, "spec", "template", "metadata", "labels")):
            return  # a GPU DaemonSet (device plugin, DCGM exporter, driver installer)
        short = kind.rsplit(":", 1)[-1]
        yield (f"{short} {meta.get('name', args.name)!r} requests no GPU but tolerates {_describe(keys)}: its pods "
               "can be placed on GPU nodes, and a pod there keeps that GPU node (and its bill) alive")
    elif kind in HELM_TYPES:
        if _matches(patterns, props.get("chart"), props.get("name"), args.name):
            return  # a GPU chart (NVIDIA device plugin, DCGM exporter, GPU operator)
        for path, value in walk(mapping(props, "values")):
            if path and path[-1] == "tolerations" and not any(_matches(patterns, str(p)) for p in path):
                keys = tolerated_gpu_keys(value, gpu_keys)
                if keys:
                    yield (f"chart {args.name!r}: values.{dotted(path)} tolerates {_describe(keys)}: the chart's "
                           "pods can be placed on GPU nodes and keep them from scaling to zero")


GPU_TAINTS_ONLY_FOR_GPU_WORKLOADS = resource_policy(
    "gpu-taints-only-for-gpu-workloads",
    "Only GPU workloads (pods requesting nvidia.com/gpu) and the GPU DaemonSets (device plugin, DCGM "
    "exporter, driver installer) may tolerate the GPU nodes' taints (nvidia.com/gpu, batch-platform/capacity, "
    "cloud.google.com/gke-spot, cloud.google.com/gke-queued), and nothing may tolerate every taint (operator "
    "Exists without a key): a system or monitoring Deployment that lands on a GPU node keeps that node alive, "
    "so the pool never scales to zero. Checked: Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, "
    "CronJobs, Pods and every `tolerations` list in Helm chart values. Fix: remove the toleration (pin "
    "platform services to the system pool with a nodeSelector), or name/label a GPU DaemonSet so that "
    "gpuDaemonSetPatterns matches it.",
    tuple(POD_SPEC_PATHS) + HELM_TYPES,
    _check_gpu_tolerations,
    config_schema=schema(
        gpuTaintKeys={
            "type": "array", "items": {"type": "string"}, "default": DEFAULT_GPU_TAINT_KEYS,
            "description": "Taint keys of GPU nodes.",
        },
        gpuDaemonSetPatterns={
            "type": "array", "items": {"type": "string"}, "default": DEFAULT_GPU_DAEMONSET_PATTERNS,
            "description": "Regular expressions (case-insensitive) on a DaemonSet's name and labels, a chart's "
                           "name, or a values key, that mark GPU infrastructure allowed to tolerate the GPU taints.",
        },
    ),
)

POLICIES = [GPU_TAINTS_ONLY_FOR_GPU_WORKLOADS]
