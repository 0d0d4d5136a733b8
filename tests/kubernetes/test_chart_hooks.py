"""The chart-hook audit (platform/charts/hook-audit.yaml) against the code's pins and rendered values.

pulumi_kubernetes helm.v4.Chart never applies a helm.sh/hook resource: it templates with hooks disabled
and registers only the release manifest (pulumi/pulumi-kubernetes provider/pkg/provider/helm/v4/chart.go,
`cmd.DisableHooks = true`; pulumi_kubernetes 4.34.2 helm/v4/Chart.py include_hooks: "no effect outside of
render mode"). So a Secret or ConfigMap a chart workload mounts without `optional: true` must come from
something that is applied: a plain template, the chart's controller, prometheus-operator, or this
program. The audit lists, per pinned chart at its tag, every hook and every such mount with the values
condition that renders it; these tests re-evaluate the conditions on the values each shipped stack
renders, so a version bump or a values change that makes an audited branch live re-opens the audit.
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Optional

import pytest
import yaml

from components.capture import PROJECT, REPO, Capture
from conftest import STACKS, capture_of, config_with, load_stack_config

AUDIT = yaml.safe_load((REPO / "platform/charts/hook-audit.yaml").read_text())
CHARTS = AUDIT["charts"]
T_CHART = "kubernetes:helm.sh/v4:Chart"
T_SECRET = "kubernetes:core/v1:Secret"
NEVER_APPLIED = {"hook", "cert-manager"}  # helm.v4.Chart skips hooks; the platform installs no cert-manager
CONDITION = re.compile(r"^(\S+) (==|!=) (.+)$")
_MISSING = object()


def _captures() -> dict[str, Capture]:
    """Every shipped stack, plus dev with the optional alert webhook (it adds a mounted Secret)."""
    runs = {stack: capture_of(load_stack_config(stack), stack) for stack in STACKS}
    with_webhook = config_with()
    with_webhook[f"{PROJECT}:alertWebhookUrl"] = {"secure": "v1:bW9jay1jaXBoZXJ0ZXh0"}  # `pulumi config set --secret`
    runs["dev+alertWebhookUrl"] = capture_of(with_webhook)
    return runs


@pytest.fixture(scope="module")
def captures() -> dict[str, Capture]:
    return _captures()


def _entry(name: str) -> dict:
    return next(c for c in CHARTS if c["chart"] == name)


def _installed(chart: dict) -> dict:
    """The audit entry whose chart the program installs (a subchart's parent)."""
    return _entry(chart["parent"]["chart"]) if "parent" in chart else chart


def _chart_resources(capture: Capture, chart: dict) -> list:
    ref = _installed(chart)["chart_ref"]
    return [r for r in capture.of_type(T_CHART) if r.inputs["chart"] == ref]


def _lookup(values: Any, path: str) -> Any:
    """The rendered value at `path`; _MISSING where Helm would fall back to the chart default. A string
    on the way (Kueue's controllerManagerConfigYaml) replaces the default wholesale: it is parsed, and a
    key it lacks is null, not the default."""
    node, in_document = values, False
    for key in path.split("."):
        if isinstance(node, str):
            node, in_document = yaml.safe_load(node) or {}, True
        if not isinstance(node, dict) or key not in node:
            return None if in_document else _MISSING
        node = node[key]
    return node


def _value(chart: dict, values: dict, path: str) -> Any:
    found = _lookup(values, path)
    if found is not _MISSING:
        return found
    defaults = chart.get("defaults", {})
    assert path in defaults, f"{chart['chart']}: the audit has no chart default for {path!r} (add it from values.yaml)"
    return defaults[path]["value"]


def _holds(chart: dict, values: dict, conditions: list[str]) -> bool:
    for condition in conditions:
        match = CONDITION.match(condition)
        assert match, f"{chart['chart']}: unreadable condition {condition!r}"
        path, op, expected = match.group(1), match.group(2), yaml.safe_load(match.group(3))
        if (_value(chart, values, path) == expected) != (op == "=="):
            return False
    return True


def _values(capture: Capture, chart: dict) -> Optional[dict]:
    """The values the stack hands the chart; None for a chart the audit says only some stacks install."""
    resources = _chart_resources(capture, chart)
    if not resources and "installed_when" in _installed(chart):
        return None
    (resource,) = resources
    return resource.inputs.get("values") or {}


def test_audited_versions_are_the_pinned_versions(captures):
    """A version bump fails here until the audit is redone at the new tag."""
    for chart in CHARTS:
        if "parent" in chart:
            assert chart["parent"]["version"] == _entry(chart["parent"]["chart"])["version"], chart["chart"]
            continue
        module, attr = chart["pinned_by"].split(":")
        pin: Any = importlib.import_module(module)
        for part in attr.split("."):
            pin = pin[part] if isinstance(pin, dict) else getattr(pin, part)
        assert pin == chart["version"], f"{chart['chart']} is pinned at {pin}, audited at {chart['version']}: redo the audit"
        installed = {name: {r.inputs["version"] for r in _chart_resources(capture, chart)} for name, capture in captures.items()}
        for name, versions in installed.items():
            if not versions and "installed_when" in chart:
                continue  # not every stack installs it (its audit says when)
            assert versions == {chart["version"]}, f"{name}: {chart['chart']} installed at {versions}"
        assert any(installed.values()), f"no stack installs {chart['chart']}: its audit is never exercised"


def test_every_installed_chart_is_audited(captures):
    audited = {c["chart_ref"] for c in CHARTS if "chart_ref" in c}
    for name, capture in captures.items():
        installed = {r.inputs["chart"] for r in capture.of_type(T_CHART)}
        assert installed <= audited, f"{name}: charts without a hook audit: {sorted(installed - audited)}"


@pytest.mark.parametrize("stack", [*STACKS, "dev+alertWebhookUrl"])
def test_the_audited_branches_are_the_rendered_ones(captures, stack):
    """Each hook's and mount's recorded `active` is what its conditions give on the values we render."""
    wrong = []
    for chart in CHARTS:
        values = _values(captures[stack], chart)
        if values is None:
            continue
        for kind in ("hooks", "mounts"):
            for item in chart[kind]:
                live = _holds(chart, values, item["when"])
                if item["active"] != "per-stack" and live != item["active"]:
                    wrong.append(f"{chart['chart']} {item.get('template')} ({item.get('ref', item.get('does'))}): "
                                 f"audited active={item['active']}, rendered values give {live}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("stack", [*STACKS, "dev+alertWebhookUrl"])
def test_no_needed_mount_comes_only_from_a_hook(captures, stack):
    """Every mounted, non-optional Secret/ConfigMap of a rendered workload has a creator that is applied."""
    capture, missing = captures[stack], []
    for chart in CHARTS:
        values = _values(capture, chart)
        if values is None:
            continue
        for mount in chart["mounts"]:
            if mount["optional"] or not _holds(chart, values, mount["when"]):
                continue
            applied = [c for c in mount["creators"]
                       if c["by"] not in NEVER_APPLIED and _holds(chart, values, c["when"])]
            if not applied:
                by = ", ".join(f"{c['by']} ({c.get('template', '')})" for c in mount["creators"]) or "nothing"
                missing.append(f"{chart['chart']} {mount['workload']}: {mount['ref']} -- created only by {by}")
            for creator in applied:
                if creator["by"] == "platform":
                    missing += _platform_creates(capture, chart, values, creator)
    assert not missing, "mounts nothing applied creates (the pod would stay in ContainerCreating):\n" + "\n".join(missing)


def _platform_creates(capture: Capture, chart: dict, values: dict, creator: dict) -> list[str]:
    """The Secret(s) the platform must create are in the offline plan, in the release namespace, with the keys read."""
    namespace = _chart_resources(capture, chart)[0].inputs["namespace"]
    names = _value(chart, values, creator["name_from"])
    keys = set(creator.get("keys", [])) | {_value(chart, values, k) for k in creator.get("keys_from", [])}
    problems = []
    for name in names if isinstance(names, list) else [names]:
        found = [s for s in capture.of_type(T_SECRET)
                 if s.inputs["metadata"]["name"] == name and s.inputs["metadata"].get("namespace") == namespace]
        if not found:
            problems.append(f"{chart['chart']}: the platform creates no Secret {namespace}/{name} ({creator['name_from']})")
        elif not keys <= set(found[0].inputs.get("stringData", {})):
            problems.append(f"{chart['chart']}: Secret {namespace}/{name} lacks keys {sorted(keys)}")
    return problems


def test_hooks_that_render_are_not_needed(captures):
    """A hook that renders with our values is skipped: the audit must say why nothing depends on it."""
    for chart in CHARTS:
        values = _values(captures["dev"], chart)
        assert values is not None, f"dev must install {chart['chart']} so its hooks are checked"
        for hook in chart["hooks"]:
            if _holds(chart, values, hook["when"]):
                assert hook["needed"] is False and hook["why"], f"{chart['chart']} {hook['template']}"


def test_stack_dependent_mounts_are_exercised_both_ways(captures):
    """A mount that only stack config turns on (the alert webhook Secret) is checked live in one run
    and absent in another, so its creator check above is not vacuous."""
    for chart in CHARTS:
        for mount in (m for m in chart["mounts"] if m["active"] == "per-stack"):
            live = {_holds(chart, _values(c, chart), mount["when"]) for c in captures.values()}
            assert live == {True, False}, f"{chart['chart']} {mount['ref']}: live in {live} only"
