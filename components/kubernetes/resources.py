"""Kubernetes-side ComponentResources. Each creates resources from manifests rendered in `render`."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.model import Platform

from . import argo, controller_config, render

# The built-in kinds the platform renders and the aliases their typed classes in pulumi-kubernetes 4.34.2
# add to every resource (each class's `_internal_init`: older API versions of the same kind).
BUILTIN_ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("v1", "Namespace"): (),
    ("v1", "ConfigMap"): (),
    ("v1", "ServiceAccount"): (),
    ("v1", "ResourceQuota"): (),
    ("v1", "LimitRange"): (),
    ("v1", "PersistentVolume"): (),
    ("v1", "PersistentVolumeClaim"): (),
    ("scheduling.k8s.io/v1", "PriorityClass"): ("scheduling.k8s.io/v1alpha1", "scheduling.k8s.io/v1beta1"),
    ("rbac.authorization.k8s.io/v1", "Role"): ("rbac.authorization.k8s.io/v1alpha1", "rbac.authorization.k8s.io/v1beta1"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("rbac.authorization.k8s.io/v1alpha1",
                                                       "rbac.authorization.k8s.io/v1beta1"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("rbac.authorization.k8s.io/v1alpha1",
                                                       "rbac.authorization.k8s.io/v1beta1"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("rbac.authorization.k8s.io/v1alpha1",
                                                              "rbac.authorization.k8s.io/v1beta1"),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("extensions/v1beta1",),
    ("storage.k8s.io/v1", "StorageClass"): ("storage.k8s.io/v1beta1",),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"): ("admissionregistration.k8s.io/v1alpha1",
                                                                        "admissionregistration.k8s.io/v1beta1"),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"): ("admissionregistration.k8s.io/v1alpha1",
                                                                               "admissionregistration.k8s.io/v1beta1"),
}
# The manifest fields each registration carries (a custom resource: its metadata and spec, as
# k8s.apiextensions.CustomResource takes them).
BUILTIN_FIELDS = frozenset({"metadata", "spec", "rules", "roleRef", "subjects", "value", "globalDefault",
                            "preemptionPolicy", "description", "data", "provisioner", "parameters", "reclaimPolicy",
                            "volumeBindingMode", "allowVolumeExpansion"})
CUSTOM_FIELDS = ("metadata", "spec")
SDK_VERSION = k8s._utilities.get_version()  # what every pulumi-kubernetes class sends, so the engine picks its plugin


def type_token(api_version: str, kind: str) -> str:
    """Pulumi's type for a Kubernetes kind: kubernetes:<group>/<version>:<kind>, the core group as `core`."""
    return f"kubernetes:{api_version if '/' in api_version else 'core/' + api_version}:{kind}"


