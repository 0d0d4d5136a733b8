"""The one list of input fields whose change makes Pulumi replace a resource (delete + create).

Pulumi replaces a resource when its provider's diff marks a changed property as replace-forcing, or
when the property is in the resource's `replaceOnChanges` option. The offline plan has no provider,
so the forcing properties are listed here, per resource type, as input paths (camelCase, as captured).
A change at or below a listed path forces replacement.

Sources. GCP: pulumi-gcp is generated from terraform-provider-google, whose schema marks these
`ForceNew` (read at commit e03b7622a2 of hashicorp/terraform-provider-google, google/services/...:
`container/resource_container_cluster.go`, `container/resource_container_node_pool.go` + `node_config.go`,
`resource_storage_bucket.go`, `resource_compute_reservation.go`, `resource_compute_network.go`,
`resource_compute_subnetwork.go`, `resource_compute_router(_nat).go`, `resource_google_service_account.go`,
the IAM member resources); the Pulumi registry pages say "Changing this forces a new resource to be
created" for them, and the SDK docstrings (`.venv/.../pulumi_gcp`) say so for the few they mention
(NodePool `initialNodeCount`, Cluster `nodePools`, Account `accountId`). Kubernetes: an object's
identity is apiVersion/kind/metadata.name/namespace (pulumi-kubernetes replaces on any change of them);
RoleBinding `roleRef` and PriorityClass `value` are immutable (Kubernetes API validation); LocalQueue
`spec.clusterQueue` and AdmissionCheck `spec.controllerName` are immutable CEL rules of Kueue v0.19.2
(the vendored CRDs in platform/schemas/kueue), ResourceFlavor `spec.topologyName` too.
"""

from __future__ import annotations

K8S_IDENTITY = ("apiVersion", "kind", "metadata.name", "metadata.namespace")

REPLACE_ON: dict[str, tuple[str, ...]] = {
    "gcp:container/cluster:Cluster": (
        "name", "location", "project", "network", "subnetwork", "ipAllocationPolicy", "nodeConfig",
        "initialNodeCount", "nodePools", "datapathProvider", "networkingMode", "defaultMaxPodsPerNode",
        "clusterIpv4Cidr", "enableAutopilot", "enableKubernetesAlpha", "enableTpu", "confidentialNodes",
        "privateClusterConfig.masterIpv4CidrBlock", "privateClusterConfig.privateEndpointSubnetwork",
        "masterAuth.clientCertificateConfig", "userManagedKeysConfig", "description",
        # ForceNew in cluster_autoscaling.auto_provisioning_defaults (resource_container_cluster.go at
        # terraform-provider-google 0297605c): Node Auto Provisioning's boot-disk key replaces the cluster.
        "clusterAutoscaling.autoProvisioningDefaults.bootDiskKmsKey",
    ),
    "gcp:container/nodePool:NodePool": (
        "name", "namePrefix", "cluster", "location", "project", "initialNodeCount", "maxPodsPerNode",
        "placementPolicy", "queuedProvisioning", "networkConfig",
        "nodeConfig.guestAccelerators", "nodeConfig.serviceAccount", "nodeConfig.oauthScopes", "nodeConfig.spot",
        "nodeConfig.preemptible", "nodeConfig.shieldedInstanceConfig", "nodeConfig.reservationAffinity",
        "nodeConfig.minCpuPlatform", "nodeConfig.localSsdCount", "nodeConfig.sandboxConfig",
        "nodeConfig.advancedMachineFeatures", "nodeConfig.bootDiskKmsKey",
        # Also ForceNew in node_config.go schemaNodeConfig (terraform-provider-google at e03b762).
        "nodeConfig.metadata", "nodeConfig.ephemeralStorageLocalSsdConfig", "nodeConfig.localNvmeSsdBlockConfig",
        "nodeConfig.secondaryBootDisks", "nodeConfig.nodeGroup", "nodeConfig.soleTenantConfig",
        "nodeConfig.hostMaintenancePolicy", "nodeConfig.confidentialNodes", "nodeConfig.enableConfidentialStorage",
        "nodeConfig.localSsdEncryptionMode", "nodeConfig.maxRunDuration", "nodeConfig.flexStart",
    ),
    "gcp:storage/bucket:Bucket": ("name", "location", "project", "customPlacementConfig.dataLocations",
                                  "enableObjectRetention", "hierarchicalNamespace"),
    "gcp:compute/reservation:Reservation": (
        "name", "zone", "project", "specificReservationRequired", "specificReservation.instanceProperties",
        "shareSettings.shareType", "deleteAtTime", "deleteAfterDuration", "description",
    ),
    "gcp:compute/network:Network": ("name", "project", "autoCreateSubnetworks", "description"),
    "gcp:compute/subnetwork:Subnetwork": ("name", "project", "region", "network", "description"),
    "gcp:compute/router:Router": ("name", "project", "region", "network"),
    "gcp:compute/routerNat:RouterNat": ("name", "project", "region", "router"),
    "gcp:serviceaccount/account:Account": ("accountId", "project"),
    "gcp:projects/iAMMember:IAMMember": ("project", "role", "member", "condition"),
    "gcp:serviceaccount/iAMMember:IAMMember": ("serviceAccountId", "role", "member", "condition"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("bucket", "role", "member", "condition"),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": K8S_IDENTITY + ("roleRef",),
    "kubernetes:scheduling.k8s.io/v1:PriorityClass": K8S_IDENTITY + ("value",),
    "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue": K8S_IDENTITY + ("spec.clusterQueue",),
    "kubernetes:kueue.x-k8s.io/v1beta2:AdmissionCheck": K8S_IDENTITY + ("spec.controllerName",),
    "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor": K8S_IDENTITY + ("spec.topologyName",),
}


def forcing_paths(type_: str, replace_on_changes: list[str] | tuple[str, ...] = ()) -> tuple[str, ...]:
    """Input paths whose change replaces a resource of `type_` (plus its own `replaceOnChanges` option)."""
    base = REPLACE_ON.get(type_)
    if base is None and type_.startswith("kubernetes:") and ":helm.sh/" not in type_:
        base = K8S_IDENTITY
    return tuple(base or ()) + tuple(replace_on_changes)


_MISSING = object()


def _at(value, path: str):
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def forced_replacements(type_: str, old: dict, new: dict, ignore_changes: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The forcing paths of `type_` whose value differs between `old` and `new` inputs (minus ignoreChanges)."""
    ignored = set(ignore_changes)
    return [f for f in forcing_paths(type_) if f not in ignored and f.split(".")[0] not in ignored
            and _at(old, f) != _at(new, f)]


def forces_replacement(path: str, forcing: tuple[str, ...]) -> bool:
    """`path` (e.g. `nodeConfig.guestAccelerators[0].count`) is at or below a forcing path."""
    return any(path == f or path.startswith(f + ".") or path.startswith(f + "[") for f in forcing)
