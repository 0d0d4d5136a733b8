"""Every config mistake gets one clear error with its path and a fix that works, all at once.

Cases here cover the translated structural errors, the checks added for real-deploy failures and
their sources (each rule's module docstring cites it: checks_network.py, names.py, checks_queues.py),
several mistakes at once (every error reported, none spurious), valid-but-unusual configs that must
pass, and a scan that no message carries a raw pattern or a Python type name.
"""

from __future__ import annotations

import copy

import pytest

from components.model import ConfigError, parse_platform
from components.model.checks_network import max_nodes, pod_block_prefix
from config_cases import Case, all_of, assert_readable, check_case, removing, rename_flavor, setting, then
from conftest import assert_issue, config_error, load_dev_platform_raw

# Two characters too long: GKE allows 40, and the pool is auto-named "<pool>-pool-" + 7 characters.
LONG_POOL = "l4-reserved-one-over-limit-2x"
assert len(LONG_POOL) == 29


def team_e(raw: dict) -> None:
    """A fifth team alone in its own cohort, borrowing on-demand capacity nobody in that cohort lends."""
    raw["teams"].append({"name": "team-e", "cohort": "team-e-solo",
                         "queues": {"low": [{"flavor": "l4-spot", "gpus": 0, "borrowingLimit": 4}]}})


