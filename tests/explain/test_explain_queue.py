"""A file of many jobs simulated as Kueue's queues take them (components/explain/queue.py), against
Kueue v0.19.2: `pkg/cache/queue/cluster_queue.go` (order in a ClusterQueue: priority, then creation
time; RequeueIfNotPresent: StrictFIFO keeps the head, BestEffortFIFO sets it aside),
`pkg/scheduler/scheduler.go` (one head per ClusterQueue per cycle, each admission taking quota before
the next), and docs `concepts/cluster_queue.md` ("Older workloads that can't be admitted will block
newer workloads, even if the newer workloads fit in the available quota" for StrictFIFO).
"""

from __future__ import annotations

import pytest

from components.explain import ADMITTED, PENDING, from_capture, from_object, view
from components.explain.cluster import NodePool
from components.explain.queue import simulate
from components.explain.quota import Running
from components.model.catalog import machine_types
from test_explain import job


@pytest.fixture(scope="module")
def cluster(dev_capture):
    return from_capture(dev_capture)


def named(obj: dict, name: str, **meta) -> dict:
    obj["metadata"]["name"] = name
    obj["metadata"].update(meta)
    return obj


def test_sixteen_low_jobs_fill_the_quota_and_the_rest_wait(cluster):
    """team-a-low: reserved 0 + borrowingLimit 2, spot 12 + borrowingLimit 4. Sixteen 2-GPU jobs: one
    borrows reserved, eight take spot (12 own + 4 borrowed), seven wait - not sixteen "admitted"."""
    jobs = [from_object(named(job(queue="low", priority="low", gpus=2), f"low-{i}")) for i in range(16)]
    result = simulate(cluster, jobs, [])
    statuses = [v.status for v in result.verdicts]
    assert statuses == [ADMITTED] * 9 + [PENDING] * 7
    assert [v.flavor for v in result.verdicts[:9]] == ["l4-reserved"] + ["l4-spot"] * 8
    assert all("waits for quota in ClusterQueue team-a-low" in v.summary for v in result.verdicts[9:])
    assert result.usage == ["team-a-low l4-reserved: 2 of 0 nominal GPUs (borrowing 2)",
                            "team-a-low l4-spot: 16 of 12 nominal GPUs (borrowing 4)"]


def test_strict_fifo_head_blocks_the_queue(cluster):
    """The compact queue is StrictFIFO: a 4-GPU job that can never fit (nominal 2, no borrowing) blocks the
    1-GPU job created after it, though that one fits."""
    big = named(job(queue="compact", priority="compact", gpus=4,
                    nodeSelector={"cloud.google.com/gke-placement-group": "g1"}), "big")
    small = named(job(queue="compact", priority="compact", gpus=1,
                      nodeSelector={"cloud.google.com/gke-placement-group": "g2"}), "small")
    result = simulate(cluster, [from_object(big), from_object(small)], [])
    assert [v.status for v in result.verdicts] == [PENDING, PENDING]
    assert result.verdicts[1].summary == ("Job team-a/small waits behind Job team-a/big in StrictFIFO ClusterQueue "
                                          "team-a-compact")
    assert result.verdicts[1].fixes == ["fix or delete Job team-a/big; StrictFIFO admits nothing behind it until it runs"]


def test_best_effort_fifo_lets_a_later_job_past(cluster):
    """The low queue is BestEffortFIFO: the too-big head is set aside and the next job is admitted."""
    big = named(job(queue="low", priority="low", gpus=2, pods=10), "big")
    small = named(job(queue="low", priority="low", gpus=2), "small")
    result = simulate(cluster, [from_object(big), from_object(small)], [])
    assert [v.status for v in result.verdicts] == [PENDING, ADMITTED]


POOL = NodePool("gpu-pool", machine_types()["g2-standard-24"], {"cloud.google.com/gke-nodepool": "gpu-pool"}, (),
                10, "nvidia-l4", 2, physical_gpus=2)


