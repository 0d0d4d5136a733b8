"""A worker's teams, derived from its manager's model: Kueue expects "the worker cluster configuration mirrors
the one of the manager cluster in terms of namespaces and LocalQueues" (v0.19.2 setup_multikueue.md), so a
worker does not list teams. Each team the manager dispatches a class for gets its namespace, cohort and
members here, and the class's queue with the quota the worker states for its own region (`fleet.quota`,
`fleet.teamQuota`): the one thing that is genuinely the worker's.

Pure: the manager arrives as a validated Platform, the worker as its raw config; the result is the worker's
raw config with `teams` filled in, which then validates like any stack's (components/model/load.py).
"""

from __future__ import annotations

import copy
import re
from typing import Any, Optional

from .errors import Issue
from .fleet_schema import TEAM_DISPATCHABLE
from .schema import Platform, Team

LIMITS = ("borrowingLimit", "lendingLimit")


def _mapping(value: Any) -> dict:
    """A section as written, or {} when it is not a mapping (the schema reports that one)."""
    return value if isinstance(value, dict) else {}


def _quota(fleet: dict, team: str, cls: str) -> Optional[list]:
    own = _mapping(_mapping(fleet.get("teamQuota")).get(team))
    return own[cls] if cls in own else _mapping(fleet.get("quota")).get(cls)


def dispatched_teams(manager: Platform) -> list[tuple[Team, list[str]]]:
    """(team, the team classes of it the manager dispatches), for each team that has any, or DWS work dispatched."""
    classes = set(manager.fleet.dispatch) if manager.fleet else set()
    out = []
    for team in manager.teams:
        sent = [cls for cls, quotas in team.queues.by_class() if quotas and cls in classes]
        if sent or (team.dws and "dws" in classes and manager.dws is not None):
            out.append((team, sent))
    return out


def derive_teams(manager: Platform, fleet: dict) -> tuple[list[dict], list[Issue]]:
    """The worker's `teams` (raw, as a stack file would spell them) and what its `fleet` section lacks."""
    issues: list[Issue] = []
    sent = dispatched_teams(manager)
    dispatched = {cls for _, classes in sent for cls in classes}
    for cls in _mapping(fleet.get("quota")):
        if cls not in dispatched:
            issues.append(Issue(f"fleet.quota.{cls}", f"the manager ({manager.name_prefix}) dispatches no {cls!r} work",
                                f"remove quota.{cls}"))
    names = {team.name for team, _ in sent}
    for name in _mapping(fleet.get("teamQuota")):
        if name not in names:
            issues.append(Issue(f"fleet.teamQuota.{name}", f"the manager dispatches no work of a team {name!r}",
                                f"remove teamQuota.{name} (dispatching teams: {', '.join(sorted(names)) or 'none'})"))
    # A cohort is kept only where at least two derived teams share it: Kueue lends within a cohort, and
    # one team alone has no one to lend to (nor may a queue without a cohort set borrowing or lending limits).
    cohorts = [team.cohort for team, _ in sent if team.cohort]
    teams = []
    for team, classes in sent:
        cohort = team.cohort if team.cohort and cohorts.count(team.cohort) > 1 else None
        queues = {}
        for cls in classes:
            quotas = _quota(fleet, team.name, cls)
            if quotas is None:
                issues.append(Issue(f"fleet.quota.{cls}", f"the manager dispatches {team.name}'s {cls!r} work but this "
                                    "worker states no quota for it", f"add quota: {{{cls}: [{{flavor: <a GPU pool here>, gpus: 8}}]}}"))
                continue
            queues[cls] = [q if cohort or not isinstance(q, dict) else {k: v for k, v in q.items() if k not in LIMITS}
                           for q in copy.deepcopy(quotas)]
        entry: dict[str, Any] = {"name": team.name, "queues": queues}
        if cohort:
            entry["cohort"] = cohort
        if team.dws and "dws" in manager.fleet.dispatch:
            entry["dws"] = True
        if team.members:
            entry["members"] = list(team.members)  # they read their pods' logs where the pods run
        teams.append(entry)
    return teams, issues


_TEAM_PATH = re.compile(r"^teams\[(\d+)\](?:\.queues\.([a-z]+)(.*))?(.*)$")


def quota_path(issue: Issue, teams: list[dict], fleet: dict) -> Issue:
    """An issue found in a derived team, pointed at the key of the worker's file that set it."""
    match = _TEAM_PATH.match(issue.path)
    if not match or int(match.group(1)) >= len(teams):
        return issue
    name, cls = teams[int(match.group(1))]["name"], match.group(2)
    if cls and cls in TEAM_DISPATCHABLE:
        key = f"fleet.teamQuota.{name}.{cls}" if cls in _mapping(_mapping(fleet.get("teamQuota")).get(name)) else f"fleet.quota.{cls}"
        return Issue(f"{key}{match.group(3)}", f"(team {name}, derived from the manager) {issue.message}", issue.fix)
    return Issue("fleet.manager.stack", f"team {name} derived from the manager's stack file: {issue.path}: {issue.message}",
                 issue.fix)