CASES = [
    # --- structural errors, translated into what to write ------------------------------------------
    Case("region-is-a-zone", setting("region", "us-central1-a"), "region", "'us-central1-a' is a zone; the region is 'us-central1'",
         "write us-central1"),
    Case("project-number", setting("project", "123456789012"), "project", "looks like a project number",
         "the project ID", then(setting("project", "my-gpu-batch-dev"))),
    Case("project-uppercase", setting("project", "My-GPU-Batch"), "project", "a project ID is 6-30 characters", "write my-gpu-batch"),
    Case("version-with-v", setting("versions", {"kueue": "v0.19.2"}), "versions.kueue", "exact release version", "write 0.19.2"),
    Case("version-read-as-number", setting("versions", {"jobset": 0.12}), "versions.jobset", "expected a text value, got 0.12",
         "quote it", then(setting("versions", {"jobset": "0.12.0"}))),
    Case("team-name-underscore", setting("teams", 2, "name", "team_c"), "teams[2].name", "lowercase letters", "write team-c"),
    Case("negative-max-nodes", setting("gpuPools", 2, "maxNodes", -36), "gpuPools[2].maxNodes", "must be at least 0, got -36", "e.g. 36"),
    Case("members-a-string", setting("teams", 0, "members", "group:team-a@example.com"), "teams[0].members",
         "expected a list, got 'group:team-a@example.com'", "[group:team-a@example.com]"),
    Case("gpus-with-units", setting("teams", 0, "queues", "high", 1, "gpus", "4 GPUs"), "teams[0].queues.high[1].gpus",
         "expected a whole number, got '4 GPUs'", "write 4"),
    Case("bool-as-word", setting("cluster", "deletionProtection", "maybe"), "cluster.deletionProtection",
         "expected true or false, got 'maybe'", "write true or false"),
    Case("release-channel-lowercase-typo", setting("cluster", "releaseChannel", "regullar"), "cluster.releaseChannel",
         "is not one of RAPID, REGULAR, STABLE", "write REGULAR"),
    Case("key-one-level-too-deep", lambda raw: raw["gpuPools"][1]["accelerator"].__setitem__("maxNodes", raw["gpuPools"][1].pop("maxNodes")),
         "gpuPools[1].accelerator.maxNodes", "'maxNodes' does not belong here", "move it to gpuPools[1].maxNodes",
         then(lambda raw: raw["gpuPools"][1].__setitem__("maxNodes", raw["gpuPools"][1]["accelerator"].pop("maxNodes")))),
    Case("unknown-key-no-near-match", setting("gpuPools", 1, "colour", "red"), "gpuPools[1].colour", "unknown key 'colour'",
         "remove it; the keys here are: name, machineType"),
    Case("top-level-section-typo", lambda raw: raw.__setitem__("team", raw.pop("teams")), "team", "unknown key 'team'",
         "did you mean 'teams'"),
    Case("section-is-a-list", setting("network", [{"subnetCidr": "10.40.0.0/22"}]), "network", "expected a mapping of keys, got a list",
         "key: value pairs", then(lambda raw: raw.__setitem__("network", load_dev_platform_raw()["network"]))),
    Case("max-pods-too-high", setting("cluster", "maxPodsPerNode", 300), "cluster.maxPodsPerNode", "must be at most 256", "use at most 256"),
    Case("budget-with-currency", setting("monthlyBudgetUsd", "20000 USD"), "monthlyBudgetUsd", "expected a number, got '20000 USD'",
         "write 20000"),
    Case("team-budget-negative", setting("teams", 1, "monthlyBudgetUsd", -3000), "teams[1].monthlyBudgetUsd",
         "must be more than 0, got -3000", "e.g. 3000"),
    Case("soft-delete-days-out-of-range", setting("dataProtection", {"softDeleteDays": 3}), "dataProtection.softDeleteDays",
         "GCS soft delete keeps objects 7 to 90 days, or is off (0); got 3", "use 0 or 7..90"),
    Case("controller-replicas-zero", setting("controllers", {"replicas": 0}), "controllers.replicas", "must be at least 1, got 0",
         "use at least 1"),
    Case("monitoring-retention-as-text", lambda raw: raw.setdefault("monitoring", {}).update(retentionDays="two weeks"),
         "monitoring.retentionDays", "expected a whole number, got 'two weeks'", "write a number",
         then(setting("monitoring", "retentionDays", 14))),
    Case("max-pods-too-low", setting("cluster", "maxPodsPerNode", 4), "cluster.maxPodsPerNode", "must be at least 8", "e.g. 8"),
    # --- zones (catalog) --------------------------------------------------------------------------------
    Case("region-typo", setting("region", "us-centrl1"), "region", "'us-centrl1' is not a known region", "write us-central1"),
    Case("zone-that-does-not-exist", lambda raw: raw["zones"].append("us-central1-d"), "zones[3]",
         "'us-central1-d' is not a zone of region 'us-central1' (its zones: us-central1-a, us-central1-b, us-central1-c, us-central1-f)",
         "write us-central1-f"),
    Case("duplicate-zone", lambda raw: raw["zones"].append("us-central1-a"), "zones[3]", "listed twice", "list each zone once"),
    # --- IP capacity --------------------------------------------------------------------------------------
    Case("pods-range-too-small", setting("network", "podsCidr", "10.48.0.0/20"), "network.podsCidr",
         "holds pod ranges for 16 nodes (each node takes a /24 for maxPodsPerNode 110), but the pools and NAP can reach 96 nodes",
         "use a /17 or larger, e.g. 10.48.0.0/17"),
    Case("pods-range-too-small-for-more-pods", all_of(setting("network", "podsCidr", "10.48.0.0/17"), setting("cluster", "maxPodsPerNode", 256)),
         "network.podsCidr", "each node takes a /23 for maxPodsPerNode 256", "or lower cluster.maxPodsPerNode",
         then(setting("cluster", "maxPodsPerNode", 110))),
    Case("subnet-too-small", setting("network", "subnetCidr", "10.40.0.0/26"), "network.subnetCidr",
         "has 60 usable node addresses (VPC reserves 4), but the pools and NAP can reach 96 nodes", "use a /25 or larger, e.g. 10.40.0.0/25"),
    Case("services-range-too-wide", setting("network", "servicesCidr", "10.128.0.0/9"), "network.servicesCidr",
         "wider than Kubernetes allows for Services", "e.g. 10.128.0.0/20"),
    # --- control-plane access ---------------------------------------------------------------------------
    Case("open-control-plane", lambda raw: raw["network"]["authorizedNetworks"].append({"name": "anywhere", "cidr": "0.0.0.0/0"}),
         "network.authorizedNetworks[2].cidr", "opens the control plane to 4,294,967,296 addresses", "authorize only your admin networks",
         then(lambda raw: raw["network"]["authorizedNetworks"].pop())),
    Case("duplicate-authorized-block", lambda raw: raw["network"]["authorizedNetworks"].append({"name": "office2", "cidr": "192.168.0.0/24"}),
         "network.authorizedNetworks[2].cidr", "already authorizedNetworks[1]", "list each block once",
         then(lambda raw: raw["network"]["authorizedNetworks"].pop())),
    Case("duplicate-authorized-name", lambda raw: raw["network"]["authorizedNetworks"].append({"name": "office", "cidr": "192.168.1.0/24"}),
         "network.authorizedNetworks[2].name", "'office' is already authorizedNetworks[1]'s name", "own name"),
    Case("private-endpoint-unreachable", all_of(setting("cluster", "privateEndpoint", True),
                                                setting("network", "authorizedNetworks", [{"name": "office", "cidr": "81.2.69.0/24"}])),
         "cluster.privateEndpoint", "no authorized network is internal", "or set privateEndpoint: false"),
    Case("private-endpoint-with-a-public-block", all_of(setting("cluster", "privateEndpoint", True),
                                                        lambda raw: raw["network"]["authorizedNetworks"].append({"name": "home", "cidr": "81.2.69.0/24"})),
         "network.authorizedNetworks[2].cidr", "is a public range: with cluster.privateEndpoint", "authorize internal ranges",
         then(lambda raw: raw["network"]["authorizedNetworks"].pop())),
    # --- derived GCP names --------------------------------------------------------------------------------
    Case("node-pool-name-too-long", rename_flavor("l4-reserved", LONG_POOL),
         "gpuPools[0].name", f"the node pool name '{LONG_POOL}-pool-xxxxxxx' is 42 characters; GCP allows 1-40",
         "shorten the pool name by 2 characters, e.g. l4-reserved-one-over-limit",
         lambda raw, issue: rename_flavor(LONG_POOL, issue.example)(raw)),
    Case("bucket-with-google", setting("teams", 3, "name", "google-ml"), "teams[3].name",
         "contains 'goog(le)', which Cloud Storage forbids", "rename the team", then(setting("teams", 3, "name", "team-d"))),
    Case("project-with-google", setting("project", "google-batch-dev"), "project", "cannot contain 'google'", "real ID",
         then(setting("project", "my-gpu-batch-dev"))),
    # --- teams, members, cohorts ------------------------------------------------------------------------
    Case("duplicate-member", setting("teams", 0, "members", ["group:ml@example.com", "group:ml@example.com"]), "teams[0].members[1]",
         "already members[0]", "list each member once"),
    Case("member-without-domain", setting("teams", 0, "members", ["group:ml-team"]), "teams[0].members[0]",
         "is not an IAM member", "group:ml@example.com", then(setting("teams", 0, "members", ["group:ml-team@example.com"]))),
    Case("member-kind-typo", setting("teams", 0, "members", ["groups:ml@example.com"]), "teams[0].members[0]", "is not an IAM member",
         "write group:ml@example.com"),
    Case("cohort-typo-splits-a-cohort", setting("teams", 1, "cohort", "team-ab"), "teams[1].cohort",
         "cohort 'team-ab' has no other team, so team 'team-b' can never borrow (l4-reserved 2, l4-ondemand 4, l4-spot 4); "
         "it looks like a misspelling of cohort 'team-a-b'", "write team-a-b"),
    Case("cohort-typo-in-a-larger-cohort", all_of(setting("teams", 2, "cohort", "team-a-b"), setting("teams", 3, "cohort", "team-a-c")),
         "teams[3].cohort", "misspelling of cohort 'team-a-b'", "write team-a-b"),
    Case("lonely-cohort", team_e, "teams[4].cohort", "cohort 'team-e-solo' has only team 'team-e'", "same cohort",
         then(setting("teams", 4, "cohort", "team-a-b"))),
    Case("duplicate-team-with-other-quotas", all_of(setting("teams", 3, "name", "team-c"), setting("teams", 3, "queues", "low", 1, "gpus", 6)),
         "teams[3].name", "'team-c' is already teams[2]", "unique", then(setting("teams", 3, "name", "team-d"))),
    Case("nap-shape-typo-in-queue", setting("teams", 1, "queues", "compact", 0, "flavor", "a100-compact"), "teams[1].queues.compact[0].flavor",
         "unknown flavor 'a100-compact'", "write a100-compact-spot"),
]


