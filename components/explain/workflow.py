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

A step's `templateRef` is followed into a WorkflowTemplate of the same file (or of a file given with it,
`explain --templates`), as Argo v4.0.6 resolves it (workflow/templateresolution/context.go):
`GetTemplateFromRef` takes the named template of the named
WorkflowTemplate of the workflow's namespace (clusterScope: a ClusterWorkflowTemplate, which the platform
does not install) and adds that WorkflowTemplate's `spec.podMetadata` to the template's metadata where
the template sets no such key (`addPodMetadata`); `WithTemplateHolder` makes that WorkflowTemplate the
base in which the template's own `template:` names are looked up. The pod's other fields stay the running
workflow's (workflowpod.go reads woc.execWf.Spec). Nesting, template-call and pod bounds count across
references, and a cycle through references is refused like one inside a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .admission import rejections
from .cluster import ClusterView
from .gcsfuse import with_gcsfuse_sidecar
from .jobs import namespace_labels
from .queue import simulate
from .simulate import ADMITTED, REJECTED, Verdict, _policy_split
from .workflow_check import (MAX_CALLS, MAX_DEPTH, MAX_PODS, dag_order, fan_out, parallelism,
                             templates_by_name, unique_names)
from .workload import WORKFLOW_KINDS, PodSet, Workload, WorkloadError, _check_pod_spec, _copy, _want
ARGO_GROUP = "argoproj.io"
_POD_TYPES = ("container", "script", "containerSet", "resource", "data")
_INLINE = ("dag", "steps", "suspend")


def is_workflow(obj: dict) -> bool:
    return isinstance(obj, dict) and obj.get("kind") in WORKFLOW_KINDS and str(obj.get("apiVersion", "")).startswith(
        f"{ARGO_GROUP}/")


@dataclass
class Step:
    """One step that makes pods: which template, where it is called from, how many pods run at once."""

    task: str  # e.g. "main/train"
    template: str  # "<WorkflowTemplate>.<template>" when reached through a templateRef
    stage: int
    pods: int  # pods queued together (the fan-out, capped by parallelism); 1 when unknown
    count_note: str  # how `pods` was found, or why it cannot be known
    workloads: list[Workload]


