"""Kueue integrity: quotas within the capacity behind each flavor, flavors that match real nodes,
queue references, namespace selectors, the v1beta2 API, pinned Helm charts, reachable borrowing."""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from typing import Iterator, Optional

from pulumi_policy import EnforcementLevel, ResourceValidationArgs

from .building import resource_policy, schema, stack_policy
from .gke import GKE_ACCELERATOR_LABEL, GPU_RESOURCE, HELM_TYPES, NodePool, fmt_taint, taint_tuple
from .stack import KueueObject, StackView, flavor_refs, gpu_quotas, kueue_kind, selector_matches
from .values import UNKNOWN, dotted, fmt_number, get, items, mapping, walk

GPU_RESOURCE_SCHEMA = {
    "type": "string", "default": GPU_RESOURCE, "description": "Extended resource name of the GPUs in ClusterQueues.",
}


def _flavor_selector(flavor: KueueObject) -> tuple[dict, set]:
    labels = {k: v for k, v in mapping(flavor.spec, "nodeLabels").items() if isinstance(v, str)}
    taints = {t for t in (taint_tuple(x) for x in items(flavor.spec, "nodeTaints")) if t}
    return labels, taints


def _matching_pools(stack: StackView, labels: dict) -> list[NodePool]:
    return [p for p in stack.pools if not p.label_mismatches(labels)]


# ---------------------------------------------------------------------------------------------------


def _check_quota_capacity(stack: StackView, config: dict) -> Iterator[tuple[str, Optional[str]]]:
    resource = config.get("gpuResourceName") or GPU_RESOURCE
    totals: dict[str, Decimal] = defaultdict(Decimal)
    owners: dict[str, list[str]] = defaultdict(list)
    for cq in stack.kueue_objects("ClusterQueue"):
        for flavor, nominal, _ in gpu_quotas(cq, resource):
            if nominal:
                totals[flavor] += nominal
                owners[flavor].append(f"{cq.name} {fmt_number(nominal)}")
    flavors = {f.name: f for f in stack.kueue_objects("ResourceFlavor")}
    nap_totals: dict[str, Decimal] = defaultdict(Decimal)
    nap_flavors: dict[str, list[str]] = defaultdict(list)
    nap_urn: dict[str, str] = {}
    for name, total in sorted(totals.items()):
        flavor = flavors.get(name)
        if flavor is None:
            continue  # kueue-queue-references reports the dangling reference
        labels, _ = _flavor_selector(flavor)
        pools = [p for p in _matching_pools(stack, labels) if p.is_gpu]
        if pools:
            if any(p.max_gpu_units is None for p in pools):
                continue  # sizes unknown during preview
            supply = sum(p.max_gpu_units for p in pools)
            if total > supply:
                sizes = ", ".join(sorted(f"{p.name}: {p.max_nodes} nodes x {p.gpus_per_node} GPUs"
                                        + (f" x {p.max_gpu_units // p.max_gpus} shared" if p.max_gpu_units != p.max_gpus else "")
                                        for p in pools))
                yield (f"flavor {name!r} is over-subscribed: nominal {resource} quotas sum to {fmt_number(total)} "
                       f"({', '.join(sorted(owners[name]))}) but the node pool(s) it selects supply {supply} ({sizes}); "
                       f"lower the quotas by {fmt_number(total - supply)} or grow the pool", flavor.urn)
            continue
        accelerator = labels.get(GKE_ACCELERATOR_LABEL)
        if accelerator:
            nap_totals[accelerator] += total
            nap_flavors[accelerator].append(f"{name} ({', '.join(sorted(owners[name]))})")
            nap_urn.setdefault(accelerator, flavor.urn)
    for accelerator, total in sorted(nap_totals.items()):
        cluster, limit = stack.nap_limit(accelerator)
        if cluster is None or limit is UNKNOWN:
            continue  # kueue-flavors-match-nodes reports flavors with nothing behind them
        static = [p for p in stack.cluster_pools(cluster) if p.accelerator == accelerator]
        if any(p.max_gpus is None for p in static):
            continue
        used = sum(p.max_gpus for p in static)
        headroom = max(limit - used, 0)
        if total > headroom:
            extra = f" minus {used} held by static pools" if used else ""
            yield (f"NAP flavor(s) of {accelerator} are over-subscribed: nominal {resource} quotas sum to "
                   f"{fmt_number(total)} ({'; '.join(nap_flavors[accelerator])}) but the cluster's NAP limit for "
                   f"{accelerator} is {limit}{extra} = {headroom}; lower the quotas or raise the limit",
                   nap_urn[accelerator])


