"""The team dataset read path on the cluster: one Filestore StorageClass and a claim per opted-in team.

GKE "Access Filestore instances with the Filestore CSI driver": the cluster's Filestore CSI add-on
(addonsConfig.gcpFilestoreCsiDriverConfig, on in components/gcp/cluster.py) provisions one Filestore
instance per claim of a StorageClass with provisioner `filestore.csi.storage.gke.io`; `tier` picks
the service tier and `network` the VPC the instance peers with (default "default", which this
platform's VPC is not). Filestore is NFS, so the claim is ReadWriteMany and every pod of the team
mounts the same share. WaitForFirstConsumer creates the instance in the zone of the first job that
mounts it (the GPU zone), and Retain keeps the instance and its data when the claim goes away, as the
team buckets are kept (pulumi-kubernetes treats a Pending claim of such a class as ready, #3130).
"""

from __future__ import annotations

from typing import Optional

from components.model.datasets import CLAIM, FILESTORE_DRIVER, STORAGE_CLASS, TIER, teams_with_datasets
from components.model.names import network_name
from components.model.schema import Platform, Team


def storage_class(platform: Platform) -> dict:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS},
        "provisioner": FILESTORE_DRIVER,
        "parameters": {"tier": TIER, "network": network_name(platform)},
        "volumeBindingMode": "WaitForFirstConsumer",
        "reclaimPolicy": "Retain",
        "allowVolumeExpansion": True,
    }


def storage_objects(platform: Platform) -> list[dict]:
    """The StorageClass, once, when any team has datasets; nothing otherwise."""
    return [storage_class(platform)] if teams_with_datasets(platform) else []


def claim(team: Team) -> Optional[dict]:
    if team.datasets is None:
        return None
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": CLAIM, "namespace": team.name},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": STORAGE_CLASS,
            "resources": {"requests": {"storage": f"{team.datasets.size_gi}Gi"}},
        },
    }
