"""The stack's GKE node pools and clusters as the policies reason about them.

What GKE itself puts on nodes (the accelerator label, the GPU taint, the spot and queued-provisioning
labels/taints) is restated here from GKE's documentation: the pack cannot import `components`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from .values import UNKNOWN, as_int, get, items, mapping

# ---------------------------------------------------------------------------------------------------
# Well-known names (GKE, Kueue, this platform)

TYPE_CLUSTER = "gcp:container/cluster:Cluster"
TYPE_NODE_POOL = "gcp:container/nodePool:NodePool"
TYPE_RESERVATION = "gcp:compute/reservation:Reservation"
HELM_TYPES = ("kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release")

GKE_ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
GKE_SPOT_LABEL = "cloud.google.com/gke-spot"
GKE_PREEMPTIBLE_LABEL = "cloud.google.com/gke-preemptible"
GKE_QUEUED_LABEL = "cloud.google.com/gke-queued"
GKE_NODEPOOL_LABEL = "cloud.google.com/gke-nodepool"
GKE_DRIVER_LABEL = "cloud.google.com/gke-gpu-driver-version"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
ZONE_LABEL = "topology.kubernetes.io/zone"
GPU_RESOURCE = "nvidia.com/gpu"
CAPACITY_KEY = "batch-platform/capacity"  # the platform's capacity label and taint key

# GKE spells taint effects in SCREAMING_SNAKE_CASE, Kubernetes in CamelCase.
_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
# GKE taints every GPU node so that only pods requesting GPUs (which the ExtendedResourceToleration
# admission plugin makes tolerate it) land there.
GKE_GPU_TAINT = (GPU_RESOURCE, "present", "NoSchedule")
GKE_QUEUED_TAINT = (GKE_QUEUED_LABEL, "true", "NoSchedule")

_DEFAULT_COMPUTE_SA = re.compile(r"^\d+-compute@developer\.gserviceaccount\.com$")


def is_default_compute_account(account: Any) -> bool:
    """Unset, "default" or PROJECT_NUMBER-compute@developer.gserviceaccount.com; unknown = a computed account."""
    if account is UNKNOWN:
        return False
    if account is None or (isinstance(account, str) and account.strip() in ("", "default")):
        return True
    return isinstance(account, str) and bool(_DEFAULT_COMPUTE_SA.match(account.strip()))


# ---------------------------------------------------------------------------------------------------
# GKE node pools


def taint_tuple(taint: Any) -> Optional[tuple[str, str, str]]:
    """(key, value, effect) with the effect spelled the Kubernetes way; None if not a taint."""
    if not isinstance(taint, dict) or not isinstance(taint.get("key"), str):
        return None
    effect = taint.get("effect") or "NoSchedule"
    effect = _EFFECTS.get(effect, effect) if isinstance(effect, str) else "NoSchedule"
    value = taint.get("value")
    return taint["key"], value if isinstance(value, str) else "", effect


def fmt_taint(taint: tuple[str, str, str]) -> str:
    key, value, effect = taint
    return f"{key}={value}:{effect}" if value else f"{key}:{effect}"


def accelerators(node_config: Any) -> list[tuple[str, int]]:
    """(type, count) of every guest accelerator with a count > 0 (count unknown counts as 1)."""
    result = []
    for acc in items(node_config, "guestAccelerators"):
        if not isinstance(acc, dict):
            continue
        kind = acc.get("type")
        count = acc.get("count")
        count = 1 if count is UNKNOWN else as_int(count)
        if count and count > 0:
            result.append((kind if isinstance(kind, str) else "?", count))
    return result


# GKE labels GPU sharing nodes with their strategy, clients per GPU and MIG partition size ("About GPU
# sharing strategies in GKE"; "Running multi-instance GPUs"); partitions per GPU from the NVIDIA MIG
# user guide's profile table that GKE's page points to.
GKE_SHARING_STRATEGY_LABEL = "cloud.google.com/gke-gpu-sharing-strategy"
GKE_MAX_CLIENTS_LABEL = "cloud.google.com/gke-max-shared-clients-per-gpu"
GKE_PARTITION_SIZE_LABEL = "cloud.google.com/gke-gpu-partition-size"
_MIG_PARTITIONS = {
    "nvidia-tesla-a100": {"1g.5gb": 7, "2g.10gb": 3, "3g.20gb": 2, "7g.40gb": 1},
    "nvidia-a100-80gb": {"1g.10gb": 7, "2g.20gb": 3, "3g.40gb": 2, "7g.80gb": 1},
    "nvidia-h100-80gb": {"1g.10gb": 7, "1g.20gb": 4, "2g.20gb": 3, "3g.40gb": 2, "7g.80gb": 1},
}


def mig_partitions(accelerator: Optional[str], size: Optional[str]) -> int:
    return _MIG_PARTITIONS.get(accelerator or "", {}).get(size, 1) if size else 1


def is_gpu_node_config(node_config: Any) -> bool:
    return bool(accelerators(node_config))


@dataclass
class NodePool:
    urn: str
    name: str
    props: dict
    accelerator: Optional[str]
    gpus_per_node: int
    zones: int
    max_nodes: Optional[int]  # total across zones; None when unknown
    own_labels: dict
    own_taints: set
    spot: bool
    queued: bool
    reserved: bool
    zone_names: list = field(default_factory=list)

    @property
    def is_gpu(self) -> bool:
        return self.gpus_per_node > 0

    @property
    def max_gpus(self) -> Optional[int]:
        """Physical GPUs at the pool's maximum (what NAP limits count)."""
        return None if self.max_nodes is None else self.max_nodes * self.gpus_per_node

    def _sharing(self) -> tuple[Optional[str], int, Optional[str]]:
        """(strategy label value, clients per GPU, MIG partition size) of the first accelerator."""
        for acc in items(self.props, "nodeConfig", "guestAccelerators"):
            config = get(acc, "gpuSharingConfig")
            strategy = get(config, "gpuSharingStrategy") if isinstance(config, dict) else None
            clients = as_int(get(config, "maxSharedClientsPerGpu")) if isinstance(config, dict) else None
            size = get(acc, "gpuPartitionSize")
            label = strategy.lower().replace("_", "-") if isinstance(strategy, str) else None
            return label, (clients or 1) if label else 1, size if isinstance(size, str) else None
        return None, 1, None

    @property
    def max_gpu_units(self) -> Optional[int]:
        """`nvidia.com/gpu` the pool's nodes advertise at its maximum: GKE presents each GPU as one unit per
        time-sharing/MPS client and per MIG partition ("About GPU sharing strategies in GKE", "Running
        multi-instance GPUs")."""
        if self.max_gpus is None:
            return None
        _, clients, size = self._sharing()
        return self.max_gpus * clients * mig_partitions(self.accelerator, size)

    @property
    def labels(self) -> dict:
        """Node labels: the pool's own plus what GKE puts on every node of it."""
        implied = {GKE_NODEPOOL_LABEL: self.name}
        machine = get(self.props, "nodeConfig", "machineType")
        if isinstance(machine, str):
            implied[INSTANCE_TYPE_LABEL] = machine
        if self.is_gpu and self.accelerator:
            implied[GKE_ACCELERATOR_LABEL] = self.accelerator
            driver = None
            for acc in items(self.props, "nodeConfig", "guestAccelerators"):
                driver = get(acc, "gpuDriverInstallationConfig", "gpuDriverVersion") or driver
            if isinstance(driver, str) and driver in ("DEFAULT", "LATEST"):
                implied[GKE_DRIVER_LABEL] = driver.lower()
        strategy, clients, size = self._sharing()
        if strategy:
            implied[GKE_SHARING_STRATEGY_LABEL] = strategy
            implied[GKE_MAX_CLIENTS_LABEL] = str(clients)
        if size:
            implied[GKE_PARTITION_SIZE_LABEL] = size
        if self.spot:
            implied[GKE_SPOT_LABEL] = "true"
        if get(self.props, "nodeConfig", "preemptible") is True:
            implied[GKE_PREEMPTIBLE_LABEL] = "true"
        if self.queued:
            implied[GKE_QUEUED_LABEL] = "true"
        return {**implied, **{k: v for k, v in self.own_labels.items() if isinstance(v, str)}}

    @property
    def taints(self) -> set:
        """Node taints: the pool's own plus GKE's GPU (and queued-provisioning) taints."""
        implied = set()
        if self.is_gpu:
            implied.add(GKE_GPU_TAINT)
        if self.queued:
            implied.add(GKE_QUEUED_TAINT)
        return implied | self.own_taints

    def label_mismatches(self, selector: dict) -> list[str]:
        """What of `selector` (a nodeSelector / ResourceFlavor nodeLabels) this pool's nodes lack."""
        labels = self.labels
        missing = []
        for key, value in selector.items():
            if key == ZONE_LABEL and self.zone_names:
                if value not in self.zone_names:
                    missing.append(f"{key}={value} (pool zones: {', '.join(self.zone_names)})")
            elif labels.get(key) != value:
                have = labels.get(key)
                missing.append(f"{key}={value}" + (f" (nodes have {have!r})" if have is not None else ""))
        return missing


