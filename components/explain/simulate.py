"""`explain`: what Kueue and the scheduler would do with one Job/JobSet on the rendered platform.

Order of the checks, as the systems apply them:
1. creation: the namespace exists (jobs.py: the built-in ones too); the API server's own validation
   (apiserver.py); the ValidatingAdmissionPolicies (admission.py) and Pod Security;
2. Kueue's job reconciler (`pkg/controller/jobframework/reconciler.go`, jobs.py): a namespace outside
   `managedJobsNamespaceSelector` is never managed (UNMANAGED); a job without the
   `kueue.x-k8s.io/queue-name` label in a managed namespace stays suspended when
   `manageJobsWithoutQueueName` is on; a priority class that does not exist creates no Workload;
3. the queue manager: the LocalQueue must exist (`pkg/cache/queue/manager.go`, "LocalQueue ... doesn't
   exist"), its ClusterQueue must exist and select the namespace (`pkg/workload/resources.go`
   ValidateAdmissibility, "doesn't match ClusterQueue selector");
4. requests after LimitRange defaulting must not exceed limits (workload.py);
5. flavor assignment, borrowing and preemption (quota.py, preemption.py); several jobs are queued and
   admitted one scheduling cycle at a time by queue.py;
6. admission checks on the chosen flavor (`admissionChecksStrategy`, `onFlavors`): DWS provisions the
   nodes before Kueue admits;
7. placement of every pod set on a node pool or an auto-provisioned one (placement.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

from components.model.yaml_input import load_all

from . import apiserver, pod_security
from .admission import rejections
from .cluster import ClusterView
from .jobs import NoWorkload, kueue_config, managed, namespace_labels, priority_of, team_namespaces
from .matching import labels_match
from .placement import place
from .quantity import parse, show
from .quota import FIT, NO_FIT, PREEMPT, Assignment, Queue, Quotas, Running, assign
from .workload import (JOB_FILES, MANAGED_KINDS, QUEUE_LABEL, WORKFLOW_KINDS, Workload, WorkloadError, adjust, pod_requests,
                       problems)

ADMITTED, PENDING, REJECTED, UNMANAGED = "admitted", "pending", "rejected", "unmanaged"
GPU = "nvidia.com/gpu"
MIN_PARALLELISM = "kueue.x-k8s.io/job-min-parallelism"  # pkg/controller/jobs/job/job_controller.go


@dataclass
class Verdict:
    status: str
    summary: str
    reasons: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)
    flavor: Optional[str] = None
    cluster_queue: Optional[str] = None
    borrowing_from: list[str] = field(default_factory=list)
    preempts: list[str] = field(default_factory=list)
    pools: dict[str, str] = field(default_factory=dict)  # pod set -> pool
    admission_checks: list[str] = field(default_factory=list)

    def format(self) -> str:
        lines = [f"{self.status.upper()}: {self.summary}"]
        lines += [f"  because: {r}" for r in self.reasons]
        lines += [f"  fix: {f}" for f in self.fixes]
        lines += ["  how:"] + [f"    {i + 1}. {t}" for i, t in enumerate(self.trace)]
        return "\n".join(lines)


def _selector_matches(selector: Optional[dict], labels: dict[str, str]) -> bool:
    return selector is not None and labels_match(selector, labels)  # an unset namespaceSelector selects no namespace


def quotas_of(cluster: ClusterView, used: list[Running]) -> Quotas:
    queues = {cq["metadata"]["name"]: Queue.from_object(cq) for cq in cluster.of_kind("ClusterQueue")}
    cohort_quota = {}
    for cohort in cluster.of_kind("Cohort"):
        if (cohort.get("spec") or {}).get("parentName"):
            raise ValueError(f"Cohort {cohort['metadata']['name']} has a parentName: nested cohorts are not modelled "
                             "by explain (it would guess)")
        quota = {}
        for rg in (cohort.get("spec") or {}).get("resourceGroups") or []:
            for f in rg.get("flavors") or []:
                for r in f.get("resources") or []:
                    quota[(f["name"], r["name"])] = parse(r["name"], r.get("nominalQuota", 0))
        cohort_quota[cohort["metadata"]["name"]] = quota
    return Quotas(queues, cohort_quota, used)


@dataclass
class Submitted:
    """A job past every check before quota: what the scheduler works with."""

    workload: Workload
    label: str
    queue: Queue
    priority: int
    trace: list[str]
    created: float = 0.0


def explain(cluster: ClusterView, workload: Workload, used: Optional[list[Running]] = None,
            namespace: Optional[str] = None) -> Verdict:
    """One job against the rendered platform with `used` already admitted."""
    s = submit(cluster, workload, namespace)
    return s if isinstance(s, Verdict) else admit(cluster, s, quotas_of(cluster, used or []))[0]


def submit(cluster: ClusterView, workload: Workload, namespace: Optional[str] = None) -> "Verdict | Submitted":
    """Everything before quota: the API server, admission policies, Kueue's job reconciler and queue
    manager, and the Workload's resources; a Verdict when the job stops there."""
    trace: list[str] = []
    ns = workload.namespace or namespace
    label = f"{workload.kind} {ns}/{workload.name}" if ns else f"{workload.kind} {workload.name}"
    teams = ", ".join(team_namespaces(cluster))
    if not ns:
        return Verdict(REJECTED, f"{label}: no namespace", ["metadata.namespace is not set"],
                       [f"set metadata.namespace to your team's namespace ({teams}) or pass --namespace"])
    ns_labels = namespace_labels(cluster, ns)
    if ns_labels is None:
        return Verdict(REJECTED, f"{label}: namespace {ns} does not exist",
                       [f'namespaces "{ns}" not found (the API server rejects the create)'],
                       [f"use your team's namespace: {teams}"])
    trace.append(f"namespace {ns} exists")
    invalid = apiserver.rejections(workload.obj)
    if invalid:
        return Verdict(REJECTED, f"{label} is rejected at creation by the API server", invalid,
                       [_api_fix(e) for e in invalid], trace)
    trace.append("valid for the API server (resources, parallelism, completions)")
    denied = rejections(cluster.objects, workload.obj, ns_labels)
    if denied:
        split = [_policy_split(d) for d in denied]
        return Verdict(REJECTED, f"{label} is rejected at submission by a ValidatingAdmissionPolicy",
                       [r for r, _ in split], [f for _, f in split], trace)
    trace.append("accepted at submission (every ValidatingAdmissionPolicy passes)")
    blocked, fixes = pod_security.pod_set_rejections(workload.pod_sets, ns_labels)
    if blocked:
        return Verdict(REJECTED, f"{label}'s pods are rejected at creation by Pod Security Admission (namespace {ns} "
                       f"enforces {ns_labels.get(pod_security.ENFORCE_LABEL)}): the job never runs", blocked, fixes, trace)
    trace.append(f"its pods pass Pod Security {ns_labels.get(pod_security.ENFORCE_LABEL, 'privileged')}")
    if not managed(cluster, ns_labels):
        return Verdict(UNMANAGED, f"{label} is never managed by Kueue: it runs outside every quota",
                       [f"namespace {ns} is outside Kueue's managedJobsNamespaceSelector, so Kueue ignores the job with "
                        "or without a queue-name label: it is not suspended and no quota, queue or preemption applies"],
                       [f"create it in your team's namespace ({teams})"], trace)
    trace.append(f"namespace {ns} is managed by Kueue (managedJobsNamespaceSelector)")
    config = kueue_config(cluster)
    queue = workload.queue
    local_queues = sorted(lq["metadata"]["name"] for lq in cluster.in_namespace("LocalQueue", ns))
    if not queue:
        why = (f"label {QUEUE_LABEL} is missing; Kueue manages namespace {ns} with manageJobsWithoutQueueName, "
               "so the job stays suspended" if config.get("manageJobsWithoutQueueName")
               else f"label {QUEUE_LABEL} is missing, so Kueue ignores the job and it bypasses the queues")
        return Verdict(PENDING if config.get("manageJobsWithoutQueueName") else UNMANAGED,
                       f"{label} waits without a queue" if config.get("manageJobsWithoutQueueName")
                       else f"{label} is never managed by Kueue", [why],
                       [f"add metadata.labels {QUEUE_LABEL}: <one of {', '.join(local_queues) or 'no LocalQueue'}>"], trace)
    try:
        prio = priority_of(cluster, workload)
    except NoWorkload as err:
        return Verdict(PENDING, f"{label} gets no Workload", [err.args[0]], [err.args[1]], trace)
    priority = prio.value
    lq = cluster.named("LocalQueue", queue, ns)
    if lq is None:
        return Verdict(PENDING, f"{label} is inadmissible: LocalQueue {queue} doesn't exist",
                       [f"LocalQueue {queue} doesn't exist in namespace {ns}"],
                       [f"set {QUEUE_LABEL} to one of {', '.join(local_queues) or '(none: this namespace has no LocalQueue)'}"], trace)
    cq_name = (lq.get("spec") or {}).get("clusterQueue")
    cq = cluster.named("ClusterQueue", cq_name)
    trace.append(f"LocalQueue {ns}/{queue} -> ClusterQueue {cq_name}; priority {priority} ({prio.source})")
    if cq is None:
        return Verdict(PENDING, f"{label} is inadmissible: ClusterQueue {cq_name} doesn't exist",
                       [f"ClusterQueue {cq_name} doesn't exist"], ["ask the platform team"], trace, cluster_queue=cq_name)
    if not _selector_matches((cq.get("spec") or {}).get("namespaceSelector"), ns_labels):
        return Verdict(PENDING, f"{label} is inadmissible: namespace {ns} doesn't match ClusterQueue {cq_name}'s selector",
                       ["Workload namespace doesn't match ClusterQueue selector"],
                       [f"ClusterQueue {cq_name} is not open to {ns}: use a queue of your own namespace or ask for a grant"],
                       trace, cluster_queue=cq_name)
    limit_ranges = cluster.in_namespace("LimitRange", ns)
    found = []
    for ps in workload.pod_sets:
        adjust(ps, limit_ranges)
        found += problems(ps, limit_ranges)
    if found:
        return Verdict(PENDING, f"{label} is inadmissible: resources validation failed", found,
                       ["set limits >= requests on every container (or no limits: a LimitRange default then applies)"],
                       trace, cluster_queue=cq_name)
    trace.append("requests after LimitRange defaults: " + "; ".join(
        f"{ps.name} {ps.count} pod(s) x {_show(pod_requests(ps.spec))}" for ps in workload.pod_sets))
    return Submitted(workload, label, Queue.from_object(cq), priority, trace)


