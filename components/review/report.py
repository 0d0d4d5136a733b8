"""The plan diff as Markdown for a pull-request comment."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

from components.model import ConfigError, parse_platform
from components.capture import PROJECT

from . import capacity, protection
from .compare import PlanDiff, ResourceChange, compare, short
from .plans import Plan

ACTIONS = (("replace", "Replaced (deleted and created again)"), ("delete", "Deleted"),
           ("create", "Created"), ("update", "Updated in place"))


def _resource_rows(changes: list[ResourceChange], with_fields: bool) -> list[str]:
    if not with_fields:
        rows = ["| Resource | Type |", "|---|---|"]
        return rows + [f"| `{c.name}` | `{c.type}` |" + (" **protected: fails until unprotected**" if c.protected else "")
                       for c in changes]
    rows = ["| Resource | Type | Field | Before | After |", "|---|---|---|---|---|"]
    for c in changes:
        note = " (protected: `pulumi up` fails until unprotected)" if c.protected and c.action == "replace" else ""
        if c.renamed_from:
            rows.append(f"| `{c.name}` | `{c.type}` | (URN, alias) | `{short(c.renamed_from)}` | `{short(c.urn)}` |")
        for f in c.fields:
            mark = " ⚠ forces replacement" if f.forces_replacement else ""
            rows.append(f"| `{c.name}`{note} | `{c.type}` | `{f.path}`{mark} | `{short(f.before)}` | `{short(f.after)}` |")
    return rows


def _gpus(value: tuple[int, Optional[int]]) -> str:
    nominal, borrow = value
    return f"{nominal} (+{'∞' if borrow is None else borrow})"


def _table(title: str, headers: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    return ["", f"#### {title}", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)] + [
        "| " + " | ".join(r) + " |" for r in rows]


def _changed(before: dict, after: dict, fmt=str) -> list[list[str]]:
    rows = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a != b:
            label = list(key) if isinstance(key, tuple) else [key]
            rows.append([*label, "—" if a is None else fmt(a), "—" if b is None else fmt(b)])
    return rows


def _platform(plan: Plan):
    """The plan's model with the current code. A revision's model reads that revision's other stack files (a
    fleet worker's teams are derived from its manager's file), written beside each other as they were committed."""
    raw = plan.config.get(f"{PROJECT}:platform")
    if not plan.files:
        return parse_platform(raw, plan.label)
    with tempfile.TemporaryDirectory(prefix="plan-diff-files-") as tmp:
        for name, text in plan.files.items():
            (Path(tmp) / name).write_text(text)
        return parse_platform(raw, plan.label, Path(tmp))


def _cost_lines(old: Plan, new: Plan) -> list[str]:
    from components.cost.budget import cost_delta, format_delta

    try:
        platforms = [_platform(p) for p in (old, new)]
    except ConfigError as err:
        return [f"cost delta not computed: {err.source} does not parse with the current model"]
    return format_delta(cost_delta(*platforms))


def render(old: Plan, new: Plan, diff: Optional[PlanDiff] = None) -> str:
    diff = diff or compare(old.resources, new.resources)
    counts = {action: len(diff.of(action)) for action, _ in ACTIONS}
    out = [f"### Plan diff: `{old.label}` → `{new.label}`", "",
           f"**{counts['create']} to create, {counts['update']} to update, {counts['replace']} to replace, "
           f"{counts['delete']} to delete** ({diff.before_count} → {diff.after_count} resources)"]
    if diff.empty:
        out += ["", "No resource changes."]
    off = [f"> ⛔ production stack: {line} (the policy pack's production-keeps-protection refuses it)"
           for line in protection.turned_off(old.resources, new.resources)]
    if off:
        out += [""] + off
    gaps = [f"> ⚠ `{c.name}`: {c.gap}" for c in diff.of("replace") if c.gap]
    if gaps:
        out += [""] + gaps
    for action, title in ACTIONS:
        changes = diff.of(action)
        if changes:
            out += ["", f"#### {title}", ""] + _resource_rows(changes, action in ("replace", "update"))
    out += _table("GPU quota per team and flavor: nominal (+ borrowing limit)", ["Team", "Flavor", "Before", "After"],
                  _changed(capacity.quotas(old.resources), capacity.quotas(new.resources), _gpus))
    out += _table("GPU capacity per static pool", ["Pool", "Before", "After"],
                  _changed(capacity.pool_gpus(old.resources), capacity.pool_gpus(new.resources)))
    out += _table("NAP (cluster autoscaler) limits", ["Resource", "Before", "After"],
                  _changed(capacity.nap_limits(old.resources), capacity.nap_limits(new.resources)))
    out += ["", "#### Monthly cost", ""] + [f"- {line}" for line in _cost_lines(old, new)]
    return "\n".join(out) + "\n"
