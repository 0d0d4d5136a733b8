"""`--used` / `--running`: the workloads holding quota as Kueue's scheduler sees them (components/explain/
used.py): real per-pod requests, priority, admission time; nonsense refused with the entry and the fix.
Kueue v0.19.2 `preemption/common/ordering.go` CandidatesOrdering: among equal candidates the most recently
admitted (QuotaReserved time) is preempted first."""

from __future__ import annotations

import pytest

from components.explain import ADMITTED, UsedError, explain, from_capture, from_object, parse_used, parse_workloads
from components.explain.used import check_capacity
from test_explain import job

FULL_NODE = "gpu=2,cpu=20,memory=80Gi"


@pytest.fixture(scope="module")
def cluster(dev_capture):
    return from_capture(dev_capture)


def test_entry_carries_real_requests_priority_and_time(cluster):
    [w] = parse_used(["cq=team-a-low,flavor=l4-spot,pods=3,gpu=1,cpu=4,memory=16Gi,priority=high,admitted=30m,name=sweep"],
                     cluster, now=10_000.0)
    assert (w.name, w.cluster_queue, w.priority, w.admitted_at) == ("sweep", "team-a-low", 20, 10_000.0 - 1800)
    assert w.usage == {("l4-spot", "nvidia.com/gpu"): 3, ("l4-spot", "cpu"): 12_000, ("l4-spot", "memory"): 48 * 2**30}


def test_priority_defaults_to_the_queue_class(cluster):
    [w] = parse_used([f"cq=team-b-high,flavor=l4-reserved,{FULL_NODE}"], cluster)
    assert w.priority == 20


BAD = [
    ("old shorthand", "team-b-high=l4-reserved:2", "write key=value pairs with the per-pod requests, e.g. cq=team-b-high"),
    ("unknown queue", f"cq=team-z-high,flavor=l4-reserved,{FULL_NODE}", "no ClusterQueue 'team-z-high'; known: dws, "),
    ("unknown flavor", f"cq=team-a-high,flavor=a100,{FULL_NODE}",
     "ClusterQueue team-a-high has no flavor 'a100'; its flavors: l4-reserved, l4-ondemand"),
    ("unknown priority", f"cq=team-a-high,flavor=l4-reserved,{FULL_NODE},priority=urgent",
     "priority 'urgent' is no PriorityClass or WorkloadPriorityClass; known: compact, high, low, "),
    ("negative", "cq=team-a-high,flavor=l4-reserved,gpu=-2", "nvidia.com/gpu -2 is negative"),
    ("half a gpu", "cq=team-a-high,flavor=l4-reserved,gpu=0.5", "nvidia.com/gpu 0.5 is not a whole number"),
    ("not a quantity", "cq=team-a-high,flavor=l4-reserved,gpu=2,memory=lots", "memory 'lots' is not a Kubernetes quantity"),
    ("uncovered resource", "cq=team-a-high,flavor=l4-reserved,gpu=2,ephemeral-storage=1Gi",
     "'ephemeral-storage' is neither a key"),
    ("no requests", "cq=team-a-high,flavor=l4-reserved", "give the per-pod requests (gpu=, cpu=, memory=)"),
    ("zero pods", f"cq=team-a-high,flavor=l4-reserved,pods=0,{FULL_NODE}", "pods=0 must be between 1 and 100000"),
    ("bad time", f"cq=team-a-high,flavor=l4-reserved,{FULL_NODE},admitted=yesterday", "admitted 'yesterday'"),
    ("twice", "cq=team-a-high,cq=team-b-high,flavor=l4-reserved,gpu=2", "cq is given twice"),
]


@pytest.mark.parametrize("case, entry, message", BAD, ids=[c[0] for c in BAD])
def test_nonsense_is_refused_with_the_fix(cluster, case, entry, message):
    with pytest.raises(UsedError) as err:
        parse_used([entry], cluster)
    assert message in str(err.value) and str(err.value).startswith(f"--used {entry!r}")


def test_more_than_a_queue_could_ever_be_admitted_is_refused(cluster):
    """team-a-high may hold at most 4 reserved GPUs (nominal 2 + borrowingLimit 2): 64 is nonsense."""
    with pytest.raises(UsedError, match="64 nvidia.com/gpu in flavor l4-reserved of ClusterQueue team-a-high, more than it can"):
        check_capacity(parse_used(["cq=team-a-high,flavor=l4-reserved,gpu=64"], cluster), cluster)


