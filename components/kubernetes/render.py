"""Pure functions: the model in, Kubernetes manifests (plain dicts) out.

Nothing here talks to Pulumi, so every object can be validated against the upstream schemas and
unit-tested without mocks. Components in this package only create resources from these dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from components.model import Flavor, Platform, flavors, per_gpu
from components.model import fleet, queue_classes
from components.model.flavors import GPU_RESOURCE, LABEL_PREFIX
from components.model.derived import per_platform
from components.model.ledger import ledger
from components.model.names import ksa_name, team_account_id
from components.model.priorities import DWS
from components.model.schema import FlavorQuota, Team

from . import argo, isolation, storage
from .admission import admission_objects, priority_classes
from .controllers import JOBSET_WEBHOOK_PORT, KUEUE_VISIBILITY_PORT, KUEUE_WEBHOOK_PORT
from .datasets import ShareRef, claim, stand_in_shares, volume

KUEUE_API = "kueue.x-k8s.io/v1beta2"
KUEUE_NAMESPACE = "kueue-system"
JOBSET_NAMESPACE = "jobset-system"
KUEUE_CHART = "oci://registry.k8s.io/kueue/charts/kueue"
JOBSET_CHART = "oci://registry.k8s.io/jobset/charts/jobset"
TEAM_LABEL = f"{LABEL_PREFIX}/team"
# Kueue's job webhooks and queue-name enforcement apply only to namespaces carrying this label,
# so a Kueue outage can never block system charts (kube-system, monitoring, ...).
MANAGED_LABEL = f"{LABEL_PREFIX}/kueue-managed"
COVERED_RESOURCES = ["cpu", "memory", GPU_RESOURCE]
DWS_CONFIG = "dws-config"
# GKE labels queued-provisioning nodes with the name of the resize request that created them.
DWS_REQUEST_LABEL = "autoscaling.gke.io/provisioning-request"

def meta(name: str, namespace: Optional[str] = None, **extra: Any) -> dict:
    out: dict = {"name": name}
    if namespace:
        out["namespace"] = namespace
    out.update({k: v for k, v in extra.items() if v})
    return out


def cluster_queue_name(team: Team, cls: str) -> str:
    return f"{team.name}-{cls}"


# ---------------------------------------------------------------- cluster-wide objects

def resource_flavor(flavor: Flavor) -> dict:
    """Selects exactly the nodes the pool (or NAP) creates, and tolerates every taint they carry.

    `tolerations`, not `nodeTaints` (D1): Kueue assigns a flavor only if the pod template plus the
    flavor's tolerations tolerate its nodeTaints, and injects only the flavor's tolerations into
    admitted pods (flavorassigner.go checkFlavorForPodSets; podset.go FromAssignment). With the taints
    as tolerations a minimal job (queue label + GPU request) is admitted and its pods tolerate the
    node; pods that Kueue did not admit still tolerate none of the taints, so they stay off GPU nodes.
    """
    return {
        "apiVersion": KUEUE_API,
        "kind": "ResourceFlavor",
        "metadata": meta(flavor.name, labels={f"{LABEL_PREFIX}/capacity": flavor.capacity}),
        "spec": {
            "nodeLabels": dict(sorted(flavor.node_labels.items())),
            "tolerations": flavor.tolerations,
        },
    }


def cohorts(platform: Platform) -> list[dict]:
    names = sorted({t.cohort for t in platform.teams if t.cohort})
    return [{"apiVersion": KUEUE_API, "kind": "Cohort", "metadata": meta(n), "spec": {}} for n in names]


def _quantity(flavor: Flavor, gpus: int) -> dict[str, str | int]:
    """cpu and memory follow GPUs by each GPU's share of the node's allocatable (after GKE's
    reservations and the GPU-node DaemonSets), so a job sized to the quota fits one node."""
    return {**per_gpu(flavor.machine, flavor.gpu_units_per_node).times(gpus).quantities(), GPU_RESOURCE: str(gpus)}


def _flavor_quota(flavor: Flavor, quota: FlavorQuota | None, gpus: int | None = None) -> dict:
    nominal = _quantity(flavor, quota.gpus if quota else gpus)
    limits = {key: _quantity(flavor, value) for key, value in
              (("borrowingLimit", quota and quota.borrowing_limit), ("lendingLimit", quota and quota.lending_limit))
              if value is not None}
    return {
        "name": flavor.name,
        "resources": [{"name": r, "nominalQuota": nominal[r], **{k: v[r] for k, v in limits.items()}}
                      for r in COVERED_RESOURCES],
    }


def team_cluster_queues(platform: Platform, team: Team) -> list[dict]:
    all_flavors = flavors(platform)
    queues = []
    for cls, quotas in team.queues.by_class():
        if not quotas:
            continue
        spec = {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": team.name}},
            "resourceGroups": [{
                "coveredResources": COVERED_RESOURCES,
                "flavors": [_flavor_quota(all_flavors[q.flavor], q) for q in quotas],
            }],
            **queue_classes.BY_NAME[cls].kueue_policy,
        }
        if team.cohort:
            spec["cohortName"] = team.cohort
        if cls in fleet.dispatched(platform):  # admitted here, run on a worker (components/kubernetes/multikueue.py)
            spec["admissionChecksStrategy"] = {"admissionChecks": [{"name": fleet.ADMISSION_CHECK}]}
        queues.append({
            "apiVersion": KUEUE_API,
            "kind": "ClusterQueue",
            "metadata": meta(cluster_queue_name(team, cls), labels={TEAM_LABEL: team.name, f"{LABEL_PREFIX}/class": cls}),
            "spec": spec,
        })
    return queues


def local_queue(team: Team, name: str, cluster_queue: str) -> dict:
    return {
        "apiVersion": KUEUE_API,
        "kind": "LocalQueue",
        "metadata": meta(name, team.name, labels={TEAM_LABEL: team.name}),
        "spec": {"clusterQueue": cluster_queue},
    }


def dws_objects(platform: Platform) -> list[dict]:
    """The Dynamic Workload Scheduler path: GKE provisions a whole job's nodes at once, or not at all."""
    if platform.dws is None:
        return []
    flavor = flavors(platform)[platform.dws.flavor]
    granted = sorted(t.name for t in platform.teams if t.dws)
    return [
        {
            "apiVersion": KUEUE_API,
            "kind": "ProvisioningRequestConfig",
            "metadata": meta(DWS_CONFIG),
            "spec": {
                "provisioningClassName": "queued-provisioning.gke.io",
                "managedResources": [GPU_RESOURCE],
                # Pin the job's pods to the nodes provisioned for its own request, so DWS jobs never
                # land on each other's capacity (GKE's value for Kueue, kubernetes-sigs/kueue#9048).
                "podSetUpdates": {"nodeSelector": [{"key": DWS_REQUEST_LABEL,
                                                    "valueFromProvisioningClassDetail": "ResizeRequestName"}]},
                "retryStrategy": {"backoffLimitCount": 3, "backoffBaseSeconds": 60, "backoffMaxSeconds": 1800},
            },
        },
        {
            "apiVersion": KUEUE_API,
            "kind": "AdmissionCheck",
            "metadata": meta(DWS),
            "spec": {
                "controllerName": "kueue.x-k8s.io/provisioning-request",
                "parameters": {"apiGroup": "kueue.x-k8s.io", "kind": "ProvisioningRequestConfig", "name": DWS_CONFIG},
            },
        },
        {
            "apiVersion": KUEUE_API,
            "kind": "ClusterQueue",
            "metadata": meta(DWS, labels={f"{LABEL_PREFIX}/class": DWS}),
            "spec": {
                # Only the granted teams, never `{}` (all namespaces) as in the reference.
                "namespaceSelector": {"matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": granted}]},
                "queueingStrategy": "BestEffortFIFO",
                "resourceGroups": [{
                    "coveredResources": COVERED_RESOURCES,
                    "flavors": [_flavor_quota(flavor, None, platform.dws.gpus)],
                }],
                # A fleet manager that dispatches DWS jobs only reserves quota: the worker's own DWS queue
                # provisions (MultiKueueWaitForWorkloadAdmitted keeps copies until one worker is fully admitted).
                "admissionChecksStrategy": {"admissionChecks": [{"name": fleet.ADMISSION_CHECK}]}
                if DWS in fleet.dispatched(platform) else
                {"admissionChecks": [{"name": DWS, "onFlavors": [flavor.name]}]},
            },
        },
    ]


