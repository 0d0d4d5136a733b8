"""How big a workload's pod is: its share of one node, split between the trainer and the FUSE sidecar.

A pod gets the node's allocatable share of the GPUs (or shared GPU units) it requests (`per_gpu` over
the `nvidia.com/gpu` the node advertises: the same figure the queues' cpu/memory quotas use). The Cloud
Storage FUSE sidecar that GKE's webhook injects into the *pod* is not in the job's template, so Kueue's
quota (pkg/workload/resources.go, computed from the template) never sees it; the trainer therefore
requests the share less the sidecar, and the pod as the node sees it (trainer + sidecar) is exactly the
share the quota counted. The sidecar's requests are stated as `gke-gcsfuse/*` annotations ("Configure
resources for the sidecar container", GKE "Configure the Cloud Storage FUSE CSI driver sidecar
container"); its limits are unset ("0"). The file cache is a RAM-backed
`gke-gcsfuse-cache` volume: files written to a memory emptyDir count against the memory of the container
that writes them (Kubernetes "Volumes", emptyDir), which is the sidecar, so its memory includes the cache.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.model.allocatable import Resources
from components.model.flavors import GPU_RESOURCE
from components.model.schema import DataSettings

# "0" unsets the sidecar's limits (GKE "Configure the Cloud Storage FUSE CSI driver sidecar container"):
# Cloud Storage FUSE stages a file on the node's disk until it is closed, so a default ephemeral-storage
# or memory limit would kill the sidecar in the middle of writing a large checkpoint; a CPU limit would
# throttle reads. The requests below still reserve what the sidecar needs.
SIDECAR_LIMITS = {"cpu": "0", "memory": "0", "ephemeral-storage": "0"}
# GKE's sidecar defaults (250m CPU, 256Mi memory; webhook config), stated explicitly.
SIDECAR_BASE = Resources(cpu_millis=250, memory_mib=256)
CACHE_VOLUME = "gke-gcsfuse-cache"  # the name the webhook looks for (pkg/webhook/sidecar_spec.go)


@dataclass(frozen=True)
class Sidecar:
    """The FUSE sidecar of one pod: its requests and the RAM file cache it holds."""

    cache_mib: int
    write_buffer_gb: int

    @property
    def requests(self) -> Resources:
        return Resources(SIDECAR_BASE.cpu_millis, SIDECAR_BASE.memory_mib + self.cache_mib)

    def annotations(self) -> dict[str, str]:
        quantities = self.requests.quantities()
        requests = {"cpu": quantities["cpu"], "memory": quantities["memory"], "ephemeral-storage": f"{self.write_buffer_gb}Gi"}
        return {**{f"gke-gcsfuse/{r}-request": v for r, v in requests.items()},
                **{f"gke-gcsfuse/{r}-limit": v for r, v in SIDECAR_LIMITS.items()}}

    def volume_attributes(self) -> dict[str, str]:
        return {"fileCacheCapacity": f"{self.cache_mib}Mi"} if self.cache_mib else {}

    def volumes(self) -> list[dict]:
        if not self.cache_mib:
            return []
        return [{"name": CACHE_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": f"{self.cache_mib}Mi"}}]


def sidecar_for(share: Resources, data: DataSettings) -> Sidecar:
    """The sidecar of a pod with this node share: its file cache is `fileCachePercent` of the share's memory."""
    return Sidecar(share.memory_mib * data.file_cache_percent // 100, data.write_buffer_gb)


def pod_resources(share: Resources, gpus: int, sidecar: Sidecar) -> dict:
    """Trainer resources: the share less the sidecar (memory also as the limit), GPUs as limits."""
    quantities = (share - sidecar.requests).quantities()
    return {"requests": dict(quantities),
            "limits": {"memory": quantities["memory"], GPU_RESOURCE: str(gpus)}}
