"""The `fleet` section: this stack's cluster as a MultiKueue manager or as one of its workers.

Absent, the stack is today's single cluster. One Pulumi stack per cluster (docs/design.md "A fleet:
one stack per cluster"): a manager stack names its workers and the stacks that own them; a worker
stack names its manager's stack and states only what is its own: its region's quota for the classes the
manager dispatches. Its teams, namespaces and queues are derived from the manager's stack file
(components/model/fleet_derive.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, Field, PrivateAttr, create_model
from pydantic_core import PydanticCustomError

from .queue_classes import TEAM_CLASSES
from .schema_base import DNS_LABEL, FlavorQuota, Model

# A Pulumi stack name as `pulumi stack init` accepts it (letters, digits, `-`, `_`, `.`).
STACK_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
# Kueue runs dispatched Jobs and JobSets on a worker; serving (Deployments admitted pod by pod, docs/teams.md
# "Deploy a model") stays where its users reach it. `dws` is the shared DWS queue: a worker provisions for it.
TEAM_DISPATCHABLE = tuple(c.name for c in TEAM_CLASSES if c.name != "serving")
DISPATCHABLE = (*TEAM_DISPATCHABLE, "dws")
# A worker's quota for each dispatchable class, shaped like a team's `queues`.
DispatchQuotas = create_model(
    "DispatchQuotas", __base__=Model,
    **{c: (list[FlavorQuota], Field([], description=f"Quota of each dispatching team's `{c}` queue here."))
       for c in TEAM_DISPATCHABLE},
)


def _unique(names: list[str]) -> list[str]:
    if len(set(names)) != len(names):
        seen = sorted({n for n in names if names.count(n) > 1})
        raise PydanticCustomError("platform_fleet_unique", "{names} listed more than once",
                                  {"names": ", ".join(seen), "fix": "list each once"})
    return names


def _unique_workers(workers: list["FleetWorker"]) -> list["FleetWorker"]:
    _unique([w.name for w in workers])
    return workers


class FleetWorker(Model):
    name: Annotated[str, Field(pattern=DNS_LABEL, max_length=40)] = Field(
        description="The worker's MultiKueueCluster name on the manager (and its kubeconfig Secret's prefix).")
    stack: str = Field(pattern=STACK_NAME, description="The worker's own Pulumi stack; its `multikueueKubeconfig` "
                       "output (a secret) becomes the manager's kubeconfig Secret for it.")


class FleetManager(Model):
    stack: str = Field(pattern=STACK_NAME, description="The manager's Pulumi stack, whose stack file must be next to "
                       "this one: the worker's teams, namespaces and queues are derived from it, and its Cloud NAT "
                       "addresses (its `natAddresses` output) are added to this cluster's authorized networks.")


class Fleet(Model):
    """MultiKueue (Kueue site/content/en/docs/concepts/multikueue.md): the manager holds the teams' queues and
    dispatches admitted workloads of the listed classes to its workers, which mirror those queues."""

    role: Literal["manager", "worker"] = Field(description="manager: dispatches to `workers`; worker: runs what "
                                               "`manager` dispatches.")
    dispatch: Annotated[list[Literal[DISPATCHABLE]], AfterValidator(_unique)] = Field(  # type: ignore[valid-type]
        ["low"], min_length=1, description="Queue classes whose workloads the manager dispatches to the workers "
        "(their ClusterQueues carry the MultiKueue admission check); the others run on the manager.")
    workers: Annotated[list[FleetWorker], AfterValidator(_unique_workers)] = Field(
        [], max_length=20, description="manager only: the workers in order of preference (MultiKueueConfig "
        "`clusters`, at most 20; the Incremental dispatcher nominates them in this order).")
    manager: Optional[FleetManager] = Field(None, description="worker only: the manager it serves.")
    quota: DispatchQuotas = Field(  # type: ignore[valid-type]
        DispatchQuotas(), description="worker only: each dispatching team's quota in this region, per class the manager dispatches "
        "(the same shape as a team's `queues.<class>`, on this worker's own flavors).")
    team_quota: dict[str, DispatchQuotas] = Field(  # type: ignore[valid-type]
        {}, description="worker only: a team's quota here when it differs from `quota` (team name -> class -> quotas).")
    dispatcher: Literal["Incremental", "AllAtOnce"] = Field(
        "Incremental", description="Incremental: workers nominated in `workers` order, the next after 5 minutes "
        "without admission; AllAtOnce: every worker at once, the first to admit wins.")
    # worker: the manager's validated Platform its teams were derived from (set by components/model/load.py).
    _manager: Any = PrivateAttr(None)
    worker_lost_timeout_minutes: int = Field(
        15, ge=1, le=1440, description="How long a workload admitted on a worker that stops answering keeps its "
        "admission before it is requeued (Kueue multiKueue.workerLostTimeout).")
