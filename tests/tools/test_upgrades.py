"""Safe upgrades: bumping Kueue, JobSet or the GKE channel in the one versions place changes only those
releases; nothing that holds queues, capacity or data is replaced. Two offline plans are compared with
the plan diff (components/review), whose replace-forcing fields are listed in components/review/replace.py.

Sources: Kueue chart upgrade = new chart version of the same release (kubernetes-sigs/kueue v0.19.2
`charts/kueue/templates/crd/`: the CRDs live in templates/, so a chart upgrade upgrades them; v1beta2 is the storage version since 0.16); GKE release
channels can be changed on an existing cluster (cloud.google.com/kubernetes-engine/docs/concepts/
release-channels, "Changing the release channel"; terraform-provider-google `release_channel` is not
ForceNew); a GPU driver version change recreates a node pool in terraform-provider-google (issue
hashicorp/terraform-provider-google#23248, `guest_accelerator` is ForceNew; in-place update is only proposed
in GoogleCloudPlatform/magic-modules#18493), which pulumi-gcp 10.2.0 wraps.
"""

from __future__ import annotations

import pytest

from components.model import schema
from components.review import compare
from conftest import PLATFORM_KEY, STACKS, capture_of, load_stack_config

NEVER_REPLACED = {
    "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue", "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor",
    "gcp:container/nodePool:NodePool", "gcp:storage/bucket:Bucket", "gcp:container/cluster:Cluster",
}
NEXT_CHANNEL = {"RAPID": "REGULAR", "REGULAR": "STABLE", "STABLE": "REGULAR"}


def _plans(stack: str, bump, before_bump=lambda: None):
    base = capture_of(load_stack_config(stack), stack).to_json()
    before_bump()
    bumped = load_stack_config(stack)
    bump(bumped[PLATFORM_KEY])
    return base, capture_of(bumped, stack).to_json()


@pytest.mark.parametrize("stack", STACKS)
def test_bumping_kueue_jobset_and_the_gke_channel_replaces_nothing(stack, monkeypatch):
    def vendor_new_schemas() -> None:
        # The vendored CRD schemas gate the versions (checks._versions); as if the new ones were vendored.
        monkeypatch.setitem(schema.SCHEMA_VERSIONS, "kueue", "0.19.3")
        monkeypatch.setitem(schema.SCHEMA_VERSIONS, "jobset", "0.12.1")

    def bump(raw: dict) -> None:
        raw["versions"] = {"kueue": "0.19.3", "jobset": "0.12.1"}
        raw["cluster"]["releaseChannel"] = NEXT_CHANNEL[raw["cluster"].get("releaseChannel", "REGULAR")]

    diff = compare(*_plans(stack, bump, vendor_new_schemas))
    assert not diff.of("replace") and not diff.of("delete") and not diff.of("create")
    assert not [c.name for c in diff.changes if c.type in NEVER_REPLACED and c.action != "update"]
    changed = {c.name: [f.path for f in c.fields] for c in diff.of("update")}
    assert changed == {
        "controllers-kueue": ["version"],
        "controllers-jobset": ["version"],
        "cluster-gke": ["releaseChannel.channel"],
    }


def test_gpu_driver_change_is_flagged_as_replacing_every_static_gpu_pool():
    """Not a safe upgrade: the diff must say so (docs/operating.md "Upgrading" tells how to roll it out)."""
    stack = "dev"
    def bump(raw: dict) -> None:
        raw["versions"] = {"gpuDriver": "LATEST"}

    before, after = _plans(stack, bump)
    diff = compare(before, after)
    replaced = {c.name for c in diff.of("replace")}
    pools = {r["name"] for r in before if r["type"] == "gcp:container/nodePool:NodePool"}
    assert replaced == pools - {"system-pool"}
    for change in diff.of("replace"):
        assert [f.path for f in change.fields if f.forces_replacement] == [
            "nodeConfig.guestAccelerators[0].gpuDriverInstallationConfig.gpuDriverVersion"]


def test_turning_boot_disk_encryption_on_replaces_every_pool_and_with_nap_the_cluster():
    """terraform-provider-google (0297605c) google/services/container: node_config.go `boot_disk_kms_key` and
    resource_container_cluster.go cluster_autoscaling.auto_provisioning_defaults `boot_disk_kms_key` are both
    ForceNew. prod (Node Auto Provisioning on) is planned with the setting off, then on: the diff names every
    node pool, the reserved pool with its capacity gap, and the protected cluster, for NAP's default only
    (the cluster's own nodeConfig is in its ignoreChanges). docs/operating.md "Upgrading" says so."""
    off = load_stack_config("prod")
    off[PLATFORM_KEY]["security"] = {**off[PLATFORM_KEY].get("security", {}), "bootDiskEncryption": False}
    before = capture_of(off, "prod").to_json()
    after = capture_of(load_stack_config("prod"), "prod").to_json()
    diff = compare(before, after)
    pools = {r["name"] for r in before if r["type"] == "gcp:container/nodePool:NodePool"}
    replaced = {c.name: c for c in diff.of("replace")}
    assert set(replaced) == pools | {"cluster-gke"}
    cluster = replaced["cluster-gke"]
    assert cluster.protected and [f.path for f in cluster.fields if f.forces_replacement] == [
        "clusterAutoscaling.autoProvisioningDefaults.bootDiskKmsKey"]
    gaps = {name for name, c in replaced.items() if c.gap}
    assert gaps == {r["name"] for r in before if r["type"] == "gcp:container/nodePool:NodePool"
                    and r["options"].get("deleteBeforeReplace")}
    assert gaps  # prod has a reserved pool
