"""The objects a team really has: lendingLimit in explain's arithmetic (Kueue v0.19.2
`pkg/cache/scheduler/resource_node.go`: a queue's `localQuota` = nominal - lendingLimit is never lent;
preemption_test.go "reclaim quota from lender" and neighbours are in test_explain_preemption.py), the
same ceiling as the model's quota ledger, what-if objects, and partial admission said "not modelled"
(docs tasks/run/jobs.md "Partial admission")."""

from __future__ import annotations

import copy

import pytest

from components.explain import ADMITTED, PENDING, explain, from_capture, from_object
from components.explain.cluster import WhatIfError, with_objects
from components.explain.quota import Queue
from components.explain.simulate import quotas_of
from components.kubernetes import render
from components.model import parse_platform
from components.model.ledger import ledger
from conftest import load_dev_platform_raw
from test_explain import job

GPU = "nvidia.com/gpu"


@pytest.fixture(scope="module")
def cluster(dev_capture):
    return from_capture(dev_capture)


@pytest.mark.parametrize("lending", [None, 1, 2])
def test_explain_and_the_quota_ledger_agree_on_every_ceiling(lending):
    """explain works on rendered ClusterQueues, the model's ledger on the config: the most each queue can
    ever hold in each flavor (Kueue's potentialAvailable) must be the same number, with and without a
    lendingLimit on team-a's reserved high quota (team-b's borrowingLimit lowered to what is lent, as
    the model's checks require)."""
    raw = load_dev_platform_raw()
    if lending is not None:
        raw["teams"][0]["queues"]["high"][0]["lendingLimit"] = lending
        raw["teams"][1]["queues"]["high"][0]["borrowingLimit"] = lending
    platform = parse_platform(raw)
    cqs = [cq for team in platform.teams for cq in render.team_cluster_queues(platform, team)]
    quotas = quotas_of(from_capture_free(cqs), [])
    book = ledger(platform)
    checked = 0
    for entry in book.entries:
        if entry.team is None:
            continue
        q = quotas.queues[f"{entry.team}-{entry.queue_class}"]
        assert quotas.potential(q, (entry.flavor, GPU)) == book.ceiling(entry), entry.path
        checked += 1
    assert checked > 20


def from_capture_free(objs):
    from components.explain import view
    return view(objs)


def _override(cluster, name: str, flavor: str, **limits) -> dict:
    cq = copy.deepcopy(cluster.named("ClusterQueue", name))
    for f in cq["spec"]["resourceGroups"][0]["flavors"]:
        if f["name"] == flavor:
            for r in f["resources"]:
                r.update({k: (v if r["name"] == GPU else "0") for k, v in limits.items()})
    return cq


def test_lending_limit_keeps_quota_from_the_cohort(cluster):
    """With both high queues lending none of their reserved GPUs, team-a-low (nominal 0 there) cannot
    borrow them: its low job goes to spot, and the trace says reserved's maximum capacity is 0."""
    what_if = with_objects(cluster, [_override(cluster, "team-a-high", "l4-reserved", lendingLimit="0"),
                                     _override(cluster, "team-b-high", "l4-reserved", lendingLimit="0")], "what-if.yaml")
    v = explain(what_if, from_object(job(queue="low", priority="low")))
    assert v.status == ADMITTED and v.flavor == "l4-spot", v.format()
    assert any("flavor l4-reserved: NoFit" in t and "insufficient quota for nvidia.com/gpu in flavor l4-reserved, "
               "previously considered podsets requests (0) + current podset request (2) > maximum capacity (0)" in t
               for t in v.trace)
    assert explain(cluster, from_object(job(queue="low", priority="low"))).flavor == "l4-reserved"  # the stack as is


def test_a_lent_quota_is_still_the_lenders_own(cluster):
    """lendingLimit 1 of 2: the high queue itself still holds its whole nominal 2 (local quota + lent part)."""
    what_if = with_objects(cluster, [_override(cluster, "team-a-high", "l4-reserved", lendingLimit="1")], "w.yaml")
    q = Queue.from_object(what_if.named("ClusterQueue", "team-a-high"))
    quotas = quotas_of(what_if, [])
    assert quotas.available(q, ("l4-reserved", GPU)) == 4  # 1 kept + the cohort's 3 lendable (1 + team-b's 2)
    assert quotas.potential(q, ("l4-reserved", GPU)) == 4


