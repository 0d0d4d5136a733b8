"""HA of the platform's own controllers: replicas, spread over nodes and zones, PDBs, on the system pool.

Sources: the pinned charts' values (kueue v0.19.2 `charts/kueue/values.yaml`: controllerManager.replicas,
topologySpreadConstraints, podDisruptionBudget {enabled, minAvailable}, nodeSelector; jobset v0.12.0
`charts/jobset/values.yaml`: controller.replicas, affinity (no topology spread value),
podDisruptionBudget, nodeSelector) and their selector labels (`_helpers.tpl`); kubernetes.io "Pod
Topology Spread Constraints" (DoNotSchedule leaves a pod Pending when no domain keeps the skew;
matchLabelKeys pod-template-hash) and "Specifying a Disruption Budget" (minAvailable equal to the
replica count allows no voluntary eviction, so a node drain would block).
"""

from __future__ import annotations

import pytest

from components.kubernetes.manifest_validation import KUBERNETES_VERSION
from components.model import ConfigError, parse_platform
from components.model.ha import platform_controllers, topology_spread
from conftest import PLATFORM_KEY, load_stack_config

T_CHART = "kubernetes:helm.sh/v4:Chart"
KUEUE_POD = {"app.kubernetes.io/name": "kueue", "control-plane": "controller-manager"}
JOBSET_POD = {"app.kubernetes.io/name": "jobset", "app.kubernetes.io/component": "controller"}
SYSTEM = {"batch-platform/pool": "system"}


def _chart(capture, fragment: str) -> dict:
    return next(r for r in capture.of_type(T_CHART) if fragment in r.inputs["chart"]).inputs["values"]