# ---------------------------------------------------------------- per-team tenancy

def namespace(team: Team) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": meta(team.name, labels={TEAM_LABEL: team.name, MANAGED_LABEL: "true",
                                            **isolation.pod_security_labels(isolation.TEAM_LEVEL)}),
    }


def service_account(team: Team, gsa_email: Any) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(ksa_name(team), team.name, annotations={"iam.gke.io/gcp-service-account": gsa_email}),
    }


def team_role(team: Team) -> dict:
    """Submit and watch the team's own workloads, queues and pending positions; nothing cluster-wide, no secrets."""
    rules = [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch", "create", "delete", "patch"]},
        {"apiGroups": ["jobset.x-k8s.io"], "resources": ["jobsets"], "verbs": ["get", "list", "watch", "create", "delete", "patch"]},
        {"apiGroups": [""], "resources": ["configmaps", "services"], "verbs": ["get", "list", "watch", "create", "delete"]},
        # A team's model server (components/workloads/serving.py); its pods are admitted by Kueue.
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch", "create", "delete", "patch"]},
        {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["get", "list", "watch", "create", "delete", "patch"]},
        {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["get", "list", "watch", "create", "delete", "patch"]},
        {"apiGroups": [""], "resources": ["pods", "pods/log", "events"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["kueue.x-k8s.io"], "resources": ["workloads", "localqueues"], "verbs": ["get", "list", "watch"]},
        # Kueue's visibility API: the team's own pending workloads and their positions (docs
        # monitor_pending_workloads/pending_workloads_on_demand.md "Local Queue visibility via kubectl").
        {"apiGroups": ["visibility.kueue.x-k8s.io"], "resources": ["localqueues/pendingworkloads"],
         "verbs": ["get", "list", "watch"]},
        # Argo Workflows, for a team with pipelines (components/kubernetes/argo.py).
        *(argo.MEMBER_RULES if team.pipelines else []),
    ]
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": meta("batch-user", team.name), "rules": rules}


def team_role_binding(team: Team) -> Optional[dict]:
    if not team.members:
        return None
    kinds = {"user": "User", "group": "Group", "serviceAccount": "User", "domain": "Group"}
    subjects = [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": kinds[m.split(":", 1)[0]], "name": m.split(":", 1)[1]}
        for m in team.members
    ]
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta("batch-user", team.name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "batch-user"},
        "subjects": subjects,
    }


