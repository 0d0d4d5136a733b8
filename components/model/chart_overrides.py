"""Chart overrides: `charts.<chart>.values` in the stack config, deep-merged over the values the platform
derives from the model (pure).

An override may set any value the pinned chart has, except those the platform owns (the model decides
them; the refusal names the setting to use instead). "Has" means: the key is in the chart's default
values at its pinned tag (vendored verbatim under platform/charts/values/, with the subcharts' own
defaults under their key), or sits below a value whose default is an empty map or null (free-form
maps), or below a label, annotation or node-selector map, or below one of FREE_FORM (config the chart
passes on whole), or is one of DOCUMENTED (commented out in values.yaml, read by a template at that tag).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Iterator, Mapping

from .errors import REMOVE, Issue
from .images import catalog
from .schema import SCHEMA_VERSIONS
from .yaml_input import read_platform_data

VALUES_DIR = Path(__file__).resolve().parents[2] / "platform" / "charts" / "values"
Path_ = tuple[str, ...]


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    # values key -> vendored defaults file of a subchart (merged under the parent's own values for that key)
    subcharts: Mapping[str, str] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return f"{self.name}-{self.version}.yaml"


# charts.<key> -> the pinned chart; kube-prometheus-stack's subcharts at the versions its Chart.yaml pins.
CHARTS = {
    "kueue": Chart("kueue", SCHEMA_VERSIONS["kueue"]),
    "jobset": Chart("jobset", SCHEMA_VERSIONS["jobset"]),
    "monitoring": Chart("kube-prometheus-stack", "88.5.3", {
        "grafana": "grafana-12.11.1.yaml",
        "kube-state-metrics": "kube-state-metrics-8.4.0.yaml",
        "prometheus-node-exporter": "prometheus-node-exporter-4.56.1.yaml",
    }),
    "argoWorkflows": Chart("argo-workflows", SCHEMA_VERSIONS["argo_workflows"]),
}

_SYSTEM = ("cluster.systemPool: the platform runs its controllers on the system pool, without GPU tolerations, "
           "so GPU pools scale to zero")
_PRIORITY = "nothing: every platform controller runs at the platform-services PriorityClass, above batch work"
_HOOKS = ("nothing: it needs a Secret that only a Helm hook creates, and helm.v4.Chart never applies hooks "
          "(platform/charts/hook-audit.yaml)")
_STEP_PODS = "nothing: step pods and Argo's own pods run under Pod Security restricted in their namespaces"
_ARGO_RBAC = ("nothing: a team with pipelines: true gets Argo rights in its own namespace only, and its executor "
              "Role bound to its own KSA")
_GKE = "nothing: GKE runs this control-plane part itself; its scrape targets and alerts would never come up"


def _placed(*prefix: str) -> dict[Path_, str]:
    return {(*prefix, "nodeSelector"): _SYSTEM, (*prefix, "tolerations"): _SYSTEM, (*prefix, "priorityClassName"): _PRIORITY}


# Values the model decides: path (a key and everything below it) -> what to set instead.
OWNED: dict[str, dict[Path_, str]] = {
    "kueue": {
        ("controllerManager", "replicas"): "controllers.replicas",
        ("controllerManager", "topologySpreadConstraints"): "controllers.spreadAcrossZones",
        ("controllerManager", "podDisruptionBudget"): "controllers.replicas (a budget keeps one pod up above 1 replica)",
        ("controllerManager", "nodeSelector"): _SYSTEM,
        ("controllerManager", "tolerations"): _SYSTEM,
        ("controllerManager", "manager", "priorityClassName"): _PRIORITY,
        ("managerConfig",): "kueue.podsReadyTimeoutMinutes and the teams' queues: the platform writes Kueue's whole "
                            "Configuration (queue-name enforcement, managed namespaces, metrics, integrations)",
        ("webhookService",): "nothing: the webhook Service targets the port the manager and the firewall use",
    },
    "jobset": {
        ("controller", "replicas"): "controllers.replicas",
        ("controller", "affinity"): "controllers.spreadAcrossZones",
        ("controller", "podDisruptionBudget"): "controllers.replicas (a budget keeps one pod up above 1 replica)",
        ("controller", "nodeSelector"): _SYSTEM,
        ("controller", "tolerations"): _SYSTEM,
    },
    "monitoring": {
        ("fullnameOverride",): "nothing: dashboards, alerts and the firewall name the kps-* objects",
        **_placed("prometheusOperator"),
        ("prometheusOperator", "tls"): _HOOKS,
        ("prometheusOperator", "admissionWebhooks"): _HOOKS,
        ("prometheus", "podDisruptionBudget"): "monitoring.prometheusReplicas",
        **_placed("prometheus", "prometheusSpec"),
        ("prometheus", "prometheusSpec", "replicas"): "monitoring.prometheusReplicas",
        ("prometheus", "prometheusSpec", "podAntiAffinity"): "controllers.spreadAcrossZones",
        ("prometheus", "prometheusSpec", "topologySpreadConstraints"): "controllers.spreadAcrossZones",
        ("prometheus", "prometheusSpec", "retention"): "monitoring.retentionDays",
        ("prometheus", "prometheusSpec", "retentionSize"): "monitoring.volumeGb",
        ("prometheus", "prometheusSpec", "storageSpec"): "monitoring.volumeGb",
        **{("prometheus", "prometheusSpec", f"{kind}SelectorNilUsesHelmValues"):
           "nothing: the platform's monitors and rules carry no release label, so every one must be selected"
           for kind in ("serviceMonitor", "podMonitor", "rule")},
        ("alertmanager", "podDisruptionBudget"): "monitoring.alertmanagerReplicas",
        ("alertmanager", "config", "route", "receiver"):
            "the alertWebhookUrl secret (pulumi config set --secret alertWebhookUrl https://...)",
        **_placed("alertmanager", "alertmanagerSpec"),
        ("alertmanager", "alertmanagerSpec", "replicas"): "monitoring.alertmanagerReplicas",
        ("alertmanager", "alertmanagerSpec", "podAntiAffinity"): "controllers.spreadAcrossZones",
        ("alertmanager", "alertmanagerSpec", "topologySpreadConstraints"): "controllers.spreadAcrossZones",
        ("alertmanager", "alertmanagerSpec", "secrets"): "the alertWebhookUrl secret (mounted for the webhook receiver)",
        **_placed("grafana"),
        ("grafana", "fullnameOverride"): "nothing: the dashboards and the docs name the grafana Service",
        ("grafana", "admin"): "nothing: the admin login is the grafana-admin Secret the platform creates",
        ("grafana", "adminUser"): "nothing: the admin login is the grafana-admin Secret the platform creates",
        ("grafana", "adminPassword"): "nothing: the admin login is the grafana-admin Secret the platform creates",
        ("grafana", "service", "type"): "nothing: Grafana stays ClusterIP; publish it with grafana.ingress",
        ("grafana", "sidecar", "dashboards"): "nothing: the sidecar loads the platform's dashboard ConfigMaps",
        **_placed("kube-state-metrics"),
        ("kube-state-metrics", "metricLabelsAllowlist"):
            "nothing: the dashboards select node pools and teams by exactly these labels",
        **_placed("prometheus-node-exporter"),
        **{(c, "enabled"): _GKE for c in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy", "coreDns")},
        **{("defaultRules", "rules", r): _GKE
           for r in ("etcd", "kubeControllerManager", "kubeSchedulerAlerting", "kubeSchedulerRecording", "kubeProxy")},
    },
    # components/kubernetes/argo.py chart_values says why each is set.
    "argoWorkflows": {
        ("crds",): "nothing: the stack applies Argo's full CRDs itself (platform/crds/argo); the chart's come from "
                   "a hook helm.v4.Chart never applies",
        ("createAggregateRoles",): _ARGO_RBAC,
        ("singleNamespace",): "nothing: the controller runs the workflows of every team with pipelines: true",
        ("workflow", "rbac"): _ARGO_RBAC,
        **{(part, key): instead for part in ("controller", "server") for key, instead in (
            ("replicas", "controllers.replicas"), ("topologySpreadConstraints", "controllers.spreadAcrossZones"),
            ("pdb", "controllers.replicas (a budget keeps one pod up above 1 replica)"),
            ("nodeSelector", _SYSTEM), ("tolerations", _SYSTEM), ("priorityClassName", _PRIORITY),
            ("podSecurityContext", _STEP_PODS), ("securityContext", _STEP_PODS),
            ("clusterWorkflowTemplates", "nothing: ClusterWorkflowTemplates are off (their CRD is not installed and "
                                         "the queue/priority admission policies do not check them)"))},
        ("controller", "rbac"): "nothing: the controller keeps the chart's least-privilege defaults (no Secrets, no "
                                "ConfigMap writes)",
        ("controller", "workflowDefaults", "spec", "securityContext"): _STEP_PODS,
        ("server", "serviceType"): "nothing: the Argo UI stays ClusterIP; reach it with kubectl port-forward "
                                   "(docs/operating.md Pipelines)",
        ("server", "ingress"): "nothing: namespace argo admits no ingress (its NetworkPolicy); reach the UI with "
                               "kubectl port-forward",
        ("server", "rbac"): "nothing: under client auth the server's own account only reads its caches",
        ("server", "authModes"): "nothing: every UI/API call runs with the caller's own Kubernetes token "
                                 "(--auth-mode=client)",
        ("executor", "image", "tag"): "versions.argoWorkflows (the executor runs that release's non-root image)",
        ("images", "tag"): "versions.argoWorkflows (the controller, server and executor run the release whose CRDs "
                           "the stack applies)",
        ("executor", "securityContext"): _STEP_PODS,
        ("mainContainer", "securityContext"): _STEP_PODS,
    },
}

# The image values of every image the platform chooses (components/model/images.py): the catalog is the one
# place an image changes (Binary Authorization's patterns and the digest pins read it), with or without a
# digest filled in yet.
_PINNED = ("nothing: the platform chooses this image in platform/images.yaml (by digest once one is filled in); "
           "change it there")
_KEY_OF_CHART = {chart.name: key for key, chart in CHARTS.items()}
for _image in catalog().values():
    _key = _KEY_OF_CHART.get(_image.chart or "")
    if _key:
        OWNED[_key].update({tuple(path.split(".")): _PINNED for path in _image.pin.values()})

# Values passed on whole to the program they configure (not chart values): any key below is accepted.
FREE_FORM: dict[str, set[Path_]] = {
    "kueue": set(),
    "jobset": set(),
    # Alertmanager's own configuration (templates/alertmanager/secret.yaml renders .Values.alertmanager.config)
    # and Grafana's ini sections (grafana chart templates/_config.tpl renders every grafana.ini section).
    "monitoring": {("alertmanager", "config"), ("grafana", "grafana.ini")},
    "argoWorkflows": set(),
}

# Lists an override adds to instead of replacing: the platform's receivers and routes (the default receiver,
# the Watchdog heartbeat kept off it) stay, the stack's own come after them.
JOINED: dict[str, frozenset[Path_]] = {
    "kueue": frozenset(), "jobset": frozenset(), "argoWorkflows": frozenset(),
    "monitoring": frozenset({("alertmanager", "config", "receivers"), ("alertmanager", "config", "route", "routes")}),
}

# Values commented out in values.yaml but read by the chart's templates at the pinned tag.
DOCUMENTED: dict[str, dict[Path_, str]] = {
    "kueue": {},
    "jobset": {},
    "monitoring": {
        ("prometheusOperator", "priorityClassName"): "kube-prometheus-stack templates/prometheus-operator/deployment.yaml",
        ("grafana", "priorityClassName"): "grafana templates/_pod.tpl",
        ("grafana", "fullnameOverride"): "grafana templates/_helpers.tpl (grafana.fullname)",
        ("kube-state-metrics", "priorityClassName"): "kube-state-metrics templates/deployment.yaml",
        ("prometheus-node-exporter", "priorityClassName"): "prometheus-node-exporter templates/daemonset.yaml",
    },
    # argo-helm argo-workflows-1.0.18 templates/controller/workflow-controller-deployment-pdb.yaml and
    # templates/server/server-deployment-pdb.yaml read .Values.<part>.pdb.minAvailable / maxUnavailable.
    "argoWorkflows": {(part, "pdb", key): f"argo-workflows templates/{tpl}" for part, tpl in (
        ("controller", "controller/workflow-controller-deployment-pdb.yaml"),
        ("server", "server/server-deployment-pdb.yaml")) for key in ("minAvailable", "maxUnavailable")},
}

# Label, annotation and node-selector maps take any key, whatever their default holds.
FREE_FORM_NAMES = ("nodeSelector", "labels", "Labels", "annotations", "Annotations")


def dotted(path: Path_) -> str:
    """('grafana', 'grafana.ini', 'auth') -> 'grafana["grafana.ini"].auth' (a key with a dot stays one key)."""
    out = ""
    for key in path:
        out += f'["{key}"]' if "." in key or not key else (f".{key}" if out else key)
    return out


@cache
def _load(file: str) -> Any:
    return read_platform_data(VALUES_DIR / file)


def merged(base: Any, overlay: Any, joined: frozenset[Path_] = frozenset(), path: Path_ = ()) -> Any:
    """Helm's coalescing of maps: the overlay wins; maps merge key by key; anything else replaces, except
    a `joined` list, which keeps the base's items and adds the overlay's after them."""
    if path in joined and isinstance(base, list) and isinstance(overlay, list):
        return base + overlay
    if not isinstance(base, dict) or not isinstance(overlay, dict):
        return overlay
    out = dict(base)
    for key, value in overlay.items():
        out[key] = merged(base[key], value, joined, (*path, key)) if key in base else value
    return out


@cache
def chart_defaults(key: str) -> dict:
    """The pinned chart's default values, each subchart's own defaults under its key (the parent's override wins)."""
    chart = CHARTS[key]
    values = _load(chart.file)
    for sub, file in chart.subcharts.items():
        values = {**values, sub: merged(_load(file), values.get(sub) or {})}
    return values


def with_overrides(key: str, platform_values: dict, overrides: Mapping[str, Any]) -> dict:
    """What the chart receives: the model's values with the stack's override merged over them."""
    return merged(platform_values, dict(overrides), JOINED[key]) if overrides else platform_values


def _owner(key: str, path: Path_) -> tuple[Path_, str] | None:
    for owned, instead in OWNED[key].items():
        if path[:len(owned)] == owned:
            return owned, instead
    return None


def _below_owned(key: str, path: Path_) -> list[Path_]:
    return [owned for owned in OWNED[key] if len(owned) > len(path) and owned[:len(path)] == path]


def _walk(key: str, where: str, path: Path_, value: Any, parent: dict | None) -> Iterator[Issue]:
    """Judge `value` at `path`; `parent`: the chart's defaults of the map that holds it (None: a free-form
    map, where any key goes but an owned one)."""
    chart = CHARTS[key]
    at = f"{where}.{dotted(path)}"
    remove = REMOVE if all("." not in k and "[" not in k for k in path) else None
    owner = _owner(key, path)
    if owner is not None:
        if isinstance(value, dict) and value:  # named at each key the stack wrote
            for sub, sub_value in value.items():
                yield from _walk(key, where, (*path, str(sub)), sub_value, {})
            return
        yield Issue(at, f"{dotted(owner[0])} is set by the platform from the model", f"use {owner[1]}", example=remove)
        return
    if parent is not None and path[-1] not in parent and path not in DOCUMENTED[key]:
        near = difflib.get_close_matches(path[-1], [str(k) for k in parent], n=1)
        where_file = chart.subcharts.get(path[0], chart.file) if len(path) > 1 else chart.file
        yield Issue(at, f"{chart.name} {chart.version} has no value {dotted(path)} (its values.yaml at that tag)",
                    f"did you mean {near[0]!r}" if near else
                    f"use a key of {dotted(path[:-1]) or 'the top level'} in platform/charts/values/{where_file}",
                    example=remove)
        return
    below = _below_owned(key, path)
    if below and not isinstance(value, dict):
        yield Issue(at, f"replacing {dotted(path)} would replace {dotted(below[0])}, set by the platform from the model",
                    f"set only the keys under it you need; for {dotted(below[0])} use {OWNED[key][below[0]]}",
                    example=remove)
        return
    default = (parent or {}).get(path[-1])
    free = (parent is None or path in FREE_FORM[key] or path[-1].endswith(FREE_FORM_NAMES)
            or not isinstance(default, dict) or not default)
    if not isinstance(value, dict) or (free and not below):
        return  # a scalar or list replaces; below an empty map, null or a FREE_FORM value any key goes
    for sub, sub_value in value.items():
        yield from _walk(key, where, (*path, str(sub)), sub_value, None if free else default)


def _attribute(key: str) -> str:
    """charts.<key> as the model's attribute: argoWorkflows -> argo_workflows."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def override_issues(platform: Any) -> Iterator[Issue]:
    """Every key of every chart override that the platform owns or that the pinned chart does not have."""
    for key in CHARTS:
        overrides = getattr(platform.charts, _attribute(key)).values
        if not overrides:
            continue
        if key == "argoWorkflows" and not any(t.pipelines for t in platform.teams):
            yield Issue(f"charts.{key}", "the argo-workflows chart is installed only where a team has pipelines: "
                        "true, so this override would change nothing", "remove it, or set pipelines: true on a team",
                        example=REMOVE)
            continue
        for top, value in overrides.items():
            yield from _walk(key, f"charts.{key}.values", (str(top),), value, chart_defaults(key))
