"""`explain` on a fleet manager: which worker a dispatched job runs on, and why.

The rules restate kubernetes-sigs/kueue v0.19.2 site/content/en/docs/concepts/multikueue.md ("Job Flow",
"Workload Dispatching") and apis/config/v1beta2/defaults.go (the Incremental step of 3); see
components/explain/dispatch.py.
"""

from __future__ import annotations

import re
import shlex

from components.cli import main as cli
from components.explain.dispatch import Worker, explain_dispatch, rounds
from components.explain.simulate import ADMITTED, PENDING, Verdict
from conftest import REPO


def test_incremental_nominates_three_more_per_round_in_config_order():
    """multikueue.md "Incremental": "Initially, a batch of clusters (by default, up to 3) is selected from the
    start of that list" and "the next batch of clusters — again following the configured order — is
    incrementally added"; defaults.go: StepSize 3. "AllAtOnce (Default Mode)": copied to all workers."""
    order = ["w1", "w2", "w3", "w4", "w5"]
    assert rounds(order, "Incremental") == [["w1", "w2", "w3"], ["w1", "w2", "w3", "w4", "w5"]]
    assert rounds(order, "AllAtOnce") == [order]


class _Cluster:
    """The two manager objects explain_dispatch reads."""

    def __init__(self, workers):
        self.objs = {("AdmissionCheck", "multikueue"): {"spec": {
            "controllerName": "kueue.x-k8s.io/multikueue", "parameters": {"kind": "MultiKueueConfig", "name": "mk"}}},
            ("MultiKueueConfig", "mk"): {"spec": {"clusters": workers}}}

    def named(self, kind, name):
        return self.objs.get((kind, name))


def _manager(status=ADMITTED):
    return Verdict(status, "admitted here", admission_checks=["multikueue"])


def _worker(admits: set[str]):
    return lambda name: Worker(name, f"region-of-{name}", Verdict(ADMITTED if name in admits else PENDING, "..."))


def test_the_one_nominated_worker_that_admits_runs_it():
    lines = explain_dispatch(_Cluster(["w1", "w2"]), _manager(), "Incremental", _worker({"w2"}))
    assert lines[-1] == "    runs on: w2 (region-of-w2), the one nominated worker that admits it"


def test_a_later_worker_is_tried_only_after_five_minutes():
    """multikueue.md: "If none of the nominated clusters admit the Workload within a fixed duration (5 minutes),
    the next batch of clusters ... is incrementally added"."""
    lines = explain_dispatch(_Cluster(["w1", "w2", "w3", "w4"]), _manager(), "Incremental", _worker({"w4"}))
    assert "    round 2 (after 5 minutes without admission): nominated w1, w2, w3, w4" in lines
    assert lines[-1].startswith("    runs on: w4")


def test_several_admitting_workers_race():
    """multikueue.md "Job Flow" 2: "When a worker cluster admits one of these remote Workloads: The manager
    deletes the Workloads from the other clusters"."""
    lines = explain_dispatch(_Cluster(["w1", "w2"]), _manager(), "AllAtOnce", _worker({"w1", "w2"}))
    assert lines[-1] == "    runs on: whichever of w1, w2 admits it first; the manager then deletes the other copies"


def test_nothing_is_dispatched_before_quota_is_reserved_on_the_manager():
    """multikueue.md "Job Flow" 1: dispatching starts "When the Job's Workload obtains a QuotaReservation in
    the manager cluster"."""
    lines = explain_dispatch(_Cluster(["w1"]), _manager(PENDING), "Incremental", _worker({"w1"}))
    assert lines == ["  dispatch: none yet; MultiKueue copies it to a worker (w1) only once it holds quota here"]


def test_no_worker_admits_it():
    lines = explain_dispatch(_Cluster(["w1"]), _manager(), "Incremental", _worker(set()))
    assert lines[-1] == "    runs on: no worker admits it now; it waits on the manager with its quota reserved"


def test_a_queue_without_the_multikueue_check_is_not_dispatched():
    verdict = Verdict(ADMITTED, "admitted here", admission_checks=["dws"])
    assert explain_dispatch(_Cluster(["w1"]), verdict, "Incremental", _worker({"w1"})) == []


FLEET_DOC = REPO / "docs" / "operating.md"  # "Scaling out to several regions"


def _doc_fleet_commands() -> list[list[str]]:
    doc = FLEET_DOC.read_text()
    section = doc[doc.index("## Scaling out to several regions"):]
    section = section[: section.index("\n## ", 1)]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [shlex.split(line.split("#")[0])[3:] for line in block.splitlines() if "components.cli" in line]


def test_the_documented_fleet_commands_run_verbatim(capsys):
    commands = _doc_fleet_commands()
    assert [c[:2] for c in commands] == [["plan", "fleet-worker-eu"], ["plan", "fleet-manager"],
                                         ["explain", "fleet-manager"], ["cost", "fleet-worker-eu"]]
    doc = FLEET_DOC.read_text()
    for args in commands:
        if args[0] == "plan":
            continue  # tests/kubernetes/test_fleet.py plans both stacks with the CLI
        code = cli(args)
        out = capsys.readouterr().out
        if args[0] == "explain":
            assert code == 0
            assert "    runs on: worker-eu (europe-west4), the one nominated worker that admits it" in out
            assert "once a worker admits it (admission check multikueue); its pods run on that worker" in out
        else:
            idle = re.search(r"Idle floor \(no job running\): (\$[\d,.]+)/month", out).group(1)
            assert f"**{idle}/month**" in doc, "docs/operating.md 'Scaling out to several regions' states another idle floor"
            assert f"a worker costs **{idle}/month** idle" in (FLEET_DOC.parents[1] / "README.md").read_text(), \
                "the README's 'Pipelines, model servers, more regions' states another idle floor"
            rate = re.search(r"read their team buckets in us-central1 at (\$[\d.]+/GiB)", out).group(1)
            assert f"**{rate}** from us-central1 to europe-west4" in doc, "the doc states another transfer rate"


def test_a_class_the_manager_keeps_is_explained_without_dispatch(capsys):
    assert cli(["explain", "fleet-manager", "--team", "team-a", "--kind", "high"]) == 0
    assert "dispatch:" not in capsys.readouterr().out
