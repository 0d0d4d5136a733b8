"""Argo Workflows, installed for the teams with `pipelines: true` (components/kubernetes/argo.py).

Sources encoded here:
* argoproj/argo-helm@argo-workflows-1.0.18 (4f4cc4f9), charts/argo-workflows: values.yaml (vendored in
  platform/charts/values/argo-workflows-1.0.18.yaml), templates/_helpers.tpl (selector labels),
  templates/controller/workflow-controller-config-map.yaml (mainContainer, executor, workflowDefaults
  are written into the controller's config).
* argoproj/argo-workflows@v4.0.6 (277e9cef):
  - workflow/controller/controller.go Run: the controller waits (cache.WaitForCacheSync) for the
    Workflow, WorkflowTemplate, WorkflowTaskSet, WorkflowArtifactGCTask and WorkflowTaskResult informers;
    runCronController starts a CronWorkflow informer; createClusterWorkflowTemplateInformer only with RBAC.
  - workflow/controller/workflowpod.go createWorkflowPod: the main container is the controller's
    MainContainer defaults strategic-merge-patched with the template's container; newExecContainer gives the
    `init` and `wait` containers the executor's SecurityContext; createVolumes adds the `var-run-argo` and
    `tmp-dir` emptyDirs; addSchedulingConstraints sets the pod securityContext from the template, else the
    workflow spec.
  - workflow/controller/controller.go setWorkflowDefaults / workflow/util/merge.go MergeTo: the controller's
    workflowDefaults are merged under the Workflow ("Values in the workflow will be given the upper hand").
  - docs/workflow-rbac.md "The minimum for the executor to function": workflowtaskresults create, patch.
  - docs/workflow-pod-security-context.md: "By default, all Workflow Pods run as root"; the non-root
    executor image quay.io/argoproj/argoexec:<version>-nonroot.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from components.capture import REPO, Capture
from components.explain.pod_security import violations
from components.kubernetes import admission, argo
from components.kubernetes.manifest_validation import problems
from components.model import parse_platform
from components.model.images import admitted, admitted_patterns, catalog
from components.plan import kubernetes_object
from conftest import assert_issue, config_error, load_dev_platform_raw, load_stack_config, run_with
from components.capture import PROJECT
from policy_support import assert_clean, check

T_CHART = "kubernetes:helm.sh/v4:Chart"
T_CONFIGFILE = "kubernetes:yaml/v2:ConfigFile"
T_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
T_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
T_NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
T_NS = "kubernetes:core/v1:Namespace"
DEFAULTS = yaml.safe_load((REPO / "platform/charts/values/argo-workflows-1.0.18.yaml").read_text())
# controller.go Run: informers the controller waits for before it processes anything, plus the cron one.
CONTROLLER_INFORMERS = {"workflows", "workflowtemplates", "workflowtasksets", "workflowartifactgctasks",
                        "workflowtaskresults", "cronworkflows"}


def _dev():
    return parse_platform(load_dev_platform_raw())


def _objects(capture: Capture, type_: str, namespace: str | None = None) -> list[dict]:
    objs = [kubernetes_object(r) for r in capture.of_type(type_)]
    return [o for o in objs if namespace is None or o["metadata"].get("namespace") == namespace]


# ------------------------------------------------------------------ installed only where a team has pipelines

def test_dev_installs_the_pinned_chart_after_its_crds_and_namespace(dev_capture):
    (chart,) = [r for r in dev_capture.of_type(T_CHART) if r.inputs["chart"] == argo.CHART]
    assert (chart.inputs["version"], chart.inputs["repositoryOpts"]["repo"], chart.inputs["namespace"]) == (
        "1.0.18", "https://argoproj.github.io/argo-helm", argo.NAMESPACE)
    files = {r.urn: r.inputs["file"] for r in dev_capture.of_type(T_CONFIGFILE)}
    assert sorted(files.values()) == sorted(argo.crd_files())
    assert set(files) <= set(chart.dependencies)
    assert any(d.endswith("pipelines-namespace") for d in chart.dependencies)
    assert any(d.endswith("priorities-platform-services") for d in chart.dependencies)
    # The workflow admission policies wait for the CRDs, so the API server can type-check them.
    vaps = {r.inputs["metadata"]["name"]: r
            for r in dev_capture.of_type("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy")}
    for resource in admission.WORKFLOW_RESOURCES:
        assert set(files) <= set(vaps[admission.policy_name(resource)].dependencies)


def test_nothing_of_argo_exists_in_a_stack_without_pipelines(stack_capture):
    raw = load_stack_config(stack_capture.stack)[f"{PROJECT}:platform"]
    if any(t.get("pipelines") for t in raw["teams"]):
        pytest.skip("this stack has pipelines")
    assert not [r for r in stack_capture.of_type(T_CHART) if r.inputs["chart"] == argo.CHART]
    assert not stack_capture.of_type(T_CONFIGFILE)
    assert argo.NAMESPACE not in {o["metadata"]["name"] for o in _objects(stack_capture, T_NS)}
    assert not [o for o in _objects(stack_capture, T_ROLE) if o["metadata"]["name"] == argo.EXECUTOR_ROLE]
    assert not [rule for o in _objects(stack_capture, T_ROLE) for rule in o["rules"] if "argoproj.io" in rule["apiGroups"]]
    policy = stack_capture.of_type("gcp:binaryauthorization/policy:Policy")
    assert not [p for r in policy for p in r.inputs["admissionWhitelistPatterns"] if "argoproj" in p["namePattern"]]


def test_a_stack_without_pipelines_plans_without_argo():
    capture = run_with(lambda raw: [t.pop("pipelines", None) for t in raw["teams"]])
    assert not [r for r in capture.of_type(T_CHART) if r.inputs["chart"] == argo.CHART]
    assert not capture.of_type(T_CONFIGFILE) and not [r for r in capture.resources if "Pipelines" in r.type]


# ------------------------------------------------------------------ the chart's values

def _leaves(values: dict, prefix: tuple = ()):
    for key, value in values.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key)


# Commented out in values.yaml, read by a template at the tag: templates/controller/
# workflow-controller-deployment-pdb.yaml and templates/server/server-deployment-pdb.yaml (`.pdb.minAvailable`).
DOCUMENTED = {("controller", "pdb", "minAvailable"), ("server", "pdb", "minAvailable")}


def test_every_value_set_exists_in_the_pinned_chart():
    missing = []
    for path in set(_leaves(argo.chart_values(_dev()))) - DOCUMENTED:
        node = DEFAULTS
        for key in path:
            if node == {} or (len(path) > 1 and path[-2] == "nodeSelector" and key == path[-1]):
                break  # a free-form map in the chart (workflowDefaults: {}, a nodeSelector's labels)
            if not isinstance(node, dict) or key not in node:
                missing.append(".".join(path))
                break
            node = node[key]
    assert missing == []


@pytest.mark.parametrize("replicas", [1, 2, 3])
def test_controller_and_server_are_placed_and_spread_like_the_other_controllers(replicas):
    raw = load_dev_platform_raw()
    raw["controllers"] = {"replicas": replicas}
    raw["cluster"]["systemPool"].update(minNodes=3, maxNodes=6)
    platform = parse_platform(raw)
    values = argo.chart_values(platform)
    for part, name in (("controller", "argo-workflows-workflow-controller"), ("server", "argo-workflows-server")):
        v = values[part]
        assert v["replicas"] == replicas
        assert v["nodeSelector"] == {"batch-platform/pool": "system"} and v["priorityClassName"] == "platform-services"
        assert v["pdb"] == {"enabled": replicas > 1, "minAvailable": 1}
        # _helpers.tpl argo-workflows.selectorLabels: the Deployment's own pods, so the spread counts them.
        selectors = [c["labelSelector"]["matchLabels"] for c in v["topologySpreadConstraints"]]
        assert selectors == ([{"app.kubernetes.io/name": name, "app.kubernetes.io/instance": argo.RELEASE}] * 2
                             if replicas > 1 else [])
    assert values["server"]["serviceType"] == "ClusterIP" and values["server"]["authModes"] == ["client"]
    assert not values["server"].get("ingress") and DEFAULTS["server"]["ingress"]["enabled"] is False


def test_the_system_pool_must_hold_the_argo_replicas_spread():
    raw = load_dev_platform_raw()
    raw["controllers"] = {"replicas": 3}
    raw["cluster"]["systemPool"].update(minNodes=2, maxNodes=6)
    assert_issue(config_error(raw), "cluster.systemPool.minNodes", "3 argo-server replicas")


def test_another_argo_chart_version_is_refused_naming_the_key():
    raw = load_dev_platform_raw()
    raw["versions"] = {"argoWorkflows": "1.0.19"}
    assert_issue(config_error(raw), "versions.argoWorkflows", "no vendored CRD schemas", fix="use 1.0.18")


# ------------------------------------------------------------------ CRDs

def test_the_crds_are_the_full_v4_0_6_ones_the_controller_needs():
    values = argo.chart_values(_dev())
    assert values["crds"]["install"] is False  # the chart's only other way is its hook Job (hook-audit.yaml)
    assert set(argo.CRDS) == CONTROLLER_INFORMERS
    for name, path in zip(argo.CRDS, argo.crd_files()):
        crd = yaml.load((REPO / path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        assert crd["kind"] == "CustomResourceDefinition" and crd["metadata"]["name"] == f"{name}.argoproj.io"
        assert problems(crd) == []  # the apiextensions.k8s.io/v1 schema, like every built-in object
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert "x-kubernetes-preserve-unknown-fields" not in schema.get("properties", {}).get("spec", {}), name
        if name in ("workflows", "workflowtemplates"):  # the schemas objects are validated against offline
            kind = crd["spec"]["names"]["kind"]
            vendored = yaml.safe_load((REPO / f"platform/schemas/argo/v1alpha1/{kind}.json").read_text())
            assert schema == vendored
    # Nobody can read ClusterWorkflowTemplates, so neither informer starts and that CRD is not needed.
    assert values["controller"]["clusterWorkflowTemplates"] == {"enabled": False}
    assert values["server"]["clusterWorkflowTemplates"] == {"enabled": False}


# ------------------------------------------------------------------ Pod Security of a step pod

def _merge(base: dict, patch: dict) -> dict:
    """A strategic merge of two container/pod securityContexts: maps merge key by key, the patch wins."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _step_pod(values: dict, workflow_spec: dict, container: dict) -> dict:
    """The pod spec workflowpod.go createWorkflowPod builds for a container template, from the chart values
    as the controller's config holds them (workflow-controller-config-map.yaml)."""
    executor_sc = values.get("executor", {}).get("securityContext") or None
    main = _merge({"securityContext": values.get("mainContainer", {}).get("securityContext", {})}, container)
    main = {**main, "name": "main"}
    if not main["securityContext"]:
        main.pop("securityContext")
    spec = _merge(values.get("controller", {}).get("workflowDefaults", {}).get("spec", {}), workflow_spec)

    def exec_container(name: str) -> dict:
        return {"name": name, "image": f"quay.io/argoproj/argoexec:{values.get('executor', {}).get('image', {}).get('tag', argo.APP_VERSION)}",
                **({"securityContext": executor_sc} if executor_sc else {})}

    pod = {"restartPolicy": "Never", "volumes": [{"name": "var-run-argo", "emptyDir": {}}, {"name": "tmp-dir", "emptyDir": {}}],
           "initContainers": [exec_container("init")], "containers": [exec_container("wait"), main]}
    if "securityContext" in spec:
        pod["securityContext"] = spec["securityContext"]
    return pod