KUEUE_QUOTA_WITHIN_CAPACITY = stack_policy(
    "kueue-gpu-quota-within-capacity",
    "Per ResourceFlavor, the nominal GPU quotas of all ClusterQueues must fit the capacity behind it: the "
    "node pool(s) whose labels the flavor selects (nodeCount, or autoscaling maximum, x GPUs per node), or "
    "for a node-auto-provisioned flavor the cluster's NAP GPU limit for that accelerator (less what static "
    "pools of it hold). Over-subscribed quota is admitted work that never gets nodes: jobs start, wait for "
    "pods, get evicted and requeue (the reference platform promised 2x its reserved GPUs). Fix: lower the "
    "nominalQuota of the listed ClusterQueues or grow the pool / NAP limit.",
    _check_quota_capacity,
    config_schema=schema(gpuResourceName=GPU_RESOURCE_SCHEMA),
)

# ---------------------------------------------------------------------------------------------------


def _pool_gaps(pool: NodePool, labels: dict, taints: set, tolerated: set) -> list[str]:
    gaps = [f"label {m}" for m in pool.label_mismatches(labels)]
    gaps += [f"taint {fmt_taint(t)} (not on the pool)" for t in sorted(taints - pool.taints)]
    # Pool taints a workload admitted to this flavor would not tolerate. Kueue checks the job's pod
    # template (plus the flavor's tolerations), not pods, so GKE's ExtendedResourceToleration does not
    # help: GKE's nvidia.com/gpu taint must be tolerated by the flavor like any other
    # (Kueue v0.19.2 pkg/scheduler/flavorassigner/flavorassigner.go, checkFlavorForPodSets).
    for taint in sorted(pool.taints - taints):
        if taint not in tolerated and (taint[0], "", taint[2]) not in tolerated:
            gaps.append(f"pool taint {fmt_taint(taint)} (not tolerated by the flavor: admitted pods would not tolerate it)")
    return gaps


def _nap_gaps(stack: StackView, labels: dict, taints: set) -> Optional[list[str]]:
    """None when node auto-provisioning can create nodes for the flavor, else the reasons it cannot."""
    accelerator = labels.get(GKE_ACCELERATOR_LABEL)
    if not accelerator:
        return ["no cloud.google.com/gke-accelerator label, so NAP cannot create nodes for it"]
    cluster, limit = stack.nap_limit(accelerator)
    if cluster is None:
        if not any(c.nap_enabled for c in stack.clusters):
            return ["node auto-provisioning is not enabled on the cluster"]
        return [f"the cluster has no NAP GPU limit for {accelerator}"]
    if limit is not UNKNOWN:
        static = [p.max_gpus for p in stack.cluster_pools(cluster) if p.accelerator == accelerator]
        if None not in static and limit - sum(static) <= 0:
            # GKE counts static pools against the NAP limit: none left means NAP can create no such node.
            return [f"the cluster's NAP limit for {accelerator} ({limit}) is used up by its static node pools "
                    f"({sum(static)} GPUs), so NAP never creates such nodes"]
    gaps = []
    for taint in sorted(taints):
        # NAP builds pools from the pod's selector + tolerations: a taint is only created for a selected label.
        if taint[0] != GPU_RESOURCE and labels.get(taint[0]) != taint[1]:
            gaps.append(f"taint {fmt_taint(taint)} has no matching nodeLabel, so NAP never creates it")
    return gaps or None


