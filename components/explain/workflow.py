"""An Argo Workflow (or WorkflowTemplate) as Kueue sees it: one plain pod per step, in the order they run.

Kueue v0.19.2 site/content/en/docs/tasks/run/external_workloads/argo_workflow.md: Argo steps are admitted
through the plain-pod integration, each pod its own Workload (pkg/controller/jobs/pod/pod_controller.go
`constructPodSet`: one pod set `main` of count 1 with the pod's own spec), and "earlier steps run while a
later step waits for quota". Argo v4.0.6:
- workflow/controller/operator.go `executeTemplate`: container, script, containerSet, resource and data
  templates each create a pod; dag and steps run in the controller; suspend waits;
- workflowpod.go `createWorkflowPod`: the container is `main`; labels are `spec.podMetadata` then the
  template's `metadata`; priorityClassName, serviceAccountName, securityContext, nodeSelector and
  tolerations are the template's, else the workflow's; volumes are both; Argo adds its `wait` container
  (and an `init` container) with the controller's executor.resources, which the platform leaves empty,
  so the namespace LimitRange's defaults apply to them like to any container without requests;
- a step that mounts the team bucket (`gke-gcsfuse/volumes: "true"`) also has GKE's FUSE sidecar, injected
  before Kueue reads the pod, so its quota counts it (components/explain/gcsfuse.py);
- a dag task runs when its `dependencies`/`depends` are done, `steps` run group after group; a task's
  `withItems` / `withSequence` / `withParam` fans it out into one pod per item, at most `parallelism`
  at once (the dag/steps template's, and the workflow's `spec.parallelism`).
Steps of one stage are queued together (a fan-out's pods compete for the same quota); each stage is
explained against the quota held before the workflow starts, since the stages before it have finished.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Optional

from .admission import rejections
from .cluster import ClusterView
from .gcsfuse import with_gcsfuse_sidecar
from .jobs import namespace_labels
from .queue import simulate
from .simulate import ADMITTED, REJECTED, Verdict, _policy_split
from .workload import WORKFLOW_KINDS, PodSet, Workload, WorkloadError, _check_pod_spec, _copy, _want
ARGO_GROUP = "argoproj.io"
_POD_TYPES = ("container", "script", "containerSet", "resource", "data")
_INLINE = ("dag", "steps", "suspend")
_DEPENDS_RESULT = re.compile(r"\.[A-Za-z]+")  # `task.Succeeded`, `.Failed`, `.AnySucceeded`, ...
_DEPENDS_NAME = re.compile(r"[A-Za-z0-9_-]+")


def is_workflow(obj: dict) -> bool:
    return isinstance(obj, dict) and obj.get("kind") in WORKFLOW_KINDS and str(obj.get("apiVersion", "")).startswith(
        f"{ARGO_GROUP}/")


@dataclass
class Step:
    """One step that makes pods: which template, where it is called from, how many pods run at once."""

    task: str  # e.g. "main/train"
    template: str
    stage: int
    pods: int  # pods queued together (the fan-out, capped by parallelism); 1 when unknown
    count_note: str  # how `pods` was found, or why it cannot be known
    workloads: list[Workload]


def _fan_out(call: dict, path: str) -> tuple[Optional[int], str]:
    if "withItems" in call:
        items = _want(call["withItems"], list, f"{path}.withItems", "a list")
        return len(items), f"withItems: {len(items)} items"
    if "withSequence" in call:
        seq = _want(call["withSequence"], dict, f"{path}.withSequence", "a mapping (count, or start and end)")
        try:
            if "count" in seq:
                return int(str(seq["count"])), f"withSequence count {seq['count']}"
            return int(str(seq.get("end", 0))) - int(str(seq.get("start", 0))) + 1, "withSequence start..end"
        except ValueError:
            return None, f"withSequence {json.dumps(seq)} is decided when the workflow runs"
    if "withParam" in call:
        try:
            items = json.loads(str(call["withParam"]))
        except ValueError:
            items = None
        if isinstance(items, list):
            return len(items), f"withParam: {len(items)} items"
        return None, f"withParam {call['withParam']} is decided when the workflow runs"
    return 1, ""


def _depends_on(task: dict, path: str) -> list[str]:
    deps = list(_want(task.get("dependencies"), list, f"{path}.dependencies", "a list of task names") or [])
    depends = _want(task.get("depends"), str, f"{path}.depends", "a string such as 'a && b.Succeeded'")
    if depends:
        deps += _DEPENDS_NAME.findall(_DEPENDS_RESULT.sub("", depends))
    return deps


class _Walk:
    def __init__(self, obj: dict, templates: dict[str, dict], executor: dict):
        self.obj, self.templates, self.executor = obj, templates, executor
        self.spec = obj.get("spec") or {}
        self.steps: list[Step] = []

    def call(self, name: str, task: str, stage: int, count: Optional[int], note: str, cap: Optional[int],
             path: str, seen: tuple[str, ...]) -> int:
        """Walk template `name` called from `task` starting at `stage`; return the last stage it uses."""
        if name not in self.templates:
            raise WorkloadError(f"{path}: template {name!r} is not in spec.templates (templateRef to another "
                                "WorkflowTemplate is not read by explain); fix: name one of "
                                f"{', '.join(sorted(self.templates))}")
        if name in seen:
            raise WorkloadError(f"{path}: template {name!r} calls itself; explain cannot count its pods")
        tmpl = self.templates[name]
        where = f"spec.templates[{list(self.templates).index(name)}]"
        limit = _min(cap, tmpl.get("parallelism"))
        if "dag" in tmpl:
            tasks = _want((tmpl["dag"] or {}).get("tasks"), list, f"{where}.dag.tasks", "a list of tasks") or []
            stages: dict[str, int] = {}
            pending = list(enumerate(tasks))
            while pending:
                progressed = False
                for i, t in list(pending):
                    tpath = f"{where}.dag.tasks[{i}]"
                    _want(t, dict, tpath, "a task mapping (name, template)")
                    deps = _depends_on(t, tpath)
                    missing = [d for d in deps if d not in {x.get("name") for x in tasks}]
                    if missing:
                        raise WorkloadError(f"{tpath}: depends on {', '.join(missing)}, which is not a task of this "
                                            "dag; fix: name a task of the same dag")
                    if all(d in stages for d in deps):
                        start = max((stages[d] + 1 for d in deps), default=stage)
                        n, why = _fan_out(t, tpath)
                        stages[t.get("name")] = self.call(t.get("template"), f"{task}/{t.get('name')}", start, n, why,
                                                          limit, tpath, seen + (name,))
                        pending.remove((i, t))
                        progressed = True
                if not progressed:
                    raise WorkloadError(f"{where}.dag.tasks: the dependencies form a cycle; fix: remove one")
            return max(stages.values(), default=stage)
        if "steps" in tmpl:
            groups = _want(tmpl["steps"], list, f"{where}.steps", "a list of step groups") or []
            current = stage
            for g, group in enumerate(groups):
                ends = [self.call(s.get("template"), f"{task}/{s.get('name')}", current, *_fan_out(s, f"{where}.steps[{g}][{i}]"),
                                  limit, f"{where}.steps[{g}][{i}]", seen + (name,))
                        for i, s in enumerate(_want(group, list, f"{where}.steps[{g}]", "a list of steps") or [])]
                current = max(ends, default=current) + 1
            return current - 1
        if not any(k in tmpl for k in _POD_TYPES):
            return stage  # suspend, http, plugin: no step pod (the admission policy refuses http/plugin)
        pods = count if count is not None else 1
        concurrent = _min(pods, limit)
        if count is not None and concurrent < count:
            note += f", {concurrent} at a time (parallelism)"
        if count is None:
            note += ": explain shows one pod and cannot say how many more wait"
        self.steps.append(Step(task, name, stage, concurrent, note.lstrip(", "),
                               [self.pod(tmpl, where, task, i) for i in range(concurrent)]))
        return stage

    def pod(self, tmpl: dict, where: str, task: str, index: int) -> Workload:
        spec = self.spec
        pod_meta = spec.get("podMetadata") or {}
        meta = tmpl.get("metadata") or {}
        labels = {**(pod_meta.get("labels") or {}), **(meta.get("labels") or {})}
        annotations = {**(pod_meta.get("annotations") or {}), **(meta.get("annotations") or {})}
        if "containerSet" in tmpl:
            mains = list(((tmpl["containerSet"] or {}).get("containers")) or [])
        elif "container" in tmpl or "script" in tmpl:
            mains = [{**(tmpl.get("container") or tmpl.get("script") or {}), "name": "main"}]
        else:  # resource/data: argoexec runs as main with the executor's resources
            mains = [{"name": "main"}]
        argo = {k: _copy(v) for k, v in self.executor.items() if k in ("resources", "securityContext") and v}
        pod: dict = {"containers": [*(_copy(c) for c in mains), *(_copy(c) for c in tmpl.get("sidecars") or []),
                                    {"name": "wait", **argo}],
                     "initContainers": [{"name": "init", **_copy(argo)},
                                        *(_copy(c) for c in tmpl.get("initContainers") or [])],
                     "volumes": [*(spec.get("volumes") or []), *(tmpl.get("volumes") or [])]}
        for field, fallback in (("priorityClassName", "podPriorityClassName"), ("serviceAccountName", None),
                                ("securityContext", None), ("nodeSelector", None), ("tolerations", None),
                                ("affinity", None)):
            value = tmpl.get(field, spec.get(fallback or field))
            if value is not None:
                pod[field] = _copy(value)
        _check_pod_spec(pod, f"{where} (its step pod)")
        pod = with_gcsfuse_sidecar(pod, annotations)  # Kueue counts the pod as stored, GKE's sidecar included
        meta_obj = self.obj.get("metadata") or {}
        name = f"{meta_obj.get('name')}-{task.rsplit('/', 1)[-1]}" + (f"-{index}" if index else "")
        fake = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": meta_obj.get("namespace"),
                                                                 "labels": labels, "annotations": annotations},
                "spec": pod}
        return Workload("Pod", name, meta_obj.get("namespace"), labels, [PodSet("main", 1, pod, annotations, where)], fake)


def _min(a: Optional[int], b) -> Optional[int]:
    values = [int(v) for v in (a, b) if isinstance(v, int) and not isinstance(v, bool)]
    return min(values) if values else a


def workflow_steps(obj: dict, others: tuple[dict, ...] = (), executor: Optional[dict] = None) -> list[Step]:
    """The step pods of a Workflow/WorkflowTemplate, stage by stage. `others`: objects of the same file
    (a Workflow's `workflowTemplateRef` is looked up there); `executor`: the Argo chart's `executor` values
    (resources, securityContext of the init/wait containers). WorkloadError names the field path and the fix."""
    spec = _want(obj.get("spec"), dict, "spec", "a mapping (entrypoint, templates)") or {}
    ref = _want(spec.get("workflowTemplateRef"), dict, "spec.workflowTemplateRef", "a mapping (name)")
    if ref:
        target = next((o for o in others if o.get("kind") == "WorkflowTemplate"
                       and (o.get("metadata") or {}).get("name") == ref.get("name")), None)
        if target is None:
            raise WorkloadError(f"spec.workflowTemplateRef: WorkflowTemplate {ref.get('name')!r} is not in the file; "
                                "fix: put it in the same file (explain reads no cluster) or explain the "
                                "WorkflowTemplate itself")
        # JoinWorkflowSpec (workflow/util/merge.go): the Workflow's own fields win over the template's.
        spec = {**(target.get("spec") or {}), **{k: v for k, v in spec.items() if k != "workflowTemplateRef"}}
        obj = {**obj, "spec": spec}
    templates = _want(spec.get("templates"), list, "spec.templates", "a list of templates") or []
    by_name = {}
    for i, t in enumerate(templates):
        _want(t, dict, f"spec.templates[{i}]", "a template mapping (name, container | dag | steps ...)")
        by_name[t.get("name")] = t
    entry = spec.get("entrypoint")
    if not entry:
        raise WorkloadError("spec.entrypoint is missing: name the template the workflow starts with "
                            f"(one of {', '.join(str(n) for n in by_name) or 'no template'})")
    walk = _Walk(obj, by_name, executor or {})
    walk.call(entry, entry, 1, 1, "", spec.get("parallelism"), "spec.entrypoint", ())
    if not walk.steps:
        raise WorkloadError("the workflow runs no pod (no container, script, containerSet, resource or data "
                            "template is reached from spec.entrypoint)")
    return sorted(walk.steps, key=lambda s: s.stage)


def explain_workflow(cluster: ClusterView, obj: dict, others: tuple[dict, ...], used: list, namespace: Optional[str],
                     now: float, executor: Optional[dict]) -> tuple[str, bool]:
    """The verdict text for a workflow's step pods and whether every one is admitted."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or namespace
    label = f"{obj['kind']} {ns}/{meta.get('name')}" if ns else f"{obj['kind']} {meta.get('name')}"
    ns_labels = namespace_labels(cluster, ns) if ns else None
    steps = workflow_steps(obj, others, executor)  # a shape the API server cannot decode is bad input first
    denied = rejections(cluster.objects, obj, ns_labels) if ns_labels is not None else []
    if denied:
        split = [_policy_split(d) for d in denied]
        verdict = Verdict(REJECTED, f"{label} is rejected at submission by a ValidatingAdmissionPolicy: no step runs",
                          [r for r, _ in split], [f for _, f in split])
        return verdict.format(), False
    pods = sum(s.pods for s in steps)
    lines = [f"{label}: {len(steps)} pod step(s), {pods} pod(s) queued (Kueue admits each step pod as its own "
             "Workload; each stage is explained with the quota held before the workflow starts)"]
    if executor is None:
        lines.append("note: this stack installs no Argo Workflows (no team has pipelines: true); the step pods' "
                     "init/wait containers are taken without the executor's settings")
    ok = True
    for step in steps:
        result = simulate(cluster, step.workloads, list(used), ns, now)
        count = f"{step.pods} pod(s)" + (f", {step.count_note}" if step.count_note else "")
        lines.append(f"\n[stage {step.stage}] step {step.task} (template {step.template}): {count}")
        first = result.verdicts[0]
        lines.append(first.format())
        for i, verdict in enumerate(result.verdicts[1:], start=2):
            lines.append(f"pod {i}: {verdict.status.upper()}: {verdict.summary}")
            lines += [f"  because: {r}" for r in verdict.reasons] + [f"  fix: {f}" for f in verdict.fixes]
        ok = ok and all(v.status == ADMITTED for v in result.verdicts)
    return "\n".join(lines), ok
