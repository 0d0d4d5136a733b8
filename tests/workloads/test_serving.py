"""A team's model server: the serving queue class, its quota bounds, the rendered objects and Kueue's
admission of its replicas.

Upstream behaviour encoded here (each test names its source):
- Kueue v0.19.2 charts/kueue/templates/webhook/manifests.yaml: the pod webhooks (`mpod.kb.io`,
  `vpod.kb.io`) are `failurePolicy: Fail` only when "pod" is in integrations.frameworks, else `Ignore`;
  their namespaceSelector is the config's managedJobsNamespaceSelector when it is set.
- Kueue v0.19.2 pkg/controller/jobs/deployment/deployment_controller.go: the `deployment` integration
  registers `ImplicitlyEnabledFrameworkNames: []string{"pod"}` (its pods are plain pods);
  deployment_webhook.go `Default` copies the queue-name label onto the pod template.
- Kueue v0.19.2 site/content/en/docs/tasks/run/deployment.md: "every Pod from a Deployment is represented
  as a single independent Plain Pod"; on scale-out "new Pods are created, and remain suspended until
  their corresponding workloads get admitted".
"""

from __future__ import annotations

import copy

import pytest
import yaml

from components.explain import ADMITTED, PENDING, explain, from_capture, from_object, queue
from components.explain.pod_security import violations
from components.kubernetes.controller_config import kueue_manager_config
from components.kubernetes.manifest_validation import is_validated, problems
from components.model import flavors, parse_platform
from components.model.allocatable import gpu_node_allocatable
from components.model.priorities import PRIORITY_CLASSES
from components.model.queue_classes import BY_NAME, SPOT, TEAM_CLASSES
from components.model.serving import capacity
from components.plan import kubernetes_object
from components.workloads import WorkloadRequestError, render
from components.workloads.serving import SERVING_METRIC, replica_gpus
from components.monitoring import adapter
from components.capture import PROJECT, REPO
from conftest import assert_issue, config_error, load_dev_platform_raw, load_stack_config
from admission_support import BINDING, TEAM_NS, VAP, admission_review

DEV = parse_platform(load_dev_platform_raw())
TEAM_C = 2


def _server(platform=DEV, team="team-c") -> dict[str, dict]:
    return {o["kind"]: o for o in render(platform, team, "serving")}


# ------------------------------------------------------------------ the class


def test_serving_class_row_makes_its_policy_explicit():
    serving = BY_NAME["serving"]
    assert SPOT not in serving.capacity  # never spot: a preempted replica drops requests
    batch = [PRIORITY_CLASSES[c.priority_class] for c in TEAM_CLASSES if c.name != "serving"]
    assert PRIORITY_CLASSES["serving"].value > max(pc.value for pc in batch)
    # GPUs change hands only through Kueue quota: the PriorityClass never preempts in kube-scheduler.
    assert PRIORITY_CLASSES["serving"].preemption_policy == "Never"
    # It reclaims what it lent (batch may borrow idle serving quota), never preempts to borrow or its own.
    assert serving.kueue_policy["preemption"] == {"reclaimWithinCohort": "LowerPriority", "withinClusterQueue": "Never"}


def test_spot_serving_quota_is_refused():
    raw = load_dev_platform_raw()
    raw["teams"][TEAM_C]["queues"]["serving"] = [{"flavor": "l4-spot", "gpus": 4}]
    assert_issue(config_error(raw), f"teams[{TEAM_C}].queues.serving[0].flavor", "serving class may only use")


# ------------------------------------------------------------------ quota bounds


def test_dev_server_scales_to_its_quota():
    cap = capacity(DEV, DEV.teams[TEAM_C])
    assert (cap.floor_replicas, cap.ceiling_replicas) == (4, 4)  # 4 own GPUs, borrowingLimit 0
    assert DEV.teams[TEAM_C].serving.max_replicas == cap.ceiling_replicas


@pytest.mark.parametrize("change, path, says", [
    ({"maxReplicas": 5}, "serving.maxReplicas", "Kueue admits at most 4"),
    ({"minReplicas": 3, "maxReplicas": 2}, "serving.minReplicas", "is above maxReplicas"),
    ({"gpusPerReplica": 4}, "serving.gpusPerReplica", "fit no node"),
])
def test_a_server_that_can_never_scale_within_its_quota_is_refused(change, path, says):
    raw = load_dev_platform_raw()
    raw["teams"][TEAM_C]["serving"].update(change)
    assert_issue(config_error(raw), f"teams[{TEAM_C}].{path}", says)


