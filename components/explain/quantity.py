"""Kubernetes resource quantities as integers: cpu in millicores, everything else in base units.

Kueue compares requests as int64 milli-values for cpu and values for other resources
(`pkg/resources/requests.go`, ResourceValue); this keeps the same units so sums are exact.
"""

from __future__ import annotations

from decimal import ROUND_CEILING

from components.model.quantity import parse_quantity

MI = 2**20


class QuantityError(ValueError):
    pass


def parse(resource: str, value: object) -> int:
    """`value` of `resource` as an int: millicores for cpu, else the value rounded up (as Kubernetes does)."""
    amount = parse_quantity(str(value).strip())
    if amount is None:
        raise QuantityError(f"{resource}: {value!r} is not a Kubernetes quantity (e.g. 2, 500m, 4Gi)")
    amount = amount * (1000 if resource == "cpu" else 1)
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