def resource_quota(platform: Platform, team: Team) -> dict:
    """Caps the GPUs of the team's pods at the most Kueue can ever admit for it (components/model/ledger.py),
    so pods that bypass Kueue can never exceed the team's share."""
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": meta("gpu-ceiling", team.name),
        "spec": {"hard": {f"requests.{GPU_RESOURCE}": str(ledger(platform).team_gpu_ceiling(team))}},
    }


def limit_range(team: Team) -> dict:
    """Default *requests* only. Kueue assigns a flavor only to workloads that request covered
    resources, so a container without requests gets some. No `default` (limits): the LimitRanger
    applies default limits to every container without limits, and one that requests more than them
    becomes invalid (requests must not exceed limits; Kubernetes "Limit Ranges")."""
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": meta("defaults", team.name),
        "spec": {"limits": [{"type": "Container", "defaultRequest": {"cpu": "1", "memory": "4Gi"}}]},
    }


# Prometheus runs here (components/monitoring); team pods accept its scrapes (design D7).
MONITORING_NAMESPACE = "monitoring"
KUEUE_METRICS_PORT = 8443  # controller_config's metrics.bindAddress, scraped by the ServiceMonitor


def controller_namespaces() -> list[dict]:
    """kueue-system and jobset-system: restricted pods (both charts' defaults comply, see isolation.py)
    and ingress limited to the ports the API server calls, plus Kueue's metrics from monitoring."""
    objs = []
    for ns, api_ports, metrics in ((KUEUE_NAMESPACE, [KUEUE_WEBHOOK_PORT, KUEUE_VISIBILITY_PORT], [KUEUE_METRICS_PORT]),
                                   (JOBSET_NAMESPACE, [JOBSET_WEBHOOK_PORT], [])):
        objs.append({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": meta(ns, labels=isolation.pod_security_labels(isolation.RESTRICTED))})
        objs += isolation.system_network_policies(ns, sorted(set(api_ports)), MONITORING_NAMESPACE, metrics)
    return objs


def team_objects(platform: Platform, team: Team, gsa_email: Any, share: Optional[ShareRef]) -> list[dict]:
    objs = [namespace(team), service_account(team, gsa_email), team_role(team), team_role_binding(team),
            resource_quota(platform, team), limit_range(team),
            *isolation.team_network_policies(platform, team, MONITORING_NAMESPACE), *argo.team_objects(platform, team),
            volume(team, share) if share else None, claim(team)]
    return [o for o in objs if o]


def team_local_queues(team: Team) -> list[dict]:
    lqs = [local_queue(team, cls, cluster_queue_name(team, cls))
           for cls, quotas in team.queues.by_class() if quotas]
    if team.dws:
        lqs.append(local_queue(team, DWS, DWS))
    return lqs


# ---------------------------------------------------------------- the whole set, rendered once

@dataclass(frozen=True)
class TeamManifests:
    tenancy: list[dict]  # the Namespace first, then what lives in it
    cluster_queues: list[dict]
    local_queues: list[dict]


@dataclass(frozen=True)
class Manifests:
    """Every object the Kubernetes layer applies (charts aside). The components create exactly these,
    and validation checks exactly these, so nothing can be applied without being validated."""

    priority_classes: list[dict]
    controllers: list[dict]  # kueue-system and jobset-system: Namespaces, then their NetworkPolicies
    admission: list[dict]  # the queue/priority ValidatingAdmissionPolicies and their bindings
    services: list[dict]  # the ClusterIP-only Service policy of team namespaces and its binding
    flavors: list[dict]
    cohorts: list[dict]
    dws: list[dict]  # ProvisioningRequestConfig, AdmissionCheck, ClusterQueue; empty without DWS
    teams: dict[str, TeamManifests]
    pipelines: list[dict]  # the argo namespace and its NetworkPolicies; empty when no team has pipelines
    storage: list[dict]  # the encrypted default StorageClass and the team-claim policy; empty without a disk key

    def all(self) -> list[dict]:
        objs = (self.priority_classes + self.controllers + self.admission + self.services + self.flavors + self.cohorts
                + self.dws + self.pipelines + self.storage)
        for team in self.teams.values():
            objs += team.tenancy + team.cluster_queues + team.local_queues
        return objs


def manifests(platform: Platform, gsa_emails: Mapping[str, Any], shares: Mapping[str, ShareRef]) -> Manifests:
    """`shares`: each team with datasets -> where its Filestore share is (datasets.stand_in_shares before it exists)."""
    return Manifests(
        priority_classes=priority_classes(),
        controllers=controller_namespaces(),
        admission=admission_objects({MANAGED_LABEL: "true"}),
        services=[isolation.service_type_policy(), isolation.service_type_binding({MANAGED_LABEL: "true"})],
        flavors=[resource_flavor(f) for f in flavors(platform).values()],
        cohorts=cohorts(platform),
        dws=dws_objects(platform),
        teams={
            team.name: TeamManifests(
                tenancy=team_objects(platform, team, gsa_emails[team.name], shares.get(team.name)),
                cluster_queues=team_cluster_queues(platform, team),
                local_queues=team_local_queues(team),
            )
            for team in platform.teams
        },
        pipelines=argo.namespace_objects(MONITORING_NAMESPACE) if argo.enabled(platform) else [],
        storage=storage.storage_objects(platform, {MANAGED_LABEL: "true"}),
    )


@per_platform
def planned_manifests(platform: Platform) -> Manifests:
    """The objects before anything exists, built once per platform: each KSA annotated with the e-mail GCP
    derives from its account id (the same string the real output will hold) and each dataset share at its
    stand-in address. What the validation checks and the cost picture names; read it, never change it."""
    emails = {t.name: f"{team_account_id(platform, t)}@{platform.project}.iam.gserviceaccount.com" for t in platform.teams}
    return manifests(platform, emails, stand_in_shares(platform))
