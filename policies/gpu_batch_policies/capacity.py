"""GPU capacity and cost policies: scale from zero, capacity taints, queued-provisioning pool shape,
NAP limits that cover the pools, reserved pools that consume their own reservation."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterator, Optional

from pulumi_policy import EnforcementLevel, ResourceValidationArgs

from .building import resource_policy, schema, stack_policy
from .gke import (
    CAPACITY_KEY,
    TYPE_NODE_POOL,
    TYPE_RESERVATION,
    fmt_taint,
    is_gpu_node_config,
    node_pool,
    reservation_affinity,
    taint_tuple,
)
from .stack import StackView
from .values import UNKNOWN, as_int, get, items, mapping


def _pool_name(props: dict, args: ResourceValidationArgs) -> str:
    return props.get("name") if isinstance(props.get("name"), str) else args.name


# ---------------------------------------------------------------------------------------------------


def _check_scale_from_zero(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    node_config = props.get("nodeConfig")
    if not is_gpu_node_config(node_config):
        return
    if reservation_affinity(node_config).get("consumeReservationType") == "SPECIFIC_RESERVATION":
        return  # reserved capacity is paid for whether it runs or not: a fixed size is right
    name = _pool_name(props, args)
    allowed = int(config.get("maxMinNodes", 0))
    autoscaling = props.get("autoscaling")
    if autoscaling is UNKNOWN:
        return
    if not isinstance(autoscaling, dict):
        count = props.get("nodeCount", props.get("initialNodeCount"))
        yield (f"GPU node pool {name!r} has no autoscaling: it keeps {as_int(count) or 'its'} node(s) per zone "
               "running (and billed) while no job needs them")
        return
    for key in ("totalMinNodeCount", "minNodeCount"):
        minimum = as_int(autoscaling.get(key))
        if minimum is not None and minimum > allowed:
            per = " per zone" if key == "minNodeCount" else ""
            yield (f"GPU node pool {name!r}: autoscaling.{key} is {minimum}{per}; it must scale to "
                   f"{allowed} when no GPU job is queued")
    for key in ("nodeCount", "initialNodeCount"):
        count = as_int(props.get(key))
        if count is not None and count > allowed:
            yield (f"GPU node pool {name!r}: {key} is {count} per zone, so GPU nodes are created (and billed) "
                   "before any job asks for them")


GPU_POOLS_SCALE_FROM_ZERO = resource_policy(
    "gpu-pools-scale-from-zero",
    "Spot, on-demand and queued-provisioning GPU node pools must autoscale from zero: an idle GPU node "
    "costs as much as a busy one. Reserved pools are exempt (the reservation is billed anyway). Fix: set "
    "autoscaling {totalMinNodeCount: 0, totalMaxNodeCount: N} and initialNodeCount 0 (no nodeCount), and "
    "use a reserved pool for always-on capacity.",
    (TYPE_NODE_POOL,),
    _check_scale_from_zero,
    config_schema=schema(maxMinNodes={
        "type": "integer", "minimum": 0, "default": 0,
        "description": "Most nodes a non-reserved GPU pool may keep when idle.",
    }),
)

# ---------------------------------------------------------------------------------------------------


def _check_capacity_taint(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    node_config = props.get("nodeConfig")
    if not is_gpu_node_config(node_config):
        return
    key = config.get("taintKey") or CAPACITY_KEY
    taints = get(node_config, "taints", default=[])
    if taints is UNKNOWN:
        return
    found = [t for t in (taint_tuple(x) for x in items(taints)) if t and t[0] == key]
    if not found:
        yield (f"GPU node pool {_pool_name(props, args)!r} has no {key} taint: pods that are not GPU jobs "
               "(and that tolerate GKE's nvidia.com/gpu taint) can land on its nodes and keep them from "
               "scaling down, and Kueue's ResourceFlavor for it cannot tell its capacity apart")
    for taint in found:
        if taint[2] not in ("NoSchedule", "NoExecute"):
            yield (f"GPU node pool {_pool_name(props, args)!r}: taint {fmt_taint(taint)} does not keep pods "
                   "off (use NO_SCHEDULE)")


GPU_POOLS_CAPACITY_TAINT = resource_policy(
    "gpu-pools-capacity-taint",
    "Every GPU node pool (nodeConfig.guestAccelerators non-empty) must carry the platform's capacity taint "
    "(batch-platform/capacity=<reserved|on-demand|spot|dws>:NoSchedule), so only GPU workloads admitted to "
    "that capacity by Kueue (whose ResourceFlavor tolerates the taint) land there and the pool can scale back to "
    "zero. Fix: add {key: batch-platform/capacity, value: <capacity>, effect: NO_SCHEDULE} to nodeConfig.taints "
    "and a toleration for it to the pool's ResourceFlavor.tolerations (Kueue injects those into admitted pods).",
    (TYPE_NODE_POOL,),
    _check_capacity_taint,
    config_schema=schema(taintKey={
        "type": "string", "default": CAPACITY_KEY, "description": "Taint key every GPU pool must carry.",
    }),
)

# ---------------------------------------------------------------------------------------------------


def _check_queued_provisioning(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    if get(props, "queuedProvisioning", "enabled") is not True:
        return
    name = _pool_name(props, args)
    affinity = get(props, "nodeConfig", "reservationAffinity")
    kind = get(affinity, "consumeReservationType")
    if kind is not UNKNOWN and kind != "NO_RESERVATION":
        yield (f"queued-provisioning pool {name!r}: reservationAffinity.consumeReservationType is "
               f"{kind or 'unset (ANY_RESERVATION)'}; Dynamic Workload Scheduler pools must use NO_RESERVATION")
    placement = props.get("placementPolicy")
    placed = placement not in (None, UNKNOWN) and (
        not isinstance(placement, dict) or any(v not in (None, "", UNKNOWN) for v in placement.values()))
    if placed:
        yield (f"queued-provisioning pool {name!r} sets placementPolicy {placement}: compact placement is not "
               "supported with queued provisioning")
    if props.get("autoscaling") is not UNKNOWN and not isinstance(props.get("autoscaling"), dict):
        yield f"queued-provisioning pool {name!r} has no autoscaling: DWS adds nodes through the autoscaler"


QUEUED_PROVISIONING_POOLS = resource_policy(
    "queued-provisioning-pool-shape",
    "A queued-provisioning (Dynamic Workload Scheduler) node pool must use reservationAffinity "
    "NO_RESERVATION, no placementPolicy (compact placement) and autoscaling: GKE rejects or never provisions "
    "such pools otherwise, so every DWS job waits forever; and a DWS pool that may consume a reservation eats "
    "the capacity the reserved flavor's quota promises. Fix: set nodeConfig.reservationAffinity "
    "{consumeReservationType: NO_RESERVATION}, drop placementPolicy and set autoscaling "
    "{totalMinNodeCount: 0, totalMaxNodeCount: N, locationPolicy: ANY}.",
    (TYPE_NODE_POOL,),
    _check_queued_provisioning,
)

# ---------------------------------------------------------------------------------------------------


def _check_nap_limits(stack: StackView, config: dict) -> Iterator[tuple[str, Optional[str]]]:
    for cluster in stack.clusters:
        if not cluster.nap_enabled:
            continue
        limits = cluster.limits
        needed: dict[str, int] = defaultdict(int)
        parts: dict[str, list[str]] = defaultdict(list)
        for pool in stack.cluster_pools(cluster):
            if not pool.is_gpu or pool.max_gpus is None:
                continue
            needed[pool.accelerator] += pool.max_gpus
            parts[pool.accelerator].append(f"{pool.name} {pool.max_nodes}x{pool.gpus_per_node}")
        for accelerator, total in sorted(needed.items()):
            limit = limits.get(accelerator)
            if limit is UNKNOWN:
                continue
            detail = ", ".join(sorted(parts[accelerator]))
            if limit is None:
                yield (f"cluster {cluster.props.get('name', cluster.name)!r}: clusterAutoscaling.resourceLimits has "
                       f"no {accelerator} limit, but its node pools can hold {total} {accelerator} GPUs ({detail})",
                       cluster.urn)
            elif limit < total:
                yield (f"cluster {cluster.props.get('name', cluster.name)!r}: NAP limit for {accelerator} is {limit}, "
                       f"but its node pools can hold {total} ({detail}); the autoscaler stops adding GPU nodes at "
                       f"{limit} and {total - limit} promised GPUs never appear", cluster.urn)


NAP_GPU_LIMITS_COVER_POOLS = stack_policy(
    "nap-gpu-limits-cover-pools",
    "With node auto-provisioning on, clusterAutoscaling.resourceLimits cap the whole cluster, static node "
    "pools included: a GPU limit below the pools' maxima (sum of max nodes x GPUs per node, fixed pools by "
    "their node count) silently stops scale-up, so queued jobs wait for capacity Kueue believes exists. Fix: "
    "set the limit of each accelerator type (resourceType = the accelerator, e.g. nvidia-l4) to at least the "
    "sum over its pools plus the NAP allowance you want on top.",
    _check_nap_limits,
)

# ---------------------------------------------------------------------------------------------------


def _reservation_name(value: Any) -> Optional[str]:
    if not isinstance(value, str):
        return None
    return value.rsplit("/reservations/", 1)[-1] if "/reservations/" in value else value


def _last_segment(value: Any) -> Any:
    """The last path segment of a (possibly URL-form) name; UNKNOWN stays UNKNOWN, other shapes None."""
    if value is UNKNOWN:
        return UNKNOWN
    return value.rsplit("/", 1)[-1] if isinstance(value, str) else None


def _count(value: Any) -> Any:
    return UNKNOWN if value is UNKNOWN else as_int(value)


def _check_reserved_pools(stack: StackView, config: dict) -> Iterator[tuple[str, Optional[str]]]:
    reservations = {}
    for r in stack.reservations:
        name = stack.props[r.urn].get("name")
        reservations[name if isinstance(name, str) else r.name] = r
    for pool_resource in stack.of_type(TYPE_NODE_POOL):
        props = stack.props[pool_resource.urn]
        affinity = reservation_affinity(props.get("nodeConfig"))
        if affinity.get("consumeReservationType") != "SPECIFIC_RESERVATION":
            continue
        cluster = stack.pool_cluster.get(pool_resource.urn)
        pool = node_pool(pool_resource.urn, pool_resource.name, props, cluster.props if cluster else None)
        values = affinity.get("values")
        reservation = None
        if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
            named = [reservations.get(_reservation_name(v)) for v in values]
            reservation = next((r for r in named if r is not None), None)
            if reservation is None:
                yield (f"node pool {pool.name!r} consumes reservation {', '.join(values)}, which is not a "
                       f"Reservation of this stack (known: {', '.join(sorted(reservations)) or 'none'}); its "
                       "nodes cannot be created", pool_resource.urn)
                continue
        else:
            # During preview the name may be unknown: fall back to the reservation the pool depends on.
            deps = stack.dependencies(pool_resource)
            reservation = next((r for r in stack.reservations if r.urn in deps), None)
            if reservation is None:
                if values is not UNKNOWN and not any(v is UNKNOWN for v in items(values)):
                    yield (f"node pool {pool.name!r} has SPECIFIC_RESERVATION affinity but names no reservation",
                           pool_resource.urn)
                continue
        yield from _compare(pool, props, stack.props[reservation.urn], reservation)


def _compare(pool, props: dict, res: dict, reservation) -> Iterator[tuple[str, Optional[str]]]:
    rname = res.get("name", reservation.name)
    instance = mapping(res, "specificReservation", "instanceProperties")
    machine = get(props, "nodeConfig", "machineType")
    reserved_machine = get(instance, "machineType")
    if isinstance(machine, str) and isinstance(reserved_machine, str) and machine != _last_segment(reserved_machine):
        yield (f"node pool {pool.name!r} runs {machine} but reservation {rname!r} reserves {reserved_machine}: "
               "no node can be created from it", pool.urn)
    want = {(pool.accelerator, pool.gpus_per_node)} if pool.is_gpu else set()
    have = {(_last_segment(get(a, "acceleratorType")), _count(get(a, "acceleratorCount")))
            for a in items(instance, "guestAccelerators")}
    if not any(UNKNOWN in pair for pair in have) and want != have:
        fmt = lambda s: ", ".join(f"{n} x {t}" for t, n in sorted(s, key=str)) or "none"  # noqa: E731
        yield (f"node pool {pool.name!r} attaches {fmt(want)} GPUs but reservation {rname!r} reserves {fmt(have)}: "
               "the pool cannot consume it", pool.urn)
    count = as_int(get(res, "specificReservation", "count"))
    if count is not None and pool.max_nodes is not None and pool.max_nodes > count:
        yield (f"node pool {pool.name!r} can have {pool.max_nodes} nodes but reservation {rname!r} holds only "
               f"{count} machines: {pool.max_nodes - count} node(s) (and their GPUs in Kueue's quota) never come up",
               pool.urn)
    zone = res.get("zone")
    if isinstance(zone, str) and pool.zone_names and any(z != zone for z in pool.zone_names):
        yield (f"node pool {pool.name!r} spans zones {', '.join(pool.zone_names)} but reservation {rname!r} is "
               f"in {zone}: nodes outside {zone} find no reserved machine", pool.urn)


RESERVED_POOLS_CONSUME_RESERVATION = stack_policy(
    "reserved-pools-consume-stack-reservation",
    "A node pool with reservationAffinity SPECIFIC_RESERVATION must consume a Reservation defined in this "
    "stack whose machine type, GPUs, zone and size match the pool: otherwise its nodes cannot be created "
    "(or fall back to nothing) while Kueue still hands out the reserved flavor's quota. Fix: create the "
    "gcp.compute.Reservation in the same program (specificReservationRequired, same machineType, "
    "guestAccelerators and zone, count >= the pool's nodes) and reference its name in "
    "nodeConfig.reservationAffinity.values.",
    _check_reserved_pools,
)

# ---------------------------------------------------------------------------------------------------


def _check_specific_reservation(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    required = props.get("specificReservationRequired")
    if required is not True and required is not UNKNOWN:
        yield (f"reservation {props.get('name', args.name)!r} has specificReservationRequired "
               f"{'unset' if required is None else required}: any matching VM in the project (a CI runner, "
               "someone's notebook) can consume the reserved GPUs before the reserved node pool does")


RESERVATIONS_SPECIFIC_ONLY = resource_policy(
    "reservations-specific-only",
    "GPU reservations should be consumable only by name (specificReservationRequired: true), so the reserved "
    "machines go to the reserved node pool and not to any VM of the same shape. Fix: set "
    "specificReservationRequired: true and consume the reservation with reservationAffinity SPECIFIC_RESERVATION.",
    (TYPE_RESERVATION,),
    _check_specific_reservation,
    enforcement_level=EnforcementLevel.ADVISORY,
)

POLICIES = [
    GPU_POOLS_SCALE_FROM_ZERO,
    GPU_POOLS_CAPACITY_TAINT,
    QUEUED_PROVISIONING_POOLS,
    NAP_GPU_LIMITS_COVER_POOLS,
    RESERVED_POOLS_CONSUME_RESERVATION,
    RESERVATIONS_SPECIFIC_ONLY,
]
