"""What each team's quota costs per month: its nominal GPUs and its borrowing limit, per flavor.

A GPU is priced as its share of the node it runs on (node price / GPUs per node), at the price model
its flavor bills with. Borrowing is capped by what the cohort can lend (the other queues' nominal
quota in that flavor, the same rule the model's checks apply), so an unset limit is priced at that cap.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Optional

from components.model import Platform, flavors
from components.model.derived import per_platform
from components.model.ledger import ledger
from components.model.prices import PriceCatalog, price_catalog

from .envelope import usd, gpu_month, price_model


@dataclass(frozen=True)
class QuotaCost:
    queue: str  # team/class, or "dws"
    flavor: str
    gpus: int
    borrowable: int
    gpu_month: Optional[float]  # None: unpriced
    spot_saving_per_gpu: Optional[float]  # 0 unless the flavor bills spot
    unpriced: str = ""

    @property
    def nominal(self) -> Optional[float]:
        return None if self.gpu_month is None else self.gpus * self.gpu_month

    @property
    def borrowing(self) -> Optional[float]:
        return None if self.gpu_month is None else self.borrowable * self.gpu_month

    def to_json(self) -> dict:
        return {"queue": self.queue, "flavor": self.flavor, "nominalGpus": self.gpus, "borrowableGpus": self.borrowable,
                "gpuMonthUsd": usd(self.gpu_month), "nominalMonthlyUsd": usd(self.nominal),
                "borrowingMonthlyUsd": usd(self.borrowing), **({"unpriced": self.unpriced} if self.unpriced else {})}


@dataclass(frozen=True)
class TeamCost:
    team: str
    quotas: tuple[QuotaCost, ...]
    budget: Optional[float]

    def _sum(self, attr: str) -> float:
        return sum(getattr(q, attr) or 0.0 for q in self.quotas if q.gpu_month is not None)

    @property
    def nominal(self) -> float:
        return self._sum("nominal")

    @property
    def borrowing(self) -> float:
        return self._sum("borrowing")

    @property
    def burst(self) -> float:
        """The most the team's queues can run at once: nominal quota plus every borrowing limit."""
        return self.nominal + self.borrowing

    @property
    def spot_saving(self) -> float:
        return sum(q.gpus * (q.spot_saving_per_gpu or 0.0) for q in self.quotas)

    @property
    def complete(self) -> bool:
        return all(q.gpu_month is not None for q in self.quotas)

    def to_json(self) -> dict:
        return {"team": self.team, "nominalMonthlyUsd": usd(self.nominal), "borrowingMonthlyUsd": usd(self.borrowing),
                "burstMonthlyUsd": usd(self.burst), "spotSavingMonthlyUsd": usd(self.spot_saving),
                "budgetMonthlyUsd": self.budget, "complete": self.complete,
                "quotas": [q.to_json() for q in self.quotas]}


def quota_costs(platform: Platform, catalog: Optional[PriceCatalog] = None) -> list[QuotaCost]:
    """One entry per quota the platform hands out (team queues and the shared DWS queue). With the shipped
    catalog, computed once per platform (the report, the picture, cost.json and the budgets all read it)."""
    return list(_priced_quotas(platform)) if catalog is None else _quota_costs(platform, catalog)


@per_platform
def _priced_quotas(platform: Platform) -> tuple[QuotaCost, ...]:
    return tuple(_quota_costs(platform, price_catalog()))


def _quota_costs(platform: Platform, catalog: PriceCatalog) -> list[QuotaCost]:
    all_flavors = flavors(platform)
    quotas = ledger(platform)
    out = []
    for use in quotas.entries:
        flavor = all_flavors[use.flavor]
        borrowable = quotas.borrowable(use)
        line = gpu_month(flavor, platform, catalog)
        saving = None
        if line.monthly is not None:
            saving = 0.0
            if price_model(flavor)[0] == "spot":
                on_demand = gpu_month(flavor, platform, catalog, "onDemand").monthly
                saving = None if on_demand is None else on_demand - line.monthly
        out.append(QuotaCost(use.owner, use.flavor, use.nominal, borrowable, line.monthly, saving, line.unpriced))
    return out


def team_costs(platform: Platform, catalog: Optional[PriceCatalog] = None) -> list[TeamCost]:
    by_team: dict[str, list[QuotaCost]] = defaultdict(list)
    for cost in quota_costs(platform, catalog):
        if cost.queue != "dws":
            by_team[cost.queue.split("/")[0]].append(cost)
    return [TeamCost(t.name, tuple(by_team[t.name]), t.monthly_budget_usd) for t in platform.teams]
