"""The pack's tenancy and access rules, each in the engine's view: the real dev/prod captures pass
(test_policies.py test_every_stack_passes, and the passing half of each test here), and a mutated
capture of the real program fails with the resource named."""

from __future__ import annotations

import copy
import json

from components.capture import Capture
from conftest import capture_of, load_stack_config
from policy_support import T_CLUSTER, add, assert_clean, assert_violation, check, edit, res
from policy_support import dev, policy_dev  # noqa: F401 (fixtures)

T_NS = "kubernetes:core/v1:Namespace"
T_NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
T_BUCKET = "gcp:storage/bucket:Bucket"
T_BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
T_SA_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
T_PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
RBAC = "kubernetes:rbac.authorization.k8s.io/v1"


def test_namespace_pod_security(dev: Capture):
    assert_clean(check(dev, "namespace-pod-security-restricted"), "namespace-pod-security-restricted")
    team = edit(res(dev, T_NS, "team-a"),
                lambda p: p["metadata"]["labels"].update({"pod-security.kubernetes.io/enforce": "privileged"}))
    kueue = edit(res(dev, T_NS, "kueue-system"), lambda p: p["metadata"].pop("labels"))
    report = check(dev, "namespace-pod-security-restricted")
    assert_violation(report, "namespace-pod-security-restricted", "'team-a' enforces Pod Security privileged", team.urn)
    assert_violation(report, "namespace-pod-security-restricted", "no pod-security.kubernetes.io/enforce label", kueue.urn)
    # The documented exception is configuration: without it, monitoring's privileged level is a finding too.
    report = check(dev, "namespace-pod-security-restricted", {"exemptNamespaces": {}})
    assert_violation(report, "namespace-pod-security-restricted", "'monitoring' enforces Pod Security privileged")


def test_team_namespace_default_deny(dev: Capture):
    assert_clean(check(dev, "team-namespace-default-deny"), "team-namespace-default-deny")
    deny = res(dev, T_NETPOL, "tenancy-team-b-networkpolicy-default-deny")
    edit(deny, lambda p: p["spec"].update(policyTypes=["Ingress"]))  # egress no longer denied
    namespace = res(dev, T_NS, "team-b")
    assert_violation(check(dev, "team-namespace-default-deny"), "team-namespace-default-deny",
                     "team namespace 'team-b' has no default-deny", namespace.urn)


