"""A fleet stack checked against its counterparts' stack files: a worker against its manager's, a manager
against each worker's (Pulumi.<stack>.yaml next to this one). The program runs it before anything is
created, so `pulumi preview` of either side refuses a worker that does not mirror its manager's dispatched
namespaces and queues or runs another Kueue version (components/model/fleet.py agreement_issues). A
counterpart whose file is not in this checkout (another team's repository) is not checked here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from . import fleet
from .errors import ConfigError, Issue
from .load import parse_platform
from .schema import Platform
from .stack_file import CONFIG_KEY, read_stack_file
from .yaml_input import read_text


def _counterpart(directory: Path, stack: str, project: str) -> tuple[Optional[Platform], list[Issue]]:
    path = directory / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return None, []
    try:
        config = read_stack_file(read_text(path), path.name, project)
        return parse_platform(config.get(f"{project}:{CONFIG_KEY}"), path.name), []
    except ConfigError:
        return None, [Issue(path.name, "the fleet's other stack file does not validate, so this stack cannot be "
                            "checked against it", f"run: python -m components.cli plan {stack}")]


def counterpart_issues(platform: Platform, directory: Path, project: str) -> list[Issue]:
    if fleet.role(platform) == "worker":
        manager, issues = _counterpart(directory, platform.fleet.manager.stack, project)
        return issues + (fleet.agreement_issues(manager, platform) if manager else [])
    issues: list[Issue] = []
    for i, worker in enumerate(platform.fleet.workers if fleet.role(platform) == "manager" else []):
        found, problems = _counterpart(directory, worker.stack, project)
        issues += problems
        for issue in fleet.agreement_issues(platform, found) if found else []:
            issues.append(Issue(f"fleet.workers[{i}]", f"worker {worker.name} (Pulumi.{worker.stack}.yaml, "
                                f"{issue.path}): {issue.message}", f"in Pulumi.{worker.stack}.yaml: {issue.fix}"))
    return issues


def quota_warnings(platform: Platform, directory: Path, project: str) -> list[str]:
    """A manager's dispatched quota against its workers' (fleet.quota_warnings), when every worker's stack
    file is in the checkout; [] otherwise."""
    if fleet.role(platform) != "manager":
        return []
    workers = [_counterpart(directory, w.stack, project)[0] for w in platform.fleet.workers]
    return fleet.quota_warnings(platform, workers) if all(workers) else []
