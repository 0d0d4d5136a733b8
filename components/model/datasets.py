"""The team dataset read path: a Filestore Zonal share, read-only in every job of the team.

Filestore Zonal ("Filestore Zonal tier", cloud.google.com/filestore/docs/service-tiers-zonal) is the
tier Google describes for "process large data sets, perform batch compute jobs, and advanced AI/ML
training". Its two capacity ranges and their step sizes bound `datasets.sizeGi`; read and write
throughput scale with capacity (260 MiB/s and 88 MiB/s per provisioned TiB in the lower range, 650 and
220 MiB/s per 2.5 TiB in the higher, i.e. the same rate per TiB). GKE creates the instance through its
Filestore CSI driver ("Access Filestore instances with the Filestore CSI driver"): a StorageClass with
provisioner `filestore.csi.storage.gke.io` and `tier`/`network` parameters, a ReadWriteMany claim.
"""

from __future__ import annotations

FILESTORE_DRIVER = "filestore.csi.storage.gke.io"
STORAGE_CLASS = "datasets-zonal"  # cluster-wide, one for every team that opts in
CLAIM = "datasets"  # the PersistentVolumeClaim in each opted-in team namespace
VOLUME = "datasets"
MOUNT_PATH = "/datasets"  # not under /data: a mount point inside the FUSE bucket mount is an object in the bucket
TIER = "zonal"  # the CSI driver's `tier` parameter value for Filestore Zonal

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
