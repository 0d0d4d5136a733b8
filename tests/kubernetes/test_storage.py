"""Persistent disks of the teams encrypted with the stack's key (components/kubernetes/storage.py, CIS GKE 5.9.1).

Sources encoded here:
* Kubernetes "Ephemeral Volumes", Security: "Using generic ephemeral volumes allows users to create PVCs
  indirectly if they can create Pods, even if they do not have permission to create PVCs directly."
* Kubernetes "Pod Security Standards", Restricted, Volume Types: `ephemeral` is an allowed volume type
  (components/explain/pod_security.py checks it).
* kubernetes-sigs/gcp-compute-persistent-disk-csi-driver pkg/parameters: ParameterKeyDiskEncryptionKmsKey =
  "disk-encryption-kms-key" (the StorageClass parameter naming the key), provisioner pd.csi.storage.gke.io.
* Kubernetes "Storage Classes": with several default classes a claim without a class gets "the most recently
  created default StorageClass".
"""

from __future__ import annotations

import pytest

from admission_support import admission_review
from components.explain.pod_security import violations
from components.kubernetes import render, storage
from components.model import parse_platform
from components.plan import kubernetes_object
from conftest import PLATFORM_KEY, capture_of, load_dev_platform_raw, load_stack_config

TEAM_NS = {"kubernetes.io/metadata.name": "team-a", "batch-platform/team": "team-a", "batch-platform/kueue-managed": "true"}
KUBE_SYSTEM = {"kubernetes.io/metadata.name": "kube-system"}


@pytest.fixture(scope="module")
def prod():
    return capture_of(load_stack_config("prod"), "prod")


def _prod_platform():
    return parse_platform(load_stack_config("prod")[PLATFORM_KEY])


TYPES = {"StorageClass": "kubernetes:storage.k8s.io/v1:StorageClass",
         "ValidatingAdmissionPolicy": "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
         "ValidatingAdmissionPolicyBinding": "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"}


def _objects(capture, kind: str) -> list[dict]:
    return [kubernetes_object(r) for r in capture.of_type(TYPES[kind])]


def test_a_team_gets_disks_without_a_claim_right():
    """No PersistentVolumeClaim rule in the team Role, yet a Job's pod may carry a generic ephemeral volume
    (admitted under restricted), whose claim Kubernetes creates for it: the disks need the stack's key."""
    team = parse_platform(load_dev_platform_raw()).teams[0]
    assert not [r for r in render.team_role(team)["rules"] if "persistentvolumeclaims" in r["resources"]]
    pod = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
           "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": False,
                                                            "capabilities": {"drop": ["ALL"]}}}],
           "volumes": [{"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {
               "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "100Gi"}}}}}}]}
    assert violations(pod, "restricted") == []


def test_prod_disks_use_its_key_by_default(prod):
    (cls,) = _objects(prod, "StorageClass")
    assert cls["metadata"] == {"name": "pd-balanced-cmek",
                               "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}
    assert cls["provisioner"] == "pd.csi.storage.gke.io" and cls["volumeBindingMode"] == "WaitForFirstConsumer"
    # The key the node boot disks use, composed from the KeyRing and CryptoKey the stack creates.
    (ring,) = prod.of_type("gcp:kms/keyRing:KeyRing")
    (key,) = [k for k in prod.of_type("gcp:kms/cryptoKey:CryptoKey") if k.inputs["name"] == "boot-disks"]
    project = _prod_platform().project
    assert cls["parameters"] == {
        "type": "pd-balanced",
        "disk-encryption-kms-key": f"projects/{project}/locations/{ring.inputs['location']}/keyRings/"
                                   f"{ring.inputs['name']}/cryptoKeys/{key.inputs['name']}"}


def test_dev_keeps_googles_keys_and_renders_none(dev_capture):
    assert not parse_platform(load_dev_platform_raw()).security.boot_disk_encryption
    assert not _objects(dev_capture, "StorageClass")
    assert not [o for o in _objects(dev_capture, "ValidatingAdmissionPolicy") if o["metadata"]["name"] == storage.POLICY]


def _claim(**spec) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "train-0-scratch", "namespace": "team-a"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "100Gi"}}, **spec}}


@pytest.fixture(scope="module")
def claim_admission(prod):
    """The policy and binding as the prod stack applies them."""
    policies = [o for o in _objects(prod, "ValidatingAdmissionPolicy") if o["metadata"]["name"] == storage.POLICY]
    bindings = [o for o in _objects(prod, "ValidatingAdmissionPolicyBinding") if o["metadata"]["name"] == storage.POLICY]
    assert len(policies) == len(bindings) == 1
    return lambda claim, labels=TEAM_NS: admission_review(policies, bindings, claim, labels)


@pytest.mark.parametrize("spec", [
    {"storageClassName": "pd-balanced-cmek"},   # also what a claim without a class is defaulted to
    {"storageClassName": "", "volumeName": "team-a-datasets"},  # a pre-provisioned volume (the datasets share)
])
def test_claims_on_the_encrypted_class_are_admitted(claim_admission, spec):
    assert claim_admission(_claim(**spec)) is None


@pytest.mark.parametrize("spec, named", [
    ({"storageClassName": "standard-rwo"}, "storageClassName standard-rwo"),   # GKE's own, Google-managed keys
    ({"storageClassName": "premium-rwo"}, "storageClassName premium-rwo"),
    ({}, "no storageClassName"),   # only when no default class exists at all
])
def test_a_claim_on_another_class_is_refused_with_the_fix(claim_admission, spec, named):
    message = claim_admission(_claim(**spec))
    assert message and named in message and "set it to pd-balanced-cmek" in message


def test_claims_outside_team_namespaces_are_not_judged(claim_admission):
    assert claim_admission(_claim(storageClassName="standard-rwo"), KUBE_SYSTEM) is None


def test_every_storage_object_is_valid_kubernetes():
    from components.kubernetes.manifest_validation import is_validated, problems
    objs = storage.storage_objects(_prod_platform(), {"batch-platform/kueue-managed": "true"})
    assert [o["kind"] for o in objs] == ["StorageClass", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]
    assert all(is_validated(o) and not list(problems(o)) for o in objs)
