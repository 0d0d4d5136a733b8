"""How big a workload's pod is: one node's GPUs and that node's allocatable share, minus the sidecar.

The Cloud Storage FUSE sidecar is injected into the *pod* by GKE's webhook, so Kueue's quota (computed
from the job's template) never sees it, but the node must hold it: the trainer requests the node's
share (`per_gpu` x GPUs, the same figure the queues' cpu/memory quotas use) less the sidecar's
requests, which the pod template states explicitly instead of relying on GKE's defaults.
"""

from __future__ import annotations

from components.model.allocatable import Resources
from components.model.flavors import GPU_RESOURCE

# Stated on the pod template as gke-gcsfuse/<resource>-request.
SIDECAR_REQUESTS = {"cpu": "250m", "memory": "256Mi"}
# "0" unsets the sidecar's limits (GKE "Configure the Cloud Storage FUSE CSI driver sidecar container"):
# Cloud Storage FUSE stages a file on the node's disk until it is closed, so a default ephemeral-storage
# or memory limit would kill the sidecar in the middle of writing a large checkpoint.
SIDECAR_LIMITS = {"cpu": "0", "memory": "0", "ephemeral-storage": "0"}
SIDECAR = Resources(cpu_millis=250, memory_mib=256)


def pod_resources(share_per_gpu: Resources, gpus: int) -> dict:
    """Container resources: cpu/memory requested (memory also as the limit), GPUs as limits."""
    own = share_per_gpu.times(gpus) - SIDECAR
    quantities = own.quantities()
    return {"requests": dict(quantities),
            "limits": {"memory": quantities["memory"], GPU_RESOURCE: str(gpus)}}