def apply(logical_name: str, obj: dict, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """Create the resource for one rendered manifest; Pulumi tracks it like any other.

    Registered as a generic CustomResource carrying exactly the request the typed pulumi-kubernetes class
    would send (type, fields, SDK version, the class's aliases and options): the typed classes' input and
    output translation, which the engine never sees, cost a 330-team plan about a second.
    tests/kubernetes/test_kubernetes_registration.py compares both requests for every kind the stacks render.
    """
    api_version, kind = obj["apiVersion"], obj["kind"]
    aliases = BUILTIN_ALIASES.get((api_version, kind))
    if aliases is None:
        fields, sdk = CUSTOM_FIELDS, pulumi.ResourceOptions(version=SDK_VERSION)
        opts = pulumi.ResourceOptions.merge(opts, sdk)
    else:
        fields, sdk = BUILTIN_FIELDS, pulumi.ResourceOptions(
            version=SDK_VERSION, plugin_download_url=k8s._utilities.get_plugin_download_url())
        opts = pulumi.ResourceOptions.merge(sdk, opts)
        if aliases:  # appended after the caller's, as the class's second merge does (a new list: opts is ours)
            opts.aliases = [*(opts.aliases or []), *(pulumi.Alias(type_=type_token(older, kind)) for older in aliases)]
    props = {"apiVersion": api_version, "kind": kind, **{k: v for k, v in obj.items() if k in fields}}
    return pulumi.CustomResource(type_token(api_version, kind), logical_name, props, opts)


class PriorityClasses(pulumi.ComponentResource):
    """Batch tiers (low default, compact, high) and the class the platform controllers run at."""

    def __init__(self, name: str, objs: list[dict], opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:k8s:PriorityClasses", name, None, opts)
        for obj in objs:
            apply(f"{name}-{obj['metadata']['name']}", obj, pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


class BatchControllers(pulumi.ComponentResource):
    """JobSet and Kueue from their official OCI Helm charts, pinned, tracked in Pulumi state.

    helm.v4.Chart renders client-side, so every CRD, Deployment and webhook is a Pulumi resource of
    its own: the provider knows the CRDs during preview, and `depends_on` this component waits until
    the controller Deployments are ready (Kueue's webhooks answer only then).
    """

    kueue: k8s.helm.v4.Chart
    jobset: k8s.helm.v4.Chart

    def __init__(self, name: str, platform: Platform, priorities: PriorityClasses, objs: list[dict],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:k8s:BatchControllers", name, None, opts)
        # The namespaces (Pod Security labels) and their ingress NetworkPolicies, from render.controller_namespaces.
        namespaces: dict[str, pulumi.Resource] = {}
        short = {render.JOBSET_NAMESPACE: "jobset", render.KUEUE_NAMESPACE: "kueue"}
        for obj in objs:
            ns = obj["metadata"].get("namespace")
            if obj["kind"] == "Namespace":
                namespaces[obj["metadata"]["name"]] = apply(
                    f"{name}-{short[obj['metadata']['name']]}-ns", obj, pulumi.ResourceOptions(parent=self))
            else:
                apply(f"{name}-{short[ns]}-{obj['metadata']['name']}", obj,
                      pulumi.ResourceOptions(parent=self, depends_on=[namespaces[ns]]))
        jobset_ns, kueue_ns = namespaces[render.JOBSET_NAMESPACE], namespaces[render.KUEUE_NAMESPACE]
        self.jobset = k8s.helm.v4.Chart(
            f"{name}-jobset",
            chart=render.JOBSET_CHART,
            version=platform.versions.jobset,
            namespace=render.JOBSET_NAMESPACE,
            values=controller_config.jobset_values(platform),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[jobset_ns]),
        )
        # JobSet first: Kueue enables its JobSet integration when the CRD is there at start-up.
        self.kueue = k8s.helm.v4.Chart(
            f"{name}-kueue",
            chart=render.KUEUE_CHART,
            version=platform.versions.kueue,
            namespace=render.KUEUE_NAMESPACE,
            values=controller_config.kueue_values(platform),
            # Its pods run at the platform-services PriorityClass, which must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[kueue_ns, self.jobset, priorities]),
        )
        self.register_outputs({"kueueVersion": platform.versions.kueue, "jobsetVersion": platform.versions.jobset})


def _policies_and_bindings(component: pulumi.ComponentResource, name: str, objs: list[dict],
                           after: list[pulumi.Resource]) -> list[str]:
    """Each ValidatingAdmissionPolicy (after `after`), then each binding after its policy."""
    policies: dict[str, pulumi.Resource] = {}
    for obj in objs:
        if obj["kind"] == "ValidatingAdmissionPolicy":
            policies[obj["metadata"]["name"]] = apply(
                f"{name}-{obj['metadata']['name']}", obj, pulumi.ResourceOptions(parent=component, depends_on=after))
    for obj in objs:
        if obj["kind"] == "ValidatingAdmissionPolicyBinding":
            apply(f"{name}-{obj['metadata']['name']}-binding", obj, pulumi.ResourceOptions(
                parent=component, depends_on=[policies[obj["spec"]["policyName"]]]))
    return sorted(policies)


class QueuePriorityPolicy(pulumi.ComponentResource):
    """The ValidatingAdmissionPolicies that tie a job's priority to its queue class, and their bindings."""

    def __init__(self, name: str, objs: list[dict], controllers: BatchControllers,
                 opts: pulumi.ResourceOptions | None = None, crds: list[pulumi.Resource] | None = None):
        super().__init__("gpu-batch:k8s:QueuePriorityPolicy", name, None, opts)
        # After the JobSet CRD (and the Argo CRDs where installed) exist, so the API server can type-check
        # the JobSet and workflow policies.
        self.register_outputs({"policies": _policies_and_bindings(self, name, objs, [controllers.jobset, *(crds or [])])})


class Pipelines(pulumi.ComponentResource):
    """Argo Workflows from its official Helm chart, pinned (components/kubernetes/argo.py): its namespace,
    NetworkPolicies and the server's RBAC, the full CRDs from the vendored files, then the chart on the system pool.

    The CRDs are yaml/v2 ConfigFiles, applied through the cluster's provider, which uses server-side apply
    (layer.py enable_server_side_apply): the Workflow CRD alone is over 2 MB of YAML, past what a
    client-side apply's last-applied annotation can hold. The chart waits for them, since the controller
    does not start until their informers sync.
    """

    def __init__(self, name: str, platform: Platform, objs: list[dict], priorities: PriorityClasses,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:k8s:Pipelines", name, None, opts)
        ns_obj, rest = objs[0], objs[1:]
        ns = apply(f"{name}-namespace", ns_obj, pulumi.ResourceOptions(parent=self))
        # NetworkPolicies and the server's RBAC (argo.server_rbac), in place before the server starts.
        applied = [apply(f"{name}-{obj['metadata']['name']}", obj, pulumi.ResourceOptions(parent=self, depends_on=[ns]))
                   for obj in rest]
        self.crds: list[pulumi.Resource] = [
            k8s.yaml.v2.ConfigFile(f"{name}-crd-{crd}", file=path, opts=pulumi.ResourceOptions(parent=self))
            for crd, path in zip(argo.CRDS, argo.crd_files())]
        self.chart = k8s.helm.v4.Chart(
            f"{name}-argo-workflows",
            name=argo.RELEASE,
            chart=argo.CHART,
            version=platform.versions.argo_workflows,
            repository_opts={"repo": argo.CHART_REPO},
            namespace=argo.NAMESPACE,
            values=argo.chart_values(platform),
            # Its pods run at platform-services, which must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, *applied, *self.crds, priorities]),
        )
        self.register_outputs({"chartVersion": platform.versions.argo_workflows, "serverService": argo.SERVER_SERVICE})


class ServiceTypePolicy(pulumi.ComponentResource):
    """The ClusterIP-only Service policy of the team namespaces and its binding (render.Manifests.services)."""

    def __init__(self, name: str, objs: list[dict], opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:k8s:ServiceTypePolicy", name, None, opts)
        self.register_outputs({"policies": _policies_and_bindings(self, name, objs, [])})


class DiskEncryption(pulumi.ComponentResource):
    """The default StorageClass with the stack's disk key and the policy holding team claims to it
    (render.Manifests.storage, components/kubernetes/storage.py)."""

    def __init__(self, name: str, objs: list[dict], opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:k8s:DiskEncryption", name, None, opts)
        classes = [apply(f"{name}-{o['metadata']['name']}", o, pulumi.ResourceOptions(parent=self))
                   for o in objs if o["kind"] == "StorageClass"]
        # The class exists before claims are held to it.
        self.register_outputs({"policies": _policies_and_bindings(self, name, objs, classes)})


class KueueCapacity(pulumi.ComponentResource):
    """Shared Kueue objects: one ResourceFlavor per pool/NAP shape, the cohorts and the DWS path."""

    def __init__(self, name: str, objs: render.Manifests, controllers: BatchControllers,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:k8s:KueueCapacity", name, None, opts)
        after_kueue = pulumi.ResourceOptions(parent=self, depends_on=[controllers.kueue])
        self.flavors = {
            f["metadata"]["name"]: apply(f"{name}-flavor-{f['metadata']['name']}", f, after_kueue) for f in objs.flavors
        }
        self.cohorts = {
            c["metadata"]["name"]: apply(f"{name}-cohort-{c['metadata']['name']}", c, after_kueue) for c in objs.cohorts
        }
        self.dws_queue: pulumi.CustomResource | None = None
        if objs.dws:
            prc, check, queue = objs.dws
            prc_res = apply(f"{name}-dws-config", prc, after_kueue)
            check_res = apply(f"{name}-dws-check", check,
                              pulumi.ResourceOptions(parent=self, depends_on=[prc_res, controllers.kueue]))
            # Destroy order falls out of the edges: queue, then check and flavor, then the controller.
            self.dws_queue = apply(f"{name}-dws-queue", queue, pulumi.ResourceOptions(
                parent=self, depends_on=[check_res, *self.queue_dependencies(queue), controllers.kueue]))
        self.register_outputs({"flavors": sorted(self.flavors)})

    def queue_dependencies(self, cluster_queue: dict) -> list[pulumi.Resource]:
        """Exactly what a ClusterQueue needs first: the flavors it lists and its own cohort."""
        spec = cluster_queue["spec"]
        used = [f["name"] for group in spec["resourceGroups"] for f in group["flavors"]]
        cohort = spec.get("cohortName")
        return [self.flavors[n] for n in used] + ([self.cohorts[cohort]] if cohort else [])


class TeamTenancy(pulumi.ComponentResource):
    """A team's namespace, Workload-Identity KSA, RBAC, GPU ceiling, defaults and network isolation."""

    def __init__(self, name: str, objs: list[dict], opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:k8s:TeamTenancy", name, None, opts)
        ns_obj, rest = objs[0], objs[1:]
        self.namespace = apply(f"{name}-namespace", ns_obj, pulumi.ResourceOptions(parent=self))
        after: list[pulumi.Resource] = [self.namespace]
        for obj in rest:
            # A team has several NetworkPolicies, and with pipelines a second Role and RoleBinding (argo.py);
            # the others once.
            named = obj["kind"] == "NetworkPolicy" or obj["metadata"]["name"] == argo.EXECUTOR_ROLE
            suffix = f"-{obj['metadata']['name']}" if named else ""
            created = apply(f"{name}-{obj['kind'].lower()}{suffix}", obj, pulumi.ResourceOptions(parent=self, depends_on=list(after)))
            if obj["kind"] == "PersistentVolume":
                after.append(created)  # the claim binds to its volume, which therefore exists first
        self.register_outputs({"namespace": ns_obj["metadata"]["name"]})


class TeamQueues(pulumi.ComponentResource):
    """The team's ClusterQueues (high / low / compact) in its cohort and a LocalQueue per class."""

    def __init__(self, name: str, objs: render.TeamManifests, tenancy: TeamTenancy,
                 capacity: KueueCapacity, controllers: BatchControllers, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:k8s:TeamQueues", name, None, opts)
        cluster_queues: dict[str, pulumi.Resource] = {}
        for cq in objs.cluster_queues:
            cluster_queues[cq["metadata"]["name"]] = apply(
                f"{name}-cq-{cq['metadata']['labels'][f'{render.LABEL_PREFIX}/class']}", cq,
                pulumi.ResourceOptions(parent=self, depends_on=[controllers.kueue, *capacity.queue_dependencies(cq)]),
            )
        if capacity.dws_queue is not None:
            cluster_queues[render.DWS] = capacity.dws_queue
        for lq in objs.local_queues:
            target = lq["spec"]["clusterQueue"]
            apply(f"{name}-lq-{lq['metadata']['name']}", lq, pulumi.ResourceOptions(
                parent=self, depends_on=[tenancy.namespace, cluster_queues[target], controllers.kueue],
                # spec.clusterQueue is immutable (CEL): retargeting replaces the LocalQueue.
                replace_on_changes=["spec.clusterQueue"], delete_before_replace=True,
            ))
        self.register_outputs({"clusterQueues": sorted(cluster_queues)})


__all__ = ["BatchControllers", "KueueCapacity", "Pipelines", "PriorityClasses", "QueuePriorityPolicy",
           "ServiceTypePolicy", "TeamQueues", "TeamTenancy", "apply"]
