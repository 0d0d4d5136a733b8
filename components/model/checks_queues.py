"""Queue, cohort and capacity checks: what Kueue would accept but never honour, or reject at apply time.

One root cause, one error: a duplicate team is reported once and left out of the sums; a quota on an
unknown flavor is reported once and its cohort's borrowing is not judged; a cohort with a single
team (usually a misspelled cohort name) is one error at the cohort key, not one per borrowing limit.

Kueue API limits (kueue v0.19.2, apis/kueue/v1beta2): a ResourceGroup lists at most 64 flavors
(clusterqueue_types.go, `Flavors` MaxItems=64); a ResourceFlavor has at most 8 nodeLabels, 8 nodeTaints
and 8 tolerations (resourceflavor_types.go, MaxProperties=8 / MaxItems=8). Borrowing needs a cohort
(Kueue webhook: borrowingLimit must be nil when cohort is empty).
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from typing import Iterator

from .capacity import quota_uses
from .ledger import QueueQuota as QuotaUse
from .errors import REMOVE, Issue, misspelling_of
from .flavors import flavors
from .schema import Platform, Provisioning
from .queue_classes import TEAM_CLASSES

# Which capacity each queue class may draw from, in the order its flavors must be listed.
CLASS_CAPACITY = {c.name: c.capacity for c in TEAM_CLASSES}
MAX_FLAVORS_PER_GROUP = 64
MAX_FLAVOR_NODE_LABELS = MAX_FLAVOR_TAINTS = 8


def _misplaced(p: Platform) -> set[str]:
    """Paths of quota entries reported by queue_issues (unknown flavor, wrong class, listed twice): the
    user will move them, so the sums and the borrowing are judged without them."""
    known = flavors(p)
    out = set()
    for t, team in enumerate(p.teams):
        for cls, quotas in team.queues.by_class():
            listed: set[str] = set()
            for q, quota in enumerate(quotas):
                flavor = known.get(quota.flavor)
                if flavor is None or flavor.capacity not in CLASS_CAPACITY[cls] or quota.flavor in listed:
                    out.add(f"teams[{t}].queues.{cls}[{q}]")
                listed.add(quota.flavor)
    return out


def _uses(p: Platform) -> list[QuotaUse]:
    """Quota uses of known flavors in their right class (the others are reported on their own)."""
    misplaced, known = _misplaced(p), flavors(p)
    dws_ok = lambda u: u.path != "dws" or known[u.flavor].capacity == Provisioning.DWS.value  # noqa: E731 - else dws.flavor's own error
    return [u for u in quota_uses(p) if u.path not in misplaced and u.flavor in known and dws_ok(u)]


def _queue(use: QuotaUse) -> str:
    """The queue a quota belongs to, by position (teams[1].queues.high): a duplicated team name is not a shared queue."""
    return use.path.rsplit("[", 1)[0]


def queue_issues(p: Platform) -> Iterator[Issue]:
    all_flavors = flavors(p)
    nap = p.node_auto_provisioning
    nap_off = {s.name for s in nap.shapes} if not nap.enabled else set()
    for t, team in enumerate(p.teams):
        classes = team.queues.by_class()
        if not any(quotas for _, quotas in classes):
            yield Issue(f"teams[{t}].queues", f"team {team.name!r} has no queue", "give it at least one of high, low, compact")
        for cls, quotas in classes:
            allowed = CLASS_CAPACITY[cls]
            if len(quotas) > MAX_FLAVORS_PER_GROUP:
                yield Issue(f"teams[{t}].queues.{cls}", f"{len(quotas)} flavors; a Kueue ClusterQueue resource group holds at most {MAX_FLAVORS_PER_GROUP}",
                            "list fewer flavors")
            seen_rank = -1
            listed: set[str] = set()
            for q, quota in enumerate(quotas):
                path = f"teams[{t}].queues.{cls}[{q}]"
                flavor = all_flavors.get(quota.flavor)
                if flavor is None and quota.flavor in nap_off:
                    continue  # reported once: shapes declared while NAP is disabled
                if flavor is None:
                    fitting = [n for n, f in all_flavors.items() if f.capacity in allowed]
                    near = difflib.get_close_matches(quota.flavor, fitting or list(all_flavors), n=1, cutoff=0.6)
                    yield Issue(f"{path}.flavor", f"unknown flavor {quota.flavor!r} (the flavors are the gpuPools and NAP shapes: {', '.join(all_flavors)})",
                                f"write {near[0]}" if near else f"use one of: {', '.join(fitting or all_flavors)}",
                                example=near[0] if near else None)
                    continue
                if quota.flavor in listed:
                    yield Issue(f"{path}.flavor", f"{quota.flavor!r} is listed twice", "list each flavor once")
                listed.add(quota.flavor)
                if flavor.capacity not in allowed:
                    fitting = [n for n, f in all_flavors.items() if f.capacity in allowed and n not in listed]
                    yield Issue(
                        f"{path}.flavor",
                        f"{quota.flavor!r} is {flavor.capacity} capacity; the {cls} class may only use {' / '.join(allowed)}",
                        f"pick a flavor of an allowed capacity type: {', '.join(fitting)}" if fitting else "pick a flavor of an allowed capacity type",
                    )
                    continue
                rank = allowed.index(flavor.capacity)
                if rank < seen_rank:
                    yield Issue(
                        f"{path}.flavor",
                        f"{quota.flavor!r} ({flavor.capacity}) is listed after a {allowed[seen_rank]} flavor; Kueue tries flavors in order",
                        f"list {' before '.join(allowed)}",
                    )
                seen_rank = max(seen_rank, rank)
                if quota.borrowing_limit is not None and team.cohort is None:
                    yield Issue(f"{path}.borrowingLimit", "borrowing needs a cohort (Kueue rejects borrowingLimit without one)",
                                "set the team's cohort or remove borrowingLimit", example=REMOVE)
                # The ClusterQueue CRD: "lendingLimit must be null if spec.cohortName is empty"; Kueue's
                # webhook: lendingLimit "must be less than or equal to the nominalQuota".
                if quota.lending_limit is not None and team.cohort is None:
                    yield Issue(f"{path}.lendingLimit", "lending needs a cohort (Kueue rejects lendingLimit without one)",
                                "set the team's cohort or remove lendingLimit", example=REMOVE)
                elif quota.lending_limit is not None and quota.lending_limit > quota.gpus:
                    yield Issue(f"{path}.lendingLimit", f"lendingLimit {quota.lending_limit} is more than the queue's "
                                f"{quota.gpus} nominal GPUs (Kueue rejects it)", f"lower lendingLimit to at most {quota.gpus}",
                                example=quota.gpus)


def flavor_limit_issues(p: Platform) -> Iterator[Issue]:
    """The derived ResourceFlavor must fit Kueue's API limits (8 node labels, 8 taints, 8 tolerations)."""
    paths = {pool.name: f"gpuPools[{i}]" for i, pool in enumerate(p.gpu_pools)}
    paths.update({s.name: f"nodeAutoProvisioning.shapes[{i}]" for i, s in enumerate(p.node_auto_provisioning.shapes)})
    for name, flavor in flavors(p).items():
        for what, count, limit in (("node labels", len(flavor.node_labels), MAX_FLAVOR_NODE_LABELS),
                                   ("taints", len(flavor.node_taints), MAX_FLAVOR_TAINTS)):
            if count > limit:
                yield Issue(paths[name], f"its ResourceFlavor would carry {count} {what}; Kueue allows at most {limit}", "drop some")


