"""The monthly cost envelope of a stack, from the model and the price catalog. Pure functions.

Idle floor: what the platform costs with no job running (control plane, system pool at its minimum,
reserved pools which bill whether used or not, their boot disks, NAT). Burst: every pool at its
maximum and every NAP shape at its allowance (exactly the capacity the NAP limits are computed from).
A price the catalog lacks becomes an unpriced line that says so; totals then are lower bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from components.model import Flavor, Platform, fleet, flavors
from components.model import nat as nat_ports
from components.model.prices import Price, PriceCatalog, PriceModel, Unpriced, price_catalog
from components.model.datasets import teams_with_datasets
from components.model.schema import Provisioning

BOOT_DISK_TYPE = "pd-balanced"  # what components/gcp sets on every pool and NAP default
FILESTORE_PRICE = "filestore-zonal"  # the team dataset shares' tier, priced per GiB-month under disks
FLEX_START_DISCOUNTED = ("a4", "a3", "a2", "h4d")


@dataclass(frozen=True)
class Line:
    item: str
    detail: str
    monthly: Optional[float]  # None: unpriced (never counted as 0)
    unpriced: str = ""  # why, and the fix
    evidence: tuple[str, ...] = ()  # how the prices used were read (see prices.yaml)

    def to_json(self) -> dict:
        out = {"item": self.item, "detail": self.detail, "monthlyUsd": usd(self.monthly)}
        if self.unpriced:
            out["unpriced"] = self.unpriced
        out["evidence"] = list(self.evidence)
        return out


@dataclass(frozen=True)
class Total:
    lines: tuple[Line, ...]

    @property
    def monthly(self) -> float:
        return sum(line.monthly for line in self.lines if line.monthly is not None)

    @property
    def unpriced(self) -> list[Line]:
        return [line for line in self.lines if line.monthly is None]

    @property
    def complete(self) -> bool:
        return not self.unpriced

    def to_json(self) -> dict:
        return {"monthlyUsd": usd(self.monthly), "complete": self.complete,
                "lines": [line.to_json() for line in self.lines]}


@dataclass(frozen=True)
class Envelope:
    stack: str
    region: str
    idle: Total
    burst: Total
    spot_saving: Total  # what the spot capacity at burst would cost more on demand
    budget: Optional[float]
    notes: tuple[str, ...] = field(default=())


def usd(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 2)


def price_model(flavor: Flavor) -> tuple[PriceModel, str]:
    """How a flavor's nodes bill, and the caveat that goes with it."""
    if flavor.is_nap:
        return ("spot", "spot") if flavor.source.spot else ("onDemand", "on-demand")
    capacity = flavor.capacity
    if capacity == Provisioning.SPOT.value:
        return "spot", "spot"
    if capacity == Provisioning.RESERVED.value:
        # A reservation bills the on-demand rate for every reserved machine, used or not; a
        # commitment lowers that rate (shown separately, not assumed).
        return "onDemand", "on-demand rate, reservation bills whether used or not"
    if capacity == Provisioning.DWS.value:
        # cloud.google.com/compute/docs/instances/about-flex-start-vms: flex-start discounts vCPUs, memory
        # and GPUs of A4, A3, A2 and H4D machines; other families bill their usual rate.
        if flavor.machine.name.split("-")[0] in FLEX_START_DISCOUNTED:
            return "onDemand", "on-demand as upper bound (the flex-start discount is not in the catalog)"
        return "onDemand", "on-demand (flex-start discounts only A4/A3/A2/H4D)"
    return "onDemand", "on-demand"


class Pricer:
    def __init__(self, platform: Platform, catalog: PriceCatalog):
        self.platform, self.catalog, self.hours = platform, catalog, catalog.hours_per_month

    def nodes(self, item: str, machine: str, count: int, model: PriceModel, caveat: str) -> Line:
        return _line(item, f"{count} x {machine} {caveat}",
                     lambda: self.catalog.machine(machine, self.platform.region, model),
                     lambda price: count * price.value * self.hours)

    def disks(self, item: str, count: int) -> Line:
        size = self.catalog.disks.boot_disk_gi_b
        return _line(item, f"{count} x {size} GiB {BOOT_DISK_TYPE} boot disks",
                     lambda: self.catalog.disk(BOOT_DISK_TYPE, self.platform.region),
                     lambda price: count * size * price.value)

    def datasets(self) -> list[Line]:
        """One line per team Filestore share, whole provisioned size (billed from the first job that mounts it)."""
        return [_line(f"{team.name} datasets", f"Filestore Zonal {team.datasets.size_gi:,} GiB provisioned",
                      lambda: self.catalog.disk(FILESTORE_PRICE, self.platform.region),
                      lambda price: team.datasets.size_gi * price.value)
                for team in teams_with_datasets(self.platform)]

    def control_plane(self) -> Line:
        gke = self.catalog.gke
        return Line("control plane", f"regional cluster fee ${gke.cluster_fee_per_hour:.2f}/h (no free-tier credit for regional clusters)",
                    gke.cluster_fee_per_hour * self.hours, evidence=(gke.evidence,))

    def nat(self, vms: int) -> list[Line]:
        nat = self.catalog.nat
        reserved = fleet.role(self.platform) == "manager"
        ips = nat_ports.addresses_for(nat_ports.max_vms(self.platform) if reserved else vms)
        if vms <= nat.vm_cap:
            hourly, how = vms * nat.per_vm_hour, f"{vms} VMs x ${nat.per_vm_hour}/VM-h"
        else:
            hourly, how = nat.capped_per_hour, f"{vms} VMs > {nat.vm_cap}: flat ${nat.capped_per_hour}/h"
        return [
            Line("Cloud NAT gateway", f"{how}; + ${nat.per_gi_b}/GiB processed, not included", hourly * self.hours,
                 evidence=(nat.evidence,)),
            # A fleet manager's NAT addresses are reserved (its workers admit them), as many as its most nodes need
            # at any time; auto-allocated ones follow the VMs in use (components/model/nat.py). Same price.
            Line("Cloud NAT IP", f"{ips} {'reserved' if reserved else 'auto-allocated'} "
                 f"external IP{'s' if ips > 1 else ''} x ${nat.external_ip_per_hour}/h",
                 ips * nat.external_ip_per_hour * self.hours, evidence=(nat.evidence,)),
        ]