def _check_flavor_nodes(stack: StackView, config: dict) -> Iterator[tuple[str, Optional[str]]]:
    for flavor in stack.kueue_objects("ResourceFlavor"):
        labels, taints = _flavor_selector(flavor)
        if not labels and not taints:
            continue  # a flavor without selector matches every node
        if get(flavor.spec, "nodeLabels") is UNKNOWN or get(flavor.spec, "nodeTaints") is UNKNOWN:
            continue
        tolerated = {t for t in (taint_tuple(x) for x in items(flavor.spec, "tolerations")) if t}
        best: Optional[tuple[NodePool, list[str]]] = None
        for pool in stack.pools:
            gaps = _pool_gaps(pool, labels, taints, tolerated)
            if not gaps:
                best = None
                break
            # On a tie the flavor's own pool (labelled with its name by the platform) is the closest.
            own = pool.labels.get("batch-platform/flavor") == flavor.name
            if best is None or len(gaps) < len(best[1]) or (len(gaps) == len(best[1]) and own):
                best = (pool, gaps)
        else:
            nap = _nap_gaps(stack, labels, taints)
            if nap is None:
                continue
            selector = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
            closest = f"closest node pool {best[0].name!r} lacks: {'; '.join(best[1])}" if best else "the stack has no node pool"
            yield (f"ResourceFlavor {flavor.name!r} ({selector}; taints "
                   f"{', '.join(fmt_taint(t) for t in sorted(taints)) or 'none'}) matches no node pool - {closest} - "
                   f"and is no NAP shape: {'; '.join(nap)}. Workloads admitted to it stay Pending", flavor.urn)


KUEUE_FLAVORS_MATCH_NODES = stack_policy(
    "kueue-flavors-match-nodes",
    "Every ResourceFlavor's nodeLabels and nodeTaints must describe real nodes: a node pool whose labels "
    "(its own plus GKE's cloud.google.com/gke-accelerator, gke-spot, gke-queued, gke-nodepool) include the "
    "flavor's nodeLabels and whose taints (its own plus GKE's nvidia.com/gpu=present and gke-queued) include the "
    "flavor's nodeTaints and are all tolerated by what Kueue admits to it (listed in nodeTaints or tolerations; "
    "Kueue checks the job template, so GKE's GPU taint needs a toleration too), or a shape node auto-provisioning can create "
    "(gke-accelerator of a type whose NAP GPU limit leaves room above the static pools, taints only on selected "
    "labels). Otherwise Kueue admits workloads that can never schedule (e.g. the reference's nvidia.com/gpu=true "
    "taint that no node carries). Fix: copy labels and taints from the pool (spell effects NoSchedule) or give the "
    "accelerator a NAP limit.",
    _check_flavor_nodes,
)

# ---------------------------------------------------------------------------------------------------


def _admission_check_refs(cq: KueueObject) -> Iterator[str]:
    for name in items(cq.spec, "admissionChecks"):
        if isinstance(name, str):
            yield name
    for check in items(cq.spec, "admissionChecksStrategy", "admissionChecks"):
        if isinstance(get(check, "name"), str):
            yield check["name"]


def _check_references(stack: StackView, config: dict) -> Iterator[tuple[str, Optional[str]]]:
    queues = {cq.name: cq for cq in stack.kueue_objects("ClusterQueue")}
    flavors = {f.name for f in stack.kueue_objects("ResourceFlavor")}
    checks = {c.name for c in stack.kueue_objects("AdmissionCheck")}
    namespaces = {}
    for r in stack.of_type("kubernetes:core/v1:Namespace"):
        props = stack.props[r.urn]
        name = get(props, "metadata", "name")
        if isinstance(name, str):
            labels = dict(mapping(props, "metadata", "labels"))
            labels.setdefault("kubernetes.io/metadata.name", name)
            namespaces[name] = labels
    for lq in stack.kueue_objects("LocalQueue"):
        target = get(lq.spec, "clusterQueue")
        if not isinstance(target, str):
            if target is None:
                yield f"LocalQueue {lq.namespace}/{lq.name} names no ClusterQueue (spec.clusterQueue)", lq.urn
            continue
        cq = queues.get(target)
        where = f"{lq.namespace}/{lq.name}" if lq.namespace else lq.name
        if cq is None:
            yield (f"LocalQueue {where} points to ClusterQueue {target!r}, which does not exist "
                   f"(known: {', '.join(sorted(queues)) or 'none'}); its workloads are never admitted", lq.urn)
        elif lq.namespace in namespaces and not selector_matches(get(cq.spec, "namespaceSelector"), namespaces[lq.namespace]):
            yield (f"LocalQueue {where} points to ClusterQueue {target!r}, whose namespaceSelector does not select "
                   f"namespace {lq.namespace!r}: Kueue rejects its workloads", lq.urn)
    for cq in queues.values():
        for flavor in flavor_refs(cq):
            if flavor not in flavors:
                yield (f"ClusterQueue {cq.name!r} uses ResourceFlavor {flavor!r}, which does not exist: the queue "
                       "stays inactive and admits nothing", cq.urn)
        for check in _admission_check_refs(cq):
            if check not in checks:
                yield (f"ClusterQueue {cq.name!r} requires AdmissionCheck {check!r}, which does not exist: the queue "
                       "stays inactive", cq.urn)


