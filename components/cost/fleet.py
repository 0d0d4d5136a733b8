"""What a fleet adds to a stack's cost: each worker's idle floor (a second cluster that costs its control
plane, system node and NAT before any job is dispatched to it) and the Cloud Storage data transfer of the
dispatched jobs, which read their team bucket in the manager's region (docs/design.md "Data across
regions"). The transfer is a rate per GiB read, never part of the monthly totals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from components.model import Platform, fleet
from components.model.fleet_agreement import worker_platforms
from components.model.prices import PriceCatalog, Unpriced

from .envelope import stack_envelope, usd


@dataclass(frozen=True)
class WorkerCost:
    name: str  # the worker's MultiKueue name, or its stack on the worker's own side
    stack: str
    region: str
    idle: Optional[float]  # its idle floor per month; None: its stack file is not in the checkout
    bucket_region: str  # where its jobs' team buckets are (the manager's region)
    per_gib: Optional[float]  # Cloud Storage transfer per GiB read; None: unpriced
    unpriced: str = ""
    evidence: str = ""

    def to_json(self) -> dict:
        return {"worker": self.name, "stack": self.stack, "region": self.region, "idleMonthlyUsd": usd(self.idle),
                "bucketRegion": self.bucket_region, "transferPerGiBUsd": self.per_gib,
                **({"unpriced": self.unpriced} if self.unpriced else {}), "evidence": self.evidence}


def _transfer(catalog: PriceCatalog, bucket_region: str, region: str) -> tuple[Optional[float], str, str]:
    try:
        price = catalog.storage_transfer(bucket_region, region)
    except Unpriced as err:
        return None, f"{err.reason} (fix: {err.fix})", ""
    return price.value, "", f"{price.provenance.evidence} {price.provenance.date}"


def fleet_costs(platform: Platform, stack: str, catalog: PriceCatalog) -> list[WorkerCost]:
    """A worker: itself. A manager: each worker whose stack file is in the checkout. Otherwise []."""
    if fleet.role(platform) == "worker":
        manager = fleet.manager_platform(platform)
        floor = stack_envelope(platform, stack, catalog).idle
        return [WorkerCost(stack, stack, platform.region, floor.monthly, manager.region,
                           *_transfer(catalog, manager.region, platform.region))]
    out = []
    for worker, found in worker_platforms(platform).items():
        idle = stack_envelope(found, worker.stack, catalog).idle.monthly if found else None
        region = found.region if found else "?"
        price = _transfer(catalog, platform.region, region) if found else (None, "its stack file is not here", "")
        out.append(WorkerCost(worker.name, worker.stack, region, idle, platform.region, *price))
    return out


def fleet_lines(platform: Platform, stack: str, catalog: PriceCatalog) -> list[str]:
    costs = fleet_costs(platform, stack, catalog)
    if not costs:
        return []
    money = lambda v: "UNPRICED" if v is None else f"${v:,.2f}"  # noqa: E731
    rate = lambda c: (f"${c.per_gib:.2f}/GiB read ({c.evidence} price)" if c.per_gib is not None  # noqa: E731
                      else f"UNPRICED ({c.unpriced})")
    if fleet.role(platform) == "worker":
        (c,) = costs
        return ["", f"Fleet (MultiKueue worker of stack {platform.fleet.manager.stack}, {c.bucket_region}):",
                f"  idle floor of this worker: {money(c.idle)}/month, paid whether or not work is dispatched to it",
                f"  data across regions: dispatched jobs read their team buckets in {c.bucket_region} at {rate(c)}; "
                "not in the totals"]
    out = ["", "Fleet (MultiKueue manager; each worker is its own stack and bill):"]
    for c in costs:
        out.append(f"  {c.name} ({c.stack}, {c.region}): idle floor {money(c.idle)}/month; its jobs read this "
                   f"stack's team buckets at {rate(c)}")
    known = [c.idle for c in costs if c.idle is not None]
    out.append(f"  the workers' idle floors together: {money(sum(known))}/month on top of this stack's"
               + ("" if len(known) == len(costs) else " (lower bound: a worker's stack file is missing)"))
    return out
