"""Machine shapes the model knows (data in platform/catalog/machine_types.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Optional

from .yaml_input import read_platform_data


CATALOG_FILE = Path(__file__).resolve().parents[2] / "platform" / "catalog" / "machine_types.yaml"


@dataclass(frozen=True)
class MachineType:
    name: str
    vcpus: int
    memory_gb: int
    accelerator: Optional[str] = None
    gpus: int = 0


@cache
def machine_types() -> dict[str, MachineType]:
    raw = read_platform_data(CATALOG_FILE)
    return {
        name: MachineType(
            name=name,
            vcpus=spec["vcpus"],
            memory_gb=spec["memoryGb"],
            accelerator=spec.get("accelerator"),
            gpus=spec.get("gpus", 0),
        )
        for name, spec in raw.items()
    }


ZONES_FILE = CATALOG_FILE.with_name("zones.yaml")


@cache
def region_zones() -> dict[str, tuple[str, ...]]:
    """region -> its zones (full names), from platform/catalog/zones.yaml."""
    raw = read_platform_data(ZONES_FILE)
    return {region: tuple(f"{region}-{suffix}" for suffix in suffixes) for region, suffixes in raw.items()}
