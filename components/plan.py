"""Offline plan: what `pulumi preview` would create for a stack, without the CLI or a cloud.

Command: `python -m components.cli plan [STACK] [--out build/plan]` (components/cli/plan.py). Runs the real program under Pulumi's mock runtime with Pulumi.<STACK>.yaml, prints the resource
tree, the counts per type and the capacity table, and writes the captured resources (and every
rendered Kubernetes object) under the build folder. A bad config exits 2 listing every error.
"""

from __future__ import annotations

import functools
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import yaml

from components import yaml_output
from components.cost.report import plan_section
from components.cost.outputs import write_cost_outputs
from components.kubernetes.manifest_validation import ManifestError
from components.model import ConfigError, Platform, capacity_rows, nap_limits
from components.review.capacity import delete_first_gap
from components.review.replace import forced_replacements
from components.capture import REPO, Capture, Stack, load_stack, run_stack
from components.progress import Progress


T = TypeVar("T")


def tree_lines(capture: Capture) -> list[str]:
    children = defaultdict(list)
    urns = {r.urn for r in capture.resources}
    for r in capture.resources:
        children[r.parent if r.parent in urns else ""].append(r)
    lines: list[str] = []

    def walk(parent: str, depth: int) -> None:
        for r in children[parent]:
            lines.append(f"{'  ' * depth}+ {r.type}  {r.name}")
            walk(r.urn, depth + 1)

    walk("", 0)
    return lines


def table(rows: list[dict]) -> list[str]:
    headers = list(rows[0])
    widths = {h: max(len(h), *(len(str(r[h])) for r in rows)) for h in headers}
    fmt = lambda values: "  ".join(str(v).ljust(widths[h]) for h, v in zip(headers, values))  # noqa: E731
    return [fmt(headers), fmt("-" * widths[h] for h in headers)] + [fmt(r[h] for h in headers) for r in rows]


def replacement_lines(previous: list[dict], capture: Capture) -> list[str]:
    """Resources whose replace-forcing inputs changed since `previous` (an earlier resources.json)."""
    old = {r["urn"]: r for r in previous}
    lines = []
    for r in capture.resources:
        before = old.get(r.urn)
        if before is None:
            continue
        paths = forced_replacements(r.type, before["inputs"], r.inputs, r.options.get("ignoreChanges", []))
        if paths:
            order = ("the OLD one is deleted FIRST" if r.options.get("deleteBeforeReplace")
                     else "the new one is created before the old one is deleted")
            gap = delete_first_gap(r.type, r.inputs, r.options)
            lines.append(f"REPLACE {r.type} {r.name}: {', '.join(paths)} changed; {order}" + (f". {gap}" if gap else ""))
    return lines


def capacity_lines(platform: Platform) -> list[str]:
    limits = nap_limits(platform)
    gpus = ", ".join(f"{k} {v}" for k, v in sorted(limits.gpus.items()))
    return table(capacity_rows(platform)) + [
        "",
        f"NAP limits (cover every pool's maximum + NAP shapes): cpu {limits.cpu}, memory {limits.memory_gb} GB, {gpus}",
    ]


