"""Cluster hardening a stack switches on in `security:`: Secrets encrypted with the stack's own Cloud
KMS key, Binary Authorization, and what the cluster and subnet arguments need for them.

* Application-layer Secrets encryption (GKE "Encrypt secrets at the application layer"; CIS GKE
  Benchmark 5.3.1): a key ring and key in the cluster's region, rotated every `keyRotationDays`, and
  roles/cloudkms.cryptoKeyEncrypterDecrypter on that key for the GKE service agent
  (service-PROJECT_NUMBER@container-engine-robot.iam.gserviceaccount.com, the project's
  container.googleapis.com service identity); the cluster's databaseEncryption names the key. The key
  is Pulumi-protected with the stack's data: destroying it makes every Secret unreadable.
* Binary Authorization (GKE "Binary Authorization"; CIS GKE 5.10.4): the cluster evaluates the
  project's singleton policy, which admits GKE's own system images (globalPolicyEvaluationMode),
  the images the platform chooses (platform/images.yaml, Argo's where a team has pipelines) and the
  stack's allowedImages (components/model/images.py admitted_patterns, which the model also holds a
  team's serving image to), and blocks (enforce) or only logs (dryrun) everything else.
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_gcp as gcp

from components.model import Platform
from components.model.images import admitted_patterns
from components.model.names import cluster_name

from .services import ProjectApis

ENFORCEMENT = {"enforce": "ENFORCED_BLOCK_AND_AUDIT_LOG", "dryrun": "DRYRUN_AUDIT_LOG_ONLY"}
GKE_SERVICE_AGENT_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


class ClusterHardening(pulumi.ComponentResource):
    """The KMS key (and its grant) and the Binary Authorization policy the cluster is created with."""

    key: Optional[gcp.kms.CryptoKey]
    ready: list[pulumi.Resource]  # what the cluster must wait for

    def __init__(self, name: str, platform: Platform, apis: ProjectApis, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:gcp:ClusterHardening", name, None, opts)
        security = platform.security
        self.key, self.ready = None, []
        if security.secrets_encryption:
            ring = gcp.kms.KeyRing(f"{name}-keyring", name=f"{cluster_name(platform)}-gke", location=platform.region,
                                   opts=pulumi.ResourceOptions(parent=self, depends_on=apis.ready("kms"),
                                                               protect=platform.data_protection.protect))
            self.key = gcp.kms.CryptoKey(
                f"{name}-secrets-key", name="secrets", key_ring=ring.id, purpose="ENCRYPT_DECRYPT",
                rotation_period=f"{security.key_rotation_days * 86400}s",
                opts=pulumi.ResourceOptions(parent=self, protect=platform.data_protection.protect))
            agent = gcp.projects.ServiceIdentity(f"{name}-gke-agent", project=platform.project,
                                                 service="container.googleapis.com",
                                                 opts=pulumi.ResourceOptions(parent=self, depends_on=apis.ready("cluster")))
            self.ready.append(gcp.kms.CryptoKeyIAMMember(
                f"{name}-gke-agent-key", crypto_key_id=self.key.id, role=GKE_SERVICE_AGENT_ROLE,
                member=agent.email.apply(lambda email: f"serviceAccount:{email}"),
                opts=pulumi.ResourceOptions(parent=self)))
        if security.binary_authorization != "off":
            self.ready.append(gcp.binaryauthorization.Policy(
                f"{name}-binauthz", project=platform.project,
                global_policy_evaluation_mode="ENABLE",  # GKE's own system images
                admission_whitelist_patterns=[{"name_pattern": p} for p in admitted_patterns(platform)],
                default_admission_rule={"evaluation_mode": "ALWAYS_DENY",
                                        "enforcement_mode": ENFORCEMENT[security.binary_authorization]},
                opts=pulumi.ResourceOptions(parent=self, depends_on=apis.ready("binauthz"))))
        self.register_outputs({})

    def cluster_args(self, platform: Platform) -> dict:
        """The cluster arguments for these controls (off: GKE's defaults)."""
        security = platform.security
        args: dict = {"enable_intranode_visibility": security.intranode_visibility}
        if self.key is not None:
            args["database_encryption"] = {"state": "ENCRYPTED", "key_name": self.key.id}
        if security.binary_authorization != "off":
            args["binary_authorization"] = {"evaluation_mode": "PROJECT_SINGLETON_POLICY_ENFORCE"}
        return args


def flow_log_config(platform: Platform) -> Optional[dict]:
    """VPC Flow Logs on the node subnet: 5-second aggregation, half the flows sampled, with metadata."""
    if not platform.security.flow_logs:
        return None
    return {"aggregation_interval": "INTERVAL_5_SEC", "flow_sampling": 0.5, "metadata": "INCLUDE_ALL_METADATA"}
