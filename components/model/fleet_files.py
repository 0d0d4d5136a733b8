"""A fleet's other stack files, read from the checkout (Pulumi.<stack>.yaml next to this one): a worker's
teams derived from its manager's file (components/model/fleet_derive.py does the deriving), and the
counterpart a manager or worker is checked against (components/model/fleet_agreement.py). `parse` is
components/model/load.py's parse_platform, passed in because load derives workers through this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import yaml
from pydantic import ValidationError

from . import fleet
from .errors import ConfigError, Issue
from .fleet_derive import derive_teams
from .fleet_schema import Fleet
from .schema import Platform
from .stack_file import CONFIG_KEY, read_stack_file
from .yaml_input import read_text

Parse = Callable[[Any, str, Optional[Path]], Platform]

REPO = Path(__file__).resolve().parents[2]  # where the stack files are, next to Pulumi.yaml


def _project(directory: Path) -> str:
    """The Pulumi project the stack files belong to (their config keys are `<project>:platform`)."""
    path = directory / "Pulumi.yaml" if (directory / "Pulumi.yaml").exists() else REPO / "Pulumi.yaml"
    return yaml.safe_load(path.read_text())["name"]


def read_counterpart(directory: Path, stack: str, parse: Parse) -> tuple[Optional[Platform], list[Issue]]:
    """The Platform of Pulumi.<stack>.yaml in `directory` (None when absent, or invalid with one issue)."""
    path = directory / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return None, []
    project = _project(directory)
    try:
        config = read_stack_file(read_text(path), path.name, project)
        return parse(config.get(f"{project}:{CONFIG_KEY}"), path.name, directory), []
    except ConfigError as err:
        return None, [Issue(path.name, f"the fleet's other stack file does not validate ({err.issues[0]}), so this "
                            "stack cannot be checked against it", f"run: python -m components.cli plan {stack}")]


def _declared_role(directory: Path, stack: str, project: str) -> Optional[str]:
    """fleet.role as Pulumi.<stack>.yaml writes it (None when the file or the key is absent or unreadable:
    read_counterpart reports those)."""
    path = directory / f"Pulumi.{stack}.yaml"
    try:
        raw = read_stack_file(read_text(path), path.name, project).get(f"{project}:{CONFIG_KEY}")
    except ConfigError:
        return None
    if not isinstance(raw, Mapping):
        return None
    section = raw.get("fleet")
    if section is None:
        return "unset (no fleet section)"
    return str(section["role"]) if isinstance(section, Mapping) and section.get("role") is not None else None


def derive_worker(raw: Mapping, directory: Optional[Path], parse: Parse) -> tuple[dict, Optional[Platform], list[Issue]]:
    """A worker's raw config with its teams derived from its manager's stack file, the manager, and what is wrong."""
    directory = directory or REPO
    out: dict[str, Any] = dict(raw)
    section = raw.get("fleet") if isinstance(raw.get("fleet"), Mapping) else {}
    stack = (section.get("manager") or {}).get("stack") if isinstance(section.get("manager"), Mapping) else None
    if "teams" in raw:
        return out, None, [Issue("teams", "a worker's teams are derived from its manager's stack file (the namespaces "
                                 "and queues Kueue requires it to mirror)", "remove teams; state this region's quota "
                                 "under fleet.quota (and fleet.teamQuota for a team that differs)")]
    try:
        Fleet.model_validate(section)
    except ValidationError:
        return out, None, []  # the fleet section's own errors say what to fix; deriving from it would echo them
    if not isinstance(stack, str):
        return out, None, []  # fleet_issues says the manager is missing
    role = _declared_role(directory, stack, project=_project(directory))
    if role not in (None, "manager"):  # checked before parsing it: a worker naming itself or a worker is no loop
        return out, None, [Issue("fleet.manager.stack", f"Pulumi.{stack}.yaml is not a fleet manager (its fleet.role "
                                 f"is {role!r})", "name the manager's stack (the one with fleet.role: manager)")]
    manager, issues = read_counterpart(directory, stack, parse)
    if manager is None and not issues:
        issues = [Issue("fleet.manager.stack", f"a worker derives its teams from its manager's stack file "
                        f"Pulumi.{stack}.yaml, which is not in {directory}", "keep a fleet's stack files in one "
                        "checkout (the manager's file beside each worker's)")]
    elif manager is not None and fleet.role(manager) != "manager":
        manager, issues = None, [Issue("fleet.manager.stack", f"Pulumi.{stack}.yaml is not a fleet manager "
                                       "(fleet.role: manager)", "name the manager's stack")]
    if manager is None:
        return out, None, issues
    teams, issues = derive_teams(manager, dict(section))
    out["teams"] = teams
    return out, manager, issues
