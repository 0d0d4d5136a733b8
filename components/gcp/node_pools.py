"""Node pools: the system pool and one GPU pool per static flavor of the model.

Pools and reservations carry no explicit `name`: Pulumi auto-names them (`<logical name>-<random>`)
and picks a new name on replacement, so a change to a field that forces a new pool (see
`components/review/replace.py`) creates the new pool first and deletes the old one after, instead
of deleting GPU capacity first or colliding on the name. Kueue and the workloads select nodes by the
`batch-platform/flavor` label, never by pool name, so the flavor stays stable across the swap.

The one exception is a reserved pool: it consumes its SPECIFIC_RESERVATION in full, so a successor
created first would find no reserved machine left and wait until the create timeout fails (GKE "Ensure
resources for node upgrades": nodes of a pool with specific reservation affinity count against the
reservation's capacity). A reserved pool is therefore replaced delete-first, and `plan`/`diff` say
that its reserved capacity is gone until the new pool is up.
"""

from __future__ import annotations

import math

import pulumi
import pulumi_gcp as gcp

from components.model import Flavor, Platform, Provisioning
from components.model.flavors import SYSTEM_POOL_LABELS
from components.model.nat import SYSTEM_POOL_SURGE

from .cluster import CLOUD_PLATFORM, SHIELDED, GkeCluster
from .services import ProjectApis

GPU_POOL_TIMEOUTS = pulumi.CustomTimeouts(create="30m", update="20m")
# GKE "Ensure resources for node upgrades" (https://cloud.google.com/kubernetes-engine/docs/how-to/node-upgrades-quota):
# surge nodes count against quota and, for pools with specific reservation affinity, against the
# reservation's capacity. A fully used reservation has no room for a surge node, so reserved pools
# (and GPU pools generally, where surge capacity is the scarce thing) upgrade one node at a time in place.
IN_PLACE_UPGRADE = {"strategy": "SURGE", "max_surge": 0, "max_unavailable": 1}
# The system pool is cheap CPU: a surge node keeps the controllers' capacity during the upgrade.
SURGE_UPGRADE = {"strategy": "SURGE", "max_surge": SYSTEM_POOL_SURGE, "max_unavailable": 0}


def upgrade_settings(provisioning: Provisioning) -> dict | None:
    """Upgrade settings per provisioning type; None for DWS.

    Queued-provisioning pools get GKE's SHORT_LIVED strategy ("the dedicated upgrade strategy for
    QueuedProvisioning and flex start node pools", GKE API NodePoolUpdateStrategy): their nodes are
    never upgraded in place but replaced by the next request. The provider accepts only SURGE or
    BLUE_GREEN, so nothing is set and GKE chooses.
    """
    return None if provisioning is Provisioning.DWS else IN_PLACE_UPGRADE


def _node_config(platform: Platform, node_sa: pulumi.Input[str], machine_type: str,
                 boot_disk_key: pulumi.Input[str] | None, **extra) -> dict:
    return {
        "machine_type": machine_type,
        "service_account": node_sa,
        "oauth_scopes": CLOUD_PLATFORM,
        "shielded_instance_config": SHIELDED,
        # Pods get their identity from Workload Identity, never from the node's account.
        "workload_metadata_config": {"mode": "GKE_METADATA"},
        "gcfs_config": {"enabled": True},
        "disk_type": "pd-balanced",
        **({"boot_disk_kms_key": boot_disk_key} if boot_disk_key is not None else {}),
        **extra,
    }


def system_initial_nodes(platform: Platform) -> int:
    """Per-zone start size that gives the pool at least minNodes in total (initial_node_count is per zone)."""
    return max(1, math.ceil(platform.cluster.system_pool.min_nodes / len(platform.zones)))


class SystemNodePool(pulumi.ComponentResource):
    """CPU nodes for the platform's controllers (Kueue, JobSet, monitoring); never GPUs."""

    pool: gcp.container.NodePool

    def __init__(self, name: str, platform: Platform, cluster: GkeCluster, node_sa: pulumi.Input[str],
                 apis: ProjectApis, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:gcp:SystemNodePool", name, None, opts)
        spec = platform.cluster.system_pool
        self.pool = gcp.container.NodePool(
            f"{name}-pool",
            max_pods_per_node=platform.cluster.max_pods_per_node,
            cluster=cluster.cluster.id,
            location=platform.region,
            node_locations=list(platform.zones),
            # Nodes exist when the pool is created, so the Kubernetes layer (which waits for this pool)
            # never waits on the autoscaler to bring up the controllers' first node.
            initial_node_count=system_initial_nodes(platform),
            autoscaling={
                "total_min_node_count": spec.min_nodes,
                "total_max_node_count": spec.max_nodes,
                "location_policy": "BALANCED",
            },
            management={"auto_repair": True, "auto_upgrade": True},
            upgrade_settings=SURGE_UPGRADE,
            node_config=_node_config(platform, node_sa, spec.machine_type, cluster.boot_disk_key, labels=SYSTEM_POOL_LABELS),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=apis.ready("node-pool"),
                # Only the creation size; changing it would force a new pool while the autoscaler owns the size.
                ignore_changes=["initialNodeCount"],
            ),
        )
        self.register_outputs({"name": self.pool.name})


