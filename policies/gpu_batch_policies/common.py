"""Helpers shared by the policies: plain values out of the policy SDK's proxies, and the stack's GKE
node pools, clusters and Kueue objects as the policies reason about them.

Self-contained on purpose: the pack runs in its own virtualenv (policies/venv), where the project's
`components` package does not exist. What GKE itself puts on nodes (the accelerator label, the GPU
taint, the spot and queued-provisioning labels/taints) is restated here from GKE's documentation.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Iterator, Optional

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

try:  # the SDK's markers for values that are unknown during preview
    from pulumi_policy.proxy import (
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    )

    _UNKNOWN_SENTINELS = frozenset({
        UNKNOWN_ARCHIVE_VALUE, UNKNOWN_ARRAY_VALUE, UNKNOWN_ASSET_VALUE, UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE, UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE,
    })
except ImportError:  # pragma: no cover - same wire-protocol constants
    _UNKNOWN_SENTINELS = frozenset({
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58", "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    })

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

_KUEUE_TYPE = re.compile(r"^kubernetes:kueue\.x-k8s\.io/(?P<version>[^:]+):(?P<kind>\w+)$")
_DEFAULT_COMPUTE_SA = re.compile(r"^\d+-compute@developer\.gserviceaccount\.com$")


# ---------------------------------------------------------------------------------------------------
# Plain values


class _Unknown:
    """A value the engine cannot know during preview (e.g. an id or e-mail computed by the cloud)."""

    def __repr__(self) -> str:
        return "<unknown during preview>"

    def __bool__(self) -> bool:
        # Falsy, so `get(...) or []` skips an unknown list; checks that must not treat "unknown" as
        # "unset" compare with `is UNKNOWN` first.
        return False


UNKNOWN = _Unknown()


def _raw(container: Any) -> Any:
    # The SDK's unknown-checking proxies raise on unknown values; their raw container sits under
    # "__target" (the SDK's own serializer reads it the same way).
    try:
        return container["__target"]
    except (KeyError, TypeError, IndexError):
        return container


def plain(value: Any) -> Any:
    """A plain dict/list copy of SDK props, with unknown values replaced by UNKNOWN (never raising)."""
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if hasattr(value, "value") and type(value).__name__ == "Secret":  # pulumi_policy.Secret (remediation)
        return plain(value.value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in _raw(value).items()}
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return [plain(v) for v in _raw(value)]
    return value


def get(obj: Any, *path: Any, default: Any = None) -> Any:
    """obj[path[0]][path[1]]... or default where a step is missing, null or not a container;
    UNKNOWN where a step is unknown (an unknown object hides whatever it will contain)."""
    for step in path:
        if obj is UNKNOWN:
            return UNKNOWN
        if isinstance(obj, dict) and isinstance(step, str):
            obj = obj.get(step)
        elif isinstance(obj, list) and isinstance(step, int) and -len(obj) <= step < len(obj):
            obj = obj[step]
        else:
            return default
        if obj is None:
            return default
    return obj


def items(obj: Any, *path: Any) -> list:
    """The list at `path`, or [] when it is missing, unknown or not a list."""
    value = get(obj, *path) if path else obj
    return value if isinstance(value, list) else []


def mapping(obj: Any, *path: Any) -> dict:
    """The dict at `path`, or {} when it is missing, unknown or not a dict."""
    value = get(obj, *path) if path else obj
    return value if isinstance(value, dict) else {}


def as_int(value: Any) -> Optional[int]:
    """Numbers arrive as floats (protobuf Struct); None for missing, unknown or non-numeric values."""
    if isinstance(value, bool) or value is None or value is UNKNOWN:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        quantity = parse_quantity(value)
        return int(quantity) if quantity is not None else None
    return None


def is_known(value: Any) -> bool:
    return value is not UNKNOWN


_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")
_SUFFIX = {
    "": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": Decimal("1e3"),
    "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"), "P": Decimal("1e15"), "E": Decimal("1e18"),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40), "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


def parse_quantity(value: Any) -> Optional[Decimal]:
    """A Kubernetes resource quantity ("16", 16, "1k", "500m") as a Decimal; None when not one."""
    if isinstance(value, bool) or value is None or value is UNKNOWN:
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match:
        return None
    number, suffix = match.group(1), match.group(2) or ""
    try:
        if suffix[:1] in ("e", "E"):
            return Decimal(number + suffix)
        return Decimal(number) * _SUFFIX[suffix]
    except (InvalidOperation, KeyError):
        return None


def fmt_number(value: Decimal | int) -> str:
    value = Decimal(value)
    return str(int(value)) if value == value.to_integral_value() else str(value.normalize())


def with_defaults(schema: Optional[PolicyConfigSchema], config: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """The policy's config with schema defaults filled in (the CLI already does this; direct callers may not)."""
    result = {k: v["default"] for k, v in (schema.properties if schema else {}).items() if "default" in v}
    result.update(plain(dict(config or {})))
    return result


