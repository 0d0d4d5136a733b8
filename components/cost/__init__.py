"""Monthly cost of a platform before it exists: idle floor, burst, per-team quota cost, budgets, deltas.

Pure functions over the typed model and the price catalog (platform/catalog/prices.yaml).
"""

from .budget import BudgetCheck, budget_checks, cost_delta, format_delta
from .envelope import Envelope, Line, Total, gpu_month, stack_envelope
from .report import cost_json, cost_text
from .serving import ServingCost, serving_costs
from .teams import QuotaCost, TeamCost, quota_costs, team_costs

__all__ = [
    "BudgetCheck", "Envelope", "Line", "QuotaCost", "TeamCost", "Total", "budget_checks", "cost_delta",
    "cost_json", "cost_text", "format_delta", "gpu_month", "quota_costs", "ServingCost", "serving_costs",
    "stack_envelope", "team_costs",
]
