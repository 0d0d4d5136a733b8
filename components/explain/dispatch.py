"""Where a fleet manager's admitted workload runs: MultiKueue's dispatching, restated from Kueue v0.19.2.

- A workload whose ClusterQueue lists an AdmissionCheck with controllerName `kueue.x-k8s.io/multikueue`
  is dispatched once it holds quota on the manager (site/content/en/docs/concepts/multikueue.md "Job Flow"
  1: "When the Job's Workload obtains a QuotaReservation in the manager cluster, the dispatcher
  determines the worker clusters where the Workload should be created").
- AllAtOnce (the default): "copied to all available worker clusters ... all clusters compete"; Incremental:
  "clusters are nominated in rounds ... in the order they are listed in MultiKueueConfig.spec.clusters",
  "a batch of clusters (by default, up to 3)", the next batch "within a fixed duration (5 minutes)"
  (same page, "Workload Dispatching"; the order under the MultiKueueIncrementalDispatcherRespectConfigOrder
  gate, Beta and on by default since v0.19).
- It runs on the first worker that admits it: "When a worker cluster admits one of these remote Workloads:
  The manager deletes the Workloads from the other clusters" ("Job Flow" 2).
Each worker admits by its own queues: the same simulation runs on the worker stack's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from components.model import Platform

from .cluster import ClusterView, from_capture
from .queue import simulate
from .simulate import ADMITTED, MULTIKUEUE_CONTROLLER, Verdict
from .workload import from_object

INCREMENTAL = "Incremental"
STEP = 3  # Kueue v0.19.2 apis/config/v1beta2/defaults.go: IncrementalDispatcherConfig.StepSize defaults to 3
ROUND_MINUTES = 5


@dataclass(frozen=True)
class Worker:
    name: str  # its MultiKueueCluster name
    region: str
    verdict: Optional[Verdict]  # the workload simulated on the worker's objects; None: its stack is not here


def multikueue_config(cluster: ClusterView, verdict: Verdict) -> Optional[str]:
    """The MultiKueueConfig behind the verdict's MultiKueue admission check, if it has one."""
    for name in verdict.admission_checks:
        spec = (cluster.named("AdmissionCheck", name) or {}).get("spec") or {}
        if spec.get("controllerName") == MULTIKUEUE_CONTROLLER:
            return (spec.get("parameters") or {}).get("name")
    return None


def rounds(order: list[str], dispatcher: str) -> list[list[str]]:
    """The workers nominated in each round: all at once, or STEP more per round in the config's order."""
    if dispatcher != INCREMENTAL:
        return [list(order)]
    return [order[: i + STEP] for i in range(0, len(order), STEP)]


def explain_dispatch(cluster: ClusterView, verdict: Verdict, dispatcher: str,
                     worker_of: Callable[[str], Worker]) -> list[str]:
    """Lines saying where an admitted manager workload runs and why; [] when it is not dispatched."""
    config_name = multikueue_config(cluster, verdict)
    if config_name is None:
        return []
    order = list(((cluster.named("MultiKueueConfig", config_name) or {}).get("spec") or {}).get("clusters") or [])
    if verdict.status != ADMITTED:
        return [f"  dispatch: none yet; MultiKueue copies it to a worker ({', '.join(order)}) only once it holds "
                "quota here"]
    lines = [f"  dispatch: its pods do not run here; AdmissionCheck {', '.join(verdict.admission_checks)} "
             f"(MultiKueue, {dispatcher}) copies it to the workers of MultiKueueConfig {config_name}: {', '.join(order)}"]
    workers = {name: worker_of(name) for name in order}
    for i, nominated in enumerate(rounds(order, dispatcher)):
        when = "at once" if i == 0 else f"after {ROUND_MINUTES * i} minutes without admission"
        admit = [n for n in nominated if workers[n].verdict and workers[n].verdict.status == ADMITTED]
        lines.append(f"    round {i + 1} ({when}): nominated {', '.join(nominated)}")
        for name in nominated:
            w = workers[name]
            said = w.verdict.summary if w.verdict else "its stack file is not here, so it cannot be simulated"
            lines.append(f"      {name} ({w.region}): {w.verdict.status.upper() + ': ' if w.verdict else ''}{said}")
        if len(admit) == 1:
            lines.append(f"    runs on: {admit[0]} ({workers[admit[0]].region}), the one nominated worker that admits it")
            return lines
        if admit:
            lines.append(f"    runs on: whichever of {', '.join(admit)} admits it first; the manager then deletes "
                         "the other copies")
            return lines
    lines.append("    runs on: no worker admits it now; it waits on the manager with its quota reserved")
    return lines


def dispatch_notes(platform: Platform, cluster: ClusterView, verdicts: list[Verdict], objs: list[dict],
                   namespace: Optional[str], now: float) -> list[str]:
    """Per verdict, the dispatch lines to print under it ("" when the stack is not a fleet manager). Each
    worker's stack file (Pulumi.<stack>.yaml, as `fleet.workers[].stack` names it) is planned offline and
    the same job simulated on it alone."""
    if platform.fleet is None or platform.fleet.role != "manager":
        return [""] * len(verdicts)
    from components.capture import REPO, load_stack, run_stack  # only a manager's explain plans its workers

    stacks = {w.name: w.stack for w in platform.fleet.workers}
    views: dict[str, Optional[tuple[str, ClusterView]]] = {}

    def view_of(name: str) -> Optional[tuple[str, ClusterView]]:
        if name not in views:
            stack = stacks.get(name)
            loaded = load_stack(stack) if stack and (REPO / f"Pulumi.{stack}.yaml").exists() else None
            views[name] = (loaded.platform.region, from_capture(run_stack(loaded))) if loaded else None
        return views[name]

    notes = []
    for verdict, obj in zip(verdicts, objs):
        def worker_of(name: str, obj: dict = obj) -> Worker:
            found = view_of(name)
            if found is None:
                return Worker(name, "region unknown", None)
            region, view = found
            return Worker(name, region, simulate(view, [from_object(obj)], [], namespace, now).verdicts[0])
        lines = explain_dispatch(cluster, verdict, platform.fleet.dispatcher, worker_of)
        notes.append("".join(f"\n{line}" for line in lines))
    return notes
