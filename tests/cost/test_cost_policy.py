"""Budgets through the policy pack: the program records its cost envelope on `gpu-batch:cost:*`
resources and the pack's `cost-within-budget` compares each burst with its budget.

Enforcement as pulumi-policy defines it (pulumi_policy.EnforcementLevel; the CLI's
`--policy-pack-config` sets a policy's level): an advisory violation is reported and the preview goes
on, a mandatory one fails it, which the offline runner turns into exit code 1.
"""

from __future__ import annotations

import copy

import pytest

from components.capture import Capture
from policies.runner import run_policies
from policies.gpu_batch_policies import POLICIES
from conftest import run_with

POLICY = [p for p in POLICIES if p.name == "cost-within-budget"]


def with_budgets(platform: dict) -> None:
    platform["monthlyBudgetUsd"] = 100000             # dev burst $91,584.95: fits
    platform["teams"][0]["monthlyBudgetUsd"] = 10000  # team-a burst $17,332.90 (with its shared queue): over
    platform["teams"][1]["monthlyBudgetUsd"] = 20000  # team-b: fits


@pytest.fixture(scope="module")
def budgeted() -> Capture:
    return run_with(with_budgets)


def test_over_budget_team_is_reported_with_the_numbers_and_the_rest_pass(budgeted):
    report = run_policies(budgeted, POLICY)
    (violation,) = report.for_policy("cost-within-budget")
    assert violation.message == "team team-a: burst costs $17,332.90/month, over its budget of $10,000.00/month by $7,332.90"
    assert violation.urn.endswith("gpu-batch:cost:TeamCost::cost-team-a")
    assert violation.enforcement == "advisory" and report.exit_code == 0


def test_mandatory_when_configured(budgeted):
    report = run_policies(budgeted, POLICY, {"cost-within-budget": {"enforcementLevel": "mandatory"}})
    assert [v.enforcement for v in report.for_policy("cost-within-budget")] == ["mandatory"]
    assert report.exit_code == 1


def test_stack_over_budget_and_lower_bound(budgeted):
    """A stack envelope over its budget is reported; an incomplete one (unpriced lines) says its burst
    is a lower bound."""
    capture = copy.deepcopy(budgeted)
    (stack,) = [r for r in capture.resources if r.type == "gpu-batch:cost:CostEnvelope"]
    stack.outputs = {**stack.outputs, "budgetMonthlyUsd": 50000, "complete": False}
    messages = [v.message for v in run_policies(capture, POLICY).for_policy("cost-within-budget")]
    assert "stack: burst costs at least $91,584.95/month, over its budget of $50,000.00/month by $41,584.95" in messages
