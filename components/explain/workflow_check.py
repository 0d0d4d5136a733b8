"""What Argo refuses in a Workflow's templates, and the bounds on how much of one `explain` expands.

Argo v4.0.6, each rule where Argo has it:
- workflow/validate/validate.go `validateWorkflowFieldNames`: template, dag task and step names are required,
  unique and match `[a-zA-Z0-9][-a-zA-Z0-9]*` (workflowFieldNameFmt), at most 128 characters;
  `validateDAG`: "cannot use both 'depends' and 'dependencies'", "dependency '%s' not defined",
  `verifyNoCycles` "dependency cycle detected"; `addItemsToScope`: "only one of count or end can be
  defined in withSequence";
- workflow/common/ancestry.go `ValidateTaskResults`: a `depends` result is one of Succeeded, Failed,
  Errored, Skipped, Omitted, Daemoned, AnySucceeded, AllFailed; task names are matched by
  `[a-zA-Z0-9][-a-zA-Z0-9]*`; the expression itself is evaluated by expr at run time
  (workflow/controller/dag.go `evaluateDependsLogic`), so one that does not parse fails the workflow;
- workflow/controller/operator.go `expandSequence`: count 0 is no item, end = start + count - 1, and a
  start above the end counts down (so a negative count runs |count| + 2 items); `checkParallelism`: no
  pod starts while the active pods are >= parallelism (0 or less: nothing ever runs);
- workflow/controller/controller.go `maxAllowedStackDepth` = 100: deeper template nesting fails with
  "Maximum recursion depth exceeded".
explain's own bounds (so a file never makes it hang or take gigabytes): MAX_CALLS template calls
expanded and MAX_PODS step pods simulated per workflow.
"""

from __future__ import annotations

import json
import re
from typing import Callable, Optional

from components.model.quantity import parse_quantity

from .workload import WorkloadError, _want

NAME = re.compile(r"[a-zA-Z0-9][-a-zA-Z0-9]*\Z")
NAME_MAX = 128
RESULTS = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed")
MAX_DEPTH = 100  # Argo's maxAllowedStackDepth
MAX_CALLS = 10_000
MAX_PODS = 1_000
_TOKEN = re.compile(r"\s*(?:(&&|\|\|)|(!)|(\()|(\))|([a-zA-Z0-9][-a-zA-Z0-9]*)(?:\.([A-Za-z]+))?)")


def name_of(value, path: str, what: str) -> str:
    """A template/task/step name as Argo's validation accepts it."""
    if value is None or value == "":
        raise WorkloadError(f"{path}.name is missing: every {what} needs a name (Argo refuses the workflow: "
                            "name is required); fix: add name: <lowercase-with-dashes>")
    _want(value, str, f"{path}.name", "a string")
    if len(value) > NAME_MAX or not NAME.match(value):
        raise WorkloadError(f"{path}.name {value!r} is not a valid {what} name (Argo: letters, digits and '-', "
                            f"starting with a letter or digit, at most {NAME_MAX}); fix: rename it, e.g. "
                            f"{re.sub(r'[^-a-zA-Z0-9]', '-', value)[:NAME_MAX].strip('-') or 'step'}")
    return value


def unique_names(items: list, path_of: Callable[[int], str], what: str, shape: str, scope: str) -> dict[str, int]:
    """name -> index of each item: a mapping (`shape`) with a valid name no other item has (`scope`, said after
    "not unique", narrows where; Argo v4.0.6 validate.go refuses duplicated template, dag task and step names)."""
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        path = path_of(i)
        _want(item, dict, path, shape)
        name = name_of(item.get("name"), path, what)
        if name in seen:
            raise WorkloadError(f"{path}.name {name!r} is not unique{scope} ({path_of(seen[name])} has it; Argo "
                                "refuses the workflow); fix: rename one of them")
        seen[name] = i
    return seen


def templates_by_name(templates: list) -> dict[str, tuple[int, dict]]:
    """spec.templates by name, each a mapping with a unique valid name and fields of the right kind."""
    found: dict[str, tuple[int, dict]] = {}
    names = unique_names(templates, lambda i: f"spec.templates[{i}]", "template",
                         "a template mapping (name, container | dag | steps ...)", "")
    for name, i in names.items():
        t, where = templates[i], f"spec.templates[{i}]"
        for key, kind, what in (("dag", dict, "a mapping (tasks)"), ("steps", list, "a list of step groups"),
                                ("container", dict, "a container mapping"), ("script", dict, "a container mapping"),
                                ("containerSet", dict, "a mapping (containers)"), ("metadata", dict, "a mapping (labels, annotations)"),
                                ("volumes", list, "a list of volumes"), ("sidecars", list, "a list of containers"),
                                ("initContainers", list, "a list of containers")):
            _want(t.get(key), kind, f"{where}.{key}", what)
        for key in ("labels", "annotations"):
            _want((t.get("metadata") or {}).get(key), dict, f"{where}.metadata.{key}", "a mapping of key: value")
        _want((t.get("containerSet") or {}).get("containers"), list, f"{where}.containerSet.containers", "a list of containers")
        parallelism(t.get("parallelism"), f"{where}.parallelism")
        _negatives(t, where)
        found[name] = (i, t)
    return found