def is_default_compute_account(account: Any) -> bool:
    """Unset, "default" or PROJECT_NUMBER-compute@developer.gserviceaccount.com; unknown = a computed account."""
    if account is UNKNOWN:
        return False
    if account is None or (isinstance(account, str) and account.strip() in ("", "default")):
        return True
    return isinstance(account, str) and bool(_DEFAULT_COMPUTE_SA.match(account.strip()))


def cidr_network(value: Any):
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return None


def walk(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (path, value) pair of a nested structure, containers included, depth first."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, path + (index,))


def dotted(path: Iterable[Any]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "(root)"


# ---------------------------------------------------------------------------------------------------
# Building policies


ResourceCheck = Callable[[dict, ResourceValidationArgs, dict], Iterable[str]]
StackCheck = Callable[["StackView", dict], Iterable[tuple[str, Optional[str]]]]


def resource_policy(
    name: str,
    description: str,
    types: Iterable[str] | Callable[[str], bool],
    check: ResourceCheck,
    enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY,
    config_schema: Optional[PolicyConfigSchema] = None,
) -> ResourceValidationPolicy:
    """A resource policy whose `check(props, args, config)` yields one message per violation.

    `props` are the resource's inputs as plain values (unknowns are UNKNOWN, never an exception), and
    `config` has the schema defaults filled in.
    """
    accepts = types if callable(types) else frozenset(types).__contains__

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not accepts(args.resource_type):
            return
        config = with_defaults(config_schema, args.get_config())
        for message in check(plain(args.props), args, config):
            report_violation(message, None)

    validate.__name__ = validate.__qualname__ = f"validate_{name.replace('-', '_')}"
    return ResourceValidationPolicy(
        name=name, description=description, validate=validate,
        enforcement_level=enforcement_level, config_schema=config_schema,
    )


def stack_policy(
    name: str,
    description: str,
    check: StackCheck,
    enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY,
    config_schema: Optional[PolicyConfigSchema] = None,
) -> StackValidationPolicy:
    """A stack policy whose `check(stack, config)` yields (message, urn-or-None) per violation."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        config = with_defaults(config_schema, args.get_config())
        for message, urn in check(StackView(args.resources), config):
            report_violation(message, urn)

    validate.__name__ = validate.__qualname__ = f"validate_{name.replace('-', '_')}"
    return StackValidationPolicy(
        name=name, description=description, validate=validate,
        enforcement_level=enforcement_level, config_schema=config_schema,
    )


def schema(**properties: dict) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties=properties)


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


# ---------------------------------------------------------------------------------------------------
# Kueue objects


@dataclass
class KueueObject:
    urn: str
    kind: str
    version: str
    name: str
    namespace: Optional[str]
    spec: dict
    labels: dict


def kueue_kind(resource_type: str) -> Optional[tuple[str, str]]:
    """(version, kind) for a Kueue resource type token, else None."""
    match = _KUEUE_TYPE.match(resource_type)
    return (match.group("version"), match.group("kind")) if match else None


def gpu_quotas(cluster_queue: KueueObject, resource: str) -> Iterator[tuple[str, Optional[Decimal], Optional[Decimal]]]:
    """(flavor, nominalQuota, borrowingLimit) of `resource` in every flavor of a ClusterQueue."""
    for group in items(cluster_queue.spec, "resourceGroups"):
        for flavor in items(group, "flavors"):
            name = get(flavor, "name")
            for res in items(flavor, "resources"):
                if get(res, "name") == resource and isinstance(name, str):
                    limit = res.get("borrowingLimit") if isinstance(res, dict) else None
                    yield name, parse_quantity(res.get("nominalQuota")), parse_quantity(limit)


def flavor_refs(cluster_queue: KueueObject) -> Iterator[str]:
    for group in items(cluster_queue.spec, "resourceGroups"):
        for flavor in items(group, "flavors"):
            if isinstance(get(flavor, "name"), str):
                yield flavor["name"]


def selector_matches(selector: Any, labels: dict) -> bool:
    """Kubernetes LabelSelector semantics (an empty selector matches everything)."""
    if not isinstance(selector, dict):
        return False
    for key, value in mapping(selector, "matchLabels").items():
        if labels.get(key) != value:
            return False
    for expr in items(selector, "matchExpressions"):
        key, op, values = get(expr, "key"), get(expr, "operator"), items(expr, "values")
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# ---------------------------------------------------------------------------------------------------
# The stack as the stack policies see it


class StackView:
    """Index of a stack's resources (props are plain values: outputs, as the engine passes them)."""

    def __init__(self, resources: Iterable[Any]):
        self.resources = list(resources)
        self.props = {r.urn: plain(r.props) for r in self.resources}
        self.by_urn = {r.urn: r for r in self.resources}
        self.clusters = [Cluster(r.urn, r.name, self.props[r.urn]) for r in self.of_type(TYPE_CLUSTER)]
        self.pools: list[NodePool] = []
        self.pool_cluster: dict[str, Optional[Cluster]] = {}
        for r in self.of_type(TYPE_NODE_POOL):
            cluster = self._cluster_of(r)
            pool = node_pool(r.urn, r.name, self.props[r.urn], cluster.props if cluster else None)
            self.pools.append(pool)
            self.pool_cluster[r.urn] = cluster
        self.reservations = [r for r in self.of_type(TYPE_RESERVATION)]
        self.kueue: list[KueueObject] = []
        for r in self.resources:
            kind = kueue_kind(r.resource_type)
            if kind:
                props = self.props[r.urn]
                name = get(props, "metadata", "name")
                namespace = get(props, "metadata", "namespace")
                self.kueue.append(KueueObject(
                    urn=r.urn, version=kind[0], kind=kind[1],
                    name=name if isinstance(name, str) else r.name,
                    namespace=namespace if isinstance(namespace, str) else None,
                    spec=mapping(props, "spec"),
                    labels=mapping(props, "metadata", "labels"),
                ))

    def of_type(self, resource_type: str) -> list[Any]:
        return [r for r in self.resources if r.resource_type == resource_type]

    def kueue_objects(self, kind: str) -> list[KueueObject]:
        return [o for o in self.kueue if o.kind == kind]

    def dependencies(self, resource: Any) -> set[str]:
        urns = {d.urn for d in (getattr(resource, "dependencies", None) or [])}
        for deps in (getattr(resource, "property_dependencies", None) or {}).values():
            urns.update(d.urn for d in deps)
        return urns

    def _cluster_of(self, pool: Any) -> Optional[Cluster]:
        if not self.clusters:
            return None
        deps = self.dependencies(pool)
        for cluster in self.clusters:
            if cluster.urn in deps:
                return cluster
        ref = self.props[pool.urn].get("cluster")
        if isinstance(ref, str):
            for cluster in self.clusters:
                name = cluster.props.get("name")
                if isinstance(name, str) and (ref == name or ref.endswith(f"/clusters/{name}")):
                    return cluster
        return self.clusters[0] if len(self.clusters) == 1 else None

    def cluster_pools(self, cluster: Cluster) -> list[NodePool]:
        return [p for p in self.pools if self.pool_cluster.get(p.urn) is cluster]

    def nap_limit(self, accelerator: str) -> tuple[Optional[Cluster], Any]:
        """The first NAP-enabled cluster with a GPU limit for `accelerator`, and that limit."""
        for cluster in self.clusters:
            if cluster.nap_enabled and accelerator in cluster.limits:
                return cluster, cluster.limits[accelerator]
        return None, None