def test_borrowed_gpus_raise_the_ceiling_but_never_the_floor():
    """Ceiling: nominal + min(borrowingLimit, what the cohort's other queues lend) (the ledger, Kueue
    resource_node.go potentialAvailable); the floor needs own GPUs, as borrowed ones are reclaimed."""
    raw = load_dev_platform_raw()
    raw["teams"][TEAM_C]["queues"]["serving"] = [{"flavor": "l4-ondemand", "gpus": 2, "borrowingLimit": 2}]
    raw["teams"][TEAM_C]["serving"].update(minReplicas=1, maxReplicas=4)
    platform = parse_platform(raw)
    cap = capacity(platform, platform.teams[TEAM_C])
    assert (cap.floor_replicas, cap.ceiling_replicas) == (2, 4)
    raw["teams"][TEAM_C]["serving"].update(minReplicas=3)
    assert_issue(config_error(raw), f"teams[{TEAM_C}].serving.minReplicas", "borrowed GPUs are reclaimed")


def test_a_server_needs_a_serving_queue():
    raw = load_dev_platform_raw()
    del raw["teams"][TEAM_C]["queues"]["serving"]
    assert_issue(config_error(raw), f"teams[{TEAM_C}].queues.serving", "no serving quota")


# ------------------------------------------------------------------ rendered objects


def test_server_objects_are_valid_kubernetes():
    for obj in _server().values():
        assert is_validated(obj) and problems(obj) == [], obj["kind"]
    assert list(_server()) == ["Service", "Deployment", "PodDisruptionBudget", "HorizontalPodAutoscaler"]


def test_deployment_is_queued_prioritised_and_restricted():
    deployment = _server()["Deployment"]
    assert deployment["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "serving"
    spec = deployment["spec"]["template"]["spec"]
    assert spec["priorityClassName"] == "serving"
    assert violations(spec, "restricted") == []  # team namespaces enforce Pod Security restricted
    container = spec["containers"][0]
    assert {p: container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")} == {
        "livenessProbe": "/v2/health/live", "readinessProbe": "/v2/health/ready"}
    # A surge replica would need a GPU the quota may not have.
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}


def test_replica_is_sized_from_node_allocatable():
    server = _server()
    flavor = flavors(DEV)[DEV.teams[TEAM_C].queues.serving[0].flavor]
    assert replica_gpus(list(server.values())) == DEV.teams[TEAM_C].serving.gpus_per_replica
    requests = server["Deployment"]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    node = gpu_node_allocatable(flavor.machine)
    cpu = int(requests["cpu"].rstrip("m"))
    assert 0 < cpu * flavor.gpus_per_node <= node.cpu_millis


