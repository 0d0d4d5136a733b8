"""A Job or JobSet as Kueue sees it: pod sets, queue, priority, and requests after Kueue's adjustments.

Encodes Kueue v0.19.2:
- pod sets: `pkg/controller/jobs/job/job_controller.go` (one pod set `main`, count = min(parallelism,
  completions)) and `pkg/controller/jobs/jobset/jobset_controller.go` (one pod set per replicated job,
  count = replicas x the child Job's pods);
- `pkg/workload/resources.go` AdjustResources: namespace LimitRange `default` -> missing limits and
  `defaultRequest` -> missing requests per container (`handlePodLimitRange`, first value wins), then
  limits as missing requests (`UseLimitsAsMissingRequestsInPod`); ValidateResources ("requests must
  not exceed its limits") and ValidateLimitRange (`pkg/util/limitrange`: container max/min);
- per-pod totals: `pkg/resources` NewRequestsFromPodSpec: containers and sidecars (restartable init
  containers) add up, a plain init container counts only if larger, plus pod overhead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from components.model.quantity import parse_quantity
from components.model.yaml_input import NodeBound

from . import serving
from .quantity import parse_list

# A job or workflow file is small: the rendered example pipeline holds 727 values, docs/examples/
# explain-sweep.yaml 528. 200,000 leaves room for a fan-out of 100,000 withItems (refused later, with its
# own fix, by explain's pod bound) and a file of a few hundred Jobs, and refuses a 10^6-item file after
# reading a fifth of it (~0.7 s instead of ~7.5 s to build it all).
JOB_FILES = NodeBound(200_000, "explain's bound for a job or workflow file, about 275 times the rendered "
                      "example pipeline", "split the file, or fan out with withSequence (a count) or withParam "
                      "instead of a long withItems list")

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
REQUESTS_OVER_LIMITS = "requests must not exceed its limits"
ABOVE_LIMITRANGE_MAX = "requests must not be above the limitRange max"
BELOW_LIMITRANGE_MIN = "requests must not be below the limitRange min"


# The kinds `from_object` reads (the platform's Kueue integrations.frameworks: a Deployment's pods through `pod`).
MANAGED_KINDS = ("Job", "JobSet", "Deployment")
# Argo Workflows' kinds, whose step pods Kueue admits one by one (explain/workflow.py).
WORKFLOW_KINDS = ("Workflow", "WorkflowTemplate", "CronWorkflow")


class WorkloadError(ValueError):
    """The file is not a Job/JobSet Kueue could manage (the message says what is wrong)."""


@dataclass
class PodSet:
    name: str
    count: int
    spec: dict  # the pod template's spec (copied; Kueue's adjustments are applied to it)
    annotations: dict[str, str]
    path: str  # where the pod spec is in the user's object, for messages


@dataclass
class Workload:
    kind: str
    name: str
    namespace: Optional[str]
    labels: dict[str, str]
    pod_sets: list[PodSet]
    obj: dict = field(repr=False)

    @property
    def queue(self) -> Optional[str]:
        return self.labels.get(QUEUE_LABEL)

    @property
    def priority_class(self) -> Optional[str]:
        """The first non-empty priorityClassName among the pod sets (Kueue's pod-priority source)."""
        return next((ps.spec.get("priorityClassName") for ps in self.pod_sets if ps.spec.get("priorityClassName")), None)


def _int(value, default: int) -> int:
    return default if value is None else int(value)


def _want(value, kind: type, path: str, what: str):
    """`value` if it has the type the API server decodes at `path`, else the error a user can act on."""
    if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        got = type(value).__name__.replace("str", "a string").replace("dict", "a mapping").replace("list", "a list")
        raise WorkloadError(f"{path} is {got}; it must be {what} (the API server cannot decode it)")
    return value


def _check_pod_spec(spec: dict, path: str) -> None:
    _want(spec, dict, path, "a mapping")
    containers = _want(spec.get("containers"), list, f"{path}.containers", "a list of containers")
    if not containers:
        raise WorkloadError(f"{path}.containers: a pod needs at least one container")
    for group in ("initContainers", "containers"):
        for i, c in enumerate(_want(spec.get(group), list, f"{path}.{group}", "a list of containers") or []):
            where = f"{path}.{group}[{i}]"
            _want(c, dict, where, "a container mapping (name, image, resources)")
            resources = _want(c.get("resources"), dict, f"{where}.resources", "a mapping of requests/limits")
            for key in ("requests", "limits"):
                values = _want((resources or {}).get(key), dict, f"{where}.resources.{key}", "a mapping of resource: quantity")
                for name, value in (values or {}).items():
                    if isinstance(value, bool) or parse_quantity(str(value).strip()) is None:
                        raise WorkloadError(f"{where}.resources.{key}[{name}]: {value!r} is not a Kubernetes quantity "
                                            "(e.g. 2, 500m, 4Gi); the API server cannot decode it")
    for key in ("nodeSelector", "overhead"):
        _want(spec.get(key), dict, f"{path}.{key}", "a mapping")
    _want(spec.get("tolerations"), list, f"{path}.tolerations", "a list")


def _check_job_spec(job: dict, path: str) -> None:
    _want(job, dict, path, "a mapping")
    if job is None:
        raise WorkloadError(f"{path} is missing: a Job needs spec.template.spec.containers")
    for key in ("parallelism", "completions"):
        _want(job.get(key), int, f"{path}.{key}", "an integer")
    template = _want(job.get("template"), dict, f"{path}.template", "a pod template mapping (metadata, spec)")
    if not template or template.get("spec") is None:
        raise WorkloadError(f"{path}.template.spec is missing: a Job needs its pod template")
    _want(template.get("metadata"), dict, f"{path}.template.metadata", "a mapping")
    _check_pod_spec(template["spec"], f"{path}.template.spec")


def from_object(obj: dict) -> Workload:
    if not isinstance(obj, dict):
        raise WorkloadError("the file holds no Kubernetes object")
    kind, api = obj.get("kind"), obj.get("apiVersion", "")
    if not kind:
        raise WorkloadError("an object without kind: write kind: Job (apiVersion: batch/v1) or kind: JobSet "
                            "(apiVersion: jobset.x-k8s.io/v1alpha2)")
    meta = _want(obj.get("metadata"), dict, "metadata", "a mapping (name, namespace, labels)") or {}
    if not meta.get("name"):
        raise WorkloadError(f"{kind} without metadata.name")
    labels = _want(meta.get("labels"), dict, "metadata.labels", "a mapping of label: value") or {}
    spec = obj.get("spec")
    if kind == "Job" and api == "batch/v1":
        _check_job_spec(spec, "spec")
        pod_sets = [_pod_set("main", 1, spec, "spec.template.spec")]
    elif kind == "JobSet" and api.startswith("jobset.x-k8s.io/"):
        _want(spec, dict, "spec", "a mapping")
        replicated = _want((spec or {}).get("replicatedJobs"), list, "spec.replicatedJobs", "a list of replicated jobs")
        if not replicated:
            raise WorkloadError(f"JobSet {meta['name']} has no spec.replicatedJobs")
        for i, rj in enumerate(replicated):
            _want(rj, dict, f"spec.replicatedJobs[{i}]", "a mapping (name, replicas, template)")
            _want(rj.get("replicas"), int, f"spec.replicatedJobs[{i}].replicas", "an integer")
            _want(rj.get("template"), dict, f"spec.replicatedJobs[{i}].template", "a Job template mapping")
            _check_job_spec((rj.get("template") or {}).get("spec"), f"spec.replicatedJobs[{i}].template.spec")
        pod_sets = [_pod_set(rj.get("name", f"rj{i}"), rj.get("replicas"), rj["template"]["spec"],
                             f"spec.replicatedJobs[{i}].template.spec.template.spec")
                    for i, rj in enumerate(replicated)]
    elif (api, kind) == serving.DEPLOYMENT:
        _want(spec, dict, "spec", "a mapping")
        _want((spec or {}).get("replicas"), int, "spec.replicas", "an integer")
        template = _want((spec or {}).get("template"), dict, "spec.template", "a pod template mapping (metadata, spec)")
        if not template or template.get("spec") is None:
            raise WorkloadError("spec.template.spec is missing: a Deployment needs its pod template")
        _want(template.get("metadata"), dict, "spec.template.metadata", "a mapping")
        _check_pod_spec(template["spec"], "spec.template.spec")
        name, count, pod, annotations, where = serving.replica_pod_set(spec)
        pod_sets = [PodSet(name, count, _copy(pod), annotations, where)]
    else:
        raise WorkloadError(f"{api}/{kind} is not a batch/v1 Job, a jobset.x-k8s.io JobSet or an apps/v1 Deployment; "
                            "the platform's Kueue manages only these (integrations.frameworks)")
    return Workload(kind, meta["name"], meta.get("namespace"), dict(labels), pod_sets, obj)


def _pod_set(name: str, replicas, job: dict, path: str) -> PodSet:
    """The pod set of `replicas` (default 1) copies of a Job spec: each runs min(parallelism, completions) pods."""
    parallelism = _int(job.get("parallelism"), 1)
    completions = job.get("completions")
    per_job = min(parallelism, int(completions)) if completions is not None else parallelism
    template = job.get("template") or {}
    return PodSet(name, _int(replicas, 1) * per_job, _copy(template.get("spec") or {}),
                  dict((template.get("metadata") or {}).get("annotations") or {}), path)


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------------
# Kueue's resource adjustments and checks


def limit_range_summary(limit_ranges: list[dict]) -> dict[str, dict[str, dict]]:
    """Per limit type: max (lowest wins), min (highest wins), default / defaultRequest (first wins)."""
    summary: dict[str, dict[str, dict]] = {}
    for lr in limit_ranges:
        for item in (lr.get("spec") or {}).get("limits") or []:
            s = summary.setdefault(item.get("type", "Container"), {"max": {}, "min": {}, "default": {}, "defaultRequest": {}})
            for name, value in (item.get("max") or {}).items():
                s["max"][name] = value if name not in s["max"] else min(s["max"][name], value, key=lambda v: parse_list({name: v})[name])
            for name, value in (item.get("min") or {}).items():
                s["min"][name] = value if name not in s["min"] else max(s["min"][name], value, key=lambda v: parse_list({name: v})[name])
            for key in ("default", "defaultRequest"):
                for name, value in (item.get(key) or {}).items():
                    s[key].setdefault(name, value)
    return summary


def _containers(spec: dict) -> list[dict]:
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def adjust(pod_set: PodSet, limit_ranges: list[dict]) -> None:
    """AdjustResources on one pod set: LimitRange defaults, then limits as missing requests."""
    container_range = limit_range_summary(limit_ranges).get("Container")
    for c in _containers(pod_set.spec):
        res = c.setdefault("resources", {})
        if container_range:
            res["limits"] = {**container_range["default"], **(res.get("limits") or {})} or None
            res["requests"] = {**container_range["defaultRequest"], **(res.get("requests") or {})} or None
        res["requests"] = {**(res.get("limits") or {}), **(res.get("requests") or {})}
        res["limits"] = res.get("limits") or {}


def problems(pod_set: PodSet, limit_ranges: list[dict]) -> list[str]:
    """ValidateResources + ValidateLimitRange after `adjust`: why Kueue marks the workload inadmissible."""
    found = []
    summary = limit_range_summary(limit_ranges).get("Container")
    groups = [("initContainers", pod_set.spec.get("initContainers") or []), ("containers", pod_set.spec.get("containers") or [])]
    for group, containers in groups:
        for i, c in enumerate(containers):
            where = f"{pod_set.path}.{group}[{i}] ({c.get('name', '?')})"
            res = c.get("resources") or {}
            requests = parse_list(res.get("requests"), f"{where}.resources.requests.")
            limits = parse_list(res.get("limits"), f"{where}.resources.limits.")
            over = sorted(r for r, v in requests.items() if r in limits and v > limits[r])
            if over:
                found.append(f"{where}: {', '.join(over)}: {REQUESTS_OVER_LIMITS} "
                             f"(requests {_pairs(res['requests'], over)} > limits {_pairs(res['limits'], over)})")
            if summary:
                highest = {**requests, **{r: max(v, requests.get(r, 0)) for r, v in limits.items()}}
                maxes = parse_list(summary["max"])
                above = sorted(r for r, v in highest.items() if r in maxes and v > maxes[r])
                if above:
                    found.append(f"{where}: {', '.join(above)}: {ABOVE_LIMITRANGE_MAX} ({_pairs(summary['max'], above)})")
                mins = parse_list(summary["min"])
                lowest = {**limits, **requests}
                below = sorted(r for r, v in mins.items() if lowest.get(r, 0) < v)
                if below:
                    found.append(f"{where}: {', '.join(below)}: {BELOW_LIMITRANGE_MIN} ({_pairs(summary['min'], below)})")
    return found


def _pairs(values: dict, names: list[str]) -> str:
    return ", ".join(f"{n}={values[n]}" for n in names if n in values)


def is_sidecar(container: dict) -> bool:
    return container.get("restartPolicy") == "Always"


def pod_requests(spec: dict, extra_sidecars: Optional[list[dict]] = None) -> dict[str, int]:
    """NewRequestsFromPodSpec: sum(containers + sidecars) vs each plain init container, + overhead."""
    total: dict[str, int] = {}

    def add(into: dict[str, int], requests: dict[str, int]) -> None:
        for r, v in requests.items():
            into[r] = into.get(r, 0) + v

    sidecars = [c for c in spec.get("initContainers") or [] if is_sidecar(c)] + list(extra_sidecars or [])
    for c in list(spec.get("containers") or []) + sidecars:
        add(total, parse_list(((c.get("resources") or {}).get("requests"))))
    running_sidecars: dict[str, int] = {}
    for c in spec.get("initContainers") or []:
        requests = parse_list(((c.get("resources") or {}).get("requests")))
        if is_sidecar(c):
            add(running_sidecars, requests)
            continue
        # A plain init container runs alone (with the sidecars started before it).
        for r, v in requests.items():
            total[r] = max(total.get(r, 0), v + running_sidecars.get(r, 0))
    add(total, parse_list(spec.get("overhead")))
    return total


__all__ = ["PodSet", "Workload", "WorkloadError", "from_object", "adjust", "problems",
           "pod_requests", "limit_range_summary", "QUEUE_LABEL", "REQUESTS_OVER_LIMITS"]
