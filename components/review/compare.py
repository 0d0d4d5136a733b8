"""Compare two offline plans: what `pulumi up` would create, update, replace or delete, field by field.

A plan is the list of captured resources (`Capture.to_json()`, the same records as the plan's
`resources.json`). Resources match by URN, or through an alias the new one declares (a move that keeps
the cloud resource). A changed input at or below a replace-forcing path (`replace.py`) makes the
change a replacement; an unmatched old URN is a delete, an unmatched new one a create.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from .capacity import delete_first_gap
from .replace import forces_replacement, forcing_paths

MISSING = "(absent)"


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any
    forces_replacement: bool


@dataclass(frozen=True)
class ResourceChange:
    action: str  # create | update | replace | delete
    urn: str
    type: str
    name: str
    protected: bool = False  # protect is on: a replace or delete of it fails until unprotected
    fields: tuple[FieldChange, ...] = ()
    renamed_from: Optional[str] = None
    gap: Optional[str] = None  # a delete-first replacement's lost capacity (capacity.delete_first_gap)


@dataclass
class PlanDiff:
    changes: list[ResourceChange] = field(default_factory=list)
    before_count: int = 0
    after_count: int = 0

    def of(self, action: str) -> list[ResourceChange]:
        return [c for c in self.changes if c.action == action]

    @property
    def empty(self) -> bool:
        return not self.changes


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values by path. Maps nest (`spec.cohortName`); a list of named maps is keyed by name
    (`resourceGroups[0].flavors[l4-spot].resources[nvidia.com/gpu].nominalQuota`) so a reorder or an
    insert shows as what it is; any other list is one value (tolerations, scopes, CIDR blocks)."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v for v in value):
        names = [v["name"] for v in value]
        if len(set(map(str, names))) == len(names):
            out = {}
            for inner in value:
                out.update(flatten({k: v for k, v in inner.items() if k != "name"}, f"{prefix}[{inner['name']}]"))
            return out
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        return flatten(value[0], f"{prefix}[0]")
    return {prefix: value}


def _field_changes(type_: str, before: dict, after: dict, replace_on_changes: list[str],
                   ignore_changes: list[str] = ()) -> list[FieldChange]:
    """Changed inputs, less those under the resource's `ignoreChanges` paths (Pulumi keeps the old value
    there, so they neither update nor replace it)."""
    forcing = forcing_paths(type_, replace_on_changes)
    ignored = tuple(ignore_changes)
    old, new = flatten(before), flatten(after)
    changes = []
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path, MISSING), new.get(path, MISSING)
        if a != b and not forces_replacement(path, ignored):
            changes.append(FieldChange(path, a, b, forces_replacement(path, forcing)))
    return changes


def _alias_urns(resource: dict, project: str, stack: str) -> set[str]:
    """URNs an aliased resource used to have (name/type/stack/project aliases; parent moves are not resolved)."""
    urns = set()
    for alias in resource["options"].get("aliases", []):
        if "name" in alias or "type" in alias:
            head, _, tail = resource["urn"].rpartition("::")
            type_part = head.rsplit("::", 1)[-1]
            qualified = type_part.rsplit("$", 1)
            new_type = alias.get("type", qualified[-1])
            type_part = f"{qualified[0]}${new_type}" if len(qualified) == 2 else new_type
            urns.add(f"urn:pulumi:{alias.get('stack', stack)}::{alias.get('project', project)}::{type_part}::"
                     f"{alias.get('name', tail)}")
    return urns


def _urn_parts(urn: str) -> tuple[str, str]:
    parts = urn.split("::")
    return parts[0].removeprefix("urn:pulumi:"), parts[1]


def compare(before: Iterable[dict], after: Iterable[dict]) -> PlanDiff:
    old = {r["urn"]: r for r in before}
    new = {r["urn"]: r for r in after}
    diff = PlanDiff(before_count=len(old), after_count=len(new))
    matched_old: set[str] = set()
    for urn, res in sorted(new.items()):
        source = urn if urn in old else None
        if source is None:
            stack, project = _urn_parts(urn)
            source = next((a for a in sorted(_alias_urns(res, project, stack)) if a in old), None)
        if source is None:
            diff.changes.append(ResourceChange("create", urn, res["type"], res["name"]))
            continue
        matched_old.add(source)
        prev = old[source]
        fields = _field_changes(res["type"], prev["inputs"], res["inputs"], res["options"].get("replaceOnChanges", []),
                                res["options"].get("ignoreChanges", []))
        protected = bool(prev["options"].get("protect"))
        renamed = source if source != urn else None
        if any(f.forces_replacement for f in fields):
            gap = delete_first_gap(res["type"], res["inputs"], res["options"])
            diff.changes.append(ResourceChange("replace", urn, res["type"], res["name"], protected, tuple(fields), renamed, gap))
        elif fields or renamed or _option_changes(prev, res):
            extra = tuple(fields) + _option_changes(prev, res)
            diff.changes.append(ResourceChange("update", urn, res["type"], res["name"], protected, extra, renamed))
    for urn, res in sorted(old.items()):
        if urn not in matched_old:
            diff.changes.append(ResourceChange("delete", urn, res["type"], res["name"], bool(res["options"].get("protect"))))
    return diff


def _option_changes(prev: dict, res: dict) -> tuple[FieldChange, ...]:
    """protect / retainOnDelete flips are state-only updates a reviewer must see."""
    out = []
    for key in ("protect", "retainOnDelete"):
        a, b = bool(prev["options"].get(key)), bool(res["options"].get(key))
        if a != b:
            out.append(FieldChange(f"(option) {key}", a, b, False))
    return tuple(out)


def short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = text.replace("\n", "\\n").replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"