def _line(item: str, detail: str, lookup: Callable[[], Price], monthly: Callable[[Price], float]) -> Line:
    """A priced line, or an unpriced one that says why and the fix when the catalog lacks the price."""
    try:
        price = lookup()
    except Unpriced as err:
        return Line(item, detail, None, f"{err.reason} (fix: {err.fix})")
    return Line(item, detail, monthly(price), evidence=(_evidence(price),))


def _evidence(price: Price) -> str:
    return f"{price.provenance.evidence} {price.provenance.date}"


def reserved_flavors(platform: Platform) -> list[Flavor]:
    return [f for f in flavors(platform).values() if f.capacity == Provisioning.RESERVED.value]


def stack_envelope(platform: Platform, stack: str = "", catalog: Optional[PriceCatalog] = None) -> Envelope:
    catalog = catalog or price_catalog()
    pricer = Pricer(platform, catalog)
    system = platform.cluster.system_pool
    reserved = reserved_flavors(platform)

    idle = [pricer.control_plane(),
            pricer.nodes("system pool (min)", system.machine_type, system.min_nodes, "onDemand", "on-demand")]
    for flavor in reserved:
        model, caveat = price_model(flavor)
        idle.append(pricer.nodes(f"{flavor.name} (reserved)", flavor.machine.name, flavor.max_nodes, model, caveat))
    idle_vms = system.min_nodes + sum(f.max_nodes for f in reserved)
    idle += [pricer.disks("boot disks", idle_vms), *pricer.nat(idle_vms), *pricer.datasets()]

    burst = [pricer.control_plane(),
             pricer.nodes("system pool (max)", system.machine_type, system.max_nodes, "onDemand", "on-demand")]
    saving = []
    burst_vms = system.max_nodes
    for flavor in flavors(platform).values():
        model, caveat = price_model(flavor)
        label = f"{flavor.name} ({'NAP ' if flavor.is_nap else ''}{flavor.capacity})"
        burst.append(pricer.nodes(label, flavor.machine.name, flavor.max_nodes, model, caveat))
        burst_vms += flavor.max_nodes
        if model == "spot":
            saving.append(_spot_saving(pricer, label, flavor.machine.name, flavor.max_nodes))
    burst += [pricer.disks("boot disks", burst_vms), *pricer.nat(burst_vms), *pricer.datasets()]

    notes = ("Prices change; see platform/catalog/prices.yaml for each price's date and source.",
             "Cloud NAT data processing is billed per GiB and is not in these totals.")
    return Envelope(stack, platform.region, Total(tuple(idle)), Total(tuple(burst)), Total(tuple(saving)),
                    platform.monthly_budget_usd, notes)


def _spot_saving(pricer: Pricer, item: str, machine: str, nodes: int) -> Line:
    on_demand = pricer.nodes(item, machine, nodes, "onDemand", "on-demand")
    spot = pricer.nodes(item, machine, nodes, "spot", "spot")
    if on_demand.monthly is None or spot.monthly is None:
        return Line(item, f"{nodes} x {machine} spot vs on-demand", None, on_demand.unpriced or spot.unpriced)
    return Line(item, f"{nodes} x {machine}: on-demand ${on_demand.monthly:,.2f} - spot ${spot.monthly:,.2f}",
                on_demand.monthly - spot.monthly, evidence=on_demand.evidence)


def gpu_month(flavor: Flavor, platform: Platform, catalog: Optional[PriceCatalog] = None,
              model: Optional[PriceModel] = None) -> Line:
    """What one quota unit of the flavor costs for a month: its node's price over the `nvidia.com/gpu` the
    node advertises (its GPUs, or its shared units on a GPU sharing pool)."""
    catalog = catalog or price_catalog()
    chosen, caveat = price_model(flavor)
    line = Pricer(platform, catalog).nodes(flavor.name, flavor.machine.name, 1, model or chosen, caveat)
    if line.monthly is None:
        return line
    return Line(flavor.name, f"1/{flavor.gpu_units_per_node} of {flavor.machine.name} {caveat}",
                line.monthly / flavor.gpu_units_per_node, evidence=line.evidence)
