"""Finding the platform block: a stack file's YAML, its `config:` map, and the `<project>:platform` key.

The YAML is read by `yaml_input` (duplicate keys refused as the Pulumi CLI refuses them, bounded); a
`platform` block under a misspelled key, the wrong project namespace or at the wrong level says which
key it should be. Pure: text in, map out.
"""

from __future__ import annotations

import difflib
from typing import Any, Mapping

from . import yaml_input
from .errors import ConfigError, Issue

CONFIG_KEY = "platform"
# Keys that only a platform block has: a mapping holding several of them is a misplaced block.
PLATFORM_KEYS = {"project", "region", "zones", "namePrefix", "network", "gpuPools", "teams", "cluster"}


def _looks_like_platform(value: Any) -> bool:
    return isinstance(value, Mapping) and len(PLATFORM_KEYS & set(value)) >= 2


def locate_platform(config: Mapping[str, Any], project: str, stack: str) -> list[Issue]:
    """Why `<project>:platform` is absent from a stack's config map, with the key it should be."""
    want = f"{project}:{CONFIG_KEY}"
    stray = sorted(k.split(":", 1)[1] for k in config if k.startswith(f"{project}:") and k.split(":", 1)[1] in PLATFORM_KEYS)
    for key, value in config.items():
        namespace, _, name = key.rpartition(":")
        if name == CONFIG_KEY and namespace != project:
            where = f"project namespace {namespace!r}" if namespace else "no project namespace"
            return [Issue(key, f"the platform block is under {where}; Pulumi.yaml's project is {project!r}",
                          f"rename the key to {want}", rename=want)]
        if difflib.get_close_matches(name, [CONFIG_KEY], n=1, cutoff=0.75):
            return [Issue(key, f"unknown config key {key!r}", f"did you mean {want}?", rename=want)]
        if isinstance(value, Mapping) and _looks_like_platform(value.get(CONFIG_KEY)):
            return [Issue(f"{key}.{CONFIG_KEY}", f"the platform block is nested under {key!r}",
                          f"write it as one key: {want}:")]
        if _looks_like_platform(value):
            return [Issue(key, f"{key!r} holds the platform keys ({', '.join(sorted(PLATFORM_KEYS & set(value)))})",
                          f"rename the key to {want}", rename=want)]
    if len(stray) >= 2:
        return [Issue(f"{project}:{stray[0]}", f"platform keys ({', '.join(stray)}) are set one by one at the top of config:",
                      f"put them under one key {want}: (see Pulumi.dev.yaml)")]
    return [Issue(want, f"no {want!r} in the config of stack {stack!r}", "copy the block from Pulumi.dev.yaml")]


def read_stack_file(text: str, filename: str, project: str) -> dict[str, Any]:
    """The `config:` map of a Pulumi.<stack>.yaml-like document; ConfigError on YAML or layout mistakes."""
    document = yaml_input.load(text, filename)
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ConfigError([Issue(filename, "the file must be a mapping with a config: key", "start it with config:")], filename)
    config = document.get("config")
    misplaced = [k for k, v in document.items() if k != "config" and (k.endswith(CONFIG_KEY) or _looks_like_platform(v))]
    if misplaced and not (isinstance(config, Mapping) and any(k.endswith(f":{CONFIG_KEY}") for k in config)):
        key = misplaced[0]
        raise ConfigError([Issue(key, f"{key!r} is at the top of the file, outside config:",
                                 f"indent it under config: as {project}:{CONFIG_KEY}")], filename)
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise ConfigError([Issue("config", "config: must be a mapping of keys", "see Pulumi.dev.yaml")], filename)
    return dict(config)
