"""Would the API server accept the object at all? Its own validation, before any admission webhook or
Kueue sees it.

kubernetes/kubernetes `pkg/apis/core/validation/validation.go` (commit 000f2605, the code since
v1.26; `ValidateResourceRequirements` before): `validateResourceRequirements`, reached from Job
validation through the pod template (`pkg/apis/batch/validation` ValidateJob -> ValidatePodTemplateSpec
-> validateContainers -> ValidateContainerResourceRequirements):
- every quantity must be >= 0 (`ValidateNonnegativeQuantity`, "must be greater than or equal to 0"),
  and an integer for extended resources such as nvidia.com/gpu ("must be an integer");
- a request with a limit must be <= the limit ("must be less than or equal to cpu limit of 4"), and
  for a resource that cannot be overcommitted (anything but cpu, memory, ephemeral-storage:
  `IsOvercommitAllowed`) equal to it ("must be equal to nvidia.com/gpu limit of 2");
- such a resource requested without a limit: "Limit must be set for non overcommitable resources";
- `spec.parallelism` and `spec.completions` must be >= 0 (ValidateJobSpec, ValidateNonnegativeField).
The error reads `Job.batch "<name>" is invalid: <field>: Invalid value: "<v>": <detail>` (field.Error).

A JobSet is a custom resource: its webhook (kubernetes-sigs/jobset v0.12.0
`pkg/webhooks/jobset_webhook.go` ValidateCreate) checks names and policies, not pod resources, so the
JobSet is stored and each child Job its controller creates is the object the API server rejects.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterator, Optional

from components.model.quantity import parse_quantity

NATIVE = ("cpu", "memory", "ephemeral-storage")


def _overcommit_allowed(resource: str) -> bool:
    """IsOvercommitAllowed: a native resource that is not hugepages."""
    native = "/" not in resource or "kubernetes.io/" in resource
    return native and not resource.startswith("hugepages-")


def _integer_resource(resource: str) -> bool:
    return not ("/" not in resource or "kubernetes.io/" in resource)


def _text(value) -> str:
    return str(value).strip()


def _quantity(value) -> Optional[Decimal]:
    return parse_quantity(str(value).strip())


def _container_errors(res: dict, where: str) -> Iterator[str]:
    limits, requests = res.get("limits") or {}, res.get("requests") or {}
    for kind, values in (("limits", limits), ("requests", requests)):
        for name, value in sorted(values.items()):
            amount = _quantity(value)
            if amount is None:
                continue  # a malformed quantity fails decoding; the caller reports it
            path = f"{where}.resources.{kind}[{name}]"
            if amount < 0:
                yield f'{path}: Invalid value: "{_text(value)}": must be greater than or equal to 0'
            elif _integer_resource(name) and amount != amount.to_integral_value():
                yield f'{path}: Invalid value: "{_text(value)}": must be an integer'
    for name, value in sorted(requests.items()):
        request = _quantity(value)
        if request is None:
            continue
        if name in limits and _quantity(limits[name]) is not None:
            limit = _quantity(limits[name])
            if request != limit and not _overcommit_allowed(name):
                yield (f'{where}.resources.requests: Invalid value: "{_text(value)}": must be equal to {name} '
                       f"limit of {_text(limits[name])}")
            elif request > limit:
                yield (f'{where}.resources.requests: Invalid value: "{_text(value)}": must be less than or equal to '
                       f"{name} limit of {_text(limits[name])}")
        elif name not in limits and not _overcommit_allowed(name):
            yield f"{where}.resources.limits: Required value: Limit must be set for non overcommitable resources"


def job_errors(job_spec: dict, where: str) -> list[str]:
    """Field errors of one batch/v1 JobSpec whose path is `where` (e.g. `spec`)."""
    found = []
    for field in ("parallelism", "completions"):
        value = job_spec.get(field)
        if isinstance(value, int) and value < 0:
            found.append(f"{where}.{field}: Invalid value: {value}: must be greater than or equal to 0")
    pod = ((job_spec.get("template") or {}).get("spec")) or {}
    for group in ("initContainers", "containers"):
        for i, c in enumerate(pod.get(group) or []):
            found += _container_errors(c.get("resources") or {}, f"{where}.template.spec.{group}[{i}]")
    return found


def _job_negatives(job_spec: dict, where: str) -> Iterator[tuple[str, str]]:
    for field in ("parallelism", "completions"):
        value = job_spec.get(field)
        if isinstance(value, int) and value < 0:
            yield f"{where}.{field}", str(value)
    yield from _pod_negatives(((job_spec.get("template") or {}).get("spec")) or {}, f"{where}.template.spec")


def _pod_negatives(pod: dict, where: str) -> Iterator[tuple[str, str]]:
    for group in ("initContainers", "containers"):
        for i, c in enumerate(pod.get(group) or []):
            res = c.get("resources") or {}
            for kind in ("limits", "requests"):
                for name, value in sorted((res.get(kind) or {}).items()):
                    amount = _quantity(value)
                    if amount is not None and amount < 0:
                        yield f"{where}.{group}[{i}].resources.{kind}[{name}]", _text(value)


def negatives(obj: dict) -> list[tuple[str, str]]:
    """(field path in the object as written, value) of every negative count or quantity of a Job, a
    JobSet (its replicas too) or a Deployment (its replicas too): nothing the API server stores, and
    never what the author meant, so the CLI refuses them as bad input before simulating anything.
    Call after `workload.from_object` accepted the object's shape."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Job":
        return list(_job_negatives(spec, "spec"))
    found = []
    if obj.get("kind") == "JobSet":
        for i, rj in enumerate(spec.get("replicatedJobs") or []):
            where = f"spec.replicatedJobs[{i}]"
            if isinstance(rj.get("replicas"), int) and rj["replicas"] < 0:
                found.append((f"{where}.replicas", str(rj["replicas"])))
            found += _job_negatives((rj.get("template") or {}).get("spec") or {}, f"{where}.template.spec")
    else:
        if isinstance(spec.get("replicas"), int) and spec["replicas"] < 0:
            found.append(("spec.replicas", str(spec["replicas"])))
        found += _pod_negatives((spec.get("template") or {}).get("spec") or {}, "spec.template.spec")
    return found


def rejections(obj: dict) -> list[str]:
    """Why the API server refuses to create `obj` (a Job) or the child Jobs of `obj` (a JobSet)."""
    name = (obj.get("metadata") or {}).get("name", "")
    if obj.get("kind") == "Job":
        errors = job_errors(obj.get("spec") or {}, "spec")
        return [f'Job.batch "{name}" is invalid: {e}' for e in errors]
    out = []
    for i, rj in enumerate((obj.get("spec") or {}).get("replicatedJobs") or []):
        errors = job_errors((rj.get("template") or {}).get("spec") or {}, "spec")
        child = f"{name}-{rj.get('name', i)}-0"  # JobSet names child Jobs <jobset>-<replicatedJob>-<index>
        out += [f'Job.batch "{child}" is invalid: {e}' for e in errors]
    return out