class _Walk:
    def __init__(self, obj: dict, templates: dict[str, tuple[int, dict]], executor: dict, library: dict[str, dict]):
        self.obj, self.executor, self.library = obj, executor, library
        self.bases: dict[Optional[str], dict[str, tuple[int, dict]]] = {None: templates}  # None: the workflow's own
        self.spec = obj.get("spec") or {}
        self.steps: list[Step] = []
        self.calls = self.pods = 0

    def _referenced(self, value, path: str) -> tuple[str, str]:
        """(WorkflowTemplate, template) a `templateRef` names, its WorkflowTemplate's templates checked once
        (validate.go validateTemplateHolder: name and template required; context.go GetTemplateFromRef)."""
        ref = _want(value, dict, path, "a mapping (name, template)") or {}
        if _want(ref.get("clusterScope"), bool, f"{path}.clusterScope", "true or false"):
            raise WorkloadError(f"{path}.clusterScope: true names a ClusterWorkflowTemplate, which this platform does "
                                "not install (no CRD, and Argo's controller is not granted them), so the workflow would "
                                "fail; fix: use a WorkflowTemplate in the team's namespace (drop clusterScope) and put "
                                "it in the same file")
        wft = _want(ref.get("name"), str, f"{path}.name", "a WorkflowTemplate name")
        tmpl = _want(ref.get("template"), str, f"{path}.template", "a template name")
        if not wft or not tmpl:
            raise WorkloadError(f"{path}: a templateRef needs both name and template (Argo refuses the workflow: "
                                "resource name is required / template name is required); fix: set both")
        target = self.library.get(wft)
        if target is None:
            raise WorkloadError(f"{path}: WorkflowTemplate {wft!r} is not in the file (explain reads no cluster); fix: "
                                "put it in the same file or pass its file with --templates")
        mine = (self.obj.get("metadata") or {}).get("namespace")
        theirs = (target.get("metadata") or {}).get("namespace")
        if mine and theirs and mine != theirs:
            raise WorkloadError(f"{path}: WorkflowTemplate {wft!r} is in namespace {theirs!r}, the workflow in {mine!r}; "
                                "Argo looks a templateRef up in the workflow's own namespace; fix: put the "
                                "WorkflowTemplate in the workflow's namespace")
        if wft not in self.bases:
            where = f"WorkflowTemplate {wft}"
            spec = _want(target.get("spec"), dict, f"{where} spec", "a mapping (templates)") or {}
            pod_meta = _want(spec.get("podMetadata"), dict, f"{where} spec.podMetadata", "a mapping (labels, annotations)")
            for key in ("labels", "annotations"):
                _want((pod_meta or {}).get(key), dict, f"{where} spec.podMetadata.{key}", "a mapping of key: value")
            templates = _want(spec.get("templates"), list, f"{where} spec.templates", "a list of templates") or []
            try:
                self.bases[wft] = templates_by_name(templates)
            except WorkloadError as err:
                raise WorkloadError(f"{where}: {err}") from None
        return wft, tmpl

    def call(self, ref: dict, task: str, stage: int, count: Optional[int], note: str, cap: Optional[int],
             path: str, seen: tuple[str, ...], base: Optional[str] = None) -> int:
        """Walk the template `ref` (a task or step) names, in the WorkflowTemplate `base` (None: the workflow's
        own templates), called from `task` starting at `stage`, `count` times at once (None: unknown);
        return the last stage it uses."""
        name = ref.get("template")
        if "templateRef" in ref:
            if name is not None:
                raise WorkloadError(f"{path}: template and templateRef are both set (Argo refuses the workflow: template "
                                    "name cannot be specified with templateRef); fix: keep one")
            base, name = self._referenced(ref["templateRef"], f"{path}.templateRef")
        _want(name, str, f"{path}.template", "a template name")
        templates = self.bases[base]
        in_base = "spec.templates" + ("" if base is None else f" of WorkflowTemplate {base}")
        if name not in templates:
            raise WorkloadError(f"{path}: template {name!r} is not in {in_base}; fix: name one of "
                                f"{', '.join(sorted(templates)) or 'no template'}")
        key = name if base is None else f"{base}.{name}"
        if key in seen:
            name = key
            raise WorkloadError(f"{path}: template {name!r} calls itself ({' -> '.join(seen[seen.index(name):] + (name,))}); "
                                "Argo runs such a recursion until a `when` stops it (at most "
                                f"{MAX_DEPTH} deep), so explain cannot count its pods; fix: explain a copy with the "
                                "recursion unrolled")
        if len(seen) >= MAX_DEPTH:
            raise WorkloadError(f"{path}: templates nest more than {MAX_DEPTH} deep (Argo fails the workflow: Maximum "
                                "recursion depth exceeded); fix: flatten the nesting")
        self.calls += 1
        if self.calls > MAX_CALLS:
            raise WorkloadError(f"{path}: the workflow expands to more than {MAX_CALLS:,} template calls (explain's "
                                "bound: nested dags/steps multiply); fix: explain a smaller copy")
        i, tmpl = templates[name]
        where = f"spec.templates[{i}]" if base is None else f"WorkflowTemplate {base} spec.templates[{i}]"
        limit = _min(cap, tmpl.get("parallelism"))
        inner = seen + (key,)
        if "dag" in tmpl:
            tasks = _want((tmpl["dag"] or {}).get("tasks"), list, f"{where}.dag.tasks", "a list of tasks") or []
            stages: dict[str, int] = {}
            for j, t, deps in dag_order(tasks, where):
                start = max((stages[d] + 1 for d in deps), default=stage)
                n, why = fan_out(t, f"{where}.dag.tasks[{j}]")
                stages[t["name"]] = self.call(t, f"{task}/{t['name']}", start, _times(count, n), _within(why, count), limit,
                                              f"{where}.dag.tasks[{j}]", inner, base)
            return max(stages.values(), default=stage)
        if "steps" in tmpl:
            current = stage
            for g, group in enumerate(tmpl["steps"] or []):
                steps = _want(group, list, f"{where}.steps[{g}]", "a list of steps") or []
                names = unique_names(steps, lambda k: f"{where}.steps[{g}][{k}]", "step",
                                     "a step mapping (name, template)", " in this step group")
                ends = []
                for sname, k in names.items():
                    s, spath = steps[k], f"{where}.steps[{g}][{k}]"
                    n, why = fan_out(s, spath)
                    ends.append(self.call(s, f"{task}/{sname}", current, _times(count, n), _within(why, count), limit,
                                          spath, inner, base))
                current = max(ends, default=current) + 1
            return current - 1
        if not any(k in tmpl for k in _POD_TYPES):
            return stage  # suspend, http, plugin: no step pod (the admission policy refuses http/plugin)
        if count == 0:  # an empty fan-out: Argo skips the step
            self.steps.append(Step(task, key, stage, 0, f"{note}: Argo skips an empty fan-out", []))
            return stage
        pods = count if count is not None else 1
        concurrent = _min(pods, limit)
        if count is not None and concurrent < count:
            note += f", {concurrent} at a time (parallelism)"
        if count is None:
            note += ": explain shows one pod and cannot say how many more wait"
        self.pods += concurrent
        if self.pods > MAX_PODS:
            raise WorkloadError(f"{path}: the workflow has more than {MAX_PODS:,} step pods to explain ({concurrent:,} "
                                "queued at once for this step; explain simulates at most that many); fix: set "
                                "parallelism on the template or spec.parallelism (Argo runs at most that many pods at "
                                "once), or explain a copy with fewer steps")
        self.steps.append(Step(task, key, stage, concurrent, note.lstrip(", "),
                               [self.pod(tmpl, where, task, i, base) for i in range(concurrent)]))
        return stage

    def pod(self, tmpl: dict, where: str, task: str, index: int, base: Optional[str] = None) -> Workload:
        spec = self.spec
        pod_meta = spec.get("podMetadata") or {}
        # context.go addPodMetadata: the referenced WorkflowTemplate's podMetadata fills what the template lacks.
        library = ((self.library[base].get("spec") or {}).get("podMetadata") or {}) if base else {}
        meta = tmpl.get("metadata") or {}
        labels = {**(pod_meta.get("labels") or {}), **(library.get("labels") or {}), **(meta.get("labels") or {})}
        annotations = {**(pod_meta.get("annotations") or {}), **(library.get("annotations") or {}),
                       **(meta.get("annotations") or {})}
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


