"""Config errors: every problem at once, each with its config path, the offending value and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Union

Loc = tuple[Union[str, int], ...]


def format_path(loc: Loc) -> str:
    """('teams', 2, 'queues', 'high', 0, 'gpus') -> 'teams[2].queues.high[0].gpus'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


@dataclass(frozen=True)
class Issue:
    path: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" + (f" (fix: {self.fix})" if self.fix else "")


class ConfigError(Exception):
    """The stack config is invalid; nothing has been created."""

    def __init__(self, issues: Iterable[Issue], source: str = "stack config"):
        self.issues = list(issues)
        self.source = source
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(f"{len(self.issues)} error(s) in {source}:\n{lines}")

    def paths(self) -> list[str]:
        return [issue.path for issue in self.issues]
