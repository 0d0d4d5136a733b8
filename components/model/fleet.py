"""What a fleet derives from the `fleet` section: the manager's dispatched classes, the names of the
MultiKueue objects and credentials, the worker's extra authorized networks, and the rules that make a
manager and a worker agree. Every rule restates Kueue v0.19.2 MultiKueue behaviour, cited where used.
"""

from __future__ import annotations

from typing import Iterator, Optional

from .errors import Issue
from .schema import Platform, Team
from .fleet_schema import FleetWorker
from .names import team_bucket_name

# The AdmissionCheck and MultiKueueConfig the manager's dispatched ClusterQueues reference.
ADMISSION_CHECK = "multikueue"
CONFIG_NAME = "multikueue"
# Kueue v0.19.2 apis/kueue/v1beta2/multikueue_types.go: MultiKueueControllerName, and
# MultiKueueConfigSecretKey ("The config should be stored in the \"kubeconfig\" key").
CONTROLLER_NAME = "kueue.x-k8s.io/multikueue"
SECRET_KEY = "kubeconfig"
# The manager's identity on a worker (Kueue site/static/examples/multikueue/create-multikueue-kubeconfig.sh:
# MULTIKUEUE_SA=multikueue-sa in kueue-system; named here for what it is).
MANAGER_ACCOUNT = "multikueue-manager"
# Kueue v0.19.2 apis/config/v1beta2/configuration_types.go: the two built-in dispatchers.
DISPATCHERS = {"AllAtOnce": "kueue.x-k8s.io/multikueue-dispatcher-all-at-once",
               "Incremental": "kueue.x-k8s.io/multikueue-dispatcher-incremental"}


def role(platform: Platform) -> Optional[str]:
    return platform.fleet.role if platform.fleet else None


def dispatched(platform: Platform) -> frozenset[str]:
    """The queue classes whose ClusterQueues carry the MultiKueue admission check (manager only)."""
    return frozenset(platform.fleet.dispatch) if role(platform) == "manager" else frozenset()


def kubeconfig_secret(worker: FleetWorker) -> str:
    """The manager's Secret (in kueue-system) holding the worker's kubeconfig; MultiKueueCluster `location`."""
    return f"{worker.name}-kubeconfig"


def manager_platform(platform: Platform) -> Optional[Platform]:
    """A worker's manager, as its stack file says (the model its teams were derived from)."""
    return platform.fleet._manager if role(platform) == "worker" else None


def data_buckets(platform: Platform) -> dict[str, str]:
    """team -> the bucket its dispatched jobs name. MultiKueue copies the Job to the worker as it was
    submitted, so its Cloud Storage FUSE volume still names the manager's team bucket; the worker's team
    identity is granted that bucket (docs/design.md "Data across regions")."""
    manager = manager_platform(platform)
    if manager is None:
        return {}
    return {team.name: team_bucket_name(manager, team) for team in manager.teams
            if team.name in {t.name for t in platform.teams}}


def team_bucket(platform: Platform, team: Team) -> str:
    """The bucket a team's jobs mount: its own, or on a worker its manager's (a worker creates none)."""
    return data_buckets(platform).get(team.name) or team_bucket_name(platform, team)


def fleet_issues(p: Platform) -> Iterator[Issue]:
    if p.fleet is None:
        return
    f = p.fleet
    if f.role == "manager":
        if not f.workers:
            yield Issue("fleet.workers", "a manager needs at least one worker to dispatch to",
                        "add - {name: worker-eu, stack: fleet-worker-eu}")
        if f.manager is not None:
            yield Issue("fleet.manager", "only a worker names its manager", "remove fleet.manager", example=None)
        for key, value in (("quota", f.quota.model_dump(exclude_defaults=True)), ("teamQuota", f.team_quota)):
            if value:
                yield Issue(f"fleet.{key}", "only a worker states its region's quota (a manager's is its teams' queues)",
                            f"remove fleet.{key}")
        with_quota = {cls for t in p.teams for cls, quotas in t.queues.by_class() if quotas} | ({"dws"} if p.dws else set())
        for i, cls in enumerate(f.dispatch):
            if cls not in with_quota:
                yield Issue(f"fleet.dispatch[{i}]", f"no team has a {cls!r} queue, so nothing would be dispatched",
                            f"remove {cls} or give a team queues.{cls}")
        # Data stays in-region: a Filestore share is reachable only inside this stack's VPC (docs/design.md
        # "A fleet"), so a team with datasets must not have work dispatched to another region.
        for i, team in enumerate(p.teams):
            gone = [cls for cls, quotas in team.queues.by_class() if quotas and cls in f.dispatch]
            if team.datasets is not None and gone:
                yield Issue(f"teams[{i}].datasets", f"{team.name}'s Filestore datasets are reachable only in "
                            f"{p.region}, but its {', '.join(gone)} work would run on a worker without /datasets",
                            f"remove {', '.join(gone)} from fleet.dispatch, or drop the team's queues.{gone[0]}")
    else:
        if f.manager is None:
            yield Issue("fleet.manager", "a worker must name its manager's stack",
                        "add manager: {stack: fleet-manager}")
        if f.workers:
            yield Issue("fleet.workers", "only a manager lists workers", "remove fleet.workers")
        if p.cluster.private_endpoint:
            # The manager dials the worker's endpoint from its NAT addresses; with no public endpoint it cannot.
            yield Issue("cluster.privateEndpoint", "a MultiKueue worker's control plane must be reachable by the "
                        "manager from its egress addresses", "set privateEndpoint: false")


