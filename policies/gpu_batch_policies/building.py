"""Building policies: a resource or stack policy from a check that yields messages, with plain
props and the config schema's defaults filled in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Iterable, Optional

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .stack import StackView
from .values import plain

ResourceCheck = Callable[[dict, ResourceValidationArgs, dict], Iterable[str]]
StackCheck = Callable[["StackView", dict], Iterable[tuple[str, Optional[str]]]]


def with_defaults(schema: Optional[PolicyConfigSchema], config: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """The policy's config with schema defaults filled in (the CLI already does this; direct callers may not)."""
    result = {k: v["default"] for k, v in (schema.properties if schema else {}).items() if "default" in v}
    result.update(plain(dict(config or {})))
    return result


def resource_policy(
    name: str,
    description: str,
    types: Iterable[str] | Callable[[str], bool],
    check: ResourceCheck,
    enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY,
    config_schema: Optional[PolicyConfigSchema] = None,
) -> ResourceValidationPolicy:
    """A resource policy whose `check(props, args, config)` yields one message per violation.

    `props` are the resource's inputs as plain values (unknowns are UNKNOWN, never an exception), and
    `config` has the schema defaults filled in.
    """
    accepts = types if callable(types) else frozenset(types).__contains__

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not accepts(args.resource_type):
            return
        config = with_defaults(config_schema, args.get_config())
        for message in check(plain(args.props), args, config):
            report_violation(message, None)

    validate.__name__ = validate.__qualname__ = f"validate_{name.replace('-', '_')}"
    return ResourceValidationPolicy(
        name=name, description=description, validate=validate,
        enforcement_level=enforcement_level, config_schema=config_schema,
    )


def stack_policy(
    name: str,
    description: str,
    check: StackCheck,
    enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY,
    config_schema: Optional[PolicyConfigSchema] = None,
) -> StackValidationPolicy:
    """A stack policy whose `check(stack, config)` yields (message, urn-or-None) per violation."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        config = with_defaults(config_schema, args.get_config())
        for message, urn in check(StackView(args.resources), config):
            report_violation(message, urn)

    validate.__name__ = validate.__qualname__ = f"validate_{name.replace('-', '_')}"
    return StackValidationPolicy(
        name=name, description=description, validate=validate,
        enforcement_level=enforcement_level, config_schema=config_schema,
    )


def schema(**properties: dict) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties=properties)
