"""Dedicated least-privilege service accounts: one for nodes, one per team (Workload Identity)."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.model import Platform, fleet
from components.model.names import ksa_name, node_account_id, team_account_id, team_bucket_name
from components.model.schema import DataProtection, DataSettings, Team

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


def _member(account: gcp.serviceaccount.Account) -> pulumi.Output[str]:
    return account.email.apply(lambda email: f"serviceAccount:{email}")


def bucket_protection(policy: DataProtection) -> dict:
    """Versioning keeps overwritten/deleted objects (noncurrent versions expire after N days, so cost is
    bounded); soft delete keeps deleted objects restorable (GCS: 0 = off, otherwise 7..90 days)."""
    args: dict = {
        "versioning": {"enabled": policy.bucket_versioning},
        "soft_delete_policy": {"retention_duration_seconds": policy.soft_delete_days * 86400},
    }
    if policy.bucket_versioning:
        args["lifecycle_rules"] = [{
            "action": {"type": "Delete"},
            "condition": {"days_since_noncurrent_time": policy.noncurrent_version_days, "with_state": "ARCHIVED"},
        }]
    return args


def scratch_rule(data: DataSettings) -> dict:
    """Objects under the scratch prefix are deleted `scratchDays` after they were written (GCS lifecycle
    `Delete` with `age` and `matchesPrefix`); checkpoints and datasets elsewhere stay."""
    return {"action": {"type": "Delete"},
            "condition": {"age": data.scratch_days, "matches_prefixes": [data.scratch_prefix], "with_state": "ANY"}}


class NodeIdentity(pulumi.ComponentResource):
    """The node and NAP service account, so no pool ever runs as the default compute account."""

    email: pulumi.Output[str]

    def __init__(self, name: str, platform: Platform, apis: ProjectApis, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:gcp:NodeIdentity", name, None, opts)
        account = gcp.serviceaccount.Account(
            f"{name}-sa",
            account_id=node_account_id(platform),
            display_name=f"GKE nodes of {platform.name_prefix}",
            opts=pulumi.ResourceOptions(parent=self, depends_on=apis.ready("service-account")),
        )
        for role in NODE_ROLES:
            gcp.projects.IAMMember(
                f"{name}-{role.split('/')[1]}",
                project=platform.project,
                role=role,
                member=_member(account),
                opts=pulumi.ResourceOptions(parent=self, depends_on=apis.ready("project-iam")),
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

        account = gcp.serviceaccount.Account(
            f"{name}-sa",
            account_id=team_account_id(platform, team),
            display_name=f"Workloads of {team.name}",
            opts=child("service-account"),
        )
        for role in TEAM_PROJECT_ROLES:
            gcp.projects.IAMMember(
                f"{name}-{role.split('/')[1]}", project=platform.project, role=role,
                member=_member(account), opts=child("project-iam"),
            )
        # On a fleet worker, the team's jobs are the manager's, copied as submitted (MultiKueue), so their Cloud
        # Storage FUSE volume names the manager's team bucket: this identity gets object access there and the
        # worker has no bucket of its own (docs/design.md "Data across regions").
        manager_bucket = fleet.data_buckets(platform).get(team.name)
        if manager_bucket:
            gcp.storage.BucketIAMMember(
                f"{name}-manager-bucket-objects", bucket=manager_bucket, role="roles/storage.objectUser",
                member=_member(account), opts=child("bucket"),
            )
            bucket_name: pulumi.Input[str] = manager_bucket
        else:
            bucket_name = self._own_bucket(name, platform, team, account, apis, child)
        # The workload pool exists only once the cluster does, so the binding waits for it.
        gcp.serviceaccount.IAMMember(
            f"{name}-workload-identity",
            service_account_id=account.name,
            role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{platform.workload_pool}[{team.name}/{ksa_name(team)}]",
            opts=child("service-account-iam", cluster),
        )
        for member in team.members:
            gcp.projects.IAMMember(
                f"{name}-member-{member.split(':', 1)[1].replace('@', '-at-')}",
                project=platform.project, role=MEMBER_PROJECT_ROLE, member=member, opts=child("project-iam"),
            )
        self.email = account.email
        self.bucket = pulumi.Output.from_input(bucket_name)
        self.register_outputs({"email": self.email, "bucket": self.bucket})

    def _own_bucket(self, name: str, platform: Platform, team: Team, account: gcp.serviceaccount.Account,
                    apis: ProjectApis, child) -> pulumi.Output[str]:
        """Checkpoints and datasets live in the team's own bucket (spot-friendly training resumes from it); the
        reference's project-wide storage.admin is replaced by object access to this bucket only."""
        protection = bucket_protection(platform.data_protection)
        bucket = gcp.storage.Bucket(
            f"{name}-bucket",
            name=team_bucket_name(platform, team),
            location=platform.region,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            force_destroy=False,  # GCS refuses to delete a bucket that still holds objects
            **{**protection, "lifecycle_rules": protection.get("lifecycle_rules", []) + [scratch_rule(platform.data)]},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=apis.ready("bucket"), protect=platform.data_protection.protect,
                retain_on_delete=platform.data_protection.retain_buckets_on_delete),
        )
        gcp.storage.BucketIAMMember(
            f"{name}-bucket-objects", bucket=bucket.name, role="roles/storage.objectUser",
            member=_member(account), opts=child("bucket"),
        )
        return bucket.name
