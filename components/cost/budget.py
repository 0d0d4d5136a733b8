"""Budgets and deltas: the numbers a reviewer compares. Pure functions over the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from components.model import Platform
from components.model.prices import PriceCatalog

from .envelope import stack_envelope, usd
from .teams import team_costs


@dataclass(frozen=True)
class BudgetCheck:
    scope: str  # "stack" or "team <name>"
    budget: float
    burst: float
    complete: bool  # False: burst is a lower bound (some line is unpriced)

    @property
    def over(self) -> bool:
        return self.burst > self.budget

    def message(self) -> str:
        bound = "at least " if not self.complete else ""
        verdict = f"exceeds it by ${self.burst - self.budget:,.2f}" if self.over else "fits"
        return f"{self.scope}: burst {bound}${self.burst:,.2f}/month vs budget ${self.budget:,.2f}/month: {verdict}"

    def to_json(self) -> dict:
        return {"scope": self.scope, "budgetMonthlyUsd": self.budget, "burstMonthlyUsd": usd(self.burst),
                "complete": self.complete, "over": self.over}


def budget_checks(platform: Platform, catalog: Optional[PriceCatalog] = None) -> list[BudgetCheck]:
    """One check per budget the model sets: the stack's burst, and each team's quota burst."""
    checks = []
    if platform.monthly_budget_usd is not None:
        env = stack_envelope(platform, catalog=catalog)
        checks.append(BudgetCheck("stack", platform.monthly_budget_usd, env.burst.monthly, env.burst.complete))
    for team in team_costs(platform, catalog):
        if team.budget is not None:
            checks.append(BudgetCheck(f"team {team.team}", team.budget, team.burst, team.complete))
    return checks


def cost_delta(old_platform: Platform, new_platform: Platform, catalog: Optional[PriceCatalog] = None) -> dict:
    """Monthly idle floor and burst before and after a change, and the difference (for the plan diff)."""
    old, new = stack_envelope(old_platform, catalog=catalog), stack_envelope(new_platform, catalog=catalog)
    out = {}
    for key in ("idle", "burst"):
        before, after = getattr(old, key), getattr(new, key)
        out[key] = {"beforeMonthlyUsd": usd(before.monthly), "afterMonthlyUsd": usd(after.monthly),
                    "deltaMonthlyUsd": usd(after.monthly - before.monthly),
                    "complete": before.complete and after.complete}
    return out


def format_delta(delta: dict) -> list[str]:
    lines = []
    for key, label in (("idle", "idle floor"), ("burst", "burst")):
        d = delta[key]
        bound = "" if d["complete"] else " (lower bound: some lines unpriced)"
        lines.append(f"{label}: ${d['beforeMonthlyUsd']:,.2f} -> ${d['afterMonthlyUsd']:,.2f}/month "
                     f"({d['deltaMonthlyUsd']:+,.2f}){bound}")
    return lines
