"""A fleet stack read with its counterparts' stack files (Pulumi.<stack>.yaml next to this one): a worker's
teams are derived from its manager's file (components/model/fleet_derive.py), and the program checks what
stays data on both sides (a manager against each worker's file: DWS grants, the Kueue version; quota totals
as a warning) before anything is created, so `pulumi preview` of either side refuses a fleet that disagrees.
A fleet's stack files live in one checkout: a worker whose manager's file is not there is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from . import fleet
from .errors import Issue
from .fleet_files import REPO, read_counterpart
from .load import parse_platform
from .schema import Platform


def _counterpart(directory: Path, stack: str) -> tuple[Optional[Platform], list[Issue]]:
    return read_counterpart(directory, stack, parse_platform)



def counterpart_issues(platform: Platform, directory: Path, project: str = "") -> list[Issue]:
    if fleet.role(platform) == "worker":
        manager = fleet.manager_platform(platform)
        return fleet.agreement_issues(manager, platform) if manager else []
    issues: list[Issue] = []
    for i, worker in enumerate(platform.fleet.workers if fleet.role(platform) == "manager" else []):
        found, problems = _counterpart(directory, worker.stack)
        issues += problems
        for issue in fleet.agreement_issues(platform, found) if found else []:
            issues.append(Issue(f"fleet.workers[{i}]", f"worker {worker.name} (Pulumi.{worker.stack}.yaml, "
                                f"{issue.path}): {issue.message}", f"in Pulumi.{worker.stack}.yaml: {issue.fix}"))
    return issues


def worker_platforms(platform: Platform, directory: Path = REPO) -> dict:
    """A manager's workers (FleetWorker -> its Platform, or None when its stack file is not here or invalid)."""
    if fleet.role(platform) != "manager":
        return {}
    return {w: _counterpart(directory, w.stack)[0] for w in platform.fleet.workers}


def quota_warnings(platform: Platform, directory: Path, project: str = "") -> list[str]:
    """A manager's dispatched quota against its workers' (fleet.quota_warnings), when every worker's stack
    file is in the checkout; [] otherwise."""
    if fleet.role(platform) != "manager":
        return []
    workers = [_counterpart(directory, w.stack)[0] for w in platform.fleet.workers]
    return fleet.quota_warnings(platform, workers) if all(workers) else []
