"""The cost envelope as text (for the terminal and the plan) and as JSON (for machines)."""

from __future__ import annotations

from typing import Optional

from components.model import Platform
from components.model.prices import PRICES_FILE, PriceCatalog, price_catalog

from .budget import budget_checks
from .envelope import Line, Pricer, Total, reserved_flavors, stack_envelope, usd
from .fleet import fleet_costs, fleet_lines
from .pipeline import pipeline_costs, step_ranges
from .serving import ServingCost, serving_costs
from .teams import quota_costs, team_costs


def money(value: Optional[float]) -> str:
    return "UNPRICED" if value is None else f"${value:,.2f}"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    # Money columns are right-aligned, header included.
    right = [any(r[i].startswith("$") for r in rows) for i in range(len(headers))]
    fmt = lambda cells: "  " + "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()  # noqa: E731
    return [fmt(headers), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows]


def _total_lines(title: str, total: Total) -> list[str]:
    bound = "" if total.complete else f"  (LOWER BOUND: {len(total.unpriced)} unpriced line(s))"
    rows = [[line.item, line.detail, money(line.monthly)] for line in total.lines]
    out = [f"{title}: {money(total.monthly)}/month{bound}"] + _table(["item", "what", "per month"], rows)
    out += [f"  UNPRICED {line.item}: {line.unpriced}" for line in total.unpriced]
    return out


def commitment_note(platform: Platform, catalog: PriceCatalog) -> list[str]:
    """What the reserved pools would cost under a 1-year commitment instead of the on-demand rate."""
    pricer = Pricer(platform, catalog)
    out = []
    for flavor in reserved_flavors(platform):
        line: Line = pricer.nodes(flavor.name, flavor.machine.name, flavor.max_nodes, "commit1y", "1-year commitment")
        if line.monthly is not None:
            out.append(f"  {flavor.name}: with a 1-year committed-use discount {money(line.monthly)}/month instead")
    return out


def cost_text(platform: Platform, stack: str, catalog: Optional[PriceCatalog] = None) -> list[str]:
    catalog = catalog or price_catalog()
    env = stack_envelope(platform, stack, catalog)
    out = [f"Cost envelope of stack {stack!r} ({env.region}, {catalog.currency} per month of {catalog.hours_per_month} h; "
           f"prices from {PRICES_FILE.relative_to(PRICES_FILE.parents[2])} with their dates and sources: prices change)", ""]
    out += _total_lines("Idle floor (no job running)", env.idle)
    out += commitment_note(platform, catalog)
    out += [""] + _total_lines("Burst (every pool at its maximum, NAP at its limits)", env.burst)
    out += [""] + _total_lines("Spot saves over on-demand at burst", env.spot_saving)
    rows = []
    for q in quota_costs(platform, catalog):
        rows.append([q.queue, q.flavor, str(q.gpus), str(q.borrowable), money(q.gpu_month), money(q.nominal), money(q.borrowing)])
    out += ["", "Per queue and flavor (a GPU costs its share of its node):"]
    out += _table(["queue", "flavor", "GPUs", "can borrow", "per GPU-month", "nominal", "borrowing limit"], rows)
    out += _serving_lines(platform, catalog)
    out += _pipeline_lines(platform, catalog)
    out += fleet_lines(platform, stack, catalog)
    out += [""] + _team_and_budget_lines(platform, catalog)
    out += [""] + [f"Note: {note}" for note in env.notes]
    return out


def server_rows(platform: Platform, catalog: Optional[PriceCatalog] = None) -> list[list[str]]:
    """Per model server: flavor, replicas, nodes, floor and burst per month (header row first)."""
    return [["team", "flavor", "replicas", "nodes", "floor", "burst"]] + [
        [c.team, c.flavor, f"{c.min_replicas}..{c.max_replicas}", f"{c.floor_nodes}..{c.burst_nodes}",
         money(c.floor.monthly), money(c.burst.monthly)] for c in serving_costs(platform, catalog)]


def _serving_lines(platform: Platform, catalog: Optional[PriceCatalog]) -> list[str]:
    """Model servers: the floor their minReplicas keep running on top of the idle floor, and their burst."""
    header, *rows = server_rows(platform, catalog)
    if not rows:
        return []
    costs = serving_costs(platform, catalog)
    return (["", "Model servers (the floor never scales away: add it to the idle floor; burst is within the pools' maximum):"]
            + _table(header, rows)
            + [f"  UNPRICED {line.item}: {line.unpriced}" for c in costs for line in (c.floor, c.burst) if line.monthly is None])


def pipeline_rows(platform: Platform, catalog: Optional[PriceCatalog] = None) -> list[list[str]]:
    """The example pipeline's steps per hour they run, on each flavor of the team's low queue (header row first)."""
    return [["team", "step", "pods", "GPU-hours/h", "flavor", "per GPU-hour", "per hour"]] + [
        [c.team, c.step, str(c.pods), str(c.gpu_hours_per_hour), c.flavor,
         money(c.per_gpu_hour) + (" (reserved)" if c.reserved else ""), money(c.per_hour)]
        for c in pipeline_costs(platform, catalog)]