STEP = {"image": "python:3.12", "command": ["python", "prep.py"], "resources": {"requests": {"cpu": "1"}}}


def test_a_step_pod_is_admitted_under_restricted():
    values = argo.chart_values(_dev())
    pod = _step_pod(values, {"serviceAccountName": "team-d-ksa"}, STEP)
    assert violations(pod, "restricted") == []
    # A template's own securityContext is merged over the defaults, not instead of them.
    pod = _step_pod(values, {}, {**STEP, "securityContext": {"runAsUser": 1000, "readOnlyRootFilesystem": True}})
    assert violations(pod, "restricted") == [] and pod["containers"][1]["securityContext"]["runAsUser"] == 1000
    # The executor is the non-root image (the default argoexec runs as root).
    assert pod["containers"][0]["image"] == "quay.io/argoproj/argoexec:v4.0.6-nonroot"


def test_with_the_charts_defaults_a_step_pod_is_rejected():
    """What the values fix: executor.securityContext and mainContainer.securityContext default to {} and
    workflowDefaults to {} (values.yaml), so Pod Security refuses every step pod of a team namespace."""
    found = violations(_step_pod(DEFAULTS, {}, STEP), "restricted")
    assert any("initContainers[0].securityContext.allowPrivilegeEscalation" in f for f in found)
    assert any("containers[0].securityContext.capabilities" in f for f in found)
    assert any("containers[1].securityContext.runAsNonRoot" in f for f in found)


