"""Argo Workflows for the teams with `pipelines: true` (pure): the chart's values, its namespace, the CRDs
the stack applies itself, and each such team's RBAC and API-server egress.

Chart: argoproj/argo-helm@argo-workflows-1.0.18 (4f4cc4f9605668855e2303c9805f09ac4360f35e),
charts/argo-workflows, appVersion v4.0.6; its values.yaml is vendored in platform/charts/values/.

* CRDs. With the chart's default `crds.full: true` they come only from the pre-install hook Job of
  templates/crds-install-job.yaml, which helm.v4.Chart never applies (platform/charts/hook-audit.yaml);
  `crds.full: false` would install minimal CRDs that keep unknown fields. So `crds.install: false`, and the
  stack applies the full CRDs of argoproj/argo-workflows@v4.0.6 manifests/base/crds/full (vendored in
  platform/crds/argo/), server-side: that directory's README says they "must be applied using server-side
  apply to avoid hitting size limits". Which ones: what the controller cannot start without. Its
  workflow/controller/controller.go Run waits (cache.WaitForCacheSync) for the Workflow, WorkflowTemplate,
  WorkflowTaskSet, WorkflowArtifactGCTask and WorkflowTaskResult informers, and runCronController then runs a
  CronWorkflow informer. The ClusterWorkflowTemplate informer starts only when the controller may read them
  (createClusterWorkflowTemplateInformer, util/rbac HasAccessToClusterWorkflowTemplates); the platform
  turns that grant off (controller/server.clusterWorkflowTemplates.enabled: false), so that CRD is not
  installed and nobody can create one. WorkflowEventBindings are read by the server only when an event is
  submitted to its API; not installed either.
* Tenancy. The controller is cluster-wide (singleNamespace false) with the chart's ClusterRole at its
  documented defaults: no secret beyond the agent CA (secretWhitelist [], accessAllSecrets false), no
  ConfigMap writes. The chart's per-namespace workflow Role/RoleBinding (templates/controller/workflow-role.yaml,
  workflow-rb.yaml) and its aggregate roles (workflow-aggregate-roles.yaml, which extend the built-in
  view/edit/admin ClusterRoles with every Argo kind) are off: each team with pipelines gets, in its own
  namespace only, the executor Role bound to its own Workload-Identity KSA (team_objects) and the
  workflows/workflowtemplates rules of its members' Role (render.team_role).
* Pod Security. Step pods run in the team's `restricted` namespace. The executor image is the non-root one
  and its init/wait containers get a restricted securityContext (executor.securityContext; Argo v4.0.6
  docs/workflow-pod-security-context.md "Non-root Executor Image": quay.io/argoproj/argoexec:<version>-nonroot,
  user 8737); the main container gets the same defaults (mainContainer.securityContext) and the pod a
  non-root, RuntimeDefault-seccomp securityContext through the controller's workflowDefaults (same doc,
  "Global Configuration"). tests/kubernetes/test_argo_install.py builds a step pod the way
  workflow/controller/workflowpod.go does and checks it against the Pod Security checker.
"""

from __future__ import annotations

from components.model import Platform, ha
from components.model.chart_overrides import with_overrides
from components.model.flavors import SYSTEM_POOL_LABELS
from components.model.images import pinned
from components.model.names import ksa_name
from components.model.priorities import PLATFORM_SERVICES
from components.model.schema import SCHEMA_VERSIONS, Team

from . import isolation

NAMESPACE = "argo"
RELEASE = ha.ARGO_RELEASE
CHART = "argo-workflows"
CHART_REPO = "https://argoproj.github.io/argo-helm"
CHART_VERSION = SCHEMA_VERSIONS["argo_workflows"]
APP_VERSION = "v4.0.6"  # charts/argo-workflows/Chart.yaml appVersion at argo-workflows-1.0.18
# The full CRDs the stack applies (paths relative to the repository root, where the program runs).
CRD_DIR = "platform/crds/argo"
CRDS = ("workflows", "workflowtemplates", "workflowtaskresults", "workflowtasksets", "workflowartifactgctasks",
        "cronworkflows")