def _negatives(tmpl: dict, where: str) -> None:
    """A negative request or limit in a step's containers: the API server refuses the step pod."""
    containers = [(f"{where}.{k}", tmpl[k]) for k in ("container", "script") if isinstance(tmpl.get(k), dict)]
    for key in ("sidecars", "initContainers"):
        containers += [(f"{where}.{key}[{j}]", c) for j, c in enumerate(tmpl.get(key) or [])]
    containers += [(f"{where}.containerSet.containers[{j}]", c)
                   for j, c in enumerate((tmpl.get("containerSet") or {}).get("containers") or [])]
    for path, c in containers:
        resources = c.get("resources") if isinstance(c, dict) else None
        for kind in ("requests", "limits"):
            values = (resources or {}).get(kind) if isinstance(resources, dict) else None
            for res, value in (values.items() if isinstance(values, dict) else ()):
                amount = None if isinstance(value, bool) else parse_quantity(str(value).strip())
                if amount is not None and amount < 0:
                    raise WorkloadError(f"{path}.resources.{kind}[{res}] is {value}: a quantity cannot be negative (the "
                                        "API server refuses the step pod: must be greater than or equal to 0); fix: "
                                        "set it to 0 or more, e.g. cpu: 2")


def parallelism(value, path: str) -> Optional[int]:
    _want(value, int, path, "an integer")
    if value is not None and value < 1:
        raise WorkloadError(f"{path} is {value}: Argo starts no pod while the active pods are >= parallelism "
                            "(operator.go checkParallelism), so nothing would ever run; fix: 1 or more, or remove it")
    return value