def _min(a: Optional[int], b: Optional[int]) -> Optional[int]:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


def _within(note: str, count: Optional[int]) -> str:
    """A step's count note, with the fan-out of the dag/steps template around it when there is one."""
    if count == 1:
        return note
    times = count if count is not None else "an unknown number"
    return f"{note or '1 each'}, x {times} (its dag/steps template is fanned out)"


def _times(a: Optional[int], b: Optional[int]) -> Optional[int]:
    """A fan-out inside a fanned-out dag/steps template runs `a` x `b` times (None: decided at run time)."""
    return None if a is None or b is None else a * b


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
                                "fix: put it in the same file or pass its file with --templates (explain reads no "
                                "cluster), or explain the WorkflowTemplate itself")
        # JoinWorkflowSpec (workflow/util/merge.go): the Workflow's own fields win over the template's.
        spec = {**(target.get("spec") or {}), **{k: v for k, v in spec.items() if k != "workflowTemplateRef"}}
        obj = {**obj, "spec": spec}
    meta = _want(obj.get("metadata"), dict, "metadata", "a mapping (name, namespace)") or {}
    if not meta.get("name") and not meta.get("generateName"):
        raise WorkloadError("metadata.name is missing; fix: name the workflow (metadata.name)")
    pod_meta = _want(spec.get("podMetadata"), dict, "spec.podMetadata", "a mapping (labels, annotations)") or {}
    for key in ("labels", "annotations"):
        _want(pod_meta.get(key), dict, f"spec.podMetadata.{key}", "a mapping of key: value")
    _want(spec.get("volumes"), list, "spec.volumes", "a list of volumes")
    templates = _want(spec.get("templates"), list, "spec.templates", "a list of templates") or []
    by_name = templates_by_name(templates)
    entry = _want(spec.get("entrypoint"), str, "spec.entrypoint", "a template name")
    if not entry:
        raise WorkloadError("spec.entrypoint is missing (Argo: spec.entrypoint is required): name the template the "
                            f"workflow starts with (one of {', '.join(by_name) or 'no template'})")
    library = {(o.get("metadata") or {}).get("name"): o for o in others
               if isinstance(o, dict) and o.get("kind") == "WorkflowTemplate" and isinstance(o.get("metadata"), dict)}
    walk = _Walk(obj, by_name, executor or {}, library)
    walk.call({"template": entry}, entry, 1, 1, "", parallelism(spec.get("parallelism"), "spec.parallelism"),
              "spec.entrypoint", ())
    if not any(s.pods for s in walk.steps):
        raise WorkloadError("the workflow runs no pod (no container, script, containerSet, resource or data "
                            "template is reached from spec.entrypoint, or every fan-out is empty); fix: name in "
                            "spec.entrypoint the template that runs your steps")
    return sorted(walk.steps, key=lambda s: s.stage)