def reservation_affinity(flavor: Flavor, reservation: gcp.compute.Reservation | None) -> dict:
    if reservation is not None:
        # Referenced through the resource, so the pool waits for the reservation to exist.
        return {
            "consume_reservation_type": "SPECIFIC_RESERVATION",
            "key": "compute.googleapis.com/reservation-name",
            "values": [reservation.name],
        }
    # Spot, on-demand and DWS capacity must never eat into a reservation meant for another pool.
    return {"consume_reservation_type": "NO_RESERVATION"}


class GpuNodePool(pulumi.ComponentResource):
    """One GPU node pool (and, for reserved capacity, the reservation it consumes) from one flavor."""

    pool: gcp.container.NodePool
    reservation: gcp.compute.Reservation | None

    def __init__(self, name: str, platform: Platform, flavor: Flavor, cluster: GkeCluster,
                 node_sa: pulumi.Input[str], apis: ProjectApis, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:gcp:GpuNodePool", name, None, opts)
        pool = flavor.source
        zones = list(pool.zones or platform.zones)
        provisioning = pool.provisioning
        self.reservation = None
        if provisioning is Provisioning.RESERVED:
            self.reservation = gcp.compute.Reservation(
                f"{name}-reservation",
                zone=zones[0],
                description=f"{platform.name_prefix}: reserved capacity of GPU pool {pool.name}",
                specific_reservation_required=True,
                specific_reservation={
                    "count": pool.reserved_nodes,
                    "instance_properties": {
                        "machine_type": pool.machine_type,
                        "guest_accelerators": [{"accelerator_type": flavor.accelerator, "accelerator_count": flavor.gpus_per_node}],
                    },
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=apis.ready("reservation"), delete_before_replace=False),
            )
        sizing: dict = (
            {"node_count": pool.reserved_nodes}
            if provisioning is Provisioning.RESERVED
            else {
                "initial_node_count": 0,
                "autoscaling": {
                    "total_min_node_count": pool.min_nodes,
                    "total_max_node_count": pool.max_nodes,
                    "location_policy": "ANY",
                },
            }
        )
        node_config = _node_config(
            platform,
            node_sa,
            pool.machine_type,
            cluster.boot_disk_key,
            labels=flavor.own_labels,
            taints=[t.for_gke() for t in flavor.own_taints],
            guest_accelerators=[{
                "type": flavor.accelerator,
                "count": flavor.gpus_per_node,
                "gpu_driver_installation_config": {"gpu_driver_version": flavor.gpu_driver},
                # GPU sharing pools: GKE labels the nodes and advertises the shared units (model/sharing.py).
                **(flavor.sharing.accelerator_args() if flavor.sharing else {}),
            }],
            reservation_affinity=reservation_affinity(flavor, self.reservation),
            spot=provisioning is Provisioning.SPOT,
            # GKE "Increase network traffic speed for GPU nodes": gVNIC raises a GPU node's network
            # bandwidth (multi-node DDP and JobSets); the nodes run COS, which it requires.
            gvnic={"enabled": True},
            # GKE: flex-start with queued provisioning needs --flex-start and --enable-queued-provisioning
            # on the pool ("Run a large-scale workload with flex-start with queued provisioning").
            **({"flex_start": True} if provisioning is Provisioning.DWS else {}),
        )
        upgrades = upgrade_settings(provisioning)
        self.pool = gcp.container.NodePool(
            f"{name}-pool",
            max_pods_per_node=platform.cluster.max_pods_per_node,
            cluster=cluster.cluster.id,
            location=platform.region,
            node_locations=zones,
            # GKE's queued-provisioning guide creates DWS pools without auto-repair: a repair would
            # recreate a node outside the request that provisioned it.
            management={"auto_repair": provisioning is not Provisioning.DWS, "auto_upgrade": True},
            node_config=node_config,
            queued_provisioning={"enabled": True} if provisioning is Provisioning.DWS else None,
            **({"upgrade_settings": upgrades} if upgrades else {}),
            opts=pulumi.ResourceOptions(
                parent=self, custom_timeouts=GPU_POOL_TIMEOUTS, depends_on=apis.ready("node-pool"),
                # Create the replacement first, so GPU capacity is never deleted before its successor
                # exists; except a reserved pool, whose successor could get no reserved machine (above).
                delete_before_replace=provisioning is Provisioning.RESERVED,
            ),
            **sizing,
        )
        self.register_outputs({"name": self.pool.name})