def test_no_wildcard_or_broad_rbac(dev: Capture):
    name = "no-wildcard-or-broad-rbac"
    assert_clean(check(dev, name), name)
    role = edit(res(dev, f"{RBAC}:Role", "tenancy-team-a-role"),
                lambda p: p["rules"].append({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}))
    binding = add(dev, f"{RBAC}:ClusterRoleBinding", "everyone-admin", {
        "metadata": {"name": "everyone-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}]})
    report = check(dev, name)
    assert_violation(report, name, "grants every verb (*) on every resource (*)", role.urn)
    assert_violation(report, name, "Group system:authenticated gets cluster-admin", binding.urn)


def test_no_public_buckets(dev: Capture):
    name = "no-public-buckets"
    assert_clean(check(dev, name), name)
    member = edit(res(dev, T_BUCKET_MEMBER, "team-team-a-bucket-objects"), lambda p: p.update(member="allUsers"))
    bucket = edit(res(dev, T_BUCKET, "team-team-b-bucket"), lambda p: p.update(uniformBucketLevelAccess=False))
    report = check(dev, name)
    assert_violation(report, name, "grants access to allUsers", member.urn)
    assert_violation(report, name, "uniformBucketLevelAccess is False", bucket.urn)


def test_no_legacy_cluster_auth(dev: Capture):
    name = "gke-no-legacy-auth"
    assert_clean(check(dev, name), name)
    cluster = edit(res(dev, T_CLUSTER, "cluster-gke"), lambda p: p.update(
        enableLegacyAbac=True, masterAuth={"clientCertificateConfig": {"issueClientCertificate": True}}))
    report = check(dev, name)
    assert_violation(report, name, "enableLegacyAbac is true", cluster.urn)
    assert_violation(report, name, "issueClientCertificate is true", cluster.urn)


def test_workload_identity_own_team_only(dev: Capture):
    name = "workload-identity-own-team-only"
    assert_clean(check(dev, name), name)
    binding = edit(res(dev, T_SA_MEMBER, "team-team-a-workload-identity"),
                   lambda p: p.update(member=p["member"].replace("[team-a/team-a-ksa]", "[team-b/team-b-ksa]")))
    assert_violation(check(dev, name), name, "lets KSA team-b/team-b-ksa act as batch-dev-team-a@", binding.urn)


def test_no_project_wide_team_roles(dev: Capture):
    name = "no-project-wide-team-roles"
    assert_clean(check(dev, name), name)
    grant = edit(res(dev, T_PROJECT_MEMBER, "team-team-c-logging.logWriter"),
                 lambda p: p.update(role="roles/iam.serviceAccountTokenCreator"))
    policy = add(dev, "gcp:projects/iAMPolicy:IAMPolicy", "project-policy", {"project": "p", "policyData": json.dumps(
        {"bindings": [{"role": "roles/storage.admin",
                       "members": ["serviceAccount:batch-dev-team-d@my-gpu-batch-dev.iam.gserviceaccount.com"]}]})})
    report = check(dev, name)
    assert_violation(report, name, "grants roles/iam.serviceAccountTokenCreator on the whole project", grant.urn)
    assert_violation(report, name, "roles/storage.admin on the whole project to batch-dev-team-d@", policy.urn)


def test_production_keeps_protection():
    name = "production-keeps-protection"
    prod = copy.deepcopy(capture_of(load_stack_config("prod"), "prod"))
    assert_clean(check(prod, name), name)
    cluster = edit(res(prod, T_CLUSTER, "cluster-gke"), lambda p: p.update(deletionProtection=False))
    bucket = edit(res(prod, T_BUCKET, "team-vision-bucket"), lambda p: p.update(
        versioning={"enabled": False}, softDeletePolicy={"retentionDurationSeconds": 0}))
    bucket.options["protect"] = False
    report = check(prod, name)
    assert_violation(report, name, "deletionProtection is false in a production stack", cluster.urn)
    assert_violation(report, name, "is not Pulumi-protected", bucket.urn)
    assert_violation(report, name, "versioning is off", bucket.urn)
    assert_violation(report, name, "soft delete is off", bucket.urn)
    edit(cluster, lambda p: p.update(databaseEncryption={"state": "DECRYPTED"}, binaryAuthorization={"evaluationMode": "DISABLED"},
                                     enableIntranodeVisibility=False))
    subnet = edit(res(prod, "gcp:compute/subnetwork:Subnetwork", "network-subnet"), lambda p: p.update(logConfig=None))
    report = check(prod, name)
    assert_violation(report, name, "not encrypted with a Cloud KMS key", cluster.urn)
    assert_violation(report, name, "Binary Authorization is off", cluster.urn)
    assert_violation(report, name, "intranode visibility is off", cluster.urn)
    assert_violation(report, name, "VPC Flow Logs are off", subnet.urn)
    edit(cluster, lambda p: p["clusterAutoscaling"]["autoProvisioningDefaults"].pop("bootDiskKmsKey"))
    pool = prod.of_type("gcp:container/nodePool:NodePool")[0]
    edit(pool, lambda p: p["nodeConfig"].pop("bootDiskKmsKey"))
    report = check(prod, name)
    assert_violation(report, name, "Node Auto Provisioning creates boot from disks without a Cloud KMS key", cluster.urn)
    assert_violation(report, name, "boot disks without a Cloud KMS key (nodeConfig.bootDiskKmsKey)", pool.urn)


def test_development_stack_may_turn_protection_off(dev: Capture):
    """dev declares environment: development and turns protection off on purpose (Pulumi.dev.yaml)."""
    assert res(dev, T_CLUSTER, "cluster-gke").inputs["resourceLabels"] == {"environment": "development"}
    assert_clean(check(dev, "production-keeps-protection"), "production-keeps-protection")
