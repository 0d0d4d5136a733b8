"""The team dataset read path: a Filestore Zonal share, read-only in every job of the team.

Filestore Zonal ("Filestore Zonal tier", cloud.google.com/filestore/docs/service-tiers-zonal) is the
tier Google describes for "process large data sets, perform batch compute jobs, and advanced AI/ML
training". Its two capacity ranges and their step sizes bound `datasets.sizeGi`; read and write
throughput scale with capacity (260 MiB/s and 88 MiB/s per provisioned TiB in the lower range, 650 and
220 MiB/s per 2.5 TiB in the higher, i.e. the same rate per TiB). GKE creates the instance through its
Filestore CSI driver. The stack owns each share: it creates the Filestore instance itself (so `pulumi
destroy` and removing `datasets` delete it, and `dataProtection.protect` guards it like the buckets),
and binds it to the team's claim as a pre-existing instance ("Access pre-existing Filestore instances
with the Filestore CSI driver": a PersistentVolume with `volumeHandle
modeInstance/<zone>/<instance>/<share>` and `volumeAttributes {ip, volume}`, a claim naming it). A
dynamically provisioned share (a StorageClass) would be created and deleted by the CSI driver, outside
the stack: with `reclaimPolicy: Retain` it outlives `pulumi destroy`, billed; with `Delete` its
deletion races the cluster's own deletion.
"""

from __future__ import annotations

from typing import Iterator

from .errors import Issue

FILESTORE_DRIVER = "filestore.csi.storage.gke.io"
STORAGE_CLASS = "datasets-zonal"  # cluster-wide, one for every team that opts in
CLAIM = "datasets"  # the PersistentVolumeClaim in each opted-in team namespace
VOLUME = "datasets"
MOUNT_PATH = "/datasets"  # not under /data: a mount point inside the FUSE bucket mount is an object in the bucket
TIER = "ZONAL"  # Filestore's service tier name (Instance.tier)
SHARE = "datasets"  # the file share inside each instance (Filestore: 1-16 characters, letters, digits, _)

GIB_PER_TIB = 1024
# (min GiB, max GiB, step GiB) of the two Zonal capacity ranges: 1-9.75 TiB in 256 GiB units,
# 10-100 TiB in 2.5 TiB units (the doc's "Minimum scaling units").
ZONAL_RANGES = ((1024, 9984, 256), (10240, 102400, 2560))
READ_MIBPS_PER_TIB = 260


def size_problem(size_gi: int) -> tuple[str, int] | None:
    """(what is wrong, the nearest valid size) for a size Filestore Zonal cannot provision, else None."""
    for low, high, step in ZONAL_RANGES:
        if low <= size_gi <= high and (size_gi - low) % step == 0:
            return None
    valid = [s for low, high, step in ZONAL_RANGES for s in range(low, high + 1, step)]
    nearest = min(valid, key=lambda s: (abs(s - size_gi), -s))
    return ("Filestore Zonal provisions 1024..9984 GiB in steps of 256 GiB or 10240..102400 GiB in steps "
            f"of 2560 GiB; got {size_gi}", nearest)


def read_mibps(size_gi: int) -> float:
    return READ_MIBPS_PER_TIB * size_gi / GIB_PER_TIB


def teams_with_datasets(platform) -> list:
    return [t for t in platform.teams if t.datasets is not None]


def share_zone(platform, team) -> str:
    """The zone of a team's Filestore instance: its own `datasets.zone`, else the platform's first zone."""
    return team.datasets.zone or platform.zones[0]


def volume_handle(zone: str, instance: str) -> str:
    """The Filestore CSI driver's handle of a pre-existing instance's share."""
    return f"modeInstance/{zone}/{instance}/{SHARE}"


def zone_issues(platform) -> Iterator[Issue]:
    for t, team in enumerate(platform.teams):
        if team.datasets is not None and team.datasets.zone and team.datasets.zone not in platform.zones:
            yield Issue(f"teams[{t}].datasets.zone", f"{team.datasets.zone!r} is not one of the platform's zones",
                        f"use one of {', '.join(platform.zones)}, where the team's jobs run")
