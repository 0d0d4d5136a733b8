"""The platform's typed config: one frozen pydantic model read from stack config.

Everything the program creates is derived from an instance of `Platform`; the keys are camelCase
because that is how they are written in `Pulumi.<stack>.yaml`. Unknown keys are errors, so a typo
never passes silently.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, Field, create_model
from pydantic_core import PydanticCustomError

from .datasets import size_problem
from .fleet_schema import Fleet
from .queue_classes import QUEUE_CLASSES, TEAM_CLASSES
from .schema_base import DNS_LABEL, PROJECT_ID, REGION, VERSION, Cidr, DnsLabel, FlavorQuota, Model, _cidr  # noqa: F401 (re-exported)


class Provisioning(str, Enum):
    """How a GPU pool gets its machines; it decides the pool's taint and Kueue flavor semantics."""

    RESERVED = "reserved"
    ON_DEMAND = "on-demand"
    SPOT = "spot"
    DWS = "dws"


class AuthorizedNetwork(Model):
    # GKE API v1 MasterAuthorizedNetworksConfig.CidrBlock: "display_name is an optional field for users
    # to identify CIDR blocks", a free-text string (e.g. "Office VPN").
    name: str = Field(min_length=1, description="Display name of the block in the GKE console (free text).")
    cidr: Cidr


class Network(Model):
    subnet_cidr: Cidr = Field(description="Primary range of the node subnet.")
    pods_cidr: Cidr = Field(description="Secondary range for pod IPs (VPC-native cluster).")
    services_cidr: Cidr = Field(description="Secondary range for Service IPs.")
    master_cidr: Cidr = Field(description="/28 for the private control plane.")
    authorized_networks: list[AuthorizedNetwork] = Field(
        min_length=1, description="Who may reach the control-plane endpoint."
    )


class SystemPool(Model):
    machine_type: str = "e2-standard-4"
    min_nodes: int = Field(1, ge=1, description="Total across zones; the platform controllers run here.")
    max_nodes: int = Field(6, ge=1)


# GKE Standard: 8 to 256 Pods per node; the default is 110 ("Configure maximum Pods per node",
# cloud.google.com/kubernetes-engine/docs/how-to/flexible-pod-cidr).
MAX_PODS_DEFAULT, MAX_PODS_MIN, MAX_PODS_MAX = 110, 8, 256


class Cluster(Model):
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    deletion_protection: bool = True
    private_endpoint: bool = Field(
        False, description="True: the control plane has no public IP (reach it through the VPC)."
    )
    system_pool: SystemPool = SystemPool()
    max_pods_per_node: int = Field(
        MAX_PODS_DEFAULT, ge=MAX_PODS_MIN, le=MAX_PODS_MAX,
        description="Every node's pod limit; sizes each node's slice of podsCidr (set on the cluster and every pool).",
    )
    security_group: Optional[str] = Field(
        None,
        pattern=r"^gke-security-groups@[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        description="Google Groups for RBAC: gke-security-groups@<your-domain>, the group that contains the teams' "
        "groups. Required when a team lists group: members.",
    )


class SharingStrategy(str, Enum):
    """GKE's GPU sharing strategies (node pool `gpuSharingConfig.gpuSharingStrategy`)."""

    TIME_SHARING = "time-sharing"
    MPS = "mps"


class GpuSharing(Model):
    """Several containers per physical GPU: time-sharing or MPS clients, and/or MIG partitions.

    Rules (GKE "About GPU sharing strategies in GKE", "Run multi-instance GPUs") are checked in
    components/model/sharing.py; the pool's ResourceFlavor and quotas then count shared units."""

    strategy: Optional[SharingStrategy] = Field(
        None, description="time-sharing; needs maxSharedClientsPerGpu (mps is refused: its clients need hostIPC).")
    max_shared_clients_per_gpu: Optional[int] = Field(
        None, description="Containers per GPU (or per MIG partition) with a strategy; GKE allows 2..48.")
    partition_size: Optional[str] = Field(
        None, description="MIG partition, e.g. 1g.5gb (A100 40GB); only A100/H100 offer MIG.")