def test_cohort_cannot_lend_more_than_it_has(cluster):
    """Each high queue may borrow up to 4 reserved GPUs, but the cohort holds 4 in all."""
    entries = [f"cq=team-a-high,flavor=l4-reserved,pods=2,{FULL_NODE}", f"cq=team-b-high,flavor=l4-reserved,pods=2,{FULL_NODE}"]
    with pytest.raises(UsedError, match="cohort team-a-b use 8 nvidia.com/gpu in flavor l4-reserved"):
        check_capacity(parse_used(entries, cluster), cluster)


def test_most_recently_admitted_equal_candidate_is_preempted(cluster):
    """Two low workloads borrow the reserved GPUs; on-demand is full; a high job reclaims one: the one
    admitted 5 minutes ago, not the one admitted 2 hours ago."""
    running = parse_used([f"cq=team-a-low,flavor=l4-reserved,{FULL_NODE},admitted=2h,name=old",
                          f"cq=team-b-low,flavor=l4-reserved,{FULL_NODE},admitted=5m,name=new",
                          f"cq=team-a-high,flavor=l4-ondemand,pods=4,{FULL_NODE}"], cluster, now=100_000.0)
    v = explain(cluster, from_object(job()), running)
    assert v.status == ADMITTED and v.flavor == "l4-reserved"
    assert [p.split(" ")[0] for p in v.preempts] == ["new"]


def _workload(name, cq, flavor, gpus, priority=None, reserved=None, admitted=True):
    wl = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload",
          "metadata": {"name": name, "namespace": "team-a", "creationTimestamp": "2026-01-01T09:00:00Z"},
          "spec": {"queueName": "low", "podSets": []}, "status": {}}
    if priority is not None:
        wl["spec"]["priority"] = priority
    if admitted:
        wl["status"]["admission"] = {"clusterQueue": cq, "podSetAssignments": [
            {"name": "main", "flavors": {"nvidia.com/gpu": flavor, "cpu": flavor},
             "resourceUsage": {"nvidia.com/gpu": str(gpus), "cpu": str(10 * gpus)}, "count": 1}]}
        wl["status"]["conditions"] = [{"type": "QuotaReserved", "status": "True",
                                       "lastTransitionTime": reserved or "2026-01-01T10:00:00Z"}]
    return wl


def test_running_workloads_as_kubectl_prints_them(cluster):
    listing = [{"apiVersion": "v1", "kind": "List", "items": [
        _workload("a", "team-a-low", "l4-spot", 4, priority=10, reserved="2026-01-01T10:00:00Z"),
        _workload("b", "team-a-low", "l4-spot", 2, admitted=False)]}]
    running, pending = parse_workloads(listing, cluster, "wl.yaml")
    assert pending == 1 and len(running) == 1
    w = running[0]
    assert (w.name, w.cluster_queue, w.priority) == ("a", "team-a-low", 10)
    assert w.usage == {("l4-spot", "nvidia.com/gpu"): 4, ("l4-spot", "cpu"): 40_000}
    assert w.admitted_at > w.created_at


def test_running_file_refuses_other_kinds_and_unknown_queues(cluster):
    with pytest.raises(UsedError, match="wl.yaml: Job is not a kueue.x-k8s.io Workload"):
        parse_workloads([{"kind": "Job"}], cluster, "wl.yaml")
    with pytest.raises(UsedError, match="Workload team-a/a: no ClusterQueue 'nope'"):
        parse_workloads([_workload("a", "nope", "l4-spot", 1)], cluster, "wl.yaml")


def test_cli_reads_running_workloads_and_refuses_nonsense(tmp_path, capsys, monkeypatch, dev_capture):
    import yaml

    from components.cli import main as cli
    monkeypatch.setattr("components.cli.stack.run_stack", lambda stack: dev_capture)
    jobfile, running = tmp_path / "job.yaml", tmp_path / "running.yaml"
    jobfile.write_text(yaml.safe_dump(job(queue="low", priority="low", gpus=2)))
    running.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [
        _workload("a", "team-a-high", "l4-reserved", 2), _workload("b", "team-b-high", "l4-reserved", 2),
        _workload("c", "team-a-low", "l4-reserved", 1, admitted=False)]}))
    assert cli(["explain", "dev", str(jobfile), "--running", str(running)]) == 0
    captured = capsys.readouterr()
    assert "admitted (cycle 1) on flavor l4-spot" in captured.out  # the reserved GPUs are taken
    assert "1 Workload(s) without quota reserved are left out" in captured.err
    assert cli(["explain", "dev", str(jobfile), "--used", "cq=team-a-high,flavor=l4-reserved,gpu=64"]) == 2
    assert "more than it can ever be admitted" in capsys.readouterr().err