def _pipeline_lines(platform: Platform, catalog: Optional[PriceCatalog]) -> list[str]:
    """The pipeline table (cost/pipeline.py), where a team has pipelines."""
    header, *rows = pipeline_rows(platform, catalog)
    if not rows:
        return []
    return (["", "Pipelines (the example `workloads --kind pipeline`, per hour a step runs, on each flavor of the low "
             "queue in Kueue's order; a CPU step holds one GPU's share of a node; reserved: already in the idle floor):"]
            + _table(header, rows))


def _pipelines_summary(platform: Platform, catalog: Optional[PriceCatalog]) -> list[str]:
    """One line per pipelines team: each step of its example per hour it runs, least..most over the flavors
    Kueue may admit it on (the rows above; reserved capacity adds nothing)."""
    return [f"Pipeline of {team} (the example, per hour each step runs, over its low queue's flavors): "
            + ", ".join(f"{r.step} {r.per_hour_text()}" for r in steps)
            for team, steps in step_ranges(pipeline_costs(platform, catalog)).items()]


def _team_and_budget_lines(platform: Platform, catalog: Optional[PriceCatalog]) -> list[str]:
    header, *rows = team_rows(platform, catalog)
    out = ["Per team (burst = nominal quota + every borrowing limit):"] + _table(header, rows)
    checks = budget_checks(platform, catalog)
    if checks:
        out += ["", "Budgets:"] + [f"  {'OVER' if c.over else 'ok  '} {c.message()}" for c in checks]
    return out


def team_rows(platform: Platform, catalog: Optional[PriceCatalog] = None) -> list[list[str]]:
    """Per team: nominal quota, borrowing limits, burst, spot saving and budget (header row first)."""
    return [["team", "nominal", "borrowing limit", "burst", "spot saves", "budget"]] + [
        [t.team, money(t.nominal), money(t.borrowing), money(t.burst), money(t.spot_saving),
         money(t.budget) if t.budget else "-"] for t in team_costs(platform, catalog)]


def plan_section(platform: Platform, catalog: Optional[PriceCatalog] = None) -> list[str]:
    """The offline plan's cost section: the stack's envelope, each model server's floor and burst, each
    pipeline step per hour it runs and each team's quota cost."""
    return (summary_lines(platform, catalog) + _serving_lines(platform, catalog) + _pipeline_lines(platform, catalog)
            + [""] + _team_and_budget_lines(platform, catalog))


def cost_json(platform: Platform, stack: str, catalog: Optional[PriceCatalog] = None) -> dict:
    catalog = catalog or price_catalog()
    env = stack_envelope(platform, stack, catalog)
    return {
        "stack": stack, "region": env.region, "currency": catalog.currency, "hoursPerMonth": catalog.hours_per_month,
        "idle": env.idle.to_json(), "burst": env.burst.to_json(), "spotSaving": env.spot_saving.to_json(),
        "budgetMonthlyUsd": env.budget,
        "queues": [q.to_json() for q in quota_costs(platform, catalog)],
        "teams": [t.to_json() for t in team_costs(platform, catalog)],
        "servers": [s.to_json() for s in serving_costs(platform, catalog)],
        "pipelines": [p.to_json() for p in pipeline_costs(platform, catalog)],
        "budgets": [c.to_json() for c in budget_checks(platform, catalog)],
        "fleet": [c.to_json() for c in fleet_costs(platform, stack, catalog)],
        "notes": list(env.notes),
        "summary": {"idleMonthlyUsd": usd(env.idle.monthly), "burstMonthlyUsd": usd(env.burst.monthly),
                    "spotSavingMonthlyUsd": usd(env.spot_saving.monthly)},
    }


def summary_lines(platform: Platform, catalog: Optional[PriceCatalog] = None) -> list[str]:
    env = stack_envelope(platform, catalog=catalog)
    bound = lambda t: "" if t.complete else " (lower bound, some lines unpriced)"  # noqa: E731
    return [f"Idle floor: {money(env.idle.monthly)}/month{bound(env.idle)}",
            *_servers_summary(serving_costs(platform, catalog), bound),
            *_pipelines_summary(platform, catalog),
            f"Burst (every pool at max, NAP at its limits): {money(env.burst.monthly)}/month{bound(env.burst)}",
            f"Spot saves over on-demand at burst: {money(env.spot_saving.monthly)}/month",
            "Prices: platform/catalog/prices.yaml (each dated and sourced; prices change)"]


def _servers_summary(costs: list[ServingCost], bound) -> list[str]:
    """One line for every model server together: their floor runs on top of the idle floor; their burst
    is already inside the pools' burst (servers run on the pools' nodes)."""
    if not costs:
        return []
    floor, burst = Total(tuple(c.floor for c in costs)), Total(tuple(c.burst for c in costs))
    return [f"Model servers ({len(costs)}): floor {money(floor.monthly)}/month{bound(floor)} on top of the idle floor, "
            f"burst {money(burst.monthly)}/month{bound(burst)} within the pools' burst"]
