"""Both shipped stacks (dev, prod) plan offline, and prod differs from dev only through its stack file.

Sources: Pulumi resource options `protect` ("prevents … being deleted", a protected resource also
cannot be replaced) and `retainOnDelete` ("the resource is not deleted from the cloud provider")
(pulumi.com/docs/iac/concepts/options/protect and …/retainondelete); GKE "Add authorized networks for
control plane access" (with the public endpoint disabled only internal ranges can reach the control
plane); pulumi_gcp storage.Bucket docstrings (soft_delete_policy 0 or 604800..7776000 seconds,
versioning, lifecycle `days_since_noncurrent_time`).
"""

from __future__ import annotations

import ipaddress
import re

import pytest

from components.model import ConfigError, parse_platform
from components.capture import REPO
from conftest import FLEET_STACKS, PLATFORM_KEY, STACKS, load_stack_config

T_CLUSTER = "gcp:container/cluster:Cluster"
T_BUCKET = "gcp:storage/bucket:Bucket"


def _platform(stack: str):
    return parse_platform(load_stack_config(stack)[PLATFORM_KEY], f"Pulumi.{stack}.yaml")


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_plans_with_the_cli(stack, cli_plan):
    code, _, err, out = cli_plan(stack)
    assert code == 0, err
    assert (out / stack / "resources.json").exists()


def test_every_shipped_stack_file_is_listed():
    assert {p.name for p in REPO.glob("Pulumi.*.yaml")} == {f"Pulumi.{s}.yaml" for s in (*STACKS, *FLEET_STACKS)}


def test_prod_is_another_region_zones_and_ranges():
    dev, prod = _platform("dev"), _platform("prod")
    assert prod.region != dev.region and not set(prod.zones) & set(dev.zones)
    for key in ("subnet_cidr", "pods_cidr", "services_cidr", "master_cidr"):
        a, b = (ipaddress.ip_network(getattr(p.network, key)) for p in (dev, prod))
        assert not a.overlaps(b), key  # the two VPCs can be peered later
    assert len(prod.teams) > len(dev.teams)
    assert prod.name_prefix != dev.name_prefix and prod.project != dev.project


def test_prod_control_plane_is_private_and_reachable_from_its_authorized_networks(stack_capture):
    cluster = stack_capture.of_type(T_CLUSTER)[0].inputs
    private = cluster["privateClusterConfig"]["enablePrivateEndpoint"]
    blocks = [b["cidrBlock"] for b in cluster["masterAuthorizedNetworksConfig"]["cidrBlocks"]]
    assert private is (stack_capture.stack == "prod")
    if private:
        assert all(ipaddress.ip_network(b).is_private for b in blocks)
        subnet = _platform("prod").network.subnet_cidr
        assert subnet in blocks, "a runner inside the VPC must reach the private endpoint to apply the Kubernetes layer"


def test_protection_follows_the_stack(stack_capture):
    """prod: GKE deletion protection, Pulumi protect on the cluster and buckets, buckets retained,
    versioned and soft-deleted; dev: none of it (destroy removes everything, empty buckets included)."""
    prod = stack_capture.stack == "prod"
    cluster = stack_capture.of_type(T_CLUSTER)[0]
    assert cluster.inputs["deletionProtection"] is prod
    assert cluster.options["protect"] is prod
    assert not cluster.options["retainOnDelete"]  # a retained cluster would keep billing unseen
    buckets = stack_capture.of_type(T_BUCKET)
    assert len(buckets) == len(_platform(stack_capture.stack).teams)
    for bucket in buckets:
        assert bucket.options["protect"] is prod and bucket.options["retainOnDelete"] is prod
        assert bucket.inputs["forceDestroy"] is False
        assert bucket.inputs["versioning"] == {"enabled": prod}
        seconds = bucket.inputs["softDeletePolicy"]["retentionDurationSeconds"]
        assert (604800 <= seconds <= 7776000) if prod else seconds == 0
        if prod:
            assert bucket.inputs["lifecycleRules"][0]["condition"]["daysSinceNoncurrentTime"] == 30
    # The Secrets and boot-disk keys (and their ring) go with the data they decrypt (components/gcp/hardening.py).
    kms = [r for r in stack_capture.resources if r.type.startswith("gcp:kms/") and r.type.endswith(("KeyRing", "CryptoKey"))]
    assert [r.options["protect"] for r in kms] == [prod] * (3 if prod else 0)
    others = [r for r in stack_capture.resources if r.type not in (T_CLUSTER, T_BUCKET) and r not in kms]
    assert not [r.name for r in others if r.options["protect"]]


def test_soft_delete_outside_gcs_range_is_rejected(assert_issue):
    raw = load_stack_config("prod")[PLATFORM_KEY]
    raw["dataProtection"]["softDeleteDays"] = 3
    with pytest.raises(ConfigError) as info:
        parse_platform(raw)
    assert_issue(info.value, "dataProtection.softDeleteDays", "7 to 90 days")


def test_private_endpoint_with_a_public_authorized_network_is_rejected(assert_issue):
    raw = load_stack_config("prod")[PLATFORM_KEY]
    raw["network"]["authorizedNetworks"].append({"name": "office", "cidr": "35.235.240.0/20"})
    with pytest.raises(ConfigError) as info:
        parse_platform(raw)
    assert_issue(info.value, "network.authorizedNetworks[2].cidr", "public range", fix="internal ranges")


def test_nothing_environment_specific_in_code():
    """Region, zones, project, prefix and CIDRs of either stack appear only in the stack files."""
    values = set()
    for stack in STACKS:
        p = _platform(stack)
        values |= {p.project, p.region, p.name_prefix, *p.zones, p.network.subnet_cidr, p.network.pods_cidr,
                   p.network.services_cidr, p.network.master_cidr}
    sources = [*REPO.glob("components/**/*.py"), REPO / "__main__.py"]
    for path in sources:
        text = path.read_text()
        found = [v for v in values if re.search(rf"(?<![\w.-]){re.escape(v)}(?![\w-])", text)]
        assert not found, f"{path.relative_to(REPO)} hard-codes {found}"
