"""The team dataset share on the cluster: a PersistentVolume bound to the stack's Filestore instance
and the team's claim of it (components/model/datasets.py says why the stack owns the instance).

GKE "Access pre-existing Filestore instances with the Filestore CSI driver": a PersistentVolume with
`storageClassName: ""`, `csi.driver: filestore.csi.storage.gke.io`, `csi.volumeHandle:
modeInstance/<zone>/<instance>/<share>`, `csi.volumeAttributes: {ip, volume: <share>}`, and a claim with
`storageClassName: ""` and `volumeName` naming it (static binding: no provisioner is involved, and the
cluster's Filestore CSI add-on only mounts). Filestore is NFS, so both are ReadWriteMany and every pod
of the team mounts the same share. `Retain` on the volume: deleting the claim or the volume never
deletes data; the instance itself goes only when the stack deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from components.model.datasets import CLAIM, FILESTORE_DRIVER, SHARE, share_zone, teams_with_datasets, volume_handle
from components.model.schema import Team


@dataclass(frozen=True)
class ShareRef:
    """Where a team's share is: the CSI volume handle and the instance's IP (cloud outputs, or the
    stand-ins validation uses before they exist)."""

    volume_handle: Any
    ip: Any


def volume_name(team: Team) -> str:
    return f"{CLAIM}-{team.name}"


def _capacity(team: Team) -> dict:
    return {"storage": f"{team.datasets.size_gi}Gi"}


def volume(team: Team, share: ShareRef) -> Optional[dict]:
    if team.datasets is None:
        return None
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": volume_name(team), "labels": {"batch-platform/team": team.name}},
        "spec": {
            "storageClassName": "",
            "capacity": _capacity(team),
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "volumeMode": "Filesystem",
            "csi": {"driver": FILESTORE_DRIVER, "volumeHandle": share.volume_handle,
                    "volumeAttributes": {"ip": share.ip, "volume": SHARE}},
            # Reserved for the team's claim: no other namespace's claim can bind this volume.
            "claimRef": {"name": CLAIM, "namespace": team.name},
        },
    }


def claim(team: Team) -> Optional[dict]:
    if team.datasets is None:
        return None
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": CLAIM, "namespace": team.name},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": "",
            "volumeName": volume_name(team),
            "resources": {"requests": _capacity(team)},
        },
    }


def stand_in_shares(platform) -> dict[str, ShareRef]:
    """Values of the right shape where the instances' outputs do not exist yet (validating every object
    before anything is created, pure consumers): the handle names the instance by its logical name."""
    return {t.name: ShareRef(volume_handle(share_zone(platform, t), f"{t.name}-datasets"), "10.0.0.2")
            for t in teams_with_datasets(platform)}
