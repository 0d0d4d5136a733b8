"""Cost policy: a stack whose burst costs more than a budget set in its config.

The program prices the stack from its model and a dated price catalog (components/cost) and records the
envelope on a `gpu-batch:cost:CostEnvelope` resource; this policy compares the numbers found there with
the budgets recorded beside them. Advisory by default; make it mandatory with the pack config
`{"cost-within-budget": "mandatory"}` (`pulumi preview --policy-pack-config`).
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

from pulumi_policy import EnforcementLevel

from .building import stack_policy
from .stack import StackView
from .values import get

# One for the stack and one per team, each with its scope, burst, budget and completeness.
COST_TYPES = ("gpu-batch:cost:CostEnvelope", "gpu-batch:cost:TeamCost")


def _number(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _over(entry: Any) -> Optional[str]:
    budget, burst = _number(get(entry, "budgetMonthlyUsd")), _number(get(entry, "burstMonthlyUsd"))
    if budget is None or burst is None or burst <= budget:
        return None
    bound = "" if get(entry, "complete") is not False else "at least "
    return (f"{get(entry, 'scope')}: burst costs {bound}${burst:,.2f}/month, over its budget of ${budget:,.2f}/month "
            f"by ${burst - budget:,.2f}")


def _check_budgets(stack: StackView, config: dict) -> Iterator[tuple[str, Optional[str]]]:
    for resource in (r for t in COST_TYPES for r in stack.of_type(t)):
        message = _over(stack.props[resource.urn])
        if message:
            yield message, resource.urn


COST_WITHIN_BUDGET = stack_policy(
    "cost-within-budget",
    "A stack's monthly burst (every pool at its maximum, NAP at its limits) or a team's (its nominal quota "
    "plus every borrowing limit) must not cost more than the monthlyBudgetUsd set for it, priced from the "
    "dated catalog platform/catalog/prices.yaml. Fix: lower maxNodes, NAP maxGpus, quotas or borrowing "
    "limits, move capacity to spot, or raise the budget.",
    _check_budgets,
    enforcement_level=EnforcementLevel.ADVISORY,
)

POLICIES = [COST_WITHIN_BUDGET]