def _in_use(quotas: Quotas, flavors: set[str]) -> list[str]:
    """Who holds the GPUs of the flavors tried, per ClusterQueue and flavor."""
    held: dict[tuple[str, str], list[int]] = {}
    for w in quotas.running:
        for (flavor, r), v in w.usage.items():
            if r == GPU and flavor in flavors and v:
                held.setdefault((w.cluster_queue, flavor), []).append(v)
    parts = [f"{cq} {sum(v)} GPUs on {flavor} ({len(v)} workload{'s' if len(v) > 1 else ''})"
             for (cq, flavor), v in sorted(held.items())]
    return [f"in use by {', '.join(parts)}"] if parts else []


_ACTIONS = ("set ", "add ", "remove ", "use ", "drop ", "request ", "label ", "give ", "put ")


def _policy_split(denial: str) -> tuple[str, str]:
    """A policy's message as (why, the action it asks for: "...: set priorityClassName: high ...")."""
    name, message = denial.split(": ", 1)
    for i in range(len(message)):
        if message.startswith(": ", i) and message[i + 2:].startswith(_ACTIONS):
            return f"{name}: {message[:i]}", message[i + 2:]
    return denial, f"change the job until policy {name} accepts it (its rule is quoted above)"


def _api_fix(error: str) -> str:
    if "must be equal to" in error or "Limit must be set" in error:
        resource = error.split(" to ", 1)[1].split(" ")[0] if "must be equal to" in error else \
            error.split(".resources.limits")[0].rsplit(" ", 1)[-1] + " extended resource"
        return f"set only the limit of {resource} (the request defaults to the limit)"
    if "must be less than or equal to" in error:
        return "lower the request to the limit, or raise the limit"
    if "must be an integer" in error:
        return "request whole GPUs (an extended resource cannot be split)"
    return "make the negative value zero or positive"