METRICS_PORT = 9090  # values.yaml controller.metricsConfig.port: the controller Deployment's metrics port
SERVER_PORT = 2746  # values.yaml server.servicePort: what `kubectl port-forward` reaches
SERVER_SERVICE = f"{RELEASE}-server"  # templates/server/server-service.yaml: argo-workflows.server.fullname
# workflow/common/common.go LabelKeyWorkflow: on every pod a workflow creates (workflowpod.go createWorkflowPod).
WORKFLOW_POD_LABEL = "workflows.argoproj.io/workflow"
EXECUTOR_ROLE = "argo-executor"

RBAC_API = "rbac.authorization.k8s.io/v1"
_RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
# Restricted at pod level; 8737 is the user the Argo images are built to run as (Dockerfile at v4.0.6:
# `USER 8737` in the workflow-controller, argocli and argoexec-nonroot stages).
POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 8737, "seccompProfile": {"type": "RuntimeDefault"}}
EXECUTOR_SECURITY = {**_RESTRICTED_CONTAINER, "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
CONTROLLER_SECURITY = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
# Argo v4.0.6 docs/workflow-rbac.md, "The minimum for the executor to function" (>= v3.4).
EXECUTOR_RULES = [{"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}]
# What a team member does with pipelines in the team namespace: the kinds the queue/priority admission
# policies check (admission.WORKFLOW_RESOURCES; a CronWorkflow's spec.workflowSpec as a Workflow's spec);
# never clusterworkflowtemplates, which no policy checks.
MEMBER_RULES = [{"apiGroups": ["argoproj.io"], "resources": ["workflows", "workflowtemplates", "cronworkflows"],
                 "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]
# The Argo Server's own account (templates/_helpers.tpl argo-workflows.serverServiceAccountName: the server's
# fullname when server.serviceAccount.create, the default) and the controller ConfigMap it reads
# (argo-workflows.controller.config-map.name, passed as `--configmap` in server-deployment.yaml).
SERVER_ACCOUNT = SERVER_SERVICE
CONTROLLER_CONFIGMAP = f"{RELEASE}-workflow-controller-configmap"
# What the server does with that account under `--auth-mode=client` (argo-workflows@v4.0.6): every API call
# is made with the caller's token (server/auth/gatekeeper.go getClients, `case Client`:
# clientForAuthorization(authorization, ...)); its own account only feeds its caches and config
# (server/apiserver/argoserver.go NewArgoServer/Run): config.NewController -> config/controller.go Get of the
# ConfigMap in its namespace; workflowtemplate.NewInformer over all namespaces (a list/watch informer, Run
# exits fatally if it never syncs); workflow.NewWorkflowServer's Workflow reflector (ListFunc/WatchFunc on
# Workflows of all namespaces). Not used here: SSO (secrets, serviceaccounts), persistence (DB secrets),
# artifactDrivers (pods get), --tls-certificate-secret-name, ClusterWorkflowTemplates (turned off above).
SERVER_CLUSTER_RULES = [{"apiGroups": ["argoproj.io"], "resources": ["workflows", "workflowtemplates"],
                         "verbs": ["list", "watch"]}]
SERVER_NAMESPACE_RULES = [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [CONTROLLER_CONFIGMAP],
                           "verbs": ["get"]}]
SERVER_ROLE = f"{RELEASE}-server-caches"


def enabled(platform: Platform) -> bool:
    return any(t.pipelines for t in platform.teams)


def crd_files() -> list[str]:
    return [f"{CRD_DIR}/argoproj.io_{name}.yaml" for name in CRDS]


def _placement(name: str, platform: Platform) -> dict:
    controller = ha.controller(platform, name)
    return {
        "replicas": controller.replicas,
        "topologySpreadConstraints": ha.topology_spread(controller),
        "pdb": ha.disruption_budget(controller),
        "nodeSelector": dict(SYSTEM_POOL_LABELS),
        "priorityClassName": PLATFORM_SERVICES,
        "podSecurityContext": dict(CONTROLLER_SECURITY),
        # The CRD is not installed and nobody is granted ClusterWorkflowTemplates (see module docstring).
        "clusterWorkflowTemplates": {"enabled": False},
    }


def chart_values(platform: Platform) -> dict:
    """The chart's values; an image with a digest in platform/images.yaml runs by it (images.pinned)."""
    return with_overrides("argoWorkflows", pinned(CHART, {
        "crds": {"install": False},
        "createAggregateRoles": False,
        "singleNamespace": False,
        "workflow": {"rbac": {"create": False}},
        "controller": {
            **_placement("argo-workflow-controller", platform),
            # Above one replica the chart leaves leader election on (no LEADER_ELECTION_DISABLE).
            "rbac": {"secretWhitelist": [], "accessAllSecrets": False, "writeConfigMaps": False},
            "workflowDefaults": {"spec": {"securityContext": dict(POD_SECURITY)}},
        },
        "server": {
            **_placement("argo-server", platform),
            "serviceType": "ClusterIP",
            # The chart's server ClusterRole (templates/server/server-cluster-roles.yaml) grants secrets get,
            # pods delete and writes to every Argo kind in all namespaces; under client auth the server needs
            # none of it, so its account gets server_rbac() instead.
            "rbac": {"create": False},
            # Every UI/API call runs with the caller's own Kubernetes token (docs/argo-server-auth-mode.md
            # `client`), never the server's service account.
            "authModes": ["client"],
        },
        "executor": {"image": {"tag": f"{APP_VERSION}-nonroot"}, "securityContext": dict(EXECUTOR_SECURITY)},
        "mainContainer": {"securityContext": dict(_RESTRICTED_CONTAINER)},
    }), platform.charts.argo_workflows.values)


def namespace_objects(monitoring_namespace: str) -> list[dict]:
    """The argo namespace enforces `restricted`: the controller and server run as the images' non-root user
    with the chart's container securityContext (drop ALL, no privilege escalation; values.yaml
    controller/server.securityContext) and the pod seccomp profile set above. No port is called by the
    API server (no webhooks); the UI is reached by port-forward, which enters through the kubelet.
    Prometheus may scrape the controller's metrics. The server's account gets server_rbac()."""
    return [{"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": NAMESPACE, "labels": isolation.pod_security_labels(isolation.RESTRICTED)}},
            *isolation.system_network_policies(NAMESPACE, [], monitoring_namespace, [METRICS_PORT]),
            *server_rbac()]


def server_rbac() -> list[dict]:
    """The server account's rights: read Workflows and WorkflowTemplates for its caches, the controller's
    ConfigMap in its own namespace; nothing it could write or any Secret (SERVER_CLUSTER_RULES)."""
    subject = [{"kind": "ServiceAccount", "name": SERVER_ACCOUNT, "namespace": NAMESPACE}]

    def ref(kind: str) -> dict:
        return {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": SERVER_ROLE}

    return [
        {"apiVersion": RBAC_API, "kind": "ClusterRole", "metadata": {"name": SERVER_ROLE},
         "rules": [dict(r) for r in SERVER_CLUSTER_RULES]},
        {"apiVersion": RBAC_API, "kind": "ClusterRoleBinding", "metadata": {"name": SERVER_ROLE},
         "roleRef": ref("ClusterRole"), "subjects": subject},
        {"apiVersion": RBAC_API, "kind": "Role", "metadata": {"name": SERVER_ROLE, "namespace": NAMESPACE},
         "rules": [dict(r) for r in SERVER_NAMESPACE_RULES]},
        {"apiVersion": RBAC_API, "kind": "RoleBinding", "metadata": {"name": SERVER_ROLE, "namespace": NAMESPACE},
         "roleRef": ref("Role"), "subjects": subject},
    ]


def team_objects(platform: Platform, team: Team) -> list[dict]:
    """A team with pipelines: its KSA may do what Argo's executor needs, and its workflow pods (the wait
    container reports outputs through the API server) may reach the API server on 443
    (isolation.api_server_egress); nothing else in the namespace may."""
    if not team.pipelines:
        return []
    ns = team.name
    role = {"apiVersion": RBAC_API, "kind": "Role", "metadata": {"name": EXECUTOR_ROLE, "namespace": ns},
            "rules": [dict(r) for r in EXECUTOR_RULES]}
    binding = {"apiVersion": RBAC_API, "kind": "RoleBinding", "metadata": {"name": EXECUTOR_ROLE, "namespace": ns},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": EXECUTOR_ROLE},
               "subjects": [{"kind": "ServiceAccount", "name": ksa_name(team), "namespace": ns}]}
    egress = {"apiVersion": isolation.NETPOL_API, "kind": "NetworkPolicy",
              "metadata": {"name": "allow-egress-workflow-api-server", "namespace": ns},
              "spec": {"podSelector": {"matchExpressions": [{"key": WORKFLOW_POD_LABEL, "operator": "Exists"}]},
                       "policyTypes": ["Egress"],
                       "egress": isolation.api_server_egress(platform.network)}}
    return [role, binding, egress]