def write_outputs(capture: Capture, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    resources = out / "resources.json"
    with resources.open("w") as file:  # written as it is encoded: the whole text is never held at once
        file.writelines(resources_json(capture.to_json()))
    written = [resources]
    manifests = out / "manifests"
    if manifests.exists():
        for old in manifests.glob("*.yaml"):
            old.unlink()
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in capture.resources:
        obj = kubernetes_object(r)
        if obj:
            by_kind[obj["kind"]].append(obj)
    for chart in by_kind.get("HelmChart", []):
        by_kind["Configuration"] += embedded_configuration(chart)
    if by_kind:
        manifests.mkdir(exist_ok=True)
        for kind, objs in sorted(by_kind.items()):
            path = manifests / f"{kind}.yaml"
            path.write_text(yaml_output.dump_all(sorted(objs, key=manifest_key)))
            written.append(path)
    return written


_VALUE = json.JSONEncoder(sort_keys=True, default=str)
_field = functools.cache(_VALUE.encode)  # the ten field names, encoded once


def resources_json(resources: list[dict]) -> Iterator[str]:
    """resources.json, readable and cheap to write: one resource after another, each field on its own line,
    its value as compact JSON on that line (keys sorted). Python encodes compact JSON in C but indented JSON
    in pure Python (three times slower at scale); a diff of two plans still points at a resource's field."""
    yield "["
    for index, resource in enumerate(resources):
        fields = ",\n".join(f"    {_field(key)}: {_VALUE.encode(value)}" for key, value in sorted(resource.items()))
        yield f"{',' if index else ''}\n  {{\n{fields}\n  }}"
    yield "\n]\n"


def embedded_configuration(chart: dict) -> list[dict]:
    """The Kueue Configuration, which travels as one YAML string in the chart values (readable form)."""
    embedded = ((chart.get("values") or {}).get("managerConfig") or {}).get("controllerManagerConfigYaml")
    return [yaml.safe_load(embedded)] if embedded else []


MANIFEST_ORDER = ("apiVersion", "kind", "metadata")


def manifest_key(obj: dict) -> tuple[str, str, str]:
    """Registration order is asynchronous; kind, namespace and name give a stable order."""
    md = obj.get("metadata", {})
    return obj["kind"], md.get("namespace", ""), md.get("name", obj.get("name", ""))


def kubernetes_object(resource) -> dict | None:
    """What a kubernetes:* resource applies, as a readable manifest (None for other resources).

    Built from the captured inputs, i.e. exactly what Pulumi would send; a Helm chart is shown as
    its pinned chart reference and values.
    """
    if resource.type == "kubernetes:helm.sh/v4:Chart":
        keys = ("chart", "version", "namespace", "values")
        return {"kind": "HelmChart", "name": resource.name, **{k: resource.inputs.get(k) for k in keys}}
    if not resource.type.startswith("kubernetes:") or not resource.custom or "kind" not in resource.inputs:
        return None
    head = {k: resource.inputs[k] for k in MANIFEST_ORDER if k in resource.inputs}
    rest = {k: v for k, v in sorted(resource.inputs.items()) if k not in MANIFEST_ORDER}
    return _sorted({**head, **rest}, top=True)


def _sorted(value, top: bool = False):
    if isinstance(value, dict):
        items = value.items() if top else sorted(value.items())
        return {k: _sorted(v) for k, v in items}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


DEFAULT_OUT = REPO / "build" / "plan"


def guarded(what: str, run: Callable[[], T]) -> T | None:
    """run(), or None after printing why it failed: a bad config, an invalid derived Kubernetes object,
    or anything unexpected, always as a message (never a traceback); the caller exits 2."""
    try:
        return run()
    except ConfigError as err:
        print(f"{what} failed, nothing would be created.\n{err}", file=sys.stderr)
    except ManifestError as err:
        print(f"{what} failed, nothing would be created: a Kubernetes object derived from the config is invalid "
              f"(the upstream schema's reason follows).\n{err}", file=sys.stderr)
    except Exception as err:  # noqa: BLE001 - the promise is "never a traceback"
        print(f"{what} failed unexpectedly, nothing would be created: {err or type(err).__name__}\n"
              "This is a bug in the program rather than in your config; please report it with your stack file.",
              file=sys.stderr)
    return None


def run(stack: str | Stack, out: Path = DEFAULT_OUT) -> int:
    """Print the plan of `stack` (a name or a loaded Stack) and write it under `out`/<stack>; the exit code
    (2: bad config, never a traceback)."""
    what = f"Plan of stack {getattr(stack, 'name', stack)!r}"
    progress = Progress(f"plan {getattr(stack, 'name', stack)}")
    progress.phase("reading and validating the stack config")
    loaded = stack if isinstance(stack, Stack) else guarded(what, lambda: load_stack(stack))
    if loaded:
        progress.phase("running the program under Pulumi's mocks")
    capture = loaded and guarded(what, lambda: run_stack(loaded))
    if capture is None:
        return 2
    stack, platform = loaded.name, loaded.platform  # validated by the program's run: not parsed again

    print(f"Offline plan of stack {stack!r} (Pulumi mock runtime; ids and endpoints are mock values)\n")
    print("Resources:")
    print("\n".join(tree_lines(capture)))
    counts = Counter(r.type for r in capture.resources)
    print(f"\nCounts ({len(capture.resources)} resources):")
    for type_, n in sorted(counts.items()):
        print(f"  {n:4d}  {type_}")
    print("\nGPU capacity:")
    print("\n".join(capacity_lines(platform)))
    if capture.warnings:  # what the program logged without refusing the config, e.g. an unreachable endpoint
        print("\n" + "\n".join(f"WARNING {w}" for w in capture.warnings))
    print(f"\nCost (details: `python -m components.cli cost {stack}`):")
    print("\n".join(plan_section(platform)))
    target = out / stack
    previous = target / "resources.json"
    if previous.exists():
        replaced = replacement_lines(json.loads(previous.read_text()), capture)
        print("\nReplacements since the last plan of this stack:" if replaced else "\nNo replacement since the last plan.")
        for line in replaced:
            print(f"  {line}")
    progress.phase("writing resources.json and the Kubernetes manifests")
    written = write_outputs(capture, target)
    progress.phase("writing the cost report and the platform picture")
    written += write_cost_outputs(platform, stack, target)
    print(f"\nWrote {len(written)} file(s) under {target.relative_to(REPO) if target.is_relative_to(REPO) else target}")
    return 0