def node_count_total(props: dict, zones: int) -> Optional[int]:
    """Most nodes a pool can have in total: autoscaling maxima, else the fixed size (GKE sizes are per zone)."""
    autoscaling = props.get("autoscaling")
    if isinstance(autoscaling, dict):
        total = as_int(autoscaling.get("totalMaxNodeCount"))
        if total:
            return total
        per_zone = as_int(autoscaling.get("maxNodeCount"))
        if per_zone:
            return per_zone * zones
        if autoscaling.get("totalMaxNodeCount") is UNKNOWN or autoscaling.get("maxNodeCount") is UNKNOWN:
            return None
    for key in ("nodeCount", "initialNodeCount"):
        count = props.get(key)
        if count is UNKNOWN:
            return None
        if as_int(count) is not None:
            return as_int(count) * zones
    return 0


def zone_count(pool_props: dict, cluster_props: Optional[dict]) -> tuple[int, list]:
    zones = pool_props.get("nodeLocations")
    if not (isinstance(zones, list) and zones) and cluster_props:
        zones = cluster_props.get("nodeLocations")
    if isinstance(zones, list) and zones:
        names = [z for z in zones if isinstance(z, str)]
        return len(zones), names
    location = (cluster_props or {}).get("location") or pool_props.get("location")
    # A regional cluster without nodeLocations spreads over three zones; a zonal one uses its zone.
    if isinstance(location, str) and re.match(r"^[a-z]+-[a-z]+\d+$", location):
        return 3, []
    return 1, [location] if isinstance(location, str) else []


