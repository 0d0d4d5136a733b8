"""A stack as every command reads it: Pulumi.<stack>.yaml (or a file given instead) read and parsed once,
its platform validated once. Imports no Pulumi SDK, so commands that only need the model (`cost`) stay
light; components/capture.py runs the program on a loaded Stack."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Optional

import yaml

from components.model import Platform, yaml_input
from components.model.errors import ConfigError, Issue
from components.model.load import parse_platform_value
from components.model.stack_file import CONFIG_KEY, locate_platform, read_stack_file

REPO = Path(__file__).resolve().parents[1]
PROJECT = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["name"]
PLATFORM_KEY = f"{PROJECT}:{CONFIG_KEY}"  # the stack config key every command reads the platform from


def stack_config(stack: str) -> dict[str, Any]:
    path = REPO / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = sorted(p.name for p in REPO.glob("Pulumi.*.yaml"))
        raise ConfigError([Issue(path.name, f"no stack file {path.name}", f"use a known stack (known: {', '.join(known)})")], path.name)
    return read_config_file(path)


def read_config_file(path: Path) -> dict[str, Any]:
    """The `config:` map of a Pulumi.<stack>.yaml-like file (ConfigError on YAML or layout mistakes)."""
    return read_stack_file(yaml_input.read_text(path), path.name, PROJECT)


def config_value(value: Any) -> str:
    """A stack config value as Pulumi hands it to the program: text as is, anything else as JSON (a
    `{secure: ...}` value as its ciphertext: offline runs have no key to decrypt it, and mock values suffice)."""
    if isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str):
        return value["secure"]
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class Stack:
    """One stack as every command reads it: the file read and parsed once, the platform validated once
    (and shared with the program's own `load_platform` when the program runs on the same config)."""

    name: str
    source: str  # what messages name: Pulumi.<stack>.yaml, or the file given instead
    config: dict[str, Any]

    @cached_property
    def platform(self) -> Platform:
        raw = self.config.get(PLATFORM_KEY)
        if raw is None:
            raise ConfigError(locate_platform(self.config, PROJECT, self.name), self.source)
        return parse_platform_value(config_value(raw), self.source)


def load_stack(stack: Optional[str] = None, config_file: Optional[Path] = None) -> Stack:
    """Pulumi.<stack>.yaml (default dev), or `config_file` instead (its stack named by the file,
    Pulumi.<name>.yaml, unless `stack` is given); ConfigError when it cannot be read."""
    if config_file is None:
        name = stack or "dev"
        return Stack(name, f"Pulumi.{name}.yaml", stack_config(name))
    path = Path(config_file)
    match = re.match(r"^Pulumi\.(.+)\.ya?ml$", path.name)
    return Stack(stack or (match.group(1) if match else path.stem), str(path), read_config_file(path))