class Accelerator(Model):
    type: str = Field(description="GKE accelerator type, e.g. nvidia-l4.")
    count: int = Field(ge=1, description="GPUs per node.")
    sharing: Optional[GpuSharing] = Field(None, description="Share each GPU between containers (GPU sharing pools).")


# GKE-managed driver installation (node pool gpuDriverInstallationConfig.gpuDriverVersion).
GpuDriver = Literal["DEFAULT", "LATEST"]


class GpuPool(Model):
    """A static GKE node pool of GPU machines; it becomes exactly one Kueue ResourceFlavor."""

    name: DnsLabel = Field(description="Node pool name and ResourceFlavor name.")
    machine_type: str
    accelerator: Accelerator
    provisioning: Provisioning
    zones: Optional[list[str]] = Field(None, description="Defaults to the platform's zones.")
    min_nodes: int = Field(0, ge=0, description="Total across zones (autoscaled pools).")
    max_nodes: int = Field(0, ge=0, description="Total across zones (autoscaled pools).")
    reserved_nodes: int = Field(
        0, ge=0, description="Reserved pools only: machines in the reservation = fixed pool size."
    )
    gpu_driver: Optional[GpuDriver] = Field(
        None, description="This pool's GKE-managed driver; unset = versions.gpuDriver. A change replaces the pool "
        "(docs/operating.md, Upgrading: roll it out through a second pool).")


class NapShape(Model):
    """A GPU shape that Node Auto Provisioning creates on demand (e.g. compact-placement spot A100)."""

    name: DnsLabel = Field(description="ResourceFlavor name.")
    machine_type: str
    accelerator: Accelerator
    spot: bool = True
    compact_placement: bool = True
    max_gpus: int = Field(ge=1, description="NAP limit granted for this shape's accelerator.")


class NodeAutoProvisioning(Model):
    enabled: bool = True
    min_cpu: int = Field(4, ge=0)
    min_memory_gb: int = Field(16, ge=0)
    shapes: list[NapShape] = []


class _TeamQueuesBase(Model):
    def by_class(self) -> list[tuple[str, list[FlavorQuota]]]:
        """(class, quotas) in the queue-class table's order (components/model/queue_classes.py)."""
        return [(c.name, getattr(self, c.name)) for c in TEAM_CLASSES]


# One `queues.<class>` key per per-team row of the queue-class table.
TeamQueues = create_model(
    "TeamQueues", __base__=_TeamQueuesBase,
    **{c.name: (list[FlavorQuota], Field([], description=c.quota_description)) for c in TEAM_CLASSES},
)


def _dataset_size(size_gi: int) -> int:
    problem = size_problem(size_gi)
    if problem:
        raise PydanticCustomError("platform_dataset_size", problem[0],
                                  {"fix": f"use {problem[1]}", "example": problem[1]})
    return size_gi


class Datasets(Model):
    """A team's high-throughput read path: a Filestore Zonal share mounted read-only at /datasets."""

    tier: Literal["zonal"] = Field("zonal", description="Filestore service tier (Zonal: throughput scales with size).")
    zone: Optional[str] = Field(
        None, description="Zone of the Filestore instance; unset = the platform's first zone. Readers in other zones "
        "cross zones (billed).")
    size_gi: Annotated[int, AfterValidator(_dataset_size)] = Field(
        description="Provisioned GiB (billed whole): 1024..9984 in 256s or 10240..102400 in 2560s; "
        "reads 260 MiB/s per TiB.")


# An image reference as container runtimes parse it (distribution/reference reference.go grammar: name
# [":" tag] ["@" digest]; lowercase path components; no spaces); the API server stores any string, the pull fails.
IMAGE_REF = re.compile(r"^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*"
             r"[a-zA-Z0-9]))*(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)"
             r"[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$")


def _image_ref(image: str) -> str:
    if not IMAGE_REF.match(image):
        raise PydanticCustomError("platform_image_ref", f"{image!r} is not an image reference (registry/path:tag, "
                                  "lowercase path, no spaces)", {"fix": "write e.g. nvcr.io/nvidia/tritonserver:24.08-py3"})
    return image