# ------------------------------------------------------------------ RBAC and tenancy

def test_the_controller_keeps_the_charts_documented_rights():
    values = argo.chart_values(_dev())
    assert values["singleNamespace"] is False
    rbac = values["controller"]["rbac"]
    assert rbac == {k: DEFAULTS["controller"]["rbac"][k] for k in ("secretWhitelist", "accessAllSecrets", "writeConfigMaps")}
    assert rbac == {"secretWhitelist": [], "accessAllSecrets": False, "writeConfigMaps": False}
    # No chart-made workflow Role (it binds a shared `argo-workflow` account) and no aggregation into the
    # built-in view/edit/admin roles, which would grant every Argo kind to whoever holds them.
    assert values["workflow"]["rbac"]["create"] is False and values["createAggregateRoles"] is False


def test_a_team_with_pipelines_gets_workflows_and_the_executor_role_in_its_own_namespace(dev_capture):
    roles = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in _objects(dev_capture, T_ROLE)}
    argo_rules = [r for r in roles[("team-d", "batch-user")]["rules"] if "argoproj.io" in r["apiGroups"]]
    assert argo_rules == argo.MEMBER_RULES
    granted = {res for r in argo_rules for res in r["resources"]}
    # Exactly the kinds a queue/priority admission policy checks; never clusterworkflowtemplates.
    assert granted == {"workflows", "workflowtemplates", "cronworkflows"} == set(admission.WORKFLOW_RESOURCES)
    assert {res: sorted(r["verbs"]) for r in argo_rules for res in r["resources"]}["cronworkflows"] == sorted(
        ["get", "list", "watch", "create", "update", "patch", "delete"])
    assert roles[("team-d", argo.EXECUTOR_ROLE)]["rules"] == [
        {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}]
    (binding,) = [o for o in _objects(dev_capture, T_BINDING) if o["metadata"]["name"] == argo.EXECUTOR_ROLE]
    assert binding["metadata"]["namespace"] == "team-d"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": argo.EXECUTOR_ROLE}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "team-d-ksa", "namespace": "team-d"}]