def test_cases_are_distinct_and_enough():
    from test_bad_config import CASES as FIRST

    every = FIRST + CASES
    assert len(every) >= 60
    assert len({c.id for c in every}) == len(every)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_mistake_is_one_error_with_path_message_and_a_fix_that_works(case: Case):
    assert_readable(check_case(case))


# --- several mistakes at once: every error reported, none spurious --------------------------------------


def _errors(mutations) -> dict[str, str]:
    raw = load_dev_platform_raw()
    for m in mutations:
        m(raw)
    err = config_error(raw)
    assert_readable(err)
    return {issue.path: issue.message for issue in err.issues}


def test_a_typo_in_one_section_hides_nothing_in_the_others():
    """A misspelled key in gpuPools, an unknown flavor in teams and a bad zone: all three, nothing else."""
    errors = _errors([
        lambda raw: raw["gpuPools"][1].__setitem__("maxNode", raw["gpuPools"][1].pop("maxNodes")),
        setting("teams", 2, "queues", "low", 1, "flavor", "l4-spott"),
        lambda raw: raw["zones"].append("us-central1-x"),
    ])
    assert set(errors) == {"gpuPools[1].maxNode", "teams[2].queues.low[1].flavor", "zones[3]"}


def test_a_broken_section_skips_only_the_checks_that_need_it():
    """network does not parse; region, members and pools are still judged; nothing about IP ranges is guessed."""
    errors = _errors([
        setting("network", "subnetCidr", "ten-forty"),
        setting("region", "us-central1-a"),
        setting("teams", 1, "members", ["user:x@example.com", "user:x@example.com"]),
        setting("gpuPools", 2, "minNodes", 2),
    ])
    assert set(errors) == {"network.subnetCidr", "region", "teams[1].members[1]", "gpuPools[2].minNodes"}


