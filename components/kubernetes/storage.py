"""Persistent disks the teams can cause to exist, encrypted with the stack's key (CIS GKE 5.9.1), pure.

A team's Role grants no PersistentVolumeClaims (render.team_role), yet a team still gets persistent disks:
a pod (of a Job, JobSet, Deployment or workflow step) may carry a generic ephemeral volume, whose claim the
ephemeral volume controller creates in the team namespace (Kubernetes "Ephemeral Volumes", Security: "Using
generic ephemeral volumes allows users to create PVCs indirectly if they can create Pods, even if they do not
have permission to create PVCs directly"), and Pod Security `restricted` admits `ephemeral` volumes. Argo's
controller likewise creates a workflow's `volumeClaimTemplates` in its namespace (argo-workflows@v4.0.6
workflow/controller/operator.go createPVCs). Such a claim with GKE's default StorageClass becomes a PD with a
Google-managed key.

Where the stack encrypts node boot disks with its own key (security.bootDiskEncryption), the same key encrypts
these disks (GKE "Use customer-managed encryption keys (CMEK)", kubernetes-engine/docs/how-to/using-cmek, read in
its German copy: attached disks are the PersistentVolumes pods use, and "CMEK-verschlüsselte angehängte
nichtflüchtige Speicher sind in GKE als dynamisch bereitgestelltes PersistentVolume verfügbar"; the page's
StorageClass example itself was not read):
* StorageClass `pd-balanced-cmek`: the Compute Engine PD CSI driver (provisioner pd.csi.storage.gke.io) with
  `disk-encryption-kms-key` (kubernetes-sigs/gcp-compute-persistent-disk-csi-driver pkg/parameters
  ParameterKeyDiskEncryptionKmsKey = "disk-encryption-kms-key": the key's full resource name). The disks are
  created by Compute Engine, whose service agent already holds roles/cloudkms.cryptoKeyEncrypterDecrypter on
  that key (components/gcp/hardening.py). It is the cluster's default class: GKE's own `standard-rwo` is a
  default too, and Kubernetes "Storage Classes": with more than one default, a claim without
  storageClassName gets "the most recently created default StorageClass", which this one is (it is applied
  after the cluster exists).
* A ValidatingAdmissionPolicy on claims created in team namespaces: the class is `pd-balanced-cmek`, or ""
  (a pre-provisioned volume: only the platform creates PersistentVolumes, e.g. the Filestore datasets share,
  reserved by claimRef). The DefaultStorageClass admission plugin is a mutating one, so a claim without a
  class is seen here with the default already set. The policy judges the claim, whoever creates it: the
  ephemeral volume controller and Argo's controller included.
"""

from __future__ import annotations

from components.model import Platform
from components.model.names import disk_key_id

from .isolation import VAP_API

STORAGE_CLASS = "pd-balanced-cmek"
PROVISIONER = "pd.csi.storage.gke.io"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
POLICY = "team-claims-encrypted-class"


def enabled(platform: Platform) -> bool:
    return platform.security.boot_disk_encryption


def storage_class(platform: Platform) -> dict:
    return {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": PROVISIONER,
        "parameters": {"type": "pd-balanced", "disk-encryption-kms-key": disk_key_id(platform)},
        "reclaimPolicy": "Delete",
        # A zonal disk is created where the pod is scheduled (what GKE's own classes do).
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def claim_policy() -> dict:
    allowed = f"['{STORAGE_CLASS}', '']"
    return {
        "apiVersion": VAP_API, "kind": "ValidatingAdmissionPolicy", "metadata": {"name": POLICY},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                "resources": ["persistentvolumeclaims"]}]},
            "validations": [{
                "expression": f"has(object.spec.storageClassName) && object.spec.storageClassName in {allowed}",
                "reason": "Forbidden",
                "messageExpression": (
                    f"'disks in team namespaces use StorageClass {STORAGE_CLASS} (encrypted with the stack key), "
                    "this PersistentVolumeClaim has ' + "
                    "(has(object.spec.storageClassName) ? 'storageClassName ' + object.spec.storageClassName : "
                    "'no storageClassName') + ': remove storageClassName (the default is "
                    f"{STORAGE_CLASS}) or set it to {STORAGE_CLASS}'"),
            }],
        },
    }


def claim_binding(namespace_labels: dict[str, str]) -> dict:
    return {
        "apiVersion": VAP_API, "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": POLICY},
        "spec": {"policyName": POLICY, "validationActions": ["Deny"],
                 "matchResources": {"namespaceSelector": {"matchLabels": dict(namespace_labels)}}},
    }


def storage_objects(platform: Platform, namespace_labels: dict[str, str]) -> list[dict]:
    """The StorageClass, the claim policy and its binding; nothing where disks keep Google-managed keys."""
    if not enabled(platform):
        return []
    return [storage_class(platform), claim_policy(), claim_binding(namespace_labels)]
