"""Config errors: every problem at once, each with its config path, the offending value and the fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Union

Loc = tuple[Union[str, int], ...]


class _Remove:
    """`Issue.example` value meaning: delete the key at the issue's path."""

    def __repr__(self) -> str:
        return "REMOVE"


REMOVE = _Remove()


def format_path(loc: Loc) -> str:
    """('teams', 2, 'queues', 'high', 0, 'gpus') -> 'teams[2].queues.high[0].gpus'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def parse_path(path: str) -> Loc:
    """'teams[2].queues.high[0].gpus' -> ('teams', 2, 'queues', 'high', 0, 'gpus')."""
    loc: list[Union[str, int]] = []
    for part in path.split("."):
        name, *indexes = part.split("[")
        if name:
            loc.append(name)
        loc.extend(int(i.rstrip("]")) for i in indexes)
    return tuple(loc)


def apply_fix(raw: Any, issue: "Issue") -> None:
    """Apply an issue's mechanical fix (rename the key, write `example`, or REMOVE the key) to raw, in place."""
    *parents, last = parse_path(issue.path)
    node = raw
    for part in parents:
        node = node[part]
    if issue.rename:
        node[issue.rename] = node.pop(last)
    elif issue.example is REMOVE:
        del node[last]
    elif issue.example is not None:
        node[last] = issue.example
    else:
        raise ValueError(f"{issue.path}: the issue has no mechanical fix")


@dataclass(frozen=True)
class Issue:
    """One problem. `example`, when set, is a value that is valid at `path` (what the fix tells the
    user to write; REMOVE: delete the key); `rename` is the key name the fix tells the user to use.
    Tests apply them and re-validate, so a fix's example can never be wrong for its field."""

    path: str
    message: str
    fix: str = ""
    example: Any = field(default=None, compare=False)
    rename: str = field(default="", compare=False)

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


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def misspelling_of(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` is most likely a typo of: one edit away (two for names of 16+ characters)."""
    limit = 1 + len(word) // 16
    scored = sorted((edit_distance(word, c), c) for c in choices if c != word)
    return scored[0][1] if scored and scored[0][0] <= limit else None
