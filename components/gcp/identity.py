"""Dedicated least-privilege service accounts: one for nodes, one per team (Workload Identity)."""

from __future__ import annotations

import pulumi

from components.model import Platform, fleet
from components.model.names import ksa_name, node_account_id, team_account_id, team_bucket_name
from components.model.schema import DataProtection, DataSettings, Team

from .registration import ACCOUNT, ACCOUNT_IAM_MEMBER, BUCKET, BUCKET_IAM_MEMBER, PROJECT_IAM_MEMBER, register
from .services import ProjectApis

# What a GKE node needs to run, log and pull images; nothing else (GKE's documented minimum).
NODE_ROLES = (
    "roles/container.defaultNodeServiceAccount",
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/autoscaling.metricsWriter",
    "roles/artifactregistry.reader",
)
# What a team's jobs need project-wide: write logs and metrics. Data access is per bucket.
TEAM_PROJECT_ROLES = ("roles/logging.logWriter", "roles/monitoring.metricWriter")
# Lets team members fetch cluster credentials; what they may do inside is Kubernetes RBAC.
MEMBER_PROJECT_ROLE = "roles/container.clusterViewer"


def _member(account: pulumi.CustomResource) -> pulumi.Output[str]:
    return account.email.apply(lambda email: f"serviceAccount:{email}")


def bucket_protection(policy: DataProtection) -> dict:
    """Versioning keeps overwritten/deleted objects (noncurrent versions expire after N days, so cost is
    bounded); soft delete keeps deleted objects restorable (GCS: 0 = off, otherwise 7..90 days)."""
    args: dict = {
        "versioning": {"enabled": policy.bucket_versioning},
        "softDeletePolicy": {"retentionDurationSeconds": policy.soft_delete_days * 86400},
    }
    if policy.bucket_versioning:
        args["lifecycleRules"] = [{
            "action": {"type": "Delete"},
            "condition": {"daysSinceNoncurrentTime": policy.noncurrent_version_days, "withState": "ARCHIVED"},
        }]
    return args


def scratch_rule(data: DataSettings) -> dict:
    """Objects under the scratch prefix are deleted `scratchDays` after they were written (GCS lifecycle
    `Delete` with `age` and `matchesPrefix`); checkpoints and datasets elsewhere stay."""
    return {"action": {"type": "Delete"},
            "condition": {"age": data.scratch_days, "matchesPrefixes": [data.scratch_prefix], "withState": "ANY"}}


class NodeIdentity(pulumi.ComponentResource):
    """The node and NAP service account, so no pool ever runs as the default compute account."""

    email: pulumi.Output[str]

    def __init__(self, name: str, platform: Platform, apis: ProjectApis, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:gcp:NodeIdentity", name, None, opts)
        account = register(
            ACCOUNT, f"{name}-sa",
            {"accountId": node_account_id(platform), "displayName": f"GKE nodes of {platform.name_prefix}"},
            pulumi.ResourceOptions(parent=self, depends_on=apis.ready("service-account")), reads=("email",),
        )
        for role in NODE_ROLES:
            register(
                PROJECT_IAM_MEMBER, f"{name}-{role.split('/')[1]}",
                {"project": platform.project, "role": role, "member": _member(account)},
                pulumi.ResourceOptions(parent=self, depends_on=apis.ready("project-iam")),
            )
        self.email = account.email
        self.register_outputs({"email": self.email})


class TeamIdentity(pulumi.ComponentResource):
    """A team's GSA, its checkpoint bucket (on a fleet worker: access to the manager's), and the Workload Identity
    binding for the team's KSA."""

    email: pulumi.Output[str]
    bucket: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        platform: Platform,
        team: Team,
        cluster: pulumi.Resource,
        apis: ProjectApis,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("gpu-batch:gcp:TeamIdentity", name, None, opts)

        def child(kind: str, *after: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=[*apis.ready(kind), *after])

        account = register(
            ACCOUNT, f"{name}-sa",
            {"accountId": team_account_id(platform, team), "displayName": f"Workloads of {team.name}"},
            child("service-account"), reads=("email", "name"),
        )
        for role in TEAM_PROJECT_ROLES:
            register(PROJECT_IAM_MEMBER, f"{name}-{role.split('/')[1]}",
                     {"project": platform.project, "role": role, "member": _member(account)}, child("project-iam"))
        # On a fleet worker, the team's jobs are the manager's, copied as submitted (MultiKueue), so their Cloud
        # Storage FUSE volume names the manager's team bucket: this identity gets object access there and the
        # worker has no bucket of its own (docs/design.md "Data across regions").
        manager_bucket = fleet.data_buckets(platform).get(team.name)
        if manager_bucket:
            register(BUCKET_IAM_MEMBER, f"{name}-manager-bucket-objects",
                     {"bucket": manager_bucket, "role": "roles/storage.objectUser", "member": _member(account)},
                     child("bucket"))
            bucket_name: pulumi.Input[str] = manager_bucket
        else:
            bucket_name = self._own_bucket(name, platform, team, account, apis, child)
        # The workload pool exists only once the cluster does, so the binding waits for it.
        register(ACCOUNT_IAM_MEMBER, f"{name}-workload-identity", {
            "serviceAccountId": account.name,
            "role": "roles/iam.workloadIdentityUser",
            "member": f"serviceAccount:{platform.workload_pool}[{team.name}/{ksa_name(team)}]",
        }, child("service-account-iam", cluster))
        for member in team.members:
            register(PROJECT_IAM_MEMBER, f"{name}-member-{member.split(':', 1)[1].replace('@', '-at-')}",
                     {"project": platform.project, "role": MEMBER_PROJECT_ROLE, "member": member}, child("project-iam"))
        self.email = account.email
        self.bucket = pulumi.Output.from_input(bucket_name)
        self.register_outputs({"email": self.email, "bucket": self.bucket})

    def _own_bucket(self, name: str, platform: Platform, team: Team, account: pulumi.CustomResource,
                    apis: ProjectApis, child) -> pulumi.Output[str]:
        """Checkpoints and datasets live in the team's own bucket (spot-friendly training resumes from it); the
        reference's project-wide storage.admin is replaced by object access to this bucket only."""
        protection = bucket_protection(platform.data_protection)
        bucket = register(BUCKET, f"{name}-bucket", {
            "name": team_bucket_name(platform, team),
            "location": platform.region,
            "uniformBucketLevelAccess": True,
            "publicAccessPrevention": "enforced",
            "forceDestroy": False,  # GCS refuses to delete a bucket that still holds objects
            **protection, "lifecycleRules": protection.get("lifecycleRules", []) + [scratch_rule(platform.data)],
        }, pulumi.ResourceOptions(
            parent=self, depends_on=apis.ready("bucket"), protect=platform.data_protection.protect,
            retain_on_delete=platform.data_protection.retain_buckets_on_delete))
        register(BUCKET_IAM_MEMBER, f"{name}-bucket-objects",
                 {"bucket": bucket.name, "role": "roles/storage.objectUser", "member": _member(account)},
                 child("bucket"))
        return bucket.name