def agreement_issues(manager: Platform, worker: Platform) -> list[Issue]:
    """What a worker lacks for the manager's dispatched workloads. Kueue v0.19.2
    site/content/en/docs/tasks/manage/setup_multikueue.md: "it expects that the job's namespace and
    LocalQueue also exist in the worker cluster ... the worker cluster configuration mirrors the one of
    the manager cluster in terms of namespaces and LocalQueues"; the same Kueue version on both sides
    because the manager creates the worker's Workload objects itself."""
    issues: list[Issue] = []
    workers = {t.name: t for t in worker.teams}
    for team in manager.teams:
        for cls, quotas in team.queues.by_class():
            if not quotas or cls not in dispatched(manager):
                continue
            mirror = workers.get(team.name)
            if mirror is None or not getattr(mirror.queues, cls):
                # A worker derived from this manager always mirrors it; one derived from another version of
                # the manager's file (or planned before it changed) does not.
                where = "has no namespace for it" if mirror is None else f"has no {cls} queue for it"
                issues.append(Issue(f"fleet.quota.{cls}", f"team {team.name} dispatches {cls!r} but the worker {where}",
                                    f"add quota.{cls} on the worker's own flavors"))
    if "dws" in dispatched(manager) and manager.dws is not None:
        # The worker's own DWS queue provisions for a dispatched DWS job, in its region: it must admit the
        # same teams (their LocalQueue `dws` must exist there).
        granted = {t.name for t in manager.teams if t.dws}
        there = {t.name for t in worker.teams if t.dws} if worker.dws is not None else set()
        if granted - there:
            issues.append(Issue("dws" if worker.dws is None else "teams",
                                f"the manager dispatches DWS jobs of {', '.join(sorted(granted - there))} but the worker "
                                + ("has no dws section" if worker.dws is None else "does not grant them dws"),
                                "give the worker a dws pool and section and set dws: true on those teams"))
    if manager.versions.kueue != worker.versions.kueue:
        issues.append(Issue("versions.kueue", f"the worker runs Kueue {worker.versions.kueue}, the manager "
                            f"{manager.versions.kueue}", f"set versions.kueue: {manager.versions.kueue}",
                            example=manager.versions.kueue))
    return issues


def nominal_gpus(platform: Platform, cls: str) -> int:
    """The nominal GPUs of a class's queues (the shared DWS queue's for `dws`)."""
    if cls == "dws":
        return platform.dws.gpus if platform.dws else 0
    return sum(q.gpus for t in platform.teams for q in getattr(t.queues, cls))


def quota_warnings(manager: Platform, workers: list[Platform]) -> list[str]:
    """Kueue v0.19.2 site/content/en/docs/concepts/multikueue.md "Manager Cluster": "Ideally, the quota in the
    manager cluster should equal the total quota available in all worker clusters" (lower: workers stay
    underused; higher: it dispatches work the workers are unlikely to admit). Said when they differ."""
    out = []
    for cls in sorted(dispatched(manager)):
        here, there = nominal_gpus(manager, cls), sum(nominal_gpus(w, cls) for w in workers)
        if here != there:
            effect = "the workers stay partly idle" if here < there else "it dispatches work the workers cannot admit"
            out.append(f"fleet.dispatch: the manager's {cls} queues hold {here} nominal GPUs but its workers' hold "
                       f"{there}: {effect} (Kueue: the manager's quota should equal the workers' total)")
    return out
