"""Bad stack configs are rejected at the edge, before any resource exists.

Each case breaks one thing in the dev config and asserts what the user reads: the exact config
path (camelCase, as written in Pulumi.<stack>.yaml), what is wrong, the fix, that the one mistake
gives exactly one error, and that applying the fix makes the config valid (tests/config_cases.py).
More cases (new checks, stack-file mistakes, several mistakes at once): test_config_errors.py.
"""

from __future__ import annotations

import copy

import pytest

from components.model import ConfigError, parse_platform
from config_cases import (Case, all_of, appending, assert_readable, check_case, pool_copy, queue, removing, setting,
                          then)
from conftest import assert_issue, assert_no_issue, config_error, load_dev_platform_raw

CASES = [
    # --- structure (pydantic, translated) -------------------------------------------------------------
    Case("unknown-top-level-key", lambda raw: raw.__setitem__("namePrefx", raw.pop("namePrefix")),
         "namePrefx", "unknown key 'namePrefx'", "did you mean 'namePrefix'"),
    Case("unknown-nested-key-typo", lambda raw: raw["gpuPools"][1].__setitem__("maxNode", raw["gpuPools"][1].pop("maxNodes")),
         "gpuPools[1].maxNode", "unknown key 'maxNode'", "did you mean 'maxNodes'"),
    Case("unknown-key-deep-in-queue", setting("teams", 1, "queues", "low", 1, "borowingLimit", 4),
         "teams[1].queues.low[1].borowingLimit", "unknown key", "did you mean 'borrowingLimit'",
         then(removing("teams", 1, "queues", "low", 1, "borowingLimit"))),
    Case("missing-required-top-level", removing("project"), "project", "required key is missing", "add project: my-project-id"),
    Case("missing-required-nested", removing("network", "subnetCidr"), "network.subnetCidr", "required key is missing",
         "add subnetCidr: 10.0.0.0/22"),
    Case("missing-pool-provisioning", removing("gpuPools", 2, "provisioning"), "gpuPools[2].provisioning",
         "required key is missing", "add provisioning", then(setting("gpuPools", 2, "provisioning", "spot"))),
    Case("wrong-type-gpus", setting("teams", 1, "queues", "high", 0, "gpus", "lots"),
         "teams[1].queues.high[0].gpus", "expected a whole number, got 'lots'", "write a number",
         then(setting("teams", 1, "queues", "high", 0, "gpus", 2))),
    Case("wrong-type-zones-not-a-list", setting("gpuPools", 0, "zones", "us-central1-c"), "gpuPools[0].zones",
         "expected a list, got 'us-central1-c'", "[us-central1-c]"),
    Case("negative-borrowing-limit", setting("teams", 1, "queues", "high", 0, "borrowingLimit", -2),
         "teams[1].queues.high[0].borrowingLimit", "must be at least 0, got -2", "e.g. 2"),
    Case("unknown-provisioning", setting("gpuPools", 2, "provisioning", "preemptible"), "gpuPools[2].provisioning",
         "'preemptible' is not one of reserved, on-demand, spot, dws", "write spot"),
    Case("bad-release-channel", setting("cluster", "releaseChannel", "BETA"), "cluster.releaseChannel",
         "'BETA' is not one of RAPID, REGULAR, STABLE", "use one of: RAPID, REGULAR, STABLE",
         then(setting("cluster", "releaseChannel", "RAPID"))),
    Case("team-name-not-dns-label", setting("teams", 3, "name", "Team_D"), "teams[3].name",
         "lowercase letters, digits and '-'", "write team-d"),
    Case("no-authorized-networks", setting("network", "authorizedNetworks", []), "network.authorizedNetworks",
         "needs at least 1 entry", "add one", then(setting("network", "authorizedNetworks", [{"name": "vpc", "cidr": "10.40.0.0/22"}]))),
    Case("bad-cidr", setting("network", "subnetCidr", "10.40.0.0/33"), "network.subnetCidr", "not a CIDR block",
         "write it like 10.0.0.0/22", then(setting("network", "subnetCidr", "10.40.0.0/22"))),
    Case("cidr-with-host-bits", setting("network", "podsCidr", "10.48.0.1/14"), "network.podsCidr", "has host bits set",
         "write 10.48.0.0/14"),
    # --- network ----------------------------------------------------------------------------------
    Case("overlapping-cidrs", setting("network", "servicesCidr", "10.48.0.0/20"),
         "network.servicesCidr", "overlaps network.podsCidr", "own address space"),
    Case("master-cidr-not-28", setting("network", "masterCidr", "172.16.0.0/24"), "network.masterCidr", "must be a /28",
         "use a /28, e.g. 172.16.0.0/28"),
    Case("public-range", setting("network", "podsCidr", "8.8.0.0/14"), "network.podsCidr", "not a private", "10.x",
         then(setting("network", "podsCidr", "10.48.0.0/14"))),
    # --- zones and machines -------------------------------------------------------------------------
    Case("zone-not-in-region", lambda raw: raw["zones"].append("us-east1-b"), "zones[3]",
         "not a zone of region 'us-central1'", "write us-central1-f"),
    Case("pool-zone-not-platform-zone", setting("gpuPools", 2, "zones", ["us-central1-f"]), "gpuPools[2].zones[0]",
         "not one of the platform's zones", "us-central1-a"),
    Case("unknown-machine-type", setting("gpuPools", 1, "machineType", "g2-standard-999"), "gpuPools[1].machineType",
         "unknown machine type 'g2-standard-999'", "g2-standard-24", then(setting("gpuPools", 1, "machineType", "g2-standard-24"))),
    Case("accelerator-type-mismatch", setting("gpuPools", 1, "accelerator", {"type": "nvidia-tesla-a100", "count": 2}),
         "gpuPools[1].accelerator.type", "carries nvidia-l4", "accelerator.type: nvidia-l4",
         then(setting("gpuPools", 1, "accelerator", "type", "nvidia-l4"))),
    Case("accelerator-count-mismatch", setting("gpuPools", 1, "accelerator", {"type": "nvidia-l4", "count": 4}),
         "gpuPools[1].accelerator.count", "2 GPU(s) per node, not 4", "accelerator.count: 2",
         then(setting("gpuPools", 1, "accelerator", "count", 2))),
    Case("nap-shape-accelerator-mismatch",
         setting("nodeAutoProvisioning", "shapes", 0, "accelerator", {"type": "nvidia-l4", "count": 1}),
         "nodeAutoProvisioning.shapes[0].accelerator.type", "carries nvidia-tesla-a100", "nvidia-tesla-a100",
         then(setting("nodeAutoProvisioning", "shapes", 0, "accelerator", "type", "nvidia-tesla-a100"))),
    Case("system-pool-with-gpus", setting("cluster", "systemPool", "machineType", "g2-standard-4"),
         "cluster.systemPool.machineType", "must not", "e2-standard-4", then(setting("cluster", "systemPool", "machineType", "e2-standard-4"))),
    Case("system-pool-min-over-max", setting("cluster", "systemPool", "minNodes", 8), "cluster.systemPool.minNodes",
         "exceeds maxNodes 6", "lower minNodes", then(setting("cluster", "systemPool", "minNodes", 2))),
    # --- pools --------------------------------------------------------------------------------------
    Case("reserved-without-reserved-nodes", removing("gpuPools", 0, "reservedNodes"), "gpuPools[0].reservedNodes",
         "reservedNodes >= 1", "reservedNodes", then(setting("gpuPools", 0, "reservedNodes", 4))),
    Case("reserved-in-two-zones", setting("gpuPools", 0, "zones", ["us-central1-a", "us-central1-c"]), "gpuPools[0].zones",
         "one zone, got ['us-central1-a', 'us-central1-c']", "exactly one zone", then(setting("gpuPools", 0, "zones", ["us-central1-a"]))),
    Case("reserved-defaulting-to-all-zones", removing("gpuPools", 0, "zones"), "gpuPools[0].zones",
         "one zone, got ['us-central1-a', 'us-central1-b', 'us-central1-c']", "exactly one zone",
         then(setting("gpuPools", 0, "zones", ["us-central1-b"]))),
    Case("reserved-with-max-nodes", setting("gpuPools", 0, "maxNodes", 4), "gpuPools[0].maxNodes", "fixed size", "remove"),
    Case("reserved-nodes-on-spot-pool", setting("gpuPools", 2, "reservedNodes", 2), "gpuPools[2].reservedNodes",
         "only reserved pools", "remove reservedNodes"),
    Case("spot-min-nodes", setting("gpuPools", 2, "minNodes", 1), "gpuPools[2].minNodes", "scale from zero", "minNodes: 0"),
    Case("autoscaled-max-nodes-zero", setting("gpuPools", 1, "maxNodes", 0), "gpuPools[1].maxNodes", "maxNodes >= 1", "set maxNodes",
         then(setting("gpuPools", 1, "maxNodes", 24))),
    Case("duplicate-pool-name", appending("gpuPools", pool_copy(1)), "gpuPools[5].name",
         "already used by gpuPools[1]", "unique name", then(lambda raw: raw["gpuPools"].pop())),
    Case("pool-named-system", appending("gpuPools", pool_copy(1, name="system", maxNodes=2)), "gpuPools[5].name",
         "already used by cluster.systemPool", "unique name", then(setting("gpuPools", 5, "name", "l4-ondemand-b"))),
    Case("nap-shapes-while-nap-disabled", setting("nodeAutoProvisioning", "enabled", False), "nodeAutoProvisioning.shapes",
         "enabled is false", "enable NAP", then(setting("nodeAutoProvisioning", "enabled", True))),
    Case("nap-max-gpus-not-multiple",
         setting("nodeAutoProvisioning", "shapes", 0, {"name": "a100-compact-spot", "machineType": "a2-highgpu-2g",
                                                        "accelerator": {"type": "nvidia-tesla-a100", "count": 2}, "maxGpus": 15}),
         "nodeAutoProvisioning.shapes[0].maxGpus", "not a multiple of 2", "multiple of 2"),
    # --- queues -------------------------------------------------------------------------------------
    Case("unknown-flavor", setting("teams", 2, "queues", "low", 1, "flavor", "l4-spott"), "teams[2].queues.low[1].flavor",
         "unknown flavor 'l4-spott'", "write l4-spot"),
    Case("spot-flavor-in-high-class", setting("teams", 2, "queues", "high", 1, "flavor", "l4-spot"),
         "teams[2].queues.high[1].flavor", "the high class may only use reserved / on-demand", "l4-ondemand",
         then(setting("teams", 2, "queues", "high", 1, "flavor", "l4-ondemand"))),
    Case("dws-flavor-in-team-queue", setting("teams", 0, "queues", "low", 1, "flavor", "l4-dws"),
         "teams[0].queues.low[1].flavor", "is dws capacity", "l4-spot", then(setting("teams", 0, "queues", "low", 1, "flavor", "l4-spot"))),
    Case("on-demand-before-reserved",
         queue(0, "high", [{"flavor": "l4-ondemand", "gpus": 4, "borrowingLimit": 4}, {"flavor": "l4-reserved", "gpus": 2, "borrowingLimit": 2}]),
         "teams[0].queues.high[1].flavor", "listed after a on-demand flavor", "list reserved before on-demand",
         then(lambda raw: raw["teams"][0]["queues"]["high"].reverse())),
    Case("flavor-listed-twice",
         queue(1, "low", [{"flavor": "l4-reserved", "gpus": 0}, {"flavor": "l4-spot", "gpus": 12}, {"flavor": "l4-spot", "gpus": 0}]),
         "teams[1].queues.low[2].flavor", "listed twice", "once", then(lambda raw: raw["teams"][1]["queues"]["low"].pop())),
    Case("unreachable-borrowing-limit", setting("teams", 0, "queues", "low", 1, "borrowingLimit", 20),
         "teams[0].queues.low[1].borrowingLimit", "the other queues in cohort 'team-a-b' lend only 12", "at most 12"),
    # --- capacity -----------------------------------------------------------------------------------
    Case("reserved-over-subscribed", setting("teams", 0, "queues", "high", 0, "gpus", 4), "teams[0].queues.high[0].gpus",
         "'l4-reserved' is over-subscribed", "lower the quotas by 2 GPUs"),
    Case("spot-over-subscribed", setting("teams", 2, "queues", "low", 1, "gpus", 40), "teams[2].queues.low[1].gpus",
         "'l4-spot' is over-subscribed: nominal quotas sum to 76 GPUs", "lower the quotas by 4 GPUs"),
    Case("nap-shape-over-subscribed", setting("teams", 3, "queues", "compact", 0, "gpus", 12), "teams[3].queues.compact[0].gpus",
         "NAP allowance maxGpus 16", "lower the quotas by 2 GPUs"),
    Case("dws-over-subscribed", setting("dws", "gpus", 20), "dws.gpus", "'l4-dws' is over-subscribed", "lower the quotas by 4 GPUs"),
    # --- names and members ----------------------------------------------------------------------------
    Case("duplicate-team-name", setting("teams", 3, "name", "team-a"), "teams[3].name", "already teams[0]", "unique",
         then(setting("teams", 3, "name", "team-d"))),
    Case("team-name-makes-gsa-id-too-long", setting("teams", 3, "name", "team-with-a-very-long-name"), "teams[3].name",
         "'batch-dev-team-with-a-very-long-name' is 36 characters", "shorten the team name by 6 characters, e.g. team-with-a-very-lo"),
    Case("name-prefix-too-long", setting("namePrefix", "a-very-long-platform-prefix"), "namePrefix",
         "node service account ID 'a-very-long-platform-prefix-nodes' is 33 characters",
         "at most 23 characters, e.g. a-very-long-platform-pr"),  # 23, not 24: the teams' accounts must fit too
    Case("team-in-system-namespace", setting("teams", 3, "name", "kube-system"), "teams[3].name", "system namespace",
         "another team name", then(setting("teams", 3, "name", "team-d"))),
    Case("bad-member-format", setting("teams", 3, "members", ["user:bob@example.com", "alice@example.com"]), "teams[3].members[1]",
         "'alice@example.com' is not an IAM member", "write user:alice@example.com"),
    Case("team-without-queues", setting("teams", 3, "queues", {}), "teams[3].queues", "has no queue", "at least one",
         then(lambda raw: raw["teams"][3].__setitem__("queues", copy.deepcopy(raw["teams"][1]["queues"])))),
    # --- DWS ----------------------------------------------------------------------------------------
    Case("dws-team-without-dws-section", all_of(removing("dws"), removing("teams", 1, "dws")), "teams[0].dws",
         "no dws section exists", "add dws:", then(setting("dws", {"flavor": "l4-dws", "gpus": 16}))),
    Case("dws-section-on-non-dws-pool", setting("dws", "flavor", "l4-spot"), "dws.flavor",
         "'l4-spot' is not a GPU pool with provisioning: dws", "l4-dws", then(setting("dws", "flavor", "l4-dws"))),
    Case("dws-pool-unused", all_of(removing("dws"), removing("teams", 0, "dws"), removing("teams", 1, "dws")),
         "gpuPools[3]", "no dws queue uses it", "remove the pool", then(lambda raw: raw["gpuPools"].pop(3))),
    Case("dws-section-without-team", all_of(removing("teams", 0, "dws"), removing("teams", 1, "dws")), "dws",
         "no team is granted DWS", "grant a team", then(setting("teams", 0, "dws", True))),
]