class Serving(Model):
    """A team's model server (docs/teams.md "Deploy a model"): replicas on the team's `serving` queue."""

    image: Annotated[str, AfterValidator(_image_ref)] = Field(
        min_length=1, description="The server image; it speaks the Open Inference Protocol (KServe V2) over HTTP "
        "(/v2/health/live, /v2/health/ready) and reads its models from the team bucket, mounted read-only at /models.")
    port: int = Field(8000, ge=1024, le=65535, description="HTTP port of the server (non-root: 1024 and above).")
    gpus_per_replica: int = Field(1, ge=1, description="GPUs of one replica (at most one node's).")
    min_replicas: int = Field(1, ge=1, description="Replicas kept at all times (the cost floor; the HPA cannot go lower).")
    max_replicas: int = Field(ge=1, description="Most replicas under load; bounded by the team's serving quota.")
    target_gpu_percent: int = Field(
        70, ge=10, le=95, description="Average GPU duty cycle per replica the autoscaler holds (DCGM_FI_DEV_GPU_UTIL).")


class Team(Model):
    name: DnsLabel = Field(description="Namespace, service-account and queue name stem.")
    cohort: Optional[DnsLabel] = Field(None, description="Teams in one cohort lend and borrow quota.")
    queues: TeamQueues
    dws: bool = Field(False, description="Grants the team the Dynamic Workload Scheduler queue.")
    members: list[str] = Field([], description="Google identities (user:/group:) who submit work.")
    monthly_budget_usd: Optional[float] = Field(
        None, gt=0, description="Optional: the policy pack reports when the team's quota burst costs more."
    )
    datasets: Optional[Datasets] = Field(
        None, description="Optional: a Filestore share the team's jobs read at /datasets (see docs/teams.md, Team data)."
    )
    serving: Optional[Serving] = Field(
        None, description="Optional: an autoscaled model server on the team's `serving` queue (docs/teams.md).")
    pipelines: bool = Field(
        False, description="Grants the team Argo Workflows in its namespace: pipelines whose pod steps are admitted "
        "through its own queues (docs/teams.md \"Submit a pipeline\").")


class Dws(Model):
    flavor: DnsLabel = Field(description="A GPU pool with provisioning: dws.")
    gpus: int = Field(ge=1, description="Nominal GPUs of the shared DWS ClusterQueue.")


# The releases whose CRD schemas are vendored in platform/schemas; every object is validated against them.
# argo_workflows: the argo-workflows chart, whose appVersion (v4.0.6) the Argo CRDs are vendored at.
SCHEMA_VERSIONS = {"kueue": "0.19.2", "jobset": "0.12.0", "argo_workflows": "1.0.18"}
ExactVersion = Annotated[str, Field(pattern=VERSION, description="Exact chart version, no ranges.")]


class Versions(Model):
    kueue: ExactVersion = SCHEMA_VERSIONS["kueue"]
    jobset: ExactVersion = SCHEMA_VERSIONS["jobset"]
    argo_workflows: ExactVersion = Field(
        SCHEMA_VERSIONS["argo_workflows"], pattern=VERSION,
        description="The argo-workflows chart (Argo Workflows v4.0.6), installed when a team has pipelines.")
    gpu_driver: GpuDriver = Field(
        "DEFAULT", description="GKE-managed driver of every GPU pool without its own gpuDriver and of NAP's pools: "
        "DEFAULT is the version GKE tests with each node version."
    )


class Controllers(Model):
    """High availability of the platform's own controllers (Kueue, JobSet) on the system pool."""

    replicas: int = Field(
        2, ge=1, le=5,
        description="Controller pods per Deployment (leader election: one active, the others warm). "
        "Above 1: spread over distinct nodes and a PodDisruptionBudget keeps one running.",
    )
    spread_across_zones: bool = Field(
        True, description="Replicas must land in distinct zones (DoNotSchedule); false: zones are only preferred."
    )


