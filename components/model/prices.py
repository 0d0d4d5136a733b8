"""The price catalog (data in platform/catalog/prices.yaml), loaded once and validated strictly.

Every price carries its date, public source and how it was read; a catalog entry without them is a
load error naming the entry. A lookup that finds no price raises `Unpriced` with the reason and the
fix, so the cost envelope reports an unpriced line instead of ever assuming $0.
"""

from __future__ import annotations

import datetime
from functools import cache
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from .errors import ConfigError, Issue, format_path
from .yaml_input import read_platform_data

PRICES_FILE = Path(__file__).resolve().parents[2] / "platform" / "catalog" / "prices.yaml"
Evidence = Literal["google-page", "billing-catalog", "unverified"]
PriceModel = Literal["onDemand", "spot", "commit1y", "commit3y"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class Provenance(_Strict):
    source: str = Field(pattern=r"^https://")
    date: datetime.date
    evidence: Evidence
    read_from: Optional[str] = None
    note: Optional[str] = None


class MachinePrice(_Strict):
    on_demand: float = Field(gt=0)
    spot: float = Field(gt=0)
    commit1y: float = Field(gt=0)
    commit3y: float = Field(gt=0)


class MachineEntry(Provenance):
    regions: dict[str, MachinePrice] = Field(min_length=1)


class Gke(Provenance):
    cluster_fee_per_hour: float = Field(gt=0)


class Nat(Provenance):
    per_vm_hour: float = Field(gt=0)
    vm_cap: int = Field(gt=0)
    capped_per_hour: float = Field(gt=0)
    per_gi_b: float = Field(gt=0, alias="perGiB")
    external_ip_per_hour: float = Field(gt=0)
    ip_source: str = Field(pattern=r"^https://")


class DiskEntry(Provenance):
    regions: dict[str, float] = Field(min_length=1)


class Disks(_Strict):
    boot_disk_gi_b: int = Field(gt=0, alias="bootDiskGiB")
    boot_disk_source: str = Field(pattern=r"^https://")
    types: dict[str, list[DiskEntry]]


# Region name prefix -> the continent Cloud Storage's "data transfer within Google Cloud" rates go by.
CONTINENTS = {"us": "Northern America", "northamerica": "Northern America", "southamerica": "South America",
              "europe": "Europe", "asia": "Asia", "australia": "Australia", "me": "Middle East", "africa": "Africa"}


class DataTransfer(Provenance):
    """Cloud Storage data read by a service in another region (per GiB, first TiB a month)."""

    same_continent_per_gi_b: float = Field(gt=0, alias="sameContinentPerGiB")
    between_continents_per_gi_b: float = Field(gt=0, alias="betweenContinentsPerGiB")  # neither is Australia


class PriceCatalog(_Strict):
    currency: Literal["USD"]
    hours_per_month: int = Field(gt=0)
    machine_types: dict[str, MachineEntry]
    gke: Gke
    nat: Nat
    disks: Disks
    data_transfer: Optional[DataTransfer] = None

    def storage_transfer(self, bucket_region: str, reader_region: str) -> "Price":
        """What reading one GiB of a bucket in `bucket_region` from `reader_region` costs."""
        entry = self.data_transfer
        if entry is None:
            raise Unpriced(f"no dataTransfer prices in {PRICES_FILE.name}", "add dataTransfer with its date and source")
        ends = [CONTINENTS.get(region.split("-")[0]) for region in (bucket_region, reader_region)]
        if None in ends or "Australia" in ends and ends[0] != ends[1]:
            raise Unpriced(f"no data transfer price from {bucket_region} to {reader_region} in {PRICES_FILE.name}",
                           "add that continent pair under dataTransfer")
        if bucket_region == reader_region:
            return Price(0.0, entry)
        return Price(entry.same_continent_per_gi_b if ends[0] == ends[1] else entry.between_continents_per_gi_b, entry)

    def machine(self, machine_type: str, region: str, model: PriceModel) -> "Price":
        entry = self.machine_types.get(machine_type)
        if entry is None:
            raise Unpriced(f"no price for machine type {machine_type} in {PRICES_FILE.name}",
                           f"add {machine_type} with its date and source")
        prices = entry.regions.get(region)
        if prices is None:
            raise Unpriced(f"no price for {machine_type} in region {region} (priced: {', '.join(entry.regions)})",
                           f"add {region} under machineTypes.{machine_type}.regions")
        return Price(getattr(prices, {"onDemand": "on_demand"}.get(model, model)), entry)

    def disk(self, disk_type: str, region: str) -> "Price":
        for entry in self.disks.types.get(disk_type, []):
            if region in entry.regions:
                return Price(entry.regions[region], entry)
        raise Unpriced(f"no {disk_type} price for region {region} in {PRICES_FILE.name}",
                       f"add {region} under disks.types.{disk_type}")


class Price:
    """A number with where it came from."""

    def __init__(self, value: float, provenance: Provenance):
        self.value = value
        self.provenance = provenance


class Unpriced(Exception):
    def __init__(self, reason: str, fix: str):
        super().__init__(reason)
        self.reason = reason
        self.fix = fix


def parse_catalog(raw: object, source: str = "platform/catalog/prices.yaml") -> PriceCatalog:
    try:
        return PriceCatalog.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(
            [Issue(format_path(tuple(e["loc"])), e["msg"], "every price needs source (https), date and evidence")
             for e in err.errors()],
            source,
        ) from None


@cache
def price_catalog() -> PriceCatalog:
    return parse_catalog(read_platform_data(PRICES_FILE))