def _sequence_int(value, path: str) -> Optional[int]:
    """An IntOrString of withSequence: its integer, or None when a parameter decides it at run time."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise WorkloadError(f"{path} is {type(value).__name__}; it must be an integer or a string (the API server "
                            "cannot decode it)")
    if isinstance(value, str) and "{{" in value:
        return None
    try:
        return int(value)
    except ValueError:
        raise WorkloadError(f"{path} is {value!r}, not an integer: Argo fails the step at run time (operator.go "
                            "expandSequence: strconv.Atoi); fix: a whole number, e.g. \"3\"") from None


def fan_out(call: dict, path: str) -> tuple[Optional[int], str]:
    """How many times a task/step runs (None: decided at run time) and how that was found; no item list
    is built, so a count of 10^9 costs nothing."""
    if "withItems" in call:
        items = _want(call["withItems"], list, f"{path}.withItems", "a list") or []
        return len(items), f"withItems: {len(items)} items"
    if "withSequence" in call:
        seq = _want(call["withSequence"], dict, f"{path}.withSequence", "a mapping (count, or start and end)") or {}
        if "count" in seq and "end" in seq:
            raise WorkloadError(f"{path}.withSequence has both count and end (Argo refuses it: only one of count or end "
                                "can be defined in withSequence); fix: keep one")
        if "count" not in seq and "end" not in seq:
            raise WorkloadError(f"{path}.withSequence has neither count nor end (Argo fails the step at run time); "
                                "fix: add count: \"N\"")
        start = _sequence_int(seq.get("start", 0), f"{path}.withSequence.start")
        if "count" in seq:
            count = _sequence_int(seq["count"], f"{path}.withSequence.count")
            if count is not None and count < 0:
                raise WorkloadError(f"{path}.withSequence.count is {count}: Argo counts down from start to "
                                    f"start{count}-1 and would run {-count + 2} items (operator.go expandSequence), "
                                    "never what a negative count means; fix: 0 or more")
            if count is None:
                return None, f"withSequence {json.dumps(seq)} is decided when the workflow runs"
            return count, f"withSequence count {count}"
        end = _sequence_int(seq["end"], f"{path}.withSequence.end")
        if start is None or end is None:
            return None, f"withSequence {json.dumps(seq)} is decided when the workflow runs"
        return abs(end - start) + 1, f"withSequence {start}..{end}"
    if "withParam" in call:
        param = _want(call["withParam"], str, f"{path}.withParam", "a string (a JSON list or an expression)")
        try:
            items = json.loads(param)
        except ValueError:
            items = None
        if isinstance(items, list):
            return len(items), f"withParam: {len(items)} items"
        return None, f"withParam {param} is decided when the workflow runs"
    return 1, ""


def depends_on(task: dict, path: str) -> list[str]:
    """The task names a dag task waits for, from `dependencies` or a `depends` expression."""
    deps = _want(task.get("dependencies"), list, f"{path}.dependencies", "a list of task names") or []
    for j, d in enumerate(deps):
        _want(d, str, f"{path}.dependencies[{j}]", "a task name")
    expr = _want(task.get("depends"), str, f"{path}.depends", "a string such as 'a && b.Succeeded'")
    if expr and deps:
        raise WorkloadError(f"{path} has both depends and dependencies (Argo refuses the dag: cannot use both "
                            "'depends' and 'dependencies'); fix: keep one, e.g. depends: \"a && b\"")
    return list(deps) + (_parse_depends(expr, f"{path}.depends") if expr else [])


def _parse_depends(expr: str, path: str) -> list[str]:
    names, depth, operand, pos = [], 0, True, 0
    bad = f"{path} {expr!r} does not parse (Argo evaluates it when the dag runs and fails the workflow)"
    while pos < len(expr.rstrip()):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise WorkloadError(f"{bad}: unexpected {expr[pos:].strip()[:20]!r}; fix: task names with .Result, "
                                "joined by && and ||, ! and parentheses, e.g. \"a && (b.Succeeded || c.Failed)\"")
        op, neg, opened, closed, name, result = m.groups()
        if (operand and (op or closed)) or (not operand and (neg or opened or name)):
            raise WorkloadError(f"{bad}: {m.group(0).strip()!r} where a {'task' if operand else 'operator'} is expected; "
                                "fix: e.g. \"a && (b.Succeeded || c.Failed)\"")
        if result is not None and result not in RESULTS:
            raise WorkloadError(f"{path}: task result {result!r} for task {name!r} is invalid (Argo ancestry.go "
                                f"ValidateTaskResults); fix: one of {', '.join(RESULTS)}")
        depth += 1 if opened else -1 if closed else 0
        if depth < 0:
            raise WorkloadError(f"{bad}: a ')' closes nothing; fix: balance the parentheses")
        if name:
            names.append(name)
        operand = bool(op or neg or opened)
        pos = m.end()
    if operand or depth:
        raise WorkloadError(f"{bad}: it ends {'unclosed' if depth else 'after an operator'}; fix: e.g. \"a && b\"")
    return names


def dag_order(tasks: list, where: str) -> list[tuple[int, dict, list[str]]]:
    """The dag's tasks in an order where each comes after what it depends on (linear time); a missing or
    duplicated name, an unknown dependency and a cycle are refused with their path."""
    index = unique_names(tasks, lambda i: f"{where}.dag.tasks[{i}]", "dag task", "a task mapping (name, template)",
                         " in this dag")
    deps: dict[str, list[str]] = {}
    for name, i in index.items():
        deps[name] = depends_on(tasks[i], f"{where}.dag.tasks[{i}]")
        for d in deps[name]:
            if d not in index:
                raise WorkloadError(f"{where}.dag.tasks[{i}]: dependency {d!r} is not a task of this dag (Argo: "
                                    f"dependency not defined); fix: one of {', '.join(sorted(index))}")
    waiting = {n: len(set(d)) for n, d in deps.items()}
    users: dict[str, list[str]] = {n: [] for n in index}
    for n, d in deps.items():
        for x in set(d):
            users[x].append(n)
    ready = [n for n, k in waiting.items() if k == 0]
    order = []
    while ready:
        n = ready.pop()
        order.append(n)
        for u in users[n]:
            waiting[u] -= 1
            if waiting[u] == 0:
                ready.append(u)
    if len(order) < len(index):
        left = {n for n in index if n not in set(order)}
        node, trail = next(iter(sorted(left))), []
        while node not in trail:
            trail.append(node)
            node = next(d for d in deps[node] if d in left)
        cycle = trail[trail.index(node):] + [node]
        raise WorkloadError(f"{where}.dag.tasks: dependency cycle (each waits for the next): {' -> '.join(cycle)} (Argo refuses the workflow: "
                            "dependency cycle detected); fix: remove one of these dependencies")
    return [(index[n], tasks[index[n]], deps[n]) for n in order]
