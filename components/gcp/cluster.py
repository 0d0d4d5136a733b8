"""The regional, private GKE cluster with Workload Identity and Node Auto Provisioning."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.model import Platform, nap_limits
from components.model.names import cluster_name

from .hardening import ClusterHardening
from .network import PODS_RANGE, SERVICES_RANGE, Network
from .services import ProjectApis

CLOUD_PLATFORM = ["https://www.googleapis.com/auth/cloud-platform"]
SHIELDED = {"enable_secure_boot": True, "enable_integrity_monitoring": True}
MONITORED_COMPONENTS = [
    "SYSTEM_COMPONENTS", "APISERVER", "SCHEDULER", "CONTROLLER_MANAGER", "STORAGE", "HPA", "POD",
    "DAEMONSET", "DEPLOYMENT", "STATEFULSET", "KUBELET", "CADVISOR", "DCGM",
]


def autoscaling(platform: Platform, node_sa: pulumi.Input[str], boot_disk_key: pulumi.Input[str] | None = None) -> dict:
    """NAP config; limits are computed from every pool and NAP shape in the model."""
    nap = platform.node_auto_provisioning
    limits = nap_limits(platform)
    resource_limits = [
        {"resource_type": "cpu", "minimum": nap.min_cpu, "maximum": limits.cpu},
        {"resource_type": "memory", "minimum": nap.min_memory_gb, "maximum": limits.memory_gb},
    ] + [{"resource_type": gpu, "minimum": 0, "maximum": count} for gpu, count in sorted(limits.gpus.items())]
    return {
        "enabled": nap.enabled,
        "autoscaling_profile": "OPTIMIZE_UTILIZATION",
        "resource_limits": resource_limits,
        "auto_provisioning_locations": list(platform.zones),
        "auto_provisioning_defaults": {
            "service_account": node_sa,
            "oauth_scopes": CLOUD_PLATFORM,
            "disk_type": "pd-balanced",
            **({"boot_disk_kms_key": boot_disk_key} if boot_disk_key is not None else {}),
            "shielded_instance_config": SHIELDED,
            "management": {"auto_repair": True, "auto_upgrade": True},
            # Batch nodes are drained one at a time, never surged (GPU quota is the scarce thing).
            "upgrade_settings": {"strategy": "SURGE", "max_surge": 0, "max_unavailable": 1},
        },
    }


class GkeCluster(pulumi.ComponentResource):
    cluster: gcp.container.Cluster
    boot_disk_key: pulumi.Output[str] | None
    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    ca_certificate: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        platform: Platform,
        network: Network,
        node_sa: pulumi.Input[str],
        apis: ProjectApis,
        hardening: ClusterHardening,
        opts: pulumi.ResourceOptions | None = None,
        manager_networks: pulumi.Output[list] | None = None,
    ):
        """`manager_networks`: a fleet worker's extra authorized networks, its manager's NAT addresses."""
        super().__init__("gpu-batch:gcp:Cluster", name, None, opts)
        cfg = platform.cluster
        blocks = [{"cidr_block": n.cidr, "display_name": n.name} for n in platform.network.authorized_networks]
        self.cluster = gcp.container.Cluster(
            f"{name}-gke",
            name=cluster_name(platform),
            location=platform.region,
            node_locations=list(platform.zones),
            network=network.network.id,
            subnetwork=network.subnet.id,
            # Sizes every node's slice of the pod range (checked against podsCidr by the model);
            # NAP-created pools take this default too.
            default_max_pods_per_node=cfg.max_pods_per_node,
            ip_allocation_policy={
                "cluster_secondary_range_name": PODS_RANGE,
                "services_secondary_range_name": SERVICES_RANGE,
            },
            # Node pools are separate resources; the default pool is removed after creation, and
            # even that transient pool runs as the dedicated node account.
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config={"service_account": node_sa, "oauth_scopes": CLOUD_PLATFORM, "shielded_instance_config": SHIELDED,
                         **({"boot_disk_kms_key": hardening.boot_disk_key} if hardening.boot_disk_key is not None else {})},
            private_cluster_config={
                "enable_private_nodes": True,
                "enable_private_endpoint": cfg.private_endpoint,
                "master_ipv4_cidr_block": platform.network.master_cidr,
            },
            master_authorized_networks_config={
                "cidr_blocks": blocks if manager_networks is None else manager_networks.apply(lambda extra: blocks + extra),
                "gcp_public_cidrs_access_enabled": False,
            },
            workload_identity_config={"workload_pool": platform.workload_pool},
            # Google Groups for RBAC: RoleBindings to the teams' Google groups take effect only with it.
            authenticator_groups_config=(
                {"security_group": cfg.security_group} if cfg.security_group else None
            ),
            datapath_provider="ADVANCED_DATAPATH",
            enable_shielded_nodes=True,
            release_channel={"channel": cfg.release_channel},
            deletion_protection=cfg.deletion_protection,
            # The policy pack holds a production stack to its protection settings (production-keeps-protection).
            resource_labels={"environment": platform.environment},
            node_pool_defaults={"node_config_defaults": {"gcfs_config": {"enabled": True}}},
            addons_config={
                "gcs_fuse_csi_driver_config": {"enabled": True},
                "gce_persistent_disk_csi_driver_config": {"enabled": True},
                "gcp_filestore_csi_driver_config": {"enabled": True},
            },
            logging_config={"enable_components": ["SYSTEM_COMPONENTS", "WORKLOADS"]},
            monitoring_config={"enable_components": MONITORED_COMPONENTS, "managed_prometheus": {"enabled": True}},
            cluster_autoscaling=autoscaling(platform, node_sa, hardening.boot_disk_key),
            # KMS Secrets encryption, Binary Authorization, intranode visibility (stack's `security:`).
            **hardening.cluster_args(platform),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*apis.ready("cluster"), *hardening.ready],
                # node_config only shapes the transient default pool, and any change to it forces a
                # new cluster in the provider: it must never replace the cluster once it exists.
                ignore_changes=["nodeConfig", "initialNodeCount"],
                # Data and running work live in the cluster: a protected cluster cannot be destroyed or
                # replaced by `pulumi up`/`destroy` until someone runs `pulumi state unprotect`.
                protect=platform.data_protection.protect,
            ),
        )
        self.name = self.cluster.name
        self.boot_disk_key = hardening.boot_disk_key  # every node pool's boot disks (node_pools.py)
        # The endpoint the kubeconfig (and so the Kubernetes layer) targets: the private one when the
        # control plane has no public endpoint, else the public one (model.reachability checks that an
        # authorized network can reach it).
        self.endpoint = (
            self.cluster.private_cluster_config.apply(lambda c: c.private_endpoint)
            if cfg.private_endpoint else self.cluster.endpoint
        )
        self.ca_certificate = self.cluster.master_auth.cluster_ca_certificate
        self.register_outputs({"name": self.name, "endpoint": self.endpoint})