def test_a_team_without_pipelines_gets_none_of_it(dev_capture):
    for team in ("team-a", "team-b", "team-c"):
        roles = _objects(dev_capture, T_ROLE, team)
        assert [o["metadata"]["name"] for o in roles] == ["batch-user"]
        assert not [r for r in roles[0]["rules"] if "argoproj.io" in r["apiGroups"]]
        assert not [o for o in _objects(dev_capture, T_BINDING, team) if o["metadata"]["name"] == argo.EXECUTOR_ROLE]
        assert "allow-egress-workflow-api-server" not in {o["metadata"]["name"] for o in _objects(dev_capture, T_NETPOL, team)}


def test_only_workflow_pods_of_a_pipelines_team_reach_the_control_plane(dev_capture):
    (policy,) = [o for o in _objects(dev_capture, T_NETPOL, "team-d") if o["metadata"]["name"] == "allow-egress-workflow-api-server"]
    assert policy["spec"]["podSelector"] == {"matchExpressions": [{"key": argo.WORKFLOW_POD_LABEL, "operator": "Exists"}]}
    # The `kubernetes` Service's ClusterIP (first address of dev's servicesCidr 10.52.0.0/20) and the private
    # endpoint's range: whichever address the datapath evaluates (isolation.api_server_egress).
    assert policy["spec"]["egress"] == [{"to": [{"ipBlock": {"cidr": "10.52.0.1/32"}},
                                                {"ipBlock": {"cidr": _dev().network.master_cidr}}],
                                         "ports": [{"protocol": "TCP", "port": 443}]}]


