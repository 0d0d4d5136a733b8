"""Bad configs that would break the Kubernetes layer: each is caught at the edge with path and fix."""

from __future__ import annotations

import pytest

from conftest import assert_issue, config_error


def team(p, i=0):
    return p["teams"][i]


CASES = [
    ("kueue version without vendored schemas", lambda p: p.setdefault("versions", {}).update(kueue="0.20.0"),
     "versions.kueue", "no vendored CRD schemas"),
    ("jobset version range", lambda p: p.setdefault("versions", {}).update(jobset="^0.12"),
     "versions.jobset", "exact release version"),
    ("team in kube-system", lambda p: team(p).update(name="kube-system"), "teams[0].name", "system namespace"),
    ("team in the monitoring namespace", lambda p: team(p).update(name="monitoring"), "teams[0].name", "system namespace"),
    ("team in default", lambda p: team(p).update(name="default"), "teams[0].name", "system namespace"),
    ("uppercase team name", lambda p: team(p).update(name="TeamA"), "teams[0].name", "lowercase letters, digits and '-'"),
    ("cohort not a DNS name", lambda p: team(p).update(cohort="Team_A"), "teams[0].cohort", "lowercase letters, digits and '-'"),
    ("pods-ready timeout too short", lambda p: p.setdefault("kueue", {}).update(podsReadyTimeoutMinutes=1),
     "kueue.podsReadyTimeoutMinutes", "must be at least 5"),
    ("typo in kueue settings", lambda p: p.setdefault("kueue", {}).update(podsReadyTimeout=30),
     "kueue.podsReadyTimeout", "unknown key"),
    ("compact quota over NAP allowance", lambda p: team(p)["queues"]["compact"][0].update(gpus=12),
     "teams[0].queues.compact[0].gpus", "over-subscribed"),
    ("DWS queue over its pool", lambda p: p["dws"].update(gpus=20), "dws.gpus", "over-subscribed"),
    ("compact class on a static pool", lambda p: team(p)["queues"]["compact"].__setitem__(0, {"flavor": "l4-spot", "gpus": 2}),
     "teams[0].queues.compact[0].flavor", "the compact class may only use compact"),
    ("high class on the DWS pool", lambda p: team(p)["queues"]["high"].append({"flavor": "l4-dws", "gpus": 2}),
     "teams[0].queues.high[2].flavor", "is dws capacity"),
    ("low class on the NAP shape", lambda p: team(p)["queues"]["low"].append({"flavor": "a100-compact-spot", "gpus": 1}),
     "teams[0].queues.low[2].flavor", "is compact capacity"),
    ("flavor listed twice in one queue", lambda p: team(p)["queues"]["low"].append({"flavor": "l4-spot", "gpus": 0}),
     "teams[0].queues.low[2].flavor", "listed twice"),
    ("unreachable compact borrowing", lambda p: team(p)["queues"]["compact"][0].update(borrowingLimit=9),
     "teams[0].queues.compact[0].borrowingLimit", "can never be borrowed"),
    ("negative quota", lambda p: team(p)["queues"]["low"][1].update(gpus=-1),
     "teams[0].queues.low[1].gpus", "must be at least 0"),
    ("unknown GPU driver channel", lambda p: p.setdefault("versions", {}).update(gpuDriver="R535"),
     "versions.gpuDriver", "is not one of DEFAULT, LATEST"),
    ("granted DWS without a dws section", lambda p: p.pop("dws"), "teams[0].dws", "no dws section"),
    ("NAP shape on a CPU machine", lambda p: p["nodeAutoProvisioning"]["shapes"][0].update(machineType="e2-standard-8"),
     "nodeAutoProvisioning.shapes[0].accelerator.type", "carries no GPU"),
]


@pytest.mark.parametrize("mutate,path,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rejected_with_path_and_message(dev_platform_raw, mutate, path, message):
    mutate(dev_platform_raw)
    assert_issue(config_error(dev_platform_raw), path, message)


def test_over_subscription_names_the_numbers(dev_platform_raw):
    dev_platform_raw["teams"][0]["queues"]["compact"][0]["gpus"] = 12
    err = config_error(dev_platform_raw)
    (issue,) = [i for i in err.issues if "over-subscribed" in i.message]
    assert "sum to 18 GPUs" in issue.message and "supplies 16" in issue.message and "team-a/compact 12" in issue.message
    assert issue.fix == "lower the quotas by 2 GPUs or grow the pool"