def _show(requests: dict[str, int]) -> str:
    return ", ".join(f"{r} {show(r, v)}" for r, v in sorted(requests.items())) or "nothing"


def admit(cluster: ClusterView, s: Submitted, quotas: Quotas) -> tuple[Verdict, Assignment]:
    """One scheduling attempt of a submitted job against `quotas` (not changed): the verdict and the
    flavor assignment (with its preemption targets)."""
    a = assignment(cluster, s, quotas)
    return _verdict(cluster, s, quotas, a), a


def assignment(cluster: ClusterView, s: Submitted, quotas: Quotas) -> Assignment:
    flavors = {f["metadata"]["name"]: f for f in cluster.of_kind("ResourceFlavor")}
    pod_sets = [(ps.name, ps.count, ps.spec, pod_requests(ps.spec)) for ps in s.workload.pod_sets]
    return assign(quotas, s.queue, flavors, pod_sets, Running(s.workload.name, s.queue.name, {}, s.priority,
                                                               created_at=s.created))


def _verdict(cluster: ClusterView, s: Submitted, quotas: Quotas, a: Assignment) -> Verdict:
    v = _quota_verdict(cluster, s, quotas, a)
    minimum = ((s.workload.obj.get("metadata") or {}).get("annotations") or {}).get(MIN_PARALLELISM)
    if minimum and not a.mode == FIT:
        # Kueue docs tasks/run/jobs.md "Partial admission" (beta, on by default in 0.19).
        v.reasons.append(f"not modelled: partial admission ({MIN_PARALLELISM}: {minimum}) - when neither borrowing nor "
                         f"preemption admits the full parallelism, Kueue may admit this Job with as few as {minimum} "
                         "pods; this verdict is for the full parallelism")
    return v


