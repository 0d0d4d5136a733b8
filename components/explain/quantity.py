"""Kubernetes resource quantities as integers: cpu in millicores, everything else in base units.

Kueue compares requests as int64 milli-values for cpu and values for other resources
(`pkg/resources/requests.go`, ResourceValue); this keeps the same units so sums are exact.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal

_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")
_SUFFIX = {
    "": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
    "P": Decimal("1e15"), "E": Decimal("1e18"),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
    "Pi": Decimal(2**50), "Ei": Decimal(2**60),
}
MI = 2**20


class QuantityError(ValueError):
    pass


def parse(resource: str, value: object) -> int:
    """`value` of `resource` as an int: millicores for cpu, else the value rounded up (as Kubernetes does)."""
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match:
        raise QuantityError(f"{resource}: {value!r} is not a Kubernetes quantity (e.g. 2, 500m, 4Gi)")
    number, suffix = Decimal(match.group(1)), match.group(2) or ""
    scale = Decimal(10) ** int(suffix[1:]) if suffix[:1] in ("e", "E") else _SUFFIX[suffix]
    amount = number * scale * (1000 if resource == "cpu" else 1)
    return int(amount.to_integral_value(rounding=ROUND_CEILING))


def show(resource: str, amount: int) -> str:
    """A readable quantity: cpu as cores or millicores, memory in Gi/Mi, counts as they are."""
    if resource == "cpu":
        return str(amount // 1000) if amount % 1000 == 0 else f"{amount}m"
    if resource in ("memory", "ephemeral-storage"):
        if amount % 2**30 == 0:
            return f"{amount // 2**30}Gi"
        return f"{-(-amount // MI)}Mi"
    return str(amount)


def parse_list(resources: dict | None, where: str = "") -> dict[str, int]:
    out = {}
    for name, value in (resources or {}).items():
        try:
            out[name] = parse(name, value)
        except QuantityError as err:
            raise QuantityError(f"{where}{err}") from None
    return out
