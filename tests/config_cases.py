"""Bad-config cases: one mistake in the dev config, the error the user must read, and proof its fix works.

A case breaks the dev config once and asserts the exact path, what the message says, what the fix
says, that this one mistake yields exactly one error (one root cause, one error), and that doing
what the fix says makes the whole config valid again: the issue's own example/rename is applied
(`apply_fix`), or, where the fix is a decision only the user can make, the case's `repair`.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Callable, NamedTuple, Optional

from components.model import ConfigError, Issue, parse_platform
from components.model.errors import apply_fix
from conftest import assert_issue, config_error, load_dev_platform_raw

Mutate = Callable[[dict], Any]


class Case(NamedTuple):
    id: str
    mutate: Mutate
    path: str
    message: str
    fix: str  # substring the issue's fix must contain
    repair: Optional[Callable[[dict, Issue], Any]] = None  # None: the issue's example/rename is the repair


def setting(*path_and_value):
    """setting("gpuPools", 1, "maxNodes", 0): a mutation that sets one key."""
    *path, key, value = path_and_value

    def mutate(raw: dict) -> None:
        node = raw
        for part in path:
            node = node[part]
        node[key] = copy.deepcopy(value)

    return mutate


def removing(*path):
    *parents, key = path

    def mutate(raw: dict) -> None:
        node = raw
        for part in parents:
            node = node[part]
        del node[key]

    return mutate


def appending(key: str, item_of: Callable[[dict], dict]):
    def mutate(raw: dict) -> None:
        raw[key].append(item_of(raw))

    return mutate


def all_of(*mutations):
    def mutate(raw: dict) -> None:
        for m in mutations:
            m(raw)

    return mutate


def queue(team: int, cls: str, entries: list[dict]):
    return setting("teams", team, "queues", cls, entries)


def pool_copy(index: int, **changes):
    return lambda raw: {**copy.deepcopy(raw["gpuPools"][index]), **changes}


def rename_flavor(old: str, new: str) -> Mutate:
    """Rename a pool and every quota that names it (one consistent change)."""
    def mutate(raw: dict) -> None:
        for pool in raw["gpuPools"]:
            if pool["name"] == old:
                pool["name"] = new
        for team in raw["teams"]:
            for quotas in team["queues"].values():
                for q in quotas:
                    if q["flavor"] == old:
                        q["flavor"] = new
        if raw.get("dws", {}).get("flavor") == old:
            raw["dws"]["flavor"] = new

    return mutate


def then(mutation: Mutate) -> Callable[[dict, Issue], Any]:
    """A repair that ignores the issue: what the fix text tells the user to do."""
    return lambda raw, _issue: mutation(raw)


def check_case(case: Case) -> ConfigError:
    raw = load_dev_platform_raw()
    case.mutate(raw)
    err = config_error(raw)
    issue = assert_issue(err, case.path, case.message, case.fix)
    assert issue.fix, f"{case.path} should tell the user how to fix it"
    assert len(err.issues) == 1, f"one mistake, one error; got:\n{err}"
    if case.repair is None:
        assert issue.example is not None or issue.rename, f"{case.id}: no example in the fix, give the case a repair"
        apply_fix(raw, issue)
    else:
        case.repair(raw, issue)
    try:
        parse_platform(raw)
    except ConfigError as after:
        raise AssertionError(f"{case.id}: the fix did not work; after it:\n{after}") from None
    return err


# What must never reach a user: pydantic's wording, regex syntax, Python type names.
RAW = re.compile(r"Input should|String should|Value error|pydantic|type=|\^\[|\]\$|\\[dws.]|\{\d+,\d*\}|"
                 r"\b(str|int|float|dict|NoneType|bool|list\[)\b|Traceback")


def assert_readable(err: ConfigError) -> None:
    for issue in err.issues:
        for text in (issue.message, issue.fix):
            assert not RAW.search(text), f"raw wording reached the user: {issue}"