def _quota_verdict(cluster: ClusterView, s: Submitted, quotas: Quotas, a: Assignment) -> Verdict:
    workload, q, label, trace = s.workload, s.queue, s.label, list(s.trace)
    for ps in a.pod_sets:
        for t in ps.tries:
            state = t.mode + (" (borrowing)" if t.borrows and t.mode != NO_FIT else "")
            trace.append(f"pod set {ps.name}, flavor {t.flavor or '-'}: {state}" + (f": {'; '.join(t.reasons)}" if t.reasons else ""))
    if a.mode == NO_FIT:
        return _pending_no_fit(label, q, quotas, a, workload, trace)
    if a.mode == PREEMPT and not a.targets:
        return Verdict(PENDING, f"{label} waits for quota in ClusterQueue {q.name}",
                       [r for t in a.tries for r in t.reasons] + _in_use(quotas, {t.flavor for t in a.tries}),
                       ["wait for running work to finish (nothing it may preempt would free enough)"],
                       trace, cluster_queue=q.name)
    chosen = list(dict.fromkeys(ps.flavor for ps in a.pod_sets if ps.flavor))
    verdict = Verdict(ADMITTED, "", trace=trace, flavor=", ".join(chosen), cluster_queue=q.name)
    if a.borrows:
        lenders = [name for ps in a.pod_sets if ps.borrows for name in quotas.lenders(q, (ps.flavor, GPU))]
        verdict.borrowing_from = sorted(set(lenders)) or [f"cohort {q.cohort}"]
    verdict.preempts = [f"{t.workload.name} in {t.workload.cluster_queue} ({t.workload.gpus()} GPUs, priority "
                        f"{t.workload.priority}; {t.reason})" for t in a.targets]
    checks = list(dict.fromkeys(c for f in chosen for c in _admission_checks(q, f)))
    verdict.admission_checks = checks
    how = "borrowing from " + ", ".join(verdict.borrowing_from) if a.borrows else "within nominal quota"
    after = f" after preempting {', '.join(verdict.preempts)}" if verdict.preempts else ""
    # A MultiKueue check admits once a worker has admitted the copy, and the pods run there, not on this
    # cluster's nodes (components/explain/dispatch.py says which worker).
    provisioning = [c for c in checks if not _is_multikueue(cluster, c)]
    if len(provisioning) < len(checks):
        dispatched = ", ".join(c for c in checks if c not in provisioning)
        verdict.summary = (f"{label} is admitted on flavor {verdict.flavor} ({how}){after}, once a worker admits it "
                           f"(admission check {dispatched}); its pods run on that worker")
        return verdict
    flavors = {f["metadata"]["name"]: f for f in cluster.of_kind("ResourceFlavor")}
    pools, problems_ = _place_all(cluster, workload, {ps.name: flavors.get(ps.flavor, {}) for ps in a.pod_sets}, checks, trace)
    verdict.pools = pools
    gate = f", once admission check {', '.join(checks)} has provisioned its nodes" if checks else ""
    if problems_:
        verdict.status = PENDING
        verdict.summary = (f"{label} is admitted on flavor {verdict.flavor} ({how}){after}{gate} but its pods stay "
                           "Pending: no node fits")
        verdict.reasons = [r for r, _ in problems_]
        verdict.fixes = [f for _, f in problems_ if f]
        return verdict
    placed = ", ".join(f"{ps} on {pool}" for ps, pool in pools.items())
    verdict.summary = f"{label} is admitted on flavor {verdict.flavor} ({how}){after}{gate}; pods placed: {placed}"
    return verdict