# ------------------------------------------------------------------ the Argo Server's own account

T_CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
T_CLUSTER_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"


def test_the_server_runs_with_client_auth_and_without_the_charts_server_role():
    """server-cluster-roles.yaml and server-crb.yaml render only `if and .Values.server.enabled
    .Values.server.rbac.create`; the chart's role would grant secrets get, pods delete, pods/log and writes
    to every Argo kind in all namespaces."""
    server = argo.chart_values(_dev())["server"]
    assert server["authModes"] == ["client"] and server["rbac"] == {"create": False}
    assert DEFAULTS["server"]["rbac"] == {"create": True}  # the chart default it turns off


def test_the_server_account_reads_only_what_its_caches_need(dev_capture):
    (cluster_role,) = [o for o in _objects(dev_capture, T_CLUSTER_ROLE) if o["metadata"]["name"] == argo.SERVER_ROLE]
    assert cluster_role["rules"] == [
        {"apiGroups": ["argoproj.io"], "resources": ["workflows", "workflowtemplates"], "verbs": ["list", "watch"]}]
    (role,) = [o for o in _objects(dev_capture, T_ROLE, argo.NAMESPACE) if o["metadata"]["name"] == argo.SERVER_ROLE]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"],
                              "resourceNames": ["argo-workflows-workflow-controller-configmap"], "verbs": ["get"]}]
    granted = [r for o in (cluster_role, role) for r in o["rules"]]
    assert not [r for r in granted if {"secrets", "pods", "pods/log", "*"} & set(r["resources"])]
    assert not [r for r in granted if set(r["verbs"]) - {"get", "list", "watch"}]
    # Bound to the account the chart creates for the server: server.serviceAccount.create true, name "" ->
    # argo-workflows.server.fullname = <release>-<server.name>.
    assert DEFAULTS["server"]["serviceAccount"]["create"] is True and DEFAULTS["server"]["serviceAccount"]["name"] == ""
    subject = [{"kind": "ServiceAccount", "name": f"{argo.RELEASE}-{DEFAULTS['server']['name']}", "namespace": "argo"}]
    (cluster_binding,) = [o for o in _objects(dev_capture, T_CLUSTER_BINDING) if o["metadata"]["name"] == argo.SERVER_ROLE]
    (binding,) = [o for o in _objects(dev_capture, T_BINDING, argo.NAMESPACE) if o["metadata"]["name"] == argo.SERVER_ROLE]
    assert cluster_binding["subjects"] == subject and binding["subjects"] == subject
    assert cluster_binding["roleRef"]["kind"] == "ClusterRole" and binding["roleRef"]["kind"] == "Role"
    # The ConfigMap is the one the server is started with: `--configmap=` argo-workflows.controller.config-map.name,
    # i.e. controller.configMap.name or <release>-<controller.name>-configmap.
    assert DEFAULTS["controller"]["configMap"]["name"] == ""
    assert argo.CONTROLLER_CONFIGMAP == f"{argo.RELEASE}-{DEFAULTS['controller']['name']}-configmap"


# ------------------------------------------------------------------ the argo namespace, images, the pack