def _soft_delete_days(days: int) -> int:
    # GCS accepts a retention of 0 (off) or 7 to 90 days (pulumi_gcp BucketSoftDeletePolicy docs).
    if days != 0 and not 7 <= days <= 90:
        raise PydanticCustomError(
            "platform_soft_delete", "GCS soft delete keeps objects 7 to 90 days, or is off (0); got {days}",
            {"days": days, "fix": "use 0 or 7..90", "example": min(max(days, 7), 90)},
        )
    return days


class DataProtection(Model):
    """What survives `pulumi destroy`, a replacement or a deleted object: the cluster and the team buckets."""

    protect: bool = Field(
        True, description="Pulumi `protect` on the cluster and team buckets: destroy and replacement refuse."
    )
    retain_buckets_on_delete: bool = Field(
        True, description="Removing a team or the stack leaves its bucket in GCP (still billed)."
    )
    bucket_versioning: bool = Field(True, description="Overwritten or deleted objects stay as noncurrent versions.")
    noncurrent_version_days: int = Field(
        30, ge=1, description="Noncurrent object versions are deleted after this many days (lifecycle rule)."
    )
    soft_delete_days: Annotated[int, AfterValidator(_soft_delete_days)] = Field(
        7, description="Deleted objects stay restorable this long; 0 turns soft delete off, else 7..90."
    )


class Security(Model):
    """Cluster hardening per stack (docs/security.md); every control is on unless the stack turns it off."""

    secrets_encryption: bool = Field(
        True, description="Application-layer Secrets encryption with a Cloud KMS key of the stack (CIS GKE 5.3.1).")
    key_rotation_days: int = Field(90, ge=1, le=365, description="The KMS key makes a new primary version this often.")
    binary_authorization: Literal["off", "dryrun", "enforce"] = Field(
        "enforce", description="Binary Authorization: enforce admits only the platform's images and allowedImages; "
        "dryrun only logs what enforce would block (CIS GKE 5.10.4).")
    allowed_images: list[Annotated[str, Field(pattern=r"^[a-z0-9.-]+(:[0-9]+)?/[^\s]+$")]] = Field(
        [], description="More image patterns Binary Authorization admits (registry/path/image*), e.g. your teams' images.")
    boot_disk_encryption: bool = Field(
        True, description="Every node's boot disk (all pools and Node Auto Provisioning's) encrypted with a Cloud KMS "
        "key of the stack (CIS GKE 5.9.2), and the same key for the persistent disks of team claims: the default "
        "StorageClass pd-balanced-cmek, no other class in team namespaces (CIS GKE 5.9.1). Set it when the stack is "
        "created: changing it replaces every node pool and the cluster.")
    flow_logs: bool = Field(True, description="VPC Flow Logs on the node subnet (CIS GKE 5.6.1).")
    intranode_visibility: bool = Field(
        True, description="Pod-to-pod traffic on one node goes through the VPC, so flow logs and firewalls see it (CIS GKE 5.6.1).")


class DataSettings(Model):
    """How every team bucket is kept and mounted: the scratch prefix, and the FUSE cache and write buffer of a job."""

    scratch_prefix: str = Field(
        "scratch/", pattern=r"^[a-z0-9][-_a-z0-9/]*/$",
        description="Objects under this prefix of the team bucket are temporary (deleted by a lifecycle rule).")
    scratch_days: int = Field(7, ge=1, le=365, description="Age in days after which scratch objects are deleted.")
    file_cache_percent: int = Field(
        10, ge=0, le=50,
        description="Share of a pod's memory the Cloud Storage FUSE file cache may use (RAM-backed); 0 turns it off.")
    write_buffer_gb: int = Field(
        10, ge=1, le=1000,
        description="Node disk the FUSE sidecar stages a written file in before uploading it on close (checkpoint size).")


class KueueSettings(Model):
    pods_ready_timeout_minutes: int = Field(
        20, ge=5, le=120,
        description="An admitted workload whose pods are not all running by then is evicted and requeued "
        "(covers GPU scale-up from zero plus image pulls); over-admitted work falls back instead of hanging.",
    )


