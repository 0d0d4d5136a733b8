"""Cluster hardening a stack switches on in `security:`: Secrets encrypted with the stack's own Cloud
KMS key, Binary Authorization, and what the cluster and subnet arguments need for them.

* Application-layer Secrets encryption (GKE "Encrypt secrets at the application layer"; CIS GKE
  Benchmark 5.3.1): a key ring and key in the cluster's region, rotated every `keyRotationDays`, and
  roles/cloudkms.cryptoKeyEncrypterDecrypter on that key for the GKE service agent
  (service-PROJECT_NUMBER@container-engine-robot.iam.gserviceaccount.com, the project's
  container.googleapis.com service identity); the cluster's databaseEncryption names the key. The key
  is Pulumi-protected with the stack's data: destroying it makes every Secret unreadable.
* Node boot disks with a customer-managed key (CIS GKE 5.9.2; GKE "Use customer-managed encryption keys
  (CMEK)", kubernetes-engine/docs/how-to/using-cmek, read in its German copy: node boot disks are part of
  the node pools, and a CMEK-encrypted boot disk is chosen when clusters and node pools are created): a
  second key of the ring, named by every node pool's and Node Auto Provisioning's node config
  (boot_disk_kms_key), and roles/cloudkms.cryptoKeyEncrypterDecrypter on it for the Compute Engine service
  agent, which creates the disks (the role and agent as Google's Compute Engine CMEK pages state it, e.g.
  Cloud TPU's boot-disk CMEK page; the agent's address service-PROJECT_NUMBER@compute-system.iam.
  gserviceaccount.com is not quoted from a page read here). The grant comes before the cluster, whose
  default pool and NAP defaults already name the key; a pool's boot key cannot change in place, and NAP's
  default one not without a new cluster (both ForceNew; docs/operating.md "Upgrading"). The same
  key encrypts the persistent disks the teams' claims get (components/kubernetes/storage.py, CIS GKE 5.9.1).
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
from components.model.names import DISK_KEY, key_ring_name

from .services import ProjectApis

ENFORCEMENT = {"enforce": "ENFORCED_BLOCK_AND_AUDIT_LOG", "dryrun": "DRYRUN_AUDIT_LOG_ONLY"}
GKE_SERVICE_AGENT_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


class ClusterHardening(pulumi.ComponentResource):
    """The KMS key (and its grant) and the Binary Authorization policy the cluster is created with."""

    key: Optional[gcp.kms.CryptoKey]
    boot_disk_key: Optional[pulumi.Output[str]]  # the node boot disks' key id, None: Google-managed
    ready: list[pulumi.Resource]  # what the cluster must wait for

    def __init__(self, name: str, platform: Platform, apis: ProjectApis, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:gcp:ClusterHardening", name, None, opts)
        security = platform.security
        self.key, self.boot_disk_key, self.ready = None, None, []
        ring = None
        if security.secrets_encryption or security.boot_disk_encryption:
            ring = gcp.kms.KeyRing(f"{name}-keyring", name=key_ring_name(platform), location=platform.region,
                                   opts=pulumi.ResourceOptions(parent=self, depends_on=apis.ready("kms"),
                                                               protect=platform.data_protection.protect))
        if ring is not None and security.boot_disk_encryption:
            disks = gcp.kms.CryptoKey(
                f"{name}-boot-disk-key", name=DISK_KEY, key_ring=ring.id, purpose="ENCRYPT_DECRYPT",
                rotation_period=f"{security.key_rotation_days * 86400}s",
                opts=pulumi.ResourceOptions(parent=self, protect=platform.data_protection.protect))
            number = gcp.organizations.get_project_output(project_id=platform.project).number
            self.ready.append(gcp.kms.CryptoKeyIAMMember(
                f"{name}-compute-agent-key", crypto_key_id=disks.id, role=GKE_SERVICE_AGENT_ROLE,
                member=number.apply(lambda n: f"serviceAccount:service-{n}@compute-system.iam.gserviceaccount.com"),
                opts=pulumi.ResourceOptions(parent=self)))
            self.boot_disk_key = disks.id
        if ring is not None and security.secrets_encryption:
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
