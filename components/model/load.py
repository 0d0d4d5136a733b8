"""The edge: raw stack config in, a validated `Platform` out, or a `ConfigError` listing every problem."""

from __future__ import annotations

from typing import Any, Mapping

import pulumi
from pydantic import ValidationError

from .checks import semantic_issues
from .errors import ConfigError, Issue, format_path
from .schema import Platform

CONFIG_KEY = "platform"


def _pydantic_issues(err: ValidationError) -> list[Issue]:
    issues = []
    for e in err.errors():
        path = format_path(tuple(e["loc"]))
        if e["type"] == "extra_forbidden":
            issues.append(Issue(path, "unknown key", "check the spelling against the README's config reference"))
        elif e["type"] == "missing":
            issues.append(Issue(path, "required key is missing", "add it"))
        else:
            got = e.get("input")
            shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
            issues.append(Issue(path, e["msg"] + shown))
    return issues


def parse_platform(raw: Any, source: str = "stack config") -> Platform:
    """Validate once: structure and types first, then the cross-field rules, all issues together."""
    if not isinstance(raw, Mapping):
        raise ConfigError([Issue(CONFIG_KEY, f"expected a mapping, got {type(raw).__name__}", "see Pulumi.dev.yaml")], source)
    try:
        platform = Platform.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_pydantic_issues(err), source) from None
    issues = semantic_issues(platform)
    if issues:
        raise ConfigError(issues, source)
    return platform


def load_platform() -> Platform:
    """Read `<project>:platform` from the current stack's config (real run or mocks alike)."""
    config = pulumi.Config()
    stack = pulumi.get_stack()
    try:
        raw = config.get_object(CONFIG_KEY)
    except pulumi.ConfigTypeError:
        raw = config.get(CONFIG_KEY)  # a plain string; parse_platform reports it with the fix
    if raw is None:
        raise ConfigError(
            [Issue(CONFIG_KEY, f"no '{config.name}:{CONFIG_KEY}' in the config of stack {stack!r}", "copy the block from Pulumi.dev.yaml")],
            f"Pulumi.{stack}.yaml",
        )
    return parse_platform(raw, f"Pulumi.{stack}.yaml")