KUEUE_QUEUE_REFERENCES = stack_policy(
    "kueue-queue-references",
    "Every LocalQueue must point to a ClusterQueue of the stack whose namespaceSelector selects the "
    "LocalQueue's namespace, and every ClusterQueue's flavors and admission checks must exist: a dangling "
    "reference leaves the queue inactive and jobs submitted to it wait forever without an error. Fix: create "
    "the missing ClusterQueue / ResourceFlavor / AdmissionCheck or correct the name.",
    _check_references,
)

# ---------------------------------------------------------------------------------------------------


def _check_namespace_selector(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    kind = kueue_kind(args.resource_type)
    if not kind or kind[1] != "ClusterQueue":
        return
    name = get(props, "metadata", "name") or args.name
    if name in set(config.get("exemptClusterQueues") or []):
        return
    selector = get(props, "spec", "namespaceSelector")
    if selector is UNKNOWN:
        return
    if selector is None:
        yield (f"ClusterQueue {name!r} has no namespaceSelector: no namespace may submit to it (Kueue's nil "
               "selector matches nothing), so its quota is dead")
    elif not isinstance(selector, dict) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        yield (f"ClusterQueue {name!r} has an empty namespaceSelector: every namespace may submit to it and "
               "spend this team's GPU quota")


KUEUE_NAMESPACE_SELECTOR = resource_policy(
    "kueue-cluster-queue-namespace-selector",
    "Every ClusterQueue must restrict which namespaces may use it: an empty namespaceSelector ({}) lets any "
    "namespace spend a team's GPU quota, a missing one admits no namespace at all. Fix: select the team's "
    "namespace, e.g. namespaceSelector.matchLabels {kubernetes.io/metadata.name: team-a} (or an In expression "
    "for a queue shared by several teams).",
    lambda t: bool(kueue_kind(t)),
    _check_namespace_selector,
    config_schema=schema(exemptClusterQueues={
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": "ClusterQueues deliberately open to every namespace.",
    }),
)

# ---------------------------------------------------------------------------------------------------

# kueue.x-k8s.io/vX or config.kueue.x-k8s.io/vX, not e.g. visibility.kueue.x-k8s.io (its own versions).
_KUEUE_API_IN_TEXT = re.compile(r"(?<![\w.-])((?:config\.)?kueue\.x-k8s\.io)/(v\w+)\b")


def _check_kueue_api(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    allowed = set(config.get("allowedVersions") or ["v1beta2"])
    kind = kueue_kind(args.resource_type)
    if kind and kind[0] not in allowed:
        yield (f"{kind[1]} {get(props, 'metadata', 'name') or args.name!r} uses kueue.x-k8s.io/{kind[0]}; "
               f"use {' or '.join(sorted(allowed))}")
        return
    if args.resource_type in HELM_TYPES:
        for path, value in walk(mapping(props, "values")):
            if isinstance(value, str):
                for group, version in _KUEUE_API_IN_TEXT.findall(value):
                    if version not in allowed:
                        yield (f"chart {args.name!r}: values.{dotted(path)} uses {group}/{version}; "
                               f"use {group}/{sorted(allowed)[0]}")


KUEUE_API_VERSION = resource_policy(
    "kueue-api-version",
    "Kueue objects (and the Kueue configuration passed to its chart) must use the kueue.x-k8s.io/v1beta2 "
    "API: older versions are deprecated, lose fields in conversion (e.g. cohort and fair-sharing settings) and "
    "are removed in later Kueue releases, which would make upgrades fail mid-way. Fix: write apiVersion "
    "kueue.x-k8s.io/v1beta2 (config.kueue.x-k8s.io/v1beta2 for the Configuration) and convert the specs.",
    lambda t: bool(kueue_kind(t)) or t in HELM_TYPES,
    _check_kueue_api,
    config_schema=schema(allowedVersions={
        "type": "array", "items": {"type": "string"}, "default": ["v1beta2"],
        "description": "Kueue API versions objects may use.",
    }),
)

# ---------------------------------------------------------------------------------------------------

SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$"
)


def _check_helm_pinned(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    if "chart" not in props and "version" not in props:
        # helm.sh/v4 Chart is a remote component: the CLI never shows the analyzer its inputs (pulumi
        # pkg/resource/deploy/source_eval.go: remote components go to the provider's Construct, which
        # registers the component without properties, pulumi-kubernetes helm/v4/chart.go). Nothing to judge.
        return
    chart = props.get("chart")
    if isinstance(chart, str) and (chart.startswith((".", "/", "file://")) or chart.endswith(".tgz")):
        return  # a local chart or an archive URL is pinned by its content
    version = props.get("version")
    if version is UNKNOWN:
        return
    if not isinstance(version, str) or not version.strip():
        yield (f"chart {args.name!r} ({chart}) has no version: every deployment may install whatever the "
               "repository's latest release is")
    elif not SEMVER.match(version.strip()):
        yield (f"chart {args.name!r} ({chart}) version {version!r} is not an exact semantic version: "
               "a range or tag can resolve to a different release on the next run")


HELM_CHARTS_PINNED = resource_policy(
    "helm-charts-pinned",
    "Helm charts (helm.sh/v4 Chart, helm.sh/v3 Release) must be pinned to an exact version (e.g. 0.19.2): an "
    "empty version, 'latest' or a range like ^0.19 or 0.x installs whatever was released last, so two previews "
    "of the same commit can deploy different Kueue/JobSet controllers and CRDs. Fix: set version to the exact "
    "release you tested.",
    HELM_TYPES,
    _check_helm_pinned,
)

# ---------------------------------------------------------------------------------------------------


def _check_borrowing(stack: StackView, config: dict) -> Iterator[tuple[str, Optional[str]]]:
    resource = config.get("gpuResourceName") or GPU_RESOURCE
    queues = stack.kueue_objects("ClusterQueue")
    nominal: dict[tuple[str, str], list[tuple[str, Decimal]]] = defaultdict(list)
    for cq in queues:
        cohort = get(cq.spec, "cohortName") or get(cq.spec, "cohort")
        for flavor, quota, _ in gpu_quotas(cq, resource):
            if isinstance(cohort, str):
                nominal[(cohort, flavor)].append((cq.name, quota or Decimal(0)))
    for cq in queues:
        cohort = get(cq.spec, "cohortName") or get(cq.spec, "cohort")
        for flavor, _, limit in gpu_quotas(cq, resource):
            if not limit:
                continue
            if not isinstance(cohort, str):
                yield (f"ClusterQueue {cq.name!r} sets a {resource} borrowingLimit in {flavor!r} but belongs to no "
                       "cohort: there is nobody to borrow from", cq.urn)
                continue
            lendable = sum((q for name, q in nominal[(cohort, flavor)] if name != cq.name), Decimal(0))
            if limit > lendable:
                yield (f"ClusterQueue {cq.name!r} may borrow {fmt_number(limit)} {resource} of {flavor!r}, but the "
                       f"other queues of cohort {cohort!r} own only {fmt_number(lendable)} there: "
                       f"{fmt_number(limit - lendable)} can never be borrowed", cq.urn)


KUEUE_BORROWING_REACHABLE = stack_policy(
    "kueue-borrowing-reachable",
    "A ClusterQueue's GPU borrowingLimit should not exceed what the other queues of its cohort own in that "
    "flavor: the excess can never be borrowed, so the limit overstates the capacity a team can burst to (and "
    "a borrowingLimit without a cohort borrows nothing). Fix: lower borrowingLimit to the cohort peers' "
    "nominal quota, or give the peers quota in that flavor.",
    _check_borrowing,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=schema(gpuResourceName=GPU_RESOURCE_SCHEMA),
)

POLICIES = [
    KUEUE_QUOTA_WITHIN_CAPACITY,
    KUEUE_FLAVORS_MATCH_NODES,
    KUEUE_QUEUE_REFERENCES,
    KUEUE_NAMESPACE_SELECTOR,
    KUEUE_API_VERSION,
    HELM_CHARTS_PINNED,
    KUEUE_BORROWING_REACHABLE,
]