def borrowing_issues(p: Platform) -> Iterator[Issue]:
    """A borrowing limit is only reachable if other queues of the cohort (the team's own other
    classes included) own nominal quota in that flavor."""
    # A cohort with a misplaced quota or a team without queues is judged once those are fixed.
    misplaced = _misplaced(p)
    unsettled = {u.cohort for u in quota_uses(p) if u.path in misplaced}
    unsettled |= {team.cohort for team in p.teams if not any(quotas for _, quotas in team.queues.by_class())}
    uses = [u for u in _uses(p) if u.cohort and u.cohort not in unsettled]
    lendable: dict[tuple[str, str], list[QuotaUse]] = defaultdict(list)
    for use in uses:
        lendable[(use.cohort, use.flavor)].append(use)
    unreachable: dict[str, list[tuple[QuotaUse, int]]] = defaultdict(list)
    for use in uses:
        if not use.borrowing_limit:
            continue
        # What the other queues lend (components/model/ledger.py), over the quotas that are settled.
        peers = sum(u.lendable for u in lendable[(use.cohort, use.flavor)] if _queue(u) != _queue(use))
        if use.borrowing_limit > peers:
            unreachable[use.cohort].append((use, peers))
    members: dict[str, list[int]] = defaultdict(list)
    for i, team in enumerate(p.teams):
        if team.cohort:
            members[team.cohort].append(i)
    reported: set[str] = set()
    for cohort, found in unreachable.items():
        if cohort in reported:
            continue
        if len(members[cohort]) == 1:
            yield from _lonely_cohort(p, cohort, members, unreachable, reported)
            continue
        for use, peers in found:
            yield Issue(
                f"{use.path}.borrowingLimit",
                f"{use.borrowing_limit} GPUs of {use.flavor!r} can never be borrowed: the other queues in cohort "
                f"{use.cohort!r} lend only {peers} GPUs there",
                f"lower borrowingLimit to at most {peers}", example=peers,
            )


