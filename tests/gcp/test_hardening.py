"""Per-stack hardening (components/gcp/hardening.py): prod encrypts Secrets with its own rotated KMS key
that the GKE service agent may use, enforces Binary Authorization with a policy admitting the platform's
images, and turns on intranode visibility and VPC Flow Logs; dev turns them off or to dry run."""

from __future__ import annotations

import pytest

from components.model.images import admitted, admitted_patterns
from components.model.load import parse_platform
from components.training.contract import IMAGE
from conftest import PLATFORM_KEY, capture_of, config_error, load_dev_platform_raw, load_stack_config

T_CLUSTER = "gcp:container/cluster:Cluster"


@pytest.fixture(scope="module")
def prod():
    return capture_of(load_stack_config("prod"), "prod")


def _key_and_grant(capture, key_name: str):
    [key] = [k for k in capture.of_type("gcp:kms/cryptoKey:CryptoKey") if k.inputs["name"] == key_name]
    [grant] = [g for g in capture.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
               if g.inputs["cryptoKeyId"] == f"{key.name}-id"]  # the mock engine's id
    return key, grant


def test_prod_encrypts_secrets_with_its_own_rotated_key(prod):
    key, grant = _key_and_grant(prod, "secrets")
    assert key.inputs["rotationPeriod"] == f"{90 * 86400}s" and key.options["protect"]
    assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert grant.inputs["member"].endswith("@container-engine-robot.iam.gserviceaccount.com")
    cluster = prod.of_type(T_CLUSTER)[0]
    assert cluster.inputs["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": grant.inputs["cryptoKeyId"]}
    # GKE checks its access to the key when the cluster is created: the grant comes first.
    assert grant.urn in cluster.dependencies


def test_prod_boots_every_node_from_disks_encrypted_with_its_own_key(prod):
    """CIS GKE 5.9.2: every pool's node config and NAP's defaults name the key (the transient default pool
    too); the Compute Engine service agent, which creates the disks, may use it, before the cluster exists."""
    key, grant = _key_and_grant(prod, "boot-disks")
    assert key.options["protect"] and grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert grant.inputs["member"] == "serviceAccount:service-123456789012@compute-system.iam.gserviceaccount.com"
    cluster = prod.of_type(T_CLUSTER)[0]
    assert grant.urn in cluster.dependencies
    key_id = grant.inputs["cryptoKeyId"]
    assert cluster.inputs["clusterAutoscaling"]["autoProvisioningDefaults"]["bootDiskKmsKey"] == key_id
    assert cluster.inputs["nodeConfig"]["bootDiskKmsKey"] == key_id
    pools = prod.of_type("gcp:container/nodePool:NodePool")
    assert pools and all(p.inputs["nodeConfig"]["bootDiskKmsKey"] == key_id for p in pools)


def test_prod_enforces_binary_authorization_for_the_platforms_images(prod):
    policy = prod.of_type("gcp:binaryauthorization/policy:Policy")[0].inputs
    assert policy["defaultAdmissionRule"] == {"evaluationMode": "ALWAYS_DENY", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"}
    assert policy["globalPolicyEvaluationMode"] == "ENABLE"
    patterns = [p["namePattern"] for p in policy["admissionWhitelistPatterns"]]
    assert patterns == admitted_patterns(parse_platform(load_stack_config("prod")[PLATFORM_KEY]))
    assert admitted(IMAGE, patterns)
    cluster = prod.of_type(T_CLUSTER)[0].inputs
    assert cluster["binaryAuthorization"] == {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}
    assert cluster["enableIntranodeVisibility"] is True
    subnet = prod.of_type("gcp:compute/subnetwork:Subnetwork")[0].inputs
    assert subnet["logConfig"]["metadata"] == "INCLUDE_ALL_METADATA"


def test_dev_turns_them_off_or_to_dry_run(dev_capture):
    assert not dev_capture.of_type("gcp:kms/cryptoKey:CryptoKey")
    assert not any("bootDiskKmsKey" in p.inputs["nodeConfig"] for p in dev_capture.of_type("gcp:container/nodePool:NodePool"))
    cluster = dev_capture.of_type(T_CLUSTER)[0].inputs
    assert "databaseEncryption" not in cluster and cluster["enableIntranodeVisibility"] is False
    policy = dev_capture.of_type("gcp:binaryauthorization/policy:Policy")[0].inputs
    assert policy["defaultAdmissionRule"]["enforcementMode"] == "DRYRUN_AUDIT_LOG_ONLY"
    assert "logConfig" not in dev_capture.of_type("gcp:compute/subnetwork:Subnetwork")[0].inputs


def test_allowed_images_are_registry_paths():
    raw = load_dev_platform_raw()
    raw["security"]["allowedImages"] = ["just-a-name"]
    err = config_error(raw)
    assert [i.path for i in err.issues] == ["security.allowedImages[0]"]


def test_prod_plan_warns_about_images_without_a_digest(prod, dev_capture):
    """components/platform.py logs the model's digest warnings while planning (a production stack only)."""
    assert any(level == "warning" and "run by tag, not digest" in message for level, message in prod.log)
    assert not any("run by tag, not digest" in message for _, message in dev_capture.log)