def test_five_unrelated_mistakes_five_errors():
    errors = _errors([
        setting("region", "us-centrl1"),
        setting("project", "123456789012"),
        setting("teams", 0, "name", "Team_A"),
        setting("network", "masterCidr", "172.16.0.0/24"),
        lambda raw: raw["network"]["authorizedNetworks"].append({"name": "all", "cidr": "0.0.0.0/0"}),
    ])
    assert set(errors) == {"region", "project", "teams[0].name", "network.masterCidr", "network.authorizedNetworks[2].cidr"}


def test_broken_teams_still_judge_pools_and_capacity_free_rules():
    """teams does not parse (a word for a number): pool and network rules still run, queue sums wait."""
    errors = _errors([
        setting("teams", 1, "queues", "high", 0, "gpus", "two"),
        setting("gpuPools", 0, "maxNodes", 4),
        setting("network", "podsCidr", "10.48.0.0/20"),
    ])
    assert set(errors) == {"teams[1].queues.high[0].gpus", "gpuPools[0].maxNodes", "network.podsCidr"}


def test_cohort_typo_and_an_over_subscription_are_two_errors_not_a_cascade():
    errors = _errors([setting("teams", 1, "cohort", "team-ab"), setting("teams", 2, "queues", "low", 1, "gpus", 40)])
    assert set(errors) == {"teams[1].cohort", "teams[2].queues.low[1].gpus"}


# --- valid but unusual: must pass --------------------------------------------------------------------


def _two_digit_region(raw: dict) -> None:
    raw.update(region="europe-west12", zones=["europe-west12-a", "europe-west12-b", "europe-west12-c"])
    raw["gpuPools"][0]["zones"] = ["europe-west12-b"]


def _long_legal_names(raw: dict) -> None:
    """Every derived name exactly at its limit: service accounts 30, pool 40 (27 + "-pool-" + 7 auto-name)."""
    raw["project"] = "a-thirty-character-project-id1"
    raw["namePrefix"] = "batch-platform-dev-prd1"  # 23: namePrefix-team-a is 30
    rename_flavor("l4-reserved", "l4-reserved-at-the-limit-27")(raw)


def _team_without_cohort(raw: dict) -> None:
    raw["teams"].append({"name": "solo", "queues": {"low": [{"flavor": "l4-spot", "gpus": 0}]}})


def _private_endpoint(raw: dict) -> None:
    raw["cluster"]["privateEndpoint"] = True  # both dev blocks are internal


def _fewer_pods_smaller_range(raw: dict) -> None:
    """32 pods per node -> a /26 per node; a /19 holds 128 node ranges for the 96 nodes the pools can reach."""
    raw["cluster"]["maxPodsPerNode"] = 32
    raw["network"]["podsCidr"] = "10.48.0.0/19"


def _fourth_zone(raw: dict) -> None:
    raw["zones"].append("us-central1-f")


def _no_nap(raw: dict) -> None:
    raw["nodeAutoProvisioning"] = {"enabled": False}
    for team in raw["teams"]:
        team["queues"].pop("compact")


def _single_team_cohort_borrowing_from_itself(raw: dict) -> None:
    raw["teams"].append({"name": "team-e", "cohort": "team-e", "queues": {
        "high": [{"flavor": "l4-ondemand", "gpus": 0}],
        "low": [{"flavor": "l4-spot", "gpus": 0}]}})


UNUSUAL = [_two_digit_region, _long_legal_names, _team_without_cohort, _private_endpoint, _fewer_pods_smaller_range,
           _fourth_zone, _no_nap, _single_team_cohort_borrowing_from_itself]