MULTIKUEUE_CONTROLLER = "kueue.x-k8s.io/multikueue"  # Kueue v0.19.2 apis/kueue/v1beta2 MultiKueueControllerName


def _is_multikueue(cluster: ClusterView, check: str) -> bool:
    spec = (cluster.named("AdmissionCheck", check) or {}).get("spec") or {}
    return spec.get("controllerName") == MULTIKUEUE_CONTROLLER


def _admission_checks(q: Queue, flavor: str) -> list[str]:
    strategy = (q.spec.get("admissionChecksStrategy") or {}).get("admissionChecks") or []
    return [c["name"] for c in strategy if not c.get("onFlavors") or flavor in c["onFlavors"]]


def _place_all(cluster: ClusterView, workload: Workload, flavors: dict[str, dict], checks: list[str],
               trace: list[str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    updates = _provisioning_selectors(cluster, checks)
    pools = cluster.pools
    if updates:
        # Nodes GKE provisions for this job's ProvisioningRequest carry its name in the update's label keys.
        request = f"{workload.name}-{checks[0]}-1"
        pools = [dataclasses.replace(p, labels={**p.labels, **{k: request for k in updates}}) if p.queued_provisioning
                 else p for p in cluster.pools]
    view = dataclasses.replace(cluster, pools=pools)
    placed, failed = {}, []
    for ps in workload.pod_sets:
        spec = flavors[ps.name].get("spec") or {}
        pod = dict(ps.spec)
        pod["nodeSelector"] = {**(pod.get("nodeSelector") or {}), **(spec.get("nodeLabels") or {})}
        if updates:
            pod["nodeSelector"].update({k: request for k in updates})
        pod["tolerations"] = list(pod.get("tolerations") or []) + list(spec.get("tolerations") or [])
        result = place(view, pod, ps.annotations, ps.count)
        if result.pool:
            placed[ps.name] = result.pool
            trace.append(f"pod set {ps.name}: {ps.count} pod(s) on {result.nodes} node(s) of {result.pool}")
        else:
            failed += [(f"pod set {ps.name}: {r}", result.fix) for r in result.reasons]
            trace.append(f"pod set {ps.name}: no node fits")
    return placed, failed


def _provisioning_selectors(cluster: ClusterView, checks: list[str]) -> list[str]:
    keys = []
    for name in checks:
        check = cluster.named("AdmissionCheck", name)
        params = ((check or {}).get("spec") or {}).get("parameters") or {}
        if params.get("kind") != "ProvisioningRequestConfig":
            continue
        prc = cluster.named("ProvisioningRequestConfig", params.get("name"))
        for update in (((prc or {}).get("spec") or {}).get("podSetUpdates") or {}).get("nodeSelector") or []:
            keys.append(update["key"])
    return keys


def _pending_no_fit(label: str, q: Queue, quotas: Quotas, a: Assignment, workload: Workload, trace: list[str]) -> Verdict:
    reasons = [r for t in a.tries for r in t.reasons]
    fixes = []
    for t in a.tries:
        for r in t.reasons:
            fixes.append(_fix(r, q, quotas, a, workload))
    return Verdict(PENDING, f"{label} cannot be admitted by ClusterQueue {q.name}: no flavor fits", reasons,
                   list(dict.fromkeys(f for f in fixes if f)), trace, cluster_queue=q.name)


def _fix(reason: str, q: Queue, quotas: Quotas, a: Assignment, workload: Workload) -> str:
    path = workload.pod_sets[0].path
    if reason.startswith("untolerated taint {"):
        key, value, effect = reason[len("untolerated taint {"):].split("}", 1)[0].split(" ")[:3]
        return (f"add toleration {{key: {key}, operator: Equal, value: \"{value}\", effect: {effect}}} "
                f"to {path}.tolerations")
    if "doesn't match node affinity" in reason:
        flavor = reason.split(" ")[1]
        return (f"flavor {flavor} has nodeLabels the job's nodeSelector/affinity excludes: drop the selector "
                f"(Kueue adds the flavor's own) or select what the flavor's nodes carry")
    if reason.startswith("insufficient quota for "):
        r, flavor = reason.split(" ")[3], reason.split(" ")[6].rstrip(",")
        nominal = q.nominal.get((flavor, r), 0)
        limit = q.borrowing.get((flavor, r))
        cap = f"nominal {show(r, nominal)}" + (
            f" + borrowing {show(r, limit)}" if limit is not None and q.cohort else " + unlimited borrowing" if q.cohort else "")
        return f"request at most {show(r, quotas.potential(q, (flavor, r)))} {r} in total: it exceeds {cap} of {q.name} in {flavor}"
    if reason.startswith("resource ") and reason.endswith("unavailable in ClusterQueue"):
        covered = sorted({r for c, _ in q.groups for r in c})
        return f"drop the request for {reason.split(' ')[1]}: {q.name} covers only {', '.join(covered)}"
    return ""


def load_workload_file(text: str, source: str = "job file") -> list[dict]:
    """The Job/JobSet/Deployment and Argo Workflow/WorkflowTemplate/CronWorkflow objects of a YAML file, read by
    the bounded, duplicate-key-refusing reader every CLI input goes through (ConfigError names source:line);
    objects of other kinds (a ConfigMap or Service next to the Job) are skipped, a file with none of those is
    refused naming what it holds."""
    docs = [d for d in load_all(text, source, JOB_FILES) if d is not None]
    for i, d in enumerate(docs):
        if not isinstance(d, dict):
            raise WorkloadError(f"{source}: document {i + 1} is {type(d).__name__.replace('str', 'text')}, not a "
                                "Kubernetes object (kind, metadata, spec)")
    jobs = [d for d in docs if d.get("kind") in MANAGED_KINDS + WORKFLOW_KINDS]
    if not jobs:
        kinds = ", ".join(sorted({str(d.get("kind") or "no kind") for d in docs})) or "nothing"
        raise WorkloadError(f"{source}: no Job, JobSet, Deployment or Argo Workflow, WorkflowTemplate or CronWorkflow "
                            f"in it (found {kinds}); fix: write each as its own YAML document (separated by ---)")
    return jobs


__all__ = ["Verdict", "explain", "quotas_of", "load_workload_file", "ADMITTED", "PENDING", "REJECTED",
           "UNMANAGED"]