def test_hpa_and_pdb_come_from_the_model():
    server = _server()
    hpa, settings = server["HorizontalPodAutoscaler"]["spec"], DEV.teams[TEAM_C].serving
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (settings.min_replicas, settings.max_replicas)
    [metric] = hpa["metrics"]
    assert metric["pods"]["metric"]["name"] == SERVING_METRIC
    assert metric["pods"]["target"] == {"type": "AverageValue", "averageValue": str(settings.target_gpu_percent)}
    # maxUnavailable 1 lets the autoscaler drain a node even at one replica: no GPU node is pinned.
    assert server["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1
    assert server["Service"]["spec"]["type"] == "ClusterIP"


def test_teams_without_a_server_cannot_render_one():
    with pytest.raises(WorkloadRequestError, match="cannot run a 'serving' workload"):
        render(DEV, "team-a", "serving")


# ------------------------------------------------------------------ Kueue


def test_pod_webhook_fails_closed_in_team_namespaces_only():
    """charts/kueue/templates/webhook/manifests.yaml (v0.19.2): `{{- if has "pod" $integrationsConfig.frameworks }}
    failurePolicy: Fail {{- else }} failurePolicy: Ignore`, namespaceSelector from managedJobsNamespaceSelector.
    `deployment` implicitly enables `pod` in the manager (deployment_controller.go ImplicitlyEnabledFrameworkNames)
    but not in the chart's webhook configuration, so "pod" must be listed for Deployment pods to fail closed."""
    config = kueue_manager_config(DEV)
    frameworks = config["integrations"]["frameworks"]
    assert "deployment" in frameworks and "pod" in frameworks
    pod_failure_policy = "Fail" if "pod" in frameworks else "Ignore"
    assert pod_failure_policy == "Fail"
    assert config["managedJobsNamespaceSelector"] == {"matchLabels": {"batch-platform/kueue-managed": "true"}}


def test_queue_priority_policy_covers_deployments(dev_capture):
    objs = ([kubernetes_object(r) for r in dev_capture.of_type(VAP)],
            [kubernetes_object(r) for r in dev_capture.of_type(BINDING)])
    deployment = copy.deepcopy(_server()["Deployment"])
    deployment["metadata"]["namespace"] = "team-a"
    assert admission_review(*objs, deployment, TEAM_NS) is None
    deployment["spec"]["template"]["spec"]["priorityClassName"] = "low"
    assert "set priorityClassName: serving" in admission_review(*objs, deployment, TEAM_NS)


def test_replicas_beyond_the_quota_wait(dev_capture):
    """One Workload per replica (deployment.md): the fifth 1-GPU replica finds team-c's 4 serving GPUs
    held by the first four and stays pending - the HPA's maxReplicas is what the quota admits."""
    cluster = from_capture(dev_capture)
    deployment = _server()["Deployment"]
    assert explain(cluster, from_object(deployment)).status == ADMITTED
    replicas = []
    for i in range(5):
        replica = copy.deepcopy(deployment)
        replica["metadata"]["name"] = f"team-c-model-{i}"
        replicas.append(replica)
    verdicts = queue.simulate(cluster, [from_object(r) for r in replicas], []).verdicts
    assert [v.status for v in verdicts] == [ADMITTED] * 4 + [PENDING]


def test_rendered_yaml_round_trips():
    text = yaml.safe_dump_all(list(_server().values()), sort_keys=False)
    assert "&id" not in text  # no YAML aliases in what a team applies
    assert [o["kind"] for o in yaml.safe_load_all(text)] == list(_server())


# ------------------------------------------------------------------ the metrics pipeline


def _leaves(values: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for key, value in values.items():
        if isinstance(value, dict) and value:
            out += _leaves(value, (*prefix, key))
        else:
            out.append((*prefix, key))
    return out


def test_every_adapter_value_exists_in_the_pinned_chart():
    """platform/charts/values/prometheus-adapter-5.3.0.yaml is the chart's values.yaml at its tag (sources.yaml)."""
    defaults = yaml.safe_load((REPO / "platform/charts/values" / f"{adapter.CHART}-{adapter.CHART_VERSION}.yaml").read_text())
    missing = []
    for path in _leaves(adapter.chart_values(DEV)):
        node = defaults
        for key in path:
            if node == {}:
                break  # a free-form map in the chart (nodeSelector: {})
            if not isinstance(node, dict) or key not in node:
                missing.append(".".join(path))
                break
            node = node[key]
    assert missing == []
    # templates/custom-metrics-apiservice.yaml renders the APIService only with default or custom rules.
    rules = adapter.chart_values(DEV)["rules"]
    assert rules["default"] is False and rules["custom"] == [adapter.RULE]


def test_the_api_server_reaches_the_adapter_only_where_it_runs(dev_capture, stack_capture):
    """The APIService's backend listens on listenPort; GKE's own rule opens only 443 and 10250 from the
    control plane (private clusters, "Adding firewall rules for specific use cases"), so the platform's rule
    adds it, and a NetworkPolicy admits it in the monitoring namespace - in stacks that install the adapter."""
    firewall = next(r for r in stack_capture.of_type("gcp:compute/firewall:Firewall")
                    if r.inputs["name"].endswith("control-plane-to-webhooks"))
    ports = {p for allow in firewall.inputs["allows"] for p in allow["ports"]}
    policies = [kubernetes_object(r) for r in stack_capture.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if r.inputs["metadata"]["name"] == "allow-api-server-metrics-adapter"]
    installed = [r for r in stack_capture.of_type("kubernetes:helm.sh/v4:Chart") if r.inputs["chart"] == adapter.CHART]
    platform = parse_platform(load_stack_config(stack_capture.stack)[f"{PROJECT}:platform"])
    assert bool(installed) == adapter.enabled(platform) == (str(adapter.LISTEN_PORT) in ports) == bool(policies)
    if stack_capture.stack == "dev":
        assert installed and installed[0].inputs["version"] == adapter.CHART_VERSION
        [policy] = policies
        assert policy["spec"]["podSelector"]["matchLabels"] == adapter.POD_LABELS
        assert policy["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": adapter.LISTEN_PORT}]}]


# ------------------------------------------------------------------ cost


def test_serving_floor_and_burst_are_whole_nodes_at_the_flavors_price():
    """Each replica holds 1 of a g2-standard-24's 2 L4s: 1 replica keeps 1 node, 4 replicas fill 2."""
    from components.cost import cost_json, serving_costs
    from components.model.prices import price_catalog

    catalog = price_catalog()
    node = catalog.machine("g2-standard-24", DEV.region, "onDemand").value * catalog.hours_per_month
    [server] = serving_costs(DEV, catalog)
    assert (server.team, server.flavor, server.floor_nodes, server.burst_nodes) == ("team-c", "l4-ondemand", 1, 2)
    assert server.floor.monthly == pytest.approx(node) and server.burst.monthly == pytest.approx(2 * node)
    assert cost_json(DEV, "dev", catalog)["servers"] == [server.to_json()]


def test_a_floor_inside_a_reservation_costs_nothing_more():
    from components.cost import serving_costs

    raw = load_dev_platform_raw()
    for team in raw["teams"]:  # make room in the 8 reserved L4s for team-c's server
        team["queues"]["high"] = [q for q in team["queues"]["high"] if q["flavor"] != "l4-reserved"]
        team["queues"]["low"] = [q for q in team["queues"]["low"] if q["flavor"] != "l4-reserved"]
    raw["teams"][TEAM_C]["queues"]["serving"] = [{"flavor": "l4-reserved", "gpus": 4}]
    [server] = serving_costs(parse_platform(raw))
    assert server.floor.monthly == 0.0 and "reservation" in server.floor.detail and server.burst.monthly > 0
