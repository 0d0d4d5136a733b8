"""The permanent end-to-end check: every workload a dev team can render is admitted by Kueue on the
flavor the queue design promises and lands on a node of the expected pool.

`explain` (components/explain) replays Kueue v0.19.2's admission and the scheduler's placement over
the objects the program would apply (captured under Pulumi mocks): a model or rendering change that
makes any example unadmittable or unplaceable fails here. The expectations are the README's queue
design, written out, not computed: high on reserved within its nominal quota; low on reserved by
borrowing the high queues' idle quota (cohort); compact on NAP-created compact-placement A100 nodes;
a two-node JobSet, too big for low's borrowable reserved quota, on spot; a one-container shared job on
the time-shared L4 pool (teams that opted into the shared queue); DWS after its admission check; a
model server's replica on its serving queue's on-demand flavor.
"""

from __future__ import annotations

import pytest

from components.explain import ADMITTED, explain, from_capture, from_object
from components.model import parse_platform
from components.capture import PROJECT
from components.workloads import kinds_for, render
from conftest import load_dev_platform_raw, load_stack_config

DEV = parse_platform(load_dev_platform_raw())
COHORT_HIGH = {"team-a": ["team-a-high", "team-b-high"], "team-b": ["team-a-high", "team-b-high"],
               "team-c": ["team-c-high", "team-d-high"], "team-d": ["team-c-high", "team-d-high"]}
EXPECTED = {
    # kind: (flavor, pool, borrows, admission checks)
    "high": ("l4-reserved", "l4-reserved", False, []),
    "low": ("l4-reserved", "l4-reserved", True, []),
    "compact": ("a100-compact-spot", "NAP a2-highgpu-1g", False, []),
    "jobset": ("l4-spot", "l4-spot", False, []),
    "shared": ("l4-shared", "l4-shared", False, []),
    "dws": ("l4-dws", "l4-dws", False, ["dws"]),
    # A model server's replica (Kueue's deployment integration: one plain-pod Workload per replica).
    "serving": ("l4-ondemand", "l4-ondemand", False, []),
}
KUEUE_KINDS = ("Job", "JobSet", "Deployment")


@pytest.fixture(scope="module")
def cluster(dev_capture):
    return from_capture(dev_capture)


def test_dev_teams_have_the_expected_kinds():
    whole = ["high", "low", "compact", "jobset"]
    assert {t.name: kinds_for(DEV, t) for t in DEV.teams} == {
        "team-a": whole + ["shared", "dws"], "team-b": whole + ["dws"],
        "team-c": whole + ["shared", "serving"], "team-d": whole + ["pipeline"]}


# A pipeline's step pods are explained step by step: tests/explain/test_explain_workflow.py.
@pytest.mark.parametrize("team, kind", [(t.name, k) for t in DEV.teams for k in kinds_for(DEV, t) if k != "pipeline"])
def test_rendered_workload_is_admitted_and_placed(cluster, team, kind):
    obj = next(o for o in render(DEV, team, kind) if o["kind"] in KUEUE_KINDS)
    verdict = explain(cluster, from_object(obj))
    flavor, pool, borrows, checks = EXPECTED[kind]
    assert verdict.status == ADMITTED, verdict.format()
    assert verdict.flavor == flavor, verdict.format()
    assert all(p.startswith(pool) for p in verdict.pools.values()) and verdict.pools, verdict.format()
    assert verdict.borrowing_from == (COHORT_HIGH[team] if borrows else []), verdict.format()
    assert verdict.admission_checks == checks
    assert verdict.preempts == []


def test_every_shipped_stack_admits_and_places_every_workload(stack_capture):
    """The same end-to-end guarantee for each shipped stack (dev, prod): whatever flavor the queues pick,
    no rendered workload of any team is left unadmittable or without a node."""
    platform = parse_platform(load_stack_config(stack_capture.stack)[f"{PROJECT}:platform"])
    cluster = from_capture(stack_capture)
    failed = []
    for team in platform.teams:
        for kind in (k for k in kinds_for(platform, team) if k != "pipeline"):
            obj = next(o for o in render(platform, team.name, kind) if o["kind"] in KUEUE_KINDS)
            verdict = explain(cluster, from_object(obj))
            if verdict.status != ADMITTED or not verdict.pools:
                failed.append(verdict.format())
    assert not failed, "\n\n".join(failed)
