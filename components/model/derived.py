"""Derived once per validated platform: what several consumers read is computed on first use and then
shared, so the flavors, the quota ledger and the rest are never worked out twice for one `Platform`.

Keyed by the object's identity (a `Platform` is frozen, so what is derived from it never goes stale);
the most recent few platforms are kept, enough for a run and for the tests' many configs.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import wraps
from typing import Any, Callable, TypeVar

T = TypeVar("T")
KEEP = 32


def per_platform(build: Callable[[Any], T]) -> Callable[[Any], T]:
    """`build(platform)`, computed once per platform object."""
    cache: OrderedDict[int, tuple[Any, T]] = OrderedDict()

    @wraps(build)
    def derived(platform: Any) -> T:
        key = id(platform)
        hit = cache.get(key)
        if hit is not None and hit[0] is platform:
            cache.move_to_end(key)
            return hit[1]
        value = build(platform)
        cache[key] = (platform, value)  # holding the platform keeps its id from being reused
        if len(cache) > KEEP:
            cache.popitem(last=False)
        return value

    return derived
