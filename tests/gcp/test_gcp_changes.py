"""What an everyday config edit does to the existing GCP stack (real program, mock runtime): adding a team,
changing quotas, adding a pool must add resources, never replace the cluster or rename anything."""

from __future__ import annotations


import pytest

from components.model import parse_platform
from conftest import add_fifth_team, load_dev_platform_raw, run_with
from gcp_support import NODE_POOL, PROJECT, WI_MEMBER, pool, resource_limits, team_email, the_cluster

def change_quotas(raw: dict) -> None:
    raw["teams"][0]["queues"]["low"][1]["gpus"] = 8
    raw["teams"][1]["queues"]["high"][1]["gpus"] = 6
    raw["dws"]["gpus"] = 8


def add_a100_pool(raw: dict) -> None:
    raw["gpuPools"].append({
        "name": "a100-ondemand", "machineType": "a2-highgpu-2g",
        "accelerator": {"type": "nvidia-tesla-a100", "count": 2}, "provisioning": "on-demand", "maxNodes": 3,
    })


# Existing resources whose inputs may change when team-e is added. NAP limits are pool-driven, so
# the cluster must not be here; extend only with a reason a reviewer would accept.
JUSTIFIED_CHANGES_FOR_NEW_TEAM: set[str] = set()


def test_new_team_fits_capacity():
    raw = load_dev_platform_raw()
    add_fifth_team(raw)
    parse_platform(raw)


def test_adding_a_team_only_adds_that_teams_resources(dev_capture):
    after = run_with(add_fifth_team)
    before_by_urn, after_by_urn = dev_capture.by_urn(), after.by_urn()
    assert set(before_by_urn) <= set(after_by_urn), "adding a team must not delete or rename anything"
    new = set(after_by_urn) - set(before_by_urn)
    assert new, "team-e got no resources"
    assert [u for u in new if "team-e" not in u] == []
    changed = {
        before_by_urn[u].name for u in before_by_urn if before_by_urn[u].inputs != after_by_urn[u].inputs
    }
    assert changed == JUSTIFIED_CHANGES_FOR_NEW_TEAM
    # The new team gets its identity like the others.
    email = team_email(after, "team-e")
    assert after.stack_outputs["teamServiceAccounts"]["team-e"] == email
    members = {r.inputs["member"] for r in after.of_type(WI_MEMBER)}
    assert f"serviceAccount:{PROJECT}.svc.id.goog[team-e/team-e-ksa]" in members


def test_adding_a_pool_raises_the_nap_limit_of_its_accelerator(dev_capture):
    after = run_with(add_a100_pool)
    before_limits, after_limits = resource_limits(dev_capture), resource_limits(after)
    assert after_limits["nvidia-tesla-a100"]["maximum"] == before_limits["nvidia-tesla-a100"]["maximum"] + 3 * 2
    assert after_limits["nvidia-l4"] == before_limits["nvidia-l4"]
    new_pool = pool(after, "a100-ondemand")
    assert new_pool.inputs["autoscaling"]["totalMinNodeCount"] == 0
    assert new_pool.inputs["nodeConfig"]["reservationAffinity"] == {"consumeReservationType": "NO_RESERVATION"}


# Inputs whose change would replace a GKE cluster (ForceNew in the provider).
CLUSTER_IDENTITY = ("name", "location", "network", "subnetwork", "privateClusterConfig", "ipAllocationPolicy",
                    "workloadIdentityConfig")


@pytest.mark.parametrize("mutate", [add_fifth_team, change_quotas, add_a100_pool], ids=["added-team", "changed-quotas", "added-pool"])
def test_everyday_edits_never_replace_the_cluster_or_rename_anything(dev_capture, mutate):
    after = run_with(mutate)
    before_cluster, after_cluster = the_cluster(dev_capture), the_cluster(after)
    assert after_cluster.urn == before_cluster.urn
    for key in CLUSTER_IDENTITY:
        assert after_cluster.inputs[key] == before_cluster.inputs[key], key
    missing = set(dev_capture.by_urn()) - set(after.by_urn())
    assert not missing, f"these resources would be deleted: {sorted(missing)}"
    for r in dev_capture.of_type(NODE_POOL):
        assert after.by_urn()[r.urn].inputs["name"] == r.inputs["name"]
