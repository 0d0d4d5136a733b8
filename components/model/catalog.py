"""Machine shapes the model knows (data in platform/catalog/machine_types.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Optional

import yaml

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
    raw = yaml.safe_load(CATALOG_FILE.read_text())
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
