"""The typed platform model: config schema, validation at the edge, and everything derived from it."""

from .allocatable import Resources, gpu_node_allocatable, per_gpu
from .capacity import NapLimits, capacity_rows, nap_limits, nominal_by_flavor, quota_uses
from .errors import ConfigError, Issue
from .flavors import Flavor, Taint, flavors, job_placement
from .priorities import QUEUE_CLASSES, priority_class_for
from .load import parse_platform
from .reachability import endpoint_warnings
from .schema import Platform, Provisioning

__all__ = [
    "ConfigError",
    "Flavor",
    "Issue",
    "NapLimits",
    "Platform",
    "Provisioning",
    "QUEUE_CLASSES",
    "Resources",
    "Taint",
    "capacity_rows",
    "endpoint_warnings",
    "flavors",
    "gpu_node_allocatable",
    "job_placement",
    "nap_limits",
    "nominal_by_flavor",
    "parse_platform",
    "per_gpu",
    "priority_class_for",
    "quota_uses",
]