# How long a workload may wait for admission, per queue class, before someone is paged.
PendingMinutes = create_model(
    "PendingMinutes", __base__=Model, __doc__="How long a workload may wait for admission, per queue class, "
    "before someone is paged.",
    **{c.name: (int, Field(c.pending_minutes, ge=1, description=c.pending_reason)) for c in QUEUE_CLASSES},
)


class Monitoring(Model):
    """Prometheus, Alertmanager and Grafana (kube-prometheus-stack) on the system pool, and the alert thresholds."""

    enabled: bool = True
    retention_days: int = Field(15, ge=1, le=365, description="Prometheus keeps samples this long.")
    volume_gb: int = Field(50, ge=10, le=4096, description="Persistent disk per Prometheus replica.")
    prometheus_replicas: int = Field(2, ge=1, le=5, description="Identical replicas scrape the same targets (HA).")
    alertmanager_replicas: int = Field(2, ge=1, le=5, description="Clustered; deduplicates notifications.")
    pending_minutes: PendingMinutes = PendingMinutes()
    idle_gpu_percent: int = Field(5, ge=1, le=50, description="An allocated GPU below this utilisation counts as idle.")
    idle_gpu_minutes: int = Field(30, ge=5, description="How long an allocated GPU may idle before an alert.")
    scale_up_minutes: int = Field(20, ge=5, description="How long a GPU pod may stay unschedulable before an alert.")
    evictions_per_hour: int = Field(10, ge=1, description="Evictions or preemptions per ClusterQueue per hour that count as a storm.")


class ChartOverride(Model):
    values: dict[str, Any] = Field(
        default_factory=dict, description="Deep-merged over the values the platform derives from the model; keys the "
        "platform owns and keys the pinned chart does not have are refused (components/model/chart_overrides.py).")


class Charts(Model):
    """Per chart, values the model does not decide (an ingress, SSO, an Alertmanager receiver, a feature gate)."""

    kueue: ChartOverride = ChartOverride()
    jobset: ChartOverride = ChartOverride()
    monitoring: ChartOverride = Field(ChartOverride(), description="kube-prometheus-stack (and its grafana, "
                                      "kube-state-metrics and prometheus-node-exporter subcharts under their keys).")
    argo_workflows: ChartOverride = Field(ChartOverride(), description="argo-workflows (installed when a team has "
                                          "pipelines: true).")


class Platform(Model):
    project: str = Field(pattern=PROJECT_ID, description="GCP project id.")
    environment: Literal["production", "development"] = Field(
        "production", description="development: the stack may turn protection off (the policy pack refuses that "
        "in production); labels the cluster environment: <value>.")
    region: str = Field(pattern=REGION)
    zones: list[str] = Field(min_length=1)
    name_prefix: DnsLabel = Field(description="Prefix of every GCP name (network, cluster, accounts).")
    network: Network
    cluster: Cluster = Cluster()
    gpu_pools: list[GpuPool] = Field(min_length=1)
    node_auto_provisioning: NodeAutoProvisioning = NodeAutoProvisioning()
    teams: list[Team] = Field(min_length=1)
    dws: Optional[Dws] = None
    versions: Versions = Versions()
    kueue: KueueSettings = KueueSettings()
    monthly_budget_usd: Optional[float] = Field(
        None, gt=0, description="Optional: the policy pack reports when the stack's burst costs more."
    )
    controllers: Controllers = Controllers()
    data_protection: DataProtection = DataProtection()
    security: Security = Security()
    data: DataSettings = DataSettings()
    monitoring: Monitoring = Monitoring()
    charts: Charts = Charts()
    fleet: Optional[Fleet] = Field(None, description="Optional: this cluster as a MultiKueue manager or worker of a "
                                   "fleet across regions (docs/operating.md, Scaling out to several regions); absent: one cluster.")

    @property
    def workload_pool(self) -> str:
        return f"{self.project}.svc.id.goog"
