"""Plain values out of the policy SDK's proxies (unknowns during preview become UNKNOWN, never an
exception), Kubernetes quantities, and walking nested values.

Self-contained on purpose: the pack runs in its own virtualenv (policies/venv), where the project's
`components` package does not exist.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Iterator, Optional

try:  # the SDK's markers for values that are unknown during preview
    from pulumi_policy.proxy import (
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    )

    _UNKNOWN_SENTINELS = frozenset({
        UNKNOWN_ARCHIVE_VALUE, UNKNOWN_ARRAY_VALUE, UNKNOWN_ASSET_VALUE, UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE, UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE,
    })
except ImportError:  # pragma: no cover - same wire-protocol constants
    _UNKNOWN_SENTINELS = frozenset({
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58", "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    })


class _Unknown:
    """A value the engine cannot know during preview (e.g. an id or e-mail computed by the cloud)."""

    def __repr__(self) -> str:
        return "<unknown during preview>"

    def __bool__(self) -> bool:
        # Falsy, so `get(...) or []` skips an unknown list; checks that must not treat "unknown" as
        # "unset" compare with `is UNKNOWN` first.
        return False


UNKNOWN = _Unknown()


def _raw(container: Any) -> Any:
    # The SDK's unknown-checking proxies raise on unknown values; their raw container sits under
    # "__target" (the SDK's own serializer reads it the same way).
    try:
        return container["__target"]
    except (KeyError, TypeError, IndexError):
        return container


def plain(value: Any) -> Any:
    """A plain dict/list copy of SDK props, with unknown values replaced by UNKNOWN (never raising)."""
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if hasattr(value, "value") and type(value).__name__ == "Secret":  # pulumi_policy.Secret (remediation)
        return plain(value.value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in _raw(value).items()}
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return [plain(v) for v in _raw(value)]
    return value


def get(obj: Any, *path: Any, default: Any = None) -> Any:
    """obj[path[0]][path[1]]... or default where a step is missing, null or not a container;
    UNKNOWN where a step is unknown (an unknown object hides whatever it will contain)."""
    for step in path:
        if obj is UNKNOWN:
            return UNKNOWN
        if isinstance(obj, dict) and isinstance(step, str):
            obj = obj.get(step)
        elif isinstance(obj, list) and isinstance(step, int) and -len(obj) <= step < len(obj):
            obj = obj[step]
        else:
            return default
        if obj is None:
            return default
    return obj


def items(obj: Any, *path: Any) -> list:
    """The list at `path`, or [] when it is missing, unknown or not a list."""
    value = get(obj, *path) if path else obj
    return value if isinstance(value, list) else []


def mapping(obj: Any, *path: Any) -> dict:
    """The dict at `path`, or {} when it is missing, unknown or not a dict."""
    value = get(obj, *path) if path else obj
    return value if isinstance(value, dict) else {}


def as_int(value: Any) -> Optional[int]:
    """Numbers arrive as floats (protobuf Struct); None for missing, unknown or non-numeric values."""
    if isinstance(value, bool) or value is None or value is UNKNOWN:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        quantity = parse_quantity(value)
        return int(quantity) if quantity is not None else None
    return None


_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")
_SUFFIX = {
    "": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": Decimal("1e3"),
    "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"), "P": Decimal("1e15"), "E": Decimal("1e18"),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40), "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


def parse_quantity(value: Any) -> Optional[Decimal]:
    """A Kubernetes resource quantity ("16", 16, "1k", "500m") as a Decimal; None when not one."""
    if isinstance(value, bool) or value is None or value is UNKNOWN:
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match:
        return None
    number, suffix = match.group(1), match.group(2) or ""
    try:
        if suffix[:1] in ("e", "E"):
            return Decimal(number + suffix)
        return Decimal(number) * _SUFFIX[suffix]
    except (InvalidOperation, KeyError):
        return None


def fmt_number(value: Decimal | int) -> str:
    value = Decimal(value)
    return str(int(value)) if value == value.to_integral_value() else str(value.normalize())


def cidr_network(value: Any):
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return None


def walk(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (path, value) pair of a nested structure, containers included, depth first."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, path + (index,))


def dotted(path: Iterable[Any]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "(root)"