def test_what_if_workload_priority_class(cluster):
    wpc = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "WorkloadPriorityClass", "metadata": {"name": "urgent"},
           "value": 50}
    obj = job()
    obj["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] = "urgent"
    assert explain(cluster, from_object(obj)).status == PENDING  # no such class on the stack: no Workload
    v = explain(with_objects(cluster, [wpc], "w.yaml"), from_object(obj))
    assert v.status == ADMITTED and "priority 50 (WorkloadPriorityClass urgent)" in "\n".join(v.trace)


def test_what_if_local_queue_points_a_team_at_another_cluster_queue(cluster):
    lq = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "extra", "namespace": "team-a"},
          "spec": {"clusterQueue": "team-b-high"}}
    v = explain(with_objects(cluster, [lq], "w.yaml"), from_object(job(queue="extra")))
    assert v.status == PENDING and "doesn't match ClusterQueue team-b-high's selector" in v.summary


BAD_WHAT_IF = [
    ("a Deployment", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}},
     "w.yaml: document 1 is Deployment; what-if objects are ClusterQueue, LocalQueue"),
    ("no name", {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {}}, "has no metadata.name"),
    ("LocalQueue without namespace", {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "q"},
                                      "spec": {"clusterQueue": "x"}}, "LocalQueue q needs metadata.namespace"),
    ("lending without a cohort", {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "x"},
                                  "spec": {"resourceGroups": [{"coveredResources": [GPU], "flavors": [{"name": "f", "resources": [
                                      {"name": GPU, "nominalQuota": 2, "lendingLimit": 1}]}]}]}},
     "lendingLimit: Invalid value 1: must be nil when cohort is empty"),
    # cel-python raises TypeError for a macro over an int: a refusal naming the rule, never a traceback.
    ("lists given as numbers", {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "x"},
                                "spec": {"cohortName": "c", "resourceGroups": [{"coveredResources": 5, "flavors": 3}]}},
     "flavors: 3 is not of type 'array'"),
    # A rule's all() over a string ran out of memory before the rules stopped at a type failure (API server's order).
    ("flavors as a long string", {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "x"},
                                  "spec": {"cohortName": "c", "resourceGroups": [{"coveredResources": ["cpu"],
                                                                                  "flavors": "e" * 300}]}},
     "some validation rules were not checked because the object was invalid"),
]


@pytest.mark.parametrize("case, obj, message", BAD_WHAT_IF, ids=[c[0] for c in BAD_WHAT_IF])
def test_what_if_objects_are_checked(cluster, case, obj, message):
    with pytest.raises(WhatIfError) as err:
        with_objects(cluster, [obj], "w.yaml")
    assert message in str(err.value)


def test_partial_admission_is_said_not_modelled(cluster):
    obj = job(queue="low", priority="low", gpus=2, pods=20)
    obj["metadata"]["annotations"] = {"kueue.x-k8s.io/job-min-parallelism": "2"}
    v = explain(cluster, from_object(obj))
    assert v.status == PENDING
    assert any(r.startswith("not modelled: partial admission (kueue.x-k8s.io/job-min-parallelism: 2)") for r in v.reasons)
    assert not any("partial admission" in r for r in explain(cluster, from_object(job())).reasons)


def test_cli_what_if_objects(tmp_path, capsys, monkeypatch, dev_capture, cluster):
    import yaml

    from components.cli import main as cli
    monkeypatch.setattr("components.cli.stack.run_stack", lambda stack: dev_capture)
    jobfile, objects = tmp_path / "job.yaml", tmp_path / "what-if.yaml"
    jobfile.write_text(yaml.safe_dump(job(queue="low", priority="low")))
    objects.write_text(yaml.safe_dump_all([_override(cluster, "team-a-high", "l4-reserved", lendingLimit="0"),
                                           _override(cluster, "team-b-high", "l4-reserved", lendingLimit="0")]))
    assert cli(["explain", "dev", str(jobfile), "--objects", str(objects)]) == 0
    assert "on flavor l4-spot" in capsys.readouterr().out
    objects.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}))
    assert cli(["explain", "dev", str(jobfile), "--objects", str(objects)]) == 2
    assert "document 1 is Secret" in capsys.readouterr().err
