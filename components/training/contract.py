"""What a rendered Job/JobSet must give the training script (pure; imported by the workload renderer).

Container (`training_container`):
- image `IMAGE`; the code is this package's files in a ConfigMap (`code_configmap`, one per
  namespace) mounted at `CODE_MOUNT/PACKAGE` (`code_volume`), `PYTHONPATH=CODE_MOUNT`, command
  `COMMAND` (`python -m batch_training`): the package uses only the standard library and torch, so
  no image has to be built;
- env: `JOB_COMPLETION_INDEX` (the Job controller sets it; Indexed completion mode),
  `TRAIN_PODS_PER_JOB` (the Job's completions), `TRAIN_PROCS_PER_POD` (GPUs per pod, 1 on CPU),
  `MASTER_ADDR` (the rank-0 pod's hostname: `indexed_job_master_addr` / `jobset_master_addr`, which
  needs the headless Service / JobSet `network.enableDNSHostnames`), `MASTER_PORT` (`PORT`),
  `CHECKPOINT_DIR` (`checkpoint_dir(job)`), and in a JobSet `TRAIN_JOB_INDEX` / `TRAIN_JOBS` from the
  pod annotations `jobset.sigs.k8s.io/job-index` / `jobset.sigs.k8s.io/replicatedjob-replicas`
  through the downward API. Optional knobs: settings.py (`TRAIN_STEPS`, ...);
- port `PORT` (29500, TCP) named `PORT_NAME`: rank 0 serves the rendezvous store there and all ranks
  connect to each other (gloo/NCCL pick further ports), so pods of one job must reach each other;
- volume mount `CHECKPOINT_MOUNT` (/data): the team bucket through the Cloud Storage FUSE CSI driver
  as a CSI ephemeral volume (`checkpoint_volume(bucket)`), with the pod annotation
  `gke-gcsfuse/volumes: "true"` (`POD_ANNOTATIONS`) that makes GKE inject the FUSE sidecar ("Mount
  Cloud Storage buckets as CSI ephemeral volumes", GKE docs). The pod's KSA must be the team's
  (Workload Identity to the team GSA, which has objectUser on the bucket).

Pod: `terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS`. On spot preemption GKE gives pods
the first 15 s of its 30 s shutdown ("Spot VMs", GKE docs: "Termination and graceful shutdown of Spot
VMs"); SIGTERM makes every rank stop after the current step and rank 0 write a checkpoint. A model
whose checkpoint takes longer than that to write loses at most `TRAIN_CHECKPOINT_EVERY` steps: the
periodic checkpoints are the floor, the SIGTERM one is a bonus.
Exit codes (for podFailurePolicy): 0 done; `EXIT_INTERRUPTED` (75) stopped on request after a
checkpoint, retry resumes; `EXIT_BAD_CONFIG` (2) the env is inconsistent, retrying cannot help;
anything else is a failure of the training itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .launch import EXIT_BAD_CONFIG, EXIT_INTERRUPTED
from .settings import ENV_CHECKPOINT_DIR
from .topology import (DEFAULT_MASTER_PORT, ENV_COMPLETION_INDEX, ENV_JOB_INDEX, ENV_JOBS, ENV_MASTER_ADDR,
                       ENV_MASTER_PORT, ENV_PODS_PER_JOB, ENV_PROCS_PER_POD, indexed_job_master_addr,
                       jobset_master_addr)

__all__ = [
    "IMAGE", "PACKAGE", "CODE_MOUNT", "COMMAND", "PORT", "PORT_NAME", "CHECKPOINT_MOUNT", "POD_ANNOTATIONS",
    "TERMINATION_GRACE_SECONDS", "EXIT_INTERRUPTED", "EXIT_BAD_CONFIG", "ENV_COMPLETION_INDEX",
    "checkpoint_dir", "checkpoint_volume", "code_configmap", "code_volume", "source_files", "training_container",
    "indexed_job_master_addr", "jobset_master_addr",
]

# torch 2.13.0 (what the torch test group runs) built for CUDA 12.6. CUDA 12.x user space runs on any
# R525+ driver through NVIDIA's minor-version compatibility, and GKE's DEFAULT/LATEST driver channels
# install R535-or-newer production branches on current COS images; a CUDA 13 build would need R580+.
# The build carries kernels for L4 (sm_89) and A100 (sm_80); `-runtime`: no compiler, smaller image.
# Not pulled or run here (no registry or GPU access): check `nvidia-smi` on a node before pinning newer.
# Fully qualified and by digest: platform/images.yaml `trainer` (where the digest comes from; a test holds
# the two equal: this module ships to the container and imports nothing outside its package).
IMAGE = ("docker.io/pytorch/pytorch:2.13.0-cuda12.6-cudnn9-runtime"
         "@sha256:6acf597eeb8e376a96580dde4952f37cc017fef732bb40bfc73f28f25e3f64b4")
PACKAGE = "batch_training"
CODE_MOUNT = "/opt/training"
COMMAND = ["python", "-m", PACKAGE]
PORT = DEFAULT_MASTER_PORT
PORT_NAME = "rendezvous"
CHECKPOINT_MOUNT = "/data"
CONTAINER_NAME = "trainer"
CODE_VOLUME = "training-code"
CHECKPOINT_VOLUME = "team-bucket"
GCSFUSE_DRIVER = "gcsfuse.csi.storage.gke.io"
POD_ANNOTATIONS = {"gke-gcsfuse/volumes": "true"}
TERMINATION_GRACE_SECONDS = 15
JOBSET_JOB_INDEX_ANNOTATION = "jobset.sigs.k8s.io/job-index"
JOBSET_REPLICAS_ANNOTATION = "jobset.sigs.k8s.io/replicatedjob-replicas"

_SOURCES = Path(__file__).parent


def checkpoint_dir(job: str) -> str:
    """The job's checkpoint directory inside the mounted team bucket (stable across retries)."""
    return f"{CHECKPOINT_MOUNT}/checkpoints/{job}"


