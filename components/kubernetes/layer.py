"""The Kubernetes layer: a provider bound to the new cluster, then controllers, tenancy and queues."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import pulumi
import pulumi_kubernetes as k8s

from components.gcp.datasets import TeamDatasetShare
from components.gcp.identity import TeamIdentity
from components.model import Platform

from . import multikueue, render
from .resources import (BatchControllers, DiskEncryption, KueueCapacity, Pipelines, PriorityClasses,
                         QueuePriorityPolicy, ServiceTypePolicy, TeamQueues, TeamTenancy)
from .datasets import ShareRef
from .fleet_layer import FleetLink
from .manifest_validation import validate_all


def validate_manifests(platform: Platform) -> None:
    """Fail before anything exists if any object would be rejected (or silently pruned) by the API server.

    The KSA annotations carry the team GSA e-mails, which the cloud computes; they are validated with
    the address GCP derives from the account id, the same string the real output will hold.
    """
    validate_all(render.planned_manifests(platform).all()
                 + multikueue.fleet_objects(platform, multikueue.stand_in_kubeconfigs(platform)))


@dataclass(frozen=True)
class KubernetesLayer:
    """What layers on top (monitoring) build on: the cluster's provider and the PriorityClasses."""

    provider: k8s.Provider
    priorities: PriorityClasses
    fleet: FleetLink | None  # a fleet member's MultiKueue side (nothing in a single-cluster stack)


def build_kubernetes(
    platform: Platform,
    kubeconfig: pulumi.Input[str],
    ready: list[pulumi.Resource],
    identities: Mapping[str, TeamIdentity],
    shares: Mapping[str, TeamDatasetShare],
) -> KubernetesLayer:
    """`ready` is what the cluster must have before any object applies: the cluster and its system pool
    (never the GPU pools, which keep building in parallel)."""
    provider = k8s.Provider(
        "kubernetes",
        kubeconfig=kubeconfig,
        # Server-side apply: field ownership is tracked per manager, so controllers (e.g. Kueue adding
        # finalizers) and Pulumi do not overwrite each other's fields.
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(depends_on=ready),
    )
    on_cluster = pulumi.ResourceOptions(providers=[provider])
    # The same render that validate_manifests checked, now with the GSA e-mails the cloud returns.
    objs = render.manifests(platform, {name: identity.email for name, identity in identities.items()},
                            {name: ShareRef(s.volume_handle, s.ip) for name, s in shares.items()})
    priorities = PriorityClasses("priorities", objs.priority_classes, on_cluster)
    controllers = BatchControllers("controllers", platform, priorities, objs.controllers, on_cluster)
    pipelines = Pipelines("pipelines", platform, objs.pipelines, priorities, on_cluster) if objs.pipelines else None
    QueuePriorityPolicy("queue-priority", objs.admission, controllers, on_cluster, pipelines.crds if pipelines else [])
    ServiceTypePolicy("team-services", objs.services, on_cluster)
    if objs.storage:
        DiskEncryption("disks", objs.storage, on_cluster)
    capacity = KueueCapacity("kueue", objs, controllers, on_cluster)
    for team, team_objs in objs.teams.items():
        tenancy = TeamTenancy(f"tenancy-{team}", team_objs.tenancy, on_cluster)
        TeamQueues(f"queues-{team}", team_objs, tenancy, capacity, controllers, on_cluster)
    return KubernetesLayer(provider, priorities, _fleet(platform, controllers, on_cluster))


def _fleet(platform: Platform, controllers: BatchControllers, opts: pulumi.ResourceOptions) -> FleetLink | None:
    return FleetLink("fleet", platform, controllers, opts) if platform.fleet else None