def test_dev_config_itself_is_valid(dev_platform_raw):
    parse_platform(dev_platform_raw)  # the baseline every case breaks in exactly one way


def test_cases_are_distinct():
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({(c.path, c.message) for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_config_is_reported_with_path_message_and_a_fix_that_works(case: Case):
    assert_readable(check_case(case))


def test_reserved_over_subscription_message_shows_the_arithmetic(dev_platform_raw):
    """Raising team-a's high reserved quota from 2 to 4: 10 GPUs promised, 8 exist."""
    dev_platform_raw["teams"][0]["queues"]["high"][0]["gpus"] = 4
    err = config_error(dev_platform_raw)
    issue = assert_issue(err, "teams[0].queues.high[0].gpus", "over-subscribed")
    for part in ("sum to 10 GPUs", "supplies 8", "4 reserved nodes x 2 GPUs",
                 "team-a/high 4", "team-b/high 2", "team-c/high 2", "team-d/high 2"):
        assert part in issue.message, f"{part!r} missing from {issue.message!r}"
    assert "lower the quotas by 2 GPUs" in issue.fix
    # Only team-a changed: the other teams are not blamed, and the queue with 0 GPUs is not listed.
    assert "team-a/low" not in issue.message
    assert err.paths().count("teams[0].queues.high[0].gpus") == 1


def test_several_errors_are_all_reported_at_once(dev_platform_raw):
    dev_platform_raw["network"]["masterCidr"] = "172.16.0.0/24"
    dev_platform_raw["gpuPools"][2]["minNodes"] = 2
    dev_platform_raw["teams"][3]["members"] = ["bob@example.com"]
    dev_platform_raw["teams"][0]["queues"]["high"][0]["gpus"] = 4
    dev_platform_raw["dws"]["flavor"] = "l4-spot"
    err = config_error(dev_platform_raw)
    expected = {
        "network.masterCidr", "gpuPools[2].minNodes", "teams[3].members[0]",
        "teams[0].queues.high[0].gpus", "dws.flavor",
    }
    assert expected <= set(err.paths())
    assert len(set(err.paths())) >= 3
    assert str(err).startswith(f"{len(err.issues)} error(s)")


def test_several_structural_errors_are_all_reported_at_once(dev_platform_raw):
    dev_platform_raw["cluster"]["systemPool"]["maxNode"] = 3
    dev_platform_raw["gpuPools"][0]["accelerator"]["count"] = 0
    dev_platform_raw["teams"][1]["queues"]["high"][0]["gpus"] = "x"
    del dev_platform_raw["region"]
    err = config_error(dev_platform_raw)
    assert set(err.paths()) >= {
        "cluster.systemPool.maxNode", "gpuPools[0].accelerator.count", "teams[1].queues.high[0].gpus", "region",
    }


def test_pydantic_paths_are_camel_case_with_indexes(dev_platform_raw):
    dev_platform_raw["teams"][1]["queues"]["high"][0]["gpus"] = -3
    dev_platform_raw["teams"][1]["queues"]["high"][0]["borrowingLimit"] = "some"
    dev_platform_raw["gpuPools"][1]["reservedNodes"] = -1
    err = config_error(dev_platform_raw)
    assert set(err.paths()) == {
        "teams[1].queues.high[0].gpus", "teams[1].queues.high[0].borrowingLimit", "gpuPools[1].reservedNodes",
    }
    for path in err.paths():
        assert "_" not in path, f"{path} is snake_case, users write camelCase"


def test_one_team_is_changed_without_touching_the_others(dev_platform_raw):
    """The dev file shares `queues` between teams through a YAML anchor; the fixtures copy it apart."""
    dev_platform_raw["teams"][1]["queues"]["high"][0]["gpus"] = "lots"
    err = config_error(dev_platform_raw)
    assert err.paths() == ["teams[1].queues.high[0].gpus"]


@pytest.mark.parametrize("raw", [None, [1, 2], "platform", 5])
def test_platform_block_that_is_not_a_mapping(raw):
    err = config_error(raw)
    assert_issue(err, "platform", "expected a mapping", "Pulumi.dev.yaml")


def test_config_error_names_its_source(dev_platform_raw):
    dev_platform_raw["network"]["masterCidr"] = "172.16.0.0/24"
    with pytest.raises(ConfigError) as info:
        parse_platform(dev_platform_raw, "Pulumi.prod.yaml")
    assert "in Pulumi.prod.yaml" in str(info.value)


def test_borrowing_limit_reachable_exactly_at_peer_nominal(dev_platform_raw):
    """team-b owns 12 spot GPUs in cohort team-a-b: team-a may borrow up to 12, not 13."""
    dev_platform_raw["teams"][0]["queues"]["low"][1]["borrowingLimit"] = 12
    parse_platform(dev_platform_raw)
    dev_platform_raw["teams"][0]["queues"]["low"][1]["borrowingLimit"] = 13
    assert_issue(config_error(dev_platform_raw), "teams[0].queues.low[1].borrowingLimit", "lend only 12", "at most 12")


def test_capacity_fits_exactly_at_the_pool_size(dev_platform_raw):
    """Reserved: 4 nodes x 2 GPUs = 8; four teams at 2 GPUs each fill it exactly and are accepted."""
    dev_platform_raw["teams"][0]["queues"]["low"][0]["gpus"] = 0
    parse_platform(dev_platform_raw)
    dev_platform_raw["gpuPools"][0]["reservedNodes"] = 3  # now 6 GPUs for 8 promised
    err = config_error(dev_platform_raw)
    issue = assert_issue(err, "teams[0].queues.high[0].gpus", "'l4-reserved' is over-subscribed")
    assert "supplies 6 (3 reserved nodes x 2 GPUs)" in issue.message


# --- rules added after review found them missing or misreporting ---


def test_reserved_pool_with_min_nodes_names_min_nodes(dev_platform_raw):
    dev_platform_raw["gpuPools"][0]["minNodes"] = 1
    err = config_error(dev_platform_raw)
    assert_issue(err, "gpuPools[0].minNodes", "fixed size")
    assert_no_issue(err, "gpuPools[0].maxNodes")


def test_low_queue_may_borrow_its_own_teams_idle_high_quota(dev_platform_raw):
    teams = dev_platform_raw["teams"]
    teams[2].pop("serving", None)
    teams[2]["queues"] = {
        "high": [{"flavor": "l4-reserved", "gpus": 2}],
        "low": [{"flavor": "l4-reserved", "gpus": 0, "borrowingLimit": 2}, {"flavor": "l4-spot", "gpus": 12}],
        "compact": [{"flavor": "a100-compact-spot", "gpus": 2}],
    }
    teams[3]["queues"] = {
        "high": [{"flavor": "l4-ondemand", "gpus": 4}],
        "low": [{"flavor": "l4-spot", "gpus": 12}],
        "compact": [{"flavor": "a100-compact-spot", "gpus": 2}],
    }
    parse_platform(dev_platform_raw)  # team-c/low borrows team-c/high's 2 idle reserved GPUs via cohort team-c-d


def test_master_cidr_must_be_ipv4(dev_platform_raw):
    dev_platform_raw["network"]["masterCidr"] = "fd00::/28"
    assert_issue(config_error(dev_platform_raw), "network.masterCidr", "IPv4")


def test_duplicate_zone_is_rejected(dev_platform_raw):
    dev_platform_raw["zones"] = ["us-central1-a", "us-central1-c", "us-central1-a"]
    assert_issue(config_error(dev_platform_raw), "zones[2]", "us-central1-a")


def test_shape_named_like_a_pool_reports_only_the_duplicate(dev_platform_raw):
    shape = copy.deepcopy(dev_platform_raw["nodeAutoProvisioning"]["shapes"][0])
    dev_platform_raw["nodeAutoProvisioning"]["shapes"].append({**shape, "name": "l4-spot"})
    err = config_error(dev_platform_raw)
    assert_issue(err, "nodeAutoProvisioning.shapes[1].name", "already used by gpuPools[2]")
    assert err.paths() == ["nodeAutoProvisioning.shapes[1].name"], str(err)
