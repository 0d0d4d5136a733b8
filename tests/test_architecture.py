"""The layers of the code, checked on its imports (read with `ast`, nothing is imported).

    model  <-  render, checks and cost (pure)  <-  infra (the Pulumi program)  <-  tools

- model (components/model), itself layered: the config as written (schema, its errors and files, the
  queue-class table) <- the machine and price catalogs <- what is derived from them (flavors, the quota
  ledger, names, HA) <- the checks and the loader that validates a stack;
- pure: what reads the model and returns plain data: the Kubernetes objects, the monitoring stack's
  values/rules/dashboards, the team workloads and the trainer, the cost envelope and picture;
- infra: the only code that creates resources: the program (components/platform.py) and its
  ComponentResources (components/gcp, the Kubernetes and monitoring layers, the cost component);
- tools: what runs the program or reads its result: the offline capture under Pulumi's mocks, plan,
  explain, the plan diff (review) and the CLI.
An import may only go to the same layer or one below, never in a cycle; only infra (and the offline
runner, which hosts Pulumi's mock engine) imports Pulumi. The policy pack (policies/gpu_batch_policies)
is a deliberate second opinion: it reads only the engine's view of the resources, never the model.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

CONFIG, CATALOG, DESIGN, MODEL, PURE, INFRA, TOOLS = range(7)
LAYER_NAMES = {CONFIG: "model/config", CATALOG: "model/catalog", DESIGN: "model/design", MODEL: "model/checks",
               PURE: "pure", INFRA: "infra", TOOLS: "tools"}
_M = "components.model."
# Longest prefix wins. Inside the model: the config as written (schema, its errors and files, the
# queue-class table) <- the catalogs of machines and prices <- what is derived from them (flavors, the
# quota ledger, names, HA) <- the checks and the loader that runs them (the package's default).
LAYERS = {
    "components.model": MODEL,
    **{_M + m: CONFIG for m in ("errors", "yaml_input", "stack_file", "queue_classes", "datasets", "schema",
                                "translate", "quantity", "derived", "schema_base", "fleet_schema")},
    **{_M + m: CATALOG for m in ("catalog", "prices", "allocatable")},
    **{_M + m: DESIGN for m in ("sharing", "priorities", "flavors", "ledger", "capacity", "names", "ha",
                                "reachability", "fleet")},
    "components.kubernetes": PURE, "components.monitoring": PURE, "components.workloads": PURE,
    "components.training": PURE, "components.cost": PURE,
    "components.gcp": INFRA, "components.platform": INFRA, "components.kubernetes.resources": INFRA,
    "components.kubernetes.layer": INFRA,
    "components.kubernetes.fleet_layer": INFRA, "components.monitoring.component": INFRA,
    "components.monitoring.layer": INFRA, "components.cost.component": INFRA,
    "components.capture": TOOLS, "components.stacks": TOOLS, "components.plan": TOOLS, "components.review": TOOLS,
    "components.progress": TOOLS, "components.yaml_output": TOOLS,
    "components.explain": TOOLS, "components.cli": TOOLS, "policies.runner": TOOLS, "policies": TOOLS,
}
PULUMI = {"pulumi", "pulumi_gcp", "pulumi_kubernetes", "pulumi_random"}
ENGINE_HOST = "components.capture"
PACK = "policies.gpu_batch_policies"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted([*REPO.glob("components/**/*.py"), *REPO.glob("policies/**/*.py")]):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _resolve(target: str) -> str | None:
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def _runtime_nodes(tree: ast.AST):
    """Every node except what sits under `if TYPE_CHECKING:` (annotations only, never imported at run time)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(name: str, path: Path) -> tuple[set[str], set[str]]:
    """(modules of this repo it imports, top-level external packages it imports)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    local, external = set(), set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" for a in node.names] if base.split(".")[0] in ("components", "policies") else [base]
        for target in targets:
            if target.split(".")[0] in ("components", "policies"):
                resolved = _resolve(target)
                if resolved and resolved != name:
                    local.add(resolved)
            else:
                external.add(target.split(".")[0])
    return local, external


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def layer(name: str) -> int:
    if name == "components":
        return MODEL  # the empty package root
    prefix = max((p for p in LAYERS if name == p or name.startswith(p + ".")), key=len)
    return LAYERS[prefix]


def test_every_module_has_a_layer():
    assert [n for n in MODULES if n != "components" and not any(n == p or n.startswith(p + ".") for p in LAYERS)] == []


def test_imports_never_go_up_a_layer():
    upward = sorted(f"{a} ({LAYER_NAMES[layer(a)]}) imports {b} ({LAYER_NAMES[layer(b)]})"
                    for a, (local, _) in GRAPH.items() if not a.startswith(PACK)
                    for b in local if layer(b) > layer(a))
    assert upward == []


def test_no_import_cycles():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v][0]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert cycles == []


def test_only_the_infra_layer_imports_pulumi():
    importers = sorted(n for n, (_, external) in GRAPH.items() if external & PULUMI)
    assert [n for n in importers if layer(n) != INFRA and n != ENGINE_HOST] == []


def test_the_policy_pack_never_reads_the_model():
    """A second opinion must not share the code it checks: the pack sees only the engine's view."""
    assert sorted(b for a, (local, _) in GRAPH.items() if a.startswith(PACK) for b in local if not b.startswith(PACK)) == []


def test_platform_is_data_not_a_package():
    """An importable `platform/` would shadow the standard library's `platform` module."""
    assert list((REPO / "platform").rglob("*.py")) == []