def test_kueue_replicas_spread_and_pdb_follow_the_stack(stack_capture):
    manager = _chart(stack_capture, "kueue")["controllerManager"]
    assert manager["nodeSelector"] == SYSTEM
    if stack_capture.stack == "dev":
        assert manager["replicas"] == 1
        assert manager["podDisruptionBudget"]["enabled"] is False  # 1 of 1 would block every drain
        assert manager["topologySpreadConstraints"] == []
        return
    assert manager["replicas"] == 2
    assert manager["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    by_key = {c["topologyKey"]: c for c in manager["topologySpreadConstraints"]}
    assert by_key["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert by_key["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    for constraint in by_key.values():
        assert constraint["maxSkew"] == 1
        assert constraint["labelSelector"] == {"matchLabels": KUEUE_POD}
        assert constraint["matchLabelKeys"] == ["pod-template-hash"]


def test_jobset_replicas_anti_affinity_and_pdb_follow_the_stack(stack_capture):
    controller = _chart(stack_capture, "jobset")["controller"]
    assert controller["nodeSelector"] == SYSTEM
    if stack_capture.stack == "dev":
        assert controller["replicas"] == 1 and controller["affinity"] == {}
        assert controller["podDisruptionBudget"]["enabled"] is False
        return
    assert controller["replicas"] == 2
    assert controller["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    terms = controller["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert {t["topologyKey"] for t in terms} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert all(t["labelSelector"] == {"matchLabels": JOBSET_POD} for t in terms)


def _prod_with(**changes) -> dict:
    raw = load_stack_config("prod")[PLATFORM_KEY]
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = raw
        for key in parents:
            node = node[key]
        node[leaf] = value
    return raw


def test_one_system_node_cannot_hold_a_two_replica_spread(assert_issue):
    with pytest.raises(ConfigError) as info:
        parse_platform(_prod_with(**{"cluster.systemPool.minNodes": 1}))
    issue = assert_issue(info.value, "cluster.systemPool.minNodes", "cannot hold 2 kueue replicas on distinct nodes")
    assert "minNodes to at least 2" in issue.fix and "controllers.replicas to 1" in issue.fix


def test_zone_spread_needs_as_many_zones_as_replicas(assert_issue):
    raw = _prod_with(**{"controllers.replicas": 3})
    raw["zones"] = raw["zones"][:2]
    raw["gpuPools"][0]["zones"] = [raw["zones"][0]]
    with pytest.raises(ConfigError) as info:
        parse_platform(raw)
    assert_issue(info.value, "controllers.spreadAcrossZones", "3 kueue replicas cannot be in distinct zones",
                 fix="spreadAcrossZones: false")


def test_preferred_zone_spread_needs_only_distinct_nodes():
    raw = _prod_with(**{"controllers.spreadAcrossZones": False})
    raw["zones"] = raw["zones"][:1]
    raw["gpuPools"][0]["zones"] = raw["zones"]
    platform = parse_platform(raw)
    assert platform.controllers.replicas == 2


def test_single_replica_needs_no_spread():
    raw = _prod_with(**{"controllers.replicas": 1, "cluster.systemPool.minNodes": 1})
    raw["monitoring"] = {"prometheusReplicas": 1, "alertmanagerReplicas": 1}
    parse_platform(raw)


def test_monitoring_statefulsets_use_the_same_spread_and_budget(stack_capture):
    """kube-prometheus-stack 88.5.3 values: prometheus.prometheusSpec / alertmanager.alertmanagerSpec
    `topologySpreadConstraints` and `podAntiAffinity` ("" turns the chart's own rule off), and
    {prometheus,alertmanager}.podDisruptionBudget."""
    values = next(r for r in stack_capture.of_type(T_CHART) if "kube-prometheus-stack" in r.inputs["chart"]).inputs["values"]
    for key, spec_key, name in (("prometheus", "prometheusSpec", "prometheus"), ("alertmanager", "alertmanagerSpec", "alertmanager")):
        spec = values[key][spec_key]
        ha_on = stack_capture.stack == "prod"
        assert spec["replicas"] == (2 if ha_on else 1)
        assert values[key]["podDisruptionBudget"]["enabled"] is ha_on
        assert spec["podAntiAffinity"] == ""
        selectors = {c["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] for c in spec["topologySpreadConstraints"]}
        assert selectors == ({name} if ha_on else set())
        # StatefulSet pods carry no pod-template-hash: a matchLabelKeys on it would be silently ignored.
        assert all("matchLabelKeys" not in c for c in spec["topologySpreadConstraints"])


def test_match_label_keys_only_where_the_pods_carry_pod_template_hash():
    """`matchLabelKeys: [pod-template-hash]` narrows a spread/anti-affinity to the incoming pod's own
    ReplicaSet; a key the pod lacks is ignored (kubernetes.io "Pod Topology Spread Constraints" and
    "Assigning Pods to Nodes", matchLabelKeys). kubernetes.io "Deployments", Pod-template-hash label: "The
    pod-template-hash label is added by the Deployment controller to every ReplicaSet that a Deployment
    creates or adopts" (and so to its pods). Kueue v0.19.2 `charts/kueue/templates/manager/manager.yaml`
    and JobSet v0.12.0 `charts/jobset/templates/controller/deployment.yaml` are Deployments.
    prometheus-operator v0.93.0 (the release line kube-prometheus-stack 88.5.3 pins, appVersion v0.93.1)
    `pkg/prometheus/server/statefulset.go` / `pkg/alertmanager/statefulset.go` makeStatefulSetSpec build an
    apps/v1 StatefulSet whose pod template labels are the selector labels, the version and podMetadata; the
    StatefulSet controller labels its pods `controller-revision-hash` (k8s.io/api apps/v1 types.go:
    StatefulSetRevisionLabel = ControllerRevisionHashLabelKey = "controller-revision-hash"), never
    pod-template-hash. A StatefulSet rolling update deletes each pod before recreating it (apps/v1
    RollingUpdateStatefulSetStrategyType, the operator's default via UpdateStrategyForStatefulSet), so it has
    no surge pod for the key to exempt."""
    platform = parse_platform(load_stack_config("prod")[PLATFORM_KEY])
    kinds = {c.name: c.workload for c in platform_controllers(platform)}
    assert kinds == {"kueue": "Deployment", "jobset": "Deployment",
                     "prometheus": "StatefulSet", "alertmanager": "StatefulSet"}
    for controller in platform_controllers(platform):
        keys = [c.get("matchLabelKeys") for c in topology_spread(controller)]
        assert keys == ([["pod-template-hash"]] * 2 if controller.workload == "Deployment" else [None, None])


def test_jobset_anti_affinity_match_label_keys_is_served_by_the_cluster(stack_capture):
    """matchLabelKeys in pod (anti-)affinity is the feature gate MatchLabelKeysInPodAffinity
    (kubernetes.io reference/command-line-tools-reference/feature-gates/MatchLabelKeysInPodAffinity:
    alpha 1.29-1.30 default off, beta 1.31-1.32 default on, stable from 1.33, locked). The suite validates
    objects against Kubernetes KUBERNETES_VERSION, at or above the release where the gate is on by default."""
    assert tuple(map(int, KUBERNETES_VERSION.split("."))) >= (1, 31)
    controller = _chart(stack_capture, "jobset")["controller"]
    terms = controller["affinity"].get("podAntiAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", [])
    assert all(t["matchLabelKeys"] == ["pod-template-hash"] for t in terms)
    assert bool(terms) == (stack_capture.stack == "prod")


def test_monitoring_replicas_are_checked_against_the_system_pool(assert_issue):
    raw = _prod_with(**{"cluster.systemPool.minNodes": 2})
    raw["monitoring"] = {"prometheusReplicas": 3}
    with pytest.raises(ConfigError) as info:
        parse_platform(raw)
    assert_issue(info.value, "cluster.systemPool.minNodes", "cannot hold 3 prometheus replicas",
                 fix="monitoring.prometheusReplicas to 2")
