"""The quota ledger (components/model/ledger.py) against Kueue's arithmetic, and every consumer reading it.

Source: kubernetes-sigs/kueue v0.19.2 pkg/cache/scheduler/resource_node.go: a ClusterQueue's
`guaranteedQuota` is nominal - lendingLimit (0 without a lending limit); a cohort's SubtreeQuota is the
sum of its children's SubtreeQuota - guaranteedQuota (what they lend); `potentialAvailable` of a queue
is guaranteedQuota + the cohort's potentialAvailable, capped at SubtreeQuota + borrowingLimit. The
ClusterQueue CRD: "lendingLimit must be null if spec.cohortName is empty"; the webhook: lendingLimit
"must be less than or equal to the nominalQuota".
"""

from __future__ import annotations

import pytest

from components.cost.teams import quota_costs
from components.kubernetes.render import resource_quota
from components.model import parse_platform
from components.model.ledger import QuotaLedger, ledger
from conftest import assert_issue, config_error, load_dev_platform_raw


def _platform(mutate=None):
    raw = load_dev_platform_raw()
    if mutate:
        mutate(raw)
    return parse_platform(raw)


def _entry(book: QuotaLedger, owner: str, flavor: str):
    return next(e for e in book.entries if e.owner == owner and e.flavor == flavor)


@pytest.mark.parametrize("limits, expected", [
    # (team-a high l4-ondemand borrowingLimit, team-b high l4-ondemand lendingLimit) -> team-a's ceiling
    ((4, None), 4 + 4),      # borrow up to 4 of team-b's 4
    ((None, None), 4 + 4),   # no borrowing limit: still only what the peer lends
    ((1, 1), 4 + 1),         # team-b keeps 3 for itself (guaranteed), lends 1
    ((0, None), 4),          # no borrowing
])
def test_a_queues_ceiling_is_kueues_potential_available(limits, expected):
    borrow, lend = limits

    def set_limits(raw):
        raw["teams"][0]["queues"]["high"][1]["borrowingLimit"] = borrow
        if borrow is None:
            del raw["teams"][0]["queues"]["high"][1]["borrowingLimit"]
        if lend is not None:
            raw["teams"][1]["queues"]["high"][1]["lendingLimit"] = lend
    book = ledger(_platform(set_limits))
    assert book.ceiling(_entry(book, "team-a/high", "l4-ondemand")) == expected


def test_a_team_can_never_hold_more_than_its_cohort():
    """team-a's high (2 + 2) and low (0 + 2) could each borrow reserved GPUs, but cohort team-a-b has 4."""
    platform = _platform()
    team_a = platform.teams[0]
    book = ledger(platform)
    assert [book.ceiling(_entry(book, f"team-a/{c}", "l4-reserved")) for c in ("high", "low")] == [4, 2]
    assert book.team_ceiling(team_a, "l4-reserved") == 4


def test_guaranteed_quota_is_the_owners_alone():
    """A lending limit keeps nominal - lendingLimit for the queue itself: peers cannot borrow it."""
    def keep_two(raw):
        raw["teams"][1]["queues"]["high"][0]["lendingLimit"] = 0  # team-b keeps its 2 reserved GPUs
        for team in raw["teams"][:2]:  # team-b's own queues and team-a's cannot borrow them any more
            for cls in ("high", "low"):
                team["queues"][cls][0]["borrowingLimit"] = 0
    platform = _platform(keep_two)
    book = ledger(platform)
    assert book.ceiling(_entry(book, "team-a/high", "l4-reserved")) == 2
    assert book.peers_lendable(_entry(book, "team-a/high", "l4-reserved")) == 0
    assert book.team_ceiling(platform.teams[1], "l4-reserved") == 2  # its own, which nobody else can take


def _lend_one(raw):
    raw["teams"][1]["queues"]["high"][1]["lendingLimit"] = 1
    raw["teams"][0]["queues"]["high"][1]["borrowingLimit"] = 1  # more could never be borrowed (a config error)


def test_the_resource_quota_cost_and_ledger_agree():
    """Every consumer reads the ledger: the ResourceQuota is the team's ceiling; cost's borrowable is the ledger's."""
    platform = _platform(_lend_one)
    book = ledger(platform)
    for team in platform.teams:
        assert resource_quota(platform, team)["spec"]["hard"]["requests.nvidia.com/gpu"] == str(book.team_gpu_ceiling(team))
    for cost in quota_costs(platform):
        entry = next(e for e in book.entries if e.owner == cost.queue and e.flavor == cost.flavor)
        assert cost.borrowable == book.borrowable(entry)


def test_lending_limit_renders_on_the_cluster_queue(capture_with):
    capture = capture_with(_lend_one)
    cq = next(r for r in capture.of_type("kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue")
              if r.inputs["metadata"]["name"] == "team-b-high")
    flavor = next(f for f in cq.inputs["spec"]["resourceGroups"][0]["flavors"] if f["name"] == "l4-ondemand")
    gpu = next(r for r in flavor["resources"] if r["name"] == "nvidia.com/gpu")
    assert gpu["lendingLimit"] == "1" and gpu["nominalQuota"] == "4"


def test_lending_limits_kueue_rejects_are_config_errors():
    raw = load_dev_platform_raw()
    raw["teams"][1]["queues"]["high"][1]["lendingLimit"] = 5
    assert_issue(config_error(raw), "teams[1].queues.high[1].lendingLimit", "more than the queue's 4 nominal GPUs", "at most 4")
    raw = load_dev_platform_raw()
    raw["teams"][2].pop("cohort")
    raw["teams"][2]["queues"]["high"][1]["lendingLimit"] = 1
    assert_issue(config_error(raw), "teams[2].queues.high[1].lendingLimit", "lending needs a cohort")