def test_the_argo_namespace_is_restricted_and_closed_but_to_prometheus(dev_capture):
    (ns,) = [o for o in _objects(dev_capture, T_NS) if o["metadata"]["name"] == argo.NAMESPACE]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    policies = {o["metadata"]["name"]: o["spec"] for o in _objects(dev_capture, T_NETPOL, argo.NAMESPACE)}
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert policies["allow-metrics-scrape"]["ingress"] == [
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
         "ports": [{"protocol": "TCP", "port": DEFAULTS["controller"]["metricsConfig"]["port"]}]}]
    # The chart's own pods comply: its container securityContexts plus the pod seccomp profile set here.
    values = argo.chart_values(_dev())
    for part in ("controller", "server"):
        pod = {"securityContext": values[part]["podSecurityContext"],
               "containers": [{"name": part, "securityContext": DEFAULTS[part]["securityContext"]}],
               "volumes": [{"name": "tmp", "emptyDir": {}}]}
        assert violations(pod, "restricted") == [], part


def test_the_pack_finds_the_argo_namespace_compliant(dev_capture):
    assert_clean(check(dev_capture, "namespace-pod-security-restricted"), "namespace-pod-security-restricted")
    assert_clean(check(dev_capture, "no-wildcard-or-broad-rbac"), "no-wildcard-or-broad-rbac")


def test_binary_authorization_admits_the_images_the_chart_runs():
    """platform/images.yaml (components/model/images.py) lists Argo's images where a team has pipelines: the
    tags the chart's templates render (images.tag defaults to .Chart.AppVersion) and the executor's tag here."""
    values = argo.chart_values(_dev())
    tag = values["executor"]["image"]["tag"]
    images = [f"quay.io/argoproj/workflow-controller:{argo.APP_VERSION}", f"quay.io/argoproj/argocli:{argo.APP_VERSION}",
              f"quay.io/argoproj/{DEFAULTS['executor']['image']['repository'].split('/')[-1]}:{tag}"]
    assert all(admitted(i, admitted_patterns(_dev())) for i in images)
    by_id = catalog()
    assert (by_id["argo-executor"].tag, by_id["argo-workflow-controller"].tag) == (tag, argo.APP_VERSION)


def test_the_docs_port_forward_reaches_the_argo_server():
    """docs/operating.md "Pipelines": the Service (templates/server/server-service.yaml, argo-workflows.server.fullname)
    and port (values.yaml server.servicePort) the chart creates, ClusterIP only."""
    doc = (REPO / "docs/operating.md").read_text().split("## Pipelines (Argo Workflows)", 1)[1]
    assert f"kubectl -n {argo.NAMESPACE} port-forward svc/{argo.SERVER_SERVICE} {argo.SERVER_PORT}:{argo.SERVER_PORT}" in doc
    assert DEFAULTS["server"]["servicePort"] == argo.SERVER_PORT and DEFAULTS["server"]["name"] == "server"
    assert argo.chart_values(_dev())["server"]["serviceType"] == "ClusterIP"


def test_prometheus_scrapes_every_argo_controller_where_the_namespace_lets_it(stack_capture):
    """The monitoring PodMonitor (components/monitoring/scrape.py) selects the controller's pods by the chart's
    selector labels, on its `metrics` container port (values.yaml controller.metricsConfig.portName/port), which
    the argo namespace admits from monitoring; in stacks without pipelines there is none."""
    monitors = [o for o in _objects(stack_capture, "kubernetes:monitoring.coreos.com/v1:PodMonitor")
                if o["metadata"]["name"] == "argo-workflow-controller"]
    raw = load_stack_config(stack_capture.stack)[f"{PROJECT}:platform"]
    if not any(t.get("pipelines") for t in raw["teams"]):
        assert monitors == []
        return
    (monitor,) = monitors
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [argo.NAMESPACE]}
    assert monitor["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "argo-workflows-workflow-controller",
                                                          "app.kubernetes.io/instance": argo.RELEASE}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == DEFAULTS["controller"]["metricsConfig"]["portName"]
    assert DEFAULTS["controller"]["metricsConfig"]["port"] == argo.METRICS_PORT
    assert endpoint["scheme"] == "https"  # Argo v4.0.6 docs/metrics.md: secure defaults to true from 3.6
    allowed = [p["port"] for o in _objects(stack_capture, T_NETPOL, argo.NAMESPACE) for rule in o["spec"].get("ingress", [])
               for p in rule.get("ports", [])]
    assert allowed == [argo.METRICS_PORT]
