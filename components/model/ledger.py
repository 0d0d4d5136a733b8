"""The quota ledger: what every ClusterQueue owns, lends and can ever hold per flavor, by Kueue's rules.

One formula for "the most a queue (or a team) can hold", read by the checks, the team ResourceQuota,
cost and the workloads' sizing. It is Kueue's own arithmetic for a flat cohort (kubernetes-sigs/kueue
v0.19.2 pkg/cache/scheduler/resource_node.go, `potentialAvailable` with `guaranteedQuota`):
- a queue lends `lendable = min(nominal, lendingLimit)` (all of its nominal without a lending limit)
  and keeps `guaranteed = nominal - lendable` for itself;
- a cohort's pool in a flavor is the sum of its queues' lendable quota;
- a queue can hold at most `guaranteed + cohort pool`, capped at `nominal + borrowingLimit`, that is
  `nominal + min(borrowingLimit, what the other queues lend)`; without a cohort, its nominal quota.
Quotas count `nvidia.com/gpu` units (shared units on a sharing flavor).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Optional

from .derived import per_platform
from .priorities import DWS
from .schema import Platform, Team


@dataclass(frozen=True)
class QueueQuota:
    """One ClusterQueue's quota in one flavor."""

    path: str  # config path of the quota entry, e.g. teams[0].queues.high[1] (`dws` for the shared queue)
    team: Optional[str]  # None for the shared DWS queue
    queue_class: str
    flavor: str
    nominal: int
    borrowing_limit: Optional[int]  # None: unlimited (within the cohort)
    lending_limit: Optional[int]  # None: all of the nominal quota is lendable
    cohort: Optional[str]

    @property
    def owner(self) -> str:
        """`team/class`, or `dws`."""
        return f"{self.team}/{self.queue_class}" if self.team else self.queue_class

    @property
    def lendable(self) -> int:
        return self.nominal if self.lending_limit is None else min(self.nominal, self.lending_limit)

    @property
    def guaranteed(self) -> int:
        return self.nominal - self.lendable


class QuotaLedger:
    """Every quota of a platform, with the sums Kueue's borrowing and lending limits work on."""

    def __init__(self, platform: Platform):
        self.entries: list[QueueQuota] = []
        for t, team in enumerate(platform.teams):
            for cls, quotas in team.queues.by_class():
                for q, quota in enumerate(quotas):
                    self.entries.append(QueueQuota(
                        f"teams[{t}].queues.{cls}[{q}]", team.name, cls, quota.flavor, quota.gpus,
                        quota.borrowing_limit, quota.lending_limit, team.cohort))
        if platform.dws:
            self.entries.append(QueueQuota("dws", None, DWS, platform.dws.flavor, platform.dws.gpus, None, None, None))
        self._pool: dict[tuple[str, str], int] = defaultdict(int)
        self._by_team: dict[str, list[QueueQuota]] = defaultdict(list)  # linear in teams, not quadratic
        for e in self.entries:
            if e.cohort:
                self._pool[(e.cohort, e.flavor)] += e.lendable
            if e.team:
                self._by_team[e.team].append(e)
        self._dws_gpus = platform.dws.gpus if platform.dws else 0

    def peers_lendable(self, entry: QueueQuota) -> int:
        """What the other queues of the entry's cohort lend in its flavor (0 without a cohort)."""
        if not entry.cohort:
            return 0
        return self._pool[(entry.cohort, entry.flavor)] - entry.lendable

    def borrowable(self, entry: QueueQuota) -> int:
        """The most the queue can ever borrow in the flavor."""
        peers = self.peers_lendable(entry)
        return peers if entry.borrowing_limit is None else min(entry.borrowing_limit, peers)

    def ceiling(self, entry: QueueQuota) -> int:
        """The most the queue can ever hold in the flavor (Kueue's potentialAvailable)."""
        return entry.nominal + self.borrowable(entry)

    def of_team(self, team: Team) -> list[QueueQuota]:
        return self._by_team.get(team.name, [])

    def team_ceiling(self, team: Team, flavor: str) -> int:
        """The most the team's queues together can hold in a flavor: each queue's ceiling, and all of them
        together no more than what they keep for themselves plus what the whole cohort lends."""
        mine = [e for e in self.of_team(team) if e.flavor == flavor]
        total = sum(self.ceiling(e) for e in mine)
        if not team.cohort:
            return total
        return min(total, sum(e.guaranteed for e in mine) + self._pool[(team.cohort, flavor)])

    def team_gpu_ceiling(self, team: Team) -> int:
        """The most GPUs Kueue can ever admit for the team, every flavor and the shared DWS queue together."""
        total = sum(self.team_ceiling(team, f) for f in dict.fromkeys(e.flavor for e in self.of_team(team)))
        return total + (self._dws_gpus if team.dws else 0)


@per_platform
def ledger(platform: Platform) -> QuotaLedger:
    """The platform's quota ledger, built once per platform."""
    return QuotaLedger(platform)
