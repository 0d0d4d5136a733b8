"""A file of many jobs as Kueue would take them: queued per ClusterQueue, admitted one scheduling cycle
at a time, each admission taking quota before the next job is looked at.

Kueue v0.19.2:
- order inside a ClusterQueue (`pkg/cache/queue/cluster_queue.go` baseCompareFunc): higher priority
  first, then the earlier creation timestamp (here `metadata.creationTimestamp` when given, else the
  order in the file);
- each cycle the scheduler takes the head of every ClusterQueue and processes them (`pkg/scheduler/
  scheduler.go` makeClassicalIterator) those not borrowing first, then by priority, then by timestamp;
- a head that cannot be admitted: `RequeueIfNotPresent` puts it straight back at the head in a
  StrictFIFO queue (it blocks everything behind it: docs `concepts/cluster_queue.md` "Older workloads
  that can't be admitted will block newer workloads"), and sets it aside as inadmissible in a
  BestEffortFIFO queue (the default) so the next one is tried; set-aside workloads are retried when
  quota is released (QueueInadmissibleWorkloads), here when a preemption evicts something;
- a head that needs preemption evicts its targets and is admitted in a later cycle, once their quota
  is free (an evicted job of the file goes back to its queue).
Nothing finishes during the simulation: it answers "what happens right after I submit all of these".
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Optional

from .cluster import ClusterView
from .quota import FIT, Quotas, Running
from .quantity import show
from .simulate import ADMITTED, PENDING, Submitted, Verdict, admit, quotas_of, submit
from .workload import Workload

GPU = "nvidia.com/gpu"


@dataclass
class _Entry:
    index: int
    submitted: Submitted
    verdict: Optional[Verdict] = None
    running: Optional[Running] = None
    preempted: list[str] = field(default_factory=list)
    cycle: int = 0


@dataclass
class QueueResult:
    verdicts: list[Verdict]
    usage: list[str]  # per ClusterQueue and flavor: GPUs in use after the last cycle
    evicted: list[str]  # `--used` workloads the file's jobs preempted


def created_at(obj: dict, index: int, now: float = 0.0) -> float:
    """When the job was created: its creationTimestamp, else now (in file order, a millisecond apart)."""
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    if stamp is None:
        return now + index / 1000
    try:
        return datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(f"metadata.creationTimestamp {stamp!r} of {(obj.get('metadata') or {}).get('name')}: "
                         "write an RFC 3339 time, e.g. 2026-01-01T10:00:00Z") from None


def simulate(cluster: ClusterView, workloads: list[Workload], used: list[Running],
             namespace: Optional[str] = None, now: float = 0.0) -> QueueResult:
    """`now`: the time the file is submitted, on the clock of `used` (seconds); jobs admitted here are
    admitted after it, one cycle a second, so they are the most recently admitted."""
    verdicts: dict[int, Verdict] = {}
    entries: list[_Entry] = []
    for i, wl in enumerate(workloads):
        s = submit(cluster, wl, namespace)
        if isinstance(s, Verdict):
            verdicts[i] = s
        else:
            s.created = created_at(wl.obj, i, now)
            entries.append(_Entry(i, s))
    quotas = quotas_of(cluster, list(used))
    evicted = _run(cluster, quotas, entries, now)
    for e in entries:
        verdicts[e.index] = _final(e, entries)
    return QueueResult([verdicts[i] for i in range(len(workloads))], _usage(quotas), evicted)


def _key(e: _Entry):
    return (-e.submitted.priority, e.submitted.created, e.index)


def _run(cluster: ClusterView, quotas: Quotas, entries: list[_Entry], now: float) -> list[str]:
    aside: set[int] = set()  # BestEffortFIFO: tried, set aside until quota is released
    evicted: list[str] = []
    cycle = 0
    while True:
        cycle += 1
        heads = []
        for cq in dict.fromkeys(e.submitted.queue.name for e in entries):
            waiting = sorted((e for e in entries if e.submitted.queue.name == cq and e.running is None), key=_key)
            strict = (waiting[0].submitted.queue.spec.get("queueingStrategy") == "StrictFIFO") if waiting else False
            head = waiting[0] if strict else next((e for e in waiting if e.index not in aside), None)
            if head:
                heads.append(head)
        if not heads:
            return evicted
        first_look = {id(h): admit(cluster, h.submitted, quotas)[1] for h in heads}
        heads.sort(key=lambda h: (first_look[id(h)].borrows, *_key(h)))
        progress = False
        for h in heads:
            verdict, a = admit(cluster, h.submitted, quotas)
            h.verdict, h.cycle = verdict, cycle
            if a.mode == FIT:  # quota reserved (pods that find no node stay Pending, but hold it)
                h.running = Running(h.submitted.workload.name, h.submitted.queue.name, a.usage(), h.submitted.priority,
                                    admitted_at=now + cycle, created_at=h.submitted.created)
                quotas.running.append(h.running)
                progress = True
            elif a.targets:
                for t in a.targets:
                    quotas.running = [w for w in quotas.running if w is not t.workload]
                    owner = next((e for e in entries if e.running is t.workload), None)
                    if owner:
                        owner.running = None
                    else:
                        evicted.append(f"{t.workload.name} in {t.workload.cluster_queue}")
                    h.preempted.append(f"{t.workload.name} in {t.workload.cluster_queue} ({t.reason})")
                aside.clear()  # quota was released: every set-aside workload is retried
                progress = True
            elif h.submitted.queue.spec.get("queueingStrategy") != "StrictFIFO":
                aside.add(h.index)
                progress = True
        if not progress or cycle > 10 * len(entries) + 10:
            return evicted


def _final(e: _Entry, entries: list[_Entry]) -> Verdict:
    v = e.verdict
    if v is None:  # behind a StrictFIFO head that never moved
        head = next(h for h in sorted(entries, key=_key) if h.submitted.queue.name == e.submitted.queue.name
                    and h.running is None and h.verdict is not None)
        return Verdict(PENDING, f"{e.submitted.label} waits behind {head.submitted.label} in StrictFIFO ClusterQueue "
                                f"{e.submitted.queue.name}",
                       [f"{head.submitted.label} is first in line and cannot be admitted: {head.verdict.summary}"],
                       [f"fix or delete {head.submitted.label}; StrictFIFO admits nothing behind it until it runs"],
                       list(e.submitted.trace), cluster_queue=e.submitted.queue.name)
    if e.running is None and v.status == ADMITTED:
        v.status = PENDING
        v.summary = f"{e.submitted.label} was preempted by a later job of the file and waits again"
    if e.preempted and e.running is not None:
        v.preempts = e.preempted
        v.summary = v.summary.replace(" is admitted on", " is admitted (cycle {}) on".format(e.cycle), 1) + \
            f"; it first preempted {', '.join(e.preempted)}"
    elif e.running is not None:
        v.summary = v.summary.replace(" is admitted on", f" is admitted (cycle {e.cycle}) on", 1)
    return v


def _usage(quotas: Quotas) -> list[str]:
    lines = []
    for q in quotas.queues.values():
        for (flavor, r), nominal in q.nominal.items():
            used = quotas.usage(q.name, (flavor, r))
            if r == GPU and used:
                lines.append(f"{q.name} {flavor}: {show(r, used)} of {show(r, nominal)} nominal GPUs"
                             + (f" (borrowing {show(r, used - nominal)})" if used > nominal else ""))
    return lines


__all__ = ["QueueResult", "simulate", "created_at"]