def _lonely_cohort(p: Platform, cohort: str, members: dict[str, list[int]], unreachable: dict, reported: set[str]) -> Iterator[Issue]:
    """A cohort of one team: no other team lends to it. Usually its name is a misspelling of another cohort."""
    t = members[cohort][0]
    limits = ", ".join(f"{u.flavor} {u.borrowing_limit}" for u, _ in unreachable[cohort])
    others = [c for c in members if c != cohort]
    near = [m] if (m := misspelling_of(cohort, others)) else []
    reported.add(cohort)
    if near:
        other = near[0]
        if len(members[other]) == 1:
            # A two-team cohort split by the typo: both spellings are lonely; the later team misspelled it.
            reported.add(other)
            first, later = sorted((t, members[other][0]))
        else:
            first, later = members[other][0], t
        right = p.teams[first].cohort
        lost = ", ".join(f"{u.flavor} {u.borrowing_limit}" for u, _ in unreachable.get(p.teams[later].cohort, []))
        yield Issue(
            f"teams[{later}].cohort",
            f"cohort {p.teams[later].cohort!r} has no other team, so team {p.teams[later].name!r} "
            + (f"can never borrow ({lost}); " if lost else "lends to and borrows from nobody; ")
            + f"it looks like a misspelling of cohort {right!r}",
            f"write {right}", example=right,
        )
        return
    yield Issue(
        f"teams[{t}].cohort",
        f"cohort {cohort!r} has only team {p.teams[t].name!r}, and its own queues cannot lend what it borrows "
        f"({limits}): those borrowing limits can never be used",
        "put the teams that should share capacity in the same cohort, or remove these borrowing limits",
    )


def capacity_issues(p: Platform) -> Iterator[Issue]:
    """Per flavor, the nominal quotas must fit what the pool or NAP allowance can supply."""
    all_flavors = flavors(p)
    by_flavor: dict[str, list[QuotaUse]] = defaultdict(list)
    for use in _uses(p):
        by_flavor[use.flavor].append(use)
    for name, uses in by_flavor.items():
        flavor = all_flavors[name]
        total = sum(u.nominal for u in uses)
        if total <= flavor.gpu_units or flavor.max_nodes == 0:
            continue  # a pool without nodes is reported by the pool checks (reservedNodes / maxNodes)
        parts = ", ".join(f"{u.owner} {u.nominal}" for u in uses if u.nominal)
        supply = f"{flavor.max_nodes} nodes x {flavor.gpus_per_node} GPUs"
        if flavor.is_nap:
            supply = f"NAP allowance maxGpus {flavor.gpus}"
        elif flavor.capacity == Provisioning.RESERVED.value:
            supply = f"{flavor.max_nodes} reserved nodes x {flavor.gpus_per_node} GPUs"
        if flavor.sharing:  # quotas count the units the nodes advertise (model/sharing.py)
            supply += f" shared by {flavor.units_per_gpu} containers each"
        largest = max(uses, key=lambda u: u.nominal)
        over = total - flavor.gpu_units
        yield Issue(
            f"{largest.path}.gpus" if largest.path != "dws" else "dws.gpus",
            f"flavor {name!r} is over-subscribed: nominal quotas sum to {total} GPUs ({parts}) "
            f"but it supplies {flavor.gpu_units} ({supply})",
            f"lower the quotas by {over} GPUs or grow the pool",
            example=largest.nominal - over if largest.nominal >= over else None,
        )