def _queue_cluster(strategy="BestEffortFIFO", preemption=None):
    objs = [{"kind": "Namespace", "metadata": {"name": "ns"}},
            {"kind": "LocalQueue", "metadata": {"name": "q", "namespace": "ns"}, "spec": {"clusterQueue": "cq"}},
            {"kind": "ClusterQueue", "metadata": {"name": "cq"}, "spec": {
                "namespaceSelector": {}, "queueingStrategy": strategy, "preemption": preemption or {},
                "resourceGroups": [{"coveredResources": ["nvidia.com/gpu"], "flavors": [
                    {"name": "gpu", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": 2}]}]}]}},
            {"kind": "ResourceFlavor", "metadata": {"name": "gpu"}, "spec": {}},
            *({"kind": "PriorityClass", "metadata": {"name": n}, "value": v} for n, v in (("low", 1), ("high", 100)))]
    return view(objs, [POOL])


def _job(name, priority, created=None):
    meta = {"name": name, "namespace": "ns", "labels": {"kueue.x-k8s.io/queue-name": "q"}}
    if created:
        meta["creationTimestamp"] = created
    return from_object({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": {"template": {"spec": {
        "priorityClassName": priority, "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": "2"}}}]}}}})


def test_priority_orders_the_queue():
    """A high-priority job created later is the head: it takes the 2 GPUs, the earlier low one waits."""
    result = simulate(_queue_cluster(), [_job("first-low", "low"), _job("later-high", "high")], [])
    assert [v.status for v in result.verdicts] == [PENDING, ADMITTED]


def test_creation_timestamp_orders_equal_priorities():
    """Equal priority: the earlier metadata.creationTimestamp goes first, whatever the file order."""
    jobs = [_job("b", "low", "2026-01-01T10:00:05Z"), _job("a", "low", "2026-01-01T10:00:00Z")]
    result = simulate(_queue_cluster(), jobs, [])
    assert [v.status for v in result.verdicts] == [PENDING, ADMITTED]


def test_bad_creation_timestamp_is_refused():
    with pytest.raises(ValueError, match="creationTimestamp 'yesterday' of a: write an RFC 3339 time"):
        simulate(_queue_cluster(), [_job("a", "low", "yesterday")], [])


def test_preemption_then_admission_in_a_later_cycle():
    """A high job preempts the running low one (withinClusterQueue LowerPriority), then fits."""
    running = Running("old-low", "cq", {("gpu", "nvidia.com/gpu"): 2}, 1)
    result = simulate(_queue_cluster(preemption={"withinClusterQueue": "LowerPriority"}), [_job("new-high", "high")],
                      [running])
    v = result.verdicts[0]
    assert v.status == ADMITTED and "is admitted (cycle 2)" in v.summary
    assert v.preempts == ["old-low in cq (InClusterQueue)"] and result.evicted == ["old-low in cq"]


def test_cli_prints_each_verdict_and_the_quota_after_the_last_cycle(tmp_path, capsys, monkeypatch, dev_capture):
    import yaml

    from components.cli import main as cli
    monkeypatch.setattr("components.cli.stack.run_stack", lambda stack: dev_capture)
    path = tmp_path / "jobs.yaml"
    path.write_text(yaml.safe_dump_all([named(job(queue="low", priority="low", gpus=2, pods=8), f"sweep-{i}")
                                        for i in range(3)]))
    assert cli(["explain", "dev", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.count("ADMITTED: ") == 1 and out.count("PENDING: ") == 2
    assert "after the last scheduling cycle:\n  team-a-low l4-spot: 16 of 12 nominal GPUs (borrowing 4)" in out


def test_cli_refuses_a_job_file_with_a_duplicate_key(tmp_path, capsys, monkeypatch, dev_capture):
    from components.cli import main as cli
    monkeypatch.setattr("components.cli.stack.run_stack", lambda stack: dev_capture)
    path = tmp_path / "job.yaml"
    path.write_text("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: a\n  name: b\n")
    assert cli(["explain", "dev", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:5" in err and "name" in err


def test_the_documented_sweep_example_does_what_its_header_says(cluster):
    """docs/examples/explain-sweep.yaml (shown in README and docs/teams.md): four of eight admitted on l4-spot."""
    from components.explain import load_workload_file
    from components.capture import REPO
    source = REPO / "docs" / "examples" / "explain-sweep.yaml"
    result = simulate(cluster, [from_object(o) for o in load_workload_file(source.read_text(), str(source))], [])
    assert [v.status for v in result.verdicts] == [ADMITTED] * 4 + [PENDING] * 4
    assert {v.flavor for v in result.verdicts[:4]} == {"l4-spot"}
    assert result.usage == ["team-a-low l4-spot: 16 of 12 nominal GPUs (borrowing 4)"]