def reservation_affinity(node_config: Any) -> dict:
    affinity = get(node_config, "reservationAffinity")
    return affinity if isinstance(affinity, dict) else {}


def node_pool(urn: str, name: str, props: dict, cluster_props: Optional[dict] = None) -> NodePool:
    node_config = props.get("nodeConfig") if isinstance(props.get("nodeConfig"), dict) else {}
    accs = accelerators(node_config)
    zones, zone_names = zone_count(props, cluster_props)
    own_taints = {t for t in (taint_tuple(x) for x in items(node_config, "taints")) if t}
    labels = mapping(node_config, "labels")
    pool_name = props.get("name") if isinstance(props.get("name"), str) else name
    return NodePool(
        urn=urn,
        name=pool_name,
        props=props,
        accelerator=accs[0][0] if accs else None,
        gpus_per_node=sum(count for kind, count in accs if kind == accs[0][0]) if accs else 0,
        zones=zones,
        zone_names=zone_names,
        max_nodes=node_count_total(props, zones),
        own_labels=labels,
        own_taints=own_taints,
        spot=node_config.get("spot") is True,
        queued=get(props, "queuedProvisioning", "enabled") is True,
        reserved=reservation_affinity(node_config).get("consumeReservationType") == "SPECIFIC_RESERVATION",
    )


@dataclass
class Cluster:
    urn: str
    name: str
    props: dict

    @property
    def nap_enabled(self) -> bool:
        return get(self.props, "clusterAutoscaling", "enabled") is True

    @property
    def limits(self) -> dict[str, Any]:
        """resourceType -> maximum (int, or UNKNOWN)."""
        result = {}
        for limit in items(self.props, "clusterAutoscaling", "resourceLimits"):
            kind = get(limit, "resourceType")
            if isinstance(kind, str):
                maximum = limit.get("maximum")
                result[kind] = UNKNOWN if maximum is UNKNOWN else as_int(maximum)
        return result
