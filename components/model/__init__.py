"""The typed platform model: config schema, validation at the edge, and everything derived from it."""

from .capacity import NapLimits, capacity_rows, nap_limits, nominal_by_flavor, quota_uses
from .errors import ConfigError, Issue
from .flavors import Flavor, Taint, flavors
from .load import load_platform, parse_platform
from .schema import Platform, Provisioning

__all__ = [
    "ConfigError",
    "Flavor",
    "Issue",
    "NapLimits",
    "Platform",
    "Provisioning",
    "Taint",
    "capacity_rows",
    "flavors",
    "load_platform",
    "nap_limits",
    "nominal_by_flavor",
    "parse_platform",
    "quota_uses",
]