def source_files() -> dict[str, str]:
    """The package's modules, file name -> text: the data of the code ConfigMap."""
    return {path.name: path.read_text() for path in sorted(_SOURCES.glob("*.py"))}


def code_configmap(name: str, namespace: str) -> dict:
    """The ConfigMap carrying the package's code (a few tens of KB, far below the 1 MiB limit)."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": source_files()}


def code_volume(configmap: str) -> dict:
    return {"name": CODE_VOLUME, "configMap": {"name": configmap}}


def checkpoint_volume(bucket: str) -> dict:
    """The team bucket as a Cloud Storage FUSE CSI ephemeral volume."""
    return {"name": CHECKPOINT_VOLUME,
            "csi": {"driver": GCSFUSE_DRIVER, "volumeAttributes": {"bucketName": bucket}}}


def _field(annotation: str) -> dict:
    return {"valueFrom": {"fieldRef": {"fieldPath": f"metadata.annotations['{annotation}']"}}}


def training_container(job: str, *, master_addr: str, pods_per_job: int = 1, procs_per_pod: int = 1,
                       in_jobset: bool = False, extra_env: Optional[dict[str, str]] = None) -> dict:
    """The trainer container (without resources: the renderer adds the GPU requests from the model).

    `job` names the checkpoint directory: the Job's or JobSet's name, stable across its retries.
    """
    env = [
        {"name": ENV_PODS_PER_JOB, "value": str(pods_per_job)},
        {"name": ENV_PROCS_PER_POD, "value": str(procs_per_pod)},
        {"name": ENV_MASTER_ADDR, "value": master_addr},
        {"name": ENV_MASTER_PORT, "value": str(PORT)},
        {"name": ENV_CHECKPOINT_DIR, "value": checkpoint_dir(job)},
        {"name": "PYTHONPATH", "value": CODE_MOUNT},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    if in_jobset:
        env += [{"name": ENV_JOB_INDEX, **_field(JOBSET_JOB_INDEX_ANNOTATION)},
                {"name": ENV_JOBS, **_field(JOBSET_REPLICAS_ANNOTATION)}]
    env += [{"name": k, "value": v} for k, v in sorted((extra_env or {}).items())]
    return {
        "name": CONTAINER_NAME,
        "image": IMAGE,
        "command": list(COMMAND),
        "env": env,
        "ports": [{"name": PORT_NAME, "containerPort": PORT, "protocol": "TCP"}],
        "volumeMounts": [
            {"name": CODE_VOLUME, "mountPath": f"{CODE_MOUNT}/{PACKAGE}", "readOnly": True},
            {"name": CHECKPOINT_VOLUME, "mountPath": CHECKPOINT_MOUNT},
        ],
    }
