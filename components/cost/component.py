"""The cost envelope as resources, so the policy pack (which sees resources, never the model) can check
budgets at `pulumi preview`. They create nothing in the cloud: one for the stack, one per team (so a
new team adds its own and changes no other)."""

from __future__ import annotations

import pulumi

from components.model import Platform

from .envelope import stack_envelope, usd
from .teams import team_costs

STACK_TYPE = "gpu-batch:cost:CostEnvelope"
TEAM_TYPE = "gpu-batch:cost:TeamCost"


def stack_props(platform: Platform) -> dict:
    """What the pack's cost-within-budget policy reads (policies/gpu_batch_policies/cost.py)."""
    env = stack_envelope(platform)
    return {"scope": "stack", "currency": "USD", "idleMonthlyUsd": usd(env.idle.monthly),
            "burstMonthlyUsd": usd(env.burst.monthly), "complete": env.burst.complete,
            "budgetMonthlyUsd": platform.monthly_budget_usd}


def team_props(platform: Platform) -> dict[str, dict]:
    return {t.team: {"scope": f"team {t.team}", "currency": "USD", "nominalMonthlyUsd": usd(t.nominal),
                     "borrowingMonthlyUsd": usd(t.borrowing), "burstMonthlyUsd": usd(t.burst),
                     "complete": t.complete, "budgetMonthlyUsd": t.budget}
            for t in team_costs(platform)}


class _Recorded(pulumi.ComponentResource):
    def __init__(self, type_: str, name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_, name, props, opts)
        self.register_outputs(props)  # as outputs too: stack policies read a resource's outputs


class CostEnvelope(_Recorded):
    def __init__(self, name: str, platform: Platform, opts: pulumi.ResourceOptions | None = None):
        super().__init__(STACK_TYPE, name, stack_props(platform), opts)
        child = pulumi.ResourceOptions(parent=self)
        for team, props in team_props(platform).items():
            _Recorded(TEAM_TYPE, f"{name}-{team}", props, child)