@pytest.mark.parametrize("mutate", UNUSUAL, ids=[m.__name__.strip("_") for m in UNUSUAL])
def test_valid_but_unusual_config_passes(mutate):
    raw = load_dev_platform_raw()
    mutate(raw)
    parse_platform(raw)


def test_long_names_are_at_their_limits():
    raw = load_dev_platform_raw()
    _long_legal_names(raw)
    from components.model.names import node_pool_name, team_account_id, team_bucket_name

    p = parse_platform(raw)
    assert len(node_pool_name(p.gpu_pools[0])) == 40
    assert len(team_account_id(p, p.teams[0])) == 30
    assert len(team_bucket_name(p, p.teams[0])) <= 63


def test_pod_range_per_node_follows_gke_table():
    """GKE "Configure maximum Pods per node" (kubernetes-engine/docs/how-to/flexible-pod-cidr): 8 -> /28,
    9-16 -> /27, 17-32 -> /26, 33-64 -> /25, 65-110 -> /24 ("the block always contains at least twice as
    many addresses as the maximum number of Pods per node"); 256 -> /23 by the same rule."""
    assert [pod_block_prefix(n) for n in (8, 9, 16, 17, 32, 33, 64, 65, 110, 256)] == [28, 27, 27, 26, 26, 25, 25, 24, 24, 23]


def test_dev_stack_node_maximum():
    """system 6 + reserved 4 + on-demand 24 + spot 36 + dws 8 + A100 shape 16 (1 GPU per node) + shared 2 = 96."""
    assert max_nodes(parse_platform(load_dev_platform_raw())) == 96


def test_example_of_a_fix_is_valid_for_its_field():
    """The control plane example is a /28 that overlaps nothing (the old message offered a /22)."""
    raw = load_dev_platform_raw()
    raw["network"]["masterCidr"] = "10.40.0.0/28"  # overlaps the subnet
    issue = assert_issue(config_error(raw), "network.masterCidr", "overlaps network.subnetCidr")
    assert issue.example.endswith("/28")
    raw["network"]["masterCidr"] = issue.example
    parse_platform(copy.deepcopy(raw))


def test_missing_required_sections_are_each_named_once():
    raw = load_dev_platform_raw()
    for key in ("network", "teams", "gpuPools"):
        del raw[key]
    errors = {i.path for i in config_error(raw).issues}
    assert errors == {"network", "teams", "gpuPools"}


def test_dropping_a_whole_section_reports_no_cross_field_noise():
    raw = load_dev_platform_raw()
    removing("dws")(raw)
    removing("gpuPools")(raw)
    errors = {i.path for i in config_error(raw).issues}
    assert errors == {"gpuPools", "teams[0].dws", "teams[1].dws"}


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i))
    if path:
        yield path


@pytest.mark.parametrize("odd", [None, [], {}, "x", -1, 1.5], ids=["null", "list", "mapping", "text", "negative", "fraction"])
def test_any_value_anywhere_is_an_error_not_a_crash(odd):
    """Every key of the dev config (sections, list items and leaves) replaced by a value of the wrong
    kind: parse_platform either accepts it or raises ConfigError with readable messages, never anything else."""
    base = load_dev_platform_raw()
    for path in _leaves(base):
        raw = copy.deepcopy(base)
        node = raw
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = copy.deepcopy(odd)
        try:
            parse_platform(raw)
        except ConfigError as err:
            assert_readable(err)


def test_eight_mistakes_in_one_stack_eight_errors():
    """Structural mistakes whose fix is spelled out (a zone for the region, a string for a list, `v0.19.2`,
    a misspelled key) do not stop the cross-field checks: the pod range and the cohort typo are judged too."""
    errors = _errors([
        setting("region", "us-central1-a"),
        setting("project", "123456789012"),
        setting("teams", 1, "cohort", "team-ab"),
        lambda raw: raw["gpuPools"][2].__setitem__("maxNode", raw["gpuPools"][2].pop("maxNodes")),
        setting("network", "podsCidr", "10.48.0.0/20"),
        lambda raw: raw["network"]["authorizedNetworks"].append({"name": "all", "cidr": "0.0.0.0/0"}),
        setting("teams", 3, "members", "user:bob@example.com"),
        setting("versions", {"kueue": "v0.19.2"}),
    ])
    assert set(errors) == {"region", "project", "teams[1].cohort", "gpuPools[2].maxNode", "network.podsCidr",
                           "network.authorizedNetworks[2].cidr", "teams[3].members", "versions.kueue"}