def created_workflow(cron: dict) -> dict:
    """The Workflow a CronWorkflow creates on each schedule (Argo v4.0.6 workflow/cron/operator.go `run` ->
    workflow/common/convert.go `toWorkflow`: its spec is `spec.workflowSpec` as written, in the CronWorkflow's
    namespace, with `spec.workflowMetadata`'s labels and annotations)."""
    spec = _want(cron.get("spec"), dict, "spec", "a mapping (schedules, workflowSpec)") or {}
    workflow_spec = _want(spec.get("workflowSpec"), dict, "spec.workflowSpec", "a mapping (entrypoint, templates)")
    if workflow_spec is None:
        raise WorkloadError("spec.workflowSpec is missing; fix: put the workflow's spec (entrypoint, templates) under it")
    meta = _want(cron.get("metadata"), dict, "metadata", "a mapping (name, namespace)") or {}
    extra = _want(spec.get("workflowMetadata"), dict, "spec.workflowMetadata", "a mapping (labels, annotations)") or {}
    return {"apiVersion": cron.get("apiVersion"), "kind": "Workflow",
            "metadata": {**{k: meta[k] for k in ("name", "namespace") if k in meta},
                         **{k: extra[k] for k in ("labels", "annotations") if k in extra}},
            "spec": workflow_spec}


def explain_workflow(cluster: ClusterView, obj: dict, others: tuple[dict, ...], used: list, namespace: Optional[str],
                     now: float, executor: Optional[dict]) -> tuple[str, bool]:
    """The verdict text for a workflow's step pods and whether every one is admitted. A CronWorkflow is admitted
    as itself, then explained as the Workflow each schedule creates."""
    submitted = obj
    if obj.get("kind") == "CronWorkflow":
        obj = created_workflow(obj)
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or namespace
    label = f"{submitted['kind']} {ns}/{meta.get('name')}" if ns else f"{submitted['kind']} {meta.get('name')}"
    ns_labels = namespace_labels(cluster, ns) if ns else None
    steps = workflow_steps(obj, others, executor)  # a shape the API server cannot decode is bad input first
    # The WorkflowTemplates of the file (what its templateRefs reach) pass the same policies when created.
    library = [o for o in others if o is not submitted and isinstance(o, dict) and o.get("kind") == "WorkflowTemplate"]
    for target in (submitted, *library) if ns_labels is not None else ():
        denied = rejections(cluster.objects, target, ns_labels)
        if denied:
            split = [_policy_split(d) for d in denied]
            what = label if target is submitted else (f"WorkflowTemplate {(target.get('metadata') or {}).get('name')} "
                                                 f"(in the file, for {label}'s templateRefs)")
            verdict = Verdict(REJECTED, f"{what} is rejected at submission by a ValidatingAdmissionPolicy: no step runs",
                              [r for r, _ in split], [f for _, f in split])
            return verdict.format(), False
    pods = sum(s.pods for s in steps)
    lines = [f"{label}: {sum(1 for s in steps if s.pods)} pod step(s), {pods} pod(s) queued (Kueue admits each step pod as its own "
             "Workload; each stage is explained with the quota held before the workflow starts)"]
    if submitted is not obj:
        lines.append("each schedule creates this Workflow (spec.workflowSpec); what follows is one run, with the "
                     "quota held before it starts")
    if executor is None:
        lines.append("note: this stack installs no Argo Workflows (no team has pipelines: true); the step pods' "
                     "init/wait containers are taken without the executor's settings")
    ok = True
    for step in steps:
        count = f"{step.pods} pod(s)" + (f", {step.count_note}" if step.count_note else "")
        lines.append(f"\n[stage {step.stage}] step {step.task} (template {step.template}): {count}")
        if not step.workloads:
            continue
        result = simulate(cluster, step.workloads, list(used), ns, now)
        first = result.verdicts[0]
        lines.append(first.format())
        for i, verdict in enumerate(result.verdicts[1:], start=2):
            lines.append(f"pod {i}: {verdict.status.upper()}: {verdict.summary}")
            lines += [f"  because: {r}" for r in verdict.reasons] + [f"  fix: {f}" for f in verdict.fixes]
        ok = ok and all(v.status == ADMITTED for v in result.verdicts)
    return "\n".join(lines), ok
